/* Fuzz target: the PA API decoders of outside bytes. The input goes to every message's
 * JSON decoder, to the google.rpc.Status decoder and to every message's protobuf decoder;
 * whatever decodes must survive encode -> decode unchanged, and protobuf input that
 * decodes must re-encode to the very same bytes (the decoder accepts canonical form only). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pa/pa_msg.h"
#include "pa/pa_proto.h"

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

static void fuzz_json(const struct pa_msg_desc *desc, const char *text, size_t size)
{
    void *msg = calloc(1, desc->size);
    if (pa_msg_from_json(desc, text, size, msg, NULL) == 0)
        check_round_trips(desc, msg);
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
    /* A copy of exactly `size` bytes, so any over-read is caught. */
    char *text = malloc(size ? size : 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    size_t count;
    const struct pa_msg_desc *const *all = pa_msg_desc_list(&count);
    for (size_t i = 0; i < count; i++) {
        fuzz_json(all[i], text, size);
        fuzz_proto(all[i], (const uint8_t *)text, size);
    }
    fuzz_status(text, size);
    free(text);
    return 0;
}
