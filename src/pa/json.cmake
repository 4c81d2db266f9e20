# ftpa_msg: the PA API messages (upstream pa.proto and imports) as C structs, their
# proto3 JSON mapping (jansson) and their protobuf binary encoding; pa_pbjson: proto3 JSON
# for any protoc-c message, from its descriptor (libprotobuf-c).
add_library(ftpa_msg STATIC ${CMAKE_CURRENT_SOURCE_DIR}/msg_path.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/json_scalar.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/pa_msg.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/pa_pbjson.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/pa_proto.c)
target_link_libraries(ftpa_msg PUBLIC ftcommon pa_pb PkgConfig::JANSSON PkgConfig::PROTOBUF_C)
