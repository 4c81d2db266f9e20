# ftharness: `run` personalizes one DUT in the foreground. Its default plugin, runner and
# SKU locations are where `make install` puts them (common/install_paths).
add_executable(ftharness ${CMAKE_CURRENT_LIST_DIR}/ftharness.c ${CMAKE_CURRENT_LIST_DIR}/control_client.c)
target_link_libraries(ftharness PRIVATE ftstation)
install(TARGETS ftharness RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
