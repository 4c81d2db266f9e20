/* The SPI bus + GPIO interface below the SPI console (DESIGN.md §4: the console protocol
 * is written once over this; FTDI MPSSE, the ftsim socket and test models are backends).
 *
 * A backend fills a `struct spi_bus` (ops table + context) and keeps its own state in
 * `impl`. Every op is one exchange with the adapter: the backend counts them in
 * `round_trips`, so benchmarks can report what a device frame costs on each link.
 *
 * Ops return 0, or -1 with `err` filled (FT_E_CONNECT when the link is gone, naming it;
 * FT_E_TIMEOUT when a deadline or the backend's I/O timeout passed; FT_E_PROTOCOL when the
 * adapter answered something malformed). Nothing here sleeps: waiting is either a real
 * wait in the adapter (gpio_wait, xfer_when) or bounded back-to-back polling.
 *
 * Deadlines are absolute CLOCK_MONOTONIC times in nanoseconds (link_deadline_ms()). */
#ifndef FTHARNESS_LINK_SPI_BUS_H
#define FTHARNESS_LINK_SPI_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"

/* Pin bits in gpio_read/gpio_write/gpio_wait. Same meaning and values as SIM_PIN_* in
 * wire/simlink.h, so the ftsim socket passes them through; a hardware backend maps its
 * configured pin map onto these. Outputs are driven by the chip, inputs by the host. */
#define SPI_BUS_PIN_TEST_ERROR (1u << 0) /* IOA0 */
#define SPI_BUS_PIN_TEST_DONE (1u << 1)  /* IOA1 */
#define SPI_BUS_PIN_TEST_START (1u << 2) /* IOA4 */
#define SPI_BUS_PIN_TX_READY (1u << 3)   /* IOA5: the SPI console holds a frame */
#define SPI_BUS_PIN_RX_READY (1u << 4)   /* IOA6: the chip waits for input */
#define SPI_BUS_PIN_OUTPUTS 0x1Fu
#define SPI_BUS_PIN_RESET_N (1u << 8) /* 0 holds the chip in reset */
#define SPI_BUS_PIN_STRAP0 (1u << 9)  /* SW_STRAP0..2: all high = ROM bootstrap */
#define SPI_BUS_PIN_STRAP1 (1u << 10)
#define SPI_BUS_PIN_STRAP2 (1u << 11)
#define SPI_BUS_PIN_STRAPS (SPI_BUS_PIN_STRAP0 | SPI_BUS_PIN_STRAP1 | SPI_BUS_PIN_STRAP2)
#define SPI_BUS_PIN_INPUTS (SPI_BUS_PIN_RESET_N | SPI_BUS_PIN_STRAPS)

/* One CS-framed transaction of a batch. `miso` may be NULL when the reply is not wanted;
 * otherwise it receives `len` bytes. `idle_ns_before` asks for at least that long with CS
 * high before the transaction starts, timed by the adapter (an FTDI clocks without data):
 * the chip's firmware gets time to see the CS edge or to take an upload. Backends that
 * run each transaction as its own exchange may ignore it: their round trip is longer. */
struct spi_bus_xfer {
    const uint8_t *mosi;
    uint8_t *miso;
    size_t len;
    uint32_t idle_ns_before;
};

struct spi_bus;

struct spi_bus_ops {
    /* One transaction: CS low, `len` bytes out of `mosi` and into `miso` (may be NULL),
     * CS high. 1 <= len <= bus->max_xfer (checked by spi_bus_xfer()). */
    int (*xfer)(struct spi_bus *bus, const uint8_t *mosi, uint8_t *miso, size_t len,
                struct ft_error *err);
    /* Optional (NULL: not offered): `n` transactions, each its own CS frame, in one
     * exchange with the adapter. Used where no reply decides what comes next
     * (WREN + PAGE_PROGRAM + first READ_STATUS of an upload). */
    int (*xfer_batch)(struct spi_bus *bus, const struct spi_bus_xfer *xfers, size_t n,
                      struct ft_error *err);
    int (*gpio_read)(struct spi_bus *bus, uint32_t *pins, struct ft_error *err);
    /* Drives the input pins in `mask` (SPI_BUS_PIN_INPUTS) to `value`. */
    int (*gpio_write)(struct spi_bus *bus, uint32_t mask, uint32_t value, struct ft_error *err);
    /* Optional (NULL: callers poll gpio_read): waits in the adapter until
     * (pins & mask) == value, or fails with FT_E_TIMEOUT once `deadline_ns` has passed.
     * *pins gets the last pins seen either way. A deadline already past still looks once. */
    int (*gpio_wait)(struct spi_bus *bus, uint32_t mask, uint32_t value, uint64_t deadline_ns,
                     uint32_t *pins, struct ft_error *err);
    /* Optional (NULL: spi_bus_xfers_when() waits, then runs the transactions): waits in
     * the adapter until (pins & mask) == value, then runs the `n` transactions `x`, in one
     * exchange; fails with FT_E_TIMEOUT once `deadline_ns` has passed (a pin that rose at
     * the deadline may have let them run: the caller treats the timeout as the end of the
     * step). Saves the round trip between seeing TX-ready and reading the frame, and,
     * with the header and payload reads together, the one between them. */
    int (*xfer_when)(struct spi_bus *bus, uint32_t mask, uint32_t value, uint64_t deadline_ns,
                     const struct spi_bus_xfer *x, size_t n, struct ft_error *err);
    /* Releases the backend; the bus must not be used afterwards. */
    void (*close)(struct spi_bus *bus);
};

struct spi_bus {
    const struct spi_bus_ops *ops;
    void *impl;       /* the backend's state */
    const char *name; /* for messages: "ftsim socket /run/x.sock", "ftdi:FT4232H:A" */
    size_t max_xfer;  /* largest single transaction the backend carries */
    /* SPI_BUS_PIN_* bits the board does not connect (an FTDI pin map's "none"): they read
     * as 0 and cannot be driven. 0 for backends that have every pin. */
    uint32_t unwired;
    uint64_t round_trips; /* exchanges with the adapter so far, counted by the backend */
};

/* ---- deadlines ------------------------------------------------------------------------ */

static inline uint64_t link_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The deadline `ms` milliseconds from now. */
static inline uint64_t link_deadline_ms(uint64_t ms)
{
    return link_now_ns() + ms * 1000000u;
}

/* Milliseconds until `deadline_ns`, rounded up (a wait never ends before its deadline)
 * and capped at `cap_ms`; 0 once it has passed. */
static inline uint32_t link_ms_left(uint64_t deadline_ns, uint32_t cap_ms)
{
    uint64_t now = link_now_ns();
    if (now >= deadline_ns)
        return 0;
    uint64_t ms = (deadline_ns - now + 999999u) / 1000000u;
    return ms > cap_ms ? cap_ms : (uint32_t)ms;
}

/* ---- checked entry points (what callers use) ----------------------------------------- */

static inline int spi_bus_xfer(struct spi_bus *bus, const uint8_t *mosi, uint8_t *miso, size_t len,
                               struct ft_error *err)
{
    if (len == 0 || len > bus->max_xfer)
        return ft_fail(err, FT_E_INVALID, "%s: SPI transaction of %zu bytes (1..%zu allowed)",
                       bus->name, len, bus->max_xfer);
    return bus->ops->xfer(bus, mosi, miso, len, err);
}

static inline bool spi_bus_has_batch(const struct spi_bus *bus)
{
    return bus->ops->xfer_batch != NULL;
}

static inline int spi_bus_gpio_read(struct spi_bus *bus, uint32_t *pins, struct ft_error *err)
{
    return bus->ops->gpio_read(bus, pins, err);
}

/* Reads the pins back to back (no sleep: a sleep would add its length to every console
 * frame) until (pins & mask) == value; FT_E_TIMEOUT once `deadline_ns` has passed (a
 * deadline already past still reads once). The fallback of backends without a wait in
 * the adapter. */
static inline int spi_bus_poll_pins(struct spi_bus *bus, uint32_t mask, uint32_t value,
                                    uint64_t deadline_ns, uint32_t *pins, struct ft_error *err)
{
    for (;;) {
        if (bus->ops->gpio_read(bus, pins, err) != 0)
            return -1;
        if ((*pins & mask) == value)
            return 0;
        if (link_now_ns() >= deadline_ns)
            return ft_fail(err, FT_E_TIMEOUT,
                           "%s: pins 0x%03x did not reach 0x%03x in time (now 0x%03x)", bus->name,
                           (unsigned)mask, (unsigned)value, (unsigned)(*pins & mask));
    }
}

/* Waits until (pins & mask) == value: in the adapter when it can, else by polling. */
static inline int spi_bus_wait(struct spi_bus *bus, uint32_t mask, uint32_t value,
                               uint64_t deadline_ns, uint32_t *pins, struct ft_error *err)
{
    if (bus->ops->gpio_wait != NULL)
        return bus->ops->gpio_wait(bus, mask, value, deadline_ns, pins, err);
    return spi_bus_poll_pins(bus, mask, value, deadline_ns, pins, err);
}

/* Waits until (pins & mask) == value, then runs `n` transactions: in one exchange when
 * the backend offers xfer_when, else a wait, then a batch (or one exchange each). */
static inline int spi_bus_xfers_when(struct spi_bus *bus, uint32_t mask, uint32_t value,
                                     uint64_t deadline_ns, const struct spi_bus_xfer *x, size_t n,
                                     struct ft_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (x[i].len == 0 || x[i].len > bus->max_xfer)
            return ft_fail(err, FT_E_INVALID, "%s: SPI transaction of %zu bytes (1..%zu allowed)",
                           bus->name, x[i].len, bus->max_xfer);
    if (bus->ops->xfer_when != NULL)
        return bus->ops->xfer_when(bus, mask, value, deadline_ns, x, n, err);
    uint32_t pins;
    if (spi_bus_wait(bus, mask, value, deadline_ns, &pins, err) != 0)
        return -1;
    if (n > 1 && bus->ops->xfer_batch != NULL)
        return bus->ops->xfer_batch(bus, x, n, err);
    for (size_t i = 0; i < n; i++)
        if (bus->ops->xfer(bus, x[i].mosi, x[i].miso, x[i].len, err) != 0)
            return -1;
    return 0;
}

/* The same for one transaction. */
static inline int spi_bus_xfer_when(struct spi_bus *bus, uint32_t mask, uint32_t value,
                                    uint64_t deadline_ns, const struct spi_bus_xfer *x,
                                    struct ft_error *err)
{
    return spi_bus_xfers_when(bus, mask, value, deadline_ns, x, 1, err);
}

static inline int spi_bus_gpio_write(struct spi_bus *bus, uint32_t mask, uint32_t value,
                                     struct ft_error *err)
{
    if ((mask & ~(uint32_t)SPI_BUS_PIN_INPUTS) != 0)
        return ft_fail(err, FT_E_INVALID, "%s: pins 0x%x are not host-driven inputs", bus->name,
                       (unsigned)(mask & ~(uint32_t)SPI_BUS_PIN_INPUTS));
    return bus->ops->gpio_write(bus, mask, value, err);
}

static inline void spi_bus_close(struct spi_bus *bus)
{
    if (bus != NULL && bus->ops != NULL && bus->ops->close != NULL)
        bus->ops->close(bus);
}

#endif
