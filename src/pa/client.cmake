# ftpa_client: the libcurl transport to the endorsement service (pa_client.h).
find_package(CURL REQUIRED)
add_library(ftpa_client STATIC ${CMAKE_CURRENT_SOURCE_DIR}/pa_client.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/pa_grpc.c)
# jansson reads google.rpc.Status error bodies; for gRPC, ftpa_msg's pa_pbjson converts JSON
# to the messages of pa_pb (protoc-c), which packs them.
target_link_libraries(ftpa_client PUBLIC ftcommon PRIVATE ftpa_msg pa_pb CURL::libcurl OpenSSL::Crypto
                      PkgConfig::JANSSON)
