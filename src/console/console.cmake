# The perso console over a link: SPI frames + uploads, UART text, sync strings, lines.
# Included from src/CMakeLists.txt.
add_library(ftconsole STATIC
  ${CMAKE_CURRENT_LIST_DIR}/bootstrap.c
  ${CMAKE_CURRENT_LIST_DIR}/console.c
  ${CMAKE_CURRENT_LIST_DIR}/spi_console.c
  ${CMAKE_CURRENT_LIST_DIR}/uart_console.c)
target_link_libraries(ftconsole PUBLIC ftlink ftwire)
