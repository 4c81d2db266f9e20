#include "pa/json_scalar.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"

/* Copies at most 48 characters of untrusted `text` for an error message, printable ASCII
 * only, so a hostile key cannot forge log lines or fill the message. */
void pa_quote_untrusted(const char *text, char out[64])
{
    size_t o = 0;
    for (size_t i = 0; text[i] != '\0' && o < 48; i++) {
        unsigned char ch = (unsigned char)text[i];
        out[o++] = (ch >= 0x20 && ch < 0x7F && ch != '"' && ch != '\\') ? (char)ch : '?';
    }
    if (text[0] != '\0' && strlen(text) > 48)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
}

const char *pa_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

int pa_json_type_error(struct msg_path *c, const char *want, const json_t *got)
{
    return msg_path_fail(c, FT_E_INVALID, "expected %s, got %s", want, pa_json_type_name(got));
}

/* ---- Integers ---------------------------------------------------------------------------
 * protojson reads an integer field from a JSON number or from a string holding a JSON
 * number, in any notation whose value is integral ("1e3", "10.0"); so do we. */

enum int_parse {
    INT_OK,
    INT_SYNTAX,   /* not a JSON number */
    INT_FRACTION, /* a number, not integral */
    INT_OVERFLOW, /* magnitude above UINT64_MAX */
};

struct number_parts {
    bool negative;
    const char *digits[2]; /* integer part, fraction part */
    size_t ndigits[2];
    long exponent; /* clamped to +-100000: beyond that only 0 is integral and in range */
};

static size_t count_digits(const char *s, size_t n, size_t i)
{
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i - start;
}

/* Splits a JSON number literal (RFC 8259 grammar, nothing around it) into its parts. */
static bool split_number(const char *s, size_t n, struct number_parts *p)
{
    size_t i = 0;
    memset(p, 0, sizeof(*p));
    if (i < n && s[i] == '-')
        p->negative = true, i++;
    p->digits[0] = s + i;
    p->ndigits[0] = count_digits(s, n, i);
    if (p->ndigits[0] == 0 || (p->ndigits[0] > 1 && s[i] == '0'))
        return false;
    i += p->ndigits[0];
    if (i < n && s[i] == '.') {
        i++;
        p->digits[1] = s + i;
        p->ndigits[1] = count_digits(s, n, i);
        if (p->ndigits[1] == 0)
            return false;
        i += p->ndigits[1];
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool neg_exp = i < n && s[i] == '-';
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t nexp = count_digits(s, n, i);
        if (nexp == 0)
            return false;
        for (size_t k = 0; k < nexp; k++) {
            if (p->exponent < 100000)
                p->exponent = p->exponent * 10 + (s[i + k] - '0');
        }
        if (neg_exp)
            p->exponent = -p->exponent;
        i += nexp;
    }
    return i == n;
}

/* Digit `k` of the concatenated integer and fraction digits. */
static char number_digit(const struct number_parts *p, size_t k)
{
    return k < p->ndigits[0] ? p->digits[0][k] : p->digits[1][k - p->ndigits[0]];
}

/* Value of a JSON number literal when it is an integer: magnitude and sign. */
static enum int_parse parse_integer_text(const char *s, size_t n, bool *negative, uint64_t *mag)
{
    struct number_parts p;
    if (!split_number(s, n, &p))
        return INT_SYNTAX;
    *negative = p.negative;
    *mag = 0;
    size_t total = p.ndigits[0] + p.ndigits[1];
    size_t first = 0;
    while (first < total && number_digit(&p, first) == '0')
        first++;
    if (first == total)
        return INT_OK; /* zero, whatever the exponent */
    /* value = digits[first..total) * 10^shift */
    long shift = p.exponent - (long)p.ndigits[1];
    size_t last = total;
    for (; shift < 0; shift++) {
        if (last == first || number_digit(&p, last - 1) != '0')
            return INT_FRACTION;
        last--;
    }
    if ((long)(last - first) + shift > 20)
        return INT_OVERFLOW;
    uint64_t v = 0;
    for (size_t k = first; k < last; k++) {
        unsigned d = (unsigned)(number_digit(&p, k) - '0');
        if (v > (UINT64_MAX - d) / 10)
            return INT_OVERFLOW;
        v = v * 10 + d;
    }
    for (; shift > 0; shift--) {
        if (v > UINT64_MAX / 10)
            return INT_OVERFLOW;
        v *= 10;
    }
    *mag = v;
    return INT_OK;
}

/* Above 2^53 a JSON number may already have been rounded by whoever wrote it. */
#define EXACT_DOUBLE_MAX 9007199254740992.0

/* Reads a JSON integer, integral real, or (when `allow_string`) numeric string. */
int pa_json_get_integer(struct msg_path *c, const json_t *v, bool allow_string, bool *negative,
                        uint64_t *mag)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        *negative = i < 0;
        *mag = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* Written so NaN and infinities fail the first test; no libm needed. */
        if (!(d >= -EXACT_DOUBLE_MAX && d <= EXACT_DOUBLE_MAX))
            return msg_path_fail(c, FT_E_RANGE,
                                 "%g is beyond 2^53 as a JSON number; send it as a string", d);
        int64_t i = (int64_t)d;
        if ((double)i != d)
            return msg_path_fail(c, FT_E_INVALID, "%g is not an integer", d);
        *negative = i < 0;
        *mag = i < 0 ? (uint64_t)-i : (uint64_t)i;
        return 0;
    }
    if (!allow_string || !json_is_string(v))
        return pa_json_type_error(c, allow_string ? "a number or a decimal string" : "a number", v);
    const char *s = json_string_value(v);
    switch (parse_integer_text(s, json_string_length(v), negative, mag)) {
    case INT_OK:
        return 0;
    case INT_FRACTION:
        return msg_path_fail(c, FT_E_INVALID, "\"%.32s\" is not an integer", s);
    case INT_OVERFLOW:
        return msg_path_fail(c, FT_E_RANGE, "\"%.32s\" is out of range", s);
    case INT_SYNTAX:
        break;
    }
    char shown[64];
    pa_quote_untrusted(s, shown);
    return msg_path_fail(c, FT_E_INVALID, "\"%s\" is not a number", shown);
}

int pa_json_get_unsigned(struct msg_path *c, const json_t *v, uint64_t max, uint64_t *out)
{
    bool negative = false;
    uint64_t mag = 0;
    if (pa_json_get_integer(c, v, true, &negative, &mag) != 0)
        return -1;
    if (negative && mag != 0)
        return msg_path_fail(c, FT_E_RANGE, "-%" PRIu64 " is negative", mag);
    if (negative)
        return msg_path_fail(c, FT_E_RANGE, "-0 is negative");
    if (mag > max)
        return msg_path_fail(c, FT_E_RANGE, "%" PRIu64 " exceeds %" PRIu64, mag, max);
    *out = mag;
    return 0;
}

int pa_json_get_int32(struct msg_path *c, const json_t *v, bool allow_string, int32_t *out)
{
    bool negative = false;
    uint64_t mag = 0;
    if (pa_json_get_integer(c, v, allow_string, &negative, &mag) != 0)
        return -1;
    if ((!negative && mag > INT32_MAX) || (negative && mag > (uint64_t)INT32_MAX + 1))
        return msg_path_fail(c, FT_E_RANGE, "%s%" PRIu64 " is outside the int32 range",
                             negative ? "-" : "", mag);
    *out = negative ? (int32_t)(-(int64_t)mag) : (int32_t)mag;
    return 0;
}

/* ---- Base64 input ------------------------------------------------------------------------
 * protojson's rule: text holding '-' or '_' is URL-safe base64, otherwise standard; text
 * whose length is not a multiple of 4 is unpadded. We map both onto padded standard
 * base64 and let common/base64 (strict, canonical) decode it. Unlike Go we refuse line
 * breaks and non-zero bits under the padding: one byte string, one text. */

int pa_base64_shape(struct msg_path *c, const char *text, size_t n, size_t *decoded)
{
    if (n % 4 == 1)
        return msg_path_fail(c, FT_E_INVALID, "base64 text of %zu characters cannot be complete",
                             n);
    if (n % 4 != 0) {
        if (memchr(text, '=', n) != NULL)
            return msg_path_fail(c, FT_E_INVALID, "'=' padding in unpadded base64 text");
        *decoded = n / 4 * 3 + (n % 4 == 2 ? 1 : 2);
        return 0;
    }
    size_t pad = 0;
    while (pad < 2 && pad < n && text[n - 1 - pad] == '=')
        pad++;
    *decoded = n / 4 * 3 - pad;
    return 0;
}

/* Writes the padded standard-alphabet form of `text` into a new buffer *out. */
static int base64_normalize(struct msg_path *c, const char *text, size_t n, char **out,
                            size_t *out_len)
{
    bool url = memchr(text, '-', n) != NULL || memchr(text, '_', n) != NULL;
    size_t padded = (n + 3) / 4 * 4;
    char *norm = malloc(padded + 1);
    if (norm == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];
        if (url && (ch == '+' || ch == '/')) {
            free(norm);
            return msg_path_fail(c, FT_E_INVALID,
                                 "base64 text mixes the standard and URL-safe "
                                 "alphabets at position %zu",
                                 i);
        }
        norm[i] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
    }
    memset(norm + n, '=', padded - n);
    norm[padded] = '\0';
    *out = norm;
    *out_len = padded;
    return 0;
}

/* Decodes base64 `text` into `dst` (exactly `decoded` bytes, as base64_shape said). */
int pa_base64_into(struct msg_path *c, const char *text, size_t n, uint8_t *dst, size_t decoded)
{
    char *norm = NULL;
    size_t norm_len = 0;
    if (base64_normalize(c, text, n, &norm, &norm_len) != 0)
        return -1;
    struct ft_error e = {0};
    size_t got = 0;
    int rc = base64_decode(norm, norm_len, dst, decoded, &got, &e);
    free(norm);
    if (rc != 0)
        return msg_path_fail(c, FT_E_INVALID, "%s", e.message);
    if (got != decoded)
        return msg_path_fail(c, FT_E_INVALID, "base64: decoded %zu bytes, expected %zu", got,
                             decoded);
    return 0;
}

int pa_json_base64(struct msg_path *c, const uint8_t *data, size_t len, json_t **out)
{
    size_t cap = base64_encoded_len(len) + 1;
    char *text = malloc(cap);
    if (text == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory");
    if (base64_encode(data, len, text, cap, c->err) != 0) {
        free(text);
        return ft_error_prefix(c->err, "%s: %s", c->root, c->path);
    }
    *out = json_stringn(text, cap - 1);
    free(text);
    return *out ? 0 : msg_path_fail(c, FT_E_NOMEM, "out of memory");
}

int pa_json_base64_length(struct msg_path *c, const json_t *v, size_t max, size_t *decoded)
{
    if (!json_is_string(v))
        return pa_json_type_error(c, "a base64 string", v);
    if (pa_base64_shape(c, json_string_value(v), json_string_length(v), decoded) != 0)
        return -1;
    if (*decoded > max)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu bytes, limit %zu", *decoded, max);
    return 0;
}

int pa_json_get_base64(struct msg_path *c, const json_t *v, size_t max, uint8_t **data, size_t *len)
{
    size_t decoded = 0;
    if (pa_json_base64_length(c, v, max, &decoded) != 0)
        return -1;
    if (decoded == 0)
        return 0;
    uint8_t *buf = malloc(decoded);
    if (buf == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory for %zu bytes", decoded);
    if (pa_base64_into(c, json_string_value(v), json_string_length(v), buf, decoded) != 0) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = decoded;
    return 0;
}

bool pa_json_key_names(const char *key, const char *proto_name)
{
    if (strcmp(key, proto_name) == 0)
        return true;
    bool upper = false;
    for (const char *p = proto_name; *p != '\0'; p++) {
        if (*p == '_') {
            upper = true;
            continue;
        }
        char want = (upper && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        upper = false;
        if (*key++ != want)
            return false;
    }
    return *key == '\0';
}

int pa_json_get_string(struct msg_path *c, const json_t *v, size_t max, size_t *len)
{
    if (!json_is_string(v))
        return pa_json_type_error(c, "a string", v);
    size_t n = json_string_length(v);
    if (n > max)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu characters, limit %zu", n, max);
    /* A caller-built value (not parsed from text) may hold a NUL; C strings cannot. */
    if (memchr(json_string_value(v), '\0', n) != NULL)
        return msg_path_fail(c, FT_E_INVALID, "contains a NUL character");
    *len = n;
    return 0;
}

int pa_json_get_enum(struct msg_path *c, const ProtobufCEnumDescriptor *e, const json_t *v,
                     int32_t *out)
{
    if (!json_is_string(v))
        return pa_json_get_int32(c, v, false, out);
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value_by_name(e, json_string_value(v));
    if (value == NULL) {
        char shown[64];
        pa_quote_untrusted(json_string_value(v), shown);
        return msg_path_fail(c, FT_E_INVALID, "\"%s\" is not a value of %s", shown, e->name);
    }
    *out = value->value;
    return 0;
}
