#include "station/links.h"

#include <string.h>

#include "link/ftdi_spec.h"
#include "link/ftdi_spi.h"
#include "link/ftdi_uart.h"
#include "link/simsock.h"

/* The adapter text after "ftdi:" / "ftdi-uart:" (link/ftdi_spec.h). */
static int ftdi_spec_of(const char *kind, const char *where, enum ftdi_spec_use use,
                        struct ftdi_spec *spec, struct ft_error *err)
{
    if (ftdi_spec_parse(where, use, spec, err) != 0)
        return ft_error_prefix(err, "%s:%s", kind, where);
    return 0;
}

static int open_ftdi(const char *where, struct station_links *l, struct ft_error *err)
{
    struct ftdi_spec spec;
    struct ftdi_spi_config cfg;
    if (ftdi_spec_of("ftdi", where, FTDI_SPEC_SPI, &spec, err) != 0)
        return -1;
    ftdi_spec_spi_config(&spec, &cfg);
    if ((l->ftdi = ftdi_spi_open(&cfg, err)) == NULL)
        return -1;
    l->bus = ftdi_spi_bus(l->ftdi);
    l->console = console_open_spi(l->bus, err);
    return l->console ? 0 : -1;
}

static int open_ftdi_uart(const char *where, struct station_links *l, struct ft_error *err)
{
    struct ftdi_spec spec;
    struct ftdi_uart_config cfg;
    if (ftdi_spec_of("ftdi-uart", where, FTDI_SPEC_UART, &spec, err) != 0)
        return -1;
    ftdi_spec_uart_config(&spec, &cfg);
    l->console = console_open_ftdi_uart(&cfg, err);
    return l->console ? 0 : -1;
}

static int open_console(const char *spec, struct station_links *l, struct ft_error *err)
{
    const char *colon = strchr(spec, ':');
    if (colon == NULL)
        return ft_fail(err, FT_E_INVALID, "console %s: expected KIND:WHERE", spec);
    size_t kind = (size_t)(colon - spec);
    const char *where = colon + 1;
    if (kind == 4 && strncmp(spec, "uart", 4) == 0) {
        l->console = console_open_uart(where, err);
    } else if (kind == 7 && strncmp(spec, "spi-sim", 7) == 0) {
        if ((l->sock = simsock_open(where, err)) == NULL)
            return -1;
        l->bus = simsock_bus(l->sock);
        l->console = console_open_spi(l->bus, err);
        if (l->console != NULL && (l->boot = console_open_sim_uart(l->sock, err)) == NULL)
            return -1;
    } else if (kind == 8 && strncmp(spec, "uart-sim", 8) == 0) {
        if ((l->sock = simsock_open(where, err)) == NULL)
            return -1;
        l->bus = simsock_bus(l->sock);
        l->boot = l->console = console_open_sim_uart(l->sock, err);
    } else if (kind == 4 && strncmp(spec, "ftdi", 4) == 0) {
        return open_ftdi(where, l, err);
    } else if (kind == 9 && strncmp(spec, "ftdi-uart", 9) == 0) {
        return open_ftdi_uart(where, l, err);
    } else {
        return ft_fail(err, FT_E_INVALID,
                       "console %s: unknown kind (uart, ftdi, ftdi-uart, spi-sim, uart-sim)", spec);
    }
    return l->console ? 0 : -1;
}

/* The boot UART: a UART console of its own (a tty or an FTDI channel). */
static int open_boot_uart(const char *spec, struct station_links *l, struct ft_error *err)
{
    if (strncmp(spec, "uart:", 5) != 0 && strncmp(spec, "ftdi-uart:", 10) != 0)
        return ft_fail(err, FT_E_INVALID, "boot UART %s: expected uart:TTY or ftdi-uart:ADAPTER",
                       spec);
    struct station_links uart = {0};
    if (open_console(spec, &uart, err) != 0)
        return -1;
    if (l->boot != l->console)
        console_close(l->boot);
    l->boot = uart.console;
    return 0;
}

int station_links_check_spec(const char *option, const char *spec, bool console,
                             struct ft_error *err)
{
    static const char *const console_kinds[] = {"uart", "spi-sim",   "uart-sim",
                                                "ftdi", "ftdi-uart", NULL};
    static const char *const boot_kinds[] = {"uart", "ftdi-uart", NULL};
    const char *const *kinds = console ? console_kinds : boot_kinds;
    const char *colon = strchr(spec, ':');
    bool known = false;
    for (size_t i = 0; colon != NULL && colon[1] != '\0' && kinds[i] != NULL; i++)
        known |= strlen(kinds[i]) == (size_t)(colon - spec) &&
                 strncmp(spec, kinds[i], (size_t)(colon - spec)) == 0;
    if (!known)
        return ft_fail(err, FT_E_INVALID, "%s %s: expected %s", option, spec,
                       console ? "uart:TTY, spi-sim:SOCKET, uart-sim:SOCKET, ftdi:ADAPTER or "
                                 "ftdi-uart:ADAPTER"
                               : "uart:TTY or ftdi-uart:ADAPTER");
    struct ftdi_spec parsed;
    int rc = 0;
    if (strncmp(spec, "ftdi:", 5) == 0)
        rc = ftdi_spec_parse(spec + 5, FTDI_SPEC_SPI, &parsed, err);
    else if (strncmp(spec, "ftdi-uart:", 10) == 0)
        rc = ftdi_spec_parse(spec + 10, FTDI_SPEC_UART, &parsed, err);
    return rc != 0 ? ft_error_prefix(err, "%s %s", option, spec) : 0;
}

int station_links_open(struct station_links *l, const char *console, const char *boot_uart,
                       struct ft_error *err)
{
    memset(l, 0, sizeof(*l));
    if (open_console(console, l, err) != 0 ||
        (boot_uart != NULL && open_boot_uart(boot_uart, l, err) != 0)) {
        station_links_close(l);
        return -1;
    }
    return 0;
}

bool station_links_have(const struct station_links *l, uint32_t pins)
{
    return l->bus != NULL && (l->bus->unwired & pins) == 0;
}

const char *station_links_lacking(const struct station_links *l, bool bootstraps, bool reset)
{
    if (bootstraps && !station_links_have(l, SPI_BUS_PIN_RESET_N | SPI_BUS_PIN_STRAPS))
        return "the SKU bootstraps an image, which needs the SPI bus, RESET_N and STRAP0..2";
    if (reset && !station_links_have(l, SPI_BUS_PIN_RESET_N))
        return "reset needs a RESET_N pin";
    return NULL;
}

void station_links_close(struct station_links *l)
{
    if (l->boot != l->console)
        console_close(l->boot);
    console_close(l->console);
    simsock_close(l->sock);
    ftdi_spi_close(l->ftdi);
    memset(l, 0, sizeof(*l));
}
