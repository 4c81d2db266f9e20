#include "pa/pa_schema.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.pb-c.h"
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

const char *pa_schema_oneof_name(const ProtobufCMessageDescriptor *msg)
{
    static const struct {
        const ProtobufCMessageDescriptor *message;
        const char *oneof;
    } names[] = {
        {&crypto__cert__signing_key_params__descriptor, "key"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].message == msg)
            return names[i].oneof;
    return NULL;
}

const ProtobufCMessageDescriptor *const *pa_schema_messages(size_t *count)
{
    pthread_once(&walked, walk);
    *count = n_messages;
    return messages;
}

size_t pa_schema_element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4; /* the 32-bit integers, enums and float */
    }
}

void *pa_schema_new_array(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, size_t n)
{
    void *elements = calloc(n, pa_schema_element_size(f->type));
    if (elements != NULL) {
        *(void **)(void *)((char *)msg + f->offset) = elements;
        *(size_t *)(void *)((char *)msg + f->quantifier_offset) = 0;
    }
    return elements;
}

uint8_t *pa_schema_pack(const ProtobufCMessage *msg, size_t headroom, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *data = malloc(headroom + *len + 1); /* +1: never malloc(0) */
    if (data != NULL)
        protobuf_c_message_pack(msg, data + headroom);
    return data;
}
