/* One channel (A-D) of an FTDI FT2232H / FT4232H as a UART through libftdi1 (reference
 * transport §2.1, §4.2, §4.6): 115200 8N1 by default, the channel in bitmode RESET
 * (plain UART), no hardware flow control. The device's XON/XOFF bytes reach the host
 * untouched and the console acts on them (console/uart_console.c), as upstream's
 * SoftwareFlowControl does; `xonxoff` additionally lets the adapter itself stop sending
 * on the device's XOFF (SET_FLOW_CTRL XON/XOFF with 0x11/0x13).
 *
 * Reads and writes never sleep. libftdi has no "wait until data": ftdi_read_data returns
 * what its buffer holds, or makes ONE bulk-IN request, which the chip answers with what
 * it has received, or with an empty packet when its latency timer (FTDI_UART_LATENCY_MS)
 * runs out. A read with a deadline is a bounded loop of such USB round trips: each
 * waits at most about one latency period in the USB stack, so the loop ends within a
 * period of the deadline. Writes are one synchronous bulk-OUT (libftdi's 5 s USB
 * timeout bounds a chip that stopped taking bytes).
 *
 * Errors as ftdi_spi's (see ftdi_open.h): not found (FT_E_CONNECT listing the adapters),
 * no permission (pointing at dist/99-ftharness-ftdi.rules), unplugged or not answering
 * (FT_E_CONNECT naming the adapter); after such a failure every later call fails at
 * once; close and open again. A read that got nothing by its deadline is FT_E_TIMEOUT and
 * leaves the link usable. */
#ifndef FTHARNESS_LINK_FTDI_UART_H
#define FTHARNESS_LINK_FTDI_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define FTDI_UART_DEFAULT_BAUD 115200u
/* Latency timer: how long the chip holds a partly filled packet before sending it, and
 * so the longest one empty read round trip takes. */
#define FTDI_UART_LATENCY_MS 2u
/* USB transfer size for libftdi's reads and writes. */
#define FTDI_UART_CHUNK 4096u

/* Which adapter and channel. Zero-initialise, then set what matters; the first of
 * bus_addr / serial+description+index that is set selects the adapter. */
struct ftdi_uart_config {
    const char *serial;      /* USB serial string, exact match; NULL: any */
    const char *description; /* USB product string, exact match; NULL: any */
    const char *bus_addr;    /* "BUS:DEV" (libusb bus number, device address); NULL: unused */
    unsigned index;          /* the index-th adapter matching serial/description, from 0 */
    char channel;            /* 'A'..'D' (C and D on an FT4232H only); 0 means 'A' */
    uint32_t baud;           /* 0: FTDI_UART_DEFAULT_BAUD */
    bool xonxoff;            /* the adapter obeys the device's XOFF/XON too */
};

struct ftdi_uart;

/* Opens the channel and sets it up: SIO reset, bitmode RESET, baud rate, 8N1, flow
 * control, latency timer, chunk sizes, purge of both FIFOs. Returns a new ftdi_uart, or
 * NULL with FT_E_INVALID (bad channel or bus path, a channel the chip does not have, a
 * baud rate libftdi cannot set), FT_E_CONNECT (not found, no permission, busy,
 * unplugged), FT_E_NOMEM. */
struct ftdi_uart *ftdi_uart_open(const struct ftdi_uart_config *cfg, struct ft_error *err);

/* Reads up to `cap` bytes into *n: returns as soon as at least one byte came, or fails
 * with FT_E_TIMEOUT when none came by `deadline_ns` (a deadline already past still makes
 * one USB round trip). */
int ftdi_uart_read(struct ftdi_uart *u, uint8_t *buf, size_t cap, size_t *n, uint64_t deadline_ns,
                   struct ft_error *err);

/* Writes all `len` bytes (one bulk-OUT per FTDI_UART_CHUNK). `deadline_ns` is checked
 * between chunks. */
int ftdi_uart_write(struct ftdi_uart *u, const uint8_t *data, size_t len, uint64_t deadline_ns,
                    struct ft_error *err);

/* libftdi read/write calls made so far (each a USB round trip unless a read was served
 * from libftdi's buffer). */
uint64_t ftdi_uart_io_calls(const struct ftdi_uart *u);

/* "ftdi FT2232H serial 'FTA1' at 1:2 channel B" */
const char *ftdi_uart_name(const struct ftdi_uart *u);

/* The baud rate asked for (the chip runs within libftdi's 5 % of it; 115200 -> 115246). */
uint32_t ftdi_uart_baud(const struct ftdi_uart *u);

/* Closes the device. NULL is a no-op. */
void ftdi_uart_close(struct ftdi_uart *u);

#endif
