# SKU configuration and `ftpa init` (development PKI).
add_library(ftpa_sku STATIC ${CMAKE_CURRENT_SOURCE_DIR}/pa_sku.c ${CMAKE_CURRENT_SOURCE_DIR}/pa_init.c)
target_link_libraries(ftpa_sku PUBLIC ftpa_auth ftcommon OpenSSL::Crypto PkgConfig::JANSSON)
