#include "pa/pa_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pa/json_scalar.h"
#include "pa/msg_path.h"
#include "pa/pa_msg_pb.h"
#include "pa/pa_pbjson.h"

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

bool pa_field_present(const struct pa_field_desc *f, const void *msg)
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

/* ---- JSON: protoc-c's message in between, pa_pbjson.c its codec ------------------------- */

int pa_msg_from_json_value(const struct pa_msg_desc *desc, const json_t *value, void *out,
                           struct ft_error *err)
{
    memset(out, 0, desc->size);
    if (value == NULL)
        return ft_fail(err, FT_E_INVALID, "%s: no JSON value", desc->name);
    if (!json_is_object(value))
        return ft_fail(err, FT_E_INVALID, "%s: not a JSON object (%s)", desc->name,
                       pa_json_type_name(value));
    ProtobufCMessage *pb = NULL;
    if (pa_pbjson_read(desc->generated, value, &pb, err) != 0)
        return -1;
    int rc = pa_msg_from_pb(desc, pb, out, err);
    protobuf_c_message_free_unpacked(pb, NULL);
    return rc;
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

int pa_msg_to_json(const struct pa_msg_desc *desc, const void *msg, json_t **out,
                   struct ft_error *err)
{
    *out = NULL;
    ProtobufCMessage *pb = NULL;
    if (pa_msg_to_pb(desc, msg, &pb, err) != 0)
        return -1;
    int rc = pa_pbjson_write(pb, out, err);
    protobuf_c_message_free_unpacked(pb, NULL);
    return rc;
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
            bool pa = pa_field_present(f, a);
            if (pa != pa_field_present(f, b))
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
