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

/* All the messages, each once: *count of them. */
const ProtobufCMessageDescriptor *const *pa_schema_messages(size_t *count);

/* `msg` packed into a NEW buffer (free() it; NULL when out of memory) after `headroom`
 * bytes left for the caller (a gRPC frame's prefix); *len is the packed length alone. */
uint8_t *pa_schema_pack(const ProtobufCMessage *msg, size_t headroom, size_t *len);

#endif
