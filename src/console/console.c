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
/* Bytes of the chip's line, and of the line after it, quoted in a signal's message (the
 * report keeps more): the line is the cause, the next one context. */
#define CONSOLE_QUOTE_LINE_MAX 96u
#define CONSOLE_QUOTE_AFTER_MAX 64u
/* A stream position no text reaches: "the awaited text is not there yet". */
#define NOWHERE UINT64_MAX

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
    c->reset_expected = true; /* the chip booted before we looked */
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

static void take_lines(struct console *c, const uint8_t *data, size_t n, uint64_t pos);

/* The stream position just past the last byte received. */
static uint64_t stream_end(const struct console *c)
{
    return c->consumed + c->len;
}

void console_stream_append(struct console *c, const uint8_t *data, size_t n)
{
    if (n > console_stream_room(c))
        n = console_stream_room(c); /* callers size reads by the room; never overrun */
    uint64_t pos = stream_end(c);
    memcpy(c->stream + c->len, data, n);
    c->len += n;
    c->stats.bytes_in += n;
    remember(c, data, n);
    take_lines(c, data, n, pos);
}

/* Drops the first `n` buffered bytes. */
static void consume(struct console *c, size_t n)
{
    memmove(c->stream, c->stream + n, c->len - n);
    c->len -= n;
    c->consumed += n;
}

size_t console_recent(const struct console *c, uint8_t *buf, size_t cap)
{
    size_t n = c->recent_len < cap ? c->recent_len : cap;
    size_t skip = c->recent_len - n; /* keep the newest when `cap` is short */
    for (size_t i = 0; i < n; i++)
        buf[i] = c->recent[(c->recent_head + skip + i) % CONSOLE_RECENT_MAX];
    return n;
}

/* ---- the chip's signals ---------------------------------------------------------------- */

static bool starts_with(const uint8_t *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

static bool holds(const uint8_t *line, size_t len, const char *text)
{
    return memmem(line, len, text, strlen(text)) != NULL;
}

/* An OTTF log line of severity error or fatal: "E00012 file.c:34] ..." (reference
 * transport §2.3: "%s%05d %s:%d] "). */
static bool is_error_log(const uint8_t *line, size_t len)
{
    if (len < 8 || (line[0] != 'E' && line[0] != 'F') || line[6] != ' ')
        return false;
    for (size_t i = 1; i <= 5; i++) {
        if (line[i] < '0' || line[i] > '9')
            return false;
    }
    return true;
}

/* What a complete line (without its line end) tells about the chip, by the watch. */
static enum console_signal classify(const struct console *c, const uint8_t *line, size_t len)
{
    const struct console_watch *w = &c->watch;
    if (w->resets && !c->reset_expected &&
        (starts_with(line, len, "OpenTitan:") || starts_with(line, len, "ROM_EXT:")))
        return CONSOLE_SIGNAL_RESET;
    if (w->error_lines && (is_error_log(line, len) || starts_with(line, len, "BFV:") ||
                           starts_with(line, len, "RESP_ERR:") || holds(line, len, "FAIL!")))
        return CONSOLE_SIGNAL_ERROR;
    if (w->last_words != NULL && holds(line, len, w->last_words))
        return CONSOLE_SIGNAL_LAST_WORDS;
    return CONSOLE_SIGNAL_NONE;
}

static bool has_pending(const struct console *c, enum console_signal kind)
{
    for (size_t i = 0; i < c->n_pending; i++) {
        if (c->pending[i].kind == kind)
            return true;
    }
    return false;
}

/* Keeps a signal for the waits (the first few: what the chip said first matters). */
static void add_pending(struct console *c, enum console_signal kind, uint64_t start, uint64_t end,
                        const void *text, size_t len)
{
    if (c->n_pending == CONSOLE_SIGNALS_MAX)
        return;
    struct console_pending *p = &c->pending[c->n_pending++];
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->start = start;
    p->end = end;
    p->text_len = len < sizeof(p->text) ? len : sizeof(p->text);
    memcpy(p->text, text, p->text_len);
}

static void remove_pending(struct console *c, size_t i)
{
    memmove(&c->pending[i], &c->pending[i + 1], (c->n_pending - i - 1) * sizeof(c->pending[0]));
    c->n_pending--;
}

/* Drops the pending signals of `kind` (CONSOLE_SIGNAL_NONE: all). */
static void drop_pending(struct console *c, enum console_signal kind)
{
    for (size_t i = c->n_pending; i-- > 0;) {
        if (kind == CONSOLE_SIGNAL_NONE || c->pending[i].kind == kind)
            remove_pending(c, i);
    }
}

/* A line just completed [c->line_start, end): it is what the chip said after the signals
 * still waiting for their next line, and may be a signal itself. A line that holds the end
 * of text a wait already took is none: that text was what the host waited for. */
static void line_done(struct console *c, uint64_t end)
{
    size_t len = c->line_head_len;
    if (len > 0 && c->line_head[len - 1] == '\r')
        len--;
    for (size_t i = 0; len > 0 && i < c->n_pending; i++) {
        struct console_pending *p = &c->pending[i];
        if (!p->after_known && c->line_start >= p->end) {
            memcpy(p->after, c->line_head, len);
            p->after_len = len;
            p->after_known = true;
        }
    }
    if (c->watching && c->line_start >= c->awaited_end) {
        enum console_signal kind = classify(c, c->line_head, len);
        if (kind != CONSOLE_SIGNAL_NONE)
            add_pending(c, kind, c->line_start, end, c->line_head, len);
    }
    c->line_start = end;
    c->line_head_len = 0;
}

/* Follows received text line by line; only a line's head is kept (signals are short). */
static void take_lines(struct console *c, const uint8_t *data, size_t n, uint64_t pos)
{
    size_t off = 0;
    while (off < n) {
        const uint8_t *nl = memchr(data + off, '\n', n - off);
        size_t seg = nl != NULL ? (size_t)(nl - (data + off)) : n - off;
        size_t room = sizeof(c->line_head) - c->line_head_len;
        size_t keep = seg < room ? seg : room;
        memcpy(c->line_head + c->line_head_len, data + off, keep);
        c->line_head_len += keep;
        if (nl == NULL)
            break;
        off += seg + 1;
        line_done(c, pos + off);
    }
}

/* A new boot's text starts here: the old boot's unfinished line is not part of it. */
static void restart_lines(struct console *c)
{
    c->line_start = stream_end(c);
    c->line_head_len = 0;
}

void console_saw_pins(struct console *c, uint32_t pins)
{
    static const char what[] = "TestError (IOA0) high";
    c->pins = pins;
    c->pins_seen = true;
    c->pins_fresh = true;
    if (c->watching && c->watch.test_error && (pins & SPI_BUS_PIN_TEST_ERROR) &&
        !has_pending(c, CONSOLE_SIGNAL_TEST_ERROR))
        add_pending(c, CONSOLE_SIGNAL_TEST_ERROR, stream_end(c), stream_end(c), what, strlen(what));
}

bool console_chip_restarted(struct console *c, const char *what)
{
    if (!c->watching || !c->watch.resets)
        return false;
    restart_lines(c);
    if (!c->reset_expected)
        add_pending(c, CONSOLE_SIGNAL_RESET, stream_end(c), stream_end(c), what, strlen(what));
    return true;
}

void console_watch(struct console *c, const struct console_watch *w)
{
    c->watching = w != NULL;
    c->watch = w != NULL ? *w : (struct console_watch){0};
    drop_pending(c, CONSOLE_SIGNAL_NONE);
    /* Text already buffered was received unwatched: only what comes next is judged. */
    c->awaited_end = stream_end(c);
    c->report = (struct console_signal_report){0};
}

void console_expect_reset(struct console *c)
{
    c->reset_expected = true;
    drop_pending(c, CONSOLE_SIGNAL_RESET);
}

void console_expect_bulk(struct console *c, bool on)
{
    if (c->ops->expect_bulk != NULL)
        c->ops->expect_bulk(c, on);
}

const struct console_signal_report *console_last_signal(const struct console *c)
{
    return &c->report;
}

/* The link's GPIO when the watch asks for TestError and the board wires it; else NULL. */
static struct spi_bus *test_error_bus(struct console *c)
{
    if (!c->watching || !c->watch.test_error || c->ops->gpio == NULL)
        return NULL;
    struct spi_bus *bus = c->ops->gpio(c);
    return bus != NULL && !(bus->unwired & SPI_BUS_PIN_TEST_ERROR) ? bus : NULL;
}

/* One pin read. A failure is left to the next link op to report: the look is extra. */
static void look_at_pins(struct console *c, struct spi_bus *bus)
{
    uint32_t pins;
    struct ft_error ignored = {0};
    if (spi_bus_gpio_read(bus, &pins, &ignored) == 0)
        console_saw_pins(c, pins);
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

/* What follows the chip's own line in a message: the line it printed next (a reset's new
 * boot, the closing line after TestError), or that none came. */
static void describe_after(const struct console_pending *p, char *out, size_t cap)
{
    bool wants_more = p->kind == CONSOLE_SIGNAL_RESET || p->kind == CONSOLE_SIGNAL_TEST_ERROR;
    char next[CONSOLE_QUOTE_AFTER_MAX + 1];
    escape_head(next, sizeof(next), p->after, p->after_len);
    if (p->after_known)
        snprintf(out, cap, ", then \"%s\"", next);
    else if (wants_more)
        snprintf(out, cap, ", then nothing within %u ms", CONSOLE_WORDS_GRACE_MS);
    else
        out[0] = '\0';
}

/* The wait's message for signal `p`, quoting the chip (cut to what a message holds). */
static int signal_message(const struct console_pending *p, bool test_error, const char *awaited,
                          struct ft_error *err)
{
    char line[CONSOLE_QUOTE_LINE_MAX + 1];
    escape_head(line, sizeof(line), p->text, p->text_len);
    char after[CONSOLE_QUOTE_AFTER_MAX + 48];
    describe_after(p, after, sizeof(after));
    const char *pin =
        test_error && p->kind != CONSOLE_SIGNAL_TEST_ERROR ? "; TestError (IOA0) is high" : "";
    switch (p->kind) {
    case CONSOLE_SIGNAL_RESET:
        /* A banner is the chip's line; a frame counter restart is what we saw. */
        if (p->start == p->end)
            return ft_fail(err, FT_E_DEVICE, "the chip reset while %s was awaited: %s%s", awaited,
                           line, after);
        return ft_fail(err, FT_E_DEVICE, "the chip reset while %s was awaited: \"%s\"%s", awaited,
                       line, after);
    case CONSOLE_SIGNAL_LAST_WORDS:
        return ft_fail(err, FT_E_DEVICE, "the chip stopped while %s was awaited: \"%s\"%s%s",
                       awaited, line, after, pin);
    case CONSOLE_SIGNAL_ERROR:
        return ft_fail(err, FT_E_DEVICE,
                       "the chip reported an error while %s was awaited: \"%s\"%s%s", awaited, line,
                       after, pin);
    default:
        return ft_fail(err, FT_E_DEVICE, "the chip raised TestError (IOA0) while %s was awaited%s",
                       awaited, after);
    }
}

/* Reads on, until the line the chip prints after signal `i` or the grace period ends: a
 * report with the chip's words tells what it did (booted into which prompt). */
static void collect_words(struct console *c, size_t i, uint64_t deadline_ns)
{
    uint64_t grace = link_deadline_ms(CONSOLE_WORDS_GRACE_MS);
    uint64_t until = grace < deadline_ns ? grace : deadline_ns;
    struct ft_error ignored = {0};
    while (!c->pending[i].after_known && link_now_ns() < until &&
           c->ops->fill(c, until, &ignored) == 0)
        ;
}

/* Ends a wait on pending signal `i`: FT_E_DEVICE with the chip's words; the signal is
 * taken (console_last_signal() has it). */
static int signal_failed(struct console *c, size_t i, const char *awaited, uint64_t deadline_ns,
                         struct ft_error *err)
{
    enum console_signal kind = c->pending[i].kind;
    if (kind == CONSOLE_SIGNAL_RESET || kind == CONSOLE_SIGNAL_TEST_ERROR)
        collect_words(c, i, deadline_ns);
    struct spi_bus *bus = test_error_bus(c);
    if (bus != NULL && !c->pins_seen)
        look_at_pins(c, bus); /* the pin tells a failure from a chip that thinks it passed */
    struct console_pending p = c->pending[i];
    remove_pending(c, i);
    struct console_signal_report *r = &c->report;
    r->kind = kind;
    escape_head(r->line, sizeof(r->line), p.text, p.text_len);
    escape_head(r->after, sizeof(r->after), p.after, p.after_len);
    r->test_error = c->pins_seen && (c->pins & SPI_BUS_PIN_TEST_ERROR) != 0;
    return signal_message(&p, r->test_error, awaited, err);
}

/* The first pending signal the chip gave before stream position `upto` (its line ended
 * there or earlier; NOWHERE: any), or -1. */
static ptrdiff_t signal_before(const struct console *c, uint64_t upto)
{
    for (size_t i = 0; i < c->n_pending; i++) {
        if (c->pending[i].end <= upto)
            return (ptrdiff_t)i;
    }
    return -1;
}

/* A wait found its text at [at, end): the lines that hold it were what the host waited
 * for, not signals; a reset that was expected has now happened. */
static void found(struct console *c, uint64_t at, uint64_t end)
{
    for (size_t i = c->n_pending; i-- > 0;) {
        if (c->pending[i].start <= at && at < c->pending[i].end)
            remove_pending(c, i);
    }
    c->awaited_end = end;
    c->reset_expected = false;
}

/* One fill, watching the TestError pin while it blocks: a wait that can be cut short
 * without losing a frame is cut into CONSOLE_PIN_POLL_MS pieces with a look at the pins
 * after each empty one (free where the link's wait reports them). A piece that ends
 * before the deadline is a successful fill of nothing. */
static int fill_watched(struct console *c, uint64_t deadline_ns, struct ft_error *err)
{
    c->pins_fresh = false;
    struct spi_bus *bus = test_error_bus(c);
    if (bus == NULL)
        return c->ops->fill(c, deadline_ns, err);
    bool cuttable = c->ops->wait_cuttable != NULL && c->ops->wait_cuttable(c);
    uint64_t piece = link_deadline_ms(CONSOLE_PIN_POLL_MS);
    uint64_t until = cuttable && piece < deadline_ns ? piece : deadline_ns;
    if (c->ops->fill(c, until, err) == 0)
        return 0;
    if (err->code != FT_E_TIMEOUT)
        return -1;
    if (!c->pins_fresh)
        look_at_pins(c, bus);
    if (until == deadline_ns)
        return -1;
    ft_error_clear(err);
    return 0;
}

/* A fill failed: a signal the chip gave meanwhile says more than the link's error. */
static int wait_ended(struct console *c, const char *awaited, uint64_t start_ns,
                      uint64_t deadline_ns, struct ft_error *err)
{
    ptrdiff_t sig = signal_before(c, NOWHERE);
    if (sig >= 0)
        return signal_failed(c, (size_t)sig, awaited, deadline_ns, err);
    return wait_failed(c, awaited, start_ns, deadline_ns, err);
}

static void begin_wait(struct console *c)
{
    c->report = (struct console_signal_report){0};
    c->pins_seen = false;
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
    begin_wait(c);
    for (;;) {
        const uint8_t *at = memmem(c->stream, c->len, text, n);
        uint64_t at_pos = at != NULL ? c->consumed + (size_t)(at - c->stream) : NOWHERE;
        ptrdiff_t sig = signal_before(c, at_pos);
        if (sig >= 0)
            return signal_failed(c, (size_t)sig, quoted, deadline_ns, err);
        if (at != NULL) {
            found(c, at_pos, at_pos + n);
            consume(c, (size_t)(at - c->stream) + n);
            return 0;
        }
        /* Only the last n-1 bytes can still begin the text: keep them, drop the rest, so
         * the buffer never grows while unrelated output scrolls by. */
        if (c->len > n - 1)
            consume(c, c->len - (n - 1));
        if (fill_watched(c, deadline_ns, err) != 0)
            return wait_ended(c, quoted, start, deadline_ns, err);
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

/* The first pending signal on or before the line ending at `end` (NOWHERE: any), or -1:
 * a line the chip printed after a signal is not what the caller waits for. */
static ptrdiff_t signal_by_line(const struct console *c, uint64_t end)
{
    for (size_t i = 0; i < c->n_pending; i++) {
        if (c->pending[i].start < end)
            return (ptrdiff_t)i;
    }
    return -1;
}

int console_read_line(struct console *c, char *buf, size_t cap, size_t *len, uint64_t deadline_ns,
                      struct ft_error *err)
{
    static const char awaited[] = "the next line";
    struct ft_error local;
    if (err == NULL)
        err = &local;
    *len = 0;
    if (cap == 0)
        return ft_fail(err, FT_E_INVALID, "console: line buffer of 0 bytes");
    size_t limit = cap - 1 < CONSOLE_LINE_MAX ? cap - 1 : CONSOLE_LINE_MAX;
    uint64_t start = link_now_ns();
    begin_wait(c);
    size_t scanned = 0; /* bytes already known to hold no '\n' */
    for (;;) {
        const uint8_t *nl = memchr(c->stream + scanned, '\n', c->len - scanned);
        uint64_t end = nl != NULL ? c->consumed + (size_t)(nl - c->stream) + 1 : NOWHERE;
        ptrdiff_t sig = signal_by_line(c, end);
        if (sig >= 0)
            return signal_failed(c, (size_t)sig, awaited, deadline_ns, err);
        if (nl != NULL)
            return take_line(c, (size_t)(nl - c->stream), buf, limit, len, err);
        scanned = c->len;
        if (c->len > limit)
            return ft_fail(err, FT_E_CAPACITY, "console: line longer than %zu bytes (no '\\n' yet)",
                           limit);
        if (fill_watched(c, deadline_ns, err) != 0) {
            ptrdiff_t late = signal_before(c, NOWHERE);
            if (late >= 0)
                return signal_failed(c, (size_t)late, awaited, deadline_ns, err);
            return wait_failed(c, "the end of a line", start, deadline_ns, err);
        }
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
    console_expect_reset(c);
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
    /* What was buffered belongs to the old boot: a sync string in it must not match, and
     * what it signalled is over. */
    consume(c, c->len);
    restart_lines(c);
    drop_pending(c, CONSOLE_SIGNAL_NONE);
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
