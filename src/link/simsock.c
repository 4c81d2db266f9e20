/* ftsim socket backend of spi_bus: one request, one reply per op (wire/simlink.h). */
#include "link/simsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/endian.h"
#include "wire/simlink.h"

/* The socket carries the bus's pin bits unchanged. */
_Static_assert(SPI_BUS_PIN_TEST_ERROR == SIM_PIN_TEST_ERROR, "pin map");
_Static_assert(SPI_BUS_PIN_TEST_DONE == SIM_PIN_TEST_DONE, "pin map");
_Static_assert(SPI_BUS_PIN_TEST_START == SIM_PIN_TEST_START, "pin map");
_Static_assert(SPI_BUS_PIN_TX_READY == SIM_PIN_TX_READY, "pin map");
_Static_assert(SPI_BUS_PIN_RX_READY == SIM_PIN_RX_READY, "pin map");
_Static_assert(SPI_BUS_PIN_RESET_N == SIM_PIN_RESET_N, "pin map");
_Static_assert(SPI_BUS_PIN_STRAPS == SIM_PIN_STRAPS, "pin map");

#define SIMSOCK_REASON_MAX 96u /* bytes of a BAD_REQUEST reason quoted in a message */

struct simsock {
    struct spi_bus bus;
    int fd;
    /* Set once the byte stream can no longer be trusted to be at a message boundary
     * (the peer left, or a reply did not come in time): later ops fail at once. */
    bool broken;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char name[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
    uint8_t *tx;     /* header + request payload */
    uint8_t *rx_buf; /* reply header + payload */
    uint8_t *rx;     /* reply payload, in rx_buf */
};

/* A reply as received: status and payload in s->rx. */
struct reply {
    uint8_t status;
    size_t len;
};

/* ---- byte I/O with deadlines --------------------------------------------------------- */

static int link_down(struct simsock *s, const char *what, int errnum, struct ft_error *err)
{
    s->broken = true;
    if (errnum == 0)
        return ft_fail(err, FT_E_CONNECT, "%s: %s: connection closed by ftsim", s->name, what);
    return ft_fail(err, FT_E_CONNECT, "%s: %s: %s", s->name, what, strerror(errnum));
}

/* Waits until the socket is ready for `events` or the deadline passes. */
static int wait_ready(struct simsock *s, short events, uint64_t deadline_ns, const char *what,
                      struct ft_error *err)
{
    for (;;) {
        struct pollfd pfd = {.fd = s->fd, .events = events};
        int rc = poll(&pfd, 1, (int)link_ms_left(deadline_ns, 600000u));
        if (rc > 0)
            return 0; /* readable, writable, or an error/hang-up the next call reports */
        if (rc < 0 && errno != EINTR)
            return link_down(s, what, errno, err);
        if (rc == 0 && link_now_ns() >= deadline_ns) {
            s->broken = true; /* a late reply would desynchronise the stream */
            return ft_fail(err, FT_E_TIMEOUT, "%s: %s: no reply from ftsim in time", s->name, what);
        }
    }
}

static int send_all(struct simsock *s, const uint8_t *buf, size_t len, uint64_t deadline_ns,
                    const char *what, struct ft_error *err)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = send(s->fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return link_down(s, what, errno, err);
        if (wait_ready(s, POLLOUT, deadline_ns, what, err) != 0)
            return -1;
    }
    return 0;
}

/* Receives at least `min` and at most `max` bytes into buf (*got says how many): a whole
 * reply usually arrives in one recv, header and payload together. */
static int recv_some(struct simsock *s, uint8_t *buf, size_t min, size_t max, size_t *got,
                     uint64_t deadline_ns, const char *what, struct ft_error *err)
{
    size_t off = 0;
    while (off < min) {
        ssize_t n = recv(s->fd, buf + off, max - off, MSG_DONTWAIT);
        if (n > 0)
            off += (size_t)n;
        else if (n == 0)
            return link_down(s, what, 0, err);
        else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return link_down(s, what, errno, err);
        else if (errno != EINTR && wait_ready(s, POLLIN, deadline_ns, what, err) != 0)
            return -1;
    }
    *got = off;
    return 0;
}

/* ---- one request, one reply ---------------------------------------------------------- */

/* The op's name for messages; every op the host sends has one. */
static const char *op_name(enum simlink_op op)
{
    const char *name = simlink_op_name((uint8_t)op);
    return name != NULL ? name : "?";
}

/* Fails with the model's reason for a BAD_REQUEST, keeping only printable bytes. */
static int rejected(struct simsock *s, enum simlink_op op, const struct reply *r,
                    struct ft_error *err)
{
    char reason[SIMSOCK_REASON_MAX + 1];
    size_t n = r->len < SIMSOCK_REASON_MAX ? r->len : SIMSOCK_REASON_MAX;
    for (size_t i = 0; i < n; i++)
        reason[i] = s->rx[i] >= 0x20 && s->rx[i] < 0x7F ? (char)s->rx[i] : '?';
    reason[n] = '\0';
    return ft_fail(err, FT_E_PROTOCOL, "%s: %s rejected: %s", s->name, op_name(op), reason);
}

/* Sends `op` with `payload` (already at s->tx + SIMLINK_HEADER_SIZE when `payload` is
 * NULL) and receives the reply into s->rx. The reply must come before `deadline_ns`.
 * A status other than OK is returned in r->status for the caller to judge, except
 * BAD_REQUEST, which fails here. */
static int exchange(struct simsock *s, enum simlink_op op, const uint8_t *payload, size_t len,
                    uint64_t deadline_ns, struct reply *r, struct ft_error *err)
{
    const char *what = op_name(op);
    if (s->broken)
        return ft_fail(err, FT_E_CONNECT, "%s: %s: the link is down (an earlier op failed)",
                       s->name, what);
    if (simlink_header_encode(s->tx, (uint8_t)op, len, err) != 0)
        return -1;
    if (payload != NULL && len > 0)
        memcpy(s->tx + SIMLINK_HEADER_SIZE, payload, len);
    s->bus.round_trips++;
    if (send_all(s, s->tx, SIMLINK_HEADER_SIZE + len, deadline_ns, what, err) != 0)
        return -1;
    /* The header and as much of the payload as came with it; the peer sends nothing but
     * the reply to this request, so nothing past it is read. */
    uint8_t *header = s->rx - SIMLINK_HEADER_SIZE;
    size_t got;
    if (recv_some(s, header, SIMLINK_HEADER_SIZE, SIMLINK_HEADER_SIZE + SIMLINK_PAYLOAD_MAX, &got,
                  deadline_ns, what, err) != 0)
        return -1;
    struct ft_error bad = {0};
    if (simlink_header_decode(header, &r->status, &r->len, &bad) != 0 ||
        got > SIMLINK_HEADER_SIZE + r->len) {
        s->broken = true; /* the length cannot be trusted: the stream is lost */
        return ft_fail(err, FT_E_PROTOCOL, "%s: %s reply: %s", s->name, what,
                       bad.message[0] ? bad.message : "more bytes than the reply announces");
    }
    size_t have = got - SIMLINK_HEADER_SIZE;
    if (have < r->len &&
        recv_some(s, s->rx + have, r->len - have, r->len - have, &got, deadline_ns, what, err) != 0)
        return -1;
    if (r->status == SIMLINK_BAD_REQUEST)
        return rejected(s, op, r, err);
    if (r->status != SIMLINK_OK && r->status != SIMLINK_TIMEOUT)
        return ft_fail(err, FT_E_PROTOCOL, "%s: %s reply has unknown status %u", s->name, what,
                       (unsigned)r->status);
    return 0;
}

static uint64_t io_deadline(void)
{
    return link_deadline_ms(SIMSOCK_IO_TIMEOUT_MS);
}

/* Checks the reply of an op that cannot time out and must carry exactly `want` bytes. */
static int expect_ok(struct simsock *s, enum simlink_op op, const struct reply *r, size_t want,
                     struct ft_error *err)
{
    if (r->status != SIMLINK_OK)
        return ft_fail(err, FT_E_PROTOCOL, "%s: %s reply has status TIMEOUT", s->name, op_name(op));
    if (r->len != want)
        return ft_fail(err, FT_E_PROTOCOL, "%s: %s reply carries %zu bytes, expected %zu", s->name,
                       op_name(op), r->len, want);
    return 0;
}

/* The u32 pins of a GPIO reply (length already checked). */
static uint32_t reply_pins(const struct simsock *s)
{
    return load_le32(s->rx);
}

/* ---- spi_bus ops --------------------------------------------------------------------- */

static int sock_xfer(struct spi_bus *bus, const uint8_t *mosi, uint8_t *miso, size_t len,
                     struct ft_error *err)
{
    struct simsock *s = bus->impl;
    struct reply r;
    uint8_t *payload = s->tx + SIMLINK_HEADER_SIZE;
    if (mosi != NULL)
        memcpy(payload, mosi, len);
    else
        memset(payload, 0xFF, len); /* an idle MOSI line */
    if (exchange(s, SIMLINK_SPI_XFER, NULL, len, io_deadline(), &r, err) != 0 ||
        expect_ok(s, SIMLINK_SPI_XFER, &r, len, err) != 0)
        return -1;
    if (miso != NULL)
        memcpy(miso, s->rx, len);
    return 0;
}

static int sock_gpio_read(struct spi_bus *bus, uint32_t *pins, struct ft_error *err)
{
    struct simsock *s = bus->impl;
    struct reply r;
    if (exchange(s, SIMLINK_GPIO_READ, NULL, 0, io_deadline(), &r, err) != 0 ||
        expect_ok(s, SIMLINK_GPIO_READ, &r, 4, err) != 0)
        return -1;
    *pins = reply_pins(s);
    return 0;
}

static int sock_gpio_write(struct spi_bus *bus, uint32_t mask, uint32_t value, struct ft_error *err)
{
    struct simsock *s = bus->impl;
    struct reply r;
    uint8_t payload[8];
    store_le32(payload, mask);
    store_le32(payload + 4, value);
    if (exchange(s, SIMLINK_GPIO_WRITE, payload, sizeof(payload), io_deadline(), &r, err) != 0)
        return -1;
    return expect_ok(s, SIMLINK_GPIO_WRITE, &r, 4, err);
}

/* One GPIO_WAIT of at most SIMLINK_TIMEOUT_MAX_MS; *reached tells whether it got there. */
static int wait_once(struct simsock *s, uint32_t mask, uint32_t value, uint32_t timeout_ms,
                     uint32_t *pins, bool *reached, struct ft_error *err)
{
    struct reply r;
    uint8_t payload[12];
    store_le32(payload, mask);
    store_le32(payload + 4, value);
    store_le32(payload + 8, timeout_ms);
    uint64_t reply_by = link_deadline_ms((uint64_t)timeout_ms + SIMSOCK_IO_TIMEOUT_MS);
    if (exchange(s, SIMLINK_GPIO_WAIT, payload, sizeof(payload), reply_by, &r, err) != 0)
        return -1;
    if (r.len != 4)
        return ft_fail(err, FT_E_PROTOCOL, "%s: GPIO_WAIT reply carries %zu bytes, expected 4",
                       s->name, r.len);
    *pins = reply_pins(s);
    *reached = r.status == SIMLINK_OK;
    return 0;
}

static int sock_gpio_wait(struct spi_bus *bus, uint32_t mask, uint32_t value, uint64_t deadline_ns,
                          uint32_t *pins, struct ft_error *err)
{
    struct simsock *s = bus->impl;
    /* Waits longer than the protocol's cap are made of several requests. */
    for (;;) {
        uint32_t ms = link_ms_left(deadline_ns, SIMLINK_TIMEOUT_MAX_MS);
        bool reached = false;
        if (wait_once(s, mask, value, ms, pins, &reached, err) != 0)
            return -1;
        if (reached)
            return 0;
        if (link_now_ns() >= deadline_ns)
            return ft_fail(err, FT_E_TIMEOUT,
                           "%s: pins 0x%x did not reach 0x%x by the deadline (pins 0x%x)", s->name,
                           (unsigned)mask, (unsigned)(value & mask), (unsigned)*pins);
    }
}

static void sock_close(struct spi_bus *bus)
{
    simsock_close(bus->impl);
}

static const struct spi_bus_ops simsock_ops = {
    .xfer = sock_xfer,
    .xfer_batch = NULL, /* the protocol has one transaction per request */
    .gpio_read = sock_gpio_read,
    .gpio_write = sock_gpio_write,
    .gpio_wait = sock_gpio_wait,
    .close = sock_close,
};

/* ---- UART ---------------------------------------------------------------------------- */

int simsock_uart_read(struct simsock *s, uint8_t *buf, size_t cap, size_t *n, uint64_t deadline_ns,
                      struct ft_error *err)
{
    uint32_t max = cap < SIMLINK_PAYLOAD_MAX ? (uint32_t)cap : SIMLINK_PAYLOAD_MAX;
    *n = 0;
    if (max == 0)
        return ft_fail(err, FT_E_INVALID, "%s: UART read into an empty buffer", s->name);
    for (;;) {
        uint32_t ms = link_ms_left(deadline_ns, SIMLINK_TIMEOUT_MAX_MS);
        uint8_t payload[8];
        struct reply r;
        store_le32(payload, max);
        store_le32(payload + 4, ms);
        uint64_t reply_by = link_deadline_ms((uint64_t)ms + SIMSOCK_IO_TIMEOUT_MS);
        if (exchange(s, SIMLINK_UART_READ, payload, sizeof(payload), reply_by, &r, err) != 0)
            return -1;
        if (r.status != SIMLINK_OK || r.len > max)
            return ft_fail(err, FT_E_PROTOCOL,
                           "%s: UART_READ reply: status %u, %zu bytes for at most %u", s->name,
                           (unsigned)r.status, r.len, (unsigned)max);
        if (r.len > 0) {
            memcpy(buf, s->rx, r.len);
            *n = r.len;
            return 0;
        }
        if (link_now_ns() >= deadline_ns)
            return ft_fail(err, FT_E_TIMEOUT, "%s: no UART bytes by the deadline", s->name);
    }
}

int simsock_uart_write(struct simsock *s, const uint8_t *data, size_t len, struct ft_error *err)
{
    for (size_t off = 0; off < len;) {
        size_t n = len - off < SIMLINK_PAYLOAD_MAX ? len - off : SIMLINK_PAYLOAD_MAX;
        struct reply r;
        if (exchange(s, SIMLINK_UART_WRITE, data + off, n, io_deadline(), &r, err) != 0 ||
            expect_ok(s, SIMLINK_UART_WRITE, &r, 0, err) != 0)
            return -1;
        off += n;
    }
    return 0;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static int connect_unix(struct simsock *s, struct ft_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, s->path, strlen(s->path) + 1);
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return ft_fail(err, FT_E_CONNECT, "%s: socket: %s", s->name, strerror(errno));
    if (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        return ft_fail(err, FT_E_CONNECT, "%s: connect: %s", s->name, strerror(errno));
    /* Non-blocking from here: every wait is a poll() bounded by a deadline. */
    int flags = fcntl(s->fd, F_GETFL);
    if (flags < 0 || fcntl(s->fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return ft_fail(err, FT_E_CONNECT, "%s: fcntl: %s", s->name, strerror(errno));
    return 0;
}

struct simsock *simsock_open(const char *path, struct ft_error *err)
{
    struct simsock *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        ft_fail(err, FT_E_NOMEM, "ftsim socket %s: out of memory", path);
        return NULL;
    }
    s->fd = -1;
    if (strlen(path) >= sizeof(s->path)) {
        ft_fail(err, FT_E_CONNECT, "ftsim socket path longer than %zu bytes: %s",
                sizeof(s->path) - 1, path);
        simsock_close(s);
        return NULL;
    }
    memcpy(s->path, path, strlen(path) + 1);
    snprintf(s->name, sizeof(s->name), "ftsim socket %s", path);
    s->tx = malloc(SIMLINK_HEADER_SIZE + SIMLINK_PAYLOAD_MAX);
    s->rx_buf = malloc(SIMLINK_HEADER_SIZE + SIMLINK_PAYLOAD_MAX);
    s->rx = s->rx_buf ? s->rx_buf + SIMLINK_HEADER_SIZE : NULL;
    if (s->tx == NULL || s->rx == NULL) {
        ft_fail(err, FT_E_NOMEM, "%s: out of memory", s->name);
        simsock_close(s);
        return NULL;
    }
    if (connect_unix(s, err) != 0) {
        simsock_close(s);
        return NULL;
    }
    s->bus = (struct spi_bus){
        .ops = &simsock_ops, .impl = s, .name = s->name, .max_xfer = SIMLINK_PAYLOAD_MAX};
    return s;
}

struct spi_bus *simsock_bus(struct simsock *s)
{
    return &s->bus;
}

const char *simsock_path(const struct simsock *s)
{
    return s->path;
}

void simsock_close(struct simsock *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->tx);
    free(s->rx_buf);
    free(s);
}
