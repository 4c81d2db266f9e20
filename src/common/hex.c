#include "common/hex.h"

int hex_encode(const uint8_t *data, size_t len, char *out, size_t cap, struct ft_error *err)
{
    static const char digits[] = "0123456789abcdef";
    if (len > (SIZE_MAX - 1) / 2 || cap < 2 * len + 1)
        return ft_fail(err, FT_E_CAPACITY, "hex: %zu bytes need %zu characters, buffer holds %zu",
                       len, len * 2 + 1, cap);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xF];
    }
    out[2 * len] = '\0';
    return 0;
}

static int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *text, size_t text_len, uint8_t *out, size_t cap, size_t *out_len,
               struct ft_error *err)
{
    if (text_len % 2 != 0)
        return ft_fail(err, FT_E_INVALID, "hex: odd number of digits (%zu)", text_len);
    if (text_len / 2 > cap)
        return ft_fail(err, FT_E_CAPACITY, "hex: %zu bytes do not fit in %zu", text_len / 2, cap);
    for (size_t i = 0; i < text_len; i += 2) {
        int hi = hex_digit_value(text[i]);
        int lo = hex_digit_value(text[i + 1]);
        if (hi < 0 || lo < 0) {
            size_t bad = hi < 0 ? i : i + 1;
            return ft_fail(err, FT_E_INVALID,
                           "hex: character 0x%02x at position %zu is not a hex digit",
                           (unsigned char)text[bad], bad);
        }
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = text_len / 2;
    return 0;
}
