# The endorsement service: RPC logic, registry, HTTP front, and the ftpa binary.
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(GNUTLS REQUIRED IMPORTED_TARGET gnutls)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3)
find_package(Threads REQUIRED)
add_library(ftpa_server STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/pa_endpoint.c
  ${CMAKE_CURRENT_SOURCE_DIR}/pa_http.c
  ${CMAKE_CURRENT_SOURCE_DIR}/pa_registry.c
  ${CMAKE_CURRENT_SOURCE_DIR}/pa_service.c)
target_link_libraries(ftpa_server PUBLIC ftpa_msg ftpa_sku ftpa_auth ftcert ftwire
                      PkgConfig::MHD PkgConfig::GNUTLS PkgConfig::SQLITE Threads::Threads)
add_executable(ftpa ${CMAKE_CURRENT_SOURCE_DIR}/ftpa.c)
target_link_libraries(ftpa PRIVATE ftpa_server ftpa_client)
install(TARGETS ftpa RUNTIME DESTINATION bin)
