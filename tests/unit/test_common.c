/* common/: CRC-32, hex, base64, the error type and the text builder. */
#include <string.h>

#include "common/base64.h"
#include "common/crc32.h"
#include "common/error.h"
#include "common/hex.h"
#include "common/strbuf.h"
#include "testutil.h"

START_TEST(crc32_check_value)
{
    ck_assert_uint_eq(crc32_iso_hdlc("123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(crc32_iso_hdlc("", 0), 0);
}
END_TEST

/* Worked bytes from the reference: "MemRead32"{"crc":1634823401}{"address":4096}{"crc":312684553}
 */
START_TEST(crc32_ujson_examples)
{
    const char *command = "\"MemRead32\"";
    const char *request = "{\"address\":4096}";
    ck_assert_uint_eq(crc32_iso_hdlc(command, strlen(command)), 1634823401u);
    ck_assert_uint_eq(crc32_iso_hdlc(request, strlen(request)), 312684553u);
}
END_TEST

START_TEST(hex_round_trip)
{
    const uint8_t bytes[] = {0x00, 0x01, 0xAB, 0xFF};
    char text[9];
    ck_assert_int_eq(hex_encode(bytes, sizeof(bytes), text, sizeof(text), NULL), 0);
    ck_assert_str_eq(text, "0001abff");
    uint8_t back[4];
    size_t n;
    ck_assert_int_eq(hex_decode("0001ABff", 8, back, sizeof(back), &n, NULL), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(back, bytes, 4);
}
END_TEST

START_TEST(hex_rejects_bad_input)
{
    uint8_t out[4];
    size_t n;
    struct ft_error err = {0};
    ck_assert_int_eq(hex_decode("abc", 3, out, sizeof(out), &n, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "odd");
    ck_assert_int_eq(hex_decode("12g4", 4, out, sizeof(out), &n, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "position 2");
    ck_assert_int_eq(hex_decode("0011223344", 10, out, sizeof(out), &n, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "do not fit");
    char small[4];
    ck_assert_int_eq(hex_encode(out, 2, small, sizeof(small), &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "buffer holds 4");
}
END_TEST

START_TEST(base64_round_trip_all_lengths)
{
    uint8_t data[64];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof(data); len++) {
        char text[100];
        ck_assert_int_eq(base64_encode(data, len, text, sizeof(text), NULL), 0);
        ck_assert_uint_eq(strlen(text), base64_encoded_len(len));
        uint8_t back[64];
        size_t n;
        struct ft_error err = {0};
        ck_assert_msg(base64_decode(text, strlen(text), back, sizeof(back), &n, &err) == 0,
                      "len %zu: %s", len, err.message);
        ck_assert_uint_eq(n, len);
        ck_assert_mem_eq(back, data, len);
    }
}
END_TEST

START_TEST(base64_known_vectors)
{
    char text[16];
    ck_assert_int_eq(base64_encode((const uint8_t *)"foobar", 6, text, sizeof(text), NULL), 0);
    ck_assert_str_eq(text, "Zm9vYmFy");
    ck_assert_int_eq(base64_encode((const uint8_t *)"fo", 2, text, sizeof(text), NULL), 0);
    ck_assert_str_eq(text, "Zm8=");
}
END_TEST

START_TEST(base64_rejects_bad_input)
{
    uint8_t out[16];
    size_t n;
    struct ft_error err = {0};
    ck_assert_int_eq(base64_decode("Zm9", 3, out, sizeof(out), &n, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "multiple of 4");
    ck_assert_int_eq(base64_decode("Zm 9", 4, out, sizeof(out), &n, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "position 2");
    ck_assert_int_eq(base64_decode("Z=9v", 4, out, sizeof(out), &n, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "position 1");
    ck_assert_int_eq(base64_decode("Zm9=", 4, out, sizeof(out), &n, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "non-canonical");
    ck_assert_int_eq(base64_decode("Zm9vYmFy", 8, out, 5, &n, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "do not fit");
}
END_TEST

START_TEST(error_prefix_keeps_context)
{
    struct ft_error err = {0};
    ck_assert_int_eq(ft_fail(&err, FT_E_RANGE, "value %d too big", 7), -1);
    ft_error_prefix(&err, "object %d", 3);
    ck_assert_str_eq(err.message, "object 3: value 7 too big");
    ck_assert_int_eq(err.code, FT_E_RANGE);

    char longtext[400];
    memset(longtext, 'x', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    ft_fail(&err, FT_E_INVALID, "%s", longtext);
    ft_error_prefix(&err, "outer");
    ck_assert_uint_eq(strlen(err.message), FT_ERROR_MESSAGE_MAX - 1);
    ck_assert(strncmp(err.message, "outer: xxx", 10) == 0);
    ck_assert_int_eq(ft_fail(NULL, FT_E_INVALID, "ignored"), -1);
}
END_TEST

START_TEST(strbuf_overflow_is_sticky)
{
    char data[8];
    struct strbuf sb;
    strbuf_init(&sb, data, sizeof(data));
    strbuf_puts(&sb, "abc");
    strbuf_printf(&sb, "%d", 1234);
    ck_assert(!sb.overflow);
    ck_assert_str_eq(data, "abc1234");
    strbuf_puts(&sb, "x");
    ck_assert(sb.overflow);
    ck_assert_str_eq(data, "abc1234");
    strbuf_init(&sb, data, sizeof(data));
    strbuf_puts(&sb, "a}");
    strbuf_insert_fill(&sb, 1, ' ', 3);
    ck_assert_str_eq(data, "a   }");
}
END_TEST

static Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, crc32_check_value);
    tcase_add_test(tc, crc32_ujson_examples);
    tcase_add_test(tc, hex_round_trip);
    tcase_add_test(tc, hex_rejects_bad_input);
    tcase_add_test(tc, base64_round_trip_all_lengths);
    tcase_add_test(tc, base64_known_vectors);
    tcase_add_test(tc, base64_rejects_bad_input);
    tcase_add_test(tc, error_prefix_keeps_context);
    tcase_add_test(tc, strbuf_overflow_is_sticky);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(common_suite)
