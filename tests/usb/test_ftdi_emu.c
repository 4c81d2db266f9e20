/* The real libftdi1 + libusb stack against the emulated adapters of ftdi_emu.c.
 *
 * Every test runs in its own Check child with a fresh testbed holding an FT2232H "FTA1"
 * and an FT4232H "FTB2". The testbed is created before ftdi_new (which calls
 * libusb_init): umockdev 0.17 races when libusb starts before the handlers exist.
 * Exits 77 when the process is not under umockdev's preload library.
 */
#include "ftdi_emu.h"
#include "testutil.h"

#include <check.h>
#include <ftdi.h>
#include <libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TIMEOUT_MS = 1000, FRAMES_MAX = 8, FRAME_MAX = 64 };

/* A recording SPI target: keeps every CS-framed byte sequence and answers MISO either by
 * echoing MOSI or with 0xA0 + the byte's position in the frame. */
struct rec_target {
    bool echo;
    bool in_cs;
    int nframes;
    size_t frame_len[FRAMES_MAX];
    uint8_t frame[FRAMES_MAX][FRAME_MAX];
    uint8_t in_low, in_high;
    uint8_t out_value[2], out_dir[2];
    int pins_out_calls;
};

static void rec_cs(void *ctx, bool asserted)
{
    struct rec_target *t = ctx;
    t->in_cs = asserted;
    if (asserted && t->nframes < FRAMES_MAX)
        t->frame_len[t->nframes++] = 0;
}

static uint8_t rec_byte(void *ctx, uint8_t mosi)
{
    struct rec_target *t = ctx;
    size_t pos = 0;
    if (t->in_cs && t->nframes > 0) {
        int f = t->nframes - 1;
        pos = t->frame_len[f];
        if (pos < FRAME_MAX)
            t->frame[f][t->frame_len[f]++] = mosi;
    }
    return t->echo ? mosi : (uint8_t)(0xa0 + pos);
}

static uint8_t rec_pins_in(void *ctx, int byte_index)
{
    struct rec_target *t = ctx;
    return byte_index == 0 ? t->in_low : t->in_high;
}

static void rec_pins_out(void *ctx, int byte_index, uint8_t value, uint8_t dir)
{
    struct rec_target *t = ctx;
    t->out_value[byte_index] = value;
    t->out_dir[byte_index] = dir;
    t->pins_out_calls++;
}

static const struct ftdi_emu_spi_target REC_OPS = {rec_cs, rec_byte, rec_pins_in, rec_pins_out};

/* Golden vectors, reference transport-spi-uart-ftdi.md §7.3 (CS = ADBUS3, dir 0x0b). */
static const uint8_t GOLDEN_READ[] = {0x80, 0x00, 0x0b, 0x11, 0x03, 0x00, 0x03, 0x00, 0x00,
                                      0x00, 0x20, 0x0b, 0x00, 0x80, 0x08, 0x0b, 0x87};
static const uint8_t GOLDEN_RDSR[] = {0x80, 0x00, 0x0b, 0x11, 0x00, 0x00, 0x05,
                                      0x20, 0x00, 0x00, 0x80, 0x08, 0x0b, 0x87};
static const uint8_t GOLDEN_WREN_PP[] = {0x80, 0x00, 0x0b, 0x11, 0x00, 0x00, 0x06, 0x80, 0x08,
                                         0x0b, 0x80, 0x00, 0x0b, 0x11, 0x06, 0x00, 0x02, 0x00,
                                         0x01, 0x00, 0x41, 0x42, 0x43, 0x80, 0x08, 0x0b};

static struct ftdi_emu_testbed *tb;
static struct ftdi_emu *fta1; /* FT2232H */
static struct ftdi_emu *ftb2; /* FT4232H */
static struct ftdi_context *ftdi;
static struct rec_target target;

static void setup(void)
{
    tb = ftdi_emu_testbed_new();
    ck_assert_ptr_nonnull(tb);
    fta1 = ftdi_emu_add(tb, FTDI_EMU_FT2232H, "FTA1");
    ftb2 = ftdi_emu_add(tb, FTDI_EMU_FT4232H, "FTB2");
    ck_assert_ptr_nonnull(fta1);
    ck_assert_ptr_nonnull(ftb2);
    memset(&target, 0, sizeof target);
}

static void teardown(void)
{
    if (ftdi != NULL) {
        ftdi_usb_close(ftdi);
        ftdi_free(ftdi);
        ftdi = NULL;
    }
    ftdi_emu_testbed_free(tb);
    tb = NULL;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Opens `serial` (product id `pid`) on `iface` with short timeouts, so a broken emulator
 * fails a test instead of hanging it for libftdi's default 5 s per transfer. */
static int open_adapter(int pid, const char *serial, enum ftdi_interface iface)
{
    ftdi = ftdi_new();
    ck_assert_ptr_nonnull(ftdi);
    ck_assert_int_eq(ftdi_set_interface(ftdi, iface), 0);
    int r = ftdi_usb_open_desc(ftdi, 0x0403, pid, NULL, serial);
    ftdi->usb_read_timeout = TIMEOUT_MS;
    ftdi->usb_write_timeout = TIMEOUT_MS;
    return r;
}

/* Reads exactly n bytes unless an error or the deadline comes first; returns the count or
 * the libftdi error. */
static int read_exact(uint8_t *buf, int n)
{
    long long deadline = now_ms() + TIMEOUT_MS;
    int got = 0;
    while (got < n && now_ms() < deadline) {
        int r = ftdi_read_data(ftdi, buf + got, n - got);
        if (r < 0)
            return r;
        got += r;
    }
    return got;
}

static void write_all(const uint8_t *buf, int n)
{
    ck_assert_int_eq(ftdi_write_data(ftdi, buf, n), n);
}

/* MPSSE bring-up as the harness does it, ending with the bad-opcode sync check. */
static void mpsse_up(int pid, const char *serial, enum ftdi_interface iface)
{
    ck_assert_int_eq(open_adapter(pid, serial, iface), 0);
    ck_assert_int_eq(ftdi_usb_reset(ftdi), 0);
    ck_assert_int_eq(ftdi_set_latency_timer(ftdi, 1), 0);
    ck_assert_int_eq(ftdi_set_bitmode(ftdi, 0, BITMODE_RESET), 0);
    ck_assert_int_eq(ftdi_set_bitmode(ftdi, 0x0b, BITMODE_MPSSE), 0);
    ck_assert_int_eq(ftdi_tcioflush(ftdi), 0);
    const uint8_t bogus[] = {0xaa, 0x87};
    write_all(bogus, sizeof bogus);
    uint8_t reply[2];
    ck_assert_int_eq(read_exact(reply, 2), 2);
    ck_assert_uint_eq(reply[0], 0xfa);
    ck_assert_uint_eq(reply[1], 0xaa);
}

static void assert_frame(int i, const uint8_t *want, size_t n)
{
    ck_assert_int_gt(target.nframes, i);
    ck_assert_uint_eq(target.frame_len[i], n);
    ck_assert_mem_eq(target.frame[i], want, n);
}

START_TEST(test_open_by_serial)
{
    ck_assert_int_eq(open_adapter(0x6010, "FTA1", INTERFACE_A), 0);
    ck_assert_int_eq(ftdi->type, TYPE_2232H);
    ck_assert_uint_eq(ftdi->max_packet_size, 512);
    libusb_device *dev = libusb_get_device(ftdi->usb_dev);
    ck_assert_int_eq(libusb_get_device_address(dev), ftdi_emu_devnum(fta1));
    ck_assert_int_eq(libusb_get_bus_number(dev), ftdi_emu_busnum(fta1));
    ftdi_usb_close(ftdi);
    ftdi_free(ftdi);

    ck_assert_int_eq(open_adapter(0x6011, "FTB2", INTERFACE_B), 0);
    ck_assert_int_eq(ftdi->type, TYPE_4232H);
    ck_assert_int_eq(libusb_get_device_address(libusb_get_device(ftdi->usb_dev)),
                     ftdi_emu_devnum(ftb2));
    ftdi_usb_close(ftdi);
    ftdi_free(ftdi);

    /* Right serial, wrong product id: libftdi's "device not found". */
    ck_assert_int_eq(open_adapter(0x6010, "FTB2", INTERFACE_A), -3);
    ftdi_free(ftdi);
    ftdi = NULL;
}
END_TEST

/* Two adapters of the same type: only the serial tells them apart. */
START_TEST(test_same_type_by_serial)
{
    struct ftdi_emu *fta2 = ftdi_emu_add(tb, FTDI_EMU_FT2232H, "FTA2");
    ck_assert_ptr_nonnull(fta2);
    ck_assert_int_ne(ftdi_emu_devnum(fta2), ftdi_emu_devnum(fta1));
    ck_assert_int_eq(open_adapter(0x6010, "FTA2", INTERFACE_A), 0);
    ck_assert_int_eq(libusb_get_device_address(libusb_get_device(ftdi->usb_dev)),
                     ftdi_emu_devnum(fta2));
    struct ftdi_emu_counters c1, c2;
    ftdi_emu_get_counters(fta1, &c1);
    ftdi_emu_get_counters(fta2, &c2);
    ck_assert_uint_eq(c1.control, 0);
    ck_assert_uint_gt(c2.control, 0);

    /* The list of all FTDI devices shows the three serials. */
    struct ftdi_device_list *list = NULL;
    ck_assert_int_eq(ftdi_usb_find_all(ftdi, &list, 0, 0), 3);
    int seen = 0;
    for (struct ftdi_device_list *l = list; l != NULL; l = l->next) {
        char serial[64];
        ck_assert_int_eq(
            ftdi_usb_get_strings(ftdi, l->dev, NULL, 0, NULL, 0, serial, sizeof serial), 0);
        seen |= strcmp(serial, "FTA1") == 0 ? 1 : strcmp(serial, "FTA2") == 0 ? 2 : 0;
        seen |= strcmp(serial, "FTB2") == 0 ? 4 : 0;
    }
    ftdi_list_free(&list);
    ck_assert_int_eq(seen, 7);
}
END_TEST

START_TEST(test_mpsse_bringup_state)
{
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    const uint8_t clock[] = {0x8a, 0x97, 0x8d, 0x86, 0x02, 0x00, 0x85};
    write_all(clock, sizeof clock);
    struct ftdi_emu_channel_state st;
    ftdi_emu_get_channel_state(fta1, 0, &st);
    ck_assert_uint_eq(st.bitmode, BITMODE_MPSSE);
    ck_assert_uint_eq(st.latency_ms, 1);
    ck_assert_uint_eq(st.divisor, 2);
    ck_assert(!st.div5 && !st.adaptive && !st.three_phase && !st.loopback);
    ck_assert_uint_eq(st.bad_opcodes, 1);
    unsigned char lat = 0;
    ck_assert_int_eq(ftdi_get_latency_timer(ftdi, &lat), 0);
    ck_assert_uint_eq(lat, 1);
    ck_assert_int_eq(ftdi_set_baudrate(ftdi, 115200), 0);
    ftdi_emu_get_channel_state(fta1, 0, &st);
    ck_assert_uint_ne(st.baud_value, 0);
    ck_assert_uint_eq(st.baud_index & 0xff, 1); /* channel A */
    /* Channel B of the same chip was left alone. */
    ftdi_emu_get_channel_state(fta1, 1, &st);
    ck_assert_uint_eq(st.bitmode, 0);
}
END_TEST

START_TEST(test_duplex_echo_target)
{
    target.echo = true;
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    enum { N = 1200 }; /* spans three 512-byte packets */
    static uint8_t cmd[3 + 3 + N + 4], got[N];
    size_t n = 0;
    const uint8_t cs_low[] = {0x80, 0x00, 0x0b}, cs_high[] = {0x80, 0x08, 0x0b, 0x87};
    memcpy(cmd + n, cs_low, sizeof cs_low);
    n += sizeof cs_low;
    cmd[n++] = 0x31;
    cmd[n++] = (N - 1) & 0xff;
    cmd[n++] = (N - 1) >> 8;
    for (int i = 0; i < N; i++)
        cmd[n++] = (uint8_t)(i * 7 + 3);
    memcpy(cmd + n, cs_high, sizeof cs_high);
    n += sizeof cs_high;
    write_all(cmd, (int)n);
    ck_assert_int_eq(read_exact(got, N), N);
    ck_assert_mem_eq(got, cmd + 6, N);
    ck_assert_int_eq(target.nframes, 1);
    ck_assert_uint_eq(target.frame_len[0], FRAME_MAX); /* recorder keeps the first 64 */
    ck_assert(!target.in_cs);
}
END_TEST

START_TEST(test_internal_loopback)
{
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target); /* answers 0xA0+pos, not MOSI */
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    const uint8_t cmd[] = {0x84, 0x34, 0x02, 0x00, 0x11, 0x22, 0x33, 0x85, 0x87};
    write_all(cmd, sizeof cmd);
    uint8_t got[3];
    ck_assert_int_eq(read_exact(got, 3), 3);
    ck_assert_mem_eq(got, cmd + 4, 3);
}
END_TEST

START_TEST(test_golden_read)
{
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    ftdi_emu_reset_counters(fta1);
    write_all(GOLDEN_READ, sizeof GOLDEN_READ);
    uint8_t got[12], want[12];
    ck_assert_int_eq(read_exact(got, 12), 12);
    for (int i = 0; i < 12; i++)
        want[i] = (uint8_t)(0xa0 + 4 + i); /* positions 4..15 of the frame */
    ck_assert_mem_eq(got, want, 12);
    const uint8_t frame[16] = {0x03, 0x00, 0x00, 0x00}; /* then 12 idle (MOSI low) bytes */
    ck_assert_int_eq(target.nframes, 1);
    assert_frame(0, frame, sizeof frame);
    ck_assert(!target.in_cs);

    struct ftdi_emu_counters c;
    ftdi_emu_get_counters(fta1, &c);
    ck_assert_uint_eq(c.control, 0);
    ck_assert_uint_eq(c.bulk_out, 1);
    ck_assert_uint_eq(c.out_bytes, sizeof GOLDEN_READ);
    ck_assert_uint_eq(c.bulk_in, 1);
    ck_assert_uint_eq(c.in_payload_bytes, 12);
    ck_assert_uint_eq(c.in_bytes, 14);
}
END_TEST

/* The same vector one byte per USB write: the engine must resume mid-command. */
START_TEST(test_golden_read_split)
{
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    ftdi_emu_reset_counters(fta1);
    for (size_t i = 0; i < sizeof GOLDEN_READ; i++)
        write_all(GOLDEN_READ + i, 1);
    uint8_t got[12];
    ck_assert_int_eq(read_exact(got, 12), 12);
    ck_assert_uint_eq(got[0], 0xa4);
    ck_assert_uint_eq(got[11], 0xaf);
    const uint8_t frame[16] = {0x03};
    assert_frame(0, frame, sizeof frame);
    struct ftdi_emu_counters c;
    ftdi_emu_get_counters(fta1, &c);
    ck_assert_uint_eq(c.bulk_out, sizeof GOLDEN_READ);
}
END_TEST

START_TEST(test_golden_rdsr)
{
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    write_all(GOLDEN_RDSR, sizeof GOLDEN_RDSR);
    uint8_t got[1];
    ck_assert_int_eq(read_exact(got, 1), 1);
    ck_assert_uint_eq(got[0], 0xa1);
    const uint8_t frame[] = {0x05, 0x00};
    ck_assert_int_eq(target.nframes, 1);
    assert_frame(0, frame, sizeof frame);
}
END_TEST

START_TEST(test_golden_wren_pp)
{
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    write_all(GOLDEN_WREN_PP, sizeof GOLDEN_WREN_PP);
    const uint8_t wren[] = {0x06}, pp[] = {0x02, 0x00, 0x01, 0x00, 0x41, 0x42, 0x43};
    ck_assert_int_eq(target.nframes, 2);
    assert_frame(0, wren, sizeof wren);
    assert_frame(1, pp, sizeof pp);
    ck_assert(!target.in_cs);
    uint8_t extra[4];
    ck_assert_int_eq(ftdi_read_data(ftdi, extra, sizeof extra), 0); /* write-only: no reply */
}
END_TEST

START_TEST(test_gpio_low_high)
{
    target.in_low = 0x04;  /* target drives MISO (ADBUS2) high */
    target.in_high = 0xf0; /* and ACBUS4..7 */
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    const uint8_t cmd[] = {0x80, 0xa8, 0xfb, 0x82, 0x0a, 0x0f, 0x81, 0x83, 0x87};
    write_all(cmd, sizeof cmd);
    uint8_t got[2];
    ck_assert_int_eq(read_exact(got, 2), 2);
    ck_assert_uint_eq(got[0], 0xac); /* outputs 0xa8 plus input bit 2 */
    ck_assert_uint_eq(got[1], 0xfa); /* outputs 0x0a on the low nibble, inputs 0xf0 */
    ck_assert_uint_eq(target.out_value[0], 0xa8);
    ck_assert_uint_eq(target.out_dir[0], 0xfb);
    ck_assert_uint_eq(target.out_value[1], 0x0a);
    ck_assert_uint_eq(target.out_dir[1], 0x0f);
    unsigned char pins = 0;
    ck_assert_int_eq(ftdi_read_pins(ftdi, &pins), 0); /* vendor request 0x0C */
    ck_assert_uint_eq(pins, 0xac);
}
END_TEST

/* FT4232H: MPSSE on channel B, 8 GPIO only (0x82 is a bad command). */
START_TEST(test_ft4232h_channel_b)
{
    target.echo = true;
    ftdi_emu_attach_spi(ftb2, 1, &REC_OPS, &target);
    mpsse_up(0x6011, "FTB2", INTERFACE_B);
    const uint8_t cmd[] = {0x80, 0x00, 0x0b, 0x31, 0x01, 0x00, 0x5a, 0xa5,
                           0x80, 0x08, 0x0b, 0x82, 0x00, 0x00, 0x87};
    write_all(cmd, sizeof cmd);
    uint8_t got[4];
    ck_assert_int_eq(read_exact(got, 4), 4);
    const uint8_t want[] = {0x5a, 0xa5, 0xfa, 0x82};
    ck_assert_mem_eq(got, want, 4);
    struct ftdi_emu_counters a, b;
    ftdi_emu_get_counters(fta1, &a);
    ftdi_emu_get_counters(ftb2, &b);
    ck_assert_uint_eq(a.bulk_out + a.bulk_in + a.control, 0);
    ck_assert_uint_gt(b.bulk_out, 0);
}
END_TEST

START_TEST(test_counters_open)
{
    ck_assert_int_eq(open_adapter(0x6010, "FTA1", INTERFACE_A), 0);
    struct ftdi_emu_counters c;
    ftdi_emu_get_counters(fta1, &c);
    /* Open reads string descriptors and sends reset + baud rate. */
    ck_assert_uint_ge(c.control, 3);
    ck_assert_uint_eq(c.bulk_out, 0);
    ck_assert_uint_eq(c.bulk_in, 0);
    uint8_t buf[8];
    ck_assert_int_eq(ftdi_read_data(ftdi, buf, sizeof buf), 0); /* idle: status bytes only */
    ftdi_emu_get_counters(fta1, &c);
    ck_assert_uint_eq(c.bulk_in, 1);
    ck_assert_uint_eq(c.in_bytes, 2);
    ck_assert_uint_eq(c.in_payload_bytes, 0);
}
END_TEST

START_TEST(test_unplug_mid_transfer)
{
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    /* A 8 KiB read needs several 4 KiB bulk-IN URBs; the device goes away at the second. */
    const uint8_t cmd[] = {0x20, 0xff, 0x1f, 0x87};
    write_all(cmd, sizeof cmd);
    ftdi_emu_unplug_after_bulk_in(fta1, 2);
    static uint8_t buf[8192];
    long long t0 = now_ms();
    int r = ftdi_read_data(ftdi, buf, sizeof buf);
    ck_assert_int_lt(r, 0);
    ck_assert_int_lt(now_ms() - t0, TIMEOUT_MS);
    ftdi_emu_unplug(fta1); /* the sysfs side of the removal */
    ck_assert_int_lt(ftdi_write_data(ftdi, cmd, sizeof cmd), 0);
    ck_assert_int_lt(ftdi_read_data(ftdi, buf, 16), 0);
    ck_assert_int_lt(now_ms() - t0, 2 * TIMEOUT_MS);
}
END_TEST

START_TEST(test_unplug_then_reopen_fails)
{
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    ftdi_emu_unplug(fta1);
    const uint8_t cmd[] = {0x81, 0x87};
    ck_assert_int_lt(ftdi_write_data(ftdi, cmd, sizeof cmd), 0);
    ftdi_usb_close(ftdi);
    ftdi_free(ftdi);
    /* A fresh libusb context enumerates sysfs again: only FTB2 is left. */
    ck_assert_int_eq(open_adapter(0x6010, "FTA1", INTERFACE_A), -3);
    ftdi_free(ftdi);
    ck_assert_int_eq(open_adapter(0x6011, "FTB2", INTERFACE_A), 0);
}
END_TEST

START_TEST(test_stall)
{
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    const uint8_t cmd[] = {0x81, 0x87};
    ftdi_emu_stall(fta1, 0x02, true);
    ck_assert_int_lt(ftdi_write_data(ftdi, cmd, sizeof cmd), 0);
    ftdi_emu_stall(fta1, 0x02, false);
    write_all(cmd, sizeof cmd);
    ftdi_emu_stall(fta1, 0x81, true);
    uint8_t b;
    ck_assert_int_lt(ftdi_read_data(ftdi, &b, 1), 0);
    ftdi_emu_stall(fta1, 0x81, false);
    ck_assert_int_eq(read_exact(&b, 1), 1);
}
END_TEST

START_TEST(test_short_read)
{
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    write_all(GOLDEN_READ, sizeof GOLDEN_READ);
    ftdi_emu_reset_counters(fta1);
    ftdi_emu_short_read(fta1, 0, 5);
    uint8_t got[12];
    ck_assert_int_eq(read_exact(got, 12), 12);
    ck_assert_uint_eq(got[0], 0xa4);
    ck_assert_uint_eq(got[11], 0xaf);
    struct ftdi_emu_counters c;
    ftdi_emu_get_counters(fta1, &c);
    ck_assert_uint_ge(c.bulk_in, 2);
}
END_TEST

START_TEST(test_corrupt_byte)
{
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    ftdi_emu_corrupt(fta1, 0, 3, 0x01);
    write_all(GOLDEN_READ, sizeof GOLDEN_READ);
    uint8_t got[12];
    ck_assert_int_eq(read_exact(got, 12), 12);
    ck_assert_uint_eq(got[2], 0xa6);
    ck_assert_uint_eq(got[3], 0xa7 ^ 0x01);
    ck_assert_uint_eq(got[4], 0xa8);
}
END_TEST

/* 0x88: the engine waits until the target raises GPIOL1 (ADBUS5); later commands wait too. */
START_TEST(test_wait_on_gpiol1)
{
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    const uint8_t cmd[] = {0x88, 0x81, 0x87};
    write_all(cmd, sizeof cmd);
    uint8_t b;
    ck_assert_int_eq(ftdi_read_data(ftdi, &b, 1), 0);
    target.in_low = 0x20; /* read by the engine at the next URB */
    ck_assert_int_eq(read_exact(&b, 1), 1);
    ck_assert_uint_eq(b, 0x20);
}
END_TEST

/* 0x8f: clocks without data take their time at the set clock and answer nothing. */
START_TEST(test_idle_clocks_take_time)
{
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    /* 60 MHz / ((1 + 299) * 2) = 100 kHz: 256 bytes of clocks are 20.48 ms. */
    const uint8_t cmd[] = {0x8a, 0x86, 0x2b, 0x01, 0x8f, 0xff, 0x00, 0x81, 0x87};
    long long t0 = now_ms();
    write_all(cmd, sizeof cmd);
    uint8_t b[2];
    ck_assert_int_eq(read_exact(b, 1), 1);
    ck_assert_int_ge(now_ms() - t0, 20);
    ck_assert_uint_ne(b[0], 0xfa); /* the pin byte, not a bad-opcode reply */
    ck_assert_int_eq(ftdi_read_data(ftdi, b, 2), 0);
    ck_assert_int_eq(target.nframes, 0); /* CS stayed high */
}
END_TEST

/* A bulk-IN is answered when the latency timer expires unless SEND_IMMEDIATE ran. */
START_TEST(test_in_paced_by_latency_timer)
{
    ftdi_emu_attach_spi(fta1, 0, &REC_OPS, &target);
    mpsse_up(0x6010, "FTA1", INTERFACE_A);
    ck_assert_int_eq(ftdi_set_latency_timer(ftdi, 250), 0);
    const uint8_t flushed[] = {0x81, 0x87}, held[] = {0x81};
    uint8_t b;
    long long t0 = now_ms();
    write_all(flushed, sizeof flushed);
    ck_assert_int_eq(read_exact(&b, 1), 1);
    ck_assert_int_lt(now_ms() - t0, 250);
    t0 = now_ms();
    write_all(held, sizeof held);
    ck_assert_int_eq(read_exact(&b, 1), 1);
    ck_assert_int_ge(now_ms() - t0, 250);
}
END_TEST

static Suite *ftdi_emu_suite(void)
{
    Suite *s = suite_create("ftdi_emu");
    TCase *tc = tcase_create("libftdi");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_open_by_serial);
    tcase_add_test(tc, test_same_type_by_serial);
    tcase_add_test(tc, test_mpsse_bringup_state);
    tcase_add_test(tc, test_duplex_echo_target);
    tcase_add_test(tc, test_internal_loopback);
    tcase_add_test(tc, test_golden_read);
    tcase_add_test(tc, test_golden_read_split);
    tcase_add_test(tc, test_golden_rdsr);
    tcase_add_test(tc, test_golden_wren_pp);
    tcase_add_test(tc, test_gpio_low_high);
    tcase_add_test(tc, test_ft4232h_channel_b);
    tcase_add_test(tc, test_counters_open);
    tcase_add_test(tc, test_unplug_mid_transfer);
    tcase_add_test(tc, test_unplug_then_reopen_fails);
    tcase_add_test(tc, test_stall);
    tcase_add_test(tc, test_short_read);
    tcase_add_test(tc, test_corrupt_byte);
    tcase_add_test(tc, test_wait_on_gpiol1);
    tcase_add_test(tc, test_idle_clocks_take_time);
    tcase_add_test(tc, test_in_paced_by_latency_timer);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN_IF(ftdi_emu_available, ftdi_emu_suite)
