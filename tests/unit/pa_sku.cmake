# ftpa_sku: `ftpa init` (PKI, modes, refusing to replace a SKU, names) and the SKU and auth
# file parsers.
ft_unit_test(test_pa_sku ftpa_sku)
set_tests_properties(test_pa_sku PROPERTIES TIMEOUT 300
                     ENVIRONMENT "TEST_TMP=${CMAKE_CURRENT_BINARY_DIR}")
