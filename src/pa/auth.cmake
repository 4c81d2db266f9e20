# ftpa_auth: Keccak/cSHAKE and the LC token hash, bcrypt SKU passwords (libxcrypt), session
# tokens, token derivation and RSA-OAEP seed wrapping.
find_library(CRYPT_LIBRARY crypt REQUIRED)

add_library(ftpa_auth STATIC ${CMAKE_CURRENT_SOURCE_DIR}/cshake.c
            ${CMAKE_CURRENT_SOURCE_DIR}/pa_auth.c)
target_link_libraries(ftpa_auth PUBLIC ftcommon OpenSSL::Crypto ${CRYPT_LIBRARY})
