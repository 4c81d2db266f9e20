# FTDI backends (DESIGN.md §4): the MPSSE command encoder (no I/O, unit tested on bytes),
# the libftdi1 spi_bus backend over it, and a channel as a UART; both find the adapter
# with ftdi_open.c. ftdi_spec.c reads the adapter text of the command line. Included from src/link/link.cmake.
pkg_check_modules(LIBFTDI1 REQUIRED IMPORTED_TARGET libftdi1)

add_library(ftmpsse STATIC ${CMAKE_CURRENT_LIST_DIR}/ftdi_mpsse.c)
target_link_libraries(ftmpsse PUBLIC ftcommon)

add_library(ftftdi STATIC ${CMAKE_CURRENT_LIST_DIR}/ftdi_open.c
            ${CMAKE_CURRENT_LIST_DIR}/ftdi_spi.c ${CMAKE_CURRENT_LIST_DIR}/ftdi_uart.c)
# The adapter text of the command line (no libftdi: unit tested and fuzzed alone).
add_library(ftftdispec STATIC ${CMAKE_CURRENT_LIST_DIR}/ftdi_spec.c)
target_link_libraries(ftftdispec PUBLIC ftmpsse)
target_link_libraries(ftftdi PUBLIC ftmpsse ftftdispec PkgConfig::LIBFTDI1)
