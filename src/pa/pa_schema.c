#include "pa/pa_schema.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ot/registry_record.pb-c.h"
#include "pa.pb-c.h"

#define SCHEMA_MESSAGES_MAX 128

static const ProtobufCMessageDescriptor *messages[SCHEMA_MESSAGES_MAX];
static size_t n_messages;
static pthread_once_t walked = PTHREAD_ONCE_INIT;

static void add(const ProtobufCMessageDescriptor *d)
{
    for (size_t i = 0; i < n_messages; i++)
        if (messages[i] == d)
            return;
    if (n_messages == SCHEMA_MESSAGES_MAX)
        return;
    messages[n_messages++] = d;
    for (unsigned f = 0; f < d->n_fields; f++)
        if (d->fields[f].type == PROTOBUF_C_TYPE_MESSAGE)
            add(d->fields[f].descriptor);
}

/* The RegistryRecord is no RPC's: RegisterDevice stores it, signed over a DeviceData. */
static void walk(void)
{
    const ProtobufCServiceDescriptor *s = &pa__provisioning_appliance_service__descriptor;
    for (unsigned i = 0; i < s->n_methods; i++) {
        add(s->methods[i].input);
        add(s->methods[i].output);
    }
    add(&ot__registry_record__descriptor);
}

const ProtobufCMethodDescriptor *pa_schema_method(const char *name)
{
    return protobuf_c_service_descriptor_get_method_by_name(
        &pa__provisioning_appliance_service__descriptor, name);
}

const ProtobufCMessageDescriptor *pa_schema_message(const char *name)
{
    pthread_once(&walked, walk);
    for (size_t i = 0; i < n_messages; i++)
        if (strcmp(messages[i]->name, name) == 0)
            return messages[i];
    return NULL;
}

const ProtobufCMessageDescriptor *const *pa_schema_messages(size_t *count)
{
    pthread_once(&walked, walk);
    *count = n_messages;
    return messages;
}

uint8_t *pa_schema_pack(const ProtobufCMessage *msg, size_t headroom, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *data = malloc(headroom + *len + 1); /* +1: never malloc(0) */
    if (data != NULL)
        protobuf_c_message_pack(msg, data + headroom);
    return data;
}
