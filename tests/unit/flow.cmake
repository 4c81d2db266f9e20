# The flow engine's SKU files. Included from tests/unit/CMakeLists.txt.
ft_unit_test(test_flow_sku ftflow)
target_compile_definitions(test_flow_sku PRIVATE SKU_DIR="${PROJECT_SOURCE_DIR}/skus")
