/* A site's links to its chip, from the console and boot-UART texts `ftharness run` and
 * the station configuration take ("spi-sim:PATH", "uart:TTY", "ftdi:ADAPTER", ...). */
#ifndef FTHARNESS_STATION_LINKS_H
#define FTHARNESS_STATION_LINKS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "console/console.h"

struct simsock;
struct ftdi_spi;

struct station_links {
    struct simsock *sock;
    struct ftdi_spi *ftdi;
    struct spi_bus *bus; /* the chip's SPI (console and ROM bootstrap); NULL on a tty */
    struct console *console;
    /* The chip's UART with a reset pin, for the post-perso boot check; NULL when the link
     * has none (a plain tty). May be `console` itself. */
    struct console *boot;
};

/* Checks that a console (console = true) or boot-UART text names a known kind and a place
 * and, for an FTDI adapter, that its text parses: a typo is a configuration error found
 * before the service is asked for anything. `option` names the text in messages. */
int station_links_check_spec(const char *option, const char *spec, bool console,
                             struct ft_error *err);

/* Opens the console and, when boot_uart is not NULL, a UART of its own for the boot check.
 * On failure everything opened is closed again. */
int station_links_open(struct station_links *l, const char *console, const char *boot_uart,
                       struct ft_error *err);

/* Whether the link has an SPI bus with all of `pins` (SPI_BUS_PIN_*) wired. */
bool station_links_have(const struct station_links *l, uint32_t pins);

/* What the SKU and the reset option ask of the link and it lacks, or NULL when nothing. */
const char *station_links_lacking(const struct station_links *l, bool bootstraps, bool reset);

void station_links_close(struct station_links *l);

#endif
