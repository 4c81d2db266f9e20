/* Fuzz target: the PA API decoders of outside bytes: every message's JSON decoder, every
 * message's protobuf decoder and the google.rpc.Status decoder. Whatever decodes must
 * survive encode -> decode unchanged, and protobuf input that decodes must re-encode to the
 * very same bytes (the decoder accepts canonical form only). JSON also goes to pa_pbjson
 * alone, over the generated descriptors: what it reads must write and read back to the same
 * bytes, and what pa_msg accepts (pa_pbjson, then the copy into the struct) it must read to
 * the bytes pa_proto_encode writes from the struct: the copies lose nothing.
 *
 * Input: byte 0 picks ONE decoder for the rest of the input. Its low bit picks the codec
 * (0 JSON, 1 protobuf), so a single bit flip carries an input between the two; the other
 * seven bits, modulo (number of messages + 1), pick the message in pa_msg_desc_list()
 * order, the last index being google.rpc.Status (JSON only, under either codec bit). A
 * change to that list re-maps the selectors: the seeds' byte 0 must then be redone.
 * Sending each input through all ~60 decoders, most of which refused it within a few
 * bytes, ran about 15 times fewer executions per second; with one decoder per input the
 * time goes to inputs shaped for that decoder. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pa/pa_msg.h"
#include "pa/pa_pbjson.h"
#include "pa/pa_proto.h"
#include "pa/pa_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* decode(encode(msg)) == msg through JSON text and through protobuf. */
static void check_round_trips(const struct pa_msg_desc *desc, const void *msg)
{
    json_t *j = NULL;
    if (pa_msg_to_json(desc, msg, &j, NULL) != 0)
        abort(); /* a decoded message always encodes */
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL)
        abort();
    void *back = calloc(1, desc->size);
    if (pa_msg_from_json(desc, text, strlen(text), back, NULL) != 0 ||
        !pa_msg_equal(desc, msg, back))
        abort();
    pa_msg_free(desc, back);
    free(text);

    struct pa_bytes wire = {0};
    if (pa_proto_encode(desc, msg, &wire, NULL) != 0)
        abort();
    if (pa_proto_decode(desc, wire.data, wire.len, back, NULL) != 0 ||
        !pa_msg_equal(desc, msg, back))
        abort();
    pa_msg_free(desc, back);
    free(back);
    free(wire.data);
}

/* The packed form of what pa_pbjson reads from `text` (NULL when it refuses it); a
 * message it reads must write and read back to the same bytes. */
static uint8_t *pbjson_packed(const ProtobufCMessageDescriptor *d, const char *text, size_t size,
                              size_t *len)
{
    json_t *value =
        size == 0 ? json_object() : json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
    ProtobufCMessage *msg = NULL;
    int rc = value ? pa_pbjson_read(d, value, &msg, NULL) : -1;
    json_decref(value);
    if (rc != 0)
        return NULL;
    uint8_t *wire = pa_schema_pack(msg, 0, len);
    json_t *written = NULL;
    ProtobufCMessage *back = NULL;
    if (wire == NULL || pa_pbjson_write(msg, &written, NULL) != 0 ||
        pa_pbjson_read(d, written, &back, NULL) != 0)
        abort();
    size_t again_len = 0;
    uint8_t *again = pa_schema_pack(back, 0, &again_len);
    if (again == NULL || again_len != *len || memcmp(again, wire, *len) != 0)
        abort();
    free(again);
    json_decref(written);
    protobuf_c_message_free_unpacked(back, NULL);
    protobuf_c_message_free_unpacked(msg, NULL);
    return wire;
}

static void fuzz_json(const struct pa_msg_desc *desc, const char *text, size_t size)
{
    void *msg = calloc(1, desc->size);
    size_t pb_len = 0;
    uint8_t *pb = pbjson_packed(desc->generated, text, size, &pb_len);
    if (pa_msg_from_json(desc, text, size, msg, NULL) == 0) {
        check_round_trips(desc, msg);
        /* What the struct codec accepts, the descriptor-driven one reads to the same bytes
         * (the converse need not hold: only the struct requires a member in each oneof). */
        struct pa_bytes wire = {0};
        if (pb == NULL || pa_proto_encode(desc, msg, &wire, NULL) != 0 || wire.len != pb_len ||
            (pb_len > 0 && memcmp(wire.data, pb, pb_len) != 0))
            abort();
        free(wire.data);
    }
    free(pb);
    pa_msg_free(desc, msg);
    free(msg);
}

static void fuzz_proto(const struct pa_msg_desc *desc, const uint8_t *data, size_t size)
{
    void *msg = calloc(1, desc->size);
    if (pa_proto_decode(desc, data, size, msg, NULL) == 0) {
        struct pa_bytes wire = {0};
        if (pa_proto_encode(desc, msg, &wire, NULL) != 0 || wire.len != size ||
            (size > 0 && memcmp(wire.data, data, size) != 0))
            abort();
        free(wire.data);
        check_round_trips(desc, msg);
    }
    pa_msg_free(desc, msg);
    free(msg);
}

static void fuzz_status(const char *text, size_t size)
{
    struct pa_status st, back;
    if (pa_status_from_json(text, size, &st, NULL) != 0)
        return;
    json_t *j = pa_status_to_json(st.code, st.message);
    char *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (out == NULL || pa_status_from_json(out, strlen(out), &back, NULL) != 0 ||
        back.code != st.code || strcmp(back.message, st.message) != 0)
        abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t count;
    const struct pa_msg_desc *const *all = pa_msg_desc_list(&count);
    bool proto = (data[0] & 1) != 0;
    size_t which = (size_t)(data[0] >> 1) % (count + 1);
    data++;
    size--;

    /* A copy of exactly `size` bytes, so any over-read is caught. */
    char *text = malloc(size ? size : 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    if (which == count)
        fuzz_status(text, size);
    else if (proto)
        fuzz_proto(all[which], (const uint8_t *)text, size);
    else
        fuzz_json(all[which], text, size);
    free(text);
    return 0;
}
