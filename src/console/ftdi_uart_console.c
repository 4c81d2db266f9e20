/* The UART console on an FTDI channel: the shared UART console (uart_console.c) over an
 * ftdi_uart. Its own library (ftconsole_ftdi) so that ftconsole does not need libftdi1. */
#include "console/console_priv.h"
#include "link/ftdi_uart.h"

static int port_read(void *port, uint8_t *buf, size_t cap, size_t *n, uint64_t deadline_ns,
                     struct ft_error *err)
{
    return ftdi_uart_read(port, buf, cap, n, deadline_ns, err);
}

static int port_write(void *port, const uint8_t *data, size_t len, uint64_t deadline_ns,
                      struct ft_error *err)
{
    return ftdi_uart_write(port, data, len, deadline_ns, err);
}

static uint64_t port_io_calls(const void *port)
{
    return ftdi_uart_io_calls(port);
}

static void port_close(void *port)
{
    ftdi_uart_close(port);
}

static const struct console_uart_port_ops ftdi_uart_port_ops = {
    .read = port_read,
    .write = port_write,
    .io_calls = port_io_calls,
    .close = port_close,
};

struct console *console_open_ftdi_uart(const struct ftdi_uart_config *cfg, struct ft_error *err)
{
    struct ftdi_uart *u = ftdi_uart_open(cfg, err);
    if (u == NULL)
        return NULL;
    return console_open_uart_port(&ftdi_uart_port_ops, u, ftdi_uart_name(u), err);
}
