/* An FTDI channel as a UART (ftdi_uart over the real libftdi1 + libusb) and the UART
 * console on it (console_open_ftdi_uart), against emulated adapters (ftdi_emu): ftsim's
 * chip model with its perso console on the UART, wired to channel B of FT2232H "FTA1"
 * (ftdi_chip_wire_uart; its SPI side stays on channel A, unused here), and an FT4232H
 * "FTB2" with nothing attached (its UART channels loop TXD back to RXD).
 *
 * Every test runs in its own Check child with a fresh testbed, created before the first
 * libftdi open (umockdev 0.17 races when libusb starts before the handlers exist). Every
 * wait is a deadline; nothing sleeps. Exits 77 when not under umockdev's preload. */
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
#include "link/ftdi_uart.h"
#include "link/spi_bus.h"
#include "testutil.h"
#include "wire/devmsg.h"
#include "wire/resp.h"
#include "wire/ujson.h"

#define STEP_MS 20000u  /* any device step with --timing zero, with sanitizers */
#define UNPLUG_MS 3000u /* an unplugged adapter must be reported within this */
#define CHANNEL_B 1

static struct ftdi_rig rig; /* large: not on the stack */
static struct ftdi_uart *uart;
static struct console *con;

static void setup(void)
{
    struct ft_error err = {0};
    ck_assert_ok(ftdi_rig_start(&rig, SIM_CONSOLE_UART, NULL, &err), err);
}

static void teardown(void)
{
    if (con != NULL)
        console_close(con);
    con = NULL;
    ftdi_uart_close(uart); /* libusb_exit before the testbed goes */
    uart = NULL;
    ftdi_rig_stop(&rig);
}

static void open_console(void)
{
    const struct ftdi_uart_config cfg = {.serial = "FTA1", .channel = 'B'};
    struct ft_error err = {0};
    con = console_open_ftdi_uart(&cfg, &err);
    ck_assert_msg(con != NULL, "%s", err.message);
    ck_assert_str_eq(console_kind(con), "uart");
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

/* ---- opening ---------------------------------------------------------------------------- */

/* 115200 8N1, UART mode, no adapter flow control, as the emulator saw the requests. */
START_TEST(test_open_settings)
{
    const struct ftdi_uart_config cfg = {.serial = "FTA1", .channel = 'B'};
    struct ft_error err = {0};
    uart = ftdi_uart_open(&cfg, &err);
    ck_assert_msg(uart != NULL, "%s", err.message);
    ck_assert_msg(strstr(ftdi_uart_name(uart), "FT2232H serial 'FTA1'") != NULL, "%s",
                  ftdi_uart_name(uart));
    ck_assert_msg(strstr(ftdi_uart_name(uart), "channel B") != NULL, "%s", ftdi_uart_name(uart));
    ck_assert_uint_eq(ftdi_uart_baud(uart), 115200);
    struct ftdi_emu_channel_state st;
    ftdi_emu_get_channel_state(rig.fta1, CHANNEL_B, &st);
    ck_assert_uint_eq(st.bitmode, 0x00); /* RESET: plain UART */
    ck_assert_uint_eq(st.baud_value, 0xc068);
    ck_assert_uint_eq(st.baud_index, 0x0202);  /* divisor bits, interface B */
    ck_assert_uint_eq(st.baud, 115246);        /* +0.04 %, reference §2.1 */
    ck_assert_uint_eq(st.data_format, 0x0008); /* 8 bits, no parity, 1 stop bit */
    ck_assert_uint_eq(st.flow_ctrl, 0);
    ck_assert_uint_eq(st.latency_ms, FTDI_UART_LATENCY_MS);
    /* Channel A (the SPI side) untouched. */
    struct ftdi_emu_channel_state a;
    ftdi_emu_get_channel_state(rig.fta1, 0, &a);
    ck_assert_uint_eq(a.baud, 0);
    ftdi_uart_close(uart);

    /* The adapter's own XON/XOFF, and another baud rate. */
    const struct ftdi_uart_config xon = {
        .serial = "FTA1", .channel = 'B', .baud = 1000000, .xonxoff = true};
    uart = ftdi_uart_open(&xon, &err);
    ck_assert_msg(uart != NULL, "%s", err.message);
    ftdi_emu_get_channel_state(rig.fta1, CHANNEL_B, &st);
    ck_assert_uint_eq(st.flow_ctrl, 4);
    ck_assert_uint_eq(st.flow_chars, 0x1311);
    ck_assert_uint_eq(st.baud, 1000000);
    ck_assert_uint_eq(st.data_format, 0x0008);
}
END_TEST

START_TEST(test_not_found_lists_adapters)
{
    const struct ftdi_uart_config cfg = {.serial = "NOPE", .channel = 'B'};
    struct ft_error err = {0};
    ck_assert_ptr_null(console_open_ftdi_uart(&cfg, &err));
    ck_assert_error(err, FT_E_CONNECT, "no adapter matches serial 'NOPE'");
    ck_assert_error(err, FT_E_CONNECT, "FT2232H serial 'FTA1'");
    ck_assert_error(err, FT_E_CONNECT, "FT4232H serial 'FTB2'");
    printf("# not found: %s\n", err.message);

    const struct ftdi_uart_config bad = {.serial = "FTA1", .channel = 'E'};
    ck_assert_ptr_null(console_open_ftdi_uart(&bad, &err));
    ck_assert_error(err, FT_E_INVALID, "expected A, B, C or D");
}
END_TEST

/* Channel C of the FT4232H (no MPSSE engine, UART only) with nothing attached: the
 * emulator loops TXD to RXD, so what is written comes back; an idle line times out. */
START_TEST(test_loopback_channel_c)
{
    const struct ftdi_uart_config cfg = {.serial = "FTB2", .channel = 'C'};
    struct ft_error err = {0};
    uart = ftdi_uart_open(&cfg, &err);
    ck_assert_msg(uart != NULL, "%s", err.message);
    ck_assert_msg(strstr(ftdi_uart_name(uart), "FT4232H serial 'FTB2'") != NULL, "%s",
                  ftdi_uart_name(uart));
    uint8_t buf[64];
    size_t n = 0;
    ck_assert_int_eq(ftdi_uart_read(uart, buf, sizeof(buf), &n, link_deadline_ms(20), &err), -1);
    ck_assert_error(err, FT_E_TIMEOUT, "FTB2");
    ck_assert_uint_eq(n, 0);
    static const char text[] = "hello over channel C";
    ck_assert_ok(ftdi_uart_write(uart, (const uint8_t *)text, sizeof(text) - 1,
                                 link_deadline_ms(STEP_MS), &err),
                 err);
    size_t got = 0;
    while (got < sizeof(text) - 1) {
        ck_assert_ok(
            ftdi_uart_read(uart, buf + got, sizeof(buf) - got, &n, link_deadline_ms(STEP_MS), &err),
            err);
        got += n;
    }
    ck_assert_uint_eq(got, sizeof(text) - 1);
    ck_assert_mem_eq(buf, text, got);
    ck_assert_uint_gt(ftdi_uart_io_calls(uart), 1);
}
END_TEST

/* A device that pauses the host: it prints a line and XOFF, then after PAUSE_POLLS
 * bulk-IN polls XON. Runs on the emulator's worker thread; the test reads the counters
 * with atomics once the console is done. */
#define PAUSE_POLLS 5u
struct pausing_peer {
    unsigned state; /* 0: line + XOFF not sent yet, 1: paused, 2: resumed */
    unsigned polls_paused;
    unsigned long host_bytes, host_bytes_while_paused;
};

static void pausing_rx(void *ctx, const uint8_t *data, size_t len)
{
    struct pausing_peer *p = ctx;
    (void)data;
    __atomic_fetch_add(&p->host_bytes, len, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->state, __ATOMIC_SEQ_CST) == 1)
        __atomic_fetch_add(&p->host_bytes_while_paused, len, __ATOMIC_SEQ_CST);
}

static size_t pausing_tx(void *ctx, uint8_t *buf, size_t cap)
{
    static const char line[] = "ready\n\x13";
    struct pausing_peer *p = ctx;
    unsigned state = __atomic_load_n(&p->state, __ATOMIC_SEQ_CST);
    if (state == 0 && cap >= sizeof(line) - 1) {
        memcpy(buf, line, sizeof(line) - 1);
        __atomic_store_n(&p->state, 1, __ATOMIC_SEQ_CST);
        return sizeof(line) - 1;
    }
    if (state == 1 && cap >= 1 && ++p->polls_paused >= PAUSE_POLLS) {
        buf[0] = 0x11;
        __atomic_store_n(&p->state, 2, __ATOMIC_SEQ_CST);
        return 1;
    }
    return 0;
}

static const struct ftdi_emu_uart_peer PAUSING = {.rx = pausing_rx, .tx = pausing_tx};

/* The device's XOFF holds the console's writes until its XON, through the real stack
 * (channel D of the FT4232H). */
START_TEST(test_console_obeys_xoff)
{
    static struct pausing_peer peer;
    ftdi_emu_attach_uart(rig.ftb2, 3, &PAUSING, &peer);
    const struct ftdi_uart_config cfg = {.serial = "FTB2", .channel = 'D'};
    struct ft_error err = {0};
    con = console_open_ftdi_uart(&cfg, &err);
    ck_assert_msg(con != NULL, "%s", err.message);
    wait_ok("ready\n");
    uint8_t text[100];
    memset(text, 'a', sizeof(text));
    ck_assert_ok(console_write(con, text, sizeof(text), link_deadline_ms(STEP_MS), &err), err);
    struct console_stats st;
    console_get_stats(con, &st);
    ck_assert_uint_eq(st.flow_pauses, 1);
    ck_assert_uint_eq(st.bytes_out, sizeof(text));
    ck_assert_uint_eq(__atomic_load_n(&peer.state, __ATOMIC_SEQ_CST), 2);
    ck_assert_uint_eq(__atomic_load_n(&peer.host_bytes, __ATOMIC_SEQ_CST), sizeof(text));
    ck_assert_uint_eq(__atomic_load_n(&peer.host_bytes_while_paused, __ATOMIC_SEQ_CST), 0);
    console_close(con); /* before the peer is detached: no callback after this */
    con = NULL;
    ftdi_emu_attach_uart(rig.ftb2, 3, NULL, NULL);
}
END_TEST

/* ---- the console over the channel --------------------------------------------------------- */

START_TEST(test_console_to_export)
{
    open_console();
    struct ft_error err = {0};
    wait_ok(HOST_RMA_PROMPT);
    ck_assert_ok(host_send_rma_token_hash(con, STEP_MS, &err), err);
    wait_ok(HOST_CERTGEN_PROMPT); /* across the chip's own reset: a UART has no frame counter */
    send_certgen_inputs();
    wait_ok(HOST_EXPORT_PROMPT);
    read_blob();
    struct console_stats st;
    console_get_stats(con, &st);
    struct ftdi_emu_counters usb;
    ftdi_emu_get_counters(rig.fta1, &usb);
    struct ftdi_emu_channel_state b;
    ftdi_emu_get_channel_state(rig.fta1, CHANNEL_B, &b);
    printf("# FTA1 channel B through the TBS export: %llu bytes in, %llu out, %llu round trips, "
           "%llu XOFF; USB %lu bulk-out, %lu bulk-in; peer %lu bytes in, %lu out\n",
           (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
           (unsigned long long)st.round_trips, (unsigned long long)st.flow_pauses, usb.bulk_out,
           usb.bulk_in, b.uart_host_bytes, b.uart_peer_bytes);
    ck_assert_uint_gt(st.bytes_in, UJSON_PERSO_BLOB_SIZE);
    ck_assert_uint_eq(b.uart_host_bytes, st.bytes_out);
    ck_assert_uint_ge(b.uart_peer_bytes, st.bytes_in);
    ck_assert_uint_gt(st.round_trips, 0);
    /* The SPI channel was never used. */
    struct ftdi_emu_channel_state a;
    ftdi_emu_get_channel_state(rig.fta1, 0, &a);
    ck_assert_uint_eq(a.bitmode, 0);
    /* No GPIO on a UART console. */
    uint32_t pins, wired;
    ck_assert_int_eq(console_pins(con, &pins, &wired, &err), -1);
    ck_assert_int_eq(err.code, FT_E_INVALID);
}
END_TEST

/* The adapter disappears inside a bulk-IN while the console waits for text: the wait
 * fails with FT_E_CONNECT naming the adapter at once (not at the step deadline), and
 * every later call too. */
START_TEST(test_unplug_mid_read)
{
    open_console();
    wait_ok(HOST_RMA_PROMPT);
    ftdi_emu_unplug_after_bulk_in(rig.fta1, 3);
    uint64_t t0 = link_now_ns();
    struct ft_error err = {0};
    /* Nothing more comes before the token hash: the console keeps reading. */
    int rc = console_wait_for(con, HOST_CERTGEN_PROMPT, link_deadline_ms(STEP_MS), &err);
    uint64_t ms = (link_now_ns() - t0) / 1000000u;
    ck_assert_int_eq(rc, -1);
    ck_assert_error(err, FT_E_CONNECT, "FTA1");
    ck_assert_error(err, FT_E_CONNECT, "channel B");
    printf("# unplug reported after %llu ms: %s\n", (unsigned long long)ms, err.message);
    ck_assert_uint_lt(ms, UNPLUG_MS);
    ftdi_emu_unplug(rig.fta1); /* the sysfs side of the removal */
    struct ft_error again = {0};
    ck_assert_int_eq(console_write(con, "x", 1, link_deadline_ms(STEP_MS), &again), -1);
    ck_assert_error(again, FT_E_CONNECT, "FTA1");
}
END_TEST

static Suite *ftdi_uart_suite(void)
{
    Suite *s = suite_create("ftdi_uart");
    TCase *tc = tcase_create("ftdi_uart");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_open_settings);
    tcase_add_test(tc, test_not_found_lists_adapters);
    tcase_add_test(tc, test_loopback_channel_c);
    tcase_add_test(tc, test_console_obeys_xoff);
    tcase_add_test(tc, test_console_to_export);
    tcase_add_test(tc, test_unplug_mid_read);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN_IF(ftdi_emu_available, ftdi_uart_suite)
