/* wire/spi_frame: frame header bytes, padding, classification, upload chunking. */
#include "testutil.h"
#include "wire/spi_frame.h"

START_TEST(header_bytes)
{
    uint8_t hdr[12];
    spi_frame_header_encode(hdr, 3, 0x1234);
    const uint8_t want[] = {0xEF, 0xBE, 0xA5, 0xA5, 0x03, 0, 0, 0, 0x34, 0x12, 0, 0};
    ck_assert_mem_eq(hdr, want, 12);
    struct spi_frame_header h;
    ck_assert_int_eq(spi_frame_header_check(hdr, 3, &h), SPI_FRAME_BAD_LENGTH);
    spi_frame_header_encode(hdr, 3, 2036);
    ck_assert_int_eq(spi_frame_header_check(hdr, 3, &h), SPI_FRAME_VALID);
    ck_assert_uint_eq(h.len, 2036);
    ck_assert_int_eq(spi_frame_header_check(hdr, 4, &h), SPI_FRAME_WRONG_NUMBER);
    hdr[0] ^= 1;
    ck_assert_int_eq(spi_frame_header_check(hdr, 3, &h), SPI_FRAME_BAD_MAGIC);
}
END_TEST

START_TEST(boot_sync_pattern)
{
    const uint8_t sync[12] = {0x02, 0xB0, 0xFE, 0xCA, 0x02, 0xB0,
                              0xFE, 0xCA, 0x02, 0xB0, 0xFE, 0xCA};
    struct spi_frame_header h;
    ck_assert(spi_frame_is_boot_sync(sync));
    ck_assert_int_eq(spi_frame_header_check(sync, 0, &h), SPI_FRAME_BOOT_SYNC);
    uint8_t almost[12];
    memcpy(almost, sync, 12);
    almost[11] = 0;
    ck_assert(!spi_frame_is_boot_sync(almost));
    ck_assert_int_eq(spi_frame_header_check(almost, 0, &h), SPI_FRAME_BAD_MAGIC);
}
END_TEST

START_TEST(encode_pads_with_ff)
{
    uint8_t out[32];
    size_t len;
    ck_assert_int_eq(spi_frame_encode(7, (const uint8_t *)"hello", 5, out, sizeof(out), &len, NULL),
                     0);
    ck_assert_uint_eq(len, 12 + 8);
    const uint8_t tail[] = {'h', 'e', 'l', 'l', 'o', 0xFF, 0xFF, 0xFF};
    ck_assert_mem_eq(out + 12, tail, 8);
    for (size_t n = 0; n <= 8; n++)
        ck_assert_uint_eq(spi_frame_padded_len(n), (n + 3) / 4 * 4);

    const uint8_t *payload;
    size_t plen;
    size_t fsize;
    ck_assert_int_eq(spi_frame_decode(out, len, 7, &payload, &plen, &fsize, NULL), 0);
    ck_assert_uint_eq(plen, 5);
    ck_assert_uint_eq(fsize, 20);
    ck_assert_mem_eq(payload, "hello", 5);
}
END_TEST

START_TEST(encode_and_decode_limits)
{
    static uint8_t big[2100];
    static uint8_t out[2200];
    size_t len;
    struct ft_error err = {0};
    ck_assert_int_eq(spi_frame_encode(0, big, 2020, out, sizeof(out), &len, &err), 0);
    ck_assert_uint_eq(len, 2032);
    ck_assert_int_eq(spi_frame_encode(0, big, 2021, out, sizeof(out), &len, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "2021 bytes exceeds 2020");
    ck_assert_int_eq(spi_frame_encode(0, big, 100, out, 100, &len, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "112 bytes do not fit in 100");

    const uint8_t *payload;
    size_t plen;
    size_t fsize;
    ck_assert_int_eq(spi_frame_decode(out, 11, 0, &payload, &plen, &fsize, &err), -1);
    ck_assert_error(err, FT_E_TRUNCATED, "header needs 12");
    spi_frame_encode(5, big, 100, out, sizeof(out), &len, NULL);
    ck_assert_int_eq(spi_frame_decode(out, len - 1, 5, &payload, &plen, &fsize, &err), -1);
    ck_assert_error(err, FT_E_TRUNCATED, "112 bytes announced, 111 available");
    ck_assert_int_eq(spi_frame_decode(out, len, 6, &payload, &plen, &fsize, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "wrong frame number");
}
END_TEST

START_TEST(ring_addresses_wrap)
{
    ck_assert_uint_eq(spi_frame_next_address(0, 5), 20);
    ck_assert_uint_eq(spi_frame_next_address(2040, 4), (2040 + 16) % 2048);
    ck_assert_uint_eq(spi_frame_next_address(0, 2036), 0);
}
END_TEST

/* Collects the chunks of an upload of `total` bytes. */
static size_t chunks_of(size_t total, struct spi_upload_chunk *out, size_t max)
{
    struct spi_upload_iter it;
    spi_upload_iter_init(&it, total);
    size_t n = 0;
    while (n < max && spi_upload_next(&it, &out[n]))
        n++;
    return n;
}

START_TEST(upload_chunking)
{
    struct spi_upload_chunk c[100];
    ck_assert_uint_eq(chunks_of(0, c, 100), 0);

    ck_assert_uint_eq(chunks_of(1, c, 100), 1);
    ck_assert_uint_eq(c[0].len, 1);
    ck_assert_uint_eq(c[0].address, 0x100);

    ck_assert_uint_eq(chunks_of(256, c, 100), 1);
    ck_assert_uint_eq(c[0].len, 256);
    ck_assert_uint_eq(c[0].address, 0x100);

    ck_assert_uint_eq(chunks_of(257, c, 100), 2);
    ck_assert_uint_eq(c[0].len, 256);
    ck_assert_uint_eq(c[0].address, 0x000);
    ck_assert_uint_eq(c[1].offset, 256);
    ck_assert_uint_eq(c[1].len, 1);
    ck_assert_uint_eq(c[1].address, 0x100);

    /* A padded PersoBlob: 20535 = 80 * 256 + 55. */
    ck_assert_uint_eq(chunks_of(20535, c, 100), 81);
    size_t total = 0;
    for (size_t i = 0; i < 81; i++) {
        ck_assert_uint_eq(c[i].offset, total);
        ck_assert_uint_eq(c[i].address, i == 80 ? 0x100u : 0x000u);
        total += c[i].len;
    }
    ck_assert_uint_eq(c[80].len, 55);
    ck_assert_uint_eq(total, 20535);
}
END_TEST

static Suite *spi_frame_suite(void)
{
    Suite *s = suite_create("spi_frame");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, header_bytes);
    tcase_add_test(tc, boot_sync_pattern);
    tcase_add_test(tc, encode_pads_with_ff);
    tcase_add_test(tc, encode_and_decode_limits);
    tcase_add_test(tc, ring_addresses_wrap);
    tcase_add_test(tc, upload_chunking);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(spi_frame_suite)
