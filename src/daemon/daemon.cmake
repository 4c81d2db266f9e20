# ftharnessd: the parsers of its outside bytes (station config, control requests, site
# messages), then the supervisor, the site workers and the uploader.
find_package(Threads REQUIRED)
add_library(ftdaemon_proto STATIC
  ${CMAKE_CURRENT_LIST_DIR}/control_proto.c
  ${CMAKE_CURRENT_LIST_DIR}/json_text.c
  ${CMAKE_CURRENT_LIST_DIR}/rpc_log.c
  ${CMAKE_CURRENT_LIST_DIR}/site_msg.c
  ${CMAKE_CURRENT_LIST_DIR}/station_config.c)
target_link_libraries(ftdaemon_proto PUBLIC ftcommon PkgConfig::JANSSON Threads::Threads)

# The metrics endpoint (libmicrohttpd, as ftpa).
pkg_check_modules(MHD_DAEMON REQUIRED IMPORTED_TARGET libmicrohttpd)
add_executable(ftharnessd
  ${CMAKE_CURRENT_LIST_DIR}/dut_marker.c
  ${CMAKE_CURRENT_LIST_DIR}/ftharnessd.c
  ${CMAKE_CURRENT_LIST_DIR}/metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/sd_notify.c
  ${CMAKE_CURRENT_LIST_DIR}/supervisor.c
  ${CMAKE_CURRENT_LIST_DIR}/uploader.c
  ${CMAKE_CURRENT_LIST_DIR}/worker.c)
target_link_libraries(ftharnessd PRIVATE ftdaemon_proto ftstation OpenSSL::Crypto
                      PkgConfig::MHD_DAEMON Threads::Threads)
install(TARGETS ftharnessd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
