/* The perso firmware's console, one API over its two links (DESIGN.md §2, §4):
 *  - SPI: the OTTF SPI console in TX-ready mode over any spi_bus (reference transport §1):
 *    device->host frames read as a 12-byte header READ at 0 and ONE payload READ at 12
 *    per TX-ready pulse; host->device text as <=256-byte PAGE PROGRAMs (WREN first, the
 *    last chunk at 0x100) each polled with READ_STATUS until BUSY clears;
 *  - UART: a kernel tty, ftsim's UART over its socket, or an FTDI channel through
 *    libftdi1, raw bytes both ways; the device's XON/XOFF bytes are taken out of the
 *    text and pause our writes.
 *
 * Above the link the console is a byte stream: frame and read boundaries mean nothing.
 * Sync strings are found anywhere in it (bare "...\n", inside a log line
 * "I00012 file.c:397] ...\r\n", after unrelated lines).
 *
 * Deadlines are absolute CLOCK_MONOTONIC ns (link_deadline_ms()). Data already buffered
 * is used even when the deadline has passed; otherwise a passed deadline still looks at
 * the link once. Nothing sleeps: waits are in the adapter (GPIO wait), in poll(), or a
 * bounded busy poll of a pin or status register.
 *
 * Functions return 0, or -1 with `err` filled: FT_E_TIMEOUT (naming what was awaited
 * and the time allowed), FT_E_CONNECT (link gone, naming it), FT_E_CAPACITY (a line
 * longer than the caller's buffer), FT_E_INVALID (an op the link cannot do), FT_E_DEVICE
 * (a watched chip signalled that it gave up, quoting it; see console_watch()). */
#ifndef FTHARNESS_CONSOLE_CONSOLE_H
#define FTHARNESS_CONSOLE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "link/simsock.h"
#include "link/spi_bus.h"

/* Longest line console_read_line() returns: a RESP_OK PersoBlob line (RESP_LINE_MAX,
 * 20559 bytes) with room to spare. */
#define CONSOLE_LINE_MAX 32768u
/* Bytes of recent console input kept for error messages and console_recent(). */
#define CONSOLE_RECENT_MAX 200u
/* Longest sync string console_wait_for() accepts. */
#define CONSOLE_TEXT_MAX 256u

struct console;
struct ftdi_uart_config; /* link/ftdi_uart.h */

struct console_stats {
    uint64_t frames;              /* SPI: valid frames read */
    uint64_t junk_frames;         /* SPI: headers ignored (bad magic, bad length, boot sync) */
    uint64_t wrong_frame_numbers; /* SPI: headers ignored for an unexpected frame number */
    uint64_t bytes_in;            /* console text received (flow-control bytes excluded) */
    uint64_t bytes_out;           /* console text sent */
    uint64_t upload_chunks;       /* SPI: page programs sent */
    uint64_t status_polls;        /* SPI: READ_STATUS transactions */
    uint64_t flow_pauses;         /* UART: XOFF bytes received */
    /* Exchanges with the link since the console opened: spi_bus round trips (SPI), or
     * read/write calls on the tty or requests on the ftsim socket (UART). */
    uint64_t round_trips;
};

/* Opens the UART console on the tty at `path` (owned by the console). New, or NULL. */
struct console *console_open_uart(const char *path, struct ft_error *err);

/* Opens the UART console carried by an ftsim socket (`sock` borrowed: it must outlive
 * the console). Its GPIO makes console_pins() and console_chip_reset() work. */
struct console *console_open_sim_uart(struct simsock *sock, struct ft_error *err);

/* Opens the UART console on a channel of an FTDI adapter through libftdi1
 * (link/ftdi_uart.h: 115200 8N1 unless `cfg` says otherwise). No GPIO: console_pins()
 * and console_chip_reset() fail with FT_E_INVALID. Defined in the ftconsole_ftdi
 * library (it needs libftdi1). New, or NULL. */
struct console *console_open_ftdi_uart(const struct ftdi_uart_config *cfg, struct ft_error *err);

/* Opens the SPI console on `bus` (borrowed: it must outlive the console, and the
 * caller closes it). The frame counter starts at 0. New, or NULL. */
struct console *console_open_spi(struct spi_bus *bus, struct ft_error *err);

void console_close(struct console *c);

/* Sends `len` bytes of console input (SPI: page programs, one BUSY wait per chunk; the
 * last chunk at 0x100 ends the message, so one call = one message to the firmware). */
int console_write(struct console *c, const void *data, size_t len, uint64_t deadline_ns,
                  struct ft_error *err);

/* Reads until `text` appears anywhere in the stream and consumes the stream through it;
 * what follows stays buffered. Text before it is discarded (see console_recent()). */
int console_wait_for(struct console *c, const char *text, uint64_t deadline_ns,
                     struct ft_error *err);

/* Reads the next line through its '\n' and consumes it. `buf` gets the line without
 * the '\n' (a '\r' before it is kept), NUL-terminated; *len its length. A line that
 * does not fit `cap` (or CONSOLE_LINE_MAX) fails with FT_E_CAPACITY. */
int console_read_line(struct console *c, char *buf, size_t cap, size_t *len, uint64_t deadline_ns,
                      struct ft_error *err);

/* SPI: expect frame number 0 next. Call after every chip reset, including the
 * firmware's own (after LcTokenHash). Implies console_expect_reset(). */
void console_reset_frames(struct console *c);

/* A long message comes next (`on`: the TBS export), or no more (`!on`). An SPI console
 * over an adapter that waits for TX-ready itself then reads each frame whole in one
 * exchange, the header and the largest payload; other links read alike either way. */
void console_expect_bulk(struct console *c, bool on);

/* Pulses the chip's reset pin with the straps driven to all-high (`straps_high`, ROM
 * bootstrap) or all-low, and leaves them so; straps the board does not wire are left to
 * it (FT_E_INVALID when all-high was asked). Resets the frame counter and drops the
 * text buffered from the old boot. No GPIO (a plain tty) or no RESET_N: FT_E_INVALID. */
int console_chip_reset(struct console *c, bool straps_high, struct ft_error *err);

/* The pins (SPI_BUS_PIN_*) as the link sees them now, and which of them the board
 * connects (*wired; the others read as 0). A plain tty: FT_E_INVALID. */
int console_pins(struct console *c, uint32_t *pins, uint32_t *wired, struct ft_error *err);

void console_get_stats(const struct console *c, struct console_stats *out);

/* Copies the last bytes received (up to CONSOLE_RECENT_MAX, oldest first) into `buf`;
 * returns how many. For logs after a failure. */
size_t console_recent(const struct console *c, uint8_t *buf, size_t cap);

/* "spi", "uart" */
const char *console_kind(const struct console *c);

/* ---- the chip's error signals -----------------------------------------------------------
 * The perso firmware never answers RESP_ERR (reference ft-flow §1): a chip that fails
 * raises TestError (IOA0) and prints its closing line "Personalization done." anyway; a
 * failed CHECK prints an OTTF error log line ("E00012 file.c:34] CHECK-STATUS-fail: ...")
 * and "FAIL!"; a chip that resets prints the ROM banner ("OpenTitan:4001-0002-01") on its
 * UART and starts its SPI frame counter at 0 again. A host that only waits for the next
 * sync string learns of any of these at its deadline. A watched console ends every wait
 * (console_wait_for, console_read_line) at the first of them with FT_E_DEVICE and the
 * chip's own words.
 *
 * Order decides: a signal counts when the chip gave it before the awaited text (a line
 * that holds the awaited text is no signal, so waiting for the closing line itself
 * works), and stays pending for the next wait when it came after. The TestError pin is
 * looked at whenever the wait would otherwise block: for free where the link's wait
 * reports the pins (the ftsim socket), every CONSOLE_PIN_POLL_MS while nothing arrives
 * where a wait can be cut short without losing a frame (the ftsim socket, its UART), and
 * on an adapter that waits for TX-ready itself (FTDI MPSSE, where abandoning that wait
 * resets the channel) only when the chip's text or the deadline ends the wait: the
 * firmware always prints its closing line after raising TestError, so the text wakes
 * such a wait. */

/* Idle time between looks at the TestError pin while a wait blocks. */
#define CONSOLE_PIN_POLL_MS 50u
/* How long a failed wait goes on reading for the chip's next line (what it printed after
 * it reset or raised TestError), capped by the wait's own deadline. Ends at the line. */
#define CONSOLE_WORDS_GRACE_MS 1000u
/* Bytes of a chip line kept for a report. */
#define CONSOLE_SIGNAL_TEXT_MAX 160u

/* What a watched console looks for; zeroed: nothing. */
struct console_watch {
    /* The firmware's closing line ("Personalization done."), printed after a failure as
     * after success: seen while anything else is awaited, the chip has stopped. Borrowed
     * (must outlive the watch); NULL: not watched. */
    const char *last_words;
    bool test_error;  /* the TestError pin (IOA0), on links that wire it */
    bool error_lines; /* "E"/"F" OTTF log lines, "FAIL!", "BFV:", "RESP_ERR:" */
    /* A reset not announced with console_expect_reset(): a line starting with the ROM
     * banner "OpenTitan:" or "ROM_EXT:", or SPI frame 0 where another number was due. */
    bool resets;
};

enum console_signal {
    CONSOLE_SIGNAL_NONE,
    CONSOLE_SIGNAL_TEST_ERROR, /* the TestError pin is high */
    CONSOLE_SIGNAL_LAST_WORDS, /* the closing line while something else was awaited */
    CONSOLE_SIGNAL_ERROR,      /* an error line */
    CONSOLE_SIGNAL_RESET,      /* a reset nobody announced */
};

/* What ended the last wait (console_last_signal()). */
struct console_signal_report {
    enum console_signal kind; /* NONE: the last wait did not end on a signal */
    /* The chip's line, escaped printable ASCII without its line end; for an SPI frame
     * counter restart or the TestError pin, what was seen. */
    char line[CONSOLE_SIGNAL_TEXT_MAX];
    /* The first line the chip printed after the signal (after a reset: what its new boot
     * said), "" when none came within CONSOLE_WORDS_GRACE_MS. */
    char after[CONSOLE_SIGNAL_TEXT_MAX];
    bool test_error; /* TestError was high when the wait ended (links with the pin) */
};

/* Makes every later wait watch for what `w` names (copied; NULL stops watching). Drops
 * the signals still pending from before: a new watch starts with what comes next. */
void console_watch(struct console *c, const struct console_watch *w);

/* The chip is about to reset or has just been reset, on purpose: its boot banner and an
 * SPI frame 0 are no signal until the next console_wait_for() finds its text, and reset
 * signals still pending are dropped. A console starts so (the chip booted before it was
 * opened); console_chip_reset() and console_reset_frames() imply it. */
void console_expect_reset(struct console *c);

/* The signal that ended the last wait with FT_E_DEVICE (kind NONE when the last wait did
 * not end on one). Borrowed; valid until the next wait. */
const struct console_signal_report *console_last_signal(const struct console *c);

#endif
