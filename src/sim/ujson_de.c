#include "sim/ujson_de.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- Field tables: what ujson_derive.h generates per struct, as data ---------------- */

struct field {
    const char *name;
    size_t offset; /* within the C struct */
    size_t width;  /* bytes of one element: 1, 2, 4 or 8 */
    size_t count;  /* 0 for a scalar, else the C array length */
};

struct type_desc {
    const char *name; /* upstream C type name, for messages */
    const struct field *fields;
    size_t nfields;
};

#define FIELD_SCALAR(type, member)                                                                 \
    {                                                                                              \
#member, offsetof(type, member), sizeof(((type *)0)->member), 0                            \
    }
#define FIELD_ARRAY(type, member)                                                                  \
    {                                                                                              \
#member, offsetof(type, member), sizeof(((type *)0)->member[0]),                           \
            sizeof(((type *)0)->member) / sizeof(((type *)0)->member[0])                           \
    }

static const struct field lc_token_hash_fields[] = {
    FIELD_ARRAY(struct dev_lc_token_hash, hash),
};
static const struct field certgen_inputs_fields[] = {
    FIELD_ARRAY(struct dev_certgen_inputs, dice_auth_key_key_id),
    FIELD_ARRAY(struct dev_certgen_inputs, ext_auth_key_key_id),
    FIELD_SCALAR(struct dev_certgen_inputs, blob_version),
};
static const struct field perso_blob_fields[] = {
    FIELD_SCALAR(struct dev_perso_blob, num_objs),
    FIELD_SCALAR(struct dev_perso_blob, next_free),
    FIELD_ARRAY(struct dev_perso_blob, body),
};
static const struct field ft_individualize_fields[] = {
    FIELD_ARRAY(struct dev_ft_individualize_data, ft_device_id),
};
static const struct field ottf_crc_fields[] = {
    FIELD_SCALAR(struct dev_ottf_crc, crc),
};

#define TYPE_DESC(cname, fields)                                                                   \
    {                                                                                              \
        cname, fields, sizeof(fields) / sizeof(fields[0])                                          \
    }

static const struct type_desc lc_token_hash_type =
    TYPE_DESC("lc_token_hash_t", lc_token_hash_fields);
static const struct type_desc certgen_inputs_type =
    TYPE_DESC("manuf_certgen_inputs_t", certgen_inputs_fields);
/* a2-rc17's manuf_certgen_inputs_t: the two key-ID arrays only (RC17 provisioning_data.h
 * :112-116), so "blob_version" is an unknown key there. */
static const struct type_desc certgen_inputs_rc17_type = {"manuf_certgen_inputs_t",
                                                          certgen_inputs_fields, 2};
static const struct type_desc perso_blob_type = TYPE_DESC("perso_blob_t", perso_blob_fields);
static const struct type_desc ft_individualize_type =
    TYPE_DESC("manuf_ft_individualize_data_t", ft_individualize_fields);
static const struct type_desc ottf_crc_type = TYPE_DESC("ottf_crc_t", ottf_crc_fields);

/* Upstream `char key[128]` minus the NUL. */
#define KEY_MAX 127u

/* ---- Error reporting ----------------------------------------------------------------- */

/* Where the reader is, for error messages. */
struct where {
    const char *type; /* upstream C type name */
    const char *key;  /* field being decoded, NULL outside a value */
    size_t index;     /* array element, when in_array */
    bool in_array;
};

static enum ft_code code_of(enum ujson_de_status status)
{
    switch (status) {
    case UJSON_DE_OUT_OF_RANGE:
        return FT_E_RANGE;
    case UJSON_DE_DATA_LOSS:
        return FT_E_CRC;
    case UJSON_DE_SOURCE_CLOSED:
        return FT_E_TRUNCATED;
    default:
        return FT_E_INVALID;
    }
}

static enum ujson_de_status fail(const struct ujson_de *de, const struct where *w,
                                 enum ujson_de_status status, struct ft_error *err, const char *fmt,
                                 ...) __attribute__((format(printf, 5, 6)));

static enum ujson_de_status fail(const struct ujson_de *de, const struct where *w,
                                 enum ujson_de_status status, struct ft_error *err, const char *fmt,
                                 ...)
{
    if (err == NULL)
        return status;
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    char place[96] = "";
    if (w->key != NULL && w->in_array)
        snprintf(place, sizeof(place), "key \"%s\"[%zu]: ", w->key, w->index);
    else if (w->key != NULL)
        snprintf(place, sizeof(place), "key \"%s\": ", w->key);
    ft_fail(err, code_of(status), "ujson %s: %s%s (%s, %zu bytes into the message)", w->type, place,
            what, ujson_de_status_name(status), de->consumed - de->msg_start);
    return status;
}

/* Renders a byte for a message: 'c' when printable, else 0xNN. */
static const char *show_byte(int c, char buf[8])
{
    if (c >= 0x20 && c < 0x7f && c != '\'')
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02x", (unsigned)c & 0xffu);
    return buf;
}

/* Copies a received key for a message, printable bytes only and shortened. */
static void show_key(const char *key, char *out, size_t cap)
{
    size_t n = 0;
    for (; key[n] != '\0' && n + 4 < cap && n < 40; n++)
        out[n] = (key[n] >= 0x20 && key[n] < 0x7f) ? key[n] : '?';
    if (key[n] != '\0' && n + 4 <= cap) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* ---- Byte level: getc, pushback, CRC (ujson_getc / ujson_ungetc) --------------------- */

/* One step of the reflected CRC-32/ISO-HDLC register, as the device's crc32_add8. */
static void crc_add8(uint32_t *crc, uint8_t byte)
{
    *crc ^= byte;
    for (int bit = 0; bit < 8; bit++)
        *crc = (*crc >> 1) ^ (0xEDB88320u & (0u - (*crc & 1u)));
}

/* The pushed-back byte if any, else the next source byte (added to the CRC). A byte
 * taken back from the pushback is not added again: upstream counts it once. */
static enum ujson_de_status read_byte(struct ujson_de *de, const struct where *w, int *out,
                                      struct ft_error *err)
{
    *out = -1; /* defined on every path, closed source included */
    if (de->pushback >= 0) {
        *out = de->pushback;
        de->pushback = -1;
        return UJSON_DE_OK;
    }
    int c = de->getc(de->ctx);
    if (c < 0 || c > 0xff)
        return fail(de, w, UJSON_DE_SOURCE_CLOSED, err, "source closed");
    de->consumed++;
    crc_add8(&de->crc, (uint8_t)c);
    *out = c;
    return UJSON_DE_OK;
}

static enum ujson_de_status unread_byte(struct ujson_de *de, const struct where *w, int c,
                                        struct ft_error *err)
{
    if (de->pushback >= 0)
        return fail(de, w, UJSON_DE_FAILED_PRECONDITION, err, "second byte pushed back");
    de->pushback = c;
    return UJSON_DE_OK;
}

static bool is_space(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* First byte that is not whitespace (consume_whitespace). */
static enum ujson_de_status skip_space(struct ujson_de *de, const struct where *w, int *out,
                                       struct ft_error *err)
{
    enum ujson_de_status st;
    do {
        st = read_byte(de, w, out, err);
        if (st != UJSON_DE_OK)
            return st;
    } while (is_space(*out));
    return UJSON_DE_OK;
}

/* ujson_consume: the next token must be `want`. */
static enum ujson_de_status expect(struct ujson_de *de, const struct where *w, char want,
                                   struct ft_error *err)
{
    int c;
    enum ujson_de_status st = skip_space(de, w, &c, err);
    if (st != UJSON_DE_OK)
        return st;
    if (c != (unsigned char)want) {
        char got[8];
        return fail(de, w, UJSON_DE_NOT_FOUND, err, "expected '%c', got %s", want,
                    show_byte(c, got));
    }
    return UJSON_DE_OK;
}

/* ujson_consume_maybe: takes the next token if it is `want`, else pushes it back. The
 * device's char is unsigned (RISC-V), so any byte can be pushed back. */
static enum ujson_de_status accept(struct ujson_de *de, const struct where *w, char want,
                                   bool *found, struct ft_error *err)
{
    int c;
    enum ujson_de_status st = skip_space(de, w, &c, err);
    if (st != UJSON_DE_OK)
        return st;
    *found = c == (unsigned char)want;
    if (!*found) {
        /* Upstream ignores this result; it cannot fail right after a read. */
        (void)unread_byte(de, w, c, NULL);
    }
    return UJSON_DE_OK;
}

/* ---- Tokens: quoted string, integer ---------------------------------------------------- */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* \uXXXX: four hex digits; the caller keeps the low 8 bits, as the device's (char) cast. */
static enum ujson_de_status read_hex4(struct ujson_de *de, const struct where *w, int *out,
                                      struct ft_error *err)
{
    int value = 0;
    *out = 0;
    for (int i = 0; i < 4; i++) {
        int c;
        enum ujson_de_status st = read_byte(de, w, &c, err);
        if (st != UJSON_DE_OK)
            return st;
        int digit = hex_value(c);
        if (digit < 0) {
            char got[8];
            return fail(de, w, UJSON_DE_OUT_OF_RANGE, err, "bad \\u escape digit %s",
                        show_byte(c, got));
        }
        value = (value << 4) | digit;
    }
    *out = value;
    return UJSON_DE_OK;
}

/* The byte an escape sequence stands for (after the backslash). */
static enum ujson_de_status read_escape(struct ujson_de *de, const struct where *w, int *out,
                                        struct ft_error *err)
{
    int c;
    *out = 0;
    enum ujson_de_status st = read_byte(de, w, &c, err);
    if (st != UJSON_DE_OK)
        return st;
    switch (c) {
    case '"':
    case '\\':
    case '/':
        *out = c;
        return UJSON_DE_OK;
    case 'b':
        *out = '\b';
        return UJSON_DE_OK;
    case 'f':
        *out = '\f';
        return UJSON_DE_OK;
    case 'n':
        *out = '\n';
        return UJSON_DE_OK;
    case 'r':
        *out = '\r';
        return UJSON_DE_OK;
    case 't':
        *out = '\t';
        return UJSON_DE_OK;
    case 'u':
        st = read_hex4(de, w, out, err);
        *out &= 0xff;
        return st;
    default: {
        char got[8];
        return fail(de, w, UJSON_DE_OUT_OF_RANGE, err, "bad string escape \\%s", show_byte(c, got));
    }
    }
}

/* ujson_parse_qs into `buf` of `cap` bytes (cap >= 1): keeps cap-1 bytes, consumes the
 * whole string, always NUL-terminates. */
static enum ujson_de_status read_string(struct ujson_de *de, const struct where *w, char *buf,
                                        size_t cap, struct ft_error *err)
{
    size_t room = cap - 1;
    enum ujson_de_status st = expect(de, w, '"', err);
    if (st != UJSON_DE_OK)
        return st;
    for (;;) {
        int c;
        st = read_byte(de, w, &c, err);
        if (st != UJSON_DE_OK)
            break;
        if (c == '"')
            break;
        if (c == '\\') {
            st = read_escape(de, w, &c, err);
            if (st != UJSON_DE_OK)
                break;
        }
        if (room > 0) {
            *buf++ = (char)c;
            room--;
        }
    }
    *buf = '\0';
    return st;
}

/* Digits of an integer starting with `c`, into a 64-bit accumulator; on return `*c` is
 * the byte after the digits. Overflow stops at the offending digit, as upstream. */
static enum ujson_de_status read_digits(struct ujson_de *de, const struct where *w, int *c,
                                        uint64_t *value, struct ft_error *err)
{
    uint64_t v = 0;
    while (*c >= '0' && *c <= '9') {
        unsigned digit = (unsigned)(*c - '0');
        if (v > UINT64_MAX / 10 || v * 10 > UINT64_MAX - digit)
            return fail(de, w, UJSON_DE_OUT_OF_RANGE, err, "integer exceeds 2^64-1");
        v = v * 10 + digit;
        enum ujson_de_status st = read_byte(de, w, c, err);
        if (st != UJSON_DE_OK)
            return st;
    }
    *value = v;
    return UJSON_DE_OK;
}

/* ujson_parse_integer: the 64-bit two's complement bits of the number; the caller
 * truncates them to the field width. */
static enum ujson_de_status read_integer(struct ujson_de *de, const struct where *w, uint64_t *bits,
                                         struct ft_error *err)
{
    int c;
    *bits = 0;
    enum ujson_de_status st = skip_space(de, w, &c, err);
    if (st != UJSON_DE_OK)
        return st;
    /* A quote before the digits is taken as a quoted integer; no whitespace inside. */
    bool quoted = c == '"';
    if (quoted && (st = read_byte(de, w, &c, err)) != UJSON_DE_OK)
        return st;
    bool negative = c == '-';
    if (negative && (st = read_byte(de, w, &c, err)) != UJSON_DE_OK)
        return st;
    if (!(c >= '0' && c <= '9')) {
        char got[8];
        return fail(de, w, UJSON_DE_NOT_FOUND, err, "expected an integer, got %s",
                    show_byte(c, got));
    }
    uint64_t magnitude = 0;
    st = read_digits(de, w, &c, &magnitude, err);
    if (st != UJSON_DE_OK)
        return st;
    if (quoted && c != '"') {
        char got[8];
        return fail(de, w, UJSON_DE_INVALID_ARGUMENT, err,
                    "quoted integer not closed by '\"', got %s", show_byte(c, got));
    }
    /* Unquoted: the byte after the digits belongs to the next token. */
    if (!quoted && (st = unread_byte(de, w, c, err)) != UJSON_DE_OK)
        return st;
    if (negative && magnitude > (uint64_t)INT64_MAX + 1)
        return fail(de, w, UJSON_DE_OUT_OF_RANGE, err, "negative integer below -2^63");
    /* Unsigned negation gives the device's int64 bits without signed overflow. */
    *bits = negative ? 0 - magnitude : magnitude;
    return UJSON_DE_OK;
}

/* Stores the low `width` bytes of `bits`: the device's memcpy from a uint64_t on a
 * little-endian core, i.e. silent truncation. */
static void store_truncated(void *dst, size_t width, uint64_t bits)
{
    switch (width) {
    case 1: {
        uint8_t v = (uint8_t)bits;
        memcpy(dst, &v, 1);
        break;
    }
    case 2: {
        uint16_t v = (uint16_t)bits;
        memcpy(dst, &v, 2);
        break;
    }
    case 4: {
        uint32_t v = (uint32_t)bits;
        memcpy(dst, &v, 4);
        break;
    }
    default:
        memcpy(dst, &bits, 8);
        break;
    }
}

static enum ujson_de_status read_element(struct ujson_de *de, const struct where *w,
                                         const struct field *f, unsigned char *dst,
                                         struct ft_error *err)
{
    uint64_t bits;
    enum ujson_de_status st = read_integer(de, w, &bits, err);
    if (st == UJSON_DE_OK)
        store_truncated(dst, f->width, bits);
    return st;
}

/* ---- Structure: arrays and objects (ujson_derive.h) ----------------------------------- */

static bool starts_integer(int c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '"';
}

/* The ',' between elements; names the over-long array when a value follows a full one. */
static enum ujson_de_status expect_separator(struct ujson_de *de, const struct where *w,
                                             const struct field *f, size_t i, struct ft_error *err)
{
    int c;
    enum ujson_de_status st = skip_space(de, w, &c, err);
    if (st != UJSON_DE_OK || c == ',')
        return st;
    char got[8];
    if (i == f->count && starts_integer(c))
        return fail(de, w, UJSON_DE_NOT_FOUND, err, "array has more than %zu elements (got %s)",
                    f->count, show_byte(c, got));
    return fail(de, w, UJSON_DE_NOT_FOUND, err, "expected ',' or ']', got %s", show_byte(c, got));
}

/* ujson_de_loop for a 1-D array: elements past the C size are not stored, and the loop
 * only ends at ']', so one extra element fails on the comma it lacks while extra commas
 * alone are accepted. */
static enum ujson_de_status read_array(struct ujson_de *de, struct where *w, const struct field *f,
                                       unsigned char *base, struct ft_error *err)
{
    enum ujson_de_status st = expect(de, w, '[', err);
    size_t i = 0;
    while (st == UJSON_DE_OK) {
        bool closed;
        w->in_array = true;
        w->index = i;
        st = accept(de, w, ']', &closed, err);
        if (st != UJSON_DE_OK || closed)
            break;
        if (i > 0 && (st = expect_separator(de, w, f, i, err)) != UJSON_DE_OK)
            break;
        if (i < f->count) {
            st = read_element(de, w, f, base + f->offset + i * f->width, err);
            i++;
        }
    }
    w->in_array = false;
    return st;
}

static const struct field *find_field(const struct type_desc *t, const char *key)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i].name, key) == 0)
            return &t->fields[i];
    return NULL;
}

/* One "key":value member. */
static enum ujson_de_status read_member(struct ujson_de *de, struct where *w,
                                        const struct type_desc *t, unsigned char *base,
                                        struct ft_error *err)
{
    char key[KEY_MAX + 1];
    enum ujson_de_status st = read_string(de, w, key, sizeof(key), err);
    if (st == UJSON_DE_OK)
        st = expect(de, w, ':', err);
    if (st != UJSON_DE_OK)
        return st;
    const struct field *f = find_field(t, key);
    if (f == NULL) {
        char shown[48];
        show_key(key, shown, sizeof(shown));
        return fail(de, w, UJSON_DE_INVALID_ARGUMENT, err, "unknown key \"%s\"", shown);
    }
    w->key = f->name;
    if (f->count == 0)
        st = read_element(de, w, f, base + f->offset, err);
    else
        st = read_array(de, w, f, base, err);
    w->key = NULL;
    return st;
}

/* UJSON_IMPL_DESERIALIZE_STRUCT. */
static enum ujson_de_status read_struct(struct ujson_de *de, const struct type_desc *t, void *out,
                                        struct ft_error *err)
{
    struct where w = {.type = t->name};
    unsigned char *base = out;
    de->msg_start = de->consumed;
    enum ujson_de_status st = expect(de, &w, '{', err);
    for (size_t members = 0; st == UJSON_DE_OK; members++) {
        bool closed;
        st = accept(de, &w, '}', &closed, err);
        if (st != UJSON_DE_OK || closed)
            break;
        if (members > 0 && (st = expect(de, &w, ',', err)) != UJSON_DE_OK)
            break;
        st = read_member(de, &w, t, base, err);
    }
    return st;
}

/* ---- Public entry points ----------------------------------------------------------------- */

void ujson_de_init(struct ujson_de *de, ujson_getc_fn getc, void *ctx)
{
    *de = (struct ujson_de){.getc = getc, .ctx = ctx, .pushback = -1, .crc = UINT32_MAX};
}

enum ujson_de_status ujson_de_lc_token_hash(struct ujson_de *de, struct dev_lc_token_hash *out,
                                            struct ft_error *err)
{
    return read_struct(de, &lc_token_hash_type, out, err);
}

enum ujson_de_status ujson_de_certgen_inputs(struct ujson_de *de, bool with_blob_version,
                                             struct dev_certgen_inputs *out, struct ft_error *err)
{
    return read_struct(de, with_blob_version ? &certgen_inputs_type : &certgen_inputs_rc17_type,
                       out, err);
}

enum ujson_de_status ujson_de_perso_blob(struct ujson_de *de, struct dev_perso_blob *out,
                                         struct ft_error *err)
{
    return read_struct(de, &perso_blob_type, out, err);
}

enum ujson_de_status ujson_de_ft_individualize(struct ujson_de *de,
                                               struct dev_ft_individualize_data *out,
                                               struct ft_error *err)
{
    return read_struct(de, &ft_individualize_type, out, err);
}

enum ujson_de_status ujson_de_ottf_crc(struct ujson_de *de, struct dev_ottf_crc *out,
                                       struct ft_error *err)
{
    return read_struct(de, &ottf_crc_type, out, err);
}

/* Upstream compares against an uninitialised stack variable when the CRC object has no
 * "crc" key; a sentinel that differs from the computed CRC makes that a mismatch. */
enum ujson_de_status ujson_de_lc_token_hash_with_crc(struct ujson_de *de,
                                                     struct dev_lc_token_hash *out,
                                                     struct ft_error *err)
{
    de->crc = UINT32_MAX;
    enum ujson_de_status st = ujson_de_lc_token_hash(de, out, err);
    uint32_t computed = de->crc ^ UINT32_MAX;
    if (st != UJSON_DE_OK)
        return st;
    struct dev_ottf_crc sent = {.crc = ~computed};
    st = ujson_de_ottf_crc(de, &sent, err);
    if (st != UJSON_DE_OK)
        return st;
    if (sent.crc != computed) {
        struct where w = {.type = ottf_crc_type.name};
        return fail(de, &w, UJSON_DE_DATA_LOSS, err,
                    "CRC %" PRIu32 " sent, %" PRIu32 " computed over the lc_token_hash_t bytes",
                    sent.crc, computed);
    }
    return UJSON_DE_OK;
}

const char *ujson_de_status_name(enum ujson_de_status status)
{
    switch (status) {
    case UJSON_DE_OK:
        return "Ok";
    case UJSON_DE_INVALID_ARGUMENT:
        return "InvalidArgument";
    case UJSON_DE_NOT_FOUND:
        return "NotFound";
    case UJSON_DE_FAILED_PRECONDITION:
        return "FailedPrecondition";
    case UJSON_DE_OUT_OF_RANGE:
        return "OutOfRange";
    case UJSON_DE_DATA_LOSS:
        return "DataLoss";
    case UJSON_DE_SOURCE_CLOSED:
        return "SourceClosed";
    }
    return "Unknown";
}
