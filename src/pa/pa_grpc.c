#include "pa/pa_grpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/hex.h"
#include "pa/pa_pbjson.h"
#include "pa/pa_schema.h"

/* The message limit pa_msg.h allows for one JSON document bounds the binary one too: no
 * PA message comes near it, and a length above it is a broken or hostile peer. */
#define GRPC_MESSAGE_MAX PA_JSON_TEXT_MAX

/* The generated descriptors of the RPC's messages (proto/pa.proto by protoc-c). */
static const ProtobufCMethodDescriptor *method_of(const struct pa_rpc_desc *rpc,
                                                  struct ft_error *err)
{
    const ProtobufCMethodDescriptor *m = pa_schema_method(rpc->name);
    if (m == NULL)
        ft_fail(err, FT_E_INVALID, "%s is not an RPC of proto/pa.proto", rpc->name);
    return m;
}

int pa_grpc_request_body(const struct pa_rpc_desc *rpc, const char *json, size_t len, uint8_t **out,
                         size_t *out_len, struct ft_error *err)
{
    *out = NULL;
    *out_len = 0;
    const ProtobufCMethodDescriptor *m = method_of(rpc, err);
    if (m == NULL)
        return -1;
    if (len > PA_JSON_TEXT_MAX)
        return ft_fail(err, FT_E_RANGE, "%s: request of %zu bytes of JSON, limit %u",
                       m->input->name, len, PA_JSON_TEXT_MAX);
    json_error_t jerr;
    memset(&jerr, 0, sizeof(jerr));
    /* An empty request is the empty message, as on the JSON transport. */
    json_t *value = len == 0 ? json_object() : json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (value == NULL)
        return ft_fail(err, FT_E_INVALID, "%s: request is not JSON: %s at %d:%d", m->input->name,
                       len == 0 ? "out of memory" : jerr.text, jerr.line, jerr.column);
    ProtobufCMessage *msg = NULL;
    int rc = pa_pbjson_read(m->input, value, &msg, err);
    json_decref(value);
    if (rc != 0)
        return -1;
    size_t n = 0;
    uint8_t *framed = pa_schema_pack(msg, PA_GRPC_PREFIX_LEN, &n);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (framed == NULL)
        return ft_fail(err, FT_E_NOMEM, "out of memory");
    if (n > GRPC_MESSAGE_MAX) {
        free(framed);
        return ft_fail(err, FT_E_RANGE, "request of %zu bytes, limit %u", n, GRPC_MESSAGE_MAX);
    }
    framed[0] = 0; /* not compressed */
    for (int i = 0; i < 4; i++)
        framed[1 + i] = (uint8_t)(n >> (24 - 8 * i));
    *out = framed;
    *out_len = PA_GRPC_PREFIX_LEN + n;
    return 0;
}

/* The one message of a unary answer: where it starts in `body` and its length. */
static int unframe(const uint8_t *body, size_t len, uint32_t *n, struct ft_error *err)
{
    if (len < PA_GRPC_PREFIX_LEN)
        return ft_fail(err, FT_E_PROTOCOL,
                       "response body of %zu bytes holds no message (a unary call answers "
                       "with exactly one)",
                       len);
    if (body[0] != 0)
        return ft_fail(err, FT_E_PROTOCOL,
                       "response message compressed (flag %u) though only identity was "
                       "accepted",
                       body[0]);
    *n = (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 8 |
         (uint32_t)body[4];
    size_t got = len - PA_GRPC_PREFIX_LEN;
    if (*n > GRPC_MESSAGE_MAX)
        return ft_fail(err, FT_E_RANGE, "response message of %u bytes, limit %u", *n,
                       GRPC_MESSAGE_MAX);
    if (got < *n)
        return ft_fail(err, FT_E_TRUNCATED, "response message cut short: %zu of %u bytes", got, *n);
    if (got > *n)
        return ft_fail(err, FT_E_PROTOCOL,
                       "response body holds %zu bytes after its %u-byte message (a unary call "
                       "answers with exactly one message)",
                       got - *n, *n);
    return 0;
}

int pa_grpc_response_json(const struct pa_rpc_desc *rpc, const uint8_t *body, size_t len,
                          char **out, size_t *out_len, struct ft_error *err)
{
    *out = NULL;
    *out_len = 0;
    uint32_t n = 0;
    if (unframe(body, len, &n, err) != 0)
        return -1;
    const ProtobufCMethodDescriptor *m = method_of(rpc, err);
    if (m == NULL)
        return -1;
    ProtobufCMessage *msg =
        protobuf_c_message_unpack(m->output, NULL, n, body + PA_GRPC_PREFIX_LEN);
    if (msg == NULL)
        return ft_fail(err, FT_E_PROTOCOL, "%s: %u bytes that are not a valid message",
                       m->output->name, n);
    json_t *json = NULL;
    int rc = pa_pbjson_write(msg, &json, err);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (rc == 0) {
        *out = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (*out != NULL)
            *out_len = strlen(*out);
        else
            rc = ft_fail(err, FT_E_NOMEM, "out of memory");
    }
    json_decref(json);
    return rc;
}

void pa_grpc_timeout_header(long ms, char out[PA_GRPC_TIMEOUT_HEADER_MAX])
{
    static const struct {
        char unit;
        long per;
    } units[] = {{'m', 1}, {'S', 1000}, {'M', 60000}, {'H', 3600000}};
    size_t u = 0;
    /* Rounded up: a deadline must not end before ours does. */
    while (u + 1 < sizeof(units) / sizeof(units[0]) &&
           (ms + units[u].per - 1) / units[u].per > 99999999)
        u++;
    snprintf(out, PA_GRPC_TIMEOUT_HEADER_MAX, "grpc-timeout: %ld%c",
             (ms + units[u].per - 1) / units[u].per, units[u].unit);
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int pa_grpc_parse_status(const char *value, size_t len)
{
    while (len > 0 && blank(value[0])) {
        value++;
        len--;
    }
    while (len > 0 && blank(value[len - 1]))
        len--;
    if (len == 0 || len > 2)
        return -1;
    int code = 0;
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return -1;
        code = code * 10 + (value[i] - '0');
    }
    return code <= 16 ? code : -1;
}

void pa_grpc_decode_message(const char *value, size_t len, char *out, size_t cap)
{
    while (len > 0 && blank(value[0])) {
        value++;
        len--;
    }
    while (len > 0 && blank(value[len - 1]))
        len--;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)value[i];
        uint8_t byte;
        size_t n;
        if (c == '%' && i + 2 < len && hex_decode(value + i + 1, 2, &byte, 1, &n, NULL) == 0) {
            c = byte;
            i += 2;
        }
        out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[o] = '\0';
}

int pa_grpc_code_from_http_status(long http_status)
{
    switch (http_status) {
    case 400:
        return 13; /* INTERNAL */
    case 401:
        return 16; /* UNAUTHENTICATED */
    case 403:
        return 7; /* PERMISSION_DENIED */
    case 404:
        return 12; /* UNIMPLEMENTED */
    case 429:
    case 502:
    case 503:
    case 504:
        return 14; /* UNAVAILABLE */
    default:
        return 2; /* UNKNOWN */
    }
}

bool pa_grpc_code_transient(int code)
{
    return code == 14 || code == 8 || code == 4;
}
