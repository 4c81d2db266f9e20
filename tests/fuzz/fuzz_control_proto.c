/* Fuzz target: the control request parser (every byte of a request line comes from a
 * client of the daemon's socket). An accepted request must respect every rule the daemon
 * relies on without checking again; a refusal must carry a bounded, printable message. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/control_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_lower_digit_underscore(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* buf[cap] holds a terminated string of min..max characters, each passing `ok`. */
static bool check_string(const char *buf, size_t cap, size_t min, size_t max, int rule)
{
    const char *end = memchr(buf, '\0', cap);
    if (end == NULL)
        return false;
    size_t n = (size_t)(end - buf);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        bool ok = rule == 0   ? (c >= 0x20 && c <= 0x7e)
                  : rule == 1 ? (is_lower_digit_underscore(c) || c == '-')
                              : is_lower_digit_underscore(c);
        if (!ok)
            return false;
    }
    return true;
}

static bool check_device_id(const char *id)
{
    if (memchr(id, '\0', 80) == NULL)
        return false;
    if (id[0] == '\0')
        return true;
    if (strlen(id) != 66 || id[0] != '0' || id[1] != 'x')
        return false;
    for (size_t i = 2; i < 66; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    }
    return true;
}

static bool id_ok(const char *id)
{
    return id[0] == '\0' || check_string(id, CONTROL_ID_MAX + 1, 1, CONTROL_ID_MAX, 0);
}

static void check_accepted(const struct control_request *r)
{
    static const char *const names[] = {"provision", "abort",  "status", "sites",
                                        "skus",      "reload", "records"};
    if ((unsigned)r->cmd > CONTROL_RECORDS || strcmp(control_cmd_name(r->cmd), names[r->cmd]) != 0)
        abort();
    if (!id_ok(r->id) || !id_ok(r->request_id) || !check_device_id(r->device_id))
        abort();
    bool has_site = r->cmd == CONTROL_PROVISION || r->cmd == CONTROL_ABORT;
    if (has_site ? !check_string(r->site, sizeof(r->site), 1, 31, 1) : r->site[0] != '\0')
        abort();
    if (r->cmd == CONTROL_PROVISION) {
        if (!check_string(r->sku, sizeof(r->sku), 1, 63, 2))
            abort();
    } else if (r->sku[0] != '\0' || r->request_id[0] != '\0' || r->benchtop) {
        abort();
    }
    const struct control_din *d = &r->din;
    if (d->year > 9 || d->week > 51 || d->lot > 999 || d->wafer > 99 || d->x > 999 || d->y > 999)
        abort();
    if (r->cmd != CONTROL_PROVISION && (d->year | d->week | d->lot | d->wafer | d->x | d->y) != 0)
        abort();
    if (r->cmd == CONTROL_RECORDS ? (r->limit < 1 || r->limit > CONTROL_RECORDS_MAX)
                                  : (r->limit != 0 || r->device_id[0] != '\0'))
        abort();
}

static void check_refused(const struct control_request *r, const struct ft_error *err)
{
    if (err->code == FT_OK || !id_ok(r->id))
        abort();
    const char *end = memchr(err->message, '\0', sizeof(err->message));
    if (end == NULL || end == err->message)
        abort();
    for (const char *p = err->message; p < end; p++) {
        if (*p < 0x20 || *p > 0x7e)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct control_request req;
    struct ft_error err = {0};
    if (control_request_parse((const char *)data, size, &req, &err) == 0)
        check_accepted(&req);
    else
        check_refused(&req, &err);
    return 0;
}
