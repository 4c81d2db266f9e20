# ftharness: `run` personalizes one DUT in the foreground. The compiled-in plugin and
# runner locations are where src/plugin/plugin.cmake installs them.
add_executable(ftharness ${CMAKE_CURRENT_LIST_DIR}/ftharness.c ${CMAKE_CURRENT_LIST_DIR}/plugin_flow.c)
target_compile_definitions(ftharness PRIVATE
  FTHARNESS_PLUGIN_DIR_DEFAULT="${CMAKE_INSTALL_FULL_LIBDIR}/ftharness/plugins"
  FTHARNESS_RUNNER_DEFAULT="${CMAKE_INSTALL_FULL_LIBEXECDIR}/ftharness/ftharness-plugin-runner")
target_link_libraries(ftharness PRIVATE ftflow ftftdi ftconsole_ftdi ftplugin)
install(TARGETS ftharness RUNTIME DESTINATION bin)
