/* Inside the console: the stream shared by both links and the ops each link provides.
 * Not for use outside src/console. */
#ifndef FTHARNESS_CONSOLE_CONSOLE_PRIV_H
#define FTHARNESS_CONSOLE_CONSOLE_PRIV_H

#include "console/console.h"

struct console_link_ops {
    const char *kind;
    /* Waits for input until the deadline and appends what arrived to the stream. May
     * append nothing (an ignored SPI frame): the caller loops while time remains. */
    int (*fill)(struct console *c, uint64_t deadline_ns, struct ft_error *err);
    int (*write)(struct console *c, const uint8_t *data, size_t len, uint64_t deadline_ns,
                 struct ft_error *err);
    /* GPIO bus for pins and reset, or NULL (a plain tty). */
    struct spi_bus *(*gpio)(struct console *c);
    /* Called after a chip reset (frame counter back to 0). May be NULL. */
    void (*reset_frames)(struct console *c);
    /* console_expect_bulk(). May be NULL: the link reads alike either way. */
    void (*expect_bulk)(struct console *c, bool on);
    uint64_t (*round_trips)(const struct console *c);
    void (*close)(struct console *c);
    /* Whether a fill that timed out has taken nothing from the chip, so that a long wait
     * may be cut into short ones with a look at the TestError pin in between (a link whose
     * wait reports the pins hands them to console_saw_pins() as well). May be NULL: no. */
    bool (*wait_cuttable)(const struct console *c);
};

/* Signals the console holds until a wait takes them (console_watch in console.h). */
#define CONSOLE_SIGNALS_MAX 4u

/* A signal found in the stream. Positions count received bytes since the console opened
 * (they survive consume()); a pin or frame-counter signal has start == end, the point in
 * the stream where it was seen. */
struct console_pending {
    enum console_signal kind;
    uint64_t start, end; /* the line: [start, end), end after its '\n' */
    uint8_t text[CONSOLE_SIGNAL_TEXT_MAX];
    size_t text_len;
    uint8_t after[CONSOLE_SIGNAL_TEXT_MAX]; /* the next line the chip printed */
    size_t after_len;
    bool after_known;
};

struct console {
    const struct console_link_ops *ops;
    void *link; /* the link's state, owned */
    /* Received text not yet consumed: stream[0..len). */
    uint8_t *stream;
    size_t len;
    size_t cap;
    /* The last bytes received, a ring: recent[(recent_head + i) % MAX], i < recent_len. */
    uint8_t recent[CONSOLE_RECENT_MAX];
    size_t recent_head;
    size_t recent_len;
    struct console_stats stats;

    /* The chip's signals. */
    struct console_watch watch;
    bool watching;
    bool reset_expected;
    uint64_t consumed;    /* stream position of stream[0] */
    uint64_t line_start;  /* stream position where the line being received began */
    uint64_t awaited_end; /* where the text the last successful wait took ends */
    uint8_t line_head[CONSOLE_SIGNAL_TEXT_MAX]; /* its first bytes */
    size_t line_head_len;
    struct console_pending pending[CONSOLE_SIGNALS_MAX]; /* in stream order */
    size_t n_pending;
    uint32_t pins;   /* the pins last seen, when pins_seen */
    bool pins_seen;  /* since the wait began */
    bool pins_fresh; /* by the last fill */
    struct console_signal_report report;
};

/* A UART byte port other than the tty and ftsim's socket (an FTDI channel), with the
 * tty's semantics (link/tty.h): read waits for at least one byte until the deadline
 * (FT_E_TIMEOUT; a passed deadline still looks once), write sends everything. */
struct console_uart_port_ops {
    int (*read)(void *port, uint8_t *buf, size_t cap, size_t *n, uint64_t deadline_ns,
                struct ft_error *err);
    int (*write)(void *port, const uint8_t *data, size_t len, uint64_t deadline_ns,
                 struct ft_error *err);
    uint64_t (*io_calls)(const void *port); /* the port's round trips so far */
    void (*close)(void *port);
};

/* The UART console (XON/XOFF handling, small write pieces) over `port`, owned by the
 * console from the call on, also when this fails (NULL with FT_E_NOMEM, naming `name`).
 * No GPIO: console_pins() and console_chip_reset() fail with FT_E_INVALID. */
struct console *console_open_uart_port(const struct console_uart_port_ops *ops, void *port,
                                       const char *name, struct ft_error *err);

/* Allocates a console over `link` (owned by the console from then on: ops->close frees
 * it). NULL with FT_E_NOMEM; the caller then still owns `link`. */
struct console *console_new(const struct console_link_ops *ops, void *link, struct ft_error *err);

/* Free bytes at the end of the stream. */
size_t console_stream_room(const struct console *c);

/* Appends received text (n <= console_stream_room()). */
void console_stream_append(struct console *c, const uint8_t *data, size_t n);

/* What the link's wait saw of the pins (SPI_BUS_PIN_*), for the TestError watch. */
void console_saw_pins(struct console *c, uint32_t pins);

/* The chip started over: an SPI frame 0 arrived where another number was due (`what`
 * says so). Returns whether to take the frame as the new boot's first: yes when the
 * console watches for resets (a signal unless one was expected), no otherwise, so an
 * unwatched console ignores it as a wrong number as before. */
bool console_chip_restarted(struct console *c, const char *what);

#endif
