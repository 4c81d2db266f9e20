/* sim/rom_bootstrap: the ROM's bootstrap loop driven by the host's SPI flash commands. */
#include "sim/rom_bootstrap.h"
#include "testutil.h"

static uint8_t *flash;
static struct rom_bootstrap bs;
static struct rom_bootstrap_result res;
static struct ft_error err;

/* The hardware's FLASH_STATUS, as the spi_device model would keep it. */
static uint8_t status;

static void setup(void)
{
    flash = malloc(ROM_FLASH_DATA_SIZE);
    ck_assert_ptr_nonnull(flash);
    memset(flash, 0x3c, ROM_FLASH_DATA_SIZE); /* an old image */
    ck_assert_int_eq(
        rom_bootstrap_init(&bs, flash, ROM_FLASH_DATA_SIZE, FW_GEN_EARLGREY_1_0_0, &err), 0);
    status = 0; /* spi_device_init writes 0 */
    ft_error_clear(&err);
}

static void teardown(void)
{
    free(flash);
}

/* Hardware side of one CS frame: WREN/WRDI change WEL, uploads set BUSY, and an uploaded
 * command goes to the ROM, whose answer may clear the status. */
static void wren(void)
{
    status |= ROM_SPI_STATUS_WEL;
}

static void wrdi(void)
{
    status &= (uint8_t)~ROM_SPI_STATUS_WEL;
}

static int upload(uint8_t opcode, bool has_address, uint32_t address, const uint8_t *payload,
                  size_t len)
{
    struct spi_flash_cmd cmd = {opcode, has_address, address, payload, len};
    status |= ROM_SPI_STATUS_BUSY;
    int rc = rom_bootstrap_handle(&bs, &cmd, status, &res, &err);
    if (res.clear_status)
        status = 0;
    return rc;
}

static int chip_erase(void)
{
    return upload(ROM_OP_CHIP_ERASE, false, 0, NULL, 0);
}

static int sector_erase(uint32_t address)
{
    return upload(ROM_OP_SECTOR_ERASE, true, address, NULL, 0);
}

static int page_program(uint32_t address, const uint8_t *data, size_t len)
{
    return upload(ROM_OP_PAGE_PROGRAM, true, address, data, len);
}

static int reset(void)
{
    return upload(ROM_OP_RESET, false, 0, NULL, 0);
}

static bool all_bytes(size_t from, size_t to, uint8_t value)
{
    for (size_t i = from; i < to; i++)
        if (flash[i] != value)
            return false;
    return true;
}

static bool chunk_is_blank(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xff)
            return false;
    return true;
}

/* WREN + CHIP_ERASE, leaving the ROM in state Program. */
static void erase_first(void)
{
    wren();
    ck_assert_int_eq(chip_erase(), 0);
    ck_assert_int_eq(bs.state, ROM_BOOTSTRAP_PROGRAM);
    ck_assert_uint_eq(status, 0);
}

/* ---- The host sequence of reference §3.2 ------------------------------------------------ */

START_TEST(full_host_sequence)
{
    /* An image of 3000 bytes, sent in 256-byte page-aligned chunks, all-0xff chunks
     * skipped by the host. */
    enum { IMAGE = 3000 };
    static uint8_t image[IMAGE];
    for (size_t i = 0; i < IMAGE; i++)
        image[i] = (uint8_t)(i * 13 + 1);
    memset(image + 512, 0xff, 256);

    wren();
    ck_assert_int_eq(chip_erase(), 0);
    ck_assert(res.handled && res.clear_status && !res.chip_reset && !res.shutdown);
    ck_assert(all_bytes(0, ROM_FLASH_DATA_SIZE, 0xff));
    ck_assert_uint_eq(status & ROM_SPI_STATUS_BUSY, 0);

    for (size_t off = 0; off < IMAGE; off += 256) {
        size_t n = IMAGE - off < 256 ? IMAGE - off : 256;
        if (chunk_is_blank(image + off, n))
            continue; /* SpiFlash::program skips all-0xff chunks */
        wren();
        ck_assert_int_eq(page_program((uint32_t)off, image + off, n), 0);
        ck_assert(res.clear_status);
        ck_assert_uint_eq(status, 0); /* the host's RDSR poll sees WIP 0 */
    }
    ck_assert_mem_eq(flash, image, IMAGE);
    /* The last chunk (184 bytes) is a whole number of flash words: nothing padded. */
    ck_assert(all_bytes(IMAGE, ROM_FLASH_DATA_SIZE, 0xff));

    /* RESET_ENABLE is not an uploaded command; RESET resets without WREN. */
    ck_assert_int_eq(reset(), 0);
    ck_assert(res.handled && res.chip_reset && !res.clear_status);
    ck_assert_int_eq(bs.state, ROM_BOOTSTRAP_STOPPED);

    /* The chip reboots; with the straps still applied the ROM enters bootstrap again and
     * the image stays in flash until the next erase. */
    wren();
    ck_assert_int_eq(chip_erase(), -1);
    ck_assert_error(err, FT_E_INVALID, "not running");
    ck_assert_int_eq(
        rom_bootstrap_init(&bs, flash, ROM_FLASH_DATA_SIZE, FW_GEN_EARLGREY_1_0_0, &err), 0);
    status = 0;
    ck_assert_mem_eq(flash, image, IMAGE);
    ck_assert_int_eq(bs.state, ROM_BOOTSTRAP_ERASE);
}
END_TEST

START_TEST(reset_needs_no_wren_in_program_state)
{
    erase_first();
    wrdi();
    ck_assert_int_eq(reset(), 0);
    ck_assert(res.chip_reset);
}
END_TEST

/* ---- WEL handling (bootstrap_unittest IgnoredCommands) ---------------------------------- */

START_TEST(missing_wren_is_dropped_without_clearing_status)
{
    /* State Erase: CHIP_ERASE without WREN is ignored, BUSY stays set. */
    ck_assert_int_eq(chip_erase(), 0);
    ck_assert(!res.handled && !res.clear_status);
    ck_assert_uint_eq(status, ROM_SPI_STATUS_BUSY);
    ck_assert_int_eq(bs.state, ROM_BOOTSTRAP_ERASE);
    ck_assert(all_bytes(0, ROM_FLASH_DATA_SIZE, 0x3c));

    /* RESET with WEL in state Erase: acknowledged (status cleared) but not acted on. */
    wren();
    ck_assert_int_eq(reset(), 0);
    ck_assert(res.handled && res.clear_status && !res.chip_reset);
    ck_assert_uint_eq(status, 0);
    /* RESET without WEL in state Erase: dropped. */
    ck_assert_int_eq(reset(), 0);
    ck_assert(!res.handled && !res.chip_reset);

    erase_first();

    /* State Program: erase and program without WREN are dropped. */
    static const uint8_t data[16] = {1, 2, 3};
    ck_assert_int_eq(sector_erase(0), 0);
    ck_assert(!res.handled);
    ck_assert_int_eq(chip_erase(), 0);
    ck_assert(!res.handled);
    ck_assert_int_eq(page_program(0, data, sizeof(data)), 0);
    ck_assert(!res.handled);
    ck_assert_uint_eq(status, ROM_SPI_STATUS_BUSY);
    ck_assert(all_bytes(0, ROM_FLASH_DATA_SIZE, 0xff));

    /* WRDI after WREN clears WEL again: still dropped. */
    wren();
    wrdi();
    ck_assert_int_eq(page_program(0, data, sizeof(data)), 0);
    ck_assert(!res.handled);
}
END_TEST

START_TEST(program_before_erase_only_clears_status)
{
    static const uint8_t data[8] = {0};
    wren();
    ck_assert_int_eq(page_program(0, data, sizeof(data)), 0);
    ck_assert(res.handled && res.clear_status);
    ck_assert_int_eq(bs.state, ROM_BOOTSTRAP_ERASE);
    ck_assert(all_bytes(0, ROM_FLASH_DATA_SIZE, 0x3c));
}
END_TEST

START_TEST(glitch_opcode_is_ignored)
{
    erase_first();
    wren();
    ck_assert_int_eq(upload(0x00, false, 0, NULL, 0), 0);
    ck_assert(res.handled && res.clear_status && !res.chip_reset && !res.shutdown);
    ck_assert(all_bytes(0, ROM_FLASH_DATA_SIZE, 0xff));
}
END_TEST

/* ---- Erase ------------------------------------------------------------------------------- */

START_TEST(first_sector_erase_erases_everything)
{
    wren();
    ck_assert_int_eq(sector_erase(0x7000), 0);
    ck_assert(res.clear_status);
    ck_assert_int_eq(bs.state, ROM_BOOTSTRAP_PROGRAM);
    ck_assert(all_bytes(0, ROM_FLASH_DATA_SIZE, 0xff));
}
END_TEST

START_TEST(first_erase_ignores_its_address)
{
    /* Even an address beyond the flash: state Erase does not look at it. */
    wren();
    ck_assert_int_eq(sector_erase(0xffffff), 0);
    ck_assert_int_eq(bs.state, ROM_BOOTSTRAP_PROGRAM);
}
END_TEST

START_TEST(sector_erase_in_program_state)
{
    erase_first();
    memset(flash, 0, ROM_FLASH_DATA_SIZE);
    /* Misaligned addresses erase the 4 KiB sector that holds them (unit test
     * MisalignedEraseAddress: 5 -> 0, 8195 -> 8192). */
    wren();
    ck_assert_int_eq(sector_erase(8195), 0);
    ck_assert(res.clear_status);
    ck_assert(all_bytes(0, 8192, 0x00));
    ck_assert(all_bytes(8192, 12288, 0xff));
    ck_assert(all_bytes(12288, ROM_FLASH_DATA_SIZE, 0x00));

    /* The last sector of bank 1. */
    wren();
    ck_assert_int_eq(sector_erase(ROM_FLASH_DATA_SIZE - 1), 0);
    ck_assert(all_bytes(ROM_FLASH_DATA_SIZE - 4096, ROM_FLASH_DATA_SIZE, 0xff));
    ck_assert(all_bytes(12288, ROM_FLASH_DATA_SIZE - 4096, 0x00));

    /* Chip erase in state Program erases both banks again. */
    wren();
    ck_assert_int_eq(chip_erase(), 0);
    ck_assert(all_bytes(0, ROM_FLASH_DATA_SIZE, 0xff));
    ck_assert_int_eq(bs.state, ROM_BOOTSTRAP_PROGRAM);
}
END_TEST

START_TEST(sector_erase_out_of_range_shuts_down)
{
    erase_first();
    wren();
    ck_assert_int_eq(sector_erase(ROM_FLASH_DATA_SIZE), -1);
    ck_assert(res.shutdown && !res.clear_status && !res.chip_reset);
    ck_assert_int_eq(res.rom_error, ROM_ERROR_BOOTSTRAP_ERASE_ADDRESS);
    ck_assert_error(err, FT_E_RANGE, "SECTOR_ERASE address 0x00100000");
    ck_assert_ptr_nonnull(strstr(err.message, "BFV:01425303"));
    /* BUSY is left set: the host's poll never completes. */
    ck_assert_uint_eq(status & ROM_SPI_STATUS_BUSY, ROM_SPI_STATUS_BUSY);

    /* A sector erase whose address phase was missing reads as kSpiDeviceNoAddress. */
    ck_assert_int_eq(
        rom_bootstrap_init(&bs, flash, ROM_FLASH_DATA_SIZE, FW_GEN_EARLGREY_1_0_0, &err), 0);
    erase_first();
    wren();
    ck_assert_int_eq(upload(ROM_OP_SECTOR_ERASE, false, 0, NULL, 0), -1);
    ck_assert_int_eq(res.rom_error, ROM_ERROR_BOOTSTRAP_ERASE_ADDRESS);
}
END_TEST

/* ---- Program ------------------------------------------------------------------------------- */

static uint8_t pattern[ROM_SPI_PAYLOAD_MAX];

static void fill_pattern(void)
{
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)i;
}

START_TEST(odd_payload_is_padded_with_ff)
{
    fill_pattern();
    erase_first();
    /* BootstrapOddPayload: 17 bytes are written as 24, the last 7 being 0xff. On erased
     * flash the 17 bytes land exactly and the padding leaves the rest erased. */
    wren();
    ck_assert_int_eq(page_program(0x1000, pattern + 1, 17), 0);
    ck_assert_mem_eq(flash + 0x1000, pattern + 1, 17);
    ck_assert(all_bytes(0x1000 + 17, 0x1100, 0xff));
    /* The padding is 0xff, so under AND semantics it never clears a bit. */
    memset(flash + 0x2000, 0x00, 32);
    wren();
    ck_assert_int_eq(page_program(0x2000, pattern, 17), 0);
    ck_assert(all_bytes(0x2000, 0x2020, 0x00));
}
END_TEST

START_TEST(program_wraps_within_its_page)
{
    fill_pattern();
    erase_first();
    /* BootstrapMisalignedAddrLongPayload: 256 bytes at 0xfff0 -> 16 at 0xfff0, 240 at
     * 0xff00. */
    wren();
    ck_assert_int_eq(page_program(0xfff0, pattern, 256), 0);
    ck_assert_mem_eq(flash + 0xfff0, pattern, 16);
    ck_assert_mem_eq(flash + 0xff00, pattern + 16, 240);
    ck_assert(all_bytes(0x10000, 0x10100, 0xff)); /* nothing spilled into the next page */

    /* BootstrapMisalignedAddrShortPayload: 8 bytes at 816 stay at 816. */
    wren();
    ck_assert_int_eq(page_program(816, pattern, 8), 0);
    ck_assert_mem_eq(flash + 816, pattern, 8);
    ck_assert(all_bytes(768, 816, 0xff));
}
END_TEST

START_TEST(program_only_clears_bits)
{
    erase_first();
    static const uint8_t first[8] = {0xf0, 0xff, 0x00, 0x0f, 0xaa, 0x55, 0xff, 0x81};
    static const uint8_t second[8] = {0x3c, 0x00, 0xff, 0xff, 0x0f, 0xf0, 0x7e, 0x01};
    wren();
    ck_assert_int_eq(page_program(0x2000, first, 8), 0);
    wren();
    ck_assert_int_eq(page_program(0x2000, second, 8), 0);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(flash[0x2000 + i], first[i] & second[i]);
}
END_TEST

START_TEST(program_at_the_last_word_and_in_slot_b)
{
    fill_pattern();
    erase_first();
    wren();
    ck_assert_int_eq(page_program(ROM_FLASH_DATA_SIZE - 8, pattern, 8), 0);
    ck_assert_mem_eq(flash + ROM_FLASH_DATA_SIZE - 8, pattern, 8);
    wren();
    ck_assert_int_eq(page_program(ROM_FLASH_SLOT_B_START, pattern, 256), 0);
    ck_assert_mem_eq(flash + ROM_FLASH_SLOT_B_START, pattern, 256);
    /* A 256-byte payload at the last word wraps to the start of the last page. */
    wren();
    memset(flash + ROM_FLASH_DATA_SIZE - 256, 0xff, 256);
    ck_assert_int_eq(page_program(ROM_FLASH_DATA_SIZE - 8, pattern, 256), 0);
    ck_assert_mem_eq(flash + ROM_FLASH_DATA_SIZE - 8, pattern, 8);
    ck_assert_mem_eq(flash + ROM_FLASH_DATA_SIZE - 256, pattern + 8, 248);
}
END_TEST

START_TEST(misaligned_program_shuts_down)
{
    fill_pattern();
    erase_first();
    wren();
    ck_assert_int_eq(page_program(3, pattern, 16), -1);
    ck_assert(res.shutdown && !res.clear_status);
    ck_assert_int_eq(res.rom_error, ROM_ERROR_BOOTSTRAP_PROGRAM_ADDRESS);
    ck_assert_error(err, FT_E_INVALID, "PAGE_PROGRAM address 0x00000003 is not 8-byte aligned");
    ck_assert_ptr_nonnull(strstr(err.message, "BFV:02425303"));
    ck_assert(all_bytes(0, ROM_FLASH_DATA_SIZE, 0xff));
}
END_TEST

START_TEST(out_of_range_program_shuts_down)
{
    fill_pattern();
    erase_first();
    wren();
    ck_assert_int_eq(page_program(ROM_FLASH_DATA_SIZE, pattern, 8), -1);
    ck_assert_int_eq(res.rom_error, ROM_ERROR_BOOTSTRAP_PROGRAM_ADDRESS);
    ck_assert_error(err, FT_E_RANGE, "at or above the usable end 0x100000");
    /* 3-byte addresses reach 16 MiB. */
    ck_assert_int_eq(
        rom_bootstrap_init(&bs, flash, ROM_FLASH_DATA_SIZE, FW_GEN_EARLGREY_1_0_0, &err), 0);
    erase_first();
    wren();
    ck_assert_int_eq(page_program(0xfffff8, pattern, 8), -1);
    ck_assert_int_eq(res.rom_error, ROM_ERROR_BOOTSTRAP_PROGRAM_ADDRESS);
    /* Missing address phase: kSpiDeviceNoAddress, which is not aligned. */
    ck_assert_int_eq(
        rom_bootstrap_init(&bs, flash, ROM_FLASH_DATA_SIZE, FW_GEN_EARLGREY_1_0_0, &err), 0);
    erase_first();
    wren();
    ck_assert_int_eq(upload(ROM_OP_PAGE_PROGRAM, false, 0, pattern, 8), -1);
    ck_assert_error(err, FT_E_INVALID, "0xffffffff");
}
END_TEST

START_TEST(payload_overflow_shuts_down_in_any_state)
{
    static uint8_t big[300];
    /* Even without WREN and before the first erase. */
    ck_assert_int_eq(page_program(0, big, sizeof(big)), -1);
    ck_assert(res.shutdown);
    ck_assert_int_eq(res.rom_error, ROM_ERROR_SPI_DEVICE_PAYLOAD_OVERFLOW);
    ck_assert_error(err, FT_E_CAPACITY, "300 payload bytes");
    ck_assert_ptr_nonnull(strstr(err.message, "BFV:0153500d"));
    ck_assert(all_bytes(0, ROM_FLASH_DATA_SIZE, 0x3c));
}
END_TEST

START_TEST(bad_arguments)
{
    uint8_t small[16];
    ck_assert_int_eq(rom_bootstrap_init(&bs, small, sizeof(small), FW_GEN_EARLGREY_1_0_0, &err),
                     -1);
    ck_assert_error(err, FT_E_INVALID, "16 bytes");
    ck_assert_int_eq(
        rom_bootstrap_init(&bs, NULL, ROM_FLASH_DATA_SIZE, FW_GEN_EARLGREY_1_0_0, &err), -1);
    ck_assert_int_eq(
        rom_bootstrap_init(&bs, flash, ROM_FLASH_DATA_SIZE, FW_GEN_EARLGREY_1_0_0, &err), 0);
    wren();
    ck_assert_int_eq(page_program(0, NULL, 4), -1);
    ck_assert(!res.shutdown);
    ck_assert_error(err, FT_E_INVALID, "no buffer");
    /* An empty program is fine and changes nothing. */
    erase_first();
    wren();
    ck_assert_int_eq(page_program(0, NULL, 0), 0);
    ck_assert(res.clear_status);
    ck_assert(all_bytes(0, ROM_FLASH_DATA_SIZE, 0xff));
}
END_TEST

START_TEST(random_command_streams)
{
    /* Random uploads with random WEL: the model never touches memory outside the flash
     * and always either carries on or shuts down with a ROM error. */
    static uint8_t payload[300];
    uint64_t seed = 12345;
    static const uint8_t opcodes[] = {
        ROM_OP_CHIP_ERASE, ROM_OP_SECTOR_ERASE, ROM_OP_PAGE_PROGRAM, ROM_OP_RESET, 0x00, 0x5a};
    for (int i = 0; i < 4000; i++) {
        uint64_t r = test_rand(&seed);
        for (size_t k = 0; k < sizeof(payload); k++)
            payload[k] = (uint8_t)(r >> (k % 56));
        if (r & 1)
            wren();
        size_t len = (r >> 8) % 8 == 0 ? sizeof(payload) : (r >> 16) % 257;
        uint32_t addr = (uint32_t)(r >> 24) & ((r >> 60) ? 0xfffff8u : 0x0fffffu);
        int rc = upload(opcodes[(r >> 4) % sizeof(opcodes)], (r >> 2) & 1, addr, payload, len);
        if (rc != 0) {
            ck_assert(res.shutdown);
            ck_assert_int_ne(res.rom_error, ROM_ERROR_OK);
            ck_assert_int_eq(
                rom_bootstrap_init(&bs, flash, ROM_FLASH_DATA_SIZE, FW_GEN_EARLGREY_1_0_0, &err),
                0);
            status = 0;
        }
        if (res.chip_reset) {
            ck_assert_int_eq(
                rom_bootstrap_init(&bs, flash, ROM_FLASH_DATA_SIZE, FW_GEN_EARLGREY_1_0_0, &err),
                0);
            status = 0;
        }
    }
}
END_TEST

/* ---- SFDP and JEDEC ID ---------------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

START_TEST(sfdp_table)
{
    uint8_t t[ROM_SFDP_SIZE];
    memset(t, 0, sizeof(t));
    rom_sfdp_table(t, ROM_FLASH_DATA_SIZE);
    static const uint8_t headers[16] = {'S',  'F',  'D',  'P', 0x0a, 0x01, 0x00, 0xff,
                                        0x00, 0x07, 0x01, 23,  16,   0,    0,    0xff};
    ck_assert_mem_eq(t, headers, 16);
    /* BFPT words, computed by hand from JESD216F field lists of spi_device.c. */
    static const uint32_t bfpt[23] = {
        0xff8020fd, 0x007fffff, 0x00000000, 0x00000000, 0xffffffee, 0x0000ffff,
        0x0000ffff, 0x0000200c, 0x00000000, 0x00000280, 0x8bad6b80, 0x80000100,
        0x00000000, 0x80000007, 0xff000000, 0x00001080, 0x00000000, 0x00000000,
        0x00000000, 0xffffffff, 0x00000000, 0x00000000, 0x00000000,
    };
    for (int i = 0; i < 23; i++)
        ck_assert_msg(le32(t + 16 + 4 * i) == bfpt[i], "BFPT word %d is 0x%08x, not 0x%08x", i + 1,
                      le32(t + 16 + 4 * i), bfpt[i]);
    for (size_t i = 108; i < ROM_SFDP_SIZE; i++)
        ck_assert_uint_eq(t[i], 0xff);
    /* What the host derives (SpiFlash::from_spi): 1 MiB, 4 KiB erase with 0x20, 3-byte
     * addresses, 256-byte pages. */
    ck_assert_uint_eq((le32(t + 20) & 0x7fffffffu) + 1, ROM_FLASH_DATA_SIZE * 8u);
    ck_assert_uint_eq((le32(t + 16) >> 8) & 0xff, 0x20);
    ck_assert_uint_eq((le32(t + 16) >> 17) & 0x3, 0);
    ck_assert_uint_eq((le32(t + 16 + 40) >> 4) & 0xf, 8);
}
END_TEST

START_TEST(jedec_id)
{
    uint8_t id[20];
    memset(id, 0xaa, sizeof(id));
    ck_assert_uint_eq(rom_jedec_id(id, sizeof(id), ROM_FLASH_DATA_SIZE), ROM_JEDEC_ID_SIZE);
    for (int i = 0; i < 12; i++)
        ck_assert_uint_eq(id[i], 0x7f);
    ck_assert_uint_eq(id[12], 0xef);
    ck_assert_uint_eq(id[13], 0x29); /* revision 1 | bootstrap bit | generation 2 << 4 */
    ck_assert_uint_eq(id[14], 0x14); /* density log2(1 MiB) = 20 */
    for (size_t i = 15; i < sizeof(id); i++)
        ck_assert_uint_eq(id[i], 0x00);
    ck_assert_uint_eq(rom_jedec_device_id(ROM_FLASH_DATA_SIZE), 0x1429);

    /* A short read gets the first bytes only. */
    uint8_t few[3] = {0, 0, 0xaa};
    ck_assert_uint_eq(rom_jedec_id(few, 2, ROM_FLASH_DATA_SIZE), ROM_JEDEC_ID_SIZE);
    ck_assert(few[0] == 0x7f && few[1] == 0x7f && few[2] == 0xaa);
}
END_TEST

static Suite *rom_bootstrap_suite(void)
{
    Suite *s = suite_create("sim_rom_bootstrap");
    TCase *tc = tcase_create("bootstrap");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, full_host_sequence);
    tcase_add_test(tc, reset_needs_no_wren_in_program_state);
    tcase_add_test(tc, missing_wren_is_dropped_without_clearing_status);
    tcase_add_test(tc, program_before_erase_only_clears_status);
    tcase_add_test(tc, glitch_opcode_is_ignored);
    tcase_add_test(tc, first_sector_erase_erases_everything);
    tcase_add_test(tc, first_erase_ignores_its_address);
    tcase_add_test(tc, sector_erase_in_program_state);
    tcase_add_test(tc, sector_erase_out_of_range_shuts_down);
    tcase_add_test(tc, odd_payload_is_padded_with_ff);
    tcase_add_test(tc, program_wraps_within_its_page);
    tcase_add_test(tc, program_only_clears_bits);
    tcase_add_test(tc, program_at_the_last_word_and_in_slot_b);
    tcase_add_test(tc, misaligned_program_shuts_down);
    tcase_add_test(tc, out_of_range_program_shuts_down);
    tcase_add_test(tc, payload_overflow_shuts_down_in_any_state);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, random_command_streams);
    suite_add_tcase(s, tc);

    TCase *tables = tcase_create("tables");
    tcase_add_test(tables, sfdp_table);
    tcase_add_test(tables, jedec_id);
    suite_add_tcase(s, tables);
    return s;
}

FT_TEST_MAIN(rom_bootstrap_suite)
