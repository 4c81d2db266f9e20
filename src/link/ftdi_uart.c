/* An FTDI channel as a UART over libftdi1; see ftdi_uart.h. */
#include "link/ftdi_uart.h"

#include <ftdi.h>
#include <libusb.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "link/ftdi_open.h"
#include "link/spi_bus.h" /* link_now_ns */

#define UART_XON 0x11u
#define UART_XOFF 0x13u

struct ftdi_uart {
    struct ftdi_context *ctx;
    bool opened; /* the USB device is open */
    /* Set once the adapter failed (unplugged, not answering): later calls fail at once. */
    bool broken;
    char channel;
    uint32_t baud;
    uint64_t io_calls;
    char name[160];
};

static int link_down(struct ftdi_uart *u, const char *what, int rc, struct ft_error *err)
{
    u->broken = true;
    if (rc == LIBUSB_ERROR_NO_DEVICE)
        return ft_fail(err, FT_E_CONNECT, "%s: %s: the adapter was unplugged", u->name, what);
    return ft_fail(err, FT_E_CONNECT,
                   "%s: %s: USB transfer failed (%s, %d): adapter unplugged or not responding",
                   u->name, what, ftdi_get_error_string(u->ctx), rc);
}

static int check_usable(const struct ftdi_uart *u, const char *what, struct ft_error *err)
{
    if (!u->broken)
        return 0;
    return ft_fail(err, FT_E_CONNECT,
                   "%s: %s: the link is unusable after an earlier failure; reopen the adapter",
                   u->name, what);
}

int ftdi_uart_read(struct ftdi_uart *u, uint8_t *buf, size_t cap, size_t *n, uint64_t deadline_ns,
                   struct ft_error *err)
{
    *n = 0;
    if (cap == 0)
        return ft_fail(err, FT_E_INVALID, "%s: read into an empty buffer", u->name);
    if (check_usable(u, "read", err) != 0)
        return -1;
    int want = cap > INT_MAX ? INT_MAX : (int)cap;
    /* Each call is served from libftdi's buffer or is one bulk-IN round trip, which the
     * chip answers within its latency timer: the loop is bounded by the deadline plus
     * one latency period, and never sleeps. */
    for (;;) {
        u->io_calls++;
        int rc = ftdi_read_data(u->ctx, buf, want);
        if (rc == LIBUSB_ERROR_TIMEOUT) {
            u->broken = true;
            return ft_fail(err, FT_E_CONNECT, "%s: read: the adapter did not answer", u->name);
        }
        if (rc < 0)
            return link_down(u, "read", rc, err);
        if (rc > 0) {
            *n = (size_t)rc;
            return 0;
        }
        if (link_now_ns() >= deadline_ns)
            return ft_fail(err, FT_E_TIMEOUT, "%s: no bytes by the deadline", u->name);
    }
}

int ftdi_uart_write(struct ftdi_uart *u, const uint8_t *data, size_t len, uint64_t deadline_ns,
                    struct ft_error *err)
{
    if (check_usable(u, "write", err) != 0)
        return -1;
    for (size_t off = 0; off < len;) {
        if (off > 0 && link_now_ns() >= deadline_ns)
            return ft_fail(err, FT_E_TIMEOUT, "%s: %zu of %zu bytes written by the deadline",
                           u->name, off, len);
        size_t piece = len - off < FTDI_UART_CHUNK ? len - off : FTDI_UART_CHUNK;
        u->io_calls++;
        int rc = ftdi_write_data(u->ctx, data + off, (int)piece);
        if (rc < 0)
            return link_down(u, "write", rc, err);
        if (rc == 0) {
            u->broken = true;
            return ft_fail(err, FT_E_CONNECT, "%s: write: the adapter took none of %zu bytes",
                           u->name, piece);
        }
        off += (size_t)rc;
    }
    return 0;
}

uint64_t ftdi_uart_io_calls(const struct ftdi_uart *u)
{
    return u->io_calls;
}

const char *ftdi_uart_name(const struct ftdi_uart *u)
{
    return u->name;
}

uint32_t ftdi_uart_baud(const struct ftdi_uart *u)
{
    return u->baud;
}

/* A libftdi set-up call's result, naming the step that failed. */
static int setup_step(struct ftdi_uart *u, int rc, const char *step, struct ft_error *err)
{
    if (rc >= 0)
        return 0;
    u->broken = true;
    return ft_fail(err, FT_E_CONNECT, "%s: set-up failed at %s: %s (libftdi %d)", u->name, step,
                   ftdi_get_error_string(u->ctx), rc);
}

/* The UART bring-up of reference §4.6, with SIO reset and chunk sizes as ftdi_spi's. */
static int bring_up(struct ftdi_uart *u, bool xonxoff, struct ft_error *err)
{
    struct ftdi_context *c = u->ctx;
    if (c->type != TYPE_2232H && c->type != TYPE_4232H)
        return ft_fail(err, FT_E_INVALID, "%s: not an FT2232H or FT4232H (libftdi chip type %d)",
                       u->name, (int)c->type);
    if (c->type == TYPE_2232H && u->channel > 'B')
        return ft_fail(err, FT_E_INVALID, "%s: an FT2232H has channels A and B only", u->name);
    if (setup_step(u, ftdi_usb_reset(c), "SIO reset", err) != 0 ||
        setup_step(u, ftdi_set_bitmode(c, 0, BITMODE_RESET), "bitmode reset", err) != 0)
        return -1;
    int rc = ftdi_set_baudrate(c, (int)u->baud);
    if (rc == -1) /* libftdi: "invalid baudrate" (cannot get within 5 %) */
        return ft_fail(err, FT_E_INVALID, "%s: baud rate %u: %s", u->name, u->baud,
                       ftdi_get_error_string(c));
    int flow = xonxoff ? ftdi_setflowctrl_xonxoff(c, UART_XON, UART_XOFF)
                       : ftdi_setflowctrl(c, SIO_DISABLE_FLOW_CTRL);
    return setup_step(u, rc, "baud rate", err) != 0 ||
                   setup_step(u, ftdi_set_line_property(c, BITS_8, STOP_BIT_1, NONE), "8N1", err) !=
                       0 ||
                   setup_step(u, flow, "flow control", err) != 0 ||
                   setup_step(u, ftdi_set_latency_timer(c, FTDI_UART_LATENCY_MS), "latency timer",
                              err) != 0 ||
                   setup_step(u, ftdi_read_data_set_chunksize(c, FTDI_UART_CHUNK), "read chunk",
                              err) != 0 ||
                   setup_step(u, ftdi_write_data_set_chunksize(c, FTDI_UART_CHUNK), "write chunk",
                              err) != 0 ||
                   setup_step(u, ftdi_tcioflush(c), "purge", err) != 0
               ? -1
               : 0;
}

struct ftdi_uart *ftdi_uart_open(const struct ftdi_uart_config *cfg, struct ft_error *err)
{
    char channel = cfg->channel == 0 ? 'A' : cfg->channel;
    if (channel < 'A' || channel > 'D') {
        ft_fail(err, FT_E_INVALID, "FTDI channel '%c': expected A, B, C or D", channel);
        return NULL;
    }
    struct ftdi_uart *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        ft_fail(err, FT_E_NOMEM, "FTDI adapter: out of memory");
        return NULL;
    }
    u->channel = channel;
    u->baud = cfg->baud != 0 ? cfg->baud : FTDI_UART_DEFAULT_BAUD;
    snprintf(u->name, sizeof(u->name), "ftdi channel %c", channel);
    const struct ftdi_open_select sel = {.serial = cfg->serial,
                                         .description = cfg->description,
                                         .bus_addr = cfg->bus_addr,
                                         .index = cfg->index};
    int rc = -1;
    if (u->baud > INT_MAX)
        ft_fail(err, FT_E_INVALID, "%s: baud rate %u out of range", u->name, u->baud);
    else if ((u->ctx = ftdi_open_new_context(err)) != NULL &&
             ftdi_open_channel(u->ctx, &sel, channel, u->name, sizeof(u->name), err) == 0) {
        u->opened = true;
        rc = bring_up(u, cfg->xonxoff, err);
    }
    if (rc != 0) {
        ftdi_uart_close(u);
        return NULL;
    }
    return u;
}

void ftdi_uart_close(struct ftdi_uart *u)
{
    if (u == NULL)
        return;
    if (u->opened)
        (void)ftdi_usb_close(u->ctx);
    if (u->ctx != NULL)
        ftdi_free(u->ctx);
    free(u);
}
