/* Fuzz target: what the plugin runner sends back (frames and their payloads, read the way
 * the host reads HELLO, LOG, RESULT, FAILURE and VIOLATION) and the REQUEST decoder the
 * runner applies to what the host sends. Borrowed pointers must stay inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const void *p, size_t len, const uint8_t *buf, size_t size)
{
    const uint8_t *b = p;
    if (b < buf || b + len > buf + size)
        abort();
}

static void read_payload(uint32_t type, const uint8_t *payload, size_t len, const uint8_t *data,
                         size_t size)
{
    struct pp_reader r;
    pp_reader_init(&r, payload, len);
    uint32_t a, b, c;
    const char *s1, *s2;
    const uint8_t *body;
    size_t body_len;
    switch (type) {
    case PLUGIN_MSG_HELLO:
        if (pp_get_u32(&r, "abi major", &a, NULL) == 0 &&
            pp_get_u32(&r, "abi minor", &b, NULL) == 0 &&
            pp_get_u32(&r, "struct size", &c, NULL) == 0 &&
            pp_get_str(&r, "name", PLUGIN_DESC_STR_MAX, &s1, NULL) == 0 &&
            pp_get_str(&r, "version", PLUGIN_DESC_STR_MAX, &s2, NULL) == 0) {
            inside(s1, strlen(s1) + 1, data, size);
            inside(s2, strlen(s2) + 1, data, size);
            plugin_check_abi(a, c, NULL);
            plugin_check_desc_str("name", s1, strlen(s1), false, NULL);
            pp_get_end(&r, "hello", NULL);
        }
        break;
    case PLUGIN_MSG_LOG:
        if (pp_get_u32(&r, "level", &a, NULL) == 0 &&
            pp_get_str(&r, "text", FT_EXT_LOG_LINE_MAX - 1, &s1, NULL) == 0)
            inside(s1, strlen(s1) + 1, data, size);
        break;
    case PLUGIN_MSG_RESULT:
        if (pp_get_u32(&r, "return value", &a, NULL) == 0 &&
            pp_get_u32(&r, "object count", &b, NULL) == 0 &&
            pp_get_bytes(&r, "body", FT_EXT_BODY_CAPACITY, &body, &body_len, NULL) == 0) {
            if (body_len > FT_EXT_BODY_CAPACITY)
                abort();
            inside(body, body_len, data, size);
            if (pp_get_str(&r, "text", FT_EXT_POST_BOOT_TEXT_MAX - 1, &s1, NULL) == 0)
                inside(s1, strlen(s1) + 1, data, size);
        }
        break;
    default:
        if (pp_get_u32(&r, "syscall", &a, NULL) == 0 && pp_get_str(&r, "text", 200, &s1, NULL) == 0)
            inside(s1, strlen(s1) + 1, data, size);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    for (;;) {
        uint32_t type;
        const uint8_t *payload;
        size_t len, used;
        if (pp_frame_parse(data + pos, size - pos, PLUGIN_REPLY_MAX, &type, &payload, &len, &used,
                           NULL) != 1)
            break;
        if (used == 0 || used > size - pos || len > PLUGIN_REPLY_MAX)
            abort();
        inside(payload, len, data, size);
        read_payload(type, payload, len, data, size);
        pos += used;
    }
    struct plugin_wire_request rq;
    if (plugin_request_decode(data, size, &rq, NULL) == 0) {
        if (rq.body_len > rq.capacity || rq.capacity > FT_EXT_BODY_CAPACITY ||
            rq.num_inputs > PLUGIN_INPUTS_MAX)
            abort();
        inside(rq.sku, strlen(rq.sku) + 1, data, size);
        if (rq.body_len > 0)
            inside(rq.body, rq.body_len, data, size);
        for (size_t i = 0; i < rq.num_inputs; i++)
            if (rq.inputs[i].len > 0)
                inside(rq.inputs[i].data, rq.inputs[i].len, data, size);
    }
    return 0;
}
