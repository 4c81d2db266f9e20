/* Standard base64 (RFC 4648 §4, with '=' padding) via OpenSSL's EVP block coder, with
 * the strictness OpenSSL's block API lacks: no whitespace, length a multiple of 4,
 * padding only at the end, exact decoded length. */
#ifndef FTHARNESS_COMMON_BASE64_H
#define FTHARNESS_COMMON_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Characters base64_encode writes for `len` bytes, excluding the NUL. */
size_t base64_encoded_len(size_t len);

/* Writes the encoding of `data` and a NUL into `out` (capacity `cap`). */
int base64_encode(const uint8_t *data, size_t len, char *out, size_t cap, struct ft_error *err);

/* Decodes `text_len` characters into `out` (capacity `cap`); byte count in *out_len. */
int base64_decode(const char *text, size_t text_len, uint8_t *out, size_t cap, size_t *out_len,
                  struct ft_error *err);

#endif
