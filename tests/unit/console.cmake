# The console over every link: a scripted SPI chip, the in-process device model, and the
# ftsim binary over its socket and its pty. Included from tests/unit/CMakeLists.txt.
# The host's perso steps up to the TBS export, shared with tests/usb and bench_ftdi.
add_library(fthost_steps STATIC ${CMAKE_CURRENT_LIST_DIR}/host_steps.c)
target_include_directories(fthost_steps PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(fthost_steps PUBLIC ftconsole)

ft_unit_test(test_console ftconsole ftsim_model fthost_steps)
target_compile_definitions(test_console PRIVATE FTSIM_PATH="$<TARGET_FILE:ftsim>"
                           CONSOLE_TEST_DIR="${CMAKE_CURRENT_BINARY_DIR}")
add_dependencies(test_console ftsim)
set_tests_properties(test_console PROPERTIES TIMEOUT 300)

# The ROM bootstrap's SPI flash commands against a scripted spi_device.
ft_unit_test(test_bootstrap ftconsole)
