/* The scalar values of proto3 JSON read from jansson values, with the rules protojson
 * follows: integers from JSON numbers or decimal strings in any notation whose value is
 * integral ("1e3", "10.0"); bytes from standard or URL-safe base64, padded or not.
 * Errors go through a msg_path, so they name the message and the field. Used by the JSON
 * codec (pa_pbjson.c) and google.rpc.Status's decoder (pa_msg.c). */
#ifndef FTHARNESS_PA_JSON_SCALAR_H
#define FTHARNESS_PA_JSON_SCALAR_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pa/msg_path.h"

/* At most 48 characters of untrusted `text`, printable ASCII only (others become '?'),
 * "..." when cut: safe to put in an error message or a log line. */
void pa_quote_untrusted(const char *text, char out[64]);

/* "an object", "a string", "a number", ... for error messages. */
const char *pa_json_type_name(const json_t *v);

/* Fails with "expected WANT, got <type of got>"; returns -1. */
int pa_json_type_error(struct msg_path *c, const char *want, const json_t *got);

/* An integer: a JSON integer, an integral real up to 2^53, or (with `allow_string`) a
 * string holding a JSON number with an integral value; sign and magnitude. */
int pa_json_get_integer(struct msg_path *c, const json_t *v, bool allow_string, bool *negative,
                        uint64_t *mag);

/* The same, not negative and at most `max`. Strings allowed. */
int pa_json_get_unsigned(struct msg_path *c, const json_t *v, uint64_t max, uint64_t *out);

/* The same within int32 (an enum number, a status code). */
int pa_json_get_int32(struct msg_path *c, const json_t *v, bool allow_string, int32_t *out);

/* The number of bytes base64 `text` (n characters) decodes to, from its shape alone. */
int pa_base64_shape(struct msg_path *c, const char *text, size_t n, size_t *decoded);

/* Decodes base64 `text` into `dst`: exactly `decoded` bytes, as pa_base64_shape said. */
int pa_base64_into(struct msg_path *c, const char *text, size_t n, uint8_t *dst, size_t decoded);

/* A base64 string `v`: the number of bytes it decodes to, at most `max`. */
int pa_json_base64_length(struct msg_path *c, const json_t *v, size_t max, size_t *decoded);

/* A base64 string `v` decoded into a NEW heap buffer of at most `max` bytes: *data and
 * *len, left as they were (NULL, 0) when the string is empty. */
int pa_json_get_base64(struct msg_path *c, const json_t *v, size_t max, uint8_t **data,
                       size_t *len);

/* Whether JSON object key `key` names the field `proto_name`: that name, or protoc's JSON
 * name of it (each '_' dropped and the letter after it upper-cased). */
bool pa_json_key_names(const char *key, const char *proto_name);

/* A string of at most `max` characters (bytes of UTF-8) without NUL: its length in *len;
 * the text is json_string_value(v). */
int pa_json_get_string(struct msg_path *c, const json_t *v, size_t max, size_t *len);

/* An enum value: a name of `e`, or any int32 number (proto3 enums are open). */
int pa_json_get_enum(struct msg_path *c, const ProtobufCEnumDescriptor *e, const json_t *v,
                     int32_t *out);

/* `len` bytes as a NEW JSON string of padded standard base64. */
int pa_json_base64(struct msg_path *c, const uint8_t *data, size_t len, json_t **out);

#endif
