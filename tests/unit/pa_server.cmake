# ftpa end to end over HTTP, with devices from the model. One process (CK_FORK=no): the
# server threads of the fixture do not survive a fork.
find_package(CURL REQUIRED) # the Content-Type test posts with libcurl directly
ft_unit_test(test_pa_service ftpa_server ftpa_client ftsim_testhost CURL::libcurl)
set_tests_properties(test_pa_service PROPERTIES TIMEOUT 300
                     ENVIRONMENT "TEST_TMP=${CMAKE_CURRENT_BINARY_DIR};CK_FORK=no"
                     FIXTURES_SETUP endorsed)

# The endpoint check of mTLS clients (certificate names against the peer).
ft_unit_test(test_pa_endpoint ftpa_server)
