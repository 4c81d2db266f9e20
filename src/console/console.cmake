# The perso console over a link: SPI frames + uploads, UART text, sync strings, lines.
# Included from src/CMakeLists.txt.
add_library(ftconsole STATIC
  ${CMAKE_CURRENT_LIST_DIR}/bootstrap.c
  ${CMAKE_CURRENT_LIST_DIR}/console.c
  ${CMAKE_CURRENT_LIST_DIR}/spi_console.c
  ${CMAKE_CURRENT_LIST_DIR}/uart_console.c)
target_link_libraries(ftconsole PUBLIC ftlink ftwire)

# The UART console on an FTDI channel (console_open_ftdi_uart), apart so that ftconsole
# itself does not need libftdi1.
add_library(ftconsole_ftdi STATIC ${CMAKE_CURRENT_LIST_DIR}/ftdi_uart_console.c)
target_link_libraries(ftconsole_ftdi PUBLIC ftconsole ftftdi)
