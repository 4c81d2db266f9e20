# ftsim DICE keys and certificates (deterministic P-256, RFC 6979, hand-built DER).
add_library(ftsim_dice STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/der.c
  ${CMAKE_CURRENT_SOURCE_DIR}/dice_certs.c)
target_link_libraries(ftsim_dice PUBLIC ftcommon OpenSSL::Crypto)
