# ftpa_auth suites: cSHAKE against the SP 800-185 samples and OpenSSL's SHAKE; passwords,
# session tokens, token derivation and seed wrapping.
ft_unit_test(test_pa_cshake ftpa_auth)
ft_unit_test(test_pa_auth ftpa_auth)
