#include "common/base64.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>

size_t base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

int base64_encode(const uint8_t *data, size_t len, char *out, size_t cap, struct ft_error *err)
{
    if (len > (size_t)INT_MAX / 4 * 3)
        return ft_fail(err, FT_E_RANGE, "base64: input of %zu bytes is too long", len);
    size_t need = base64_encoded_len(len) + 1;
    if (cap < need)
        return ft_fail(err, FT_E_CAPACITY,
                       "base64: %zu bytes need %zu characters, buffer holds %zu", len, need, cap);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return 0;
}

static bool is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int base64_decode(const char *text, size_t text_len, uint8_t *out, size_t cap, size_t *out_len,
                  struct ft_error *err)
{
    if (text_len % 4 != 0)
        return ft_fail(err, FT_E_INVALID, "base64: length %zu is not a multiple of 4", text_len);
    if (text_len > (size_t)INT_MAX)
        return ft_fail(err, FT_E_RANGE, "base64: input of %zu characters is too long", text_len);

    size_t padding = 0;
    if (text_len > 0 && text[text_len - 1] == '=')
        padding = (text_len > 1 && text[text_len - 2] == '=') ? 2 : 1;
    for (size_t i = 0; i < text_len - padding; i++) {
        if (!is_base64_char(text[i]))
            return ft_fail(err, FT_E_INVALID,
                           "base64: character 0x%02x at position %zu is not in the alphabet",
                           (unsigned char)text[i], i);
    }

    size_t decoded = text_len / 4 * 3 - padding;
    if (decoded > cap)
        return ft_fail(err, FT_E_CAPACITY, "base64: %zu bytes do not fit in %zu", decoded, cap);
    if (text_len == 0) {
        *out_len = 0;
        return 0;
    }
    /* EVP_DecodeBlock writes whole 3-byte groups, padding included, so it needs a scratch
     * buffer when `out` is sized exactly. */
    unsigned char *scratch = malloc(text_len / 4 * 3);
    if (scratch == NULL)
        return ft_fail(err, FT_E_NOMEM, "base64: out of memory");
    int n = EVP_DecodeBlock(scratch, (const unsigned char *)text, (int)text_len);
    if (n < 0 || (size_t)n != text_len / 4 * 3) {
        free(scratch);
        return ft_fail(err, FT_E_INVALID, "base64: malformed input");
    }
    for (size_t i = 0; i < decoded; i++)
        out[i] = scratch[i];
    /* Reject encodings with non-zero bits under the padding: only one text may stand for
     * a given byte string, so equal bytes always compare equal as text. */
    char canonical[4 + 1];
    size_t tail = text_len - 4;
    size_t tail_bytes = 3 - padding;
    EVP_EncodeBlock((unsigned char *)canonical, scratch + tail / 4 * 3, (int)tail_bytes);
    free(scratch);
    for (size_t i = 0; i < 4; i++) {
        if (canonical[i] != text[tail + i])
            return ft_fail(err, FT_E_INVALID, "base64: non-canonical final group at position %zu",
                           tail);
    }
    *out_len = decoded;
    return 0;
}
