# Suites of the ftsim_devparse library (src/sim/devparse.cmake).
ft_unit_test(test_sim_ujson_de ftsim_devparse ftwire)
ft_unit_test(test_sim_rom_bootstrap ftsim_devparse)
# ftsim's firmware profiles end to end (--firmware; tests/sim/simflow drives the chip).
ft_unit_test(test_sim_profiles ftsim_testhost)
set_tests_properties(test_sim_profiles PROPERTIES TIMEOUT 600)
