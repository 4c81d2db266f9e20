/* proto3 JSON for any message protoc-c generated, driven by its descriptor alone: no
 * table per message. The mapping is the one pa_msg.h describes (and docs/pa-api.md):
 *
 *   write: snake_case names in field-number order; default values omitted (a oneof
 *          member that is set is written even when zero); bytes as padded standard
 *          base64; enums by name (a number without a name as the number); 64-bit
 *          integers as decimal strings, 32-bit ones as numbers.
 *   read:  one JSON object; snake_case or lowerCamelCase names (the same field under
 *          both is a duplicate); unknown fields rejected naming the key; null means
 *          "not set"; bytes in standard or URL-safe base64, padded or not; enums by name
 *          or by any int32 number; integers as numbers or decimal strings; strings must
 *          not hold NUL; at most one member per oneof.
 *
 * A message unpacked from the wire with fields the schema does not know is refused on
 * write, naming the field number: a peer on another schema must not pass as ours.
 *
 * The limits of pa_msg.h (docs/pa-api.md §7: characters, bytes, elements per field) apply
 * to the PA schema's fields on read and on write, found by message and field name; a
 * value over one fails with FT_E_CAPACITY naming the field.
 *
 * Ownership: *out of pa_pbjson_read is NEW, free it with protobuf_c_message_free_unpacked
 * (msg, NULL); *out of pa_pbjson_write is a NEW jansson reference. */
#ifndef FTHARNESS_PA_PA_PBJSON_H
#define FTHARNESS_PA_PA_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "common/error.h"

/* Nesting of messages within messages that the codec follows (the PA schema needs 3). */
#define PA_PBJSON_DEPTH_MAX 16

int pa_pbjson_read(const ProtobufCMessageDescriptor *desc, const json_t *value,
                   ProtobufCMessage **out, struct ft_error *err);

int pa_pbjson_write(const ProtobufCMessage *msg, json_t **out, struct ft_error *err);

#endif
