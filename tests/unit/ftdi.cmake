# The MPSSE command encoder, byte for byte (reference transport §7.3 golden vectors).
# Included from tests/unit/CMakeLists.txt.
ft_unit_test(test_ftdi_mpsse ftmpsse)

# The libftdi1 backend against a fake libftdi1 defined in the test itself: linked with
# libftdi1's header only, not the library (the real stack is tests/usb's job).
pkg_check_modules(FTDI_HEADERS REQUIRED libftdi1)
ft_unit_test(test_ftdi_spi ftmpsse ftconsole)
target_sources(test_ftdi_spi PRIVATE ${PROJECT_SOURCE_DIR}/src/link/ftdi_spi.c
               ${PROJECT_SOURCE_DIR}/src/link/ftdi_open.c)
target_include_directories(test_ftdi_spi SYSTEM PRIVATE ${FTDI_HEADERS_INCLUDE_DIRS})

# The adapter text of the command line (ftdi:..., ftdi-uart:...).
ft_unit_test(test_ftdi_spec ftftdispec)
