# The console over every link: a scripted SPI chip, the in-process device model, and the
# ftsim binary over its socket and its pty. Included from tests/unit/CMakeLists.txt.
ft_unit_test(test_console ftconsole ftsim_model)
target_compile_definitions(test_console PRIVATE FTSIM_PATH="$<TARGET_FILE:ftsim>"
                           CONSOLE_TEST_DIR="${CMAKE_CURRENT_BINARY_DIR}")
add_dependencies(test_console ftsim)
set_tests_properties(test_console PROPERTIES TIMEOUT 300)

# The ROM bootstrap's SPI flash commands against a scripted spi_device.
ft_unit_test(test_bootstrap ftconsole)
