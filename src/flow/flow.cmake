# The personalization flow engine, its SKU configuration and device record.
add_library(ftflow STATIC
  ${CMAKE_CURRENT_LIST_DIR}/flow.c
  ${CMAKE_CURRENT_LIST_DIR}/flow_journal.c
  ${CMAKE_CURRENT_LIST_DIR}/flow_record.c
  ${CMAKE_CURRENT_LIST_DIR}/flow_session.c
  ${CMAKE_CURRENT_LIST_DIR}/flow_sku.c)
target_link_libraries(ftflow PUBLIC ftconsole ftpa_client ftpa_msg ftpa_auth ftcert ftwire)
