/* console/bootstrap: the SPI flash commands the ROM bootstrap gets, against a scripted
 * spi_device: SFDP check, WREN before erase and every program, 0xFF pages skipped, BUSY
 * polled, a chip that is not in bootstrap or never clears BUSY. */
#include "console/bootstrap.h"
#include "testutil.h"

struct fake_rom {
    bool in_bootstrap;
    bool stuck_busy;
    bool wel;
    unsigned busy_polls_left; /* READ_STATUS answers with BUSY this many more times */
    uint8_t flash[64 * 1024];
    unsigned erases, programs, wren_missing;
};

static int fake_xfer(struct spi_bus *bus, const uint8_t *mosi, uint8_t *miso, size_t len,
                     struct ft_error *err)
{
    (void)err;
    struct fake_rom *rom = bus->impl;
    bus->round_trips++;
    if (miso != NULL)
        memset(miso, 0xff, len);
    switch (mosi[0]) {
    case 0x5a: /* SFDP: opcode, 3 address bytes, a dummy byte, then the table */
        if (rom->in_bootstrap && miso != NULL && len >= 9)
            memcpy(miso + 5, "SFDP", 4);
        break;
    case 0x06:
        rom->wel = true;
        break;
    case 0x05:
        if (miso != NULL)
            miso[1] = rom->stuck_busy || rom->busy_polls_left > 0 ? 0x01 : 0x00;
        if (rom->busy_polls_left > 0)
            rom->busy_polls_left--;
        break;
    case 0xc7:
    case 0x02:
        if (!rom->wel) {
            rom->wren_missing++;
            break;
        }
        rom->wel = false;
        rom->busy_polls_left = 2;
        if (mosi[0] == 0xc7) {
            rom->erases++;
            memset(rom->flash, 0xff, sizeof(rom->flash));
        } else {
            uint32_t addr = (uint32_t)mosi[1] << 16 | (uint32_t)mosi[2] << 8 | mosi[3];
            ck_assert_uint_le(addr + len - 4, sizeof(rom->flash));
            memcpy(rom->flash + addr, mosi + 4, len - 4);
            rom->programs++;
        }
        break;
    default:
        ck_abort_msg("unexpected opcode 0x%02x", mosi[0]);
    }
    return 0;
}

static const struct spi_bus_ops fake_ops = {.xfer = fake_xfer};

static struct spi_bus fake_bus(struct fake_rom *rom)
{
    memset(rom->flash, 0, sizeof(rom->flash)); /* not erased until CHIP_ERASE */
    return (struct spi_bus){.ops = &fake_ops, .impl = rom, .name = "fake", .max_xfer = 4096};
}

static void count_progress(void *arg, size_t done, size_t total)
{
    size_t *last = arg;
    ck_assert_uint_gt(done, *last);
    ck_assert_uint_le(done, total);
    *last = done;
}

START_TEST(programs_image_and_skips_erased_pages)
{
    static struct fake_rom rom = {.in_bootstrap = true};
    struct spi_bus bus = fake_bus(&rom);
    uint8_t image[1000];
    for (size_t i = 0; i < sizeof(image); i++)
        image[i] = (uint8_t)(i * 7 + 1);
    memset(image + 256, 0xff, 256); /* page 1: nothing to program */
    struct bootstrap_stats stats;
    struct ft_error err = {0};
    size_t last = 0;
    ck_assert_int_eq(bootstrap_program(&bus, image, sizeof(image), 0, link_deadline_ms(1000),
                                       count_progress, &last, &stats, &err),
                     0);
    ck_assert_uint_eq(last, sizeof(image));
    ck_assert_uint_eq(rom.erases, 1);
    ck_assert_uint_eq(rom.programs, 3);
    ck_assert_uint_eq(rom.wren_missing, 0);
    ck_assert_uint_eq(stats.pages_programmed, 3);
    ck_assert_uint_eq(stats.pages_skipped, 1);
    ck_assert_uint_eq(stats.status_polls, 4 * 3); /* erase + 3 programs, 2 busy + 1 clear */
    ck_assert_mem_eq(rom.flash, image, sizeof(image));
    ck_assert_uint_eq(rom.flash[sizeof(image)], 0xff);
}
END_TEST

START_TEST(refuses_a_chip_not_in_bootstrap)
{
    static struct fake_rom rom = {.in_bootstrap = false};
    struct spi_bus bus = fake_bus(&rom);
    uint8_t image[16] = {1};
    struct bootstrap_stats stats;
    struct ft_error err = {0};
    ck_assert_int_eq(bootstrap_program(&bus, image, sizeof(image), 0, link_deadline_ms(1000), NULL,
                                       NULL, &stats, &err),
                     -1);
    ck_assert_error(err, FT_E_DEVICE, "not in ROM bootstrap");
    ck_assert_uint_eq(rom.erases, 0);
}
END_TEST

START_TEST(busy_forever_times_out)
{
    static struct fake_rom rom = {.in_bootstrap = true, .stuck_busy = true};
    struct spi_bus bus = fake_bus(&rom);
    uint8_t image[16] = {1};
    struct bootstrap_stats stats;
    struct ft_error err = {0};
    ck_assert_int_eq(bootstrap_program(&bus, image, sizeof(image), 0, link_deadline_ms(20), NULL,
                                       NULL, &stats, &err),
                     -1);
    ck_assert_error(err, FT_E_TIMEOUT, "CHIP_ERASE");
}
END_TEST

START_TEST(rejects_bad_sizes)
{
    static struct fake_rom rom = {.in_bootstrap = true};
    struct spi_bus bus = fake_bus(&rom);
    static uint8_t big[BOOTSTRAP_IMAGE_MAX + 1];
    struct bootstrap_stats stats;
    struct ft_error err = {0};
    ck_assert_int_eq(bootstrap_program(&bus, big, 0, 0, 0, NULL, NULL, &stats, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "0 bytes");
    ck_assert_int_eq(bootstrap_program(&bus, big, sizeof(big), 0, 0, NULL, NULL, &stats, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "2097153 bytes");
    bus.max_xfer = 64;
    ck_assert_int_eq(bootstrap_program(&bus, big, 16, 0, 0, NULL, NULL, &stats, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "too short");
}
END_TEST

static Suite *bootstrap_suite(void)
{
    Suite *s = suite_create("bootstrap");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, programs_image_and_skips_erased_pages);
    tcase_add_test(tc, refuses_a_chip_not_in_bootstrap);
    tcase_add_test(tc, busy_forever_times_out);
    tcase_add_test(tc, rejects_bad_sizes);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(bootstrap_suite)
