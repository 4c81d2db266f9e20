# pa_pb: the project's own .proto files (proto/, the PA API schema) compiled at build
# time: C by protoc-c into a static library (the gRPC client's message codec), Python by
# protoc (modules for the tests, in PA_PB_PYTHON_DIR; optional: without protoc those
# tests exit 77).
find_program(PROTOC_C_EXECUTABLE protoc-c)
find_program(PROTOC_EXECUTABLE protoc)
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
if(NOT PROTOC_C_EXECUTABLE)
  message(FATAL_ERROR "protoc-c not found: scripts/install-deps.sh installs it "
                      "(Debian protobuf-c-compiler)")
endif()

set(PA_PROTO_DIR ${PROJECT_SOURCE_DIR}/proto)
set(PA_PROTO_FILES pa crypto/cert crypto/common crypto/ecdsa crypto/mldsa ot/device_id
                   ot/registry_record)
set(PA_PB_C_DIR ${PROJECT_BINARY_DIR}/proto/c)
set(PA_PB_PYTHON_DIR ${PROJECT_BINARY_DIR}/proto/python CACHE INTERNAL
    "protoc --python_out of proto/ (pa_pb2 and its imports)")

set(pa_proto_sources "")
set(pa_pb_c "")
set(pa_pb_h "")
set(pa_pb_py "")
foreach(stem IN LISTS PA_PROTO_FILES)
  list(APPEND pa_proto_sources ${PA_PROTO_DIR}/${stem}.proto)
  list(APPEND pa_pb_c ${PA_PB_C_DIR}/${stem}.pb-c.c)
  list(APPEND pa_pb_h ${PA_PB_C_DIR}/${stem}.pb-c.h)
  list(APPEND pa_pb_py ${PA_PB_PYTHON_DIR}/${stem}_pb2.py)
endforeach()

add_custom_command(
  OUTPUT ${pa_pb_c} ${pa_pb_h}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PA_PB_C_DIR}
  COMMAND ${PROTOC_C_EXECUTABLE} --c_out=${PA_PB_C_DIR} -I ${PA_PROTO_DIR} ${pa_proto_sources}
  DEPENDS ${pa_proto_sources}
  COMMENT "protoc-c: C code of proto/*.proto"
  VERBATIM)
# pa_schema.c finds the RPCs and messages among the generated descriptors.
add_library(pa_pb STATIC ${pa_pb_c} ${CMAKE_CURRENT_SOURCE_DIR}/pa_schema.c)
# protoc-c 1.4's output builds clean under the project's warnings and -Werror (gcc 12,
# clang 14), so it gets no flags of its own.
target_include_directories(pa_pb PUBLIC ${PA_PB_C_DIR} ${PROJECT_SOURCE_DIR}/src)
find_package(Threads REQUIRED)
target_link_libraries(pa_pb PUBLIC PkgConfig::PROTOBUF_C Threads::Threads)

if(PROTOC_EXECUTABLE)
  # Empty __init__.py files make crypto and ot regular packages, so that no other
  # `crypto` module on sys.path can shadow them.
  add_custom_command(
    OUTPUT ${pa_pb_py} ${PA_PB_PYTHON_DIR}/crypto/__init__.py ${PA_PB_PYTHON_DIR}/ot/__init__.py
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PA_PB_PYTHON_DIR}/crypto ${PA_PB_PYTHON_DIR}/ot
    COMMAND ${PROTOC_EXECUTABLE} --python_out=${PA_PB_PYTHON_DIR} -I ${PA_PROTO_DIR}
            ${pa_proto_sources}
    COMMAND ${CMAKE_COMMAND} -E touch ${PA_PB_PYTHON_DIR}/crypto/__init__.py
            ${PA_PB_PYTHON_DIR}/ot/__init__.py
    DEPENDS ${pa_proto_sources}
    COMMENT "protoc: Python modules of proto/*.proto"
    VERBATIM)
  add_custom_target(pa_pb_python ALL DEPENDS ${pa_pb_py})
else()
  message(STATUS "protoc not found: the Python modules of proto/ are not generated "
                 "(scripts/install-deps.sh installs protobuf-compiler)")
endif()
