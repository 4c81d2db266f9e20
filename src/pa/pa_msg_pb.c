#include "pa/pa_msg_pb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pa/msg_path.h"
#include "pa/pa_schema.h"

/* A member of a protobuf-c message, by its descriptor's offset. */
#define PB_SLOT(type, pb, offset) ((type *)(void *)((char *)(pb) + (offset)))

/* ---- The oneof rule: exactly one member set ---------------------------------------------- */

/* Whether field `index` is the first of its oneof (each oneof is checked once, from there). */
static bool first_of_group(const struct pa_msg_desc *desc, size_t index)
{
    for (size_t i = 0; i < index; i++) {
        const char *g = desc->fields[i].oneof;
        if (g != NULL && strcmp(g, desc->fields[index].oneof) == 0)
            return false;
    }
    return true;
}

static int oneof_check(struct msg_path *c, const struct pa_msg_desc *desc, const void *msg)
{
    for (size_t i = 0; i < desc->field_count; i++) {
        const struct pa_field_desc *f = &desc->fields[i];
        if (f->oneof == NULL || !first_of_group(desc, i))
            continue;
        uint32_t which = *(const uint32_t *)(const void *)((const char *)msg + f->presence_offset);
        char names[128] = "";
        size_t len = 0;
        bool member = false;
        for (size_t j = i; j < desc->field_count; j++) {
            const struct pa_field_desc *g = &desc->fields[j];
            if (g->oneof == NULL || strcmp(g->oneof, f->oneof) != 0)
                continue;
            member |= g->number == which;
            int n = snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "", g->name);
            if (n > 0 && (size_t)n < sizeof(names) - len)
                len += (size_t)n;
        }
        if (member)
            continue;
        if (which == 0)
            return msg_path_fail(c, FT_E_INVALID,
                                 "oneof %s: none of %s is set (exactly one is required)", f->oneof,
                                 names);
        return msg_path_fail(c, FT_E_INVALID, "oneof %s: case %" PRIu32 " is none of %s", f->oneof,
                             which, names);
    }
    return 0;
}

/* ---- Struct to protobuf-c ---------------------------------------------------------------- */

static int message_to_pb(struct msg_path *c, const struct pa_msg_desc *desc, const void *msg,
                         ProtobufCMessage **out);

static int bytes_to_pb(struct msg_path *c, const struct pa_field_desc *f, const uint8_t *data,
                       size_t len, ProtobufCBinaryData *out)
{
    if (len > f->cap)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu bytes, limit %zu", len, f->cap);
    if (len > 0 && data == NULL)
        return msg_path_fail(c, FT_E_INVALID, "length %zu with no data", len);
    if (len == 0)
        return 0;
    if ((out->data = malloc(len)) == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory for %zu bytes", len);
    memcpy(out->data, data, len);
    out->len = len;
    return 0;
}

/* One value of `f` at `slot` (the member, or an element) into `dst`. */
static int value_to_pb(struct msg_path *c, const struct pa_field_desc *f, const void *slot,
                       void *dst)
{
    switch (f->kind) {
    case PA_FIELD_STRING: {
        size_t n = strnlen(slot, f->cap + 1);
        if (n > f->cap)
            return msg_path_fail(c, FT_E_CAPACITY, "not NUL-terminated within %zu characters",
                                 f->cap);
        if (!pa_utf8_valid(slot, n))
            return msg_path_fail(c, FT_E_INVALID, "not valid UTF-8");
        if ((*(char **)dst = strndup(slot, n)) == NULL)
            return msg_path_fail(c, FT_E_NOMEM, "out of memory");
        return 0;
    }
    case PA_FIELD_BYTES: {
        const struct pa_small_bytes *b = slot;
        return bytes_to_pb(c, f, b->data, b->len, dst);
    }
    case PA_FIELD_HEAP_BYTES: {
        const struct pa_bytes *b = slot;
        return bytes_to_pb(c, f, b->data, b->len, dst);
    }
    case PA_FIELD_BOOL:
        *(protobuf_c_boolean *)dst = *(const bool *)slot;
        return 0;
    case PA_FIELD_UINT32:
    case PA_FIELD_FIXED32:
    case PA_FIELD_ENUM: /* int32_t on both sides */
        memcpy(dst, slot, sizeof(uint32_t));
        return 0;
    case PA_FIELD_UINT64:
    case PA_FIELD_FIXED64:
        memcpy(dst, slot, sizeof(uint64_t));
        return 0;
    case PA_FIELD_MESSAGE:
        return message_to_pb(c, f->msg_desc, slot, dst);
    }
    return msg_path_fail(c, FT_E_INVALID, "field kind %d unknown", (int)f->kind);
}

/* Proto3 singular scalars have no presence: one is written when it is not the default
 * (protojson without EmitUnpopulated, proto.Marshal). */
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
    case PA_FIELD_UINT64:
    case PA_FIELD_FIXED64:
        return *(const uint64_t *)slot != 0;
    case PA_FIELD_UINT32:
    case PA_FIELD_FIXED32:
    case PA_FIELD_ENUM:
        return *(const uint32_t *)slot != 0;
    case PA_FIELD_MESSAGE:
        break;
    }
    return true;
}

static int repeated_to_pb(struct msg_path *c, const struct pa_field_desc *f,
                          const ProtobufCFieldDescriptor *pf, const void *msg, ProtobufCMessage *pb)
{
    size_t n = pa_field_count(f, msg), size = pa_schema_element_size(pf->type);
    if (n > f->max_count)
        return msg_path_fail(c, FT_E_CAPACITY, "%zu elements, limit %zu", n, f->max_count);
    if (n == 0)
        return 0;
    char *elements = pa_schema_new_array(pb, pf, n);
    if (elements == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory for %zu elements", n);
    size_t *count = PB_SLOT(size_t, pb, pf->quantifier_offset);
    for (size_t i = 0; i < n; i++) {
        size_t saved = msg_path_push(c, "", i, true);
        if (value_to_pb(c, f, pa_field_cptr(f, msg, i), elements + i * size) != 0)
            return -1;
        msg_path_pop(c, saved);
        *count = i + 1;
    }
    return 0;
}

static int field_to_pb(struct msg_path *c, const struct pa_field_desc *f,
                       const ProtobufCFieldDescriptor *pf, const void *msg, ProtobufCMessage *pb)
{
    if (f->max_count > 0)
        return repeated_to_pb(c, f, pf, msg, pb);
    const void *slot = pa_field_cptr(f, msg, 0);
    bool set = f->kind == PA_FIELD_MESSAGE ? pa_field_present(f, msg) : scalar_is_set(f, slot);
    if (!set)
        return 0;
    if (value_to_pb(c, f, slot, PB_SLOT(void, pb, pf->offset)) != 0)
        return -1;
    if (pf->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *PB_SLOT(uint32_t, pb, pf->quantifier_offset) = pf->id;
    return 0;
}

static int message_to_pb(struct msg_path *c, const struct pa_msg_desc *desc, const void *msg,
                         ProtobufCMessage **out)
{
    *out = NULL;
    const ProtobufCMessageDescriptor *pd = desc->generated;
    if (oneof_check(c, desc, msg) != 0)
        return -1;
    ProtobufCMessage *pb = calloc(1, pd->sizeof_message);
    if (pb == NULL)
        return msg_path_fail(c, FT_E_NOMEM, "out of memory");
    protobuf_c_message_init(pd, pb);
    for (size_t i = 0; i < desc->field_count; i++) {
        size_t saved = msg_path_push(c, desc->fields[i].name, 0, false);
        if (field_to_pb(c, &desc->fields[i], &pd->fields[i], msg, pb) != 0) {
            protobuf_c_message_free_unpacked(pb, NULL);
            return -1;
        }
        msg_path_pop(c, saved);
    }
    *out = pb;
    return 0;
}

int pa_msg_to_pb(const struct pa_msg_desc *desc, const void *msg, ProtobufCMessage **out,
                 struct ft_error *err)
{
    struct msg_path c;
    msg_path_init(&c, desc->name, err);
    return message_to_pb(&c, desc, msg, out);
}

/* ---- Protobuf-c to struct ---------------------------------------------------------------- */

static int message_from_pb(struct msg_path *c, const struct pa_msg_desc *desc,
                           const ProtobufCMessage *pb, void *msg);

static int value_from_pb(struct msg_path *c, const struct pa_field_desc *f, const void *src,
                         void *slot)
{
    const ProtobufCBinaryData *b = src;
    switch (f->kind) {
    case PA_FIELD_STRING: {
        const char *s = *(char *const *)src;
        size_t n = s != NULL ? strlen(s) : 0;
        if (n > f->cap)
            return msg_path_fail(c, FT_E_CAPACITY, "%zu characters, limit %zu", n, f->cap);
        if (!pa_utf8_valid(s, n))
            return msg_path_fail(c, FT_E_INVALID, "a string that is not UTF-8");
        if (n > 0)
            memcpy(slot, s, n);
        ((char *)slot)[n] = '\0';
        return 0;
    }
    case PA_FIELD_BYTES:
    case PA_FIELD_HEAP_BYTES:
        if (b->len > f->cap)
            return msg_path_fail(c, FT_E_CAPACITY, "%zu bytes, limit %zu", b->len, f->cap);
        if (b->len == 0)
            return 0;
        if (f->kind == PA_FIELD_BYTES) {
            struct pa_small_bytes *small = slot;
            memcpy(small->data, b->data, b->len);
            small->len = b->len;
            return 0;
        }
        struct pa_bytes *heap = slot;
        if ((heap->data = malloc(b->len)) == NULL)
            return msg_path_fail(c, FT_E_NOMEM, "out of memory for %zu bytes", b->len);
        memcpy(heap->data, b->data, b->len);
        heap->len = b->len;
        return 0;
    case PA_FIELD_BOOL:
        *(bool *)slot = *(const protobuf_c_boolean *)src != 0;
        return 0;
    case PA_FIELD_UINT32:
    case PA_FIELD_FIXED32:
    case PA_FIELD_ENUM:
        memcpy(slot, src, sizeof(uint32_t));
        return 0;
    case PA_FIELD_UINT64:
    case PA_FIELD_FIXED64:
        memcpy(slot, src, sizeof(uint64_t));
        return 0;
    case PA_FIELD_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)src;
        return sub == NULL ? 0 : message_from_pb(c, f->msg_desc, sub, slot);
    }
    }
    return msg_path_fail(c, FT_E_INVALID, "field kind %d unknown", (int)f->kind);
}

static int field_from_pb(struct msg_path *c, const struct pa_field_desc *f,
                         const ProtobufCFieldDescriptor *pf, const ProtobufCMessage *pb, void *msg)
{
    if (f->max_count > 0) {
        size_t n = *PB_SLOT(const size_t, pb, pf->quantifier_offset),
               size = pa_schema_element_size(pf->type);
        if (n > f->max_count)
            return msg_path_fail(c, FT_E_CAPACITY, "%zu elements, limit %zu", n, f->max_count);
        /* Count first: elements start zeroed, so a failure part-way frees cleanly. */
        *(size_t *)(void *)((char *)msg + f->count_offset) = n;
        const char *elements = *PB_SLOT(const char *const, pb, pf->offset);
        for (size_t i = 0; i < n; i++) {
            size_t saved = msg_path_push(c, "", i, true);
            if (value_from_pb(c, f, elements + i * size, pa_field_ptr(f, msg, i)) != 0)
                return -1;
            msg_path_pop(c, saved);
        }
        return 0;
    }
    const void *src = PB_SLOT(const void, pb, pf->offset);
    if (pf->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*PB_SLOT(const uint32_t, pb, pf->quantifier_offset) != pf->id)
            return 0;
    } else if (f->kind == PA_FIELD_MESSAGE && *(const ProtobufCMessage *const *)src == NULL) {
        return 0;
    }
    if (value_from_pb(c, f, src, pa_field_ptr(f, msg, 0)) != 0)
        return -1;
    if (f->kind == PA_FIELD_MESSAGE)
        pa_field_set_present(f, msg);
    return 0;
}

static int message_from_pb(struct msg_path *c, const struct pa_msg_desc *desc,
                           const ProtobufCMessage *pb, void *msg)
{
    const ProtobufCMessageDescriptor *pd = desc->generated;
    if (pb->n_unknown_fields > 0)
        return msg_path_fail(c, FT_E_PROTOCOL, "field number %u is not in %s's schema",
                             (unsigned)pb->unknown_fields[0].tag, pd->name);
    for (size_t i = 0; i < desc->field_count; i++) {
        size_t saved = msg_path_push(c, desc->fields[i].name, 0, false);
        if (field_from_pb(c, &desc->fields[i], &pd->fields[i], pb, msg) != 0)
            return -1;
        msg_path_pop(c, saved);
    }
    return oneof_check(c, desc, msg);
}

int pa_msg_from_pb(const struct pa_msg_desc *desc, const ProtobufCMessage *pb, void *out,
                   struct ft_error *err)
{
    memset(out, 0, desc->size);
    struct msg_path c;
    msg_path_init(&c, desc->name, err);
    /* Below the top, protobuf-c's own descriptors pick each sub-message's type. */
    if (pb->descriptor != desc->generated)
        return msg_path_fail(&c, FT_E_INVALID, "a %s where a %s belongs", pb->descriptor->name,
                             desc->generated->name);
    if (message_from_pb(&c, desc, pb, out) != 0) {
        pa_msg_free(desc, out);
        memset(out, 0, desc->size);
        return -1;
    }
    return 0;
}
