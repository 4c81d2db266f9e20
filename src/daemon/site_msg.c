#include "daemon/site_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A string member: present, a string, without NUL, and fitting `size` with its terminator. */
static int take_string(json_t *obj, const char *key, bool required, char *out, size_t size,
                       struct ft_error *err)
{
    json_t *v = json_object_get(obj, key);
    out[0] = '\0';
    if (v == NULL)
        return required ? ft_fail(err, FT_E_PROTOCOL, "site message: no \"%s\"", key) : 0;
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (!json_is_string(v) || n >= size || memchr(json_string_value(v), '\0', n) != NULL)
        return ft_fail(err, FT_E_PROTOCOL, "site message: \"%s\" is not a string of < %zu bytes",
                       key, size);
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

static int take_uint(json_t *obj, const char *key, uint64_t max, uint64_t *out,
                     struct ft_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return ft_fail(err, FT_E_PROTOCOL, "site message: \"%s\" is not an integer in 0..%llu", key,
                       (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int take_bool(json_t *obj, const char *key, bool *out, struct ft_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_boolean(v))
        return ft_fail(err, FT_E_PROTOCOL, "site message: \"%s\" is not a boolean", key);
    *out = json_is_true(v);
    return 0;
}

static int parse_din(json_t *obj, struct control_din *din, struct ft_error *err)
{
    static const unsigned max[6] = {9, 51, 999, 99, 999, 999};
    unsigned *field[6] = {&din->year, &din->week, &din->lot, &din->wafer, &din->x, &din->y};
    json_t *a = json_object_get(obj, "din");
    if (!json_is_array(a) || json_array_size(a) != 6)
        return ft_fail(err, FT_E_PROTOCOL, "site message: \"din\" is not an array of 6");
    for (size_t i = 0; i < 6; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max[i])
            return ft_fail(err, FT_E_PROTOCOL, "site message: din[%zu] out of range", i);
        *field[i] = (unsigned)json_integer_value(v);
    }
    return 0;
}

static int parse_result(json_t *obj, struct site_msg *msg, struct ft_error *err)
{
    uint64_t cls = 0;
    if (take_bool(obj, "pass", &msg->pass, err) != 0 ||
        take_uint(obj, "class", 7, &cls, err) != 0 ||
        take_string(obj, "error", false, msg->error, sizeof(msg->error), err) != 0 ||
        take_string(obj, "dut_state", false, msg->dut_state, sizeof(msg->dut_state), err) != 0 ||
        take_string(obj, "device_id", false, msg->device_id, sizeof(msg->device_id), err) != 0 ||
        take_string(obj, "record_file", false, msg->record_file, sizeof(msg->record_file), err) !=
            0)
        return -1;
    msg->exit_class = (int)cls;
    json_t *rec = json_object_get(obj, "record");
    if (rec != NULL && !json_is_object(rec))
        return ft_fail(err, FT_E_PROTOCOL, "site message: \"record\" is not an object");
    msg->record = rec ? json_incref(rec) : NULL;
    return 0;
}

int site_msg_parse(const void *buf, size_t len, struct site_msg *msg, struct ft_error *err)
{
    memset(msg, 0, sizeof(*msg));
    if (len == 0 || len > SITE_MSG_MAX)
        return ft_fail(err, FT_E_PROTOCOL, "site message of %zu bytes (1..%u allowed)", len,
                       SITE_MSG_MAX);
    json_error_t jerr;
    json_t *obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return ft_fail(err, FT_E_PROTOCOL, "site message: not a JSON object: %s", jerr.text);
    }
    char type[16];
    int rc = take_string(obj, "t", true, type, sizeof(type), err);
    uint64_t n = 0;
    if (rc != 0) {
    } else if (strcmp(type, "provision") == 0) {
        msg->type = SITE_MSG_PROVISION;
        rc = take_string(obj, "sku", true, msg->sku, sizeof(msg->sku), err) ||
             take_string(obj, "request_id", false, msg->request_id, sizeof(msg->request_id), err) ||
             parse_din(obj, &msg->din, err) || take_bool(obj, "benchtop", &msg->benchtop, err);
    } else if (strcmp(type, "kick") == 0) {
        msg->type = SITE_MSG_KICK;
    } else if (strcmp(type, "ready") == 0) {
        msg->type = SITE_MSG_READY;
    } else if (strcmp(type, "step") == 0) {
        msg->type = SITE_MSG_STEP;
        rc = take_string(obj, "step", true, msg->step, sizeof(msg->step), err) ||
             take_uint(obj, "us", UINT64_C(1) << 52, &msg->us, err);
    } else if (strcmp(type, "result") == 0) {
        msg->type = SITE_MSG_RESULT;
        rc = parse_result(obj, msg, err);
    } else if (strcmp(type, "spool") == 0) {
        msg->type = SITE_MSG_SPOOL;
        rc = take_uint(obj, "depth", UINT32_MAX, &msg->spool_depth, err) ||
             take_uint(obj, "oldest_ms", UINT64_C(1) << 52, &n, err) ||
             take_string(obj, "error", false, msg->error, sizeof(msg->error), err);
        msg->spool_oldest_ms = (int64_t)n;
    } else {
        rc = ft_fail(err, FT_E_PROTOCOL, "site message: unknown type \"%s\"", type);
    }
    json_t *rpcs = json_object_get(obj, "rpcs");
    if (rc == 0 && rpcs != NULL && rpc_log_parse(rpcs, msg->rpcs, &msg->n_rpcs) != 0)
        rc = ft_fail(err, FT_E_PROTOCOL,
                     "site message: \"rpcs\" is not a list of at most %u "
                     "[RPC, seconds, ok] calls",
                     RPC_LOG_MAX);
    if (rc == 0 && json_object_get(obj, "sessions") != NULL)
        rc = take_uint(obj, "sessions", 1000000, &msg->sessions, err);
    json_decref(obj);
    if (rc != 0) {
        json_decref(msg->record);
        msg->record = NULL;
        return -1;
    }
    return 0;
}

int site_msg_send(int fd, json_t *msg, struct ft_error *err)
{
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (text == NULL)
        return ft_fail(err, FT_E_NOMEM, "out of memory");
    size_t len = strlen(text);
    ssize_t n = -1;
    if (len <= SITE_MSG_MAX)
        do
            n = send(fd, text, len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
    free(text);
    if (len > SITE_MSG_MAX)
        return ft_fail(err, FT_E_CAPACITY, "site message of %zu bytes (max %u)", len, SITE_MSG_MAX);
    if (n != (ssize_t)len)
        return ft_fail(err, FT_E_CONNECT, "site channel: %s", n < 0 ? strerror(errno) : "short");
    return 0;
}
