#include "plugin/plugin_proto.h"

#include <string.h>

/* Everything here is plain memory work (no allocation, no system calls), so the runner's
 * SIGSYS handler may use the writer too. */

void pp_writer_init(struct pp_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

static void put_raw(struct pp_writer *w, const void *data, size_t len)
{
    if (w->overflow || len > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (len > 0)
        memcpy(w->buf + w->len, data, len);
    w->len += len;
}

void pp_put_u32(struct pp_writer *w, uint32_t v)
{
    put_raw(w, &v, sizeof(v));
}

void pp_put_u64(struct pp_writer *w, uint64_t v)
{
    put_raw(w, &v, sizeof(v));
}

void pp_put_bytes(struct pp_writer *w, const void *data, size_t len)
{
    if (len > UINT32_MAX) {
        w->overflow = true;
        return;
    }
    pp_put_u32(w, (uint32_t)len);
    put_raw(w, data, len);
}

void pp_put_str(struct pp_writer *w, const char *s)
{
    if (s == NULL)
        s = "";
    pp_put_bytes(w, s, strlen(s) + 1);
}

size_t pp_frame_begin(struct pp_writer *w, enum plugin_msg_type type)
{
    size_t start = w->len;
    pp_put_u32(w, (uint32_t)type);
    pp_put_u32(w, 0); /* patched by pp_frame_end */
    return start;
}

void pp_frame_end(struct pp_writer *w, size_t frame_start)
{
    if (w->overflow)
        return;
    size_t payload = w->len - frame_start - PLUGIN_FRAME_HEADER;
    if (payload > UINT32_MAX) {
        w->overflow = true;
        return;
    }
    uint32_t len32 = (uint32_t)payload;
    memcpy(w->buf + frame_start + 4, &len32, sizeof(len32));
}

void pp_reader_init(struct pp_reader *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = len;
    r->pos = 0;
}

/* The getters fail with an explicit -1 rather than ft_fail's value, so the compiler can
 * see that no caller reads an output the getter did not write. */
static int get_raw(struct pp_reader *r, const char *what, void *out, size_t len,
                   struct ft_error *err)
{
    if (len > r->len - r->pos) {
        ft_fail(err, FT_E_TRUNCATED, "%s: %zu bytes needed at offset %zu, %zu left", what, len,
                r->pos, r->len - r->pos);
        return -1;
    }
    memcpy(out, r->buf + r->pos, len);
    r->pos += len;
    return 0;
}

int pp_get_u32(struct pp_reader *r, const char *what, uint32_t *v, struct ft_error *err)
{
    return get_raw(r, what, v, sizeof(*v), err);
}

int pp_get_u64(struct pp_reader *r, const char *what, uint64_t *v, struct ft_error *err)
{
    return get_raw(r, what, v, sizeof(*v), err);
}

int pp_get_bytes(struct pp_reader *r, const char *what, size_t max, const uint8_t **data,
                 size_t *len, struct ft_error *err)
{
    uint32_t n;
    if (pp_get_u32(r, what, &n, err) != 0)
        return -1;
    if (n > max) {
        ft_fail(err, FT_E_RANGE, "%s: %u bytes, at most %zu allowed", what, n, max);
        return -1;
    }
    if (n > r->len - r->pos) {
        ft_fail(err, FT_E_TRUNCATED, "%s: %u bytes announced, %zu left", what, n, r->len - r->pos);
        return -1;
    }
    *data = r->buf + r->pos;
    *len = n;
    r->pos += n;
    return 0;
}

int pp_get_str(struct pp_reader *r, const char *what, size_t max, const char **s,
               struct ft_error *err)
{
    const uint8_t *data;
    size_t len;
    if (pp_get_bytes(r, what, max + 1, &data, &len, err) != 0)
        return -1;
    if (len == 0 || data[len - 1] != '\0')
        return ft_fail(err, FT_E_INVALID, "%s: string without its terminating NUL", what);
    if (memchr(data, '\0', len - 1) != NULL)
        return ft_fail(err, FT_E_INVALID, "%s: string holds a NUL byte", what);
    *s = (const char *)data;
    return 0;
}

int pp_get_end(const struct pp_reader *r, const char *what, struct ft_error *err)
{
    if (r->pos != r->len)
        return ft_fail(err, FT_E_INVALID, "%s: %zu unexpected bytes at the end", what,
                       r->len - r->pos);
    return 0;
}

int pp_frame_parse(const uint8_t *buf, size_t avail, size_t max, uint32_t *type,
                   const uint8_t **payload, size_t *payload_len, size_t *consumed,
                   struct ft_error *err)
{
    if (avail < PLUGIN_FRAME_HEADER)
        return 0;
    uint32_t len;
    memcpy(type, buf, sizeof(*type));
    memcpy(&len, buf + 4, sizeof(len));
    if (len > max)
        return ft_fail(err, FT_E_RANGE, "message type %u announces %u bytes, at most %zu allowed",
                       *type, len, max);
    if (avail - PLUGIN_FRAME_HEADER < len)
        return 0;
    *payload = buf + PLUGIN_FRAME_HEADER;
    *payload_len = len;
    *consumed = PLUGIN_FRAME_HEADER + (size_t)len;
    return 1;
}

void plugin_request_encode(struct pp_writer *w, const struct plugin_wire_request *rq)
{
    size_t frame = pp_frame_begin(w, PLUGIN_MSG_REQUEST);
    pp_put_u32(w, rq->call);
    pp_put_u32(w, rq->blob_version);
    pp_put_u32(w, rq->capacity);
    pp_put_u32(w, rq->deadline_ms);
    pp_put_u64(w, rq->mem_limit);
    pp_put_bytes(w, rq->device_id, sizeof(rq->device_id));
    pp_put_str(w, rq->sku);
    pp_put_str(w, rq->config);
    pp_put_bytes(w, rq->body, rq->body_len);
    pp_put_u32(w, rq->num_objs);
    if (rq->num_inputs > PLUGIN_INPUTS_MAX)
        w->overflow = true;
    pp_put_u32(w, (uint32_t)rq->num_inputs);
    for (size_t i = 0; i < rq->num_inputs && !w->overflow; i++) {
        pp_put_str(w, rq->inputs[i].name);
        pp_put_bytes(w, rq->inputs[i].data, rq->inputs[i].len);
    }
    pp_frame_end(w, frame);
}

static int decode_request_fields(struct pp_reader *r, struct plugin_wire_request *rq,
                                 struct ft_error *err)
{
    const uint8_t *id;
    size_t id_len;
    if (pp_get_u32(r, "call", &rq->call, err) != 0 ||
        pp_get_u32(r, "blob version", &rq->blob_version, err) != 0 ||
        pp_get_u32(r, "capacity", &rq->capacity, err) != 0 ||
        pp_get_u32(r, "deadline", &rq->deadline_ms, err) != 0 ||
        pp_get_u64(r, "memory limit", &rq->mem_limit, err) != 0 ||
        pp_get_bytes(r, "device id", sizeof(rq->device_id), &id, &id_len, err) != 0 ||
        pp_get_str(r, "sku", PLUGIN_SKU_MAX, &rq->sku, err) != 0 ||
        pp_get_str(r, "config", PLUGIN_CONFIG_MAX, &rq->config, err) != 0 ||
        pp_get_bytes(r, "body", FT_EXT_BODY_CAPACITY, &rq->body, &rq->body_len, err) != 0 ||
        pp_get_u32(r, "object count", &rq->num_objs, err) != 0)
        return -1;
    if (id_len != sizeof(rq->device_id))
        return ft_fail(err, FT_E_INVALID, "device id: %zu bytes, expected %zu", id_len,
                       sizeof(rq->device_id));
    memcpy(rq->device_id, id, sizeof(rq->device_id));
    return 0;
}

static int decode_inputs(struct pp_reader *r, struct plugin_wire_request *rq, struct ft_error *err)
{
    uint32_t count;
    if (pp_get_u32(r, "input count", &count, err) != 0)
        return -1;
    if (count > PLUGIN_INPUTS_MAX)
        return ft_fail(err, FT_E_RANGE, "%u inputs, at most %u allowed", count, PLUGIN_INPUTS_MAX);
    rq->num_inputs = count;
    for (size_t i = 0; i < count; i++) {
        struct ft_ext_input *in = &rq->inputs[i];
        if (pp_get_str(r, "input name", PLUGIN_INPUT_NAME_MAX, &in->name, err) != 0 ||
            pp_get_bytes(r, "input data", PLUGIN_INPUT_MAX, &in->data, &in->len, err) != 0)
            return -1;
    }
    return 0;
}

int plugin_request_decode(const uint8_t *payload, size_t len, struct plugin_wire_request *rq,
                          struct ft_error *err)
{
    memset(rq, 0, sizeof(*rq));
    struct pp_reader r;
    pp_reader_init(&r, payload, len);
    if (decode_request_fields(&r, rq, err) != 0 || decode_inputs(&r, rq, err) != 0 ||
        pp_get_end(&r, "request", err) != 0)
        return -1;
    if (rq->call != PLUGIN_CALL_FT_EXT && rq->call != PLUGIN_CALL_POST_BOOT &&
        rq->call != PLUGIN_CALL_CHECK)
        return ft_fail(err, FT_E_INVALID, "unknown call %u", rq->call);
    if (rq->blob_version != FT_EXT_BLOB_V0 && rq->blob_version != FT_EXT_BLOB_V1)
        return ft_fail(err, FT_E_INVALID, "unknown blob version %u", rq->blob_version);
    if (rq->capacity > FT_EXT_BODY_CAPACITY || rq->body_len > rq->capacity)
        return ft_fail(err, FT_E_RANGE, "body of %zu bytes, capacity %u (at most %u)", rq->body_len,
                       rq->capacity, FT_EXT_BODY_CAPACITY);
    return 0;
}

int plugin_check_abi(uint32_t abi_major, uint32_t struct_size, struct ft_error *err)
{
    if (abi_major != FT_EXT_ABI_MAJOR)
        return ft_fail(err, FT_E_PLUGIN, "ABI major %u, harness supports %u", abi_major,
                       FT_EXT_ABI_MAJOR);
    if (struct_size < sizeof(struct ft_ext_descriptor))
        return ft_fail(err, FT_E_PLUGIN,
                       "descriptor struct_size %u is smaller than the %zu bytes of ABI %u.0",
                       struct_size, sizeof(struct ft_ext_descriptor), FT_EXT_ABI_MAJOR);
    return 0;
}

int plugin_check_desc_str(const char *what, const char *s, size_t len, bool may_be_empty,
                          struct ft_error *err)
{
    if (len > PLUGIN_DESC_STR_MAX || (len == 0 && !may_be_empty))
        return ft_fail(err, FT_E_PLUGIN, "descriptor %s must have %d..%u characters", what,
                       may_be_empty ? 0 : 1, PLUGIN_DESC_STR_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7E)
            return ft_fail(err, FT_E_PLUGIN, "descriptor %s byte %zu is 0x%02x, not printable",
                           what, i, c);
    }
    return 0;
}
