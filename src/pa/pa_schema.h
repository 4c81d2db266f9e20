/* The PA schema as protoc-c compiled it from proto/: its service, and every message found
 * from the service's RPCs and the registry's record by following message-typed fields. */
#ifndef FTHARNESS_PA_PA_SCHEMA_H
#define FTHARNESS_PA_PA_SCHEMA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* pa.ProvisioningApplianceService's RPC `name` ("EndorseCerts"), or NULL. */
const ProtobufCMethodDescriptor *pa_schema_method(const char *name);

/* The message of full name `name` ("pa.EndorseCertsRequest", "ot.DeviceData"), or NULL. */
const ProtobufCMessageDescriptor *pa_schema_message(const char *name);

/* The name of `msg`'s oneof ("key" for crypto.cert.SigningKeyParams), or NULL when it has
 * none or is not a schema message. protobuf-c's descriptors do not keep oneof names; the
 * schema's oneofs, one per message at most, are listed in pa_schema.c. */
const char *pa_schema_oneof_name(const ProtobufCMessageDescriptor *msg);

/* All the messages, each once: *count of them. */
const ProtobufCMessageDescriptor *const *pa_schema_messages(size_t *count);

/* Bytes of one element of a repeated field of type `type` in protobuf-c's arrays (and of
 * the member of a singular one). */
size_t pa_schema_element_size(ProtobufCType type);

/* A zeroed array of `n` (> 0) elements for repeated field `f` of `msg`, attached to it with
 * a count of 0: the caller raises the count with each element it fills, so that
 * protobuf_c_message_free_unpacked frees exactly those. NULL when out of memory. */
void *pa_schema_new_array(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, size_t n);

/* `msg` packed into a NEW buffer (free() it; NULL when out of memory) after `headroom`
 * bytes left for the caller (a gRPC frame's prefix); *len is the packed length alone. */
uint8_t *pa_schema_pack(const ProtobufCMessage *msg, size_t headroom, size_t *len);

#endif
