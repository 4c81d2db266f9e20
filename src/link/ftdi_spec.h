/* The text that names an FTDI adapter, its channel and its wiring on the command line
 * (`--console ftdi:TEXT`, `ftdi-uart:TEXT`, `--boot-uart ftdi-uart:TEXT`):
 *
 *   SERIAL[:CHANNEL]                 short form: the adapter by USB serial
 *   KEY=VALUE[,KEY=VALUE]...         long form, each key at most once:
 *     serial=S  desc=D  bus=BUS:DEV  index=N     which adapter (ftdi_open.h): bus wins,
 *                                                else serial/desc, the N-th match from 0
 *     channel=A|B (SPI)  A..D (UART)             default A
 *     clock=HZ      SPI clock, e.g. 15M, 7500k, 1000000 (rounded down to what MPSSE does)
 *     baud=N        UART baud rate (default 115200)
 *     xonxoff=on|off  UART: the adapter itself obeys the device's XOFF
 *     PIN=PLACE     SPI: tx_ready rx_ready reset_n strap0 strap1 strap2 test_done
 *                   test_error test_start, each on ADBUS4..7, ACBUS0..7 or none (not
 *                   wired); BDBUS/BCBUS are accepted for the same pins of channel B.
 *                   Pins not named keep the default map (ftdi_mpsse.h).
 *
 * Outside bytes (command line, site scripts): everything is length-checked, and errors
 * name the key and value that were wrong (FT_E_INVALID). */
#ifndef FTHARNESS_LINK_FTDI_SPEC_H
#define FTHARNESS_LINK_FTDI_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "link/ftdi_mpsse.h"

struct ftdi_spi_config;
struct ftdi_uart_config;

/* Longest spec text accepted. */
#define FTDI_SPEC_MAX 512u

enum ftdi_spec_use {
    FTDI_SPEC_SPI,  /* MPSSE SPI + GPIO: clock and pin keys */
    FTDI_SPEC_UART, /* a UART channel: baud and xonxoff keys */
};

struct ftdi_spec {
    char serial[64];      /* "" when not given */
    char description[96]; /* "" when not given */
    char bus_addr[24];    /* "" when not given */
    unsigned index;
    char channel; /* 'A'.. as given; 'A' by default */
    uint32_t clock_hz;
    uint32_t baud;
    bool xonxoff;
    struct ftdi_pin_map pins; /* the default map with the PIN=PLACE keys applied */
};

/* Parses `text` for `use`. 0, or -1 with FT_E_INVALID naming what was wrong. */
int ftdi_spec_parse(const char *text, enum ftdi_spec_use use, struct ftdi_spec *spec,
                    struct ft_error *err);

/* Sets one pin of `map` from its name ("tx_ready") and place ("ADBUS5", "none"); also
 * used by test rigs to wire a chip model the way a spec wires the host. */
int ftdi_spec_set_pin(struct ftdi_pin_map *map, const char *name, const char *place,
                      struct ft_error *err);

/* The link configurations the spec describes; they point into `spec`, which must
 * outlive them. */
void ftdi_spec_spi_config(const struct ftdi_spec *spec, struct ftdi_spi_config *cfg);
void ftdi_spec_uart_config(const struct ftdi_spec *spec, struct ftdi_uart_config *cfg);

#endif
