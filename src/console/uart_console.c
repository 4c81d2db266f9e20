/* The console over a UART: a kernel tty, ftsim's UART on its socket, or another byte
 * port (an FTDI channel through libftdi1, see ftdi_uart_console.c).
 *
 * The OTTF UART console may run XON/XOFF flow control (reference transport §2.2): the
 * device sends XOFF 0x13 when its RX FIFO fills and XON 0x11 when it drains. Those bytes
 * never occur in console text, so they are taken out of the stream here, and writes go
 * in small pieces with a look at the input before each, pausing while XOFF holds. */
#include <stdlib.h>

#include "console/console_priv.h"
#include "link/tty.h"

#define UART_XON 0x11u
#define UART_XOFF 0x13u
/* Input read per call: one poll()/request brings what is there, up to this. */
#define UART_READ_MAX 4096u
/* Bytes written between looks for XOFF on a tty or an FTDI channel. The device asks for
 * a pause at 8 bytes pending; the kernel and adapter buffers are ahead of us anyway, so
 * this only bounds how much we add after the pause. On an FTDI channel each look is a
 * bulk-IN round trip of up to one latency period (2 ms) when nothing came: 32 bytes per
 * look keeps the pace near 115200 baud's 11.5 KB/s. */
#define UART_TTY_WRITE_PIECE 32u
/* ftsim's UART never pauses; one request per protocol-sized piece. */
#define UART_SIM_WRITE_PIECE 65536u

struct uart_console {
    struct tty *tty;                        /* owned, or NULL */
    struct simsock *sock;                   /* borrowed, or NULL */
    const struct console_uart_port_ops *po; /* with `port` (owned), or NULL */
    void *port;
    bool paused; /* XOFF seen, no XON since */
    uint64_t sock_round_trips_at_open;
};

static struct uart_console *uart_of(const struct console *c)
{
    return c->link;
}

static int port_read(struct uart_console *u, uint8_t *buf, size_t cap, size_t *n,
                     uint64_t deadline_ns, struct ft_error *err)
{
    if (u->tty != NULL)
        return tty_read(u->tty, buf, cap, n, deadline_ns, err);
    if (u->po != NULL)
        return u->po->read(u->port, buf, cap, n, deadline_ns, err);
    return simsock_uart_read(u->sock, buf, cap, n, deadline_ns, err);
}

static int port_write(struct uart_console *u, const uint8_t *data, size_t len, uint64_t deadline_ns,
                      struct ft_error *err)
{
    if (u->tty != NULL)
        return tty_write(u->tty, data, len, deadline_ns, err);
    if (u->po != NULL)
        return u->po->write(u->port, data, len, deadline_ns, err);
    return simsock_uart_write(u->sock, data, len, err);
}

/* Appends text, acting on and dropping the flow-control bytes. */
static void take_input(struct console *c, const uint8_t *data, size_t n)
{
    struct uart_console *u = uart_of(c);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (data[i] != UART_XON && data[i] != UART_XOFF)
            continue;
        console_stream_append(c, data + start, i - start);
        start = i + 1;
        if (data[i] == UART_XOFF) {
            u->paused = true;
            c->stats.flow_pauses++;
        } else {
            u->paused = false;
        }
    }
    console_stream_append(c, data + start, n - start);
}

static int uart_fill(struct console *c, uint64_t deadline_ns, struct ft_error *err)
{
    uint8_t buf[UART_READ_MAX];
    size_t room = console_stream_room(c);
    size_t n = 0;
    if (room == 0)
        return ft_fail(err, FT_E_CAPACITY, "console: input buffer full");
    if (port_read(uart_of(c), buf, room < sizeof(buf) ? room : sizeof(buf), &n, deadline_ns, err) !=
        0)
        return -1;
    take_input(c, buf, n);
    return 0;
}

/* Takes in whatever input is already there (for XOFF/XON), without waiting. */
static int look_for_flow_control(struct console *c, struct ft_error *err)
{
    struct ft_error none = {0};
    if (console_stream_room(c) == 0)
        return 0; /* nothing can be taken in; the bytes wait in the link */
    if (uart_fill(c, 0, &none) == 0)
        return 0;
    if (none.code == FT_E_TIMEOUT)
        return 0; /* nothing there */
    *err = none;
    return -1;
}

/* Waits out an XOFF: reads input until XON or the deadline. */
static int wait_resumed(struct console *c, uint64_t deadline_ns, struct ft_error *err)
{
    while (uart_of(c)->paused) {
        if (uart_fill(c, deadline_ns, err) != 0) {
            if (err->code == FT_E_TIMEOUT)
                return ft_fail(err, FT_E_TIMEOUT,
                               "console: the device paused input (XOFF) and did not resume "
                               "(XON) by the deadline");
            return -1;
        }
    }
    return 0;
}

static int uart_write(struct console *c, const uint8_t *data, size_t len, uint64_t deadline_ns,
                      struct ft_error *err)
{
    struct uart_console *u = uart_of(c);
    struct ft_error local;
    if (err == NULL)
        err = &local;
    size_t piece = u->sock != NULL ? UART_SIM_WRITE_PIECE : UART_TTY_WRITE_PIECE;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < piece ? len - off : piece;
        if (look_for_flow_control(c, err) != 0 || wait_resumed(c, deadline_ns, err) != 0 ||
            port_write(u, data + off, n, deadline_ns, err) != 0)
            return -1;
        off += n;
    }
    return 0;
}

static struct spi_bus *uart_gpio(struct console *c)
{
    struct uart_console *u = uart_of(c);
    return u->sock != NULL ? simsock_bus(u->sock) : NULL;
}

static uint64_t uart_round_trips(const struct console *c)
{
    const struct uart_console *u = uart_of(c);
    if (u->tty != NULL)
        return tty_io_calls(u->tty);
    if (u->po != NULL)
        return u->po->io_calls(u->port);
    return simsock_bus(u->sock)->round_trips - u->sock_round_trips_at_open;
}

static void uart_close(struct console *c)
{
    struct uart_console *u = uart_of(c);
    tty_close(u->tty);
    if (u->po != NULL)
        u->po->close(u->port);
    free(u);
}

static bool uart_wait_cuttable(const struct console *c)
{
    (void)c;
    return true; /* a read that timed out took nothing */
}

static const struct console_link_ops uart_console_ops = {
    .kind = "uart",
    .fill = uart_fill,
    .write = uart_write,
    .gpio = uart_gpio,
    .reset_frames = NULL,
    .round_trips = uart_round_trips,
    .close = uart_close,
    .wait_cuttable = uart_wait_cuttable,
};

static struct console *open_with(struct uart_console *u, struct ft_error *err)
{
    struct console *c = console_new(&uart_console_ops, u, err);
    if (c == NULL) {
        tty_close(u->tty);
        if (u->po != NULL)
            u->po->close(u->port);
        free(u);
    }
    return c;
}

struct console *console_open_uart(const char *path, struct ft_error *err)
{
    struct uart_console *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        ft_fail(err, FT_E_NOMEM, "console %s: out of memory", path);
        return NULL;
    }
    u->tty = tty_open(path, err);
    if (u->tty == NULL) {
        free(u);
        return NULL;
    }
    return open_with(u, err);
}

struct console *console_open_sim_uart(struct simsock *sock, struct ft_error *err)
{
    struct uart_console *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        ft_fail(err, FT_E_NOMEM, "console %s: out of memory", simsock_path(sock));
        return NULL;
    }
    u->sock = sock;
    u->sock_round_trips_at_open = simsock_bus(sock)->round_trips;
    return open_with(u, err);
}

struct console *console_open_uart_port(const struct console_uart_port_ops *ops, void *port,
                                       const char *name, struct ft_error *err)
{
    struct uart_console *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        ft_fail(err, FT_E_NOMEM, "console %s: out of memory", name);
        ops->close(port);
        return NULL;
    }
    u->po = ops;
    u->port = port;
    return open_with(u, err);
}
