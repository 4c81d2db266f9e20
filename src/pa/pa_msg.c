#include "pa/pa_msg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "pa/json_scalar.h"
#include "pa/msg_path.h"

/* ---- Enums: the descriptors protoc-c generated from proto/ ------------------------------ */

const struct pa_enum_desc pa_token_seed_enum = {&pa__token_seed__descriptor};
const struct pa_enum_desc pa_token_type_enum = {&pa__token_type__descriptor};
const struct pa_enum_desc pa_token_size_enum = {&pa__token_size__descriptor};
const struct pa_enum_desc pa_hash_type_enum = {&crypto__common__hash_type__descriptor};
const struct pa_enum_desc pa_elliptic_curve_type_enum = {
    &crypto__common__elliptic_curve_type__descriptor};
const struct pa_enum_desc pa_ec_point_format_enum = {&crypto__common__ec_point_format__descriptor};
const struct pa_enum_desc pa_ecdsa_signature_encoding_enum = {
    &crypto__ecdsa__ecdsa_signature_encoding__descriptor};
const struct pa_enum_desc pa_mldsa_parameter_sets_enum = {
    &crypto__mldsa__mldsa_parameter_sets__descriptor};
const struct pa_enum_desc pa_silicon_creator_id_enum = {&ot__silicon_creator_id__descriptor};
const struct pa_enum_desc pa_product_id_enum = {&ot__product_id__descriptor};
const struct pa_enum_desc pa_device_registration_state_enum = {
    &ot__device_registration_state__descriptor};
const struct pa_enum_desc pa_device_life_cycle_enum = {&ot__device_life_cycle__descriptor};

const char *pa_enum_name(const struct pa_enum_desc *e, int32_t number)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(e->generated, number);
    return v != NULL ? v->name : NULL;
}

static const struct pa_enum_desc *const all_enums[] = {
    &pa_token_seed_enum,
    &pa_token_type_enum,
    &pa_token_size_enum,
    &pa_hash_type_enum,
    &pa_elliptic_curve_type_enum,
    &pa_ec_point_format_enum,
    &pa_ecdsa_signature_encoding_enum,
    &pa_mldsa_parameter_sets_enum,
    &pa_silicon_creator_id_enum,
    &pa_product_id_enum,
    &pa_device_registration_state_enum,
    &pa_device_life_cycle_enum,
};

const struct pa_enum_desc *const *pa_enum_desc_list(size_t *count)
{
    *count = sizeof(all_enums) / sizeof(all_enums[0]);
    return all_enums;
}

const struct pa_msg_desc *pa_msg_desc_find(const char *name)
{
    size_t n = 0;
    const struct pa_msg_desc *const *all = pa_msg_desc_list(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    }
    return NULL;
}

/* ---- RPCs ------------------------------------------------------------------------------- */

static bool same_text(const char *want, const char *got, size_t len)
{
    return strlen(want) == len && memcmp(want, got, len) == 0;
}

const struct pa_rpc_desc *pa_rpc_find(const char *name, size_t len)
{
    size_t n = 0;
    const struct pa_rpc_desc *rpcs = pa_rpc_list(&n);
    for (size_t i = 0; i < n; i++) {
        if (same_text(rpcs[i].name, name, len) || same_text(rpcs[i].path, name, len))
            return &rpcs[i];
    }
    return NULL;
}

/* ---- Field access ----------------------------------------------------------------------- */

static bool field_present(const struct pa_field_desc *f, const void *msg)
{
    const char *at = (const char *)msg + f->presence_offset;
    switch (f->presence) {
    case PA_PRESENCE_FLAG:
        return *(const bool *)(const void *)at;
    case PA_PRESENCE_ONEOF:
        return *(const uint32_t *)(const void *)at == f->number;
    case PA_PRESENCE_NONE:
        break;
    }
    return true;
}

void pa_field_set_present(const struct pa_field_desc *f, void *msg)
{
    char *at = (char *)msg + f->presence_offset;
    if (f->presence == PA_PRESENCE_FLAG)
        *(bool *)(void *)at = true;
    else if (f->presence == PA_PRESENCE_ONEOF)
        *(uint32_t *)(void *)at = f->number;
}

/* Proto3 singular scalars have no presence: a field is "set" when it is not the default,
 * and only then is it written (protojson without EmitUnpopulated, proto.Marshal). */
static bool scalar_is_set(const struct pa_field_desc *f, const void *slot)
{
    switch (f->kind) {
    case PA_FIELD_STRING:
        return ((const char *)slot)[0] != '\0';
    case PA_FIELD_BYTES:
        return ((const struct pa_small_bytes *)slot)->len != 0;
    case PA_FIELD_HEAP_BYTES:
        return ((const struct pa_bytes *)slot)->len != 0;
    case PA_FIELD_BOOL:
        return *(const bool *)slot;
    case PA_FIELD_UINT32:
    case PA_FIELD_FIXED32:
        return *(const uint32_t *)slot != 0;
    case PA_FIELD_UINT64:
    case PA_FIELD_FIXED64:
        return *(const uint64_t *)slot != 0;
    case PA_FIELD_ENUM:
        return *(const int32_t *)slot != 0;
    case PA_FIELD_MESSAGE:
        break;
    }
    return true;
}

static bool field_is_set(const struct pa_field_desc *f, const void *msg)
{
    if (f->kind == PA_FIELD_MESSAGE)
        return field_present(f, msg);
    return scalar_is_set(f, pa_field_cptr(f, msg, 0));
}

/* The first field of `desc` in oneof `group` (each group is checked once, from there). */
static bool first_of_group(const struct pa_msg_desc *desc, size_t index)
{
    for (size_t i = 0; i < index; i++) {
        const char *g = desc->fields[i].oneof;
        if (g != NULL && strcmp(g, desc->fields[index].oneof) == 0)
            return false;
    }
    return true;
}

/* Lists the member names of the oneof holding field `index` into `out`. */
static void list_group(const struct pa_msg_desc *desc, size_t index, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = index; i < desc->field_count; i++) {
        const char *g = desc->fields[i].oneof;
        if (g == NULL || strcmp(g, desc->fields[index].oneof) != 0)
            continue;
        int n = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", desc->fields[i].name);
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
    }
}

static int oneof_check(const struct pa_msg_desc *desc, const void *msg, char *why, size_t cap)
{
    for (size_t i = 0; i < desc->field_count; i++) {
        const struct pa_field_desc *f = &desc->fields[i];
        if (f->oneof == NULL || !first_of_group(desc, i))
            continue;
        uint32_t which = *(const uint32_t *)(const void *)((const char *)msg + f->presence_offset);
        bool member = false;
        for (size_t j = i; j < desc->field_count; j++) {
            const char *g = desc->fields[j].oneof;
            if (g != NULL && strcmp(g, f->oneof) == 0 && desc->fields[j].number == which)
                member = true;
        }
        if (member)
            continue;
        char names[128];
        list_group(desc, i, names, sizeof(names));
        if (which == 0)
            snprintf(why, cap, "oneof %s: none of %s is set (exactly one is required)", f->oneof,
                     names);
        else
            snprintf(why, cap, "oneof %s: case %" PRIu32 " is none of %s", f->oneof, which, names);
        return -1;
    }
    return 0;
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at `s` (at most `n` bytes), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || c > 0xF4 || len > n)
        return 0;
    uint32_t cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

bool pa_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq_len(p + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

static int decode_bytes(struct msg_path *c, const struct pa_field_desc *f, const json_t *v,
                        void *slot)
{
    if (f->kind == PA_FIELD_HEAP_BYTES) {
        struct pa_bytes *b = slot;
        return pa_json_get_base64(c, v, f->cap, &b->data, &b->len);
    }
    size_t decoded = 0;
    if (pa_json_base64_length(c, v, f->cap, &decoded) != 0)
        return -1;
    struct pa_small_bytes *b = slot;
    if (pa_base64_into(c, json_string_value(v), json_string_length(v), b->data, decoded) != 0)
        return -1;
    b->len = decoded;
    return 0;
}

/* ---- JSON decoding ---------------------------------------------------------------------- */

static int decode_object(struct msg_path *c, const struct pa_msg_desc *desc, const json_t *obj,
                         void *msg);

static int decode_string(struct msg_path *c, const struct pa_field_desc *f, const json_t *v,
                         char *slot)
{
    size_t n = 0;
    if (pa_json_get_string(c, v, f->cap, &n) != 0)
        return -1;
    memcpy(slot, json_string_value(v), n);
    slot[n] = '\0';
    return 0;
}

static int decode_value(struct msg_path *c, const struct pa_field_desc *f, const json_t *v,
                        void *slot)
{
    uint64_t u = 0;
    switch (f->kind) {
    case PA_FIELD_STRING:
        return decode_string(c, f, v, slot);
    case PA_FIELD_BYTES:
    case PA_FIELD_HEAP_BYTES:
        return decode_bytes(c, f, v, slot);
    case PA_FIELD_BOOL:
        if (!json_is_boolean(v))
            return pa_json_type_error(c, "true or false", v);
        *(bool *)slot = json_is_true(v);
        return 0;
    case PA_FIELD_UINT32:
    case PA_FIELD_FIXED32:
        if (pa_json_get_unsigned(c, v, UINT32_MAX, &u) != 0)
            return -1;
        *(uint32_t *)slot = (uint32_t)u;
        return 0;
    case PA_FIELD_UINT64:
    case PA_FIELD_FIXED64:
        return pa_json_get_unsigned(c, v, UINT64_MAX, (uint64_t *)slot);
    case PA_FIELD_ENUM:
        return pa_json_get_enum(c, f->enum_desc->generated, v, slot);
    case PA_FIELD_MESSAGE:
        return decode_object(c, f->msg_desc, v, slot);
    }
    return msg_path_fail(c, FT_E_INVALID, "unsupported field kind %d", (int)f->kind);
}

static int decode_repeated(struct msg_path *c, const struct pa_field_desc *f, const json_t *v,
                           void *msg)
{
    if (!json_is_array(v))
        return pa_json_type_error(c, "an array", v);
    size_t n = json_array_size(v);
    if (n > f->max_count)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu elements, limit %zu", n, f->max_count);
    /* Count first: elements are zeroed, so a failure part-way frees cleanly. */
    *(size_t *)(void *)((char *)msg + f->count_offset) = n;
    for (size_t i = 0; i < n; i++) {
        size_t saved = msg_path_push(c, "", i, true);
        const json_t *elem = json_array_get(v, i);
        int rc = json_is_null(elem) ? msg_path_fail(c, FT_E_INVALID, "null in a list")
                                    : decode_value(c, f, elem, pa_field_ptr(f, msg, i));
        msg_path_pop(c, saved);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static const struct pa_field_desc *find_field(const struct pa_msg_desc *desc, const char *key,
                                              size_t *index)
{
    for (size_t i = 0; i < desc->field_count; i++) {
        if (pa_json_key_names(key, desc->fields[i].name)) {
            *index = i;
            return &desc->fields[i];
        }
    }
    return NULL;
}

/* A second member of the same oneof (protojson: "oneof ... is already set"). */
static int check_oneof_clash(struct msg_path *c, const struct pa_msg_desc *desc, size_t index,
                             uint32_t set_mask)
{
    const char *group = desc->fields[index].oneof;
    for (size_t i = 0; i < desc->field_count; i++) {
        const char *g = desc->fields[i].oneof;
        if (i != index && g != NULL && strcmp(g, group) == 0 && (set_mask & (1u << i)))
            return msg_path_fail(c, FT_E_INVALID, "oneof %s: %s and %s are both set", group,
                                 desc->fields[i].name, desc->fields[index].name);
    }
    return 0;
}

static int decode_member(struct msg_path *c, const struct pa_msg_desc *desc, size_t index,
                         const json_t *value, void *msg)
{
    const struct pa_field_desc *f = &desc->fields[index];
    size_t saved = msg_path_push(c, f->name, 0, false);
    int rc = f->max_count ? decode_repeated(c, f, value, msg)
                          : decode_value(c, f, value, pa_field_ptr(f, msg, 0));
    msg_path_pop(c, saved);
    if (rc == 0 && f->kind == PA_FIELD_MESSAGE && f->max_count == 0)
        pa_field_set_present(f, msg);
    return rc;
}

static int decode_object(struct msg_path *c, const struct pa_msg_desc *desc, const json_t *obj,
                         void *msg)
{
    if (!json_is_object(obj))
        return pa_json_type_error(c, "an object", obj);
    if (desc->field_count > 32)
        return msg_path_fail(c, FT_E_INVALID, "message table too large");
    uint32_t seen = 0, set = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t i;
        char shown[64];
        if (find_field(desc, key, &i) == NULL) {
            pa_quote_untrusted(key, shown);
            return msg_path_fail(c, FT_E_INVALID, "unknown field \"%s\"", shown);
        }
        if (seen & (1u << i)) {
            pa_quote_untrusted(key, shown);
            return msg_path_fail(c, FT_E_INVALID, "duplicate field \"%s\" (%s)", shown,
                                 desc->fields[i].name);
        }
        seen |= 1u << i;
        if (json_is_null(value))
            continue; /* proto3 JSON: null is the default value */
        if (desc->fields[i].oneof != NULL && check_oneof_clash(c, desc, i, set) != 0)
            return -1;
        set |= 1u << i;
        if (decode_member(c, desc, i, value, msg) != 0)
            return -1;
    }
    char why[192];
    if (oneof_check(desc, msg, why, sizeof(why)) != 0)
        return msg_path_fail(c, FT_E_INVALID, "%s", why);
    return 0;
}

int pa_msg_from_json_value(const struct pa_msg_desc *desc, const json_t *value, void *out,
                           struct ft_error *err)
{
    memset(out, 0, desc->size);
    struct msg_path c;
    msg_path_init(&c, desc->name, err);
    if (value == NULL)
        return msg_path_fail(&c, FT_E_INVALID, "no JSON value");
    if (!json_is_object(value))
        return msg_path_fail(&c, FT_E_INVALID, "not a JSON object (%s)", pa_json_type_name(value));
    if (decode_object(&c, desc, value, out) != 0) {
        pa_msg_free(desc, out);
        memset(out, 0, desc->size);
        return -1;
    }
    return 0;
}

int pa_msg_from_json(const struct pa_msg_desc *desc, const char *text, size_t len, void *out,
                     struct ft_error *err)
{
    memset(out, 0, desc->size);
    if (len > PA_JSON_TEXT_MAX)
        return ft_fail(err, FT_E_CAPACITY, "%s: %zu bytes of JSON, limit %u", desc->name, len,
                       PA_JSON_TEXT_MAX);
    if (text == NULL && len > 0)
        return ft_fail(err, FT_E_INVALID, "%s: no text", desc->name);
    /* An empty body is the empty message, as transcoders treat it; it still has to pass
     * the message's rules (a oneof that needs a member). */
    json_error_t jerr;
    json_t *root = len == 0 ? json_object() : json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL && len == 0)
        return ft_fail(err, FT_E_NOMEM, "%s: out of memory", desc->name);
    if (root == NULL)
        return ft_fail(err, FT_E_INVALID, "%s: JSON syntax: %s (line %d, column %d)", desc->name,
                       jerr.text, jerr.line, jerr.column);
    int rc = pa_msg_from_json_value(desc, root, out, err);
    json_decref(root);
    return rc;
}

/* ---- JSON encoding ---------------------------------------------------------------------- */

static int encode_object(struct msg_path *c, const struct pa_msg_desc *desc, const void *msg,
                         json_t **out);

/* A string from the struct: NUL-terminated within the field, UTF-8. */
static int encode_string(struct msg_path *c, const struct pa_field_desc *f, const char *s,
                         json_t **out)
{
    size_t n = strnlen(s, f->cap + 1);
    if (n > f->cap)
        return msg_path_fail(c, FT_E_CAPACITY, "not NUL-terminated within %zu characters", f->cap);
    if (!pa_utf8_valid(s, n))
        return msg_path_fail(c, FT_E_INVALID, "not valid UTF-8");
    *out = json_stringn(s, n);
    return *out ? 0 : msg_path_fail(c, FT_E_NOMEM, "out of memory");
}

static int encode_bytes(struct msg_path *c, const struct pa_field_desc *f, const void *slot,
                        json_t **out)
{
    const uint8_t *data;
    size_t len;
    if (f->kind == PA_FIELD_BYTES) {
        const struct pa_small_bytes *b = slot;
        data = b->data;
        len = b->len;
        if (f->cap > PA_SMALL_BYTES_CAP)
            return msg_path_fail(c, FT_E_INVALID, "table: inline limit above capacity");
    } else {
        const struct pa_bytes *b = slot;
        data = b->data;
        len = b->len;
        if (len > 0 && data == NULL)
            return msg_path_fail(c, FT_E_INVALID, "length %zu with no data", len);
    }
    if (len > f->cap)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu bytes, limit %zu", len, f->cap);
    return pa_json_base64(c, data, len, out);
}

static int encode_value(struct msg_path *c, const struct pa_field_desc *f, const void *slot,
                        json_t **out)
{
    char text[24];
    const char *name;
    switch (f->kind) {
    case PA_FIELD_STRING:
        return encode_string(c, f, slot, out);
    case PA_FIELD_BYTES:
    case PA_FIELD_HEAP_BYTES:
        return encode_bytes(c, f, slot, out);
    case PA_FIELD_BOOL:
        *out = json_boolean(*(const bool *)slot);
        break;
    case PA_FIELD_UINT32:
    case PA_FIELD_FIXED32:
        *out = json_integer((json_int_t) * (const uint32_t *)slot);
        break;
    case PA_FIELD_UINT64:
    case PA_FIELD_FIXED64:
        /* A string: JSON numbers lose precision above 2^53 in most readers. */
        snprintf(text, sizeof(text), "%" PRIu64, *(const uint64_t *)slot);
        *out = json_string(text);
        break;
    case PA_FIELD_ENUM:
        name = pa_enum_name(f->enum_desc, *(const int32_t *)slot);
        *out = name ? json_string(name) : json_integer(*(const int32_t *)slot);
        break;
    case PA_FIELD_MESSAGE:
        return encode_object(c, f->msg_desc, slot, out);
    }
    return *out ? 0 : msg_path_fail(c, FT_E_NOMEM, "out of memory");
}

static int encode_repeated(struct msg_path *c, const struct pa_field_desc *f, const void *msg,
                           json_t **out)
{
    size_t n = pa_field_count(f, msg);
    if (n > f->max_count)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu elements, limit %zu", n, f->max_count);
    if (n == 0)
        return 0; /* empty lists are omitted */
    json_t *array = json_array();
    if (array == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *elem = NULL;
        size_t saved = msg_path_push(c, "", i, true);
        int rc = encode_value(c, f, pa_field_cptr(f, msg, i), &elem);
        msg_path_pop(c, saved);
        if (rc != 0 || json_array_append_new(array, elem) != 0) {
            json_decref(array);
            return rc != 0 ? -1 : msg_path_fail(c, FT_E_NOMEM, "out of memory");
        }
    }
    *out = array;
    return 0;
}

static int encode_field(struct msg_path *c, const struct pa_field_desc *f, const void *msg,
                        json_t **out)
{
    *out = NULL;
    if (f->max_count > 0)
        return encode_repeated(c, f, msg, out);
    if (!field_is_set(f, msg))
        return 0;
    return encode_value(c, f, pa_field_cptr(f, msg, 0), out);
}

static int encode_object(struct msg_path *c, const struct pa_msg_desc *desc, const void *msg,
                         json_t **out)
{
    char why[192];
    if (oneof_check(desc, msg, why, sizeof(why)) != 0)
        return msg_path_fail(c, FT_E_INVALID, "%s", why);
    json_t *obj = json_object();
    if (obj == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < desc->field_count; i++) {
        const struct pa_field_desc *f = &desc->fields[i];
        json_t *value;
        size_t saved = msg_path_push(c, f->name, 0, false);
        int rc = encode_field(c, f, msg, &value);
        msg_path_pop(c, saved);
        if (rc == 0 && value != NULL && json_object_set_new(obj, f->name, value) != 0)
            rc = msg_path_fail(c, FT_E_NOMEM, "out of memory");
        if (rc != 0) {
            json_decref(obj);
            return -1;
        }
    }
    *out = obj;
    return 0;
}

int pa_msg_to_json(const struct pa_msg_desc *desc, const void *msg, json_t **out,
                   struct ft_error *err)
{
    struct msg_path c;
    msg_path_init(&c, desc->name, err);
    *out = NULL;
    return encode_object(&c, desc, msg, out);
}

/* ---- Free and compare -------------------------------------------------------------------- */

static size_t element_count(const struct pa_field_desc *f, const void *msg)
{
    if (f->max_count == 0)
        return 1;
    size_t n = pa_field_count(f, msg);
    return n < f->max_count ? n : f->max_count;
}

void pa_msg_free(const struct pa_msg_desc *desc, void *msg)
{
    if (msg == NULL)
        return;
    for (size_t i = 0; i < desc->field_count; i++) {
        const struct pa_field_desc *f = &desc->fields[i];
        if (f->kind != PA_FIELD_HEAP_BYTES && f->kind != PA_FIELD_MESSAGE)
            continue;
        size_t n = element_count(f, msg);
        for (size_t k = 0; k < n; k++) {
            void *slot = pa_field_ptr(f, msg, k);
            if (f->kind == PA_FIELD_MESSAGE) {
                pa_msg_free(f->msg_desc, slot);
                continue;
            }
            struct pa_bytes *b = slot;
            free(b->data);
            b->data = NULL;
            b->len = 0;
        }
    }
}

static bool value_equal(const struct pa_field_desc *f, const void *a, const void *b)
{
    const struct pa_small_bytes *sa = a, *sb = b;
    const struct pa_bytes *ha = a, *hb = b;
    switch (f->kind) {
    case PA_FIELD_STRING:
        return strncmp(a, b, f->cap + 1) == 0;
    case PA_FIELD_BYTES:
        return sa->len == sb->len && sa->len <= PA_SMALL_BYTES_CAP &&
               memcmp(sa->data, sb->data, sa->len) == 0;
    case PA_FIELD_HEAP_BYTES:
        return ha->len == hb->len && (ha->len == 0 || memcmp(ha->data, hb->data, ha->len) == 0);
    case PA_FIELD_BOOL:
        return *(const bool *)a == *(const bool *)b;
    case PA_FIELD_UINT32:
    case PA_FIELD_FIXED32:
        return *(const uint32_t *)a == *(const uint32_t *)b;
    case PA_FIELD_UINT64:
    case PA_FIELD_FIXED64:
        return *(const uint64_t *)a == *(const uint64_t *)b;
    case PA_FIELD_ENUM:
        return *(const int32_t *)a == *(const int32_t *)b;
    case PA_FIELD_MESSAGE:
        return pa_msg_equal(f->msg_desc, a, b);
    }
    return false;
}

bool pa_msg_equal(const struct pa_msg_desc *desc, const void *a, const void *b)
{
    for (size_t i = 0; i < desc->field_count; i++) {
        const struct pa_field_desc *f = &desc->fields[i];
        if (f->max_count > 0 && pa_field_count(f, a) != pa_field_count(f, b))
            return false;
        if (f->max_count == 0 && f->kind == PA_FIELD_MESSAGE) {
            bool pa = field_present(f, a);
            if (pa != field_present(f, b))
                return false;
            if (!pa)
                continue;
        }
        size_t n = element_count(f, a);
        for (size_t k = 0; k < n; k++) {
            if (!value_equal(f, pa_field_cptr(f, a, k), pa_field_cptr(f, b, k)))
                return false;
        }
    }
    return true;
}

/* ---- google.rpc.Status ------------------------------------------------------------------- */

static const char *const grpc_code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *pa_status_code_name(int code)
{
    if (code < 0 || (size_t)code >= sizeof(grpc_code_names) / sizeof(grpc_code_names[0]))
        return NULL;
    return grpc_code_names[code];
}

int pa_status_http_status(int code)
{
    switch (code) {
    case PA_GRPC_OK:
        return 200;
    case PA_GRPC_INVALID_ARGUMENT:
    case PA_GRPC_FAILED_PRECONDITION:
    case PA_GRPC_OUT_OF_RANGE:
        return 400;
    case PA_GRPC_UNAUTHENTICATED:
        return 401;
    case PA_GRPC_PERMISSION_DENIED:
        return 403;
    case PA_GRPC_NOT_FOUND:
        return 404;
    case PA_GRPC_ALREADY_EXISTS:
    case PA_GRPC_ABORTED:
        return 409;
    case PA_GRPC_RESOURCE_EXHAUSTED:
        return 429;
    case PA_GRPC_CANCELLED:
        return 499;
    case PA_GRPC_UNIMPLEMENTED:
        return 501;
    case PA_GRPC_UNAVAILABLE:
        return 503;
    case PA_GRPC_DEADLINE_EXCEEDED:
        return 504;
    default: /* UNKNOWN, INTERNAL, DATA_LOSS and codes outside the table */
        return 500;
    }
}

/* Copy of `s` with every byte that is not part of well-formed UTF-8 replaced by '?'. */
static char *utf8_sanitized(const char *s)
{
    size_t n = strlen(s);
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (len == 0) {
            copy[i++] = '?';
            continue;
        }
        memcpy(copy + i, s + i, len);
        i += len;
    }
    copy[n] = '\0';
    return copy;
}

json_t *pa_status_to_json(int code, const char *message)
{
    char *text = utf8_sanitized(message ? message : "");
    if (text == NULL)
        return NULL;
    json_t *obj = json_pack("{s:i,s:s}", "code", code, "message", text);
    free(text);
    return obj;
}

/* Keeps as much of `s` as fits in `cap - 1` bytes without splitting a character. */
static void copy_utf8_prefix(char *dst, size_t cap, const char *s, size_t n, bool *truncated)
{
    size_t keep = 0;
    *truncated = n > cap - 1;
    while (keep < n) {
        size_t len = utf8_seq_len((const unsigned char *)s + keep, n - keep);
        if (len == 0 || keep + len > cap - 1)
            break;
        keep += len;
    }
    memcpy(dst, s, keep);
    dst[keep] = '\0';
}

static int status_member(struct msg_path *c, const char *key, const json_t *v,
                         struct pa_status *out)
{
    if (strcmp(key, "code") == 0)
        return pa_json_get_int32(c, v, true, &out->code);
    if (strcmp(key, "message") == 0) {
        if (!json_is_string(v))
            return pa_json_type_error(c, "a string", v);
        copy_utf8_prefix(out->message, sizeof(out->message), json_string_value(v),
                         json_string_length(v), &out->truncated);
        return 0;
    }
    if (!json_is_array(v))
        return pa_json_type_error(c, "an array", v);
    size_t i;
    json_t *elem;
    json_array_foreach(v, i, elem)
    {
        if (!json_is_object(elem))
            return msg_path_fail(c, FT_E_INVALID, "element %zu: expected an object", i);
    }
    return 0;
}

int pa_status_from_json(const char *text, size_t len, struct pa_status *out, struct ft_error *err)
{
    memset(out, 0, sizeof(*out));
    struct msg_path c;
    msg_path_init(&c, "google.rpc.Status", err);
    if (len > PA_JSON_TEXT_MAX || text == NULL)
        return msg_path_fail(&c, FT_E_CAPACITY, "no text, or more than %u bytes", PA_JSON_TEXT_MAX);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return msg_path_fail(&c, FT_E_INVALID, "JSON syntax: %s (line %d, column %d)", jerr.text,
                             jerr.line, jerr.column);
    int rc = 0;
    if (!json_is_object(root))
        rc = msg_path_fail(&c, FT_E_INVALID, "not a JSON object (%s)", pa_json_type_name(root));
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        if (rc != 0)
            break;
        char shown[64];
        if (strcmp(key, "code") != 0 && strcmp(key, "message") != 0 &&
            strcmp(key, "details") != 0) {
            pa_quote_untrusted(key, shown);
            rc = msg_path_fail(&c, FT_E_INVALID, "unknown field \"%s\"", shown);
            break;
        }
        if (json_is_null(value))
            continue;
        size_t saved = msg_path_push(&c, key, 0, false);
        rc = status_member(&c, key, value, out);
        msg_path_pop(&c, saved);
    }
    json_decref(root);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int pa_endorse_certs_request_add_tbs(struct pa_endorse_certs_request *msg, const char *label,
                                     const uint8_t *tbs, size_t len, struct ft_error *err)
{
    if (msg->bundles_count == PA_REPEATED_MAX)
        return ft_fail(err, FT_E_CAPACITY, "more than %u TBS certificates", PA_REPEATED_MAX);
    if (len > PA_TBS_MAX)
        return ft_fail(err, FT_E_CAPACITY, "TBS \"%s\" of %zu bytes (at most %u)", label, len,
                       PA_TBS_MAX);
    struct pa_endorse_cert_bundle *b = &msg->bundles[msg->bundles_count];
    *b = (struct pa_endorse_cert_bundle){.has_key_params = true};
    snprintf(b->key_params.key_label, sizeof(b->key_params.key_label), "%s", label);
    b->key_params.key_case = PA_SIGNING_KEY_ECDSA_PARAMS;
    b->key_params.ecdsa_params.hash_type = PA_HASH_TYPE_SHA256;
    b->key_params.ecdsa_params.curve = PA_ELLIPTIC_CURVE_TYPE_NIST_P256;
    b->key_params.ecdsa_params.encoding = PA_ECDSA_SIGNATURE_ENCODING_DER;
    if ((b->tbs.data = malloc(len > 0 ? len : 1)) == NULL)
        return ft_fail(err, FT_E_NOMEM, "out of memory");
    memcpy(b->tbs.data, tbs, len);
    b->tbs.len = len;
    msg->bundles_count++;
    return 0;
}
