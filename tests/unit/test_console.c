/* console + links: the SPI console over a scripted chip (exact transactions, frame
 * boundaries, junk, uploads, round trips), over the in-process device model, and over
 * the ftsim binary (socket SPI and UART, pty UART); the UART console over a pty written
 * by the test; the simsock backend against a misbehaving server. No sleeps synchronize
 * anything: every wait is a deadline. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/endian.h"
#include "console/console.h"
#include "host_steps.h"
#include "link/simsock.h"
#include "link/spi_bus.h"
#include "link/tty.h"
#include "sim/sim_device.h"
#include "testutil.h"
#include "wire/devmsg.h"
#include "wire/resp.h"
#include "wire/simlink.h"
#include "wire/spi_frame.h"
#include "wire/ujson.h"

#define STEP_MS 20000u /* any device step with --timing zero, with sanitizers */
#define SLACK_MS 400u  /* how late a timeout may report, with sanitizers */

enum { OP_PP = 0x02, OP_READ = 0x03, OP_RDSR = 0x05, OP_WREN = 0x06 };

static uint64_t ms_since(uint64_t start_ns)
{
    return (link_now_ns() - start_ns) / 1000000u;
}

/* ==== a scripted SPI chip ================================================================
 * Serves queued frames exactly as the TX-ready firmware expects them to be read (header
 * READ of 12 at 0, then one payload READ at 12) and records uploads. Anything else the
 * host does on the bus is written into `violation`. */

#define FAKE_FRAMES_MAX 128u
#define FAKE_CHUNKS_MAX 512u
#define FAKE_UPLOAD_MAX 65536u

struct fake_frame {
    uint8_t bytes[SPI_FRAME_HEADER_SIZE + SPI_FRAME_READ_BUFFER_SIZE];
    size_t payload_len; /* padded payload bytes after the header */
    bool ignored;       /* a header the host must not follow with a payload read */
};

struct fake_chip {
    struct spi_bus bus;
    struct fake_frame frames[FAKE_FRAMES_MAX];
    size_t head, count;
    uint32_t frame_no; /* number the next good frame carries */
    bool header_read;  /* between the two reads of a frame */
    uint32_t pins, wired;
    bool wel;
    unsigned busy_left;      /* READ_STATUS reads that still show BUSY */
    unsigned busy_per_chunk; /* BUSY reads after each page program */
    uint32_t chunk_addr[FAKE_CHUNKS_MAX];
    size_t chunk_len[FAKE_CHUNKS_MAX];
    size_t n_chunks;
    uint8_t uploaded[FAKE_UPLOAD_MAX];
    size_t uploaded_len;
    unsigned gpio_writes;
    uint32_t write_value[8];
    char violation[160];
};

static void fake_violate(struct fake_chip *f, const char *what)
{
    if (f->violation[0] == '\0')
        snprintf(f->violation, sizeof(f->violation), "%s", what);
}

static struct fake_frame *fake_front(struct fake_chip *f)
{
    return &f->frames[f->head];
}

static void fake_pop(struct fake_chip *f)
{
    f->head = (f->head + 1) % FAKE_FRAMES_MAX;
    f->count--;
    f->header_read = false;
}

static void fake_read(struct fake_chip *f, const uint8_t *mosi, uint8_t *miso, size_t len)
{
    uint32_t addr = (uint32_t)mosi[1] << 16 | (uint32_t)mosi[2] << 8 | mosi[3];
    size_t n = len - 4;
    if (f->count == 0)
        return fake_violate(f, "READ with no frame (TX-ready was low)");
    struct fake_frame *fr = fake_front(f);
    if (!f->header_read) {
        if (addr != 0 || n != SPI_FRAME_HEADER_SIZE)
            return fake_violate(f, "header READ not 12 bytes at 0");
        if (miso)
            memcpy(miso + 4, fr->bytes, n);
        f->header_read = true;
        return;
    }
    /* The device waits for the second transaction whatever its header was: a host that
     * drops a header still reads the largest payload after it. */
    size_t want =
        fr->ignored ? SPI_FRAME_READ_BUFFER_SIZE - SPI_FRAME_HEADER_SIZE : fr->payload_len;
    if (addr != SPI_FRAME_HEADER_SIZE || n != want)
        return fake_violate(f, fr->ignored ? "no 2036-byte payload READ after a dropped header"
                                           : "payload READ not the padded payload at 12 in one "
                                             "transaction");
    if (miso && fr->ignored)
        memset(miso + 4, 0xFF, n);
    else if (miso)
        memcpy(miso + 4, fr->bytes + SPI_FRAME_HEADER_SIZE, n);
    fake_pop(f);
}

static void fake_program(struct fake_chip *f, const uint8_t *mosi, size_t len)
{
    if (!f->wel)
        fake_violate(f, "PAGE_PROGRAM without WREN");
    if (len < 5 || len > 4 + SPI_UPLOAD_CHUNK_MAX || f->n_chunks == FAKE_CHUNKS_MAX ||
        f->uploaded_len + len - 4 > FAKE_UPLOAD_MAX)
        return fake_violate(f, "PAGE_PROGRAM of a bad size");
    f->chunk_addr[f->n_chunks] = (uint32_t)mosi[1] << 16 | (uint32_t)mosi[2] << 8 | mosi[3];
    f->chunk_len[f->n_chunks++] = len - 4;
    memcpy(f->uploaded + f->uploaded_len, mosi + 4, len - 4);
    f->uploaded_len += len - 4;
    f->wel = false;
    f->busy_left = f->busy_per_chunk;
}

/* One status value per READ_STATUS transaction: BUSY for `busy_left` reads, WEL as set. */
static void fake_status(struct fake_chip *f, uint8_t *miso, size_t len)
{
    uint8_t status = (uint8_t)((f->busy_left > 0 ? 0x01 : 0) | (f->wel ? 0x02 : 0));
    if (f->busy_left > 0 && f->busy_left != UINT32_MAX)
        f->busy_left--;
    if (miso)
        memset(miso + 1, status, len - 1);
}

static void fake_transaction(struct fake_chip *f, const uint8_t *mosi, uint8_t *miso, size_t len)
{
    if (miso)
        memset(miso, 0xFF, len);
    if (f->header_read && mosi[0] != OP_READ)
        fake_violate(f, "another transaction between a frame's header and payload reads");
    switch (mosi[0]) {
    case OP_READ:
        return fake_read(f, mosi, miso, len);
    case OP_WREN:
        f->wel = true;
        return;
    case OP_PP:
        return fake_program(f, mosi, len);
    case OP_RDSR:
        return fake_status(f, miso, len);
    default:
        fake_violate(f, "unexpected opcode");
    }
}

static int fake_xfer(struct spi_bus *bus, const uint8_t *mosi, uint8_t *miso, size_t len,
                     struct ft_error *err)
{
    (void)err;
    bus->round_trips++;
    fake_transaction(bus->impl, mosi, miso, len);
    return 0;
}

static int fake_batch(struct spi_bus *bus, const struct spi_bus_xfer *xfers, size_t n,
                      struct ft_error *err)
{
    (void)err;
    bus->round_trips++;
    for (size_t i = 0; i < n; i++)
        fake_transaction(bus->impl, xfers[i].mosi, xfers[i].miso, xfers[i].len);
    return 0;
}

static uint32_t fake_pins(const struct fake_chip *f)
{
    return f->pins | (f->count > 0 && !f->header_read ? SPI_BUS_PIN_TX_READY : 0);
}

static int fake_gpio_read(struct spi_bus *bus, uint32_t *pins, struct ft_error *err)
{
    (void)err;
    bus->round_trips++;
    *pins = fake_pins(bus->impl);
    return 0;
}

static int fake_gpio_write(struct spi_bus *bus, uint32_t mask, uint32_t value, struct ft_error *err)
{
    struct fake_chip *f = bus->impl;
    (void)err;
    bus->round_trips++;
    if (f->gpio_writes < 8)
        f->write_value[f->gpio_writes] = value & mask;
    f->gpio_writes++;
    f->pins = (f->pins & ~mask) | (value & mask);
    return 0;
}

/* Nothing changes on a scripted chip while the host waits: a wait that is not already
 * satisfied lasts until its deadline, as the adapter's would. */
static int fake_gpio_wait(struct spi_bus *bus, uint32_t mask, uint32_t value, uint64_t deadline,
                          uint32_t *pins, struct ft_error *err)
{
    bus->round_trips++;
    *pins = fake_pins(bus->impl);
    if ((*pins & mask) == (value & mask))
        return 0;
    struct timespec until = {.tv_sec = (time_t)(deadline / 1000000000u),
                             .tv_nsec = (long)(deadline % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
        ;
    return ft_fail(err, FT_E_TIMEOUT, "fake: pins did not reach 0x%x", value);
}

static void fake_close(struct spi_bus *bus)
{
    free(bus->impl);
}

static const struct spi_bus_ops fake_ops_wait = {
    .xfer = fake_xfer,
    .gpio_read = fake_gpio_read,
    .gpio_write = fake_gpio_write,
    .gpio_wait = fake_gpio_wait,
    .close = fake_close,
};

static const struct spi_bus_ops fake_ops_poll_batch = {
    .xfer = fake_xfer,
    .xfer_batch = fake_batch,
    .gpio_read = fake_gpio_read,
    .gpio_write = fake_gpio_write,
    .close = fake_close,
};

static struct fake_chip *fake_new(const struct spi_bus_ops *ops)
{
    struct fake_chip *f = calloc(1, sizeof(*f));
    ck_assert_ptr_nonnull(f);
    f->bus = (struct spi_bus){.ops = ops, .impl = f, .name = "fake bus", .max_xfer = 4096};
    f->pins = SPI_BUS_PIN_RESET_N;
    return f;
}

static struct fake_frame *fake_push(struct fake_chip *f)
{
    ck_assert_uint_lt(f->count, FAKE_FRAMES_MAX);
    struct fake_frame *fr = &f->frames[(f->head + f->count++) % FAKE_FRAMES_MAX];
    memset(fr, 0, sizeof(*fr));
    return fr;
}

static void fake_push_payload(struct fake_chip *f, const void *data, size_t len)
{
    struct fake_frame *fr = fake_push(f);
    size_t size;
    ck_assert_int_eq(
        spi_frame_encode(f->frame_no++, data, len, fr->bytes, sizeof(fr->bytes), &size, NULL), 0);
    fr->payload_len = size - SPI_FRAME_HEADER_SIZE;
}

/* Splits `text` into frames of `piece` bytes (the last may be shorter). */
static void fake_push_text(struct fake_chip *f, const char *text, size_t len, size_t piece)
{
    for (size_t off = 0; off < len; off += piece)
        fake_push_payload(f, text + off, len - off < piece ? len - off : piece);
}

enum junk { JUNK_MAGIC, JUNK_LENGTH, JUNK_BOOT_SYNC, JUNK_NUMBER };

static void fake_push_junk(struct fake_chip *f, enum junk kind)
{
    struct fake_frame *fr = fake_push(f);
    fr->ignored = true;
    spi_frame_header_encode(fr->bytes, f->frame_no, 4);
    if (kind == JUNK_MAGIC)
        fr->bytes[0] ^= 0x40;
    if (kind == JUNK_LENGTH)
        spi_frame_header_encode(fr->bytes, f->frame_no, SPI_FRAME_HOST_MAX_PAYLOAD + 4);
    if (kind == JUNK_NUMBER)
        spi_frame_header_encode(fr->bytes, f->frame_no + 7, 4);
    if (kind == JUNK_BOOT_SYNC)
        for (int i = 0; i < 3; i++)
            store_le32(fr->bytes + 4 * i, SPI_BOOT_SYNC_PATTERN);
}

static struct console *fake_console(struct fake_chip *f)
{
    struct ft_error err = {0};
    struct console *c = console_open_spi(&f->bus, &err);
    ck_assert_msg(c != NULL, "%s", err.message);
    return c;
}

static void fake_done(struct fake_chip *f, struct console *c)
{
    ck_assert_msg(f->violation[0] == '\0', "bus protocol: %s", f->violation);
    console_close(c);
    spi_bus_close(&f->bus);
}

/* ---- scripted chip: reading ---------------------------------------------------------- */

static const char flow_text[] =
    "ROM_EXT noise\r\nI00003 ottf_main.c:40] Running ft_personalize\r\n" HOST_RMA_PROMPT
    "after the prompt\n";

START_TEST(spi_sync_string_across_every_frame_boundary)
{
    size_t len = strlen(flow_text);
    for (size_t cut = 1; cut < len; cut++) {
        struct fake_chip *f = fake_new(&fake_ops_wait);
        fake_push_payload(f, flow_text, cut);
        fake_push_payload(f, flow_text + cut, len - cut);
        struct console *c = fake_console(f);
        struct ft_error err = {0};
        char line[64];
        size_t n;
        ck_assert_ok(console_wait_for(c, HOST_RMA_PROMPT, link_deadline_ms(1000), &err), err);
        ck_assert_ok(console_read_line(c, line, sizeof(line), &n, link_deadline_ms(1000), &err),
                     err);
        ck_assert_str_eq(line, "after the prompt");
        fake_done(f, c);
    }
}
END_TEST

START_TEST(spi_one_byte_frames_and_log_line_form)
{
    static const char log_form[] = "I00001 ottf.c:1] other\r\n"
                                   "I00012 ft_personalize.c:397] Waiting For RMA Unlock Token "
                                   "Hash ...\r\nnext\n";
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_text(f, log_form, strlen(log_form), 1);
    struct console *c = fake_console(f);
    struct ft_error err = {0};
    ck_assert_ok(
        console_wait_for(c, "Waiting For RMA Unlock Token Hash ...", link_deadline_ms(1000), &err),
        err);
    char line[64];
    size_t n;
    ck_assert_ok(console_read_line(c, line, sizeof(line), &n, link_deadline_ms(1000), &err), err);
    ck_assert_str_eq(line, "\r"); /* the log line's end: '\r' kept, '\n' taken */
    ck_assert_ok(console_read_line(c, line, sizeof(line), &n, link_deadline_ms(1000), &err), err);
    ck_assert_str_eq(line, "next");
    struct console_stats st;
    console_get_stats(c, &st);
    ck_assert_uint_eq(st.frames, strlen(log_form));
    ck_assert_uint_eq(st.bytes_in, strlen(log_form));
    fake_done(f, c);
}
END_TEST

START_TEST(spi_junk_and_wrong_numbers_are_ignored_and_counted)
{
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_junk(f, JUNK_MAGIC);
    fake_push_payload(f, "Wait", 4);
    fake_push_junk(f, JUNK_LENGTH);
    fake_push_junk(f, JUNK_BOOT_SYNC);
    fake_push_junk(f, JUNK_NUMBER);
    fake_push_payload(f, "ing\n", 4);
    struct console *c = fake_console(f);
    struct ft_error err = {0};
    ck_assert_ok(console_wait_for(c, "Waiting\n", link_deadline_ms(1000), &err), err);
    struct console_stats st;
    console_get_stats(c, &st);
    ck_assert_uint_eq(st.frames, 2);
    ck_assert_uint_eq(st.junk_frames, 3);
    ck_assert_uint_eq(st.wrong_frame_numbers, 1);
    /* Per frame, good or dropped: wait, header, payload. */
    ck_assert_uint_eq(st.round_trips, 2 * 3 + 4 * 3);
    fake_done(f, c);
}
END_TEST

START_TEST(spi_round_trips_per_frame)
{
    for (int polled = 0; polled <= 1; polled++) {
        struct fake_chip *f = fake_new(polled ? &fake_ops_poll_batch : &fake_ops_wait);
        fake_push_text(f, flow_text, strlen(flow_text), 7);
        struct console *c = fake_console(f);
        struct ft_error err = {0};
        ck_assert_ok(console_wait_for(c, "prompt\n", link_deadline_ms(1000), &err), err);
        struct console_stats st;
        console_get_stats(c, &st);
        /* The pin is already high when polled, so one GPIO read stands for the wait. */
        ck_assert_uint_eq(st.round_trips, 3 * st.frames);
        fake_done(f, c);
    }
}
END_TEST

START_TEST(spi_long_resp_ok_line_across_frames)
{
    size_t total = 20600;
    char *text = malloc(total + 1);
    char *line = malloc(total + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(line);
    memcpy(text, "RESP_OK:", 8);
    memset(text + 8, 'x', total - 8);
    memcpy(text + total - 7, " CRC:0\n", 7);
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_text(f, HOST_EXPORT_PROMPT, strlen(HOST_EXPORT_PROMPT), 64);
    fake_push_text(f, text, total, SPI_FRAME_DEVICE_MAX_PAYLOAD);
    fake_push_text(f, text, total, SPI_FRAME_DEVICE_MAX_PAYLOAD);
    struct console *c = fake_console(f);
    struct ft_error err = {0};
    size_t n = 0;
    ck_assert_ok(console_wait_for(c, HOST_EXPORT_PROMPT, link_deadline_ms(1000), &err), err);
    ck_assert_ok(console_read_line(c, line, total + 1, &n, link_deadline_ms(1000), &err), err);
    ck_assert_uint_eq(n, total - 1);
    ck_assert_mem_eq(line, text, total - 1);
    /* The same line into a buffer too small: a capacity error, not an overrun. */
    ck_assert_int_eq(console_read_line(c, line, 1000, &n, link_deadline_ms(1000), &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "999 bytes");
    ck_assert_int_eq(console_read_line(c, line, 0, &n, link_deadline_ms(1000), &err), -1);
    ck_assert_error(err, FT_E_INVALID, "0 bytes");
    free(text);
    free(line);
    struct spi_bus *bus = &f->bus;
    console_close(c);
    spi_bus_close(bus);
}
END_TEST

START_TEST(spi_timeout_names_text_deadline_and_recent_bytes)
{
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_text(f, flow_text, strlen(flow_text), 16);
    struct console *c = fake_console(f);
    struct ft_error err = {0};
    uint64_t start = link_now_ns();
    ck_assert_int_eq(console_wait_for(c, HOST_CERTGEN_PROMPT, link_deadline_ms(150), &err), -1);
    uint64_t took = ms_since(start);
    ck_assert_uint_ge(took, 150);
    ck_assert_uint_lt(took, 150 + SLACK_MS);
    ck_assert_error(err, FT_E_TIMEOUT, "\"Waiting for certificate inputs ...\\n\"");
    ck_assert_error(err, FT_E_TIMEOUT, "150 ms");
    ck_assert_error(err, FT_E_TIMEOUT, "after the prompt\\n\"");
    uint8_t recent[CONSOLE_RECENT_MAX];
    size_t n = console_recent(c, recent, sizeof(recent));
    ck_assert_uint_eq(n, strlen(flow_text));
    ck_assert_mem_eq(recent, flow_text, n);
    /* Text already buffered is found even after the deadline. */
    fake_push_text(f, "late\n", 5, 5);
    ck_assert_ok(console_wait_for(c, "late", link_deadline_ms(0), &err), err);
    fake_done(f, c);
}
END_TEST

START_TEST(spi_polled_tx_ready_times_out_at_the_deadline)
{
    struct fake_chip *f = fake_new(&fake_ops_poll_batch);
    struct console *c = fake_console(f);
    struct ft_error err = {0};
    char line[16];
    size_t n;
    uint64_t start = link_now_ns();
    ck_assert_int_eq(console_read_line(c, line, sizeof(line), &n, link_deadline_ms(100), &err), -1);
    ck_assert_uint_ge(ms_since(start), 100);
    ck_assert_uint_lt(ms_since(start), 100 + SLACK_MS);
    ck_assert_error(err, FT_E_TIMEOUT, "end of a line");
    fake_done(f, c);
}
END_TEST

START_TEST(spi_frame_counter_reset)
{
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_payload(f, "one\n", 4);
    fake_push_payload(f, "two\n", 4);
    struct console *c = fake_console(f);
    struct ft_error err = {0};
    ck_assert_ok(console_wait_for(c, "two\n", link_deadline_ms(1000), &err), err);
    /* The chip resets: its next frame is number 0 again. A host that did not reset its
     * counter reads only that header and waits in vain. */
    f->frame_no = 0;
    fake_push_payload(f, "three\n", 6);
    f->frames[(f->head + f->count - 1) % FAKE_FRAMES_MAX].ignored = true;
    ck_assert_int_eq(console_wait_for(c, "three\n", link_deadline_ms(50), &err), -1);
    struct console_stats st;
    console_get_stats(c, &st);
    ck_assert_uint_eq(st.wrong_frame_numbers, 1);
    console_reset_frames(c);
    f->frame_no = 0;
    fake_push_payload(f, "four\n", 5);
    ck_assert_ok(console_wait_for(c, "four\n", link_deadline_ms(1000), &err), err);
    fake_done(f, c);
}
END_TEST

START_TEST(spi_empty_frame_still_gets_its_payload_read)
{
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_payload(f, "", 0);
    fake_push_payload(f, "x\n", 2);
    struct console *c = fake_console(f);
    struct ft_error err = {0};
    ck_assert_ok(console_wait_for(c, "x\n", link_deadline_ms(1000), &err), err);
    fake_done(f, c);
}
END_TEST

/* ---- scripted chip: writing and pins ------------------------------------------------- */

static void check_upload(size_t len, const struct spi_bus_ops *ops, unsigned busy)
{
    struct fake_chip *f = fake_new(ops);
    f->busy_per_chunk = busy;
    struct console *c = fake_console(f);
    uint8_t *msg = malloc(len + 1);
    ck_assert_ptr_nonnull(msg);
    for (size_t i = 0; i < len; i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    struct ft_error err = {0};
    ck_assert_ok(console_write(c, msg, len, link_deadline_ms(1000), &err), err);
    size_t chunks = (len + SPI_UPLOAD_CHUNK_MAX - 1) / SPI_UPLOAD_CHUNK_MAX;
    ck_assert_uint_eq(f->n_chunks, chunks);
    for (size_t i = 0; i < chunks; i++) {
        bool last = i + 1 == chunks;
        ck_assert_uint_eq(f->chunk_addr[i], last ? 0x100 : 0x000);
        ck_assert_uint_eq(f->chunk_len[i], last ? len - i * 256 : 256);
    }
    ck_assert_uint_eq(f->uploaded_len, len);
    if (len > 0)
        ck_assert_mem_eq(f->uploaded, msg, len);
    struct console_stats st;
    console_get_stats(c, &st);
    ck_assert_uint_eq(st.bytes_out, len);
    ck_assert_uint_eq(st.upload_chunks, chunks);
    /* No status read after the last chunk: the firmware's answer confirms it. */
    size_t polled = chunks > 0 ? chunks - 1 : 0;
    ck_assert_uint_eq(st.status_polls, polled * (busy + 1));
    /* Batched: WREN + PP + first status in one exchange; else three, plus the polls. The
     * last chunk: WREN + PP, one exchange or two. */
    uint64_t per_chunk = ops->xfer_batch ? 1 + busy : 3 + busy;
    uint64_t last_chunk = ops->xfer_batch ? 1 : 2;
    ck_assert_uint_eq(st.round_trips, chunks > 0 ? polled * per_chunk + last_chunk : 0);
    /* A second message before any answer first polls until the last chunk was taken. */
    ck_assert_ok(console_write(c, msg, 1, link_deadline_ms(1000), &err), err);
    console_get_stats(c, &st);
    ck_assert_uint_eq(st.status_polls, chunks * (busy + 1));
    ck_assert_uint_eq(f->uploaded_len, len + 1);
    free(msg);
    fake_done(f, c);
}

START_TEST(spi_upload_chunks_and_terminator)
{
    static const size_t sizes[] = {0, 1, 255, 256, 257, 512, 513, UJSON_PERSO_BLOB_SIZE};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        check_upload(sizes[i], &fake_ops_wait, 0);
        check_upload(sizes[i], &fake_ops_wait, 3);
        check_upload(sizes[i], &fake_ops_poll_batch, 0);
        check_upload(sizes[i], &fake_ops_poll_batch, 2);
    }
}
END_TEST

START_TEST(spi_upload_busy_stuck_times_out)
{
    struct fake_chip *f = fake_new(&fake_ops_wait);
    f->busy_per_chunk = UINT32_MAX;
    struct console *c = fake_console(f);
    struct ft_error err = {0};
    char msg[300];
    memset(msg, 'a', sizeof(msg));
    uint64_t start = link_now_ns();
    ck_assert_int_eq(console_write(c, msg, sizeof(msg), link_deadline_ms(60), &err), -1);
    ck_assert_uint_ge(ms_since(start), 60);
    ck_assert_uint_lt(ms_since(start), 60 + SLACK_MS);
    ck_assert_error(err, FT_E_TIMEOUT, "BUSY");
    ck_assert_error(err, FT_E_TIMEOUT, "offset 0 (address 0x000)");
    ck_assert_uint_eq(f->n_chunks, 1); /* nothing more after the chunk not taken */
    fake_done(f, c);
}
END_TEST

START_TEST(spi_chip_reset_drives_pins_and_forgets_old_text)
{
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_text(f, "stale " HOST_RMA_PROMPT, strlen("stale " HOST_RMA_PROMPT), 2048);
    struct console *c = fake_console(f);
    struct ft_error err = {0};
    ck_assert_ok(console_wait_for(c, "stale", link_deadline_ms(1000), &err), err);
    ck_assert_ok(console_chip_reset(c, true, &err), err);
    ck_assert_uint_eq(f->gpio_writes, 2);
    ck_assert_uint_eq(f->write_value[0], SPI_BUS_PIN_STRAPS);
    ck_assert_uint_eq(f->write_value[1], SPI_BUS_PIN_STRAPS | SPI_BUS_PIN_RESET_N);
    uint32_t pins = 0, wired = 0;
    ck_assert_ok(console_pins(c, &pins, &wired, &err), err);
    ck_assert_uint_eq(pins & SPI_BUS_PIN_INPUTS, SPI_BUS_PIN_STRAPS | SPI_BUS_PIN_RESET_N);
    /* The prompt that was buffered before the reset must not match now. */
    ck_assert_int_eq(console_wait_for(c, HOST_RMA_PROMPT, link_deadline_ms(30), &err), -1);
    ck_assert_error(err, FT_E_TIMEOUT, "Waiting For RMA");
    ck_assert_ok(console_chip_reset(c, false, &err), err);
    ck_assert_uint_eq(f->write_value[3], SPI_BUS_PIN_RESET_N);
    fake_done(f, c);
}
END_TEST

START_TEST(spi_bus_too_small_or_bad_arguments)
{
    struct fake_chip *f = fake_new(&fake_ops_wait);
    struct ft_error err = {0};
    f->bus.max_xfer = 1024; /* would split a payload into two CS frames */
    ck_assert_ptr_null(console_open_spi(&f->bus, &err));
    ck_assert_error(err, FT_E_INVALID, "in one");
    f->bus.max_xfer = 4096;
    ck_assert_int_eq(spi_bus_xfer(&f->bus, (const uint8_t *)"x", NULL, 0, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "0 bytes");
    ck_assert_int_eq(spi_bus_gpio_write(&f->bus, SPI_BUS_PIN_TX_READY, 0, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "not host-driven");
    struct console *c = fake_console(f);
    ck_assert_int_eq(console_wait_for(c, "", link_deadline_ms(10), &err), -1);
    ck_assert_error(err, FT_E_INVALID, "sync text");
    fake_done(f, c);
}
END_TEST

/* ==== the flow over any console ========================================================= */

static void send_rma_token_hash(struct console *c)
{
    struct ft_error err = {0};
    ck_assert_ok(host_send_rma_token_hash(c, STEP_MS, &err), err);
}

static void send_certgen_inputs(struct console *c)
{
    struct ft_error err = {0};
    ck_assert_ok(host_send_certgen_inputs(c, STEP_MS, &err), err);
}

static void wait_ok(struct console *c, const char *text)
{
    struct ft_error err = {0};
    ck_assert_ok(console_wait_for(c, text, link_deadline_ms(STEP_MS), &err), err);
}

/* The RMA step: the prompt, the token hash, and the chip's own reset. */
static void run_rma(struct console *c)
{
    wait_ok(c, HOST_RMA_PROMPT);
    send_rma_token_hash(c);
    console_reset_frames(c); /* the chip resets itself after writing SECRET2 */
}

static void read_blob(struct console *c, struct perso_blob *blob)
{
    struct ft_error err = {0};
    char *line = malloc(RESP_LINE_MAX + 1);
    ck_assert_ptr_nonnull(line);
    ck_assert_ok(host_read_blob(c, line, RESP_LINE_MAX + 1, blob, STEP_MS, &err), err);
    ck_assert_uint_ge(blob->num_objs, 3);
    free(line);
}

/* Runs the flow through the exported blob; `per_frame` (may be NULL) gets the bus round
 * trips per frame while the blob was read. */
static void run_to_export(struct console *c, double *per_frame)
{
    struct perso_blob blob;
    struct console_stats before, after;
    run_rma(c);
    wait_ok(c, HOST_CERTGEN_PROMPT);
    send_certgen_inputs(c);
    wait_ok(c, HOST_EXPORT_PROMPT);
    console_get_stats(c, &before);
    read_blob(c, &blob);
    console_get_stats(c, &after);
    if (per_frame != NULL && after.frames > before.frames)
        *per_frame = (double)(after.round_trips - before.round_trips) /
                     (double)(after.frames - before.frames);
}

static void print_stats(const char *what, struct console *c, double per_frame)
{
    struct console_stats st;
    console_get_stats(c, &st);
    printf("# %s: %llu frames, %llu junk, %llu wrong numbers, %llu bytes in, %llu out, %llu "
           "chunks, %llu status polls, %llu round trips; %.2f round trips per blob frame\n",
           what, (unsigned long long)st.frames, (unsigned long long)st.junk_frames,
           (unsigned long long)st.wrong_frame_numbers, (unsigned long long)st.bytes_in,
           (unsigned long long)st.bytes_out, (unsigned long long)st.upload_chunks,
           (unsigned long long)st.status_polls, (unsigned long long)st.round_trips, per_frame);
    fflush(stdout);
}

/* ==== the in-process device model behind an spi_bus ===================================== */

struct model_bus {
    struct spi_bus bus;
    struct sim_device dev;
};

static struct sim_device *model_of(struct spi_bus *bus)
{
    return &((struct model_bus *)bus->impl)->dev;
}

static int model_xfer(struct spi_bus *bus, const uint8_t *mosi, uint8_t *miso, size_t len,
                      struct ft_error *err)
{
    (void)err;
    bus->round_trips++;
    sim_device_spi_xfer(model_of(bus), mosi, miso, len);
    return 0;
}

static int model_batch(struct spi_bus *bus, const struct spi_bus_xfer *xfers, size_t n,
                       struct ft_error *err)
{
    (void)err;
    bus->round_trips++;
    for (size_t i = 0; i < n; i++)
        sim_device_spi_xfer(model_of(bus), xfers[i].mosi, xfers[i].miso, xfers[i].len);
    return 0;
}

static int model_gpio_read(struct spi_bus *bus, uint32_t *pins, struct ft_error *err)
{
    (void)err;
    bus->round_trips++;
    *pins = sim_device_gpio_read(model_of(bus));
    return 0;
}

static int model_gpio_write(struct spi_bus *bus, uint32_t mask, uint32_t value,
                            struct ft_error *err)
{
    (void)err;
    bus->round_trips++;
    sim_device_gpio_write(model_of(bus), mask, value);
    return 0;
}

static int model_gpio_wait(struct spi_bus *bus, uint32_t mask, uint32_t value, uint64_t deadline,
                           uint32_t *pins, struct ft_error *err)
{
    for (;;) {
        bus->round_trips++;
        uint32_t ms = link_ms_left(deadline, 600000u);
        if (sim_device_gpio_wait(model_of(bus), mask, value, ms, pins))
            return 0;
        if (link_now_ns() >= deadline)
            return ft_fail(err, FT_E_TIMEOUT, "model: pins did not reach 0x%x", value);
    }
}

static void model_close(struct spi_bus *bus)
{
    struct model_bus *m = bus->impl;
    sim_device_stop(&m->dev);
    sim_device_fini(&m->dev);
    free(m);
}

static const struct spi_bus_ops model_ops_wait = {
    .xfer = model_xfer,
    .gpio_read = model_gpio_read,
    .gpio_write = model_gpio_write,
    .gpio_wait = model_gpio_wait,
    .close = model_close,
};

static const struct spi_bus_ops model_ops_poll_batch = {
    .xfer = model_xfer,
    .xfer_batch = model_batch,
    .gpio_read = model_gpio_read,
    .gpio_write = model_gpio_write,
    .close = model_close,
};

static struct spi_bus *model_start(const struct spi_bus_ops *ops)
{
    struct model_bus *m = calloc(1, sizeof(*m));
    ck_assert_ptr_nonnull(m);
    struct sim_config cfg;
    sim_config_defaults(&cfg);
    ck_assert_int_eq(sim_config_set_timing(&cfg, "zero", NULL), 0);
    cfg.console = SIM_CONSOLE_SPI;
    ck_assert_int_eq(sim_device_init(&m->dev, &cfg, NULL), 0);
    ck_assert_int_eq(sim_device_start(&m->dev, NULL), 0);
    m->bus = (struct spi_bus){.ops = ops, .impl = m, .name = "model", .max_xfer = 65536};
    return &m->bus;
}

static void model_flow(const struct spi_bus_ops *ops, const char *what)
{
    struct spi_bus *bus = model_start(ops);
    struct ft_error err = {0};
    struct console *c = console_open_spi(bus, &err);
    ck_assert_msg(c != NULL, "%s", err.message);
    double per_frame = 0;
    run_to_export(c, &per_frame);
    print_stats(what, c, per_frame);
    struct console_stats st;
    console_get_stats(c, &st);
    ck_assert_uint_ge(st.frames, 12);
    ck_assert_uint_eq(st.junk_frames + st.wrong_frame_numbers, 0);
    console_close(c);
    spi_bus_close(bus);
}

START_TEST(model_spi_flow_gpio_wait)
{
    model_flow(&model_ops_wait, "model, gpio_wait");
}
END_TEST

START_TEST(model_spi_flow_polled_batched)
{
    model_flow(&model_ops_poll_batch, "model, polled TX-ready, batched uploads");
}
END_TEST

START_TEST(model_spi_chip_reset)
{
    struct spi_bus *bus = model_start(&model_ops_wait);
    struct ft_error err = {0};
    struct console *c = console_open_spi(bus, &err);
    ck_assert_msg(c != NULL, "%s", err.message);
    wait_ok(c, HOST_RMA_PROMPT);
    ck_assert_ok(console_chip_reset(c, false, &err), err);
    wait_ok(c, HOST_RMA_PROMPT); /* frame 0 again, accepted */
    ck_assert_ok(console_chip_reset(c, false, &err), err);
    run_rma(c);
    wait_ok(c, HOST_CERTGEN_PROMPT);
    struct console_stats st;
    console_get_stats(c, &st);
    ck_assert_uint_eq(st.wrong_frame_numbers, 0);
    console_close(c);
    spi_bus_close(bus);
}
END_TEST

/* ==== the ftsim binary ===================================================================== */

struct ftsim {
    pid_t pid;
    int out; /* its stdout */
    char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char pty[128];
};

static void scratch_path(char *out, size_t cap, const char *tag)
{
    static unsigned counter;
    int n = snprintf(out, cap, "%s/console-%ld-%u-%s", CONSOLE_TEST_DIR, (long)getpid(), counter++,
                     tag);
    ck_assert_msg(n > 0 && (size_t)n < cap, "scratch path too long for a Unix socket");
    unlink(out);
}

static void ftsim_exec(int out_fd, char **argv, pid_t parent)
{
    /* If the test process dies on a failed assertion, ftsim must not outlive it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    dup2(out_fd, STDOUT_FILENO);
    execv(FTSIM_PATH, argv);
    _exit(127);
}

/* Reads ftsim's stdout until its "ready" line; picks up the socket and pty paths. */
static void ftsim_wait_ready(struct ftsim *f)
{
    char buf[1024] = "";
    size_t len = 0;
    uint64_t deadline = link_deadline_ms(STEP_MS);
    while (strstr(buf, "ftsim: ready") == NULL) {
        struct pollfd pfd = {.fd = f->out, .events = POLLIN};
        ck_assert_msg(poll(&pfd, 1, (int)link_ms_left(deadline, 60000)) > 0, "ftsim not ready");
        ssize_t n = read(f->out, buf + len, sizeof(buf) - 1 - len);
        ck_assert_msg(n > 0, "ftsim exited before it was ready");
        len += (size_t)n;
        buf[len] = '\0';
    }
    const char *pty = strstr(buf, "ftsim: pty ");
    if (pty != NULL)
        ck_assert_int_eq(sscanf(pty, "ftsim: pty %127s", f->pty), 1);
}

/* Starts ftsim with --timing zero; `with_socket` adds --socket in the build tree; the
 * rest of the options come from `opts` (NULL-terminated). */
static void ftsim_start(struct ftsim *f, bool with_socket, const char *const *opts)
{
    memset(f, 0, sizeof(*f));
    char *argv[24];
    size_t argc = 0;
    argv[argc++] = (char *)FTSIM_PATH;
    argv[argc++] = (char *)"--timing";
    argv[argc++] = (char *)"zero";
    if (with_socket) {
        scratch_path(f->sock, sizeof(f->sock), "sock");
        argv[argc++] = (char *)"--socket";
        argv[argc++] = f->sock;
    }
    for (size_t i = 0; opts != NULL && opts[i] != NULL && argc + 1 < 24; i++)
        argv[argc++] = (char *)opts[i];
    argv[argc] = NULL;
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t parent = getpid();
    f->pid = fork();
    ck_assert_int_ge(f->pid, 0);
    if (f->pid == 0)
        ftsim_exec(fds[1], argv, parent);
    close(fds[1]);
    f->out = fds[0];
    ftsim_wait_ready(f);
}

static void ftsim_stop(struct ftsim *f)
{
    int status;
    kill(f->pid, SIGTERM);
    waitpid(f->pid, &status, 0);
    close(f->out);
    if (f->sock[0] != '\0')
        unlink(f->sock);
}

struct sim_spi {
    struct ftsim proc;
    struct simsock *sock;
    struct console *c;
};

static void sim_spi_open(struct sim_spi *s, const char *fault)
{
    const char *opts[] = {"--fault", fault, NULL};
    ftsim_start(&s->proc, true, fault != NULL ? opts : NULL);
    struct ft_error err = {0};
    s->sock = simsock_open(s->proc.sock, &err);
    ck_assert_msg(s->sock != NULL, "%s", err.message);
    s->c = console_open_spi(simsock_bus(s->sock), &err);
    ck_assert_msg(s->c != NULL, "%s", err.message);
}

static void sim_spi_close(struct sim_spi *s)
{
    console_close(s->c);
    simsock_close(s->sock);
    ftsim_stop(&s->proc);
}

START_TEST(ftsim_spi_flow)
{
    struct sim_spi s;
    sim_spi_open(&s, NULL);
    struct ft_error err = {0};
    uint32_t pins = 0, wired = 0;
    ck_assert_ok(console_pins(s.c, &pins, &wired, &err), err);
    ck_assert_uint_eq(pins & SPI_BUS_PIN_INPUTS, SPI_BUS_PIN_RESET_N);
    double per_frame = 0;
    run_to_export(s.c, &per_frame);
    print_stats("ftsim socket SPI", s.c, per_frame);
    /* GPIO_WAIT, header READ, payload READ: three requests per frame, no polling. */
    ck_assert_msg(per_frame == 3.0, "%.2f round trips per frame", per_frame);
    sim_spi_close(&s);
}
END_TEST

START_TEST(ftsim_spi_junk_frames_ignored)
{
    struct sim_spi s;
    sim_spi_open(&s, "junk-frames=export");
    run_to_export(s.c, NULL);
    struct console_stats st;
    console_get_stats(s.c, &st);
    print_stats("ftsim socket SPI, junk-frames=export", s.c, 0);
    /* One junk frame before each export frame: the prompt and >= 11 blob frames. */
    ck_assert_uint_ge(st.junk_frames, 12);
    ck_assert_uint_eq(st.wrong_frame_numbers, 0);
    sim_spi_close(&s);
}
END_TEST

START_TEST(ftsim_spi_wrong_frame_number_times_out)
{
    struct sim_spi s;
    sim_spi_open(&s, "wrong-frame-number=certgen");
    run_rma(s.c);
    struct ft_error err = {0};
    ck_assert_int_eq(console_wait_for(s.c, HOST_CERTGEN_PROMPT, link_deadline_ms(300), &err), -1);
    ck_assert_error(err, FT_E_TIMEOUT, "Waiting for certificate inputs");
    struct console_stats st;
    console_get_stats(s.c, &st);
    ck_assert_uint_eq(st.wrong_frame_numbers, 1);
    sim_spi_close(&s);
}
END_TEST

START_TEST(ftsim_spi_stall_times_out_within_deadline)
{
    struct sim_spi s;
    sim_spi_open(&s, "stall=certgen");
    run_rma(s.c);
    struct ft_error err = {0};
    uint64_t start = link_now_ns();
    ck_assert_int_eq(console_wait_for(s.c, HOST_CERTGEN_PROMPT, link_deadline_ms(500), &err), -1);
    uint64_t took = ms_since(start);
    ck_assert_uint_ge(took, 500);
    ck_assert_uint_lt(took, 500 + SLACK_MS);
    ck_assert_error(err, FT_E_TIMEOUT, "\"Waiting for certificate inputs ...\\n\" not seen");
    ck_assert_error(err, FT_E_TIMEOUT, "within 500 ms");
    sim_spi_close(&s);
}
END_TEST

START_TEST(ftsim_spi_disconnect_is_connect_error)
{
    struct sim_spi s;
    sim_spi_open(&s, "disconnect=export");
    run_rma(s.c);
    wait_ok(s.c, HOST_CERTGEN_PROMPT);
    send_certgen_inputs(s.c);
    wait_ok(s.c, HOST_EXPORT_PROMPT);
    struct ft_error err = {0};
    char *line = malloc(RESP_LINE_MAX + 1);
    size_t n;
    ck_assert_int_eq(
        console_read_line(s.c, line, RESP_LINE_MAX + 1, &n, link_deadline_ms(STEP_MS), &err), -1);
    ck_assert_error(err, FT_E_CONNECT, s.proc.sock);
    /* Later ops fail at once, the same way. */
    uint32_t pins, wired;
    ck_assert_int_eq(console_pins(s.c, &pins, &wired, &err), -1);
    ck_assert_error(err, FT_E_CONNECT, "link is down");
    free(line);
    sim_spi_close(&s);
}
END_TEST

START_TEST(ftsim_spi_chip_reset_and_straps)
{
    struct sim_spi s;
    sim_spi_open(&s, NULL);
    struct ft_error err = {0};
    wait_ok(s.c, HOST_RMA_PROMPT);
    ck_assert_ok(console_chip_reset(s.c, true, &err), err); /* ROM bootstrap: no console */
    uint32_t pins = 0, wired = 0;
    ck_assert_ok(console_pins(s.c, &pins, &wired, &err), err);
    ck_assert_uint_eq(pins & SPI_BUS_PIN_INPUTS, SPI_BUS_PIN_STRAPS | SPI_BUS_PIN_RESET_N);
    ck_assert_int_eq(console_wait_for(s.c, HOST_RMA_PROMPT, link_deadline_ms(200), &err), -1);
    ck_assert_error(err, FT_E_TIMEOUT, "Waiting For RMA");
    ck_assert_ok(console_chip_reset(s.c, false, &err), err);
    run_rma(s.c);
    wait_ok(s.c, HOST_CERTGEN_PROMPT);
    sim_spi_close(&s);
}
END_TEST

START_TEST(ftsim_socket_uart_flow)
{
    struct ftsim proc;
    const char *opts[] = {"--console", "uart", NULL};
    ftsim_start(&proc, true, opts);
    struct ft_error err = {0};
    struct simsock *sock = simsock_open(proc.sock, &err);
    ck_assert_msg(sock != NULL, "%s", err.message);
    struct console *c = console_open_sim_uart(sock, &err);
    ck_assert_msg(c != NULL, "%s", err.message);
    ck_assert_str_eq(console_kind(c), "uart");
    wait_ok(c, HOST_RMA_PROMPT);
    ck_assert_ok(console_chip_reset(c, false, &err), err); /* GPIO over the same socket */
    run_to_export(c, NULL);
    print_stats("ftsim socket UART", c, 0);
    console_close(c);
    simsock_close(sock);
    ftsim_stop(&proc);
}
END_TEST

static struct console *open_pty_console(struct ftsim *proc, const char *fault)
{
    const char *opts[] = {"--pty", "--fault", fault, NULL};
    if (fault == NULL)
        opts[1] = NULL;
    ftsim_start(proc, false, opts);
    struct ft_error err = {0};
    struct console *c = console_open_uart(proc->pty, &err);
    ck_assert_msg(c != NULL, "%s", err.message);
    return c;
}

START_TEST(ftsim_pty_flow)
{
    struct ftsim proc;
    struct console *c = open_pty_console(&proc, NULL);
    run_to_export(c, NULL);
    print_stats("ftsim pty UART", c, 0);
    struct ft_error err = {0};
    ck_assert_int_eq(console_chip_reset(c, false, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "cannot reset the chip over a tty");
    uint32_t pins, wired;
    ck_assert_int_eq(console_pins(c, &pins, &wired, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "over a tty");
    console_close(c);
    ftsim_stop(&proc);
}
END_TEST

START_TEST(ftsim_pty_stall_times_out_within_deadline)
{
    struct ftsim proc;
    struct console *c = open_pty_console(&proc, "stall=certgen");
    run_rma(c);
    struct ft_error err = {0};
    uint64_t start = link_now_ns();
    ck_assert_int_eq(console_wait_for(c, HOST_CERTGEN_PROMPT, link_deadline_ms(400), &err), -1);
    ck_assert_uint_ge(ms_since(start), 400);
    ck_assert_uint_lt(ms_since(start), 400 + SLACK_MS);
    ck_assert_error(err, FT_E_TIMEOUT, "within 400 ms");
    console_close(c);
    ftsim_stop(&proc);
}
END_TEST

/* Reads lines until the link drops. ftsim hangs its pty up by closing the master
 * while its input thread may sit in poll() on it, which keeps the master open until that
 * poll returns; a byte from us wakes it. So: read with a short deadline and, while the
 * link is still up, send a byte. With a prompt hang-up the first read already fails. */
static void read_until_hangup(struct console *c, struct ft_error *err)
{
    size_t cap = RESP_LINE_MAX + 1, n;
    char *line = malloc(cap);
    ck_assert_ptr_nonnull(line);
    uint64_t give_up = link_deadline_ms(STEP_MS);
    int rc;
    do {
        rc = console_read_line(c, line, cap, &n, link_deadline_ms(200), err);
        if (rc != 0 && err->code == FT_E_TIMEOUT)
            rc = console_write(c, " ", 1, link_deadline_ms(200), err) == 0 ? -2 : -1;
    } while ((rc == 0 || rc == -2) && link_now_ns() < give_up); /* lines, then the end */
    ck_assert_int_eq(rc, -1);
    free(line);
}

START_TEST(ftsim_pty_disconnect_is_connect_error)
{
    struct ftsim proc;
    struct console *c = open_pty_console(&proc, "disconnect=export");
    run_rma(c);
    wait_ok(c, HOST_CERTGEN_PROMPT);
    send_certgen_inputs(c);
    /* No wait for the export prompt: a pty hang-up discards the input the host has not
     * read yet, so under load the prompt may go with it. The hang-up itself must show. */
    struct ft_error err = {0};
    read_until_hangup(c, &err);
    ck_assert_error(err, FT_E_CONNECT, proc.pty);
    console_close(c);
    ftsim_stop(&proc);
}
END_TEST

/* ==== a pty written by the test ============================================================ */

struct pty_pair {
    int master;
    char slave[128];
};

static void pty_make(struct pty_pair *p)
{
    p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(p->master, 0);
    ck_assert_int_eq(grantpt(p->master), 0);
    ck_assert_int_eq(unlockpt(p->master), 0);
    ck_assert_int_eq(ptsname_r(p->master, p->slave, sizeof(p->slave)), 0);
}

static void pty_put(const struct pty_pair *p, const char *text)
{
    size_t len = strlen(text);
    ck_assert_int_eq(write(p->master, text, len), (ssize_t)len);
}

/* Reads `len` bytes the console wrote, by a deadline. */
static void pty_expect(const struct pty_pair *p, const char *want)
{
    char got[256];
    size_t len = strlen(want), have = 0;
    uint64_t deadline = link_deadline_ms(2000);
    ck_assert_uint_lt(len, sizeof(got));
    while (have < len) {
        struct pollfd pfd = {.fd = p->master, .events = POLLIN};
        ck_assert_int_gt(poll(&pfd, 1, (int)link_ms_left(deadline, 60000)), 0);
        ssize_t n = read(p->master, got + have, len - have);
        ck_assert_int_gt(n, 0);
        have += (size_t)n;
    }
    ck_assert_mem_eq(got, want, len);
}

static struct console *pty_console(const struct pty_pair *p)
{
    struct ft_error err = {0};
    struct console *c = console_open_uart(p->slave, &err);
    ck_assert_msg(c != NULL, "%s", err.message);
    return c;
}

START_TEST(pty_sync_strings_bare_and_log_line)
{
    struct pty_pair p;
    pty_make(&p);
    struct console *c = pty_console(&p);
    struct ft_error err = {0};
    pty_put(&p, "boot noise\r\nI00003 ottf_main.c:40] Running ft_personalize\r\n"
                "I00012 ft_personalize.c:397] Waiting For RMA Unlock Token Hash ...\r\n");
    ck_assert_ok(
        console_wait_for(c, "Waiting For RMA Unlock Token Hash ...", link_deadline_ms(2000), &err),
        err);
    pty_put(&p, "unrelated line\nanother\nWaiting for certificate inputs ...\nRESP_OK:{\"a\":1} "
                "CRC:0\n");
    ck_assert_ok(console_wait_for(c, HOST_CERTGEN_PROMPT, link_deadline_ms(2000), &err), err);
    char line[64];
    size_t n;
    ck_assert_ok(console_read_line(c, line, sizeof(line), &n, link_deadline_ms(2000), &err), err);
    ck_assert_str_eq(line, "RESP_OK:{\"a\":1} CRC:0");
    struct resp_line resp;
    ck_assert_int_eq(resp_parse_line(line, n, RESP_CRC_NONE, &resp, &err), 1);
    console_close(c);
    close(p.master);
}
END_TEST

START_TEST(pty_output_pending_before_open_is_kept)
{
    struct pty_pair p;
    pty_make(&p);
    /* As ftsim does: the slave is made raw once, then the device talks before any host
     * has the port open. TCSAFLUSH at open would drop this. */
    int slave = open(p.slave, O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    struct termios tio;
    ck_assert_int_eq(tcgetattr(slave, &tio), 0);
    cfmakeraw(&tio);
    ck_assert_int_eq(tcsetattr(slave, TCSANOW, &tio), 0);
    close(slave);
    pty_put(&p, "said before the host came\n");
    struct console *c = pty_console(&p);
    struct ft_error err = {0};
    ck_assert_ok(console_wait_for(c, "before the host came\n", link_deadline_ms(2000), &err), err);
    console_close(c);
    close(p.master);
}
END_TEST

START_TEST(pty_xon_xoff)
{
    struct pty_pair p;
    pty_make(&p);
    struct console *c = pty_console(&p);
    struct ft_error err = {0};
    /* Flow-control bytes are not text. */
    pty_put(&p, "Wai\x13t\x11ing\n");
    ck_assert_ok(console_wait_for(c, "Waiting\n", link_deadline_ms(2000), &err), err);
    /* XOFF holds our writes until XON. */
    pty_put(&p, "\x13");
    ck_assert_int_eq(console_write(c, "held", 4, link_deadline_ms(100), &err), -1);
    ck_assert_error(err, FT_E_TIMEOUT, "XOFF");
    pty_put(&p, "\x11");
    ck_assert_ok(console_write(c, "sent", 4, link_deadline_ms(2000), &err), err);
    pty_expect(&p, "sent");
    struct console_stats st;
    console_get_stats(c, &st);
    ck_assert_uint_eq(st.flow_pauses, 2);
    ck_assert_uint_eq(st.bytes_out, 4);
    console_close(c);
    close(p.master);
}
END_TEST

START_TEST(pty_hangup_is_connect_error)
{
    struct pty_pair p;
    pty_make(&p);
    struct console *c = pty_console(&p);
    struct ft_error err = {0};
    pty_put(&p, "partial");
    close(p.master);
    ck_assert_int_eq(console_wait_for(c, "never", link_deadline_ms(2000), &err), -1);
    ck_assert_error(err, FT_E_CONNECT, p.slave);
    ck_assert_error(err, FT_E_CONNECT, "\"never\"");
    console_close(c);
}
END_TEST

START_TEST(tty_open_failures)
{
    struct ft_error err = {0};
    ck_assert_ptr_null(console_open_uart("/nonexistent/ttyUSB9", &err));
    ck_assert_error(err, FT_E_CONNECT, "/nonexistent/ttyUSB9");
    ck_assert_ptr_null(tty_open("/dev/null", &err));
    ck_assert_error(err, FT_E_INVALID, "not a terminal");
}
END_TEST

/* ==== simsock against a misbehaving server ================================================ */

struct bad_server {
    int listen_fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    const uint8_t *reply; /* NULL: close instead of replying */
    size_t reply_len;
    pthread_t thread;
};

static void read_request(int fd)
{
    uint8_t header[SIMLINK_HEADER_SIZE], payload[64];
    if (read(fd, header, sizeof(header)) != (ssize_t)sizeof(header))
        return;
    size_t len = load_le32(header) - 1;
    while (len > 0) {
        ssize_t n = read(fd, payload, len < sizeof(payload) ? len : sizeof(payload));
        if (n <= 0)
            return;
        len -= (size_t)n;
    }
}

static void *bad_server_run(void *arg)
{
    struct bad_server *b = arg;
    int fd = accept(b->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    read_request(fd);
    if (b->reply != NULL) {
        if (write(fd, b->reply, b->reply_len) != (ssize_t)b->reply_len)
            b->reply = NULL;
        uint8_t sink[64];
        while (read(fd, sink, sizeof(sink)) > 0) /* until the client closes */
            ;
    }
    close(fd);
    return NULL;
}

static struct simsock *bad_server_start(struct bad_server *b, const uint8_t *reply, size_t len)
{
    memset(b, 0, sizeof(*b));
    b->reply = reply;
    b->reply_len = len;
    scratch_path(b->path, sizeof(b->path), "bad");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, b->path, strlen(b->path) + 1);
    b->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(b->listen_fd, 0);
    ck_assert_int_eq(bind(b->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(listen(b->listen_fd, 1), 0);
    ck_assert_int_eq(pthread_create(&b->thread, NULL, bad_server_run, b), 0);
    struct ft_error err = {0};
    struct simsock *s = simsock_open(b->path, &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    return s;
}

static void bad_server_stop(struct bad_server *b, struct simsock *s)
{
    simsock_close(s);
    pthread_join(b->thread, NULL);
    close(b->listen_fd);
    unlink(b->path);
}

/* GPIO_READ answered with `reply`; the error must carry `code` and `needle`. */
static void expect_bad_gpio_read(const uint8_t *reply, size_t len, enum ft_code code,
                                 const char *needle)
{
    struct bad_server b;
    struct simsock *s = bad_server_start(&b, reply, len);
    struct ft_error err = {0};
    uint32_t pins;
    ck_assert_int_eq(spi_bus_gpio_read(simsock_bus(s), &pins, &err), -1);
    ck_assert_error(err, code, needle);
    bad_server_stop(&b, s);
}

START_TEST(simsock_rejects_malformed_replies)
{
    static const uint8_t short_pins[] = {3, 0, 0, 0, SIMLINK_OK, 1, 2};
    static const uint8_t zero_len[] = {0, 0, 0, 0, SIMLINK_OK};
    static const uint8_t huge[] = {0xFF, 0xFF, 0xFF, 0x7F, SIMLINK_OK};
    static const uint8_t unknown[] = {5, 0, 0, 0, 9, 1, 2, 3, 4};
    static const uint8_t timeout[] = {5, 0, 0, 0, SIMLINK_TIMEOUT, 1, 2, 3, 4};
    static const uint8_t bad_request[] = {6,   0,   0,      0,   SIMLINK_BAD_REQUEST,
                                          'n', 'o', '\x01', 'p', 'e'};
    expect_bad_gpio_read(short_pins, sizeof(short_pins), FT_E_PROTOCOL, "2 bytes, expected 4");
    expect_bad_gpio_read(zero_len, sizeof(zero_len), FT_E_PROTOCOL, "length 0");
    expect_bad_gpio_read(huge, sizeof(huge), FT_E_PROTOCOL, "exceeds");
    expect_bad_gpio_read(unknown, sizeof(unknown), FT_E_PROTOCOL, "unknown status 9");
    expect_bad_gpio_read(timeout, sizeof(timeout), FT_E_PROTOCOL, "TIMEOUT");
    expect_bad_gpio_read(bad_request, sizeof(bad_request), FT_E_PROTOCOL, "rejected: no?pe");
    expect_bad_gpio_read(NULL, 0, FT_E_CONNECT, "closed by ftsim");
}
END_TEST

START_TEST(simsock_xfer_reply_length_checked)
{
    static const uint8_t three[] = {4, 0, 0, 0, SIMLINK_OK, 1, 2, 3};
    struct bad_server b;
    struct simsock *s = bad_server_start(&b, three, sizeof(three));
    struct ft_error err = {0};
    uint8_t mosi[4] = {OP_RDSR, 0, 0, 0}, miso[4];
    ck_assert_int_eq(spi_bus_xfer(simsock_bus(s), mosi, miso, 4, &err), -1);
    ck_assert_error(err, FT_E_PROTOCOL, "3 bytes, expected 4");
    ck_assert_error(err, FT_E_PROTOCOL, b.path);
    bad_server_stop(&b, s);
}
END_TEST

START_TEST(simsock_connect_failure_names_socket)
{
    struct ft_error err = {0};
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    scratch_path(path, sizeof(path), "none");
    ck_assert_ptr_null(simsock_open(path, &err));
    ck_assert_error(err, FT_E_CONNECT, path);
}
END_TEST

/* ==== the chip's signals (console_watch) ===================================================
 * A watched wait ends when the chip gives up, long before its deadline, naming what the
 * chip said; an unwatched one waits as before (these are the waits that used to time out). */

#define SIGNAL_DEADLINE_MS 10000u /* a step deadline the signals must beat by far */
/* The longest a signal may take: the grace for the chip's next line, plus slack. */
#define SIGNAL_FAST_MS (CONSOLE_WORDS_GRACE_MS + 2 * SLACK_MS)
#define LAST_WORDS "Personalization done."
#define IMPORTED "Finished importing certificates."

static const struct console_watch perso_watch = {
    .last_words = LAST_WORDS, .test_error = true, .error_lines = true, .resets = true};

/* A watched wait for `text` (NULL: a line) that the chip ends: FT_E_DEVICE of `kind`
 * (CONSOLE_SIGNAL_NONE: any) before SIGNAL_FAST_MS, its message holding every string of
 * `want` (NULL-terminated). */
static void expect_signal(struct console *c, const char *text, enum console_signal kind,
                          const char *const *want)
{
    struct ft_error err = {0};
    uint64_t start = link_now_ns();
    int rc;
    if (text != NULL) {
        rc = console_wait_for(c, text, link_deadline_ms(SIGNAL_DEADLINE_MS), &err);
    } else {
        char line[256];
        size_t n;
        rc = console_read_line(c, line, sizeof(line), &n, link_deadline_ms(SIGNAL_DEADLINE_MS),
                               &err);
    }
    uint64_t took = ms_since(start);
    const char *what = text != NULL ? text : "a line";
    printf("# %.*s after %llu ms: %s\n", (int)strcspn(what, "\n"), what, (unsigned long long)took,
           err.message);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(took < SIGNAL_FAST_MS, "the chip's signal took %llu ms",
                  (unsigned long long)took);
    for (size_t i = 0; want[i] != NULL; i++)
        ck_assert_error(err, FT_E_DEVICE, want[i]);
    ck_assert_int_ne(console_last_signal(c)->kind, CONSOLE_SIGNAL_NONE);
    if (kind != CONSOLE_SIGNAL_NONE)
        ck_assert_int_eq(console_last_signal(c)->kind, kind);
}

static struct console *watched(struct console *c)
{
    console_watch(c, &perso_watch);
    return c;
}

START_TEST(signal_last_words_before_the_awaited_text)
{
    static const char said[] = HOST_IMPORT_PROMPT LAST_WORDS "\n";
    /* Unwatched, as before: the wait runs to its deadline. */
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_text(f, said, strlen(said), 9);
    struct console *c = fake_console(f);
    struct ft_error err = {0};
    ck_assert_int_eq(console_wait_for(c, IMPORTED, link_deadline_ms(100), &err), -1);
    ck_assert_int_eq(err.code, FT_E_TIMEOUT);
    ck_assert_int_eq(console_last_signal(c)->kind, CONSOLE_SIGNAL_NONE);
    fake_done(f, c);
    /* Watched: the closing line ends it at once, quoted. */
    f = fake_new(&fake_ops_wait);
    fake_push_text(f, said, strlen(said), 9);
    c = watched(fake_console(f));
    const char *want[] = {"the chip stopped while \"" IMPORTED "\" was awaited",
                          "\"" LAST_WORDS "\"", NULL};
    expect_signal(c, IMPORTED, CONSOLE_SIGNAL_LAST_WORDS, want);
    ck_assert_str_eq(console_last_signal(c)->line, LAST_WORDS);
    ck_assert(!console_last_signal(c)->test_error);
    fake_done(f, c);
}
END_TEST

START_TEST(signal_awaited_last_words_are_no_signal)
{
    static const char said[] = "I00012 ft_personalize.c:1] " LAST_WORDS "\r\nnext\n";
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_text(f, said, strlen(said), 5);
    struct console *c = watched(fake_console(f));
    struct ft_error err = {0};
    ck_assert_ok(console_wait_for(c, LAST_WORDS, link_deadline_ms(1000), &err), err);
    char line[64];
    size_t n;
    ck_assert_ok(console_read_line(c, line, sizeof(line), &n, link_deadline_ms(1000), &err), err);
    ck_assert_str_eq(line, "\r");
    ck_assert_ok(console_read_line(c, line, sizeof(line), &n, link_deadline_ms(1000), &err), err);
    ck_assert_str_eq(line, "next");
    fake_done(f, c);
}
END_TEST

/* Order decides: what the chip said after the awaited text is for the next wait. */
START_TEST(signal_after_the_awaited_text_stays_pending)
{
    static const char said[] = IMPORTED "\n" LAST_WORDS "\n";
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_payload(f, said, strlen(said));
    struct console *c = watched(fake_console(f));
    struct ft_error err = {0};
    ck_assert_ok(console_wait_for(c, IMPORTED, link_deadline_ms(1000), &err), err);
    char line[64];
    size_t n;
    ck_assert_ok(console_read_line(c, line, sizeof(line), &n, link_deadline_ms(1000), &err), err);
    ck_assert_str_eq(line, ""); /* the rest of the awaited line */
    const char *want[] = {"the chip stopped while the next line was awaited", LAST_WORDS, NULL};
    expect_signal(c, NULL, CONSOLE_SIGNAL_LAST_WORDS, want);
    fake_done(f, c);
}
END_TEST

/* TestError with the closing line after it, and TestError alone (the chip printed
 * nothing more: the report says so after the grace), over a bus that waits and one that
 * is polled. */
START_TEST(signal_test_error_pin)
{
    for (int polled = 0; polled <= 1; polled++) {
        const struct spi_bus_ops *ops = polled ? &fake_ops_poll_batch : &fake_ops_wait;
        struct fake_chip *f = fake_new(ops);
        f->pins |= SPI_BUS_PIN_TEST_ERROR;
        fake_push_text(f, LAST_WORDS "\n", strlen(LAST_WORDS) + 1, 64);
        struct console *c = watched(fake_console(f));
        const char *want[] = {"the chip raised TestError (IOA0) while \"" IMPORTED "\" was awaited",
                              "then \"" LAST_WORDS "\"", NULL};
        expect_signal(c, IMPORTED, CONSOLE_SIGNAL_TEST_ERROR, want);
        ck_assert_str_eq(console_last_signal(c)->after, LAST_WORDS);
        ck_assert(console_last_signal(c)->test_error);
        fake_done(f, c);

        f = fake_new(ops);
        f->pins |= SPI_BUS_PIN_TEST_ERROR;
        c = watched(fake_console(f));
        const char *alone[] = {"TestError", "then nothing within", NULL};
        expect_signal(c, HOST_EXPORT_PROMPT, CONSOLE_SIGNAL_TEST_ERROR, alone);
        fake_done(f, c);
    }
}
END_TEST

/* Frame 0 where frame 2 was due: the chip reset. Its payload is read (the firmware waits
 * for both reads) and quoted as what the new boot said. */
START_TEST(signal_frame_counter_restart)
{
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_payload(f, HOST_CERTGEN_PROMPT, strlen(HOST_CERTGEN_PROMPT));
    fake_push_payload(f, "Blob", 4); /* a line the reset cuts short */
    f->frame_no = 0;
    fake_push_payload(f, HOST_CERTGEN_PROMPT, strlen(HOST_CERTGEN_PROMPT));
    struct console *c = watched(fake_console(f));
    struct ft_error err = {0};
    ck_assert_ok(console_wait_for(c, HOST_CERTGEN_PROMPT, link_deadline_ms(1000), &err), err);
    const char *want[] = {"the chip reset while \"Exporting TBS certificates ...\\n\" was awaited",
                          "its SPI console restarted at frame 0 (frame 2 was due), then \"Waiting "
                          "for certificate inputs ...\"",
                          NULL};
    expect_signal(c, HOST_EXPORT_PROMPT, CONSOLE_SIGNAL_RESET, want);
    ck_assert_str_eq(console_last_signal(c)->after, "Waiting for certificate inputs ...");
    struct console_stats st;
    console_get_stats(c, &st);
    ck_assert_uint_eq(st.frames, 3);
    ck_assert_uint_eq(st.wrong_frame_numbers, 0);
    fake_done(f, c);
}
END_TEST

/* A reset the host announced (the one after the RMA hash) passes, counter or not; once
 * the new boot's prompt is found, the next one is a signal again. */
START_TEST(signal_expected_reset_passes)
{
    struct fake_chip *f = fake_new(&fake_ops_wait);
    fake_push_payload(f, HOST_RMA_PROMPT, strlen(HOST_RMA_PROMPT));
    struct console *c = watched(fake_console(f));
    wait_ok(c, HOST_RMA_PROMPT);
    console_expect_reset(c); /* the counter is left as it was: the frame 0 re-syncs it */
    f->frame_no = 0;
    fake_push_payload(f, HOST_CERTGEN_PROMPT, strlen(HOST_CERTGEN_PROMPT));
    wait_ok(c, HOST_CERTGEN_PROMPT);
    f->frame_no = 0;
    fake_push_payload(f, HOST_CERTGEN_PROMPT, strlen(HOST_CERTGEN_PROMPT));
    const char *want[] = {"restarted at frame 0 (frame 1 was due)", NULL};
    expect_signal(c, HOST_EXPORT_PROMPT, CONSOLE_SIGNAL_RESET, want);
    fake_done(f, c);
}
END_TEST

/* A failed CHECK's log line, its pieces in frames of their own as base_printf sends them;
 * OTTF's other lines are no signal. */
START_TEST(signal_error_log_line)
{
    static const char *const said[] = {
        "I00003 ottf_main.c:40] Running ft_personalize\r\nROM_EXT noise\r\n",
        "E00000 ft_personalize.c:905] ", "CHECK-STATUS-fail: Internal:[\"FTP\",905]", "\r\n",
        "I00001 status.c:43] FAIL!\r\n"};
    struct fake_chip *f = fake_new(&fake_ops_wait);
    for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++)
        fake_push_payload(f, said[i], strlen(said[i]));
    struct console *c = watched(fake_console(f));
    /* An info log line is no signal: it comes back as is. */
    struct ft_error err = {0};
    char line[128];
    size_t n;
    ck_assert_ok(console_read_line(c, line, sizeof(line), &n, link_deadline_ms(1000), &err), err);
    ck_assert_str_eq(line, "I00003 ottf_main.c:40] Running ft_personalize\r");
    const char *error[] = {
        "the chip reported an error while \"Importing endorsed certificates ...\\n\" was awaited",
        "\"E00000 ft_personalize.c:905] CHECK-STATUS-fail: "
        "Internal:[\\\"FTP\\\",905]\"",
        NULL};
    expect_signal(c, HOST_IMPORT_PROMPT, CONSOLE_SIGNAL_ERROR, error);
    const char *fail[] = {"\"I00001 status.c:43] FAIL!\"", NULL};
    expect_signal(c, HOST_IMPORT_PROMPT, CONSOLE_SIGNAL_ERROR, fail);
    fake_done(f, c);
}
END_TEST

/* On a UART, a reset shows as the ROM banner; at open and after console_expect_reset() it
 * is expected. */
START_TEST(signal_rom_banner_on_a_uart)
{
    struct pty_pair p;
    pty_make(&p);
    struct console *c = watched(pty_console(&p));
    pty_put(&p, "OpenTitan:4001-0002-01\r\n" HOST_RMA_PROMPT);
    wait_ok(c, HOST_RMA_PROMPT);
    console_expect_reset(c);
    pty_put(&p, "OpenTitan:4001-0002-01\r\n" HOST_CERTGEN_PROMPT);
    wait_ok(c, HOST_CERTGEN_PROMPT);
    pty_put(&p, "OpenTitan:4001-0002-01\r\n");
    pty_put(&p, HOST_CERTGEN_PROMPT);
    const char *want[] = {"the chip reset while \"Exporting TBS certificates ...\\n\" was awaited",
                          "\"OpenTitan:4001-0002-01\", then \"Waiting for certificate inputs ...\"",
                          NULL};
    expect_signal(c, HOST_EXPORT_PROMPT, CONSOLE_SIGNAL_RESET, want);
    ck_assert_str_eq(console_last_signal(c)->line, "OpenTitan:4001-0002-01");
    /* Unwatched, the same banner is just text. */
    console_watch(c, NULL);
    pty_put(&p, "OpenTitan:4001-0002-01\r\n" HOST_EXPORT_PROMPT);
    wait_ok(c, HOST_EXPORT_PROMPT);
    console_close(c);
    close(p.master);
}
END_TEST

/* A chip that fails while the host waits (a wrong CRC on the RMA hash: TestError, then its
 * closing line) over ftsim's socket: on SPI the wait itself reports the pin; on its UART
 * the text ends the wait and one pin read tells TestError. */
static void send_rma_hash_with_bad_crc(struct console *c)
{
    char padded[UJSON_LC_TOKEN_HASH_SIZE + 1];
    snprintf(padded, sizeof(padded), "{\"hash\":[1,2]%*s}",
             (int)(UJSON_LC_TOKEN_HASH_SIZE - strlen("{\"hash\":[1,2]}")), "");
    struct ft_error err = {0};
    ck_assert_ok(
        console_write(c, padded, UJSON_LC_TOKEN_HASH_SIZE, link_deadline_ms(STEP_MS), &err), err);
    ck_assert_ok(console_write(c, "{\"crc\":12345     }", 18, link_deadline_ms(STEP_MS), &err),
                 err);
}

START_TEST(ftsim_signal_test_error)
{
    struct sim_spi s;
    sim_spi_open(&s, NULL);
    watched(s.c);
    wait_ok(s.c, HOST_RMA_PROMPT);
    send_rma_hash_with_bad_crc(s.c);
    const char *want[] = {"TestError (IOA0)", LAST_WORDS, NULL};
    expect_signal(s.c, HOST_CERTGEN_PROMPT, CONSOLE_SIGNAL_TEST_ERROR, want);
    sim_spi_close(&s);

    struct ftsim proc;
    const char *opts[] = {"--console", "uart", NULL};
    ftsim_start(&proc, true, opts);
    struct ft_error err = {0};
    struct simsock *sock = simsock_open(proc.sock, &err);
    ck_assert_msg(sock != NULL, "%s", err.message);
    struct console *c = watched(console_open_sim_uart(sock, &err));
    ck_assert_msg(c != NULL, "%s", err.message);
    wait_ok(c, HOST_RMA_PROMPT);
    send_rma_hash_with_bad_crc(c);
    /* Mostly the text comes first (the pin is read once then); a pin look between the two
     * reports TestError first. Either way both are named. */
    const char *text[] = {LAST_WORDS, "TestError (IOA0)", NULL};
    expect_signal(c, HOST_CERTGEN_PROMPT, CONSOLE_SIGNAL_NONE, text);
    ck_assert(console_last_signal(c)->test_error);
    console_close(c);
    simsock_close(sock);
    ftsim_stop(&proc);
}
END_TEST

/* ftsim's reset fault: the frame counter on its socket, the ROM banner on its pty. */
START_TEST(ftsim_signal_reset)
{
    struct sim_spi s;
    sim_spi_open(&s, "reset=export");
    watched(s.c);
    run_rma(s.c);
    wait_ok(s.c, HOST_CERTGEN_PROMPT);
    send_certgen_inputs(s.c);
    const char *spi[] = {"restarted at frame 0", "then \"Waiting for certificate inputs ...\"",
                         NULL};
    expect_signal(s.c, HOST_EXPORT_PROMPT, CONSOLE_SIGNAL_RESET, spi);
    sim_spi_close(&s);

    struct ftsim proc;
    struct console *c = watched(open_pty_console(&proc, "reset=export"));
    run_rma(c);
    wait_ok(c, HOST_CERTGEN_PROMPT);
    send_certgen_inputs(c);
    const char *uart[] = {"\"OpenTitan:4001-0002-01\", then \"Waiting for certificate inputs ...\"",
                          NULL};
    expect_signal(c, HOST_EXPORT_PROMPT, CONSOLE_SIGNAL_RESET, uart);
    console_close(c);
    ftsim_stop(&proc);
}
END_TEST

static Suite *console_suite(void)
{
    Suite *s = suite_create("console");
    TCase *fake = tcase_create("spi_scripted");
    tcase_add_test(fake, spi_sync_string_across_every_frame_boundary);
    tcase_add_test(fake, spi_one_byte_frames_and_log_line_form);
    tcase_add_test(fake, spi_junk_and_wrong_numbers_are_ignored_and_counted);
    tcase_add_test(fake, spi_round_trips_per_frame);
    tcase_add_test(fake, spi_long_resp_ok_line_across_frames);
    tcase_add_test(fake, spi_timeout_names_text_deadline_and_recent_bytes);
    tcase_add_test(fake, spi_polled_tx_ready_times_out_at_the_deadline);
    tcase_add_test(fake, spi_frame_counter_reset);
    tcase_add_test(fake, spi_empty_frame_still_gets_its_payload_read);
    tcase_add_test(fake, spi_upload_chunks_and_terminator);
    tcase_add_test(fake, spi_upload_busy_stuck_times_out);
    tcase_add_test(fake, spi_chip_reset_drives_pins_and_forgets_old_text);
    tcase_add_test(fake, spi_bus_too_small_or_bad_arguments);
    suite_add_tcase(s, fake);

    TCase *model = tcase_create("model");
    tcase_set_timeout(model, 120);
    tcase_add_test(model, model_spi_flow_gpio_wait);
    tcase_add_test(model, model_spi_flow_polled_batched);
    tcase_add_test(model, model_spi_chip_reset);
    suite_add_tcase(s, model);

    TCase *sim = tcase_create("ftsim");
    tcase_set_timeout(sim, 120);
    tcase_add_test(sim, ftsim_spi_flow);
    tcase_add_test(sim, ftsim_spi_junk_frames_ignored);
    tcase_add_test(sim, ftsim_spi_wrong_frame_number_times_out);
    tcase_add_test(sim, ftsim_spi_stall_times_out_within_deadline);
    tcase_add_test(sim, ftsim_spi_disconnect_is_connect_error);
    tcase_add_test(sim, ftsim_spi_chip_reset_and_straps);
    tcase_add_test(sim, ftsim_socket_uart_flow);
    tcase_add_test(sim, ftsim_pty_flow);
    tcase_add_test(sim, ftsim_pty_stall_times_out_within_deadline);
    tcase_add_test(sim, ftsim_pty_disconnect_is_connect_error);
    suite_add_tcase(s, sim);

    TCase *tty = tcase_create("uart_pty");
    tcase_add_test(tty, pty_sync_strings_bare_and_log_line);
    tcase_add_test(tty, pty_output_pending_before_open_is_kept);
    tcase_add_test(tty, pty_xon_xoff);
    tcase_add_test(tty, pty_hangup_is_connect_error);
    tcase_add_test(tty, tty_open_failures);
    suite_add_tcase(s, tty);

    TCase *sock = tcase_create("simsock");
    tcase_add_test(sock, simsock_rejects_malformed_replies);
    tcase_add_test(sock, simsock_xfer_reply_length_checked);
    tcase_add_test(sock, simsock_connect_failure_names_socket);
    suite_add_tcase(s, sock);

    TCase *sig = tcase_create("signals");
    tcase_set_timeout(sig, 120);
    tcase_add_test(sig, signal_last_words_before_the_awaited_text);
    tcase_add_test(sig, signal_awaited_last_words_are_no_signal);
    tcase_add_test(sig, signal_after_the_awaited_text_stays_pending);
    tcase_add_test(sig, signal_test_error_pin);
    tcase_add_test(sig, signal_frame_counter_restart);
    tcase_add_test(sig, signal_expected_reset_passes);
    tcase_add_test(sig, signal_error_log_line);
    tcase_add_test(sig, signal_rom_banner_on_a_uart);
    tcase_add_test(sig, ftsim_signal_test_error);
    tcase_add_test(sig, ftsim_signal_reset);
    suite_add_tcase(s, sig);
    return s;
}

FT_TEST_MAIN(console_suite)
