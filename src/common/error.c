#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ft_fail(struct ft_error *err, enum ft_code code, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

int ft_error_prefix(struct ft_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    char prefix[FT_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);

    /* Shift the message right and put "<prefix>: " in front; whatever no longer fits is
     * cut from the end, so the outermost context always survives. */
    size_t cap = sizeof(err->message) - 1;
    size_t head = strnlen(prefix, cap - 2) + 2;
    size_t body = strnlen(err->message, cap);
    if (body > cap - head)
        body = cap - head;
    memmove(err->message + head, err->message, body);
    memcpy(err->message, prefix, head - 2);
    memcpy(err->message + head - 2, ": ", 2);
    err->message[head + body] = '\0';
    return -1;
}

void ft_error_clear(struct ft_error *err)
{
    if (err == NULL)
        return;
    err->code = FT_OK;
    err->message[0] = '\0';
}

const char *ft_code_name(enum ft_code code)
{
    switch (code) {
    case FT_OK:
        return "ok";
    case FT_E_INVALID:
        return "invalid";
    case FT_E_TRUNCATED:
        return "truncated";
    case FT_E_RANGE:
        return "range";
    case FT_E_CAPACITY:
        return "capacity";
    case FT_E_CRC:
        return "crc";
    case FT_E_NOMEM:
        return "nomem";
    case FT_E_DEVICE:
        return "device";
    case FT_E_TIMEOUT:
        return "timeout";
    case FT_E_CONNECT:
        return "connect";
    case FT_E_TLS:
        return "tls";
    case FT_E_PROTOCOL:
        return "protocol";
    case FT_E_REMOTE:
        return "remote";
    case FT_E_PLUGIN:
        return "plugin";
    case FT_E_ABORTED:
        return "aborted";
    }
    return "unknown";
}

int ft_error_suffix(struct ft_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    size_t used = strnlen(err->message, sizeof(err->message) - 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + used, sizeof(err->message) - used, fmt, ap);
    va_end(ap);
    return -1;
}
