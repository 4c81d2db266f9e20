# Suites of the ftsim_devparse library (src/sim/devparse.cmake).
ft_unit_test(test_sim_ujson_de ftsim_devparse ftwire)
ft_unit_test(test_sim_rom_bootstrap ftsim_devparse)
