/* FTDI MPSSE backend of spi_bus over libftdi1 (DESIGN.md §4; reference transport §4):
 * SPI mode 0 on channel A or B of an FT2232H (0403:6010) or FT4232H (0403:6011), plus the
 * harness GPIOs through a pin map (ftdi_mpsse.h, default documented there).
 *
 * Every op is one USB write and, when a reply is due, one read of exactly the expected
 * bytes (ending the write with SEND_IMMEDIATE so the chip does not hold them for its
 * latency timer): one round trip. A transaction is CS low, its clock commands, CS high in
 * that one write; xfer_batch puts all its transactions in one write.
 *
 * Waiting for a pin on GPIOL1 (ADBUS5; TX_READY in the default map) happens in the
 * adapter: gpio_wait sends 88/89 and a pin read, xfer_when 88/89 and the transaction
 * (the console's frame header READ), so the reply is the round trip's end. The chip
 * has no timeout for these opcodes: at the caller's deadline the host abandons the wait
 * by bringing the channel up again (bitmode reset, purge, sync check, pins restored;
 * the GPIOs float meanwhile) and fails with FT_E_TIMEOUT, the link still usable. Pins
 * elsewhere are polled back to back.
 *
 * CS stays high between two xfer calls for at least a USB round trip, long enough for
 * the OTTF console's TX-ready loop, which counts CS edges by polling (reference §1.5).
 * CS frames inside one xfer_batch are microseconds apart: never batch the header and
 * payload READs of a TX-ready frame.
 *
 * Errors say what a floor engineer can do about them: no access to the USB device
 * (FT_E_CONNECT, pointing at dist/99-ftharness-ftdi.rules), no matching adapter
 * (FT_E_CONNECT listing the FTDI adapters found), an adapter that stops answering or is
 * unplugged (FT_E_CONNECT / FT_E_TIMEOUT naming it), a reply of the wrong length
 * (FT_E_PROTOCOL). After a failed exchange the command stream may be out of step, so
 * every later op fails at once; close and open again.
 *
 * All USB I/O goes through libftdi1 (so an emulated adapter under umockdev exercises
 * this code unchanged); libusb is used only to name a device's bus and address. */
#ifndef FTHARNESS_LINK_FTDI_SPI_H
#define FTHARNESS_LINK_FTDI_SPI_H

#include <stdint.h>

#include "common/error.h"
#include "link/ftdi_mpsse.h"
#include "link/ftdi_open.h"
#include "link/spi_bus.h"

#define FTDI_SPI_VENDOR FTDI_OPEN_VENDOR
#define FTDI_SPI_PRODUCT_2232H FTDI_OPEN_PRODUCT_2232H
#define FTDI_SPI_PRODUCT_4232H FTDI_OPEN_PRODUCT_4232H

/* SPI clock when the config asks for none: 7.5 MHz (divisor 3), within the 4-8 MHz that
 * OpenTitan boards run their bootstrap SPI at. */
#define FTDI_SPI_DEFAULT_HZ 7500000u
/* Latency timer: 2 ms; 1 ms is reported to lose data, and SEND_IMMEDIATE makes replies
 * independent of it anyway. */
#define FTDI_SPI_LATENCY_MS 2u
/* USB transfer size for libftdi's reads and writes. */
#define FTDI_SPI_CHUNK 4096u
/* How long an exchange may take on top of its SPI clocking before the adapter is taken
 * for gone. */
#define FTDI_SPI_IO_TIMEOUT_MS 1000u
/* Largest transaction: a console READ of a whole 2 KiB frame plus its command, with room. */
#define FTDI_SPI_MAX_XFER 4096u
/* The smaller chip FIFO of the two chips (FT4232H: 2 KiB each way). A write that is
 * larger than this AND expects a larger reply could stall: the chip stops taking commands
 * while its reply FIFO is full, and the host does not read before its write is done. */
#define FTDI_SPI_FIFO 2048u

/* Which adapter and how to drive it. Zero-initialise, then set what matters; the first
 * of bus_addr / serial+description+index that is set selects the adapter. */
struct ftdi_spi_config {
    const char *serial;      /* USB serial string, exact match; NULL: any (preferred selector) */
    const char *description; /* USB product string, exact match; NULL: any */
    const char *bus_addr;    /* "BUS:DEV", decimal libusb bus number and device address;
                                NULL: not used. Changes on every re-plug. */
    unsigned index;          /* the index-th adapter matching serial/description, from 0 */
    char channel;            /* 'A' or 'B' (the MPSSE channels); 0 means 'A' */
    uint32_t clock_hz;       /* SPI clock, rounded down to what the chip can do; 0: default */
    const struct ftdi_pin_map *pins; /* borrowed during open; NULL: ftdi_pin_map_default() */
};

struct ftdi_spi;

/* Opens and brings up the adapter: SIO reset, latency timer, chunk sizes, MPSSE mode,
 * purge, sync check (AA -> FA AA), clock and pins (CS high, every GPIO an input until
 * gpio_write drives it). Returns a new ftdi_spi, or NULL with FT_E_INVALID (bad config:
 * channel C/D, bus path, pin map, not an FT2232H/FT4232H), FT_E_RANGE (clock below
 * 458 Hz), FT_E_CONNECT (not found, no permission, busy, unplugged), FT_E_PROTOCOL (the
 * channel does not execute MPSSE commands), FT_E_NOMEM. */
struct ftdi_spi *ftdi_spi_open(const struct ftdi_spi_config *cfg, struct ft_error *err);

/* The SPI bus + GPIO of the adapter (borrowed: it lives as long as `f`;
 * spi_bus_close() on it is ftdi_spi_close(f)). */
struct spi_bus *ftdi_spi_bus(struct ftdi_spi *f);

/* The SPI clock in use, in Hz (rounded down). */
uint32_t ftdi_spi_clock_hz(const struct ftdi_spi *f);

/* Releases every pin (all inputs), leaves MPSSE mode and closes the device. NULL is a
 * no-op. */
void ftdi_spi_close(struct ftdi_spi *f);

#endif
