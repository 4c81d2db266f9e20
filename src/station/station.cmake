# What `ftharness run` and the daemon's site workers share around the flow: the links from
# their console texts, the sandboxed plugin step, the SKU password and images, exit classes.
add_library(ftstation STATIC
  ${CMAKE_CURRENT_LIST_DIR}/links.c
  ${CMAKE_CURRENT_LIST_DIR}/plugin_flow.c
  ${CMAKE_CURRENT_LIST_DIR}/station_inputs.c)
target_link_libraries(ftstation PUBLIC ftflow ftftdi ftconsole_ftdi ftplugin)
