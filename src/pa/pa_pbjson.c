#include "pa/pa_pbjson.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pa/json_scalar.h"
#include "pa/msg_path.h"
#include "pa/pa_limits.h"
#include "pa/pa_schema.h"

#define SLOT(type, msg, offset) ((type *)((char *)(msg) + (offset)))

/* ---- Names ------------------------------------------------------------------------------ */

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
                                                  const char *key)
{
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (pa_json_key_names(key, desc->fields[i].name))
            return &desc->fields[i];
    return NULL;
}

/* A second member of `f`'s oneof when one is set already (protojson: "oneof ... is already
 * set"), named in the message's error. */
static int oneof_clash(struct msg_path *c, const ProtobufCMessageDescriptor *desc,
                       const ProtobufCFieldDescriptor *f, const ProtobufCMessage *msg)
{
    if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return 0;
    uint32_t which = *(const uint32_t *)(const void *)((const char *)msg + f->quantifier_offset);
    if (which == 0)
        return 0;
    const char *set = "?", *oneof = pa_schema_oneof_name(desc);
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (desc->fields[i].quantifier_offset == f->quantifier_offset &&
            desc->fields[i].id == which)
            set = desc->fields[i].name;
    return msg_path_fail(c, FT_E_INVALID, "oneof %s: %s and %s are both set",
                         oneof != NULL ? oneof : "?", set, f->name);
}

/* ---- Limits ------------------------------------------------------------------------------
 * The PA schema's limits (pa_limits.h, docs/pa-api.md §7): each string and byte field's
 * from pa_limits.c, PA_REPEATED_MAX elements for every repeated field of a schema
 * message. A message outside the schema is not limited. pa_limits.c's rows are keyed by
 * names; they are looked up once, into one array per schema message indexed like its
 * descriptor's fields, not per field read or written. */

struct limits {
    size_t value; /* characters of a string, bytes of a byte field (each element's) */
    size_t count; /* elements of a repeated field */
};

static const ProtobufCMessageDescriptor *const *schema;
static size_t schema_count;
static size_t **schema_max; /* [message][field]: its limit, SIZE_MAX for none */
static pthread_once_t schema_max_found = PTHREAD_ONCE_INIT;

static void find_schema_max(void)
{
    const ProtobufCMessageDescriptor *const *all = pa_schema_messages(&schema_count);
    size_t fields = 0;
    for (size_t i = 0; i < schema_count; i++)
        fields += all[i]->n_fields;
    /* One block, kept for the life of the process. */
    size_t **rows = malloc(schema_count * sizeof(size_t *) + fields * sizeof(size_t) + 1);
    if (rows == NULL)
        return;
    size_t *next = (size_t *)(rows + schema_count);
    for (size_t i = 0; i < schema_count; i++) {
        rows[i] = next;
        for (unsigned f = 0; f < all[i]->n_fields; f++) {
            const struct pa_field_limit *l =
                pa_field_limit_find(all[i]->name, all[i]->fields[f].name);
            *next++ = l != NULL ? l->max : SIZE_MAX;
        }
    }
    schema_max = rows;
    schema = all;
}

/* Sets *max to `desc`'s limits by field index, NULL when `desc` is not a schema message.
 * Fails only when the table could not be made (out of memory). */
static int message_max(struct msg_path *c, const ProtobufCMessageDescriptor *desc,
                       const size_t **max)
{
    pthread_once(&schema_max_found, find_schema_max);
    *max = NULL;
    if (schema == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory for the schema's limits");
    for (size_t i = 0; i < schema_count; i++)
        if (schema[i] == desc)
            *max = schema_max[i];
    return 0;
}

static struct limits field_limits(const ProtobufCMessageDescriptor *desc, const size_t *max,
                                  const ProtobufCFieldDescriptor *f)
{
    struct limits lim = {SIZE_MAX, SIZE_MAX};
    if (max == NULL)
        return lim;
    lim.value = max[f - desc->fields];
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        lim.count = PA_REPEATED_MAX;
    return lim;
}

static int over_count(struct msg_path *c, size_t n, const struct limits *lim)
{
    return n > lim->count
               ? msg_path_fail(c, FT_E_CAPACITY, "%zu elements, limit %zu", n, lim->count)
               : 0;
}

/* ---- Reading ---------------------------------------------------------------------------- */

static int read_message(struct msg_path *c, const ProtobufCMessageDescriptor *desc,
                        const json_t *obj, unsigned depth, ProtobufCMessage **out);

static int read_signed(struct msg_path *c, const json_t *v, int64_t min, int64_t max, int64_t *out)
{
    bool negative = false;
    uint64_t mag = 0;
    if (pa_json_get_integer(c, v, true, &negative, &mag) != 0)
        return -1;
    if ((!negative && mag > (uint64_t)max) || (negative && mag > (uint64_t) - (min + 1) + 1))
        return msg_path_fail(c, FT_E_RANGE, "%s%" PRIu64 " is outside [%" PRId64 ", %" PRId64 "]",
                             negative ? "-" : "", mag, min, max);
    *out = negative ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

static int read_bytes(struct msg_path *c, const json_t *v, size_t max, ProtobufCBinaryData *out)
{
    return pa_json_get_base64(c, v, max, &out->data, &out->len);
}

/* One value of field `f` into `slot` (the member, or an element of its array). */
static int read_value(struct msg_path *c, const ProtobufCFieldDescriptor *f, const json_t *v,
                      unsigned depth, const struct limits *lim, void *slot)
{
    int64_t i = 0;
    uint64_t u = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (read_signed(c, v, INT32_MIN, INT32_MAX, &i) != 0)
            return -1;
        *(int32_t *)slot = (int32_t)i;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return read_signed(c, v, INT64_MIN, INT64_MAX, (int64_t *)slot);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (pa_json_get_unsigned(c, v, UINT32_MAX, &u) != 0)
            return -1;
        *(uint32_t *)slot = (uint32_t)u;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return pa_json_get_unsigned(c, v, UINT64_MAX, (uint64_t *)slot);
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(v))
            return pa_json_type_error(c, "a number", v);
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)slot = (float)json_number_value(v);
        else
            *(double *)slot = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return pa_json_type_error(c, "true or false", v);
        *(protobuf_c_boolean *)slot = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return pa_json_get_enum(c, f->descriptor, v, (int32_t *)slot);
    case PROTOBUF_C_TYPE_STRING: {
        size_t n = 0;
        if (pa_json_get_string(c, v, lim->value, &n) != 0)
            return -1;
        char *s = strdup(json_string_value(v));
        if (s == NULL)
            return msg_path_fail(c, FT_E_NOMEM, "out of memory");
        *(char **)slot = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return read_bytes(c, v, lim->value, slot);
    case PROTOBUF_C_TYPE_MESSAGE:
        return read_message(c, f->descriptor, v, depth + 1, slot);
    }
    return msg_path_fail(c, FT_E_INVALID, "field type %d unknown", (int)f->type);
}

static int read_repeated(struct msg_path *c, const ProtobufCFieldDescriptor *f, const json_t *v,
                         unsigned depth, const struct limits *lim, ProtobufCMessage *msg)
{
    if (!json_is_array(v))
        return pa_json_type_error(c, "an array", v);
    size_t n = json_array_size(v), size = pa_schema_element_size(f->type);
    if (n == 0)
        return 0;
    if (over_count(c, n, lim) != 0)
        return -1;
    char *elements = pa_schema_new_array(msg, f, n);
    if (elements == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory for %zu elements", n);
    size_t *count = SLOT(size_t, msg, f->quantifier_offset);
    for (size_t i = 0; i < n; i++) {
        size_t saved = msg_path_push(c, "", i, true);
        const json_t *element = json_array_get(v, i);
        if (json_is_null(element))
            return msg_path_fail(c, FT_E_INVALID, "null in a list");
        if (read_value(c, f, element, depth, lim, elements + i * size) != 0)
            return -1;
        msg_path_pop(c, saved);
        *count = i + 1;
    }
    return 0;
}

static int read_member(struct msg_path *c, const ProtobufCMessageDescriptor *desc,
                       const size_t *max, const ProtobufCFieldDescriptor *f, const json_t *v,
                       unsigned depth, ProtobufCMessage *msg)
{
    if (json_is_null(v))
        return 0; /* not set */
    struct limits lim = field_limits(desc, max, f);
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return read_repeated(c, f, v, depth, &lim, msg);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (read_value(c, f, v, depth, &lim, SLOT(void, msg, f->offset)) != 0)
            return -1;
        *SLOT(uint32_t, msg, f->quantifier_offset) = f->id;
        return 0;
    }
    if (read_value(c, f, v, depth, &lim, SLOT(void, msg, f->offset)) != 0)
        return -1;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0)
        *SLOT(protobuf_c_boolean, msg, f->quantifier_offset) = 1;
    return 0;
}

static int read_message(struct msg_path *c, const ProtobufCMessageDescriptor *desc,
                        const json_t *obj, unsigned depth, ProtobufCMessage **out)
{
    if (!json_is_object(obj))
        return pa_json_type_error(c, "an object", obj);
    if (depth > PA_PBJSON_DEPTH_MAX)
        return msg_path_fail(c, FT_E_RANGE, "messages nested deeper than %d", PA_PBJSON_DEPTH_MAX);
    const size_t *max = NULL;
    if (message_max(c, desc, &max) != 0)
        return -1;
    ProtobufCMessage *msg = calloc(1, desc->sizeof_message);
    if (msg == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory");
    protobuf_c_message_init(desc, msg);
    /* Which fields were named, under either name: the same one twice is a duplicate. */
    uint64_t seen[8] = {0};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        const ProtobufCFieldDescriptor *f = find_field(desc, key);
        char shown[64];
        pa_quote_untrusted(key, shown);
        size_t index = f != NULL ? (size_t)(f - desc->fields) : 0;
        int rc = 0;
        if (f == NULL) {
            rc = msg_path_fail(c, FT_E_INVALID, "unknown field \"%s\"", shown);
        } else if (index < 512 && (seen[index / 64] >> (index % 64) & 1u)) {
            rc = msg_path_fail(c, FT_E_INVALID, "duplicate field \"%s\" (%s)", shown, f->name);
        } else {
            if (index < 512)
                seen[index / 64] |= 1ull << (index % 64);
            rc = json_is_null(v) ? 0 : oneof_clash(c, desc, f, msg);
            size_t saved = msg_path_push(c, f->name, 0, false);
            rc = rc != 0 ? rc : read_member(c, desc, max, f, v, depth, msg);
            if (rc == 0)
                msg_path_pop(c, saved);
        }
        if (rc != 0) {
            protobuf_c_message_free_unpacked(msg, NULL);
            return -1;
        }
    }
    *out = msg;
    return 0;
}

int pa_pbjson_read(const ProtobufCMessageDescriptor *desc, const json_t *value,
                   ProtobufCMessage **out, struct ft_error *err)
{
    *out = NULL;
    struct msg_path c;
    msg_path_init(&c, desc->name, err);
    return read_message(&c, desc, value, 0, out);
}

/* ---- Writing ---------------------------------------------------------------------------- */

static int write_message(struct msg_path *c, const ProtobufCMessage *msg, unsigned depth,
                         json_t **out);

static bool is_default(const ProtobufCFieldDescriptor *f, const void *slot)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)slot;
    case PROTOBUF_C_TYPE_STRING:
        return *(char *const *)slot == NULL || **(char *const *)slot == '\0';
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)slot)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(void *const *)slot == NULL;
    default: /* numbers: all bits zero (a float -0.0 is written) */
        return pa_schema_element_size(f->type) == 8 ? *(const uint64_t *)slot == 0
                                                    : *(const uint32_t *)slot == 0;
    }
}

static json_t *decimal(bool is_signed, const void *slot)
{
    char text[24];
    if (is_signed)
        snprintf(text, sizeof(text), "%" PRId64, *(const int64_t *)slot);
    else
        snprintf(text, sizeof(text), "%" PRIu64, *(const uint64_t *)slot);
    return json_string(text);
}

static int write_value(struct msg_path *c, const ProtobufCFieldDescriptor *f, const void *slot,
                       unsigned depth, const struct limits *lim, json_t **out)
{
    *out = NULL;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *out = json_integer(*(const int32_t *)slot);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *out = json_integer(*(const uint32_t *)slot);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *out = decimal(f->type == PROTOBUF_C_TYPE_INT64 || f->type == PROTOBUF_C_TYPE_SINT64 ||
                           f->type == PROTOBUF_C_TYPE_SFIXED64,
                       slot);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        *out = json_real(f->type == PROTOBUF_C_TYPE_FLOAT ? (double)*(const float *)slot
                                                          : *(const double *)slot);
        if (*out == NULL)
            return msg_path_fail(c, FT_E_INVALID, "not a finite number");
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        *out = json_boolean(*(const protobuf_c_boolean *)slot);
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t number = *(const int32_t *)slot;
        const ProtobufCEnumValue *value =
            protobuf_c_enum_descriptor_get_value(f->descriptor, number);
        *out = value != NULL ? json_string(value->name) : json_integer(number);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)slot;
        size_t n = s != NULL ? strlen(s) : 0;
        if (n > lim->value)
            return msg_path_fail(c, FT_E_CAPACITY, "%zu characters, limit %zu", n, lim->value);
        *out = json_stringn(s != NULL ? s : "", n);
        if (*out == NULL)
            return msg_path_fail(c, FT_E_INVALID, "a string that is not UTF-8");
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = slot;
        if (b->len > lim->value)
            return msg_path_fail(c, FT_E_CAPACITY, "%zu bytes, limit %zu", b->len, lim->value);
        return pa_json_base64(c, b->data, b->len, out);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)slot;
        if (sub == NULL)
            return (*out = json_object()) ? 0 : msg_path_fail(c, FT_E_NOMEM, "out of memory");
        return write_message(c, sub, depth + 1, out);
    }
    }
    return *out != NULL ? 0 : msg_path_fail(c, FT_E_NOMEM, "out of memory");
}

/* Whether field `f` of `msg` is written: repeated ones when not empty, oneof members when
 * they are the one set, proto2-style optionals when present, others when not default. */
static bool is_written(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *msg)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *SLOT(const size_t, msg, f->quantifier_offset) > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *SLOT(const uint32_t, msg, f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0)
        return *SLOT(const protobuf_c_boolean, msg, f->quantifier_offset);
    return !is_default(f, SLOT(const void, msg, f->offset));
}

static int write_field(struct msg_path *c, const ProtobufCFieldDescriptor *f,
                       const struct limits *lim, const ProtobufCMessage *msg, unsigned depth,
                       json_t **out)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return write_value(c, f, SLOT(const void, msg, f->offset), depth, lim, out);
    size_t n = *SLOT(const size_t, msg, f->quantifier_offset),
           size = pa_schema_element_size(f->type);
    if (over_count(c, n, lim) != 0)
        return -1;
    const char *elements = *SLOT(const char *const, msg, f->offset);
    if ((*out = json_array()) == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *element = NULL;
        size_t saved = msg_path_push(c, "", i, true);
        if (write_value(c, f, elements + i * size, depth, lim, &element) != 0 ||
            json_array_append_new(*out, element) != 0) {
            json_decref(*out);
            *out = NULL;
            return element == NULL ? -1 : msg_path_fail(c, FT_E_NOMEM, "out of memory");
        }
        msg_path_pop(c, saved);
    }
    return 0;
}

static int write_message(struct msg_path *c, const ProtobufCMessage *msg, unsigned depth,
                         json_t **out)
{
    *out = NULL;
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    if (depth > PA_PBJSON_DEPTH_MAX)
        return msg_path_fail(c, FT_E_RANGE, "messages nested deeper than %d", PA_PBJSON_DEPTH_MAX);
    if (msg->n_unknown_fields > 0)
        return msg_path_fail(c, FT_E_PROTOCOL, "field number %u is not in %s's schema",
                             (unsigned)msg->unknown_fields[0].tag, desc->name);
    const size_t *max = NULL;
    if (message_max(c, desc, &max) != 0)
        return -1;
    json_t *obj = json_object();
    if (obj == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory");
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (!is_written(f, msg))
            continue;
        json_t *value = NULL;
        size_t saved = msg_path_push(c, f->name, 0, false);
        struct limits lim = field_limits(desc, max, f);
        if (write_field(c, f, &lim, msg, depth, &value) != 0 ||
            json_object_set_new(obj, f->name, value) != 0) {
            json_decref(obj);
            return value == NULL ? -1 : msg_path_fail(c, FT_E_NOMEM, "out of memory");
        }
        msg_path_pop(c, saved);
    }
    *out = obj;
    return 0;
}

int pa_pbjson_write(const ProtobufCMessage *msg, json_t **out, struct ft_error *err)
{
    struct msg_path c;
    msg_path_init(&c, msg->descriptor->name, err);
    return write_message(&c, msg, 0, out);
}
