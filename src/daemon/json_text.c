#include "daemon/json_text.h"

#include <string.h>

void json_text_quote(char *out, const char *s, size_t n, size_t max, char delim)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, take = n < max ? n : max;
    if (delim != '\0')
        out[o++] = delim;
    for (size_t i = 0; i < take; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            if (delim != '\0' && (c == '\\' || c == (unsigned char)delim))
                out[o++] = '\\';
            out[o++] = (char)c;
        }
    }
    if (delim != '\0')
        out[o++] = delim;
    if (take < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

const char *json_text_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown type";
}
