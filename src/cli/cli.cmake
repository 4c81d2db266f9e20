# ftharness: `run` personalizes one DUT in the foreground.
if(TARGET ftflow)
  add_executable(ftharness ${CMAKE_CURRENT_LIST_DIR}/ftharness.c)
  target_compile_definitions(ftharness PRIVATE
    FTHARNESS_PLUGIN_DIR_DEFAULT="${CMAKE_INSTALL_PREFIX}/lib/ftharness/plugins"
    FTHARNESS_RUNNER_DEFAULT="${CMAKE_INSTALL_PREFIX}/libexec/ftharness/ftharness-plugin-runner")
  target_link_libraries(ftharness PRIVATE ftflow ftftdi ftconsole_ftdi)
  if(TARGET ftplugin AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/plugin_flow.c)
    target_sources(ftharness PRIVATE ${CMAKE_CURRENT_LIST_DIR}/plugin_flow.c)
    target_link_libraries(ftharness PRIVATE ftplugin)
    target_compile_definitions(ftharness PRIVATE FTHARNESS_HAVE_PLUGINS=1)
  endif()
  install(TARGETS ftharness RUNTIME DESTINATION bin)
endif()
