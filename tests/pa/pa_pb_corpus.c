/* pa_pb_corpus: the C half of test_pa_proto_schema.py. pa_msg.c hand-codes the PA API's
 * tables; this program writes what those tables say and produce, for the script to hold
 * against the project's .proto files (proto/), and checks the protobuf-c code generated
 * from those files itself.
 *   pa_pb_corpus OUTDIR
 * OUTDIR/schema.json          pa_msg.c's message, enum and RPC tables
 * OUTDIR/corpus.txt           one "NAME VARIANT" line per corpus message
 * OUTDIR/NAME.VARIANT.json    the message as pa_msg_to_json writes it
 * OUTDIR/NAME.VARIANT.bin     the message as pa_proto_encode encodes it
 * The corpus is every message of pa_msg_desc_list() (those of the RPC table, DeviceData,
 * RegistryRecord and the nested ones), each filled from its descriptor in three variants
 * (enum variant). Each .bin must then unpack with protobuf-c (protobuf_c_message_unpack,
 * what every generated <msg>__unpack calls) leaving no unknown field at any depth, and
 * pack back to the same bytes, and pa_pbjson (the descriptor-driven JSON codec) must
 * write the unpacked message as pa_msg_to_json wrote it and read that JSON back into the
 * same bytes. Exit 0, or 1 after naming every failure. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pa/pa_msg.h"
#include "pa/pa_pbjson.h"
#include "pa/pa_proto.h"
#include "pa/pa_schema.h"

/* ---- Filling a message from its descriptor ------------------------------------------ */

enum variant {
    FULL,    /* named enums, first oneof member, 3 elements, the largest integers, UTF-8
                and JSON escapes in strings, every byte value in the large byte fields */
    LIMITS,  /* enum numbers without names (negative ones too), last oneof member, every
                string, byte field and list at its limit, 64-bit values above 2^53 */
    MINIMAL, /* the smallest value that is not the default (one character, one zero
                byte, 1), messages present but empty, one default element per list */
};
static const char *const variant_names[] = {"full", "limits", "minimal"};

static unsigned counter; /* varies the values from field to field */

static void fill_msg(const struct pa_msg_desc *desc, void *msg, enum variant v, int depth);

/* `cap` bytes at most of `text`, cut at a UTF-8 boundary. */
static void put_string(char *dst, size_t cap, const char *text)
{
    size_t n = strlen(text);
    if (n > cap) {
        n = cap;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, text, n);
    dst[n] = '\0';
}

static void fill_string(const struct pa_field_desc *f, char *dst, enum variant v)
{
    char text[8192];
    if (v == FULL) {
        snprintf(text, sizeof(text), "%s%u \xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80\"\\\n\t\x01/",
                 f->name, counter++);
    } else if (v == LIMITS) {
        size_t n = 0; /* "a", then a 2-byte character, ..., exactly cap bytes */
        while (n < f->cap && n < sizeof(text) - 1) {
            if (n % 3 == 0 || f->cap - n < 2)
                text[n++] = (char)('a' + counter++ % 26);
            else
                text[n++] = '\xc3', text[n++] = '\xa9';
        }
        text[n] = '\0';
    } else {
        snprintf(text, sizeof(text), "%u", counter++ % 10);
    }
    put_string(dst, f->cap, text);
}

/* Fills `len` bytes; FULL and LIMITS run through all 256 byte values from a varying start. */
static void fill_bytes(uint8_t *dst, size_t len, enum variant v)
{
    unsigned start = counter++ * 61u;
    for (size_t i = 0; i < len; i++)
        dst[i] = v == MINIMAL ? 0 : (uint8_t)(start + i);
}

static size_t bytes_len(const struct pa_field_desc *f, enum variant v)
{
    if (v == MINIMAL)
        return 1;
    if (v == LIMITS || f->kind == PA_FIELD_BYTES)
        return f->cap;
    return 300; /* a 2-byte length, every byte value */
}

static int32_t enum_value(const struct pa_field_desc *f, enum variant v)
{
    const struct pa_enum_desc *e = f->enum_desc;
    if (v == FULL)
        return e->generated->values[e->generated->n_values - 1].value;
    if (v == MINIMAL)
        return 1;
    unsigned k = counter++;
    return k % 2 ? -1 - (int32_t)k : 1000 + (int32_t)k; /* no enum has such names */
}

/* Element `i` of field `f` (any element of a repeated field is filled alike). */
static void fill_slot(const struct pa_field_desc *f, void *msg, size_t i, enum variant v, int depth)
{
    void *slot = pa_field_ptr(f, msg, i);
    bool element_default = v == MINIMAL && f->max_count > 0;
    switch (f->kind) {
    case PA_FIELD_STRING:
        if (!element_default)
            fill_string(f, slot, v);
        break;
    case PA_FIELD_BYTES: {
        struct pa_small_bytes *b = slot;
        b->len = element_default ? 0 : bytes_len(f, v);
        fill_bytes(b->data, b->len, v);
        break;
    }
    case PA_FIELD_HEAP_BYTES: {
        struct pa_bytes *b = slot;
        b->len = element_default ? 0 : bytes_len(f, v);
        b->data = b->len ? malloc(b->len) : NULL;
        if (b->len && b->data == NULL)
            abort();
        fill_bytes(b->data, b->len, v);
        break;
    }
    case PA_FIELD_BOOL:
        *(bool *)slot = true;
        break;
    case PA_FIELD_UINT32:
    case PA_FIELD_FIXED32:
        *(uint32_t *)slot = v == FULL ? UINT32_MAX - counter++ : v == LIMITS ? 128 + counter++ : 1;
        break;
    case PA_FIELD_UINT64:
    case PA_FIELD_FIXED64:
        *(uint64_t *)slot = v == FULL     ? UINT64_MAX - counter++
                            : v == LIMITS ? (UINT64_C(1) << 53) + 1 + counter++
                                          : 1;
        break;
    case PA_FIELD_ENUM:
        *(int32_t *)slot = enum_value(f, v);
        break;
    case PA_FIELD_MESSAGE:
        if (f->max_count == 0)
            pa_field_set_present(f, msg);
        fill_msg(f->msg_desc, slot, v, depth + 1);
        break;
    }
}

/* Whether `f` is the member FULL (first) or LIMITS (last) sets of its oneof. */
static bool chosen_member(const struct pa_msg_desc *desc, size_t index, enum variant v)
{
    const char *group = desc->fields[index].oneof;
    for (size_t i = 0; i < desc->field_count; i++) {
        const char *g = desc->fields[i].oneof;
        bool same = g != NULL && strcmp(g, group) == 0;
        if (same && v != LIMITS && i < index)
            return false;
        if (same && v == LIMITS && i > index)
            return false;
    }
    return true;
}

static void fill_msg(const struct pa_msg_desc *desc, void *msg, enum variant v, int depth)
{
    if (v == MINIMAL && depth > 0) {
        /* A nested message: present and empty, but for the oneof member pa_msg requires
         * (SigningKeyParams.key), present and empty itself. */
        for (size_t i = 0; i < desc->field_count; i++) {
            if (desc->fields[i].oneof != NULL && chosen_member(desc, i, v))
                pa_field_set_present(&desc->fields[i], msg);
        }
        return;
    }
    for (size_t i = 0; i < desc->field_count; i++) {
        const struct pa_field_desc *f = &desc->fields[i];
        if (f->oneof != NULL && !chosen_member(desc, i, v))
            continue;
        if (f->max_count == 0) {
            fill_slot(f, msg, 0, v, depth);
            continue;
        }
        size_t n = v == FULL ? 3 : v == LIMITS ? f->max_count : 1;
        for (size_t k = 0; k < n; k++)
            fill_slot(f, msg, k, v, depth);
        *(size_t *)(void *)((char *)msg + f->count_offset) = n;
    }
}

/* ---- Output files ------------------------------------------------------------------- */

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || (len && fwrite(data, 1, len, fp) != len) || fclose(fp) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

static const char *kind_name(enum pa_field_kind k)
{
    static const char *const names[] = {
        [PA_FIELD_STRING] = "string",    [PA_FIELD_BYTES] = "bytes",
        [PA_FIELD_HEAP_BYTES] = "bytes", [PA_FIELD_BOOL] = "bool",
        [PA_FIELD_UINT32] = "uint32",    [PA_FIELD_FIXED32] = "fixed32",
        [PA_FIELD_UINT64] = "uint64",    [PA_FIELD_FIXED64] = "fixed64",
        [PA_FIELD_ENUM] = "enum",        [PA_FIELD_MESSAGE] = "message",
    };
    return names[k];
}

static json_t *schema_json(void)
{
    json_t *msgs = json_array(), *enum_list = json_array(), *rpc_list = json_array();
    size_t n;
    const struct pa_msg_desc *const *descs = pa_msg_desc_list(&n);
    for (size_t i = 0; i < n; i++) {
        json_t *fields = json_array();
        for (size_t j = 0; j < descs[i]->field_count; j++) {
            const struct pa_field_desc *f = &descs[i]->fields[j];
            const char *type = f->kind == PA_FIELD_ENUM      ? f->enum_desc->generated->name
                               : f->kind == PA_FIELD_MESSAGE ? f->msg_desc->name
                                                             : NULL;
            json_array_append_new(
                fields, json_pack("{s:s, s:I, s:s, s:b, s:s?, s:s?}", "name", f->name, "number",
                                  (json_int_t)f->number, "kind", kind_name(f->kind), "repeated",
                                  f->max_count > 0, "oneof", f->oneof, "type", type));
        }
        json_array_append_new(msgs,
                              json_pack("{s:s, s:o}", "name", descs[i]->name, "fields", fields));
    }
    size_t n_enums = 0;
    const struct pa_enum_desc *const *enums = pa_enum_desc_list(&n_enums);
    for (size_t i = 0; i < n_enums; i++) {
        json_t *values = json_array();
        const ProtobufCEnumDescriptor *e = enums[i]->generated;
        for (size_t j = 0; j < e->n_values; j++)
            json_array_append_new(
                values, json_pack("[s, I]", e->values[j].name, (json_int_t)e->values[j].value));
        json_array_append_new(enum_list,
                              json_pack("{s:s, s:o}", "name", e->name, "values", values));
    }
    const struct pa_rpc_desc *rpcs = pa_rpc_list(&n);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(rpc_list,
                              json_pack("{s:s, s:s, s:s, s:s}", "name", rpcs[i].name, "path",
                                        rpcs[i].path, "request", rpcs[i].request->name, "response",
                                        rpcs[i].response->name));
    return json_pack("{s:o, s:o, s:o}", "messages", msgs, "enums", enum_list, "rpcs", rpc_list);
}

/* ---- protobuf-c ---------------------------------------------------------------------- */

/* A field protobuf-c kept as unknown anywhere in `m` (a number the .proto files do not
 * have, or a wire type they do not allow): writes where into `why`, returns true. */
static bool has_unknown(const ProtobufCMessage *m, char *why, size_t cap)
{
    if (m->n_unknown_fields > 0) {
        snprintf(why, cap, "%s: field %u is unknown to proto/", m->descriptor->name,
                 m->unknown_fields[0].tag);
        return true;
    }
    for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
        const char *at = (const char *)m + f->offset;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(const void *)((const char *)m + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(const void *)((const char *)m + f->quantifier_offset);
            ProtobufCMessage *const *elems = *(ProtobufCMessage *const *const *)(const void *)at;
            for (size_t k = 0; k < n; k++) {
                if (has_unknown(elems[k], why, cap))
                    return true;
            }
        } else {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(const void *)at;
            if (sub != NULL && has_unknown(sub, why, cap))
                return true;
        }
    }
    return false;
}

/* Where `m` packed differs from `bin`: -1 when it packs to the very same bytes, else the
 * first differing byte (the shorter length when one is a prefix); *n the packed length. */
static long packs_apart(const ProtobufCMessage *m, const struct pa_bytes *bin, size_t *n)
{
    uint8_t *packed = pa_schema_pack(m, 0, n);
    if (packed == NULL)
        abort();
    size_t at = 0;
    while (at < *n && at < bin->len && packed[at] == bin->data[at])
        at++;
    free(packed);
    return at == *n && at == bin->len ? -1 : (long)at;
}

/* pa_pbjson over the generated descriptor: writes `m` as pa_msg_to_json wrote the same
 * message (`json`, compared as JSON values), and reads that JSON back into a message that
 * packs to `bin`. */
static int check_pbjson(const char *label, const ProtobufCMessage *m, const json_t *json,
                        const struct pa_bytes *bin)
{
    json_t *written = NULL;
    ProtobufCMessage *read = NULL;
    struct ft_error err = {0};
    int rc = 0;
    if (pa_pbjson_write(m, &written, &err) != 0) {
        printf("FAIL %s: pa_pbjson_write: %s\n", label, err.message);
        rc = -1;
    } else if (!json_equal(written, json)) {
        char *a = json_dumps(written, JSON_COMPACT | JSON_ENSURE_ASCII),
             *b = json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII);
        printf("FAIL %s: pa_pbjson_write and pa_msg_to_json differ:\n  %.400s\n  %.400s\n", label,
               a ? a : "?", b ? b : "?");
        free(a);
        free(b);
        rc = -1;
    }
    if (pa_pbjson_read(m->descriptor, json, &read, &err) != 0) {
        printf("FAIL %s: pa_pbjson_read of pa_msg_to_json's text: %s\n", label, err.message);
        rc = -1;
    } else {
        size_t n = 0;
        if (packs_apart(read, bin, &n) >= 0) {
            printf("FAIL %s: pa_pbjson_read then pack gives %zu bytes, pa_proto_encode %zu\n",
                   label, n, bin->len);
            rc = -1;
        }
        protobuf_c_message_free_unpacked(read, NULL);
    }
    json_decref(written);
    return rc;
}

/* protobuf-c unpacks `bin` fully and packs it back to the same bytes; pa_pbjson agrees
 * with pa_msg on its JSON. The message is found in proto/ by name, and must be the one
 * pa_msggen linked to the table. */
static int check_protobuf_c(const char *label, const struct pa_msg_desc *desc,
                            const struct pa_bytes *bin, const json_t *json)
{
    const ProtobufCMessageDescriptor *d = pa_schema_message(desc->name);
    if (d == NULL) {
        printf("FAIL %s: proto/ has no message %s (protobuf-c)\n", label, desc->name);
        return -1;
    }
    if (d != desc->generated) {
        printf("FAIL %s: the table's protoc-c message is %s\n", label,
               desc->generated != NULL ? desc->generated->name : "none");
        return -1;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, bin->len, bin->data);
    if (m == NULL) {
        printf("FAIL %s: protobuf-c cannot unpack pa_proto_encode's %zu bytes\n", label, bin->len);
        return -1;
    }
    char why[256];
    int rc = 0;
    if (has_unknown(m, why, sizeof(why))) {
        printf("FAIL %s: protobuf-c unpack: %s\n", label, why);
        rc = -1;
    }
    size_t n = 0;
    long at = packs_apart(m, bin, &n);
    if (at >= 0) {
        printf("FAIL %s: protobuf-c packs %zu bytes, pa_proto_encode %zu; first difference at "
               "byte %ld\n",
               label, n, bin->len, at);
        rc = -1;
    }
    if (check_pbjson(label, m, json, bin) != 0)
        rc = -1;
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

/* ---- Main ---------------------------------------------------------------------------- */

/* Writes one corpus message and checks it with protobuf-c; a failure of pa_msg or
 * protobuf-c is counted in *failures. -1 only when the files cannot be written. */
static int write_entry(const char *dir, FILE *list, const struct pa_msg_desc *desc, enum variant v,
                       int *failures)
{
    char label[160], file[200];
    snprintf(label, sizeof(label), "%s.%s", desc->name, variant_names[v]);
    void *msg = calloc(1, desc->size);
    json_t *json = NULL;
    struct pa_bytes bin = {0};
    struct ft_error err = {0};
    int rc = 0;
    if (msg == NULL)
        abort();
    fill_msg(desc, msg, v, 0);
    if (pa_msg_to_json(desc, msg, &json, &err) != 0) {
        printf("FAIL %s: pa_msg_to_json: %s\n", label, err.message);
        (*failures)++;
        goto out;
    }
    if (pa_proto_encode(desc, msg, &bin, &err) != 0) {
        printf("FAIL %s: pa_proto_encode: %s\n", label, err.message);
        (*failures)++;
        goto out;
    }
    char *text = json_dumps(json, JSON_COMPACT);
    snprintf(file, sizeof(file), "%s.json", label);
    rc = text == NULL ? -1 : write_file(dir, file, text, strlen(text));
    free(text);
    snprintf(file, sizeof(file), "%s.bin", label);
    if (rc != 0 || write_file(dir, file, bin.data, bin.len) != 0) {
        rc = -1;
        goto out;
    }
    fprintf(list, "%s %s\n", desc->name, variant_names[v]);
    if (check_protobuf_c(label, desc, &bin, json) != 0)
        (*failures)++;
out:
    free(bin.data);
    json_decref(json);
    pa_msg_free(desc, msg);
    free(msg);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pa_pb_corpus OUTDIR\n");
        return 2;
    }
    const char *dir = argv[1];
    json_t *schema = schema_json();
    char *text = schema ? json_dumps(schema, JSON_INDENT(1)) : NULL;
    json_decref(schema);
    if (text == NULL || write_file(dir, "schema.json", text, strlen(text)) != 0) {
        free(text);
        return 1;
    }
    free(text);

    char path[1024];
    snprintf(path, sizeof(path), "%s/corpus.txt", dir);
    FILE *list = fopen(path, "w");
    if (list == NULL) {
        perror(path);
        return 1;
    }
    int failures = 0, entries = 0;
    size_t n;
    const struct pa_msg_desc *const *descs = pa_msg_desc_list(&n);
    for (size_t i = 0; i < n; i++) {
        for (int v = FULL; v <= MINIMAL; v++, entries++) {
            if (write_entry(dir, list, descs[i], (enum variant)v, &failures) != 0)
                return 1; /* already reported */
        }
    }
    if (fclose(list) != 0) {
        perror(path);
        return 1;
    }
    size_t n_pb;
    pa_schema_messages(&n_pb);
    if (n_pb != n) {
        printf("FAIL pa_schema finds %zu messages in proto/, pa_msg.c has %zu\n", n_pb, n);
        failures++;
    }
    printf("pa_pb_corpus: %d messages written, %d failures (pa_msg, protobuf-c)\n", entries,
           failures);
    return failures ? 1 : 0;
}
