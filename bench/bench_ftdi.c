/* The SPI console over the harness's FTDI backend (ftdi_spi over the real libftdi1 +
 * libusb) against an emulated FT2232H (tests/usb/ftdi_emu, under umockdev) with ftsim's
 * chip model on channel A (timing zero), in one run:
 *   - N DUT-equivalents, each a fresh chip model reset through RESET_N, then the flow up
 *     to and including the TBS export (the 20 KiB PersoBlob line) and the 20535-byte
 *     PersoBlob import message written back with console_write;
 *   - USB round trips per device frame and per DUT (console stats, and the emulator's
 *     bulk-OUT / bulk-IN transfers), bytes on the USB each way, console payload moved;
 *   - a model of the time on real hardware at several SPI clocks, for our batching and
 *     for a baseline that does one USB round trip per operation, and their ratios.
 * Every count comes from this run; only the model's constants (the micro-frame, the
 * clocks) are parameters. Usage: bench_ftdi [DUTS]. Exits 77 when the process is not
 * under umockdev's preload library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "console/console.h"
#include "ftdi_chip.h"
#include "ftdi_emu.h"
#include "host_steps.h"
#include "link/ftdi_spi.h"
#include "link/spi_bus.h"
#include "wire/devmsg.h"
#include "wire/resp.h"
#include "wire/ujson.h"

#define STEP_MS 20000u
#define DUTS_DEFAULT 5u

/* The model: every USB exchange costs one high-speed micro-frame (the host controller
 * schedules a transfer at most once per 125 us: a reply is at best one micro-frame after
 * its command), and the SPI bytes are clocked at the bus clock. USB bytes themselves are
 * left out: at 480 Mbit/s they cost under 2 % of their SPI time even at 30 MHz. */
#define MICROFRAME_S 125e-6
static const double CLOCKS_HZ[] = {8e6, 15e6, 30e6};
#define N_CLOCKS (sizeof(CLOCKS_HZ) / sizeof(CLOCKS_HZ[0]))

static void die(const char *what, const struct ft_error *err)
{
    if (err != NULL)
        fprintf(stderr, "bench_ftdi: %s: %s\n", what, err->message);
    else
        fprintf(stderr, "bench_ftdi: %s\n", what);
    exit(1);
}

/* ---- operations below the console, counted by a pass-through spi_bus ----------------- */

/* The spi_bus ops the console issued, as the one-round-trip-per-operation baseline needs
 * them. A transaction is one CS-framed xfer, alone or inside a batch. */
struct op_counts {
    uint64_t gpio_reads;  /* pin reads, and waits for TX-ready (see baseline_round_trips) */
    uint64_t gpio_writes; /* pin changes that reached the adapter */
    uint64_t reads;       /* transactions with a reply: READ, READ_STATUS */
    uint64_t writes;      /* transactions without one: WREN, PAGE_PROGRAM */
    uint64_t spi_bytes;   /* bytes clocked on SPI (full duplex: counted once) */
    uint64_t idle_ns;     /* idle time asked for before transactions (clocks without data) */
    uint64_t exchanges;   /* adapter round trips, as the backend counts them */
};

struct counting_bus {
    struct spi_bus bus; /* what the console sees; first member */
    struct spi_bus_ops ops;
    struct spi_bus *inner;
    struct op_counts n;
};

static struct counting_bus *counting_of(struct spi_bus *bus)
{
    return (struct counting_bus *)bus;
}

static void count_xfer(struct counting_bus *cb, const struct spi_bus_xfer *x)
{
    if (x->miso != NULL)
        cb->n.reads++;
    else
        cb->n.writes++;
    cb->n.spi_bytes += x->len;
    cb->n.idle_ns += x->idle_ns_before;
}

static int passed(struct counting_bus *cb, uint64_t before, int rc)
{
    cb->n.exchanges += cb->inner->round_trips - before;
    cb->bus.round_trips = cb->inner->round_trips;
    return rc;
}

static int cnt_xfer(struct spi_bus *bus, const uint8_t *mosi, uint8_t *miso, size_t len,
                    struct ft_error *err)
{
    struct counting_bus *cb = counting_of(bus);
    const struct spi_bus_xfer x = {.mosi = mosi, .miso = miso, .len = len};
    count_xfer(cb, &x);
    uint64_t before = cb->inner->round_trips;
    return passed(cb, before, cb->inner->ops->xfer(cb->inner, mosi, miso, len, err));
}

static int cnt_xfer_batch(struct spi_bus *bus, const struct spi_bus_xfer *xfers, size_t n,
                          struct ft_error *err)
{
    struct counting_bus *cb = counting_of(bus);
    for (size_t i = 0; i < n; i++)
        count_xfer(cb, &xfers[i]);
    uint64_t before = cb->inner->round_trips;
    return passed(cb, before, cb->inner->ops->xfer_batch(cb->inner, xfers, n, err));
}

static int cnt_gpio_read(struct spi_bus *bus, uint32_t *pins, struct ft_error *err)
{
    struct counting_bus *cb = counting_of(bus);
    cb->n.gpio_reads++;
    uint64_t before = cb->inner->round_trips;
    return passed(cb, before, cb->inner->ops->gpio_read(cb->inner, pins, err));
}

/* The reads behind a TX-ready wait (the header, and the payload with it while the export
 * streams): their read transactions and one pin read. */
static int cnt_xfer_when(struct spi_bus *bus, uint32_t mask, uint32_t value, uint64_t deadline_ns,
                         const struct spi_bus_xfer *x, size_t n, struct ft_error *err)
{
    struct counting_bus *cb = counting_of(bus);
    cb->n.gpio_reads++;
    for (size_t i = 0; i < n; i++)
        count_xfer(cb, &x[i]);
    uint64_t before = cb->inner->round_trips;
    return passed(cb, before,
                  cb->inner->ops->xfer_when(cb->inner, mask, value, deadline_ns, x, n, err));
}

static int cnt_gpio_write(struct spi_bus *bus, uint32_t mask, uint32_t value, struct ft_error *err)
{
    struct counting_bus *cb = counting_of(bus);
    uint64_t before = cb->inner->round_trips;
    int rc = cb->inner->ops->gpio_write(cb->inner, mask, value, err);
    if (cb->inner->round_trips != before) /* unchanged pins cost nothing */
        cb->n.gpio_writes++;
    return passed(cb, before, rc);
}

static void cnt_close(struct spi_bus *bus)
{
    (void)bus; /* the link is the bench's: ftdi_spi_close */
}

static const struct spi_bus_ops COUNTING_OPS = {
    .xfer = cnt_xfer,
    .xfer_batch = cnt_xfer_batch,
    .gpio_read = cnt_gpio_read,
    .gpio_write = cnt_gpio_write,
    .xfer_when = cnt_xfer_when,
    .close = cnt_close,
};

/* Offers what `inner` offers (the console only waits through xfer_when). */
static void counting_wrap(struct counting_bus *cb, struct spi_bus *inner)
{
    memset(cb, 0, sizeof(*cb));
    cb->ops = COUNTING_OPS;
    if (inner->ops->xfer_batch == NULL)
        cb->ops.xfer_batch = NULL;
    if (inner->ops->xfer_when == NULL)
        cb->ops.xfer_when = NULL;
    cb->inner = inner;
    cb->bus.ops = &cb->ops;
    cb->bus.impl = cb;
    cb->bus.name = inner->name;
    cb->bus.max_xfer = inner->max_xfer;
    cb->bus.round_trips = inner->round_trips;
}

/* Baseline counting rule (one USB round trip per operation, as a transport that drives
 * CS as a separate GPIO and issues each SPI write and read as its own USB exchange does,
 * e.g. ftdi-embedded-hal under OpenTitan's FTDI transport, reference §4.7):
 *   - a transaction with a reply (header READ, payload READ, READ_STATUS): 4 = CS assert,
 *     command write, data read, CS deassert;
 *   - a transaction without one (WREN, PAGE_PROGRAM): 3 = CS assert, write, CS deassert;
 *   - each GPIO poll and each pin change (RESET_N, straps): 1; a TX-ready wait that ours
 *     does in the adapter counts as one poll, the fewest a polling host needs (the pin is
 *     already high), so the baseline is not charged for time the chip takes.
 * Batches buy nothing: each of their transactions is counted alone. The operations are
 * the ones this run issued (same status polls), so only the grouping into USB exchanges
 * differs between the two. */
static uint64_t baseline_round_trips(const struct op_counts *n)
{
    return 4 * n->reads + 3 * n->writes + n->gpio_reads + n->gpio_writes;
}

/* ---- one DUT ----------------------------------------------------------------------------- */

struct dut_sample {
    struct console_stats st;
    struct op_counts ops;
    struct ftdi_emu_counters usb;
    uint64_t blob_frames, blob_round_trips; /* during the TBS export line */
    uint64_t blob_baseline;                 /* the baseline's round trips for the same */
    size_t import_bytes;
};

static struct ftdi_chip chip; /* large: not on the stack */
static struct perso_blob blob;
static char line[RESP_LINE_MAX + 1];
static char import_msg[UJSON_PERSO_BLOB_SIZE + 64];

static void wait_for(struct console *con, const char *text)
{
    struct ft_error err = {0};
    if (console_wait_for(con, text, link_deadline_ms(STEP_MS), &err) != 0)
        die(text, &err);
}

static void write_msg(struct console *con, const char *what, const char *buf, size_t len)
{
    struct ft_error err = {0};
    if (console_write(con, buf, len, link_deadline_ms(STEP_MS), &err) != 0)
        die(what, &err);
}

static void send_rma_token_hash(struct console *con)
{
    struct ft_error err = {0};
    if (host_send_rma_token_hash(con, STEP_MS, &err) != 0)
        die("token hash", &err);
}

static void send_certgen_inputs(struct console *con)
{
    struct ft_error err = {0};
    if (host_send_certgen_inputs(con, STEP_MS, &err) != 0)
        die("certgen inputs", &err);
}

/* Reads the TBS export line into `blob`; counts its frames and round trips. */
static void read_blob(struct console *con, const struct counting_bus *cb, struct dut_sample *s)
{
    struct console_stats before, after;
    struct ft_error err = {0};
    uint64_t baseline_before = baseline_round_trips(&cb->n);
    console_get_stats(con, &before);
    if (host_read_blob(con, line, sizeof(line), &blob, STEP_MS, &err) != 0)
        die("TBS export", &err);
    console_get_stats(con, &after);
    s->blob_frames = after.frames - before.frames;
    s->blob_round_trips = after.round_trips - before.round_trips;
    s->blob_baseline = baseline_round_trips(&cb->n) - baseline_before;
}

/* The import message: the exported blob written back in host form, padded to 20535 bytes
 * as every PersoBlob message is. The chip reads it whole (what is measured here) and then
 * rejects the TBS objects in it; the DUT ends there. */
static void send_import(struct console *con, struct dut_sample *s)
{
    struct strbuf sb;
    struct ft_error err = {0};
    wait_for(con, HOST_IMPORT_PROMPT);
    strbuf_init(&sb, import_msg, sizeof(import_msg));
    if (ujson_perso_blob(&sb, &blob, UJSON_HOST_FORM, &err) != 0)
        die("import message", &err);
    write_msg(con, "import message", import_msg, sb.len);
    s->import_bytes = sb.len;
}

/* `all_whole`: every frame read whole (header and largest payload in one exchange), not
 * only the TBS export's, to measure what that costs on the short frames. */
static void run_dut(struct ftdi_emu *emu, struct spi_bus *link_bus, const struct sim_config *cfg,
                    bool all_whole, struct dut_sample *s)
{
    struct ft_error err = {0};
    if (ftdi_chip_attach(&chip, emu, 0, cfg, NULL, &err) != 0)
        die("chip model", &err);
    struct counting_bus cb;
    counting_wrap(&cb, link_bus);
    ftdi_emu_reset_counters(emu);
    struct console *con = console_open_spi(&cb.bus, &err);
    if (con == NULL || console_chip_reset(con, false, &err) != 0)
        die("console", &err);
    console_expect_bulk(con, all_whole);
    wait_for(con, HOST_RMA_PROMPT);
    send_rma_token_hash(con);
    console_reset_frames(con); /* the chip resets itself after writing SECRET2 */
    wait_for(con, HOST_CERTGEN_PROMPT);
    send_certgen_inputs(con);
    wait_for(con, HOST_EXPORT_PROMPT);
    read_blob(con, &cb, s);
    console_expect_bulk(con, all_whole); /* host_read_blob turned it off */
    send_import(con, s);
    console_get_stats(con, &s->st);
    ftdi_emu_get_counters(emu, &s->usb);
    s->ops = cb.n;
    console_close(con);
    ftdi_chip_detach(&chip);
    if (s->ops.exchanges != s->st.round_trips)
        die("the counting bus and the console disagree on round trips", NULL);
}

/* ---- report -------------------------------------------------------------------------------- */

struct totals {
    double frames, blob_frames, blob_rt, blob_base_rt, rt, base_rt, bulk_out, bulk_in, out_bytes,
        in_bytes;
    double in_payload, payload_in, payload_out, spi_bytes, polls, gpio_reads, chunks;
    double import_bytes, idle_s;
};

static void add(struct totals *t, const struct dut_sample *s)
{
    t->frames += (double)s->st.frames;
    t->blob_frames += (double)s->blob_frames;
    t->blob_rt += (double)s->blob_round_trips;
    t->blob_base_rt += (double)s->blob_baseline;
    t->rt += (double)s->st.round_trips;
    t->base_rt += (double)baseline_round_trips(&s->ops);
    t->bulk_out += (double)s->usb.bulk_out;
    t->bulk_in += (double)s->usb.bulk_in;
    t->out_bytes += (double)s->usb.out_bytes;
    t->in_bytes += (double)s->usb.in_bytes;
    t->in_payload += (double)s->usb.in_payload_bytes;
    t->payload_in += (double)s->st.bytes_in;
    t->payload_out += (double)s->st.bytes_out;
    t->spi_bytes += (double)s->ops.spi_bytes;
    t->polls += (double)s->st.status_polls;
    t->gpio_reads += (double)s->ops.gpio_reads;
    t->chunks += (double)s->st.upload_chunks;
    t->import_bytes += (double)s->import_bytes;
    t->idle_s += (double)s->ops.idle_ns / 1e9;
}

/* Modelled seconds for `rt` USB round trips, `spi_bytes` clocked at `hz` and `idle_s` of
 * clocks without data. */
static double model_s(double rt, double spi_bytes, double idle_s, double hz)
{
    return rt * MICROFRAME_S + spi_bytes * 8.0 / hz + idle_s;
}

static void report_counts(const struct totals *t, unsigned duts)
{
    const double d = duts;
    printf("  per DUT: %.0f frames (%.0f in the TBS export), %.0f upload chunks, %.0f status "
           "polls, %.0f TX-ready waits and pin reads, %.0f us idle before status reads\n",
           t->frames / d, t->blob_frames / d, t->chunks / d, t->polls / d, t->gpio_reads / d,
           t->idle_s / d * 1e6);
    printf("  payload per DUT: %.0f bytes in (device->host), %.0f out (host->device, import "
           "message %.0f)\n",
           t->payload_in / d, t->payload_out / d, t->import_bytes / d);
    printf("  USB per DUT: %.0f bulk-OUT (%.0f bytes), %.0f bulk-IN (%.0f bytes, %.0f data); "
           "SPI clocked %.0f bytes\n",
           t->bulk_out / d, t->out_bytes / d, t->bulk_in / d, t->in_bytes / d, t->in_payload / d,
           t->spi_bytes / d);
    /* "per frame": all of a DUT's round trips (uploads, resets included) over its frames;
     * "per export frame": only those spent reading the TBS export line. */
    printf("  round trips            per DUT   per frame   per export frame\n");
    printf("    ours (console)     %9.0f   %9.2f   %9.2f\n", t->rt / d, t->rt / t->frames,
           t->blob_rt / t->blob_frames);
    printf("    USB bulk-OUT       %9.0f   %9.2f\n", t->bulk_out / d, t->bulk_out / t->frames);
    printf("    USB bulk-IN        %9.0f   %9.2f\n", t->bulk_in / d, t->bulk_in / t->frames);
    printf("    baseline (1/op)    %9.0f   %9.2f   %9.2f\n", t->base_rt / d, t->base_rt / t->frames,
           t->blob_base_rt / t->blob_frames);
    printf("    ratio baseline/ours %8.2f   %9.2f   %9.2f\n", t->base_rt / t->rt,
           t->base_rt / t->rt, t->blob_base_rt / t->blob_rt);
    /* With a batching bus each chunk's first status read rides with its page program:
     * an upload's round trips are its status reads. */
    printf("  round trips per export frame %.2f, per upload chunk %.2f, per DUT %.2f x "
           "(frames + chunks)\n",
           t->blob_rt / t->blob_frames, t->polls / t->chunks, t->rt / (t->frames + t->chunks));
}

static void report_model(const struct totals *t, unsigned duts)
{
    const double d = duts;
    const double payload = (t->payload_in + t->payload_out) / d;
    const double spi = t->spi_bytes / d;
    /* The floor the console can reach: one round trip per frame and per chunk, no idle. */
    const double floor_rt = (t->frames + t->chunks) / d;
    printf("  model: %.0f us per USB round trip + SPI bytes at the clock + idle clocks; payload "
           "%.0f bytes per DUT\n",
           MICROFRAME_S * 1e6, payload);
    printf("    SPI clock   wire limit   ours: s/DUT   kB/s  of limit   baseline: s/DUT   "
           "of limit   ours/baseline   floor: of limit\n");
    for (size_t i = 0; i < N_CLOCKS; i++) {
        const double hz = CLOCKS_HZ[i];
        const double limit_s = payload * 8.0 / hz;
        const double ours_s = model_s(t->rt / d, spi, t->idle_s / d, hz);
        const double base_s = model_s(t->base_rt / d, spi, 0, hz);
        const double floor_s = model_s(floor_rt, spi, 0, hz);
        printf("    %5.1f MHz   %6.0f kB/s   %9.3f  %7.1f  %6.3f   %13.3f   %6.3f   %13.2f   "
               "%11.3f\n",
               hz / 1e6, hz / 8.0 / 1e3, ours_s, payload / ours_s / 1e3, limit_s / ours_s, base_s,
               limit_s / base_s, base_s / ours_s, limit_s / floor_s);
    }
}

/* Runs `duts` DUTs and prints their figures; returns the totals. */
static struct totals run_variant(struct ftdi_emu *emu, struct spi_bus *bus,
                                 const struct sim_config *cfg, unsigned duts, bool all_whole,
                                 const char *what)
{
    struct totals t = {0};
    uint64_t start = link_now_ns();
    for (unsigned i = 0; i < duts; i++) {
        struct dut_sample s = {0};
        run_dut(emu, bus, cfg, all_whole, &s);
        add(&t, &s);
    }
    double wall_s = (double)(link_now_ns() - start) / 1e9;
    printf("%s, %u DUTs\n", what, duts);
    report_counts(&t, duts);
    report_model(&t, duts);
    printf("  emulated run: %.2f s per DUT wall clock (not a hardware figure)\n", wall_s / duts);
    return t;
}

int main(int argc, char **argv)
{
    unsigned duts = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : DUTS_DEFAULT;
    if (duts == 0) {
        fprintf(stderr, "usage: bench_ftdi [DUTS]\n");
        return 2;
    }
    const char *why;
    if (!ftdi_emu_available(&why)) {
        printf("SKIP: %s\n", why);
        return 77;
    }
    /* The testbed before the first libusb_init (ftdi_spi_open). */
    struct ftdi_emu_testbed *tb = ftdi_emu_testbed_new();
    struct ftdi_emu *emu = tb ? ftdi_emu_add(tb, FTDI_EMU_FT2232H, "FTA1") : NULL;
    if (emu == NULL)
        die("umockdev testbed", NULL);
    struct sim_config cfg;
    sim_config_defaults(&cfg);
    struct ft_error err = {0};
    if (sim_config_set_timing(&cfg, "zero", &err) != 0)
        die("timing", &err);
    cfg.console = SIM_CONSOLE_SPI;
    const struct ftdi_spi_config lc = {.serial = "FTA1", .channel = 'A'};
    struct ftdi_spi *link = ftdi_spi_open(&lc, &err);
    if (link == NULL)
        die("ftdi_spi_open", &err);

    printf("SPI console over ftdi_spi + libftdi1 + libusb, emulated FT2232H + chip model\n");
    const struct totals ours = run_variant(emu, ftdi_spi_bus(link), &cfg, duts, false,
                                           "As shipped: the TBS export's frames read whole, the "
                                           "others header first");
    const struct totals whole = run_variant(emu, ftdi_spi_bus(link), &cfg, duts, true,
                                            "Every frame read whole (header and 2036-byte "
                                            "payload in one exchange)");
    /* Short frames: what reading them whole saves in round trips against what it adds in
     * SPI clocking, at each clock. The uploads are the same in both: their round trips
     * (status reads) and idle time are left out. */
    printf("Frames outside the export: header first vs whole, modelled s per DUT\n");
    for (size_t i = 0; i < N_CLOCKS; i++) {
        const double d = duts;
        double a = model_s((ours.rt - ours.polls) / d, ours.spi_bytes / d, 0, CLOCKS_HZ[i]);
        double b = model_s((whole.rt - whole.polls) / d, whole.spi_bytes / d, 0, CLOCKS_HZ[i]);
        printf("    %5.1f MHz   header first %.4f   whole %.4f   whole/header first %.3f\n",
               CLOCKS_HZ[i] / 1e6, a, b, b / a);
    }

    ftdi_spi_close(link); /* libusb_exit before the testbed goes */
    ftdi_emu_testbed_free(tb);
    return 0;
}
