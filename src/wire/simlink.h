/* The ftsim socket protocol: how a host link drives the simulated chip's SPI bus, GPIO
 * pins and UART over a Unix stream socket. Documented in docs/ftsim.md.
 *
 * Every message, both ways: [u32 LE length of what follows][u8 op or status][payload].
 * One request, one response, in order. Lengths are checked against SIMLINK_PAYLOAD_MAX
 * before anything is read into memory. */
#ifndef FTHARNESS_WIRE_SIMLINK_H
#define FTHARNESS_WIRE_SIMLINK_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define SIMLINK_HEADER_SIZE 5u
#define SIMLINK_PAYLOAD_MAX 65536u

enum simlink_op {
    SIMLINK_SPI_XFER = 1,   /* payload: MOSI bytes of one CS-framed transaction; reply: MISO */
    SIMLINK_GPIO_READ = 2,  /* reply: u32 pins */
    SIMLINK_GPIO_WRITE = 3, /* payload: u32 mask, u32 value (input pins only); reply: u32 pins */
    SIMLINK_GPIO_WAIT = 4,  /* payload: u32 mask, u32 value, u32 timeout_ms; reply: u32 pins */
    SIMLINK_UART_READ = 5,  /* payload: u32 max, u32 timeout_ms; reply: bytes (maybe none) */
    SIMLINK_UART_WRITE = 6, /* payload: bytes; reply: empty */
    SIMLINK_INFO = 7,       /* reply: JSON text describing the model's state */
    SIMLINK_NEXT_CHIP = 8,  /* the handler puts the next chip of the row in the socket;
                             * payload (may be empty): that chip's own fault specs */
};

/* NEXT_CHIP's fault specs, e.g. "stall=export bad-hash": a few dozen bytes in practice. */
#define SIMLINK_NEXT_CHIP_FAULTS_MAX 1024u

enum simlink_status {
    SIMLINK_OK = 0,
    SIMLINK_BAD_REQUEST = 1,
    SIMLINK_TIMEOUT = 2, /* GPIO_WAIT: the pins did not reach the value in time */
};

/* Pin bits in GPIO replies and writes. Outputs are driven by the chip. */
#define SIM_PIN_TEST_ERROR (1u << 0) /* IOA0 */
#define SIM_PIN_TEST_DONE (1u << 1)  /* IOA1 */
#define SIM_PIN_TEST_START (1u << 2) /* IOA4 */
#define SIM_PIN_TX_READY (1u << 3)   /* IOA5, SPI console has a frame */
#define SIM_PIN_RX_READY (1u << 4)   /* IOA6, chip waits for input */
#define SIM_PIN_OUTPUTS 0x1Fu
/* Inputs are driven by the host. */
#define SIM_PIN_RESET_N (1u << 8) /* 0 holds the chip in reset */
#define SIM_PIN_STRAP0 (1u << 9)  /* SW_STRAP0..2: all high = ROM bootstrap */
#define SIM_PIN_STRAP1 (1u << 10)
#define SIM_PIN_STRAP2 (1u << 11)
#define SIM_PIN_STRAPS (SIM_PIN_STRAP0 | SIM_PIN_STRAP1 | SIM_PIN_STRAP2)
#define SIM_PIN_INPUTS (SIM_PIN_RESET_N | SIM_PIN_STRAPS)

struct simlink_header {
    uint32_t len; /* bytes after the length field: 1 + payload */
    uint8_t code; /* op in requests, status in replies */
};

/* Writes the 5-byte header of a message carrying `payload_len` bytes. */
int simlink_header_encode(uint8_t out[SIMLINK_HEADER_SIZE], uint8_t code, size_t payload_len,
                          struct ft_error *err);

/* Decodes a header and returns the payload length in *payload_len; rejects a zero length
 * and payloads over SIMLINK_PAYLOAD_MAX. */
int simlink_header_decode(const uint8_t in[SIMLINK_HEADER_SIZE], uint8_t *code, size_t *payload_len,
                          struct ft_error *err);

/* A decoded request. `data` borrows from the payload (SPI_XFER, UART_WRITE). */
struct simlink_request {
    enum simlink_op op;
    const uint8_t *data;
    size_t len;
    uint32_t mask;       /* GPIO_WRITE, GPIO_WAIT */
    uint32_t value;      /* GPIO_WRITE, GPIO_WAIT */
    uint32_t timeout_ms; /* GPIO_WAIT, UART_READ (capped at SIMLINK_TIMEOUT_MAX_MS) */
    uint32_t max;        /* UART_READ (capped at SIMLINK_PAYLOAD_MAX) */
};

#define SIMLINK_TIMEOUT_MAX_MS 600000u

/* "SPI_XFER", "GPIO_WAIT", ... for an op code; NULL for a code that is not an op. */
const char *simlink_op_name(uint8_t op);

/* Checks a request's op and payload shape; names the op and what is wrong. */
int simlink_parse_request(uint8_t op, const uint8_t *payload, size_t len,
                          struct simlink_request *req, struct ft_error *err);

/* Reads u32 number `index` of a payload made of LE u32 fields; fails if short. */
int simlink_get_u32(const uint8_t *payload, size_t len, size_t index, uint32_t *out,
                    struct ft_error *err);

#endif
