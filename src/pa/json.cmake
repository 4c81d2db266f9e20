# ftpa_msg: the PA API messages (upstream pa.proto and imports) as C structs, their
# proto3 JSON mapping (jansson) and their protobuf binary encoding; pa_pbjson: proto3 JSON
# for any protoc-c message, from its descriptor (libprotobuf-c).
#
# The structs and pa_msg's tables for them are written at build time by pa_msggen from
# the descriptors protoc-c generated (pa_pb) and the limits of pa_limits.c.
set(PA_MSG_GEN_DIR ${PROJECT_BINARY_DIR}/proto/msg)
add_executable(pa_msggen ${CMAKE_CURRENT_SOURCE_DIR}/pa_msggen.c
                         ${CMAKE_CURRENT_SOURCE_DIR}/pa_limits.c)
target_link_libraries(pa_msggen PRIVATE pa_pb)
add_custom_command(
  OUTPUT ${PA_MSG_GEN_DIR}/pa_msg_gen.h ${PA_MSG_GEN_DIR}/pa_msg_gen.c
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PA_MSG_GEN_DIR}
  COMMAND pa_msggen ${PA_MSG_GEN_DIR}/pa_msg_gen.h ${PA_MSG_GEN_DIR}/pa_msg_gen.c
  DEPENDS pa_msggen
  COMMENT "pa_msggen: the PA schema's C structs and tables"
  VERBATIM)

add_library(ftpa_msg STATIC ${CMAKE_CURRENT_SOURCE_DIR}/msg_path.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/json_scalar.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/pa_limits.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/pa_msg.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/pa_msg_pb.c
                            ${PA_MSG_GEN_DIR}/pa_msg_gen.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/pa_pbjson.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/pa_proto.c)
target_include_directories(ftpa_msg PUBLIC ${PA_MSG_GEN_DIR})
target_link_libraries(ftpa_msg PUBLIC ftcommon pa_pb PkgConfig::JANSSON PkgConfig::PROTOBUF_C)
