/* wire/resp: RESP_OK / RESP_ERR line parsing, CRC policy, status decoding. */
#include <stdio.h>

#include "common/crc32.h"
#include "testutil.h"
#include "wire/resp.h"

static int parse(const char *line, enum resp_crc_policy policy, struct resp_line *out,
                 struct ft_error *err)
{
    return resp_parse_line(line, strlen(line), policy, out, err);
}

START_TEST(reference_example)
{
    /* transport reference §2.5: RESP_OK:{"value":305419896} CRC:2792420061 */
    struct resp_line r;
    ck_assert_int_eq(
        parse("RESP_OK:{\"value\":305419896} CRC:2792420061", RESP_CRC_REQUIRED, &r, NULL), 1);
    ck_assert_int_eq(r.kind, RESP_OK);
    ck_assert_uint_eq(r.json_len, strlen("{\"value\":305419896}"));
    ck_assert_mem_eq(r.json, "{\"value\":305419896}", r.json_len);
    ck_assert_uint_eq(r.crc, 2792420061u);
    ck_assert(r.crc_ok);
}
END_TEST

START_TEST(crc_covers_padding)
{
    const char *json = "{\"data\":[1]    }";
    char line[128];
    snprintf(line, sizeof(line), "RESP_OK:%s CRC:%u\r", json, crc32_iso_hdlc(json, strlen(json)));
    struct resp_line r;
    ck_assert_int_eq(parse(line, RESP_CRC_REQUIRED, &r, NULL), 1);
    ck_assert_uint_eq(r.json_len, strlen(json));
}
END_TEST

START_TEST(crc_mismatch_fails_ok_lines)
{
    struct resp_line r;
    struct ft_error err = {0};
    ck_assert_int_eq(
        parse("RESP_OK:{\"value\":305419897} CRC:2792420061", RESP_CRC_REQUIRED, &r, &err), -1);
    ck_assert_error(err, FT_E_CRC, "CRC says 2792420061");
    ck_assert_int_eq(parse("RESP_OK:{\"a\":1} CRC:0", RESP_CRC_REQUIRED, &r, &err), -1);
    ck_assert_error(err, FT_E_CRC, "CRC says 0");
}
END_TEST

START_TEST(no_crc_policy_accepts_zero_or_true_crc)
{
    struct resp_line r;
    struct ft_error err = {0};
    ck_assert_int_eq(parse("RESP_OK:{\"a\":1} CRC:0", RESP_CRC_NONE, &r, &err), 1);
    ck_assert(!r.crc_ok);
    char line[64];
    snprintf(line, sizeof(line), "RESP_OK:{\"a\":1} CRC:%u", crc32_iso_hdlc("{\"a\":1}", 7));
    ck_assert_int_eq(parse(line, RESP_CRC_NONE, &r, &err), 1);
    ck_assert(r.crc_ok);
    ck_assert_int_eq(parse("RESP_OK:{\"a\":1} CRC:12", RESP_CRC_NONE, &r, &err), -1);
    ck_assert_error(err, FT_E_CRC, "CRC says 12");
}
END_TEST

START_TEST(err_lines_report_unverifiable_crc)
{
    const char *status = "{\"DataLoss\":[\"UJS\",42]}";
    char line[128];
    snprintf(line, sizeof(line), "RESP_ERR:%s CRC:%u", status,
             crc32_iso_hdlc(status, strlen(status)));
    struct resp_line r;
    ck_assert_int_eq(parse(line, RESP_CRC_REQUIRED, &r, NULL), 1);
    ck_assert_int_eq(r.kind, RESP_ERR);
    ck_assert(r.crc_ok);
    snprintf(line, sizeof(line), "RESP_ERR:%s CRC:1", status);
    ck_assert_int_eq(parse(line, RESP_CRC_REQUIRED, &r, NULL), 1);
    ck_assert(!r.crc_ok);

    struct resp_status st;
    ck_assert_int_eq(resp_decode_status(r.json, r.json_len, &st, NULL), 0);
    ck_assert_str_eq(st.code, "DataLoss");
    ck_assert_str_eq(st.module, "UJS");
    ck_assert_int_eq(st.arg, 42);
    ck_assert_int_eq(resp_decode_status("{\"Ok\":5}", 8, &st, NULL), 0);
    ck_assert_str_eq(st.code, "Ok");
    ck_assert_int_eq(st.arg, 5);
}
END_TEST

START_TEST(status_rejects)
{
    struct resp_status st;
    struct ft_error err = {0};
    const char *bad[] = {"[1]",
                         "{}",
                         "{\"Ok\":\"x\"}",
                         "{\"Internal\":[\"AB\",1]}",
                         "{\"Internal\":[\"ABC\"]}",
                         "{\"A\":1,\"B\":2}",
                         "{\"Internal\":[\"ABC\",1.5]}",
                         "{\"ThisCodeNameIsFarTooLongToBeReal\":[\"ABC\",1]}",
                         "{"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(resp_decode_status(bad[i], strlen(bad[i]), &st, &err) == -1, "accepted %s",
                      bad[i]);
        ck_assert_error(err, FT_E_INVALID, "RESP_ERR status");
    }
}
END_TEST

START_TEST(response_after_other_text)
{
    struct resp_line r;
    ck_assert_int_eq(parse("I00001 foo.c:1] x RESP_OK:{\"value\":305419896} CRC:2792420061",
                           RESP_CRC_REQUIRED, &r, NULL),
                     1);
    ck_assert_mem_eq(r.json, "{", 1);
    /* The last " CRC:" ends the JSON, as the greedy upstream regex does. */
    const char *json = "{\"s\":\" CRC:1\"}";
    char line[128];
    snprintf(line, sizeof(line), "RESP_OK:%s CRC:%u", json, crc32_iso_hdlc(json, strlen(json)));
    ck_assert_int_eq(parse(line, RESP_CRC_REQUIRED, &r, NULL), 1);
    ck_assert_uint_eq(r.json_len, strlen(json));
}
END_TEST

START_TEST(non_response_lines)
{
    struct resp_line r;
    ck_assert_int_eq(parse("Waiting for certificate inputs ...", RESP_CRC_REQUIRED, &r, NULL), 0);
    ck_assert_int_eq(parse("", RESP_CRC_REQUIRED, &r, NULL), 0);
    ck_assert_int_eq(parse("RESP_O", RESP_CRC_REQUIRED, &r, NULL), 0);
}
END_TEST

START_TEST(malformed_tails)
{
    struct resp_line r;
    struct ft_error err = {0};
    const char *bad[] = {"RESP_OK:{}",      "RESP_OK:{} CRC:",   "RESP_OK:{} CRC:12x",
                         "RESP_OK:{}CRC:1", "RESP_ERR:{} crc:1", "RESP_OK:{} CRC:1 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(parse(bad[i], RESP_CRC_NONE, &r, &err) == -1, "accepted %s", bad[i]);
        ck_assert_error(err, FT_E_INVALID, "does not end with");
    }
    ck_assert_int_eq(parse("RESP_OK:{} CRC:4294967296", RESP_CRC_NONE, &r, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "exceeds a u32");
    ck_assert_int_eq(parse("RESP_OK:{} CRC:00000000001", RESP_CRC_NONE, &r, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "11 digits");
}
END_TEST

START_TEST(oversize_line)
{
    size_t len = RESP_LINE_MAX + 1;
    char *line = malloc(len);
    memset(line, ' ', len);
    memcpy(line, "RESP_OK:{", 9);
    struct resp_line r;
    struct ft_error err = {0};
    ck_assert_int_eq(resp_parse_line(line, len, RESP_CRC_NONE, &r, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "exceeds");
    free(line);
}
END_TEST

START_TEST(format_round_trip)
{
    char buf[128];
    struct strbuf sb;
    strbuf_init(&sb, buf, sizeof(buf));
    ck_assert_int_eq(resp_format_ok(&sb, "{\"value\":305419896}", 19, RESP_CRC_REQUIRED, NULL), 0);
    ck_assert_str_eq(buf, "RESP_OK:{\"value\":305419896} CRC:2792420061\n");
    strbuf_init(&sb, buf, sizeof(buf));
    ck_assert_int_eq(resp_format_ok(&sb, "{}", 2, RESP_CRC_NONE, NULL), 0);
    ck_assert_str_eq(buf, "RESP_OK:{} CRC:0\n");
    struct ft_error err = {0};
    strbuf_init(&sb, buf, 10);
    ck_assert_int_eq(resp_format_ok(&sb, "{}", 2, RESP_CRC_NONE, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "does not fit");
    ck_assert_uint_eq(sb.len, 0);
}
END_TEST

static Suite *resp_suite(void)
{
    Suite *s = suite_create("resp");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, reference_example);
    tcase_add_test(tc, crc_covers_padding);
    tcase_add_test(tc, crc_mismatch_fails_ok_lines);
    tcase_add_test(tc, no_crc_policy_accepts_zero_or_true_crc);
    tcase_add_test(tc, err_lines_report_unverifiable_crc);
    tcase_add_test(tc, status_rejects);
    tcase_add_test(tc, response_after_other_text);
    tcase_add_test(tc, non_response_lines);
    tcase_add_test(tc, malformed_tails);
    tcase_add_test(tc, oversize_line);
    tcase_add_test(tc, format_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(resp_suite)
