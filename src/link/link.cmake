# Byte links below the console (DESIGN.md §4): the spi_bus interface (header only), the
# ftsim socket backend and the kernel tty UART. Included from src/CMakeLists.txt.
add_library(ftlink STATIC
  ${CMAKE_CURRENT_LIST_DIR}/simsock.c
  ${CMAKE_CURRENT_LIST_DIR}/tty.c)
target_link_libraries(ftlink PUBLIC ftwire)
include(${CMAKE_CURRENT_LIST_DIR}/ftdi.cmake)
