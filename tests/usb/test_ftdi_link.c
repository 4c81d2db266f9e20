/* The harness's FTDI MPSSE backend (ftdi_spi over the real libftdi1 + libusb) and the SPI
 * console over it, against emulated adapters (ftdi_emu) with ftsim's chip model wired to
 * FTA1 channel A by the default pin map (ftdi_chip).
 *
 * Every test runs in its own Check child with a fresh testbed: an FT2232H "FTA1" carrying
 * the chip and an FT4232H "FTB2" with nothing attached. The testbed is created before
 * ftdi_spi_open (which starts libusb): umockdev 0.17 races when libusb starts before the
 * handlers exist. Every wait is a deadline; nothing sleeps. Exits 77 when the process is
 * not under umockdev's preload library. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "console/console.h"
#include "ftdi_chip.h"
#include "ftdi_emu.h"
#include "ftdi_rig.h"
#include "host_steps.h"
#include "link/ftdi_spi.h"
#include "link/spi_bus.h"
#include "testutil.h"
#include "wire/devmsg.h"
#include "wire/resp.h"
#include "wire/ujson.h"

#define STEP_MS 20000u  /* any device step with --timing zero, with sanitizers */
#define UNPLUG_MS 3000u /* an unplugged adapter must be reported within this */

static struct ftdi_rig rig; /* large: not on the stack */
static struct ftdi_spi *link_;
static struct console *con;

static void setup(void)
{
    struct ft_error err = {0};
    ck_assert_ok(ftdi_rig_start(&rig, SIM_CONSOLE_SPI, NULL, &err), err);
}

/* The chip sends a frame with a bad magic before every frame of the TBS export. */
static void setup_junk(void)
{
    struct ft_error err = {0};
    ck_assert_ok(ftdi_rig_start(&rig, SIM_CONSOLE_SPI, "junk-frames=export", &err), err);
}

static void teardown(void)
{
    if (con != NULL)
        console_close(con);
    con = NULL;
    ftdi_spi_close(link_); /* libusb_exit before the testbed goes */
    link_ = NULL;
    ftdi_rig_stop(&rig);
}

static struct ftdi_spi *open_serial(const char *serial, char channel,
                                    const struct ftdi_pin_map *pins, struct ft_error *err)
{
    const struct ftdi_spi_config cfg = {.serial = serial, .channel = channel, .pins = pins};
    return ftdi_spi_open(&cfg, err);
}

/* FTA1 channel A and the SPI console on it. */
static void open_console(void)
{
    struct ft_error err = {0};
    link_ = open_serial("FTA1", 'A', NULL, &err);
    ck_assert_msg(link_ != NULL, "%s", err.message);
    con = console_open_spi(ftdi_spi_bus(link_), &err);
    ck_assert_msg(con != NULL, "%s", err.message);
}

static void wait_ok(const char *text)
{
    struct ft_error err = {0};
    ck_assert_ok(console_wait_for(con, text, link_deadline_ms(STEP_MS), &err), err);
}

static void send_certgen_inputs(void)
{
    struct ft_error err = {0};
    ck_assert_ok(host_send_certgen_inputs(con, STEP_MS, &err), err);
}

static void read_blob(void)
{
    static char line[RESP_LINE_MAX + 1];
    struct perso_blob blob;
    struct ft_error err = {0};
    ck_assert_ok(host_read_blob(con, line, sizeof(line), &blob, STEP_MS, &err), err);
    ck_assert_uint_ge(blob.num_objs, 3);
}

/* Opens the console and takes the chip to its TBS export. */
static void to_export_prompt(void)
{
    open_console();
    struct ft_error err = {0};
    wait_ok(HOST_RMA_PROMPT);
    ck_assert_ok(host_send_rma_token_hash(con, STEP_MS, &err), err);
    console_reset_frames(con); /* the chip resets itself after writing SECRET2 */
    wait_ok(HOST_CERTGEN_PROMPT);
    send_certgen_inputs();
    wait_ok(HOST_EXPORT_PROMPT);
}

static void print_stats(const char *what, double per_frame)
{
    struct console_stats st;
    console_get_stats(con, &st);
    struct ftdi_emu_counters usb;
    ftdi_emu_get_counters(rig.fta1, &usb);
    printf("# %s: %llu frames, %llu bytes in, %llu out, %llu chunks, %llu status polls, %llu "
           "round trips (%.2f per frame; %.2f per blob frame); USB %lu bulk-out, %lu bulk-in\n",
           what, (unsigned long long)st.frames, (unsigned long long)st.bytes_in,
           (unsigned long long)st.bytes_out, (unsigned long long)st.upload_chunks,
           (unsigned long long)st.status_polls, (unsigned long long)st.round_trips,
           st.frames ? (double)st.round_trips / (double)st.frames : 0.0, per_frame, usb.bulk_out,
           usb.bulk_in);
    fflush(stdout);
}

/* ---- opening ---------------------------------------------------------------------------- */

START_TEST(test_open_by_serial)
{
    struct ft_error err = {0};
    link_ = open_serial("FTA1", 'A', NULL, &err);
    ck_assert_msg(link_ != NULL, "%s", err.message);
    struct spi_bus *bus = ftdi_spi_bus(link_);
    ck_assert_msg(strstr(bus->name, "FT2232H serial 'FTA1'") != NULL, "%s", bus->name);
    ck_assert_uint_eq(ftdi_spi_clock_hz(link_), FTDI_SPI_DEFAULT_HZ);
    struct ftdi_emu_channel_state st;
    ftdi_emu_get_channel_state(rig.fta1, 0, &st);
    ck_assert_uint_eq(st.bitmode, 0x02); /* MPSSE */
    ck_assert_uint_eq(st.low_dir & 0x0f, 0x0b);
    ck_assert(!st.cs_asserted);
    struct ftdi_emu_counters other;
    ftdi_emu_get_counters(rig.ftb2, &other);
    ck_assert_uint_eq(other.bulk_out + other.bulk_in, 0); /* only read for its strings */
    ftdi_spi_close(link_);

    /* The FT4232H by serial on channel B, with a map that has no high byte. */
    struct ftdi_pin_map low_only = {0};
    low_only.pin[3] = (struct ftdi_pin){FTDI_PORT_LOW, 5}; /* TX_READY */
    low_only.pin[4] = (struct ftdi_pin){FTDI_PORT_LOW, 4}; /* RX_READY */
    link_ = open_serial("FTB2", 'B', &low_only, &err);
    ck_assert_msg(link_ != NULL, "%s", err.message);
    ck_assert_msg(strstr(ftdi_spi_bus(link_)->name, "FT4232H serial 'FTB2'") != NULL, "%s",
                  ftdi_spi_bus(link_)->name);
    ftdi_emu_get_channel_state(rig.ftb2, 1, &st);
    ck_assert_uint_eq(st.bitmode, 0x02);
}
END_TEST

START_TEST(test_not_found_lists_adapters)
{
    struct ft_error err = {0};
    ck_assert_ptr_null(open_serial("NOPE", 'A', NULL, &err));
    ck_assert_error(err, FT_E_CONNECT, "no adapter matches serial 'NOPE'");
    ck_assert_error(err, FT_E_CONNECT, "FT2232H serial 'FTA1'");
    ck_assert_error(err, FT_E_CONNECT, "FT4232H serial 'FTB2'");
    printf("# not found: %s\n", err.message);
}
END_TEST

/* A channel that a driver or another program holds: the message says what to check. */
START_TEST(test_busy_channel_is_explained)
{
    struct ft_error err = {0};
    ftdi_emu_claim_busy(rig.fta1, true);
    ck_assert_ptr_null(open_serial("FTA1", 'A', NULL, &err));
    ck_assert_error(err, FT_E_CONNECT, "channel A is busy");
    ck_assert_error(err, FT_E_CONNECT, "ftdi_sio");
    ftdi_emu_claim_busy(rig.fta1, false);
    link_ = open_serial("FTA1", 'A', NULL, &err);
    ck_assert_msg(link_ != NULL, "%s", err.message);
}
END_TEST

/* ---- the console over the adapter --------------------------------------------------------- */

START_TEST(test_console_to_rma_prompt)
{
    open_console();
    wait_ok(HOST_RMA_PROMPT);
    print_stats("FTA1 to the RMA prompt", 0);
    struct console_stats st;
    console_get_stats(con, &st);
    ck_assert_uint_gt(st.frames, 0);
    ck_assert_uint_eq(st.junk_frames + st.wrong_frame_numbers, 0);
}
END_TEST

START_TEST(test_console_to_export)
{
    to_export_prompt();
    struct console_stats before, after;
    console_get_stats(con, &before);
    read_blob();
    console_get_stats(con, &after);
    ck_assert_uint_gt(after.frames, before.frames);
    double per_frame =
        (double)(after.round_trips - before.round_trips) / (double)(after.frames - before.frames);
    print_stats("FTA1 through the TBS export", per_frame);
    ck_assert_uint_ge(after.frames, 12);
    ck_assert_uint_eq(after.junk_frames + after.wrong_frame_numbers, 0);
    /* The adapter's TX-ready wait, the header READ and the largest payload READ in one
     * exchange per frame. */
    ck_assert_msg(per_frame >= 1.0 && per_frame < 1.05, "%.2f round trips per frame", per_frame);
}
END_TEST

/* Each export frame comes after a junk one. A header that fails its checks in a whole
 * read is dropped with the payload read beside it (the chip counted its 4 edges and sends
 * the real frame next); the export arrives intact, at one exchange per frame read. */
START_TEST(test_export_with_junk_frames)
{
    to_export_prompt();
    struct console_stats before, after;
    console_get_stats(con, &before);
    read_blob();
    console_get_stats(con, &after);
    uint64_t frames = after.frames - before.frames, junk = after.junk_frames - before.junk_frames;
    print_stats("FTA1 through the TBS export, a junk frame before each", 0);
    ck_assert_uint_ge(frames, 10);
    ck_assert_uint_eq(junk, frames);
    ck_assert_uint_eq(after.round_trips - before.round_trips, frames + junk);
}
END_TEST

/* console_chip_reset drives RESET_N (ACBUS0) low and high through the adapter: the model
 * sees the pulse and boots again from frame 0. */
START_TEST(test_chip_reset_reaches_model)
{
    open_console();
    wait_ok(HOST_RMA_PROMPT);
    unsigned long before = ftdi_chip_resets(&rig.chip);
    struct ft_error err = {0};
    ck_assert_ok(console_chip_reset(con, false, &err), err);
    ck_assert_uint_eq(ftdi_chip_resets(&rig.chip), before + 1);
    struct ftdi_emu_channel_state st;
    ftdi_emu_get_channel_state(rig.fta1, 0, &st);
    ck_assert_uint_eq(st.high_dir & 0x0f, 0x0f);   /* RESET_N and the straps driven */
    ck_assert_uint_eq(st.high_value & 0x0f, 0x01); /* out of reset, straps low */
    wait_ok(HOST_RMA_PROMPT);                      /* frame 0 again, accepted */
    struct console_stats cs;
    console_get_stats(con, &cs);
    ck_assert_uint_eq(cs.wrong_frame_numbers, 0);
}
END_TEST

/* A chip held in reset never raises TX-ready: the wait in the adapter is abandoned at the
 * deadline (FT_E_TIMEOUT, in about the deadline) and the link goes on: after a reset the
 * firmware's frames arrive over the same open adapter. */
START_TEST(test_wait_abandoned_at_deadline)
{
    open_console();
    wait_ok(HOST_RMA_PROMPT);
    struct spi_bus *bus = ftdi_spi_bus(link_);
    struct ft_error err = {0};
    ck_assert_ok(spi_bus_gpio_write(bus, SPI_BUS_PIN_RESET_N, 0, &err), err);
    uint8_t mosi[16] = {0x03}, miso[16];
    const struct spi_bus_xfer header = {.mosi = mosi, .miso = miso, .len = sizeof(mosi)};
    uint64_t t0 = link_now_ns();
    ck_assert_int_eq(spi_bus_xfer_when(bus, SPI_BUS_PIN_TX_READY, SPI_BUS_PIN_TX_READY,
                                       link_deadline_ms(100), &header, &err),
                     -1);
    uint64_t ms = (link_now_ns() - t0) / 1000000u;
    printf("# abandoned wait reported after %llu ms: %s\n", (unsigned long long)ms, err.message);
    ck_assert_error(err, FT_E_TIMEOUT, "TX_READY stayed low until the deadline");
    ck_assert_uint_ge(ms, 100);
    ck_assert_uint_lt(ms, UNPLUG_MS);
    struct ftdi_emu_channel_state st;
    ftdi_emu_get_channel_state(rig.fta1, 0, &st);
    ck_assert_uint_eq(st.bitmode, 0x02);         /* back in MPSSE mode */
    ck_assert_uint_eq(st.high_dir & 0x01, 0x01); /* RESET_N still driven (low) */
    ck_assert_uint_eq(st.high_value & 0x01, 0x00);
    ck_assert_ok(console_chip_reset(con, false, &err), err);
    wait_ok(HOST_RMA_PROMPT);
}
END_TEST

/* The adapter disappears inside a bulk-IN transfer while the console uploads: the next
 * console call fails with FT_E_CONNECT at once (no retry loop until the step deadline),
 * and every later one too. */
START_TEST(test_unplug_mid_transfer)
{
    open_console();
    wait_ok(HOST_RMA_PROMPT);
    ftdi_emu_unplug_after_bulk_in(rig.fta1, 2);
    uint64_t t0 = link_now_ns();
    struct ft_error err = {0};
    int rc = host_send_rma_token_hash(con, STEP_MS, &err);
    if (rc == 0)
        rc = console_wait_for(con, HOST_CERTGEN_PROMPT, link_deadline_ms(STEP_MS), &err);
    uint64_t ms = (link_now_ns() - t0) / 1000000u;
    ck_assert_int_eq(rc, -1);
    ck_assert_error(err, FT_E_CONNECT, "FTA1");
    printf("# unplug reported after %llu ms: %s\n", (unsigned long long)ms, err.message);
    ck_assert_uint_lt(ms, UNPLUG_MS);
    ftdi_emu_unplug(rig.fta1); /* the sysfs side of the removal */
    struct ft_error again = {0};
    uint32_t pins, wired;
    ck_assert_int_eq(console_pins(con, &pins, &wired, &again), -1);
    ck_assert_error(again, FT_E_CONNECT, "FTA1");
}
END_TEST

static Suite *ftdi_link_suite(void)
{
    Suite *s = suite_create("ftdi_link");
    TCase *tc = tcase_create("ftdi_spi");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_open_by_serial);
    tcase_add_test(tc, test_not_found_lists_adapters);
    tcase_add_test(tc, test_busy_channel_is_explained);
    tcase_add_test(tc, test_console_to_rma_prompt);
    tcase_add_test(tc, test_console_to_export);
    tcase_add_test(tc, test_chip_reset_reaches_model);
    tcase_add_test(tc, test_unplug_mid_transfer);
    tcase_add_test(tc, test_wait_abandoned_at_deadline);
    suite_add_tcase(s, tc);
    tc = tcase_create("chip_faults");
    tcase_add_checked_fixture(tc, setup_junk, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_export_with_junk_frames);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN_IF(ftdi_emu_available, ftdi_link_suite)
