# test_pa_client: pa_client against in-process libmicrohttpd fakes (HTTP and mTLS).
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
# The HTTPS fake reaches into the GnuTLS session to require client certificates.
pkg_check_modules(GNUTLS REQUIRED IMPORTED_TARGET gnutls)
find_package(Threads REQUIRED)

ft_unit_test(test_pa_client ftpa_client)
target_link_libraries(test_pa_client PRIVATE PkgConfig::MHD PkgConfig::GNUTLS OpenSSL::Crypto
                      Threads::Threads)
# Throwaway CA, server and client certificates are written here, inside the build tree.
target_compile_definitions(test_pa_client
                           PRIVATE PA_TEST_DIR="${CMAKE_CURRENT_BINARY_DIR}/pa_client_tls")
set_tests_properties(test_pa_client PROPERTIES TIMEOUT 300)
# test_pa_grpc_wire: the gRPC wire pieces (framing, grpc-timeout, grpc-status, grpc-message).
ft_unit_test(test_pa_grpc_wire ftpa_client ftpa_msg)
# test_pa_pbjson: proto3 JSON over the generated descriptors, rule by rule.
ft_unit_test(test_pa_pbjson ftpa_msg pa_pb)
