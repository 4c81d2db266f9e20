/* The console byte stream above the links: sync-string search, lines, error context. */
#define _GNU_SOURCE /* memmem */
#include "console/console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console_priv.h"

/* The stream holds one maximal line plus a maximal SPI frame or UART read after it. */
#define CONSOLE_STREAM_CAP (CONSOLE_LINE_MAX + 4096u)
/* Bytes of the awaited text quoted in a timeout message; the rest is the recent input. */
#define CONSOLE_QUOTE_TEXT_MAX 64u

/* ---- stream ---------------------------------------------------------------------------- */

struct console *console_new(const struct console_link_ops *ops, void *link, struct ft_error *err)
{
    struct console *c = calloc(1, sizeof(*c));
    uint8_t *stream = malloc(CONSOLE_STREAM_CAP);
    if (c == NULL || stream == NULL) {
        free(c);
        free(stream);
        ft_fail(err, FT_E_NOMEM, "console: out of memory");
        return NULL;
    }
    c->ops = ops;
    c->link = link;
    c->stream = stream;
    c->cap = CONSOLE_STREAM_CAP;
    return c;
}

size_t console_stream_room(const struct console *c)
{
    return c->cap - c->len;
}

static void remember(struct console *c, const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t at = (c->recent_head + c->recent_len) % CONSOLE_RECENT_MAX;
        c->recent[at] = data[i];
        if (c->recent_len < CONSOLE_RECENT_MAX)
            c->recent_len++;
        else
            c->recent_head = (c->recent_head + 1) % CONSOLE_RECENT_MAX;
    }
}

void console_stream_append(struct console *c, const uint8_t *data, size_t n)
{
    if (n > console_stream_room(c))
        n = console_stream_room(c); /* callers size reads by the room; never overrun */
    memcpy(c->stream + c->len, data, n);
    c->len += n;
    c->stats.bytes_in += n;
    remember(c, data, n);
}

/* Drops the first `n` buffered bytes. */
static void consume(struct console *c, size_t n)
{
    memmove(c->stream, c->stream + n, c->len - n);
    c->len -= n;
}

size_t console_recent(const struct console *c, uint8_t *buf, size_t cap)
{
    size_t n = c->recent_len < cap ? c->recent_len : cap;
    size_t skip = c->recent_len - n; /* keep the newest when `cap` is short */
    for (size_t i = 0; i < n; i++)
        buf[i] = c->recent[(c->recent_head + skip + i) % CONSOLE_RECENT_MAX];
    return n;
}

/* ---- messages -------------------------------------------------------------------------- */

/* Bytes needed to show `b` in a message: printable ASCII as is, \n \r \" \\ and \xNN. */
static size_t escaped_size(uint8_t b)
{
    if (b == '\n' || b == '\r' || b == '"' || b == '\\')
        return 2;
    return b >= 0x20 && b < 0x7F ? 1 : 4;
}

static void escape_byte(char *out, uint8_t b)
{
    static const char hex[] = "0123456789abcdef";
    if (b == '\n' || b == '\r' || b == '"' || b == '\\') {
        out[0] = '\\';
        out[1] = b == '\n' ? 'n' : b == '\r' ? 'r' : (char)b;
    } else if (b >= 0x20 && b < 0x7F) {
        out[0] = (char)b;
    } else {
        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex[b >> 4];
        out[3] = hex[b & 15];
    }
}

/* Escapes the first bytes of `data` that fit `cap` (NUL included) into `out`. */
static void escape_head(char *out, size_t cap, const uint8_t *data, size_t n)
{
    size_t pos = 0;
    for (size_t i = 0; i < n && pos + escaped_size(data[i]) < cap; i++) {
        escape_byte(out + pos, data[i]);
        pos += escaped_size(data[i]);
    }
    out[pos] = '\0';
}

/* Escapes the LAST bytes of `data` that fit `cap` (NUL included); *shown gets how many. */
static void escape_tail(char *out, size_t cap, const uint8_t *data, size_t n, size_t *shown)
{
    size_t need = 0, first = n;
    while (first > 0 && need + escaped_size(data[first - 1]) < cap)
        need += escaped_size(data[--first]);
    escape_head(out, cap, data + first, n - first);
    *shown = n - first;
}

/* Turns a link failure while waiting for `awaited` (already quoted for people) into the
 * console's message. A timeout names what was awaited, the time it was given, and the
 * newest input seen (what the device said instead); other failures keep the link's
 * message behind what was awaited. */
static int wait_failed(const struct console *c, const char *awaited, uint64_t start_ns,
                       uint64_t deadline_ns, struct ft_error *err)
{
    if (err->code != FT_E_TIMEOUT)
        return ft_error_prefix(err, "waiting for %s", awaited);
    /* Rounded to the nearest ms: the caller took its deadline a moment before we began. */
    unsigned long long allowed_ms =
        deadline_ns > start_ns ? (unsigned long long)((deadline_ns - start_ns + 500000u) / 1000000u)
                               : 0;
    char head[FT_ERROR_MESSAGE_MAX];
    int head_len =
        snprintf(head, sizeof(head), "timeout: %s not seen within %llu ms", awaited, allowed_ms);
    uint8_t recent[CONSOLE_RECENT_MAX];
    size_t n = console_recent(c, recent, sizeof(recent));
    char tail[FT_ERROR_MESSAGE_MAX];
    size_t room = FT_ERROR_MESSAGE_MAX - 32u; /* "; last NNN bytes: \"\"" and the NUL */
    room = head_len > 0 && (size_t)head_len < room ? room - (size_t)head_len : 1;
    size_t shown = 0;
    escape_tail(tail, room, recent, n, &shown);
    return ft_fail(err, FT_E_TIMEOUT, "%s; last %zu bytes: \"%s\"", head, shown, tail);
}

/* "\"text\"", escaped and cut to CONSOLE_QUOTE_TEXT_MAX bytes, for messages. */
static void quote_text(char *out, size_t cap, const char *text)
{
    size_t n = strlen(text);
    out[0] = '"';
    escape_head(out + 1, cap - 2, (const uint8_t *)text,
                n < CONSOLE_QUOTE_TEXT_MAX ? n : CONSOLE_QUOTE_TEXT_MAX);
    size_t len = strlen(out);
    out[len] = '"';
    out[len + 1] = '\0';
}

/* ---- reading --------------------------------------------------------------------------- */

int console_wait_for(struct console *c, const char *text, uint64_t deadline_ns,
                     struct ft_error *err)
{
    struct ft_error local;
    if (err == NULL)
        err = &local;
    size_t n = strlen(text);
    if (n == 0 || n > CONSOLE_TEXT_MAX)
        return ft_fail(err, FT_E_INVALID, "console: sync text of %zu bytes (1..%u allowed)", n,
                       CONSOLE_TEXT_MAX);
    char quoted[CONSOLE_QUOTE_TEXT_MAX * 4 + 3];
    quote_text(quoted, sizeof(quoted), text);
    uint64_t start = link_now_ns();
    for (;;) {
        const uint8_t *at = memmem(c->stream, c->len, text, n);
        if (at != NULL) {
            consume(c, (size_t)(at - c->stream) + n);
            return 0;
        }
        /* Only the last n-1 bytes can still begin the text: keep them, drop the rest, so
         * the buffer never grows while unrelated output scrolls by. */
        if (c->len > n - 1)
            consume(c, c->len - (n - 1));
        if (c->ops->fill(c, deadline_ns, err) != 0)
            return wait_failed(c, quoted, start, deadline_ns, err);
    }
}

/* Copies the line ending at stream[nl] out and consumes it with its '\n'. */
static int take_line(struct console *c, size_t nl, char *buf, size_t limit, size_t *len,
                     struct ft_error *err)
{
    if (nl > limit) {
        consume(c, nl + 1); /* skip it whole, so the next read starts at a line */
        return ft_fail(err, FT_E_CAPACITY, "console: line of %zu bytes, at most %zu fit", nl,
                       limit);
    }
    memcpy(buf, c->stream, nl);
    buf[nl] = '\0';
    *len = nl;
    consume(c, nl + 1);
    return 0;
}

int console_read_line(struct console *c, char *buf, size_t cap, size_t *len, uint64_t deadline_ns,
                      struct ft_error *err)
{
    struct ft_error local;
    if (err == NULL)
        err = &local;
    *len = 0;
    if (cap == 0)
        return ft_fail(err, FT_E_INVALID, "console: line buffer of 0 bytes");
    size_t limit = cap - 1 < CONSOLE_LINE_MAX ? cap - 1 : CONSOLE_LINE_MAX;
    uint64_t start = link_now_ns();
    size_t scanned = 0; /* bytes already known to hold no '\n' */
    for (;;) {
        const uint8_t *nl = memchr(c->stream + scanned, '\n', c->len - scanned);
        if (nl != NULL)
            return take_line(c, (size_t)(nl - c->stream), buf, limit, len, err);
        scanned = c->len;
        if (c->len > limit)
            return ft_fail(err, FT_E_CAPACITY, "console: line longer than %zu bytes (no '\\n' yet)",
                           limit);
        if (c->ops->fill(c, deadline_ns, err) != 0)
            return wait_failed(c, "the end of a line", start, deadline_ns, err);
    }
}

/* ---- writing, pins, reset -------------------------------------------------------------- */

int console_write(struct console *c, const void *data, size_t len, uint64_t deadline_ns,
                  struct ft_error *err)
{
    if (c->ops->write(c, data, len, deadline_ns, err) != 0)
        return -1;
    c->stats.bytes_out += len;
    return 0;
}

void console_reset_frames(struct console *c)
{
    if (c->ops->reset_frames != NULL)
        c->ops->reset_frames(c);
}

static struct spi_bus *gpio_bus(struct console *c, const char *what, struct ft_error *err)
{
    struct spi_bus *bus = c->ops->gpio ? c->ops->gpio(c) : NULL;
    if (bus == NULL)
        ft_fail(err, FT_E_INVALID, "cannot %s over a tty", what);
    return bus;
}

int console_chip_reset(struct console *c, bool straps_high, struct ft_error *err)
{
    struct spi_bus *bus = gpio_bus(c, "reset the chip", err);
    if (bus == NULL)
        return -1;
    if (bus->unwired & SPI_BUS_PIN_RESET_N)
        return ft_fail(err, FT_E_INVALID, "%s: cannot reset the chip: RESET_N is not wired",
                       bus->name);
    if (straps_high && (bus->unwired & SPI_BUS_PIN_STRAPS))
        return ft_fail(err, FT_E_INVALID,
                       "%s: cannot start the ROM bootstrap: STRAP0..2 are not all wired",
                       bus->name);
    /* Unwired straps are the board's to hold low. */
    uint32_t mask = SPI_BUS_PIN_INPUTS & ~bus->unwired;
    uint32_t straps = straps_high ? SPI_BUS_PIN_STRAPS : 0;
    /* Reset and straps in one write: the straps are settled before reset releases and
     * the ROM samples them. The pulse lasts one link round trip; a backend whose chip
     * needs a longer assertion time makes its gpio_write take that long. */
    if (spi_bus_gpio_write(bus, mask, straps & mask, err) != 0 ||
        spi_bus_gpio_write(bus, mask, (straps | SPI_BUS_PIN_RESET_N) & mask, err) != 0)
        return ft_error_prefix(err, "chip reset");
    /* What was buffered belongs to the old boot: a sync string in it must not match. */
    c->len = 0;
    console_reset_frames(c);
    return 0;
}

int console_pins(struct console *c, uint32_t *pins, uint32_t *wired, struct ft_error *err)
{
    struct spi_bus *bus = gpio_bus(c, "read the chip's pins", err);
    if (bus == NULL)
        return -1;
    *wired = (SPI_BUS_PIN_OUTPUTS | SPI_BUS_PIN_INPUTS) & ~bus->unwired;
    return spi_bus_gpio_read(bus, pins, err);
}

/* ---- the rest -------------------------------------------------------------------------- */

void console_get_stats(const struct console *c, struct console_stats *out)
{
    *out = c->stats;
    out->round_trips = c->ops->round_trips(c);
}

const char *console_kind(const struct console *c)
{
    return c->ops->kind;
}

void console_close(struct console *c)
{
    if (c == NULL)
        return;
    c->ops->close(c);
    free(c->stream);
    free(c);
}
