/* MPSSE command encoding, byte for byte: the golden vectors of reference transport §7.3,
 * the init sequence, the clock divisor, the transaction plans and the GPIO pin map. */
#include "link/ftdi_mpsse.h"

#include <stdio.h>

#include "testutil.h"

#define BUF_CAP 512u

/* Asserts that the buffer holds exactly `want` (`n` bytes), printing both on mismatch. */
static void assert_bytes(const struct ftdi_mpsse_buf *b, const uint8_t *want, size_t n)
{
    char got_hex[3 * BUF_CAP + 1] = "", want_hex[3 * BUF_CAP + 1] = "";
    for (size_t i = 0; i < b->len && i < BUF_CAP; i++)
        snprintf(got_hex + 3 * i, 4, "%02x ", b->data[i]);
    for (size_t i = 0; i < n && i < BUF_CAP; i++)
        snprintf(want_hex + 3 * i, 4, "%02x ", want[i]);
    ck_assert_msg(!b->overflow, "buffer overflowed");
    ck_assert_msg(b->len == n && memcmp(b->data, want, n) == 0, "got  %s\nwant %s", got_hex,
                  want_hex);
}

/* Appends one transaction planned the way the backend plans it. */
static struct ftdi_mpsse_xfer_plan add_xfer(struct ftdi_mpsse_buf *b, const uint8_t *mosi,
                                            size_t len, bool want_miso)
{
    struct ftdi_mpsse_xfer_plan plan = ftdi_mpsse_xfer_plan(mosi, len, want_miso);
    ftdi_mpsse_xfer(b, &plan, mosi, 0, 0);
    return plan;
}

/* ---- golden vectors ------------------------------------------------------------------- */

START_TEST(golden_read_header)
{
    uint8_t data[BUF_CAP];
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    uint8_t mosi[16] = {0x03, 0x00, 0x00, 0x00}; /* READ 12 bytes at 0x000000 */
    struct ftdi_mpsse_xfer_plan plan = add_xfer(&b, mosi, sizeof(mosi), true);
    ftdi_mpsse_send_immediate(&b);
    static const uint8_t want[] = {0x80, 0x00, 0x0b, 0x11, 0x03, 0x00, 0x03, 0x00, 0x00,
                                   0x00, 0x20, 0x0b, 0x00, 0x80, 0x08, 0x0b, 0x87};
    assert_bytes(&b, want, sizeof(want));
    ck_assert_uint_eq(b.reply_len, 12);
    ck_assert_uint_eq(plan.out_len, 4);
    ck_assert_uint_eq(plan.in_len, 12);
    ck_assert_uint_eq(plan.duplex_len, 0);

    /* The 12 reply bytes land after the 4 unsampled command bytes. */
    uint8_t reply[12], miso[16];
    for (size_t i = 0; i < sizeof(reply); i++)
        reply[i] = (uint8_t)(0xa0 + i);
    ftdi_mpsse_xfer_reply(&plan, reply, miso, sizeof(miso));
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(miso[i], 0xff);
    ck_assert_mem_eq(miso + 4, reply, sizeof(reply));
}
END_TEST

START_TEST(golden_read_status)
{
    uint8_t data[BUF_CAP];
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    static const uint8_t rdsr[2] = {0x05, 0x00};
    struct ftdi_mpsse_xfer_plan plan = add_xfer(&b, rdsr, sizeof(rdsr), true);
    ftdi_mpsse_send_immediate(&b);
    static const uint8_t want[] = {0x80, 0x00, 0x0b, 0x11, 0x00, 0x00, 0x05,
                                   0x20, 0x00, 0x00, 0x80, 0x08, 0x0b, 0x87};
    assert_bytes(&b, want, sizeof(want));
    ck_assert_uint_eq(b.reply_len, 1);

    const uint8_t reply[1] = {0x01};
    uint8_t status[2] = {0, 0};
    ftdi_mpsse_xfer_reply(&plan, reply, status, sizeof(status));
    ck_assert_uint_eq(status[0], 0xff);
    ck_assert_uint_eq(status[1], 0x01); /* BUSY, where the console looks for it */
}
END_TEST

START_TEST(golden_wren_page_program)
{
    uint8_t data[BUF_CAP];
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    static const uint8_t wren = 0x06;
    static const uint8_t pp[] = {0x02, 0x00, 0x01, 0x00, 0x41, 0x42, 0x43};
    add_xfer(&b, &wren, 1, false);
    add_xfer(&b, pp, sizeof(pp), false);
    static const uint8_t want[] = {0x80, 0x00, 0x0b, 0x11, 0x00, 0x00, 0x06, 0x80, 0x08,
                                   0x0b, 0x80, 0x00, 0x0b, 0x11, 0x06, 0x00, 0x02, 0x00,
                                   0x01, 0x00, 0x41, 0x42, 0x43, 0x80, 0x08, 0x0b};
    assert_bytes(&b, want, sizeof(want));
    ck_assert_uint_eq(b.reply_len, 0); /* nothing to wait for: no 87 needed */
}
END_TEST

/* ---- transaction plans ---------------------------------------------------------------- */

START_TEST(plan_duplex_when_not_a_flash_read)
{
    uint8_t data[BUF_CAP];
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    static const uint8_t mosi[3] = {0x9a, 0x00, 0x00}; /* not a read opcode */
    struct ftdi_mpsse_xfer_plan plan = add_xfer(&b, mosi, sizeof(mosi), true);
    static const uint8_t want[] = {0x80, 0x00, 0x0b, 0x31, 0x02, 0x00,
                                   0x9a, 0x00, 0x00, 0x80, 0x08, 0x0b};
    assert_bytes(&b, want, sizeof(want));
    ck_assert_uint_eq(plan.duplex_len, 3);
    ck_assert_uint_eq(b.reply_len, 3);

    const uint8_t reply[3] = {1, 2, 3};
    uint8_t miso[3];
    ftdi_mpsse_xfer_reply(&plan, reply, miso, sizeof(miso));
    ck_assert_mem_eq(miso, reply, 3);
}
END_TEST

START_TEST(plan_duplex_when_tail_carries_data)
{
    /* A READ whose trailing bytes are not the idle 0x00 is sent as asked. */
    static const uint8_t mosi[6] = {0x03, 0x00, 0x00, 0x00, 0x00, 0x5a};
    struct ftdi_mpsse_xfer_plan plan = ftdi_mpsse_xfer_plan(mosi, sizeof(mosi), true);
    ck_assert_uint_eq(plan.out_len, 0);
    ck_assert_uint_eq(plan.in_len, 0);
    ck_assert_uint_eq(plan.duplex_len, 6);

    /* A READ with no data bytes has nothing to read in: duplex as well. */
    plan = ftdi_mpsse_xfer_plan(mosi, 4, true);
    ck_assert_uint_eq(plan.duplex_len, 4);

    /* JEDEC ID and SFDP (address + dummy) are split. */
    static const uint8_t jedec[15] = {0x9f};
    plan = ftdi_mpsse_xfer_plan(jedec, sizeof(jedec), true);
    ck_assert_uint_eq(plan.out_len, 1);
    ck_assert_uint_eq(plan.in_len, 14);
    static const uint8_t sfdp[8] = {0x5a};
    plan = ftdi_mpsse_xfer_plan(sfdp, sizeof(sfdp), true);
    ck_assert_uint_eq(plan.out_len, 5);
    ck_assert_uint_eq(plan.in_len, 3);

    /* Without a reply everything goes out, whatever the opcode. */
    plan = ftdi_mpsse_xfer_plan(jedec, sizeof(jedec), false);
    ck_assert_uint_eq(plan.out_len, 15);
    ck_assert_uint_eq(plan.in_len + plan.duplex_len, 0);
}
END_TEST

START_TEST(cs_carries_gpio_outputs)
{
    uint8_t data[BUF_CAP];
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    /* GPIO bits 4..7 pass through; the SPI bits are always SCK/MOSI/CS outputs. */
    ftdi_mpsse_cs_assert(&b, 0xa5, 0xf4);
    ftdi_mpsse_cs_deassert(&b, 0xa5, 0xf4);
    static const uint8_t want[] = {0x80, 0xa0, 0xfb, 0x80, 0xa8, 0xfb};
    assert_bytes(&b, want, sizeof(want));
}
END_TEST

/* ---- clock commands, reads, overflow -------------------------------------------------- */

START_TEST(clock_commands_split_at_64k)
{
    static uint8_t data[2 * 65536 + 64];
    static uint8_t out[65537];
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    ftdi_mpsse_clock_in(&b, 65537);
    ck_assert_uint_eq(b.len, 6);
    static const uint8_t want_in[] = {0x20, 0xff, 0xff, 0x20, 0x00, 0x00};
    ck_assert_mem_eq(data, want_in, sizeof(want_in));
    ck_assert_uint_eq(b.reply_len, 65537);

    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (uint8_t)i;
    ftdi_mpsse_clock_out(&b, out, sizeof(out));
    ck_assert_uint_eq(b.len, 3 + 65536 + 3 + 1);
    ck_assert_uint_eq(data[0], 0x11);
    ck_assert_uint_eq(data[1], 0xff);
    ck_assert_uint_eq(data[2], 0xff);
    ck_assert_mem_eq(data + 3, out, 65536);
    static const uint8_t want_tail[] = {0x11, 0x00, 0x00, 0x00};
    ck_assert_mem_eq(data + 3 + 65536, want_tail, sizeof(want_tail));
    ck_assert_uint_eq(b.reply_len, 0);

    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    ftdi_mpsse_clock_duplex(&b, out, 2);
    static const uint8_t want_duplex[] = {0x31, 0x01, 0x00, 0x00, 0x01};
    ck_assert_mem_eq(data, want_duplex, sizeof(want_duplex));
    ck_assert_uint_eq(b.reply_len, 2);

    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    ftdi_mpsse_clock_in(&b, 0);
    ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(gpio_read_and_write_commands)
{
    uint8_t data[BUF_CAP];
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    ftdi_mpsse_read_low(&b);
    ftdi_mpsse_read_high(&b);
    ftdi_mpsse_send_immediate(&b);
    ftdi_mpsse_set_high(&b, 0x0f, 0x0f);
    ftdi_mpsse_set_low(&b, 0x08, 0x0b);
    static const uint8_t want[] = {0x81, 0x83, 0x87, 0x82, 0x0f, 0x0f, 0x80, 0x08, 0x0b};
    assert_bytes(&b, want, sizeof(want));
    ck_assert_uint_eq(b.reply_len, 2);
}
END_TEST

START_TEST(overflow_is_sticky_and_appends_nothing)
{
    uint8_t data[8];
    struct ftdi_mpsse_buf b;
    struct ft_error err = {0};
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    ftdi_mpsse_cs_assert(&b, 0, 0);
    ck_assert_int_eq(ftdi_mpsse_buf_check(&b, &err), 0);
    static const uint8_t four[4] = {1, 2, 3, 4};
    ftdi_mpsse_clock_out(&b, four, sizeof(four)); /* 7 bytes: does not fit in the 5 left */
    ck_assert(b.overflow);
    ck_assert_uint_eq(b.len, 3);
    ftdi_mpsse_send_immediate(&b); /* would fit, but the buffer is already bad */
    ck_assert_uint_eq(b.len, 3);
    ftdi_mpsse_clock_in(&b, 1);
    ck_assert_uint_eq(b.reply_len, 0);
    ck_assert_int_eq(ftdi_mpsse_buf_check(&b, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "8-byte buffer");
}
END_TEST

/* ---- set-up ---------------------------------------------------------------------------- */

START_TEST(init_sequence)
{
    uint8_t data[BUF_CAP];
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    ftdi_mpsse_init(&b, 3, 0, 0);
    static const uint8_t want[] = {0x8a, 0x97, 0x8d, 0x86, 0x03, 0x00, 0x85, 0x80, 0x08, 0x0b};
    assert_bytes(&b, want, sizeof(want));
    ck_assert_uint_eq(b.reply_len, 0);

    /* The divisor is little-endian; GPIO outputs on ADBUS4..7 survive the pin set-up. */
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    ftdi_mpsse_init(&b, 0x1234, 0x30, 0x30);
    static const uint8_t want2[] = {0x8a, 0x97, 0x8d, 0x86, 0x34, 0x12, 0x85, 0x80, 0x38, 0x3b};
    assert_bytes(&b, want2, sizeof(want2));
}
END_TEST

START_TEST(sync_probe)
{
    uint8_t data[BUF_CAP];
    struct ftdi_mpsse_buf b;
    ftdi_mpsse_buf_init(&b, data, sizeof(data));
    ftdi_mpsse_sync(&b);
    static const uint8_t want[] = {0xaa, 0x87};
    assert_bytes(&b, want, sizeof(want));
    ck_assert_uint_eq(b.reply_len, 2);

    static const uint8_t good[] = {0xfa, 0xaa}, wrong_op[] = {0xfa, 0xab}, echo[] = {0xaa, 0x87};
    ck_assert(ftdi_mpsse_sync_reply_ok(good, 2));
    ck_assert(!ftdi_mpsse_sync_reply_ok(good, 1));
    ck_assert(!ftdi_mpsse_sync_reply_ok(wrong_op, 2));
    ck_assert(!ftdi_mpsse_sync_reply_ok(echo, 2));
}
END_TEST

static void assert_divisor(uint32_t hz, uint16_t want_div, uint32_t want_hz)
{
    uint16_t div = 0xbeef;
    uint32_t actual = 0;
    struct ft_error err = {0};
    ck_assert_int_eq(ftdi_mpsse_divisor_for(hz, &div, &actual, &err), 0);
    ck_assert_msg(div == want_div, "%u Hz: divisor %u, expected %u", (unsigned)hz, (unsigned)div,
                  (unsigned)want_div);
    ck_assert_uint_eq(actual, want_hz);
    ck_assert_uint_le(actual, hz); /* never faster than asked */
}

START_TEST(divisor_rounds_down_in_speed)
{
    assert_divisor(30000000, 0, 30000000);
    assert_divisor(15000000, 1, 15000000);
    assert_divisor(10000000, 2, 10000000);
    assert_divisor(8000000, 3, 7500000); /* between 10 and 7.5: the slower */
    assert_divisor(7500000, 3, 7500000);
    assert_divisor(7499999, 4, 6000000);
    assert_divisor(1000000, 29, 1000000);
    assert_divisor(999999, 30, 967741);
    assert_divisor(31000000, 0, 30000000); /* above the fastest: the fastest */
    assert_divisor(UINT32_MAX, 0, 30000000);
    assert_divisor(MPSSE_SCK_MIN_HZ, 65502, 457);
    assert_divisor(458, 65502, 457);
}
END_TEST

START_TEST(divisor_out_of_range)
{
    uint16_t div = 7;
    uint32_t actual = 7;
    struct ft_error err = {0};
    ck_assert_int_eq(ftdi_mpsse_divisor_for(457, &div, &actual, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "457 Hz");
    ck_assert_int_eq(ftdi_mpsse_divisor_for(0, &div, &actual, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "slowest");
    ck_assert_uint_eq(div, 7);
    ck_assert_uint_eq(actual, 7);
}
END_TEST

/* ---- pin map --------------------------------------------------------------------------- */

static void assert_pin(const struct ftdi_pin_map *map, uint32_t bus_pin, uint8_t port, uint8_t bit)
{
    unsigned n = (unsigned)__builtin_ctz(bus_pin);
    ck_assert_msg(map->pin[n].port == port && map->pin[n].bit == bit,
                  "bus pin bit %u on port %u bit %u, expected port %u bit %u", n,
                  (unsigned)map->pin[n].port, (unsigned)map->pin[n].bit, (unsigned)port,
                  (unsigned)bit);
}

START_TEST(default_pin_map)
{
    struct ftdi_pin_map map;
    struct ft_error err = {0};
    ftdi_pin_map_default(&map);
    assert_pin(&map, SPI_BUS_PIN_RX_READY, FTDI_PORT_LOW, 4);
    assert_pin(&map, SPI_BUS_PIN_TX_READY, FTDI_PORT_LOW, 5);
    assert_pin(&map, SPI_BUS_PIN_TEST_DONE, FTDI_PORT_LOW, 6);
    assert_pin(&map, SPI_BUS_PIN_TEST_ERROR, FTDI_PORT_LOW, 7);
    assert_pin(&map, SPI_BUS_PIN_RESET_N, FTDI_PORT_HIGH, 0);
    assert_pin(&map, SPI_BUS_PIN_STRAP0, FTDI_PORT_HIGH, 1);
    assert_pin(&map, SPI_BUS_PIN_STRAP1, FTDI_PORT_HIGH, 2);
    assert_pin(&map, SPI_BUS_PIN_STRAP2, FTDI_PORT_HIGH, 3);
    assert_pin(&map, SPI_BUS_PIN_TEST_START, FTDI_PORT_HIGH, 4);
    for (unsigned n = 5; n < 8; n++)
        ck_assert_uint_eq(map.pin[n].port, FTDI_PORT_NONE);
    ck_assert_int_eq(ftdi_pin_map_check(&map, true, &err), 0);
    ck_assert(ftdi_pin_map_uses_high(&map));

    /* An FT4232H has no ACBUS. */
    ck_assert_int_eq(ftdi_pin_map_check(&map, false, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "no ACBUS");
}
END_TEST

START_TEST(pin_map_rejects_bad_wiring)
{
    struct ftdi_pin_map map;
    struct ft_error err = {0};

    ftdi_pin_map_default(&map);
    map.pin[3] = (struct ftdi_pin){FTDI_PORT_LOW, 3}; /* TX_READY on CS */
    ck_assert_int_eq(ftdi_pin_map_check(&map, true, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "TX_READY on ADBUS3");

    ftdi_pin_map_default(&map);
    map.pin[11] = (struct ftdi_pin){FTDI_PORT_HIGH, 0}; /* STRAP2 on RESET_N's pin */
    ck_assert_int_eq(ftdi_pin_map_check(&map, true, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "RESET_N and STRAP2 both on ACBUS0");

    ftdi_pin_map_default(&map);
    map.pin[8] = (struct ftdi_pin){FTDI_PORT_HIGH, 8};
    ck_assert_int_eq(ftdi_pin_map_check(&map, true, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "RESET_N on ACBUS8");

    ftdi_pin_map_default(&map);
    map.pin[0] = (struct ftdi_pin){7, 0};
    ck_assert_int_eq(ftdi_pin_map_check(&map, true, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "unknown port");

    ftdi_pin_map_default(&map);
    map.pin[6] = (struct ftdi_pin){FTDI_PORT_HIGH, 7}; /* no bus pin has bit 6 */
    ck_assert_int_eq(ftdi_pin_map_check(&map, true, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "bit 6 is not a bus pin");

    /* A low-byte-only map suits an FT4232H. */
    map = (struct ftdi_pin_map){0};
    map.pin[3] = (struct ftdi_pin){FTDI_PORT_LOW, 5};
    map.pin[8] = (struct ftdi_pin){FTDI_PORT_LOW, 4};
    ck_assert_int_eq(ftdi_pin_map_check(&map, false, &err), 0);
    ck_assert(!ftdi_pin_map_uses_high(&map));
}
END_TEST

START_TEST(pin_map_decodes_levels)
{
    struct ftdi_pin_map map;
    ftdi_pin_map_default(&map);
    ck_assert_uint_eq(ftdi_pin_map_decode(&map, 0x00, 0x00), 0);
    ck_assert_uint_eq(ftdi_pin_map_decode(&map, 0x20, 0x00), SPI_BUS_PIN_TX_READY);
    ck_assert_uint_eq(ftdi_pin_map_decode(&map, 0x10, 0x00), SPI_BUS_PIN_RX_READY);
    ck_assert_uint_eq(ftdi_pin_map_decode(&map, 0xc0, 0x00),
                      SPI_BUS_PIN_TEST_DONE | SPI_BUS_PIN_TEST_ERROR);
    ck_assert_uint_eq(ftdi_pin_map_decode(&map, 0x0f, 0x00), 0); /* SPI pins are not GPIOs */
    ck_assert_uint_eq(ftdi_pin_map_decode(&map, 0x00, 0x10), SPI_BUS_PIN_TEST_START);
    ck_assert_uint_eq(ftdi_pin_map_decode(&map, 0x00, 0x0f),
                      SPI_BUS_PIN_RESET_N | SPI_BUS_PIN_STRAPS);
    ck_assert_uint_eq(ftdi_pin_map_decode(&map, 0x00, 0xe0), 0); /* unmapped ACBUS5..7 */
}
END_TEST

START_TEST(pin_map_drives_outputs)
{
    struct ftdi_pin_map map;
    struct ftdi_gpio_state st = {0};
    struct ft_error err = {0};
    ftdi_pin_map_default(&map);

    /* Hold the chip in reset with the bootstrap straps applied. */
    ck_assert_int_eq(ftdi_pin_map_drive(&map, SPI_BUS_PIN_RESET_N | SPI_BUS_PIN_STRAPS,
                                        SPI_BUS_PIN_STRAPS, &st, &err),
                     0);
    ck_assert_uint_eq(st.high_direction, 0x0f);
    ck_assert_uint_eq(st.high_value, 0x0e);
    ck_assert_uint_eq(st.low_direction, 0);
    ck_assert_uint_eq(st.low_value, 0);

    /* Release reset: only RESET_N changes. */
    ck_assert_int_eq(ftdi_pin_map_drive(&map, SPI_BUS_PIN_RESET_N, SPI_BUS_PIN_RESET_N, &st, &err),
                     0);
    ck_assert_uint_eq(st.high_value, 0x0f);
    ck_assert_uint_eq(st.high_direction, 0x0f);

    /* A pin on ADBUS: the low byte's shadow moves. */
    map.pin[8] = (struct ftdi_pin){FTDI_PORT_LOW, 4};
    map.pin[4] = (struct ftdi_pin){FTDI_PORT_NONE, 0};
    ck_assert_int_eq(ftdi_pin_map_drive(&map, SPI_BUS_PIN_RESET_N, SPI_BUS_PIN_RESET_N, &st, &err),
                     0);
    ck_assert_uint_eq(st.low_direction, 0x10);
    ck_assert_uint_eq(st.low_value, 0x10);

    /* An unwired pin fails and changes nothing. */
    struct ftdi_gpio_state before = st;
    ck_assert_int_eq(
        ftdi_pin_map_drive(&map, SPI_BUS_PIN_STRAP0 | SPI_BUS_PIN_RX_READY, 0, &st, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "RX_READY is not wired");
    ck_assert_mem_eq(&st, &before, sizeof(st));
    ck_assert_int_eq(ftdi_pin_map_drive(&map, 1u << 20, 0, &st, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "not wired");
}
END_TEST

static Suite *ftdi_mpsse_suite(void)
{
    Suite *s = suite_create("ftdi_mpsse");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, golden_read_header);
    tcase_add_test(tc, golden_read_status);
    tcase_add_test(tc, golden_wren_page_program);
    tcase_add_test(tc, plan_duplex_when_not_a_flash_read);
    tcase_add_test(tc, plan_duplex_when_tail_carries_data);
    tcase_add_test(tc, cs_carries_gpio_outputs);
    tcase_add_test(tc, clock_commands_split_at_64k);
    tcase_add_test(tc, gpio_read_and_write_commands);
    tcase_add_test(tc, overflow_is_sticky_and_appends_nothing);
    tcase_add_test(tc, init_sequence);
    tcase_add_test(tc, sync_probe);
    tcase_add_test(tc, divisor_rounds_down_in_speed);
    tcase_add_test(tc, divisor_out_of_range);
    tcase_add_test(tc, default_pin_map);
    tcase_add_test(tc, pin_map_rejects_bad_wiring);
    tcase_add_test(tc, pin_map_decodes_levels);
    tcase_add_test(tc, pin_map_drives_outputs);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(ftdi_mpsse_suite)
