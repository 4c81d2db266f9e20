/* FTDI MPSSE backend of spi_bus over libftdi1; see ftdi_spi.h. */
#include "link/ftdi_spi.h"

#include <ftdi.h>
#include <libusb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/ftdi_open.h"

/* Room for the commands of one batch: a few maximal transactions with their framing. */
#define CMD_CAP (4u * FTDI_SPI_MAX_XFER + 1024u)

struct ftdi_spi {
    struct spi_bus bus;
    struct ftdi_context *ctx;
    struct ftdi_pin_map pins;
    struct ftdi_gpio_state gpio; /* what the last 0x80/0x82 drove */
    bool uses_high;              /* the pin map needs 0x82/0x83 */
    bool opened;                 /* the USB device is open */
    bool in_mpsse;               /* bitmode is MPSSE: close releases the pins */
    /* Set once the command stream may be out of step with the chip (a write or read
     * failed or a reply had the wrong length): later ops fail at once. */
    bool broken;
    char channel;
    uint16_t divisor; /* kept to bring the engine up again after an abandoned wait */
    uint32_t clock_hz;
    char name[160];
    uint8_t cmd[CMD_CAP];
    uint8_t reply[CMD_CAP];
    uint8_t idle_mosi[FTDI_SPI_MAX_XFER]; /* 0xff: what a NULL mosi sends */
};

/* ---- USB I/O ------------------------------------------------------------------------- */

static int link_down(struct ftdi_spi *f, const char *what, int rc, struct ft_error *err)
{
    f->broken = true;
    if (rc == LIBUSB_ERROR_NO_DEVICE)
        return ft_fail(err, FT_E_CONNECT, "%s: %s: the adapter was unplugged", f->name, what);
    return ft_fail(err, FT_E_CONNECT,
                   "%s: %s: USB transfer failed (%s, %d): adapter unplugged or "
                   "not responding",
                   f->name, what, ftdi_get_error_string(f->ctx), rc);
}

static int write_all(struct ftdi_spi *f, const uint8_t *data, size_t len, const char *what,
                     struct ft_error *err)
{
    int rc = ftdi_write_data(f->ctx, data, (int)len);
    if (rc < 0)
        return link_down(f, what, rc, err);
    if ((size_t)rc != len) {
        f->broken = true;
        return ft_fail(err, FT_E_CONNECT, "%s: %s: the adapter took %d of %zu bytes", f->name, what,
                       rc, len);
    }
    return 0;
}

/* Reads exactly `want` bytes by `deadline_ns`. libftdi returns 0 for a USB packet that
 * only carried the chip's status bytes (every latency-timer period), so this loops
 * without sleeping: each call waits in the USB stack. */
static int read_exact(struct ftdi_spi *f, uint8_t *buf, size_t want, uint64_t deadline_ns,
                      const char *what, struct ft_error *err)
{
    size_t got = 0;
    while (got < want) {
        int rc = ftdi_read_data(f->ctx, buf + got, (int)(want - got));
        if (rc == LIBUSB_ERROR_TIMEOUT) {
            f->broken = true;
            return ft_fail(err, FT_E_TIMEOUT, "%s: %s: the adapter did not answer", f->name, what);
        }
        if (rc < 0)
            return link_down(f, what, rc, err);
        if ((size_t)rc > want - got) {
            f->broken = true;
            return ft_fail(err, FT_E_PROTOCOL, "%s: %s: libftdi returned %d bytes for %zu", f->name,
                           what, rc, want - got);
        }
        got += (size_t)rc;
        if (got < want && link_now_ns() >= deadline_ns) {
            f->broken = true;
            if (got == 0)
                return ft_fail(err, FT_E_TIMEOUT, "%s: %s: no reply from the adapter in time",
                               f->name, what);
            return ft_fail(err, FT_E_PROTOCOL, "%s: %s: reply of %zu bytes, expected %zu", f->name,
                           what, got, want);
        }
    }
    /* Bytes libftdi already holds beyond the reply: the chip answered more than asked
     * (e.g. FA <op> for a command it did not know). */
    if (f->ctx->readbuffer_remaining != 0) {
        f->broken = true;
        return ft_fail(err, FT_E_PROTOCOL, "%s: %s: reply of more than the expected %zu bytes",
                       f->name, what, want);
    }
    return 0;
}

/* Nanoseconds the chip needs to clock `bytes` at the bus clock. */
static uint64_t clocking_ns(const struct ftdi_spi *f, size_t bytes)
{
    return (uint64_t)bytes * 8u * 1000000000u / f->clock_hz;
}

/* Bytes of clocks without data that last at least `ns` at the bus clock (CS stays high:
 * the chip ignores them), at most one 0x8F command's worth. */
static size_t idle_bytes(const struct ftdi_spi *f, uint32_t ns)
{
    uint64_t bytes = ((uint64_t)ns * f->clock_hz + 8000000000u - 1) / 8000000000u;
    return bytes == 0 ? 1 : bytes > MPSSE_CLOCK_MAX ? MPSSE_CLOCK_MAX : (size_t)bytes;
}

/* One round trip: writes the commands in `b` and, when they produce a reply, reads
 * exactly b->reply_len bytes of it into f->reply by `deadline_ns`. */
static int exchange_by(struct ftdi_spi *f, const struct ftdi_mpsse_buf *b, uint64_t deadline_ns,
                       const char *what, struct ft_error *err)
{
    if (f->broken)
        return ft_fail(err, FT_E_CONNECT,
                       "%s: %s: the link is unusable after an earlier failure; reopen the adapter",
                       f->name, what);
    if (ftdi_mpsse_buf_check(b, err) != 0)
        return ft_error_prefix(err, "%s: %s", f->name, what);
    if (b->len > FTDI_SPI_FIFO && b->reply_len > FTDI_SPI_FIFO)
        return ft_fail(err, FT_E_INVALID,
                       "%s: %s: %zu command bytes with a %zu-byte reply could stall the chip "
                       "(both over its %u-byte FIFO); split it",
                       f->name, what, b->len, b->reply_len, FTDI_SPI_FIFO);
    f->bus.round_trips++;
    if (write_all(f, b->data, b->len, what, err) != 0)
        return -1;
    if (b->reply_len == 0)
        return 0;
    return read_exact(f, f->reply, b->reply_len, deadline_ns, what, err);
}

/* An exchange that must not wait on the device: the adapter's I/O timeout plus the time
 * its SPI clocking takes. */
static int exchange(struct ftdi_spi *f, const struct ftdi_mpsse_buf *b, const char *what,
                    struct ft_error *err)
{
    uint64_t deadline_ns =
        link_deadline_ms(FTDI_SPI_IO_TIMEOUT_MS) + clocking_ns(f, b->len + b->reply_len);
    return exchange_by(f, b, deadline_ns, what, err);
}

/* ---- waiting in the adapter -------------------------------------------------------------- */

/* A wait on one bus pin that the MPSSE engine can do itself (88/89 then the rest of the
 * commands): the pin is on GPIOL1. */
struct pin_wait {
    uint32_t mask;
    bool high;
    uint64_t deadline_ns;
};

static bool on_gpiol1(const struct ftdi_spi *f, uint32_t mask)
{
    if (mask == 0 || (mask & (mask - 1)) != 0)
        return false; /* not exactly one pin */
    unsigned n = (unsigned)__builtin_ctz(mask);
    return n < FTDI_PIN_MAP_SIZE && f->pins.pin[n].port == FTDI_PORT_LOW &&
           (1u << f->pins.pin[n].bit) == MPSSE_PIN_GPIOL1;
}

static int bring_up(struct ftdi_spi *f, struct ft_error *err);

/* After a wait the chip never saw satisfied, the engine still holds it: only leaving
 * MPSSE mode ends it. Brings the channel up again (bitmode reset, purge, sync check, clock)
 * and drives the pins as before. The GPIOs float for the few milliseconds this takes. */
static int resync(struct ftdi_spi *f, struct ft_error *err)
{
    f->broken = false;
    if (bring_up(f, err) != 0)
        return -1;
    if (!f->uses_high)
        return 0;
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, f->cmd, sizeof(f->cmd));
    ftdi_mpsse_set_high(&b, f->gpio.high_value, f->gpio.high_direction);
    return exchange(f, &b, "restoring the pins", err);
}

/* Sends `b` (which starts with the wait) and reads its reply by the wait's deadline; the
 * reply only comes once the pin is at the level. A deadline already past still gives the
 * adapter one latency period to answer. On a timeout the wait is abandoned (resync) and
 * the link stays usable. */
static int waiting_exchange(struct ftdi_spi *f, const struct ftdi_mpsse_buf *b,
                            const struct pin_wait *w, const char *what, struct ft_error *err)
{
    uint64_t now = link_now_ns();
    uint64_t by = (w->deadline_ns > now ? w->deadline_ns : now) +
                  clocking_ns(f, b->len + b->reply_len) + 2u * FTDI_SPI_LATENCY_MS * 1000000u;
    if (exchange_by(f, b, by, what, err) == 0)
        return 0;
    if (err->code != FT_E_TIMEOUT)
        return -1; /* unplugged, or a partial reply: nothing to re-synchronise to */
    const char *pin = ftdi_pin_map_pin_name((unsigned)__builtin_ctz(w->mask));
    const char *level = w->high ? "low" : "high";
    struct ft_error why = {0};
    if (resync(f, &why) != 0)
        return ft_fail(err, FT_E_CONNECT,
                       "%s: %s: %s stayed %s until the deadline, and bringing the adapter up "
                       "again after the abandoned wait failed: %s",
                       f->name, what, pin, level, why.message);
    return ft_fail(err, FT_E_TIMEOUT,
                   "%s: %s: %s stayed %s until the deadline (the wait in the adapter was "
                   "abandoned; the link is usable)",
                   f->name, what, pin, level);
}

/* ---- spi_bus ops --------------------------------------------------------------------- */

/* The transactions in one write, after the wait `w` when it is not NULL. */
static int run_xfers(struct ftdi_spi *f, const struct pin_wait *w, const struct spi_bus_xfer *xfers,
                     size_t n, const char *what, struct ft_error *err)
{
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, f->cmd, sizeof(f->cmd));
    if (w != NULL)
        ftdi_mpsse_wait_gpiol1(&b, w->high);
    for (size_t i = 0; i < n; i++) {
        const struct spi_bus_xfer *x = &xfers[i];
        if (x->len == 0 || x->len > f->bus.max_xfer)
            return ft_fail(err, FT_E_INVALID, "%s: SPI transaction of %zu bytes (1..%zu allowed)",
                           f->name, x->len, f->bus.max_xfer);
        if (x->idle_ns_before > 0)
            ftdi_mpsse_idle_clocks(&b, idle_bytes(f, x->idle_ns_before));
        const uint8_t *mosi = x->mosi != NULL ? x->mosi : f->idle_mosi;
        struct ftdi_mpsse_xfer_plan plan = ftdi_mpsse_xfer_plan(mosi, x->len, x->miso != NULL);
        ftdi_mpsse_xfer(&b, &plan, mosi, f->gpio.low_value, f->gpio.low_direction);
    }
    if (b.reply_len > 0)
        ftdi_mpsse_send_immediate(&b);
    if ((w != NULL ? waiting_exchange(f, &b, w, what, err) : exchange(f, &b, what, err)) != 0)
        return -1;
    /* The plans are recomputed from the same inputs to place each reply. */
    size_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        const struct spi_bus_xfer *x = &xfers[i];
        if (x->miso == NULL)
            continue;
        const uint8_t *mosi = x->mosi != NULL ? x->mosi : f->idle_mosi;
        struct ftdi_mpsse_xfer_plan plan = ftdi_mpsse_xfer_plan(mosi, x->len, true);
        ftdi_mpsse_xfer_reply(&plan, f->reply + offset, x->miso, x->len);
        offset += plan.in_len + plan.duplex_len;
    }
    return 0;
}

static int ftdi_xfer(struct spi_bus *bus, const uint8_t *mosi, uint8_t *miso, size_t len,
                     struct ft_error *err)
{
    const struct spi_bus_xfer one = {.mosi = mosi, .miso = miso, .len = len};
    return run_xfers(bus->impl, NULL, &one, 1, "SPI transaction", err);
}

static int ftdi_xfer_batch(struct spi_bus *bus, const struct spi_bus_xfer *xfers, size_t n,
                           struct ft_error *err)
{
    if (n == 0)
        return 0;
    return run_xfers(bus->impl, NULL, xfers, n, "SPI batch", err);
}

/* Reads both ports, after the wait `w` when it is not NULL. */
static int read_pins(struct ftdi_spi *f, const struct pin_wait *w, uint32_t *pins,
                     struct ft_error *err)
{
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, f->cmd, sizeof(f->cmd));
    if (w != NULL)
        ftdi_mpsse_wait_gpiol1(&b, w->high);
    ftdi_mpsse_read_low(&b);
    if (f->uses_high)
        ftdi_mpsse_read_high(&b);
    ftdi_mpsse_send_immediate(&b);
    if ((w != NULL ? waiting_exchange(f, &b, w, "GPIO wait", err)
                   : exchange(f, &b, "GPIO read", err)) != 0)
        return -1;
    *pins = ftdi_pin_map_decode(&f->pins, f->reply[0], f->uses_high ? f->reply[1] : 0);
    return 0;
}

static int ftdi_gpio_read(struct spi_bus *bus, uint32_t *pins, struct ft_error *err)
{
    return read_pins(bus->impl, NULL, pins, err);
}

/* In the adapter when the pin is on GPIOL1 (the default map puts TX_READY there), else
 * by polling. */
static int ftdi_gpio_wait(struct spi_bus *bus, uint32_t mask, uint32_t value, uint64_t deadline_ns,
                          uint32_t *pins, struct ft_error *err)
{
    struct ftdi_spi *f = bus->impl;
    if (!on_gpiol1(f, mask))
        return spi_bus_poll_pins(bus, mask, value, deadline_ns, pins, err);
    const struct pin_wait w = {
        .mask = mask, .high = (value & mask) != 0, .deadline_ns = deadline_ns};
    return read_pins(f, &w, pins, err);
}

static int ftdi_xfer_when(struct spi_bus *bus, uint32_t mask, uint32_t value, uint64_t deadline_ns,
                          const struct spi_bus_xfer *x, size_t n, struct ft_error *err)
{
    struct ftdi_spi *f = bus->impl;
    if (!on_gpiol1(f, mask)) {
        uint32_t pins;
        if (spi_bus_poll_pins(bus, mask, value, deadline_ns, &pins, err) != 0)
            return -1;
        return run_xfers(f, NULL, x, n, "SPI transaction", err);
    }
    const struct pin_wait w = {
        .mask = mask, .high = (value & mask) != 0, .deadline_ns = deadline_ns};
    return run_xfers(f, &w, x, n, "SPI transaction after a GPIO wait", err);
}

static int ftdi_gpio_write(struct spi_bus *bus, uint32_t mask, uint32_t value, struct ft_error *err)
{
    struct ftdi_spi *f = bus->impl;
    struct ftdi_gpio_state next = f->gpio;
    if (ftdi_pin_map_drive(&f->pins, mask, value, &next, err) != 0)
        return ft_error_prefix(err, "%s", f->name);
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, f->cmd, sizeof(f->cmd));
    if (next.low_value != f->gpio.low_value || next.low_direction != f->gpio.low_direction)
        ftdi_mpsse_cs_deassert(&b, next.low_value, next.low_direction);
    if (next.high_value != f->gpio.high_value || next.high_direction != f->gpio.high_direction)
        ftdi_mpsse_set_high(&b, next.high_value, next.high_direction);
    if (b.len == 0)
        return 0; /* the pins already are what was asked */
    if (exchange(f, &b, "GPIO write", err) != 0)
        return -1;
    f->gpio = next;
    return 0;
}

static void ftdi_bus_close(struct spi_bus *bus)
{
    ftdi_spi_close(bus->impl);
}

static const struct spi_bus_ops ftdi_spi_ops = {
    .xfer = ftdi_xfer,
    .xfer_batch = ftdi_xfer_batch,
    .gpio_read = ftdi_gpio_read,
    .gpio_write = ftdi_gpio_write,
    .gpio_wait = ftdi_gpio_wait,
    .xfer_when = ftdi_xfer_when,
    .close = ftdi_bus_close,
};

/* ---- bring-up ------------------------------------------------------------------------ */

static int check_chip(struct ftdi_spi *f, struct ft_error *err)
{
    bool has_high_byte;
    switch (f->ctx->type) {
    case TYPE_2232H:
        has_high_byte = true;
        break;
    case TYPE_4232H:
        has_high_byte = false;
        break;
    default:
        return ft_fail(err, FT_E_INVALID,
                       "%s: not an FT2232H or FT4232H (libftdi chip type %d): no MPSSE at a 60 MHz "
                       "base clock",
                       f->name, (int)f->ctx->type);
    }
    if (ftdi_pin_map_check(&f->pins, has_high_byte, err) != 0)
        return ft_error_prefix(err, "%s", f->name);
    f->uses_high = ftdi_pin_map_uses_high(&f->pins);
    f->bus.unwired = ftdi_pin_map_unwired(&f->pins);
    return 0;
}

/* A libftdi set-up call's result, naming the step that failed. */
static int setup_step(struct ftdi_spi *f, int rc, const char *step, struct ft_error *err)
{
    if (rc >= 0)
        return 0;
    f->broken = true;
    return ft_fail(err, FT_E_CONNECT, "%s: set-up failed at %s: %s (libftdi %d)", f->name, step,
                   ftdi_get_error_string(f->ctx), rc);
}

static int enter_mpsse(struct ftdi_spi *f, struct ft_error *err)
{
    struct ftdi_context *c = f->ctx;
    if (setup_step(f, ftdi_usb_reset(c), "SIO reset", err) != 0 ||
        setup_step(f, ftdi_set_latency_timer(c, FTDI_SPI_LATENCY_MS), "latency timer", err) != 0 ||
        setup_step(f, ftdi_read_data_set_chunksize(c, FTDI_SPI_CHUNK), "read chunk", err) != 0 ||
        setup_step(f, ftdi_write_data_set_chunksize(c, FTDI_SPI_CHUNK), "write chunk", err) != 0 ||
        setup_step(f, ftdi_set_bitmode(c, 0, BITMODE_RESET), "bitmode reset", err) != 0)
        return -1;
    /* Direction mask 0: nothing is driven until the init sequence sets the SPI pins. */
    if (setup_step(f, ftdi_set_bitmode(c, 0, BITMODE_MPSSE), "MPSSE mode", err) != 0)
        return -1;
    f->in_mpsse = true;
    return setup_step(f, ftdi_tcioflush(c), "purge", err);
}

static int bring_up(struct ftdi_spi *f, struct ft_error *err)
{
    if (enter_mpsse(f, err) != 0)
        return -1;
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, f->cmd, sizeof(f->cmd));
    ftdi_mpsse_sync(&b);
    if (exchange(f, &b, "MPSSE sync", err) != 0)
        return -1;
    if (!ftdi_mpsse_sync_reply_ok(f->reply, b.reply_len)) {
        f->broken = true;
        return ft_fail(err, FT_E_PROTOCOL,
                       "%s: channel %c is not executing MPSSE commands (bad-command probe got "
                       "%02x %02x, expected fa aa)",
                       f->name, f->channel, f->reply[0], f->reply[1]);
    }
    ftdi_mpsse_buf_init(&b, f->cmd, sizeof(f->cmd));
    ftdi_mpsse_init(&b, f->divisor, f->gpio.low_value, f->gpio.low_direction);
    return exchange(f, &b, "MPSSE init", err);
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static int check_config(const struct ftdi_spi_config *cfg, char *channel, uint16_t *divisor,
                        uint32_t *clock_hz, struct ft_error *err)
{
    *channel = cfg->channel == 0 ? 'A' : cfg->channel;
    if (*channel == 'C' || *channel == 'D')
        return ft_fail(err, FT_E_INVALID,
                       "FTDI channel %c has no MPSSE engine (only A and B do, on FT2232H and "
                       "FT4232H); wire the SPI to channel A or B",
                       *channel);
    if (*channel != 'A' && *channel != 'B')
        return ft_fail(err, FT_E_INVALID, "FTDI channel '%c': expected A or B", *channel);
    uint32_t hz = cfg->clock_hz != 0 ? cfg->clock_hz : FTDI_SPI_DEFAULT_HZ;
    if (ftdi_mpsse_divisor_for(hz, divisor, clock_hz, err) != 0)
        return -1;
    return 0;
}

struct ftdi_spi *ftdi_spi_open(const struct ftdi_spi_config *cfg, struct ft_error *err)
{
    char channel;
    uint16_t divisor;
    uint32_t clock_hz;
    if (check_config(cfg, &channel, &divisor, &clock_hz, err) != 0)
        return NULL;
    struct ftdi_spi *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        ft_fail(err, FT_E_NOMEM, "FTDI adapter: out of memory");
        return NULL;
    }
    f->channel = channel;
    f->divisor = divisor;
    f->clock_hz = clock_hz;
    memset(f->idle_mosi, 0xff, sizeof(f->idle_mosi));
    if (cfg->pins != NULL)
        f->pins = *cfg->pins;
    else
        ftdi_pin_map_default(&f->pins);
    snprintf(f->name, sizeof(f->name), "ftdi channel %c", channel);
    f->bus = (struct spi_bus){
        .ops = &ftdi_spi_ops, .impl = f, .name = f->name, .max_xfer = FTDI_SPI_MAX_XFER};
    const struct ftdi_open_select sel = {.serial = cfg->serial,
                                         .description = cfg->description,
                                         .bus_addr = cfg->bus_addr,
                                         .index = cfg->index};
    int rc = -1;
    if (ftdi_pin_map_check(&f->pins, true, err) != 0)
        ft_error_prefix(err, "%s", f->name);
    else if ((f->ctx = ftdi_open_new_context(err)) != NULL &&
             ftdi_open_channel(f->ctx, &sel, channel, f->name, sizeof(f->name), err) == 0) {
        f->opened = true;
        rc = check_chip(f, err) == 0 && bring_up(f, err) == 0 ? 0 : -1;
    }
    if (rc != 0) {
        ftdi_spi_close(f);
        return NULL;
    }
    return f;
}

struct spi_bus *ftdi_spi_bus(struct ftdi_spi *f)
{
    return &f->bus;
}

uint32_t ftdi_spi_clock_hz(const struct ftdi_spi *f)
{
    return f->clock_hz;
}

/* Best effort: the adapter may already be gone. */
static void release_pins(struct ftdi_spi *f)
{
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, f->cmd, sizeof(f->cmd));
    ftdi_mpsse_set_low(&b, 0, 0);
    if (f->uses_high)
        ftdi_mpsse_set_high(&b, 0, 0);
    (void)ftdi_write_data(f->ctx, b.data, (int)b.len);
    (void)ftdi_set_bitmode(f->ctx, 0, BITMODE_RESET);
}

void ftdi_spi_close(struct ftdi_spi *f)
{
    if (f == NULL)
        return;
    if (f->in_mpsse)
        release_pins(f);
    if (f->opened)
        (void)ftdi_usb_close(f->ctx);
    if (f->ctx != NULL)
        ftdi_free(f->ctx);
    free(f);
}
