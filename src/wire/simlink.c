#include "wire/simlink.h"

#include "common/endian.h"

#include <stddef.h>

int simlink_header_encode(uint8_t out[SIMLINK_HEADER_SIZE], uint8_t code, size_t payload_len,
                          struct ft_error *err)
{
    if (payload_len > SIMLINK_PAYLOAD_MAX)
        return ft_fail(err, FT_E_RANGE, "simlink: payload of %zu bytes exceeds %u", payload_len,
                       SIMLINK_PAYLOAD_MAX);
    store_le32(out, (uint32_t)(payload_len + 1));
    out[4] = code;
    return 0;
}

int simlink_header_decode(const uint8_t in[SIMLINK_HEADER_SIZE], uint8_t *code, size_t *payload_len,
                          struct ft_error *err)
{
    uint32_t len = load_le32(in);
    if (len == 0)
        return ft_fail(err, FT_E_INVALID, "simlink: message length 0 (no op/status byte)");
    if (len - 1 > SIMLINK_PAYLOAD_MAX)
        return ft_fail(err, FT_E_RANGE, "simlink: payload of %u bytes exceeds %u", len - 1,
                       SIMLINK_PAYLOAD_MAX);
    *code = in[4];
    *payload_len = len - 1;
    return 0;
}

int simlink_get_u32(const uint8_t *payload, size_t len, size_t index, uint32_t *out,
                    struct ft_error *err)
{
    if (len / 4 <= index)
        return ft_fail(err, FT_E_TRUNCATED, "simlink: payload of %zu bytes has no field %zu", len,
                       index);
    *out = load_le32(payload + 4 * index);
    return 0;
}

const char *simlink_op_name(uint8_t op)
{
    switch (op) {
    case SIMLINK_SPI_XFER:
        return "SPI_XFER";
    case SIMLINK_GPIO_READ:
        return "GPIO_READ";
    case SIMLINK_GPIO_WRITE:
        return "GPIO_WRITE";
    case SIMLINK_GPIO_WAIT:
        return "GPIO_WAIT";
    case SIMLINK_UART_READ:
        return "UART_READ";
    case SIMLINK_UART_WRITE:
        return "UART_WRITE";
    case SIMLINK_INFO:
        return "INFO";
    case SIMLINK_NEXT_CHIP:
        return "NEXT_CHIP";
    default:
        return NULL;
    }
}

static int expect_len(const char *name, size_t len, size_t want, struct ft_error *err)
{
    if (len != want)
        return ft_fail(err, FT_E_INVALID, "simlink %s: payload is %zu bytes, must be %zu", name,
                       len, want);
    return 0;
}

int simlink_parse_request(uint8_t op, const uint8_t *payload, size_t len,
                          struct simlink_request *req, struct ft_error *err)
{
    const char *name = simlink_op_name(op);
    if (name == NULL)
        return ft_fail(err, FT_E_INVALID, "simlink: unknown op %u", op);
    *req = (struct simlink_request){.op = (enum simlink_op)op, .data = payload, .len = len};
    switch (op) {
    case SIMLINK_SPI_XFER:
        if (len == 0)
            return ft_fail(err, FT_E_INVALID, "simlink SPI_XFER: no bytes to clock");
        return 0;
    case SIMLINK_UART_WRITE:
        return 0;
    case SIMLINK_GPIO_READ:
    case SIMLINK_INFO:
        return expect_len(name, len, 0, err);
    case SIMLINK_NEXT_CHIP:
        if (len > SIMLINK_NEXT_CHIP_FAULTS_MAX)
            return ft_fail(err, FT_E_INVALID, "simlink NEXT_CHIP: %zu bytes of faults (at most %u)",
                           len, SIMLINK_NEXT_CHIP_FAULTS_MAX);
        return 0;
    case SIMLINK_GPIO_WRITE:
        if (expect_len(name, len, 8, err) != 0)
            return -1;
        simlink_get_u32(payload, len, 0, &req->mask, NULL);
        simlink_get_u32(payload, len, 1, &req->value, NULL);
        return 0;
    case SIMLINK_GPIO_WAIT:
        if (expect_len(name, len, 12, err) != 0)
            return -1;
        simlink_get_u32(payload, len, 0, &req->mask, NULL);
        simlink_get_u32(payload, len, 1, &req->value, NULL);
        simlink_get_u32(payload, len, 2, &req->timeout_ms, NULL);
        break;
    case SIMLINK_UART_READ:
        if (expect_len(name, len, 8, err) != 0)
            return -1;
        simlink_get_u32(payload, len, 0, &req->max, NULL);
        simlink_get_u32(payload, len, 1, &req->timeout_ms, NULL);
        if (req->max > SIMLINK_PAYLOAD_MAX)
            req->max = SIMLINK_PAYLOAD_MAX;
        break;
    }
    if (req->timeout_ms > SIMLINK_TIMEOUT_MAX_MS)
        req->timeout_ms = SIMLINK_TIMEOUT_MAX_MS;
    return 0;
}
