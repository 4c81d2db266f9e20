/* pa_msggen: writes the PA schema's C structs (pa_msg_gen.h) and pa_msg's tables for them
 * (pa_msg_gen.c) from what protoc-c compiled from proto/: the messages reachable from the
 * service (pa_schema.h), their fields' names, numbers, types, labels and oneofs; and from
 * pa_limits.c the capacity of every string and byte field. Run by the build; nothing it
 * writes is edited by hand.
 *
 *   pa_msggen HEADER SOURCE
 *
 * The structs keep to pa_msg.h's rules: fixed capacities (a string is char[limit + 1], a
 * byte field of at most PA_SMALL_BYTES_CAP bytes is inline, a larger one on the heap, a
 * repeated field PA_REPEATED_MAX elements and a count), a message field a has_ flag, a
 * oneof a case member holding the set member's field number. A field the rules cannot
 * hold (a type pa_msg has no kind for, a string or byte field without a limit, a oneof
 * without a name below) stops the build, naming it. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pa.pb-c.h"
#include "pa/pa_limits.h"
#include "pa/pa_schema.h"

/* RPCs the service answers without a session (upstream's auth interceptor skips them). */
static const char *const sessionless_rpcs[] = {"InitSession", "CloseSession"};

static const char *out_path;

static void fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "pa_msggen: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    if (out_path != NULL)
        remove(out_path);
    exit(1);
}

/* "EndorseCertsRequest" -> "endorse_certs_request" */
static void snake(const char *camel, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = camel; *p != '\0' && n + 2 < cap; p++) {
        if (isupper((unsigned char)*p) && p != camel)
            out[n++] = '_';
        out[n++] = (char)tolower((unsigned char)*p);
    }
    out[n] = '\0';
}

/* The C name of a message ("pa_endorse_certs_request") or enum ("pa_hash_type"). */
static const char *c_name(const char *short_name)
{
    static char names[8][128];
    static unsigned next;
    char *out = names[next++ % 8];
    memcpy(out, "pa_", 3);
    snake(short_name, out + 3, sizeof(names[0]) - 3);
    return out;
}

/* The variable protoc-c named `m`'s descriptor by ("crypto__cert__signing_key_params__descriptor"):
 * the package's parts and the message's snake_case name, joined by "__". A name that does not
 * follow the rule fails to compile. */
static const char *pb_descriptor_name(const ProtobufCMessageDescriptor *m)
{
    static char out[256];
    size_t n = 0;
    for (const char *p = m->package_name; *p != '\0' && n + 3 < sizeof(out); p++) {
        if (*p == '.') {
            out[n++] = '_';
            out[n++] = '_';
        } else {
            out[n++] = *p;
        }
    }
    char message[128];
    snake(m->short_name, message, sizeof(message));
    snprintf(out + n, sizeof(out) - n, "__%s__descriptor", message);
    return out;
}

static bool is_repeated(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_REPEATED;
}

static bool is_oneof(const ProtobufCFieldDescriptor *f)
{
    return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

static const ProtobufCMessageDescriptor *nested(const ProtobufCFieldDescriptor *f)
{
    return f->descriptor;
}

static const char *oneof_name(const ProtobufCMessageDescriptor *m)
{
    const char *name = pa_schema_oneof_name(m);
    if (name == NULL)
        fail("%s has a oneof whose name is not in pa_schema.c%s", m->name, "");
    return name;
}

/* The limit of a string or byte field; the build stops without one. */
static size_t limit_of(const ProtobufCMessageDescriptor *m, const ProtobufCFieldDescriptor *f)
{
    const struct pa_field_limit *l = pa_field_limit_find(m->name, f->name);
    if (l == NULL)
        fail("%s.%s has no limit in pa_limits.c", m->name, f->name);
    return l->max;
}

static bool holds_heap(const ProtobufCMessageDescriptor *m)
{
    for (unsigned i = 0; i < m->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->fields[i];
        if (f->type == PROTOBUF_C_TYPE_BYTES && limit_of(m, f) > PA_SMALL_BYTES_CAP)
            return true;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && holds_heap(f->descriptor))
            return true;
    }
    return false;
}

/* ---- Header: one struct per message, nested ones first --------------------------------- */

struct field_c {
    const char *decl_type; /* "char", "struct pa_bytes", ... */
    char array[32];        /* "[64]" for strings, else "" */
    const char *kind;      /* PA_FIELD_* */
    size_t cap;
};

static struct field_c field_c(const ProtobufCMessageDescriptor *m,
                              const ProtobufCFieldDescriptor *f)
{
    struct field_c c = {.array = ""};
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        c.cap = limit_of(m, f);
        c.decl_type = "char";
        c.kind = "PA_FIELD_STRING";
        snprintf(c.array, sizeof(c.array), "[%zu]", c.cap + 1);
        return c;
    case PROTOBUF_C_TYPE_BYTES:
        c.cap = limit_of(m, f);
        c.decl_type = c.cap <= PA_SMALL_BYTES_CAP ? "struct pa_small_bytes" : "struct pa_bytes";
        c.kind = c.cap <= PA_SMALL_BYTES_CAP ? "PA_FIELD_BYTES" : "PA_FIELD_HEAP_BYTES";
        return c;
    default:
        break;
    }
    /* The other types pa_msg holds; a message's C type is written by the caller. */
    static const struct {
        ProtobufCType type;
        const char *decl_type, *kind;
    } scalars[] = {
        {PROTOBUF_C_TYPE_BOOL, "bool", "PA_FIELD_BOOL"},
        {PROTOBUF_C_TYPE_UINT32, "uint32_t", "PA_FIELD_UINT32"},
        {PROTOBUF_C_TYPE_FIXED32, "uint32_t", "PA_FIELD_FIXED32"},
        {PROTOBUF_C_TYPE_UINT64, "uint64_t", "PA_FIELD_UINT64"},
        {PROTOBUF_C_TYPE_FIXED64, "uint64_t", "PA_FIELD_FIXED64"},
        {PROTOBUF_C_TYPE_ENUM, "int32_t", "PA_FIELD_ENUM"},
        {PROTOBUF_C_TYPE_MESSAGE, NULL, "PA_FIELD_MESSAGE"},
    };
    for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
        if (scalars[i].type == f->type) {
            c.decl_type = scalars[i].decl_type;
            c.kind = scalars[i].kind;
            return c;
        }
    }
    fail("%s.%s: a field type pa_msg has no kind for", m->name, f->name);
    return c;
}

static void write_struct(FILE *h, const ProtobufCMessageDescriptor *m)
{
    fprintf(h, "/* %s */\nstruct %s {\n", m->name, c_name(m->short_name));
    if (m->n_fields == 0)
        fprintf(h, "    uint8_t unused; /* no fields; C wants a member, never encoded */\n");
    bool case_written = false;
    for (unsigned i = 0; i < m->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->fields[i];
        struct field_c c = field_c(m, f);
        if (is_oneof(f) && !case_written) {
            fprintf(h, "    uint32_t %s_case; /* the set member's field number; 0: none */\n",
                    oneof_name(m));
            case_written = true;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && !is_repeated(f) && !is_oneof(f))
            fprintf(h, "    bool has_%s;\n", f->name);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE)
            fprintf(h, "    struct %s", c_name(nested(f)->short_name));
        else
            fprintf(h, "    %s", c.decl_type);
        fprintf(h, " %s%s%s; /* %u", f->name, is_repeated(f) ? "[PA_REPEATED_MAX]" : "", c.array,
                f->id);
        if (f->type == PROTOBUF_C_TYPE_ENUM)
            fprintf(h, ": %s", ((const ProtobufCEnumDescriptor *)f->descriptor)->name);
        if (c.cap > 0)
            fprintf(h, ": <= %zu %s", c.cap,
                    f->type == PROTOBUF_C_TYPE_STRING ? "characters" : "bytes");
        if (is_oneof(f))
            fprintf(h, ", oneof %s", oneof_name(m));
        fprintf(h, " */\n");
        if (is_repeated(f))
            fprintf(h, "    size_t %s_count;\n", f->name);
    }
    fprintf(h, "};\n\n");
}

static void write_structs(FILE *h, const ProtobufCMessageDescriptor *m, bool *written,
                          const ProtobufCMessageDescriptor *const *all)
{
    size_t self = 0;
    while (all[self] != m)
        self++;
    if (written[self])
        return;
    written[self] = true;
    for (unsigned i = 0; i < m->n_fields; i++) {
        if (m->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            write_structs(h, m->fields[i].descriptor, written, all);
    }
    write_struct(h, m);
}

static void write_header(FILE *h, const ProtobufCMessageDescriptor *const *all, size_t n)
{
    fprintf(h, "/* Generated by pa_msggen from proto/ and pa_limits.c; do not edit. */\n"
               "#ifndef FTHARNESS_PA_MSG_GEN_H\n#define FTHARNESS_PA_MSG_GEN_H\n\n");
    bool written[256] = {false};
    if (n > sizeof(written))
        fail("%s%s: more messages than pa_msggen holds", "", "");
    for (size_t i = 0; i < n; i++)
        write_structs(h, all[i], written, all);
    for (size_t i = 0; i < n; i++) {
        const char *t = c_name(all[i]->short_name);
        fprintf(h, "extern const struct pa_msg_desc %s_desc;\n", t);
        fprintf(h, "int %s_to_json(const struct %s *msg, json_t **out, struct ft_error *err);\n", t,
                t);
        fprintf(h,
                "int %s_from_json(const char *text, size_t len, struct %s *out, "
                "struct ft_error *err);\n",
                t, t);
        if (holds_heap(all[i]))
            fprintf(h, "void %s_free(struct %s *msg);\n", t, t);
        fprintf(h, "\n");
    }
    fprintf(h, "#endif\n");
}

/* ---- Source: the field tables, the message and RPC lists, the typed wrappers ---------- */

static void write_table(FILE *c, const ProtobufCMessageDescriptor *m)
{
    const char *t = c_name(m->short_name);
    if (m->n_fields == 0) {
        fprintf(c,
                "const struct pa_msg_desc %s_desc = {\"%s\", sizeof(struct %s), NULL, 0, &%s};\n\n",
                t, m->name, t, pb_descriptor_name(m));
        return;
    }
    fprintf(c, "static const struct pa_field_desc %s_fields[] = {\n", t);
    for (unsigned i = 0; i < m->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->fields[i];
        struct field_c fc = field_c(m, f);
        fprintf(c,
                "    {.name = \"%s\", .number = %u, .kind = %s, .offset = offsetof(struct %s, %s)",
                f->name, f->id, fc.kind, t, f->name);
        if (fc.cap > 0)
            fprintf(c, ", .cap = %zu", fc.cap);
        if (is_repeated(f))
            fprintf(c,
                    ", .max_count = PA_REPEATED_MAX, .count_offset = offsetof(struct %s, "
                    "%s_count), .stride = sizeof(((struct %s *)0)->%s[0])",
                    t, f->name, t, f->name);
        if (f->type == PROTOBUF_C_TYPE_ENUM)
            fprintf(c, ", .enum_desc = &%s_enum",
                    c_name(((const ProtobufCEnumDescriptor *)f->descriptor)->short_name));
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            fprintf(c, ", .msg_desc = &%s_desc", c_name(nested(f)->short_name));
            if (is_oneof(f))
                fprintf(c,
                        ", .presence = PA_PRESENCE_ONEOF, .presence_offset = offsetof(struct "
                        "%s, %s_case), .oneof = \"%s\"",
                        t, oneof_name(m), oneof_name(m));
            else if (!is_repeated(f))
                fprintf(c,
                        ", .presence = PA_PRESENCE_FLAG, .presence_offset = offsetof(struct %s, "
                        "has_%s)",
                        t, f->name);
        } else if (is_oneof(f)) {
            fail("%s.%s: a oneof member that is not a message (pa_msg has no case for it)", m->name,
                 f->name);
        }
        fprintf(c, "},\n");
    }
    fprintf(c, "};\n");
    fprintf(c,
            "const struct pa_msg_desc %s_desc = {\"%s\", sizeof(struct %s), %s_fields, "
            "sizeof(%s_fields) / sizeof(%s_fields[0]), &%s};\n\n",
            t, m->name, t, t, t, t, pb_descriptor_name(m));
}

static void write_wrappers(FILE *c, const ProtobufCMessageDescriptor *m)
{
    const char *t = c_name(m->short_name);
    fprintf(c,
            "int %s_to_json(const struct %s *msg, json_t **out, struct ft_error *err)\n{\n"
            "    return pa_msg_to_json(&%s_desc, msg, out, err);\n}\n",
            t, t, t);
    fprintf(c,
            "int %s_from_json(const char *text, size_t len, struct %s *out, "
            "struct ft_error *err)\n{\n"
            "    return pa_msg_from_json(&%s_desc, text, len, out, err);\n}\n",
            t, t, t);
    if (holds_heap(m))
        fprintf(c, "void %s_free(struct %s *msg)\n{\n    pa_msg_free(&%s_desc, msg);\n}\n", t, t,
                t);
    fprintf(c, "\n");
}

static bool sessionless(const char *rpc)
{
    for (size_t i = 0; i < sizeof(sessionless_rpcs) / sizeof(sessionless_rpcs[0]); i++) {
        if (strcmp(sessionless_rpcs[i], rpc) == 0)
            return true;
    }
    return false;
}

static void write_source(FILE *c, const ProtobufCMessageDescriptor *const *all, size_t n)
{
    fprintf(c, "/* Generated by pa_msggen from proto/ and pa_limits.c; do not edit. */\n"
               "#include <stddef.h>\n\n#include \"ot/registry_record.pb-c.h\"\n"
               "#include \"pa/pa_msg.h\"\n\n");
    /* Tables refer to nested messages' descriptors: declare all first. */
    for (size_t i = 0; i < n; i++)
        write_table(c, all[i]);
    fprintf(c, "static const struct pa_msg_desc *const all_msgs[] = {\n");
    for (size_t i = 0; i < n; i++)
        fprintf(c, "    &%s_desc,\n", c_name(all[i]->short_name));
    fprintf(c, "};\n\n"
               "const struct pa_msg_desc *const *pa_msg_desc_list(size_t *count)\n{\n"
               "    *count = sizeof(all_msgs) / sizeof(all_msgs[0]);\n    return all_msgs;\n}\n\n");

    const ProtobufCServiceDescriptor *s = &pa__provisioning_appliance_service__descriptor;
    fprintf(c, "static const struct pa_rpc_desc rpcs[] = {\n");
    for (unsigned i = 0; i < s->n_methods; i++) {
        const ProtobufCMethodDescriptor *rpc = &s->methods[i];
        fprintf(c, "    {\"%s\", PA_RPC_PATH_PREFIX \"%s\", &%s_desc, ", rpc->name, rpc->name,
                c_name(rpc->input->short_name));
        fprintf(c, "&%s_desc, %s},\n", c_name(rpc->output->short_name),
                sessionless(rpc->name) ? "false" : "true");
    }
    fprintf(c, "};\n\n"
               "const struct pa_rpc_desc *pa_rpc_list(size_t *count)\n{\n"
               "    *count = sizeof(rpcs) / sizeof(rpcs[0]);\n    return rpcs;\n}\n\n");
    for (size_t i = 0; i < n; i++)
        write_wrappers(c, all[i]);
}

/* Two messages of one short name in different packages would get one C name. */
static void check_names(const ProtobufCMessageDescriptor *const *all, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(all[i]->short_name, all[j]->short_name) == 0)
                fail("%s and %s would have the same C name", all[i]->name, all[j]->name);
        }
    }
}

static void write_file(const char *path,
                       void (*write)(FILE *, const ProtobufCMessageDescriptor *const *, size_t),
                       const ProtobufCMessageDescriptor *const *all, size_t n)
{
    out_path = path;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        fail("cannot write %s%s", path, "");
    write(f, all, n);
    if (fclose(f) != 0)
        fail("cannot write %s%s", path, "");
    out_path = NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pa_msggen HEADER SOURCE\n");
        return 2;
    }
    size_t n = 0;
    const ProtobufCMessageDescriptor *const *all = pa_schema_messages(&n);
    check_names(all, n);
    write_file(argv[1], write_header, all, n);
    write_file(argv[2], write_source, all, n);
    return 0;
}
