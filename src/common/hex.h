/* Hexadecimal text <-> bytes, strict: even length, digits 0-9a-fA-F only, no prefix,
 * no separators. Output is lower case. */
#ifndef FTHARNESS_COMMON_HEX_H
#define FTHARNESS_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Writes 2*len hex digits and a NUL into `out` (capacity `cap`). Returns 0, or -1 with
 * FT_E_CAPACITY when cap < 2*len + 1. */
int hex_encode(const uint8_t *data, size_t len, char *out, size_t cap, struct ft_error *err);

/* Decodes `text_len` characters of `text` into `out` (capacity `cap`), storing the byte
 * count in *out_len. Fails naming the first bad character and its position. */
int hex_decode(const char *text, size_t text_len, uint8_t *out, size_t cap, size_t *out_len,
               struct ft_error *err);

#endif
