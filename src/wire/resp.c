#include "wire/resp.h"

#include <jansson.h>
#include <string.h>

#include "common/crc32.h"

static const char OK_PREFIX[] = "RESP_OK:";
static const char ERR_PREFIX[] = "RESP_ERR:";
static const char CRC_MARK[] = " CRC:";

static const char *find(const char *hay, size_t hay_len, const char *needle)
{
    size_t n = strlen(needle);
    if (hay_len < n)
        return NULL;
    for (size_t i = 0; i + n <= hay_len; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
            return hay + i;
    }
    return NULL;
}

/* Parses the " CRC:<digits>" tail that must end the line; returns the JSON length. */
static int parse_crc_tail(const char *text, size_t len, size_t *json_len, uint32_t *crc,
                          struct ft_error *err)
{
    size_t end = len;
    size_t digits = 0;
    while (digits < end && text[end - 1 - digits] >= '0' && text[end - 1 - digits] <= '9')
        digits++;
    size_t mark = strlen(CRC_MARK);
    if (digits == 0 || end - digits < mark ||
        memcmp(text + end - digits - mark, CRC_MARK, mark) != 0)
        return ft_fail(err, FT_E_INVALID, "response line does not end with \" CRC:<decimal>\"");
    if (digits > 10)
        return ft_fail(err, FT_E_RANGE, "response CRC has %zu digits, more than a u32", digits);
    uint64_t value = 0;
    for (size_t i = end - digits; i < end; i++)
        value = value * 10 + (uint64_t)(text[i] - '0');
    if (value > UINT32_MAX)
        return ft_fail(err, FT_E_RANGE, "response CRC %llu exceeds a u32",
                       (unsigned long long)value);
    *crc = (uint32_t)value;
    *json_len = end - digits - mark;
    return 0;
}

int resp_parse_line(const char *line, size_t len, enum resp_crc_policy policy,
                    struct resp_line *out, struct ft_error *err)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > RESP_LINE_MAX)
        return ft_fail(err, FT_E_RANGE, "response line of %zu bytes exceeds %u", len,
                       RESP_LINE_MAX);

    const char *ok = find(line, len, OK_PREFIX);
    const char *bad = find(line, len, ERR_PREFIX);
    const char *prefix;
    if (ok != NULL) { /* upstream tries the RESP_OK pattern first */
        out->kind = RESP_OK;
        prefix = ok + strlen(OK_PREFIX);
    } else if (bad != NULL) {
        out->kind = RESP_ERR;
        prefix = bad + strlen(ERR_PREFIX);
    } else {
        return 0;
    }

    size_t rest = len - (size_t)(prefix - line);
    if (parse_crc_tail(prefix, rest, &out->json_len, &out->crc, err) != 0)
        return ft_error_prefix(err, "%s line", out->kind == RESP_OK ? "RESP_OK" : "RESP_ERR");
    out->json = prefix;

    uint32_t actual = crc32_iso_hdlc(out->json, out->json_len);
    out->crc_ok = actual == out->crc;
    if (out->kind == RESP_ERR || out->crc_ok)
        return 1;
    if (policy == RESP_CRC_NONE && out->crc == 0)
        return 1;
    return ft_fail(err, FT_E_CRC, "RESP_OK line: CRC says %u, the %zu JSON bytes have CRC %u",
                   out->crc, out->json_len, actual);
}

static int status_fail(struct ft_error *err, const char *why)
{
    return ft_fail(err, FT_E_INVALID, "RESP_ERR status: %s", why);
}

int resp_decode_status(const char *json, size_t len, struct resp_status *out, struct ft_error *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return ft_fail(err, FT_E_INVALID, "RESP_ERR status: %s at byte %d", jerr.text,
                       jerr.position);
    int rc = -1;
    const char *code;
    json_t *value;
    if (!json_is_object(root) || json_object_size(root) != 1) {
        rc = status_fail(err, "not an object with exactly one key");
        goto done;
    }
    json_object_foreach(root, code, value)
    {
        if (strlen(code) >= sizeof(out->code)) {
            rc = status_fail(err, "status code name too long");
            goto done;
        }
        strcpy(out->code, code);
        if (strcmp(code, "Ok") == 0) {
            if (!json_is_integer(value)) {
                rc = status_fail(err, "Ok value is not an integer");
                goto done;
            }
            out->arg = json_integer_value(value);
            rc = 0;
            goto done;
        }
        json_t *module = json_array_get(value, 0);
        json_t *arg = json_array_get(value, 1);
        if (!json_is_array(value) || json_array_size(value) != 2 || !json_is_string(module) ||
            json_string_length(module) != 3 || !json_is_integer(arg)) {
            rc = status_fail(err, "error value is not [\"<3-char module>\", <integer>]");
            goto done;
        }
        memcpy(out->module, json_string_value(module), 3);
        out->arg = json_integer_value(arg);
        rc = 0;
    }
done:
    json_decref(root);
    return rc;
}

int resp_format_ok(struct strbuf *out, const char *json, size_t json_len,
                   enum resp_crc_policy policy, struct ft_error *err)
{
    size_t start = out->len;
    uint32_t crc = policy == RESP_CRC_REQUIRED ? crc32_iso_hdlc(json, json_len) : 0;
    strbuf_puts(out, OK_PREFIX);
    strbuf_append(out, json, json_len);
    strbuf_printf(out, "%s%u\n", CRC_MARK, crc);
    if (out->overflow) {
        out->len = start;
        out->overflow = false;
        if (out->cap > 0)
            out->data[start] = '\0';
        return ft_fail(err, FT_E_CAPACITY, "RESP_OK: line does not fit the %zu-byte buffer",
                       out->cap);
    }
    return 0;
}
