# ftpa_msg: PA API messages as proto3 JSON and protobuf. Both suites read the examples
# in docs/pa-api.md, so the document cannot drift from the code.
ft_unit_test(test_pa_msg ftpa_msg)
ft_unit_test(test_pa_proto ftpa_msg)
target_compile_definitions(test_pa_msg PRIVATE PA_API_DOC="${PROJECT_SOURCE_DIR}/docs/pa-api.md")
target_compile_definitions(test_pa_proto PRIVATE PA_API_DOC="${PROJECT_SOURCE_DIR}/docs/pa-api.md")
