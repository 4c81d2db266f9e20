#include "pa/pa_proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "pa/msg_path.h"

/* Protobuf wire types. */
enum wire_type {
    WIRE_VARINT = 0,
    WIRE_I64 = 1,
    WIRE_LEN = 2,
    WIRE_I32 = 5,
};

#define MAX_FIELDS 32 /* per message; our largest (ot.Metadata) has 11 */

/* ---- Error context: "ot.DeviceData: device_id.sku_specific: <why>" (pa/msg_path.h) ----- */

/* Field indices of `desc` in field-number order: proto.Marshal's order. */
static size_t number_order(const struct pa_msg_desc *desc, size_t order[MAX_FIELDS])
{
    size_t n = desc->field_count < MAX_FIELDS ? desc->field_count : MAX_FIELDS;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        for (; j > 0 && desc->fields[order[j - 1]].number > desc->fields[i].number; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    return n;
}

static enum wire_type wire_type_of(enum pa_field_kind kind)
{
    switch (kind) {
    case PA_FIELD_BOOL:
    case PA_FIELD_UINT32:
    case PA_FIELD_UINT64:
    case PA_FIELD_ENUM:
        return WIRE_VARINT;
    case PA_FIELD_FIXED32:
        return WIRE_I32;
    case PA_FIELD_FIXED64:
        return WIRE_I64;
    case PA_FIELD_STRING:
    case PA_FIELD_BYTES:
    case PA_FIELD_HEAP_BYTES:
    case PA_FIELD_MESSAGE:
        break;
    }
    return WIRE_LEN;
}

/* ---- Encoder ----------------------------------------------------------------------------
 * Two passes over the same code: with buf == NULL it only counts, which also yields the
 * length prefix of every sub-message before its bytes are written. */

struct pb_out {
    uint8_t *buf; /* NULL: count only */
    size_t cap;
    size_t len;
};

static void put_raw(struct pb_out *o, const uint8_t *data, size_t n)
{
    if (o->buf != NULL && n > 0 && o->len <= o->cap && n <= o->cap - o->len)
        memcpy(o->buf + o->len, data, n);
    o->len += n;
}

static void put_varint(struct pb_out *o, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (v != 0)
            b[n] |= 0x80;
        n++;
    } while (v != 0);
    put_raw(o, b, n);
}

static void put_tag(struct pb_out *o, uint32_t number, enum wire_type wt)
{
    put_varint(o, (uint64_t)number << 3 | (uint64_t)wt);
}

static void put_fixed(struct pb_out *o, uint64_t v, size_t size)
{
    uint8_t b[8];
    for (size_t i = 0; i < size; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put_raw(o, b, size);
}

static void put_len_delimited(struct pb_out *o, uint32_t number, const void *data, size_t n)
{
    put_tag(o, number, WIRE_LEN);
    put_varint(o, n);
    put_raw(o, data, n);
}

static int encode_message(struct msg_path *c, const struct pa_msg_desc *desc, const void *msg,
                          struct pb_out *o);

static int encode_string(struct msg_path *c, const struct pa_field_desc *f, const char *s,
                         struct pb_out *o)
{
    size_t n = strnlen(s, f->cap + 1);
    if (n > f->cap)
        return msg_path_fail(c, FT_E_CAPACITY, "not NUL-terminated within %zu characters", f->cap);
    if (!pa_utf8_valid(s, n)) /* proto.Marshal refuses invalid UTF-8 in proto3 strings */
        return msg_path_fail(c, FT_E_INVALID, "not valid UTF-8");
    put_len_delimited(o, f->number, s, n);
    return 0;
}

static int encode_bytes(struct msg_path *c, const struct pa_field_desc *f, const void *slot,
                        struct pb_out *o)
{
    const uint8_t *data;
    size_t len;
    if (f->kind == PA_FIELD_BYTES) {
        data = ((const struct pa_small_bytes *)slot)->data;
        len = ((const struct pa_small_bytes *)slot)->len;
    } else {
        data = ((const struct pa_bytes *)slot)->data;
        len = ((const struct pa_bytes *)slot)->len;
        if (len > 0 && data == NULL)
            return msg_path_fail(c, FT_E_INVALID, "length %zu with no data", len);
    }
    if (len > f->cap)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu bytes, limit %zu", len, f->cap);
    put_len_delimited(o, f->number, data, len);
    return 0;
}

static int encode_submessage(struct msg_path *c, const struct pa_field_desc *f, const void *slot,
                             struct pb_out *o)
{
    struct pb_out count = {NULL, 0, 0};
    if (encode_message(c, f->msg_desc, slot, &count) != 0)
        return -1;
    put_tag(o, f->number, WIRE_LEN);
    put_varint(o, count.len);
    return encode_message(c, f->msg_desc, slot, o);
}

static int encode_element(struct msg_path *c, const struct pa_field_desc *f, const void *slot,
                          struct pb_out *o)
{
    switch (f->kind) {
    case PA_FIELD_STRING:
        return encode_string(c, f, slot, o);
    case PA_FIELD_BYTES:
    case PA_FIELD_HEAP_BYTES:
        return encode_bytes(c, f, slot, o);
    case PA_FIELD_MESSAGE:
        return encode_submessage(c, f, slot, o);
    case PA_FIELD_BOOL:
        put_tag(o, f->number, WIRE_VARINT);
        put_varint(o, *(const bool *)slot ? 1 : 0);
        return 0;
    case PA_FIELD_UINT32:
        put_tag(o, f->number, WIRE_VARINT);
        put_varint(o, *(const uint32_t *)slot);
        return 0;
    case PA_FIELD_UINT64:
        put_tag(o, f->number, WIRE_VARINT);
        put_varint(o, *(const uint64_t *)slot);
        return 0;
    case PA_FIELD_ENUM: /* int32 sign-extended to 64 bits, as for int32 fields */
        put_tag(o, f->number, WIRE_VARINT);
        put_varint(o, (uint64_t)(int64_t) * (const int32_t *)slot);
        return 0;
    case PA_FIELD_FIXED32:
        put_tag(o, f->number, WIRE_I32);
        put_fixed(o, *(const uint32_t *)slot, 4);
        return 0;
    case PA_FIELD_FIXED64:
        put_tag(o, f->number, WIRE_I64);
        put_fixed(o, *(const uint64_t *)slot, 8);
        return 0;
    }
    return msg_path_fail(c, FT_E_INVALID, "unsupported field kind %d", (int)f->kind);
}

static int encode_field(struct msg_path *c, const struct pa_field_desc *f, const void *msg,
                        struct pb_out *o)
{
    if (f->max_count == 0)
        return pa_field_is_set(f, msg) ? encode_element(c, f, pa_field_cptr(f, msg, 0), o) : 0;
    if (f->kind != PA_FIELD_STRING && f->kind != PA_FIELD_BYTES && f->kind != PA_FIELD_HEAP_BYTES &&
        f->kind != PA_FIELD_MESSAGE)
        return msg_path_fail(c, FT_E_INVALID, "repeated scalars (packed) are not supported");
    size_t n = pa_field_count(f, msg);
    if (n > f->max_count)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu elements, limit %zu", n, f->max_count);
    for (size_t i = 0; i < n; i++) {
        size_t saved = msg_path_push(c, "", i, true);
        int rc = encode_element(c, f, pa_field_cptr(f, msg, i), o);
        msg_path_pop(c, saved);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int encode_message(struct msg_path *c, const struct pa_msg_desc *desc, const void *msg,
                          struct pb_out *o)
{
    char why[192];
    if (desc->field_count > MAX_FIELDS)
        return msg_path_fail(c, FT_E_INVALID, "message table too large");
    if (pa_oneof_check(desc, msg, why, sizeof(why)) != 0)
        return msg_path_fail(c, FT_E_INVALID, "%s", why);
    size_t order[MAX_FIELDS];
    size_t n = number_order(desc, order);
    for (size_t k = 0; k < n; k++) {
        const struct pa_field_desc *f = &desc->fields[order[k]];
        size_t saved = msg_path_push(c, f->name, 0, false);
        int rc = encode_field(c, f, msg, o);
        msg_path_pop(c, saved);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int pa_proto_encode(const struct pa_msg_desc *desc, const void *msg, struct pa_bytes *out,
                    struct ft_error *err)
{
    struct msg_path c;
    msg_path_init(&c, desc->name, err);
    out->data = NULL;
    out->len = 0;
    struct pb_out count = {NULL, 0, 0};
    if (encode_message(&c, desc, msg, &count) != 0)
        return -1;
    if (count.len == 0)
        return 0;
    struct pb_out o = {malloc(count.len), count.len, 0};
    if (o.buf == NULL)
        return msg_path_fail(&c, FT_E_NOMEM, "out of memory for %zu bytes", count.len);
    if (encode_message(&c, desc, msg, &o) != 0 || o.len != count.len) {
        free(o.buf);
        return o.len != count.len ? msg_path_fail(&c, FT_E_INVALID, "size changed while encoding")
                                  : -1;
    }
    out->data = o.buf;
    out->len = o.len;
    return 0;
}

/* ---- Decoder ---------------------------------------------------------------------------- */

struct pb_in {
    const uint8_t *data;
    size_t len;
    size_t pos;
    size_t base; /* offset of data[0] in the whole input, for error messages */
};

/* A minimal varint: at most 10 bytes, no trailing zero groups, nothing above 2^64-1. */
static int get_varint(struct msg_path *c, struct pb_in *in, uint64_t *v)
{
    size_t start = in->pos;
    *v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (in->pos >= in->len)
            return msg_path_fail(c, FT_E_TRUNCATED, "varint at byte %zu runs past the end",
                                 in->base + start);
        uint8_t b = in->data[in->pos++];
        if (shift == 63 && b > 1)
            return msg_path_fail(c, FT_E_RANGE, "varint at byte %zu exceeds 64 bits",
                                 in->base + start);
        *v |= (uint64_t)(b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
            if (b == 0 && in->pos - start > 1)
                return msg_path_fail(c, FT_E_INVALID, "varint at byte %zu is not minimal",
                                     in->base + start);
            return 0;
        }
    }
    return msg_path_fail(c, FT_E_INVALID, "varint at byte %zu is longer than 10 bytes",
                         in->base + start);
}

static int get_fixed(struct msg_path *c, struct pb_in *in, size_t size, uint64_t *v)
{
    if (in->len - in->pos < size)
        return msg_path_fail(c, FT_E_TRUNCATED, "%zu-byte value at byte %zu runs past the end",
                             size, in->base + in->pos);
    *v = 0;
    for (size_t i = 0; i < size; i++)
        *v |= (uint64_t)in->data[in->pos + i] << (8 * i);
    in->pos += size;
    return 0;
}

/* The payload of a length-delimited record: pointer into the input, and its length. */
static int get_len_delimited(struct msg_path *c, struct pb_in *in, const uint8_t **payload,
                             size_t *n)
{
    uint64_t len = 0;
    size_t at = in->pos;
    if (get_varint(c, in, &len) != 0)
        return -1;
    if (len > in->len - in->pos)
        return msg_path_fail(c, FT_E_TRUNCATED, "length %" PRIu64 " at byte %zu runs past the end",
                             len, in->base + at);
    *payload = in->data + in->pos;
    *n = (size_t)len;
    in->pos += (size_t)len;
    return 0;
}

static int decode_message(struct msg_path *c, const struct pa_msg_desc *desc, struct pb_in *in,
                          void *msg);

static int decode_string(struct msg_path *c, const struct pa_field_desc *f, const uint8_t *p,
                         size_t n, char *slot)
{
    if (n > f->cap)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu characters, limit %zu", n, f->cap);
    if (memchr(p, '\0', n) != NULL)
        return msg_path_fail(c, FT_E_INVALID, "contains a NUL character");
    if (!pa_utf8_valid((const char *)p, n))
        return msg_path_fail(c, FT_E_INVALID, "not valid UTF-8");
    memcpy(slot, p, n);
    slot[n] = '\0';
    return 0;
}

static int decode_bytes(struct msg_path *c, const struct pa_field_desc *f, const uint8_t *p,
                        size_t n, void *slot)
{
    if (n > f->cap)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu bytes, limit %zu", n, f->cap);
    if (f->kind == PA_FIELD_BYTES) {
        struct pa_small_bytes *b = slot;
        memcpy(b->data, p, n);
        b->len = n;
        return 0;
    }
    struct pa_bytes *b = slot;
    if (n == 0)
        return 0;
    b->data = malloc(n);
    if (b->data == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory for %zu bytes", n);
    memcpy(b->data, p, n);
    b->len = n;
    return 0;
}

static int decode_length_field(struct msg_path *c, const struct pa_field_desc *f, struct pb_in *in,
                               void *slot)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    size_t at = in->base + in->pos;
    if (get_len_delimited(c, in, &p, &n) != 0)
        return -1;
    /* proto.Marshal omits an empty singular string/bytes, but writes list elements. */
    if (n == 0 && f->max_count == 0 && f->kind != PA_FIELD_MESSAGE)
        return msg_path_fail(c, FT_E_INVALID, "empty value written at byte %zu (a default)", at);
    if (f->kind == PA_FIELD_STRING)
        return decode_string(c, f, p, n, slot);
    if (f->kind != PA_FIELD_MESSAGE)
        return decode_bytes(c, f, p, n, slot);
    struct pb_in sub = {p, n, 0, in->base + (size_t)(p - in->data)};
    return decode_message(c, f->msg_desc, &sub, slot);
}

/* Value of a varint field; `raw` is what was on the wire, checked for the canonical form. */
static int store_varint(struct msg_path *c, const struct pa_field_desc *f, uint64_t raw, void *slot)
{
    int32_t e = (int32_t)(uint32_t)raw;
    switch (f->kind) {
    case PA_FIELD_BOOL:
        if (raw != 1)
            return msg_path_fail(c, FT_E_INVALID, "bool written as %" PRIu64, raw);
        *(bool *)slot = true;
        return 0;
    case PA_FIELD_UINT32:
        if (raw > UINT32_MAX)
            return msg_path_fail(c, FT_E_RANGE, "%" PRIu64 " exceeds 32 bits", raw);
        *(uint32_t *)slot = (uint32_t)raw;
        return 0;
    case PA_FIELD_ENUM:
        if ((uint64_t)(int64_t)e != raw)
            return msg_path_fail(c, FT_E_RANGE, "%" PRIu64 " is not a sign-extended int32", raw);
        *(int32_t *)slot = e;
        return 0;
    default:
        *(uint64_t *)slot = raw;
        return 0;
    }
}

static int decode_scalar(struct msg_path *c, const struct pa_field_desc *f, struct pb_in *in,
                         void *slot)
{
    uint64_t raw = 0;
    size_t at = in->base + in->pos;
    enum wire_type wt = wire_type_of(f->kind);
    int rc = wt == WIRE_VARINT ? get_varint(c, in, &raw)
                               : get_fixed(c, in, wt == WIRE_I32 ? 4 : 8, &raw);
    if (rc != 0)
        return -1;
    if (raw == 0) /* proto.Marshal never writes a proto3 scalar's default */
        return msg_path_fail(c, FT_E_INVALID, "default value 0 written at byte %zu", at);
    if (wt == WIRE_I32) {
        *(uint32_t *)slot = (uint32_t)raw;
        return 0;
    }
    return store_varint(c, f, raw, slot);
}

/* The slot for the next occurrence of `f`: a new list element, or the singular value. */
static void *next_slot(struct msg_path *c, const struct pa_field_desc *f, void *msg)
{
    if (f->max_count == 0)
        return pa_field_ptr(f, msg, 0);
    size_t *count = (size_t *)(void *)((char *)msg + f->count_offset);
    if (*count >= f->max_count) {
        msg_path_fail(c, FT_E_CAPACITY, "more than %zu elements", f->max_count);
        return NULL;
    }
    return pa_field_ptr(f, msg, (*count)++);
}

static int decode_field(struct msg_path *c, const struct pa_field_desc *f, struct pb_in *in,
                        void *msg)
{
    if (f->presence == PA_PRESENCE_ONEOF &&
        *(const uint32_t *)(const void *)((const char *)msg + f->presence_offset) != 0)
        return msg_path_fail(c, FT_E_INVALID, "oneof %s: a second member is set", f->oneof);
    void *slot = next_slot(c, f, msg);
    if (slot == NULL)
        return -1;
    int rc = wire_type_of(f->kind) == WIRE_LEN ? decode_length_field(c, f, in, slot)
                                               : decode_scalar(c, f, in, slot);
    if (rc == 0 && f->kind == PA_FIELD_MESSAGE && f->max_count == 0)
        pa_field_set_present(f, msg);
    return rc;
}

static const struct pa_field_desc *field_by_number(const struct pa_msg_desc *desc, uint64_t number)
{
    for (size_t i = 0; i < desc->field_count; i++) {
        if (desc->fields[i].number == number)
            return &desc->fields[i];
    }
    return NULL;
}

/* Reads one tag and finds its field; enforces number order (proto.Marshal's). */
static const struct pa_field_desc *next_field(struct msg_path *c, const struct pa_msg_desc *desc,
                                              struct pb_in *in, uint32_t *last)
{
    uint64_t tag = 0;
    size_t at = in->base + in->pos;
    if (get_varint(c, in, &tag) != 0)
        return NULL;
    uint64_t number = tag >> 3;
    unsigned wt = (unsigned)(tag & 7);
    const struct pa_field_desc *f = field_by_number(desc, number);
    if (f == NULL) {
        msg_path_fail(c, FT_E_INVALID,
                      "unknown field number %" PRIu64 " (wire type %u) at byte %zu", number, wt,
                      at);
        return NULL;
    }
    if (wt != (unsigned)wire_type_of(f->kind)) {
        msg_path_fail(c, FT_E_INVALID, "field %s has wire type %u at byte %zu, expected %u",
                      f->name, wt, at, (unsigned)wire_type_of(f->kind));
        return NULL;
    }
    if (f->number < *last || (f->number == *last && f->max_count == 0)) {
        msg_path_fail(c, FT_E_INVALID, "field %s (%" PRIu32 ") at byte %zu %s", f->name, f->number,
                      at, f->number == *last ? "appears twice" : "is out of field-number order");
        return NULL;
    }
    *last = f->number;
    return f;
}

static int decode_message(struct msg_path *c, const struct pa_msg_desc *desc, struct pb_in *in,
                          void *msg)
{
    uint32_t last = 0;
    while (in->pos < in->len) {
        const struct pa_field_desc *f = next_field(c, desc, in, &last);
        if (f == NULL)
            return -1;
        size_t index = f->max_count ? pa_field_count(f, msg) : 0;
        size_t saved = msg_path_push(c, f->name, index, f->max_count > 0);
        int rc = decode_field(c, f, in, msg);
        msg_path_pop(c, saved);
        if (rc != 0)
            return -1;
    }
    char why[192];
    if (pa_oneof_check(desc, msg, why, sizeof(why)) != 0)
        return msg_path_fail(c, FT_E_INVALID, "%s", why);
    return 0;
}

int pa_proto_decode(const struct pa_msg_desc *desc, const uint8_t *data, size_t len, void *out,
                    struct ft_error *err)
{
    memset(out, 0, desc->size);
    struct msg_path c;
    msg_path_init(&c, desc->name, err);
    if (data == NULL && len > 0)
        return msg_path_fail(&c, FT_E_INVALID, "no data");
    struct pb_in in = {data, len, 0, 0};
    if (decode_message(&c, desc, &in, out) != 0) {
        pa_msg_free(desc, out);
        memset(out, 0, desc->size);
        return -1;
    }
    return 0;
}

int pa_device_data_to_proto(const struct pa_device_data *msg, struct pa_bytes *out,
                            struct ft_error *err)
{
    return pa_proto_encode(&pa_device_data_desc, msg, out, err);
}

int pa_device_data_from_proto(const uint8_t *data, size_t len, struct pa_device_data *out,
                              struct ft_error *err)
{
    return pa_proto_decode(&pa_device_data_desc, data, len, out, err);
}

int pa_registry_record_to_proto(const struct pa_registry_record *msg, struct pa_bytes *out,
                                struct ft_error *err)
{
    return pa_proto_encode(&pa_registry_record_desc, msg, out, err);
}

int pa_registry_record_from_proto(const uint8_t *data, size_t len, struct pa_registry_record *out,
                                  struct ft_error *err)
{
    return pa_proto_decode(&pa_registry_record_desc, data, len, out, err);
}

/* ---- Device IDs ------------------------------------------------------------------------- */

int pa_device_id_to_hex_string(const struct pa_device_id *id,
                               char out[PA_DEVICE_ID_HEX_STRING_LEN + 1], struct ft_error *err)
{
    if (!id->has_hardware_origin)
        return ft_fail(err, FT_E_INVALID, "device ID: no hardware_origin");
    size_t n = id->sku_specific.len;
    if (n > PA_SKU_SPECIFIC_MAX)
        return ft_fail(err, FT_E_CAPACITY, "device ID: sku_specific of %zu bytes, limit %u", n,
                       PA_SKU_SPECIFIC_MAX);
    /* Go's "%032x" on a byte slice: the bytes in order, zero-padded on the left. */
    size_t pad = 2 * (PA_SKU_SPECIFIC_MAX - n);
    memcpy(out, "0x", 2);
    memset(out + 2, '0', pad);
    if (hex_encode(id->sku_specific.data, n, out + 2 + pad, 2 * n + 1, err) != 0)
        return -1;
    const struct pa_hardware_origin *ho = &id->hardware_origin;
    snprintf(out + 34, PA_DEVICE_ID_HEX_STRING_LEN + 1 - 34, "%08x%016" PRIx64 "%04x%04x", 0u,
             ho->device_identification_number, (unsigned)(uint16_t)ho->product_id,
             (unsigned)(uint16_t)ho->silicon_creator_id);
    return 0;
}

static bool known_silicon_creator(int32_t v)
{
    return v == PA_SILICON_CREATOR_ID_OPENSOURCE || v == PA_SILICON_CREATOR_ID_NUVOTON ||
           v == PA_SILICON_CREATOR_ID_FPGA;
}

static bool known_product(int32_t v)
{
    return v == PA_PRODUCT_ID_EARLGREY_Z1 || v == PA_PRODUCT_ID_EARLGREY_A1 ||
           v == PA_PRODUCT_ID_EARLGREY_A2 || v == PA_PRODUCT_ID_FPGA;
}

int pa_device_id_validate(const struct pa_device_id *id, struct ft_error *err)
{
    if (!id->has_hardware_origin)
        return ft_fail(err, FT_E_INVALID, "device ID: no hardware_origin");
    if (!known_silicon_creator(id->hardware_origin.silicon_creator_id))
        return ft_fail(err, FT_E_INVALID, "device ID: invalid silicon_creator_id %" PRId32,
                       id->hardware_origin.silicon_creator_id);
    if (!known_product(id->hardware_origin.product_id))
        return ft_fail(err, FT_E_INVALID, "device ID: invalid product_id %" PRId32,
                       id->hardware_origin.product_id);
    if (id->sku_specific.len != 0 && id->sku_specific.len != PA_SKU_SPECIFIC_MAX)
        return ft_fail(err, FT_E_INVALID, "device ID: sku_specific of %zu bytes (0 or %u)",
                       id->sku_specific.len, PA_SKU_SPECIFIC_MAX);
    return 0;
}

static void put_le(uint8_t *p, uint64_t v, size_t size)
{
    for (size_t i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int pa_device_id_to_raw(const struct pa_device_id *id, uint8_t out[PA_DEVICE_ID_RAW_SIZE],
                        struct ft_error *err)
{
    if (pa_device_id_validate(id, err) != 0)
        return -1;
    const struct pa_hardware_origin *ho = &id->hardware_origin;
    memset(out, 0, PA_DEVICE_ID_RAW_SIZE);
    put_le(out, (uint16_t)ho->silicon_creator_id, 2);
    put_le(out + 2, (uint16_t)ho->product_id, 2);
    put_le(out + 4, ho->device_identification_number, 8);
    put_le(out + 12, ho->cp_reserved, 4);
    memcpy(out + 16, id->sku_specific.data, id->sku_specific.len);
    return 0;
}

int pa_device_id_from_raw(const uint8_t raw[PA_DEVICE_ID_RAW_SIZE], struct pa_device_id *out,
                          struct ft_error *err)
{
    memset(out, 0, sizeof(*out));
    out->has_hardware_origin = true;
    out->hardware_origin.silicon_creator_id = (int32_t)get_le(raw, 2);
    out->hardware_origin.product_id = (int32_t)get_le(raw + 2, 2);
    out->hardware_origin.device_identification_number = get_le(raw + 4, 8);
    out->hardware_origin.cp_reserved = (uint32_t)get_le(raw + 12, 4);
    memcpy(out->sku_specific.data, raw + 16, PA_SKU_SPECIFIC_MAX);
    out->sku_specific.len = PA_SKU_SPECIFIC_MAX;
    if (pa_device_id_validate(out, err) != 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

int pa_device_id_to_raw_hex(const struct pa_device_id *id, char out[PA_DEVICE_ID_RAW_HEX_LEN + 1],
                            struct ft_error *err)
{
    uint8_t raw[PA_DEVICE_ID_RAW_SIZE], reversed[PA_DEVICE_ID_RAW_SIZE];
    if (pa_device_id_to_raw(id, raw, err) != 0)
        return -1;
    for (size_t i = 0; i < PA_DEVICE_ID_RAW_SIZE; i++)
        reversed[i] = raw[PA_DEVICE_ID_RAW_SIZE - 1 - i];
    return hex_encode(reversed, sizeof(reversed), out, PA_DEVICE_ID_RAW_HEX_LEN + 1, err);
}
