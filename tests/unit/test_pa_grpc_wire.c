/* pa_grpc: the gRPC wire pieces of the PA client (framing, grpc-timeout, grpc-status,
 * grpc-message, the HTTP status mapping). The client over a real gRPC server is tested
 * end to end in tests/pa/test_pa_grpc.sh. */
#include "pa/pa_grpc.h"
#include "testutil.h"

static const struct pa_rpc_desc *rpc(const char *name)
{
    const struct pa_rpc_desc *r = pa_rpc_find(name, strlen(name));
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(request_is_one_length_prefixed_message)
{
    static const char json[] = "{\"sku\":\"sival\",\"sku_auth\":\"pw\"}";
    uint8_t *body = NULL;
    size_t len = 0;
    struct ft_error err = {0};
    ck_assert_int_eq(
        pa_grpc_request_body(rpc("InitSession"), json, strlen(json), &body, &len, &err), 0);
    /* InitSessionRequest: sku = 1, sku_auth = 2 */
    static const uint8_t want[] = {0,   0,   0,   0,   11,   0x0a, 5,   's',
                                   'i', 'v', 'a', 'l', 0x12, 2,    'p', 'w'};
    ck_assert_uint_eq(len, sizeof(want));
    ck_assert_mem_eq(body, want, sizeof(want));
    free(body);

    ck_assert_int_eq(
        pa_grpc_request_body(rpc("InitSession"), "{\"skew\":1}", 10, &body, &len, &err), -1);
    ck_assert_ptr_null(body);
    ck_assert_ptr_nonnull(strstr(err.message, "skew"));
}
END_TEST

START_TEST(response_converts_to_json)
{
    static const uint8_t body[] = {0, 0, 0, 0, 5, 0x0a, 3, 't', 'o', 'k'};
    char *json = NULL;
    size_t len = 0;
    struct ft_error err = {0};
    ck_assert_int_eq(
        pa_grpc_response_json(rpc("InitSession"), body, sizeof(body), &json, &len, &err), 0);
    ck_assert_str_eq(json, "{\"sku_session_token\":\"tok\"}");
    ck_assert_uint_eq(len, strlen(json));
    free(json);

    static const uint8_t empty[] = {0, 0, 0, 0, 0};
    ck_assert_int_eq(
        pa_grpc_response_json(rpc("CloseSession"), empty, sizeof(empty), &json, &len, &err), 0);
    ck_assert_str_eq(json, "{}");
    free(json);
}
END_TEST

static void refused(const uint8_t *body, size_t len, const char *why)
{
    char *json = NULL;
    size_t json_len = 0;
    struct ft_error err = {0};
    ck_assert_int_eq(pa_grpc_response_json(rpc("InitSession"), body, len, &json, &json_len, &err),
                     -1);
    ck_assert_ptr_null(json);
    ck_assert_msg(strstr(err.message, why) != NULL, "\"%s\" lacks \"%s\"", err.message, why);
}

START_TEST(bad_responses_are_refused)
{
    static const uint8_t compressed[] = {1, 0, 0, 0, 0};
    static const uint8_t short_prefix[] = {0, 0, 0};
    static const uint8_t cut[] = {0, 0, 0, 0, 9, 0x0a, 3, 't'};
    static const uint8_t two[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t huge[] = {0, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t unknown_field[] = {0, 0, 0, 0, 2, 0x78, 1};
    refused(compressed, sizeof(compressed), "compressed");
    refused(short_prefix, sizeof(short_prefix), "holds no message");
    refused(cut, sizeof(cut), "cut short: 3 of 9 bytes");
    refused(two, sizeof(two), "5 bytes after its 0-byte message");
    refused(huge, sizeof(huge), "limit");
    refused(unknown_field, sizeof(unknown_field),
            "field number 15 is not in pa.InitSessionResponse's schema");
}
END_TEST

START_TEST(timeout_header)
{
    char line[PA_GRPC_TIMEOUT_HEADER_MAX];
    pa_grpc_timeout_header(10000, line);
    ck_assert_str_eq(line, "grpc-timeout: 10000m");
    pa_grpc_timeout_header(99999999, line);
    ck_assert_str_eq(line, "grpc-timeout: 99999999m");
    pa_grpc_timeout_header(100000000, line); /* 9 digits: seconds, rounded up */
    ck_assert_str_eq(line, "grpc-timeout: 100000S");
    pa_grpc_timeout_header(100000001, line);
    ck_assert_str_eq(line, "grpc-timeout: 100001S");
}
END_TEST

START_TEST(status_values)
{
    ck_assert_int_eq(pa_grpc_parse_status(" 0\r\n", 4), 0);
    ck_assert_int_eq(pa_grpc_parse_status("14", 2), 14);
    ck_assert_int_eq(pa_grpc_parse_status("16", 2), 16);
    ck_assert_int_eq(pa_grpc_parse_status("17", 2), -1);
    ck_assert_int_eq(pa_grpc_parse_status("", 0), -1);
    ck_assert_int_eq(pa_grpc_parse_status("1x", 2), -1);
    ck_assert_int_eq(pa_grpc_parse_status("014", 3), -1);
}
END_TEST

START_TEST(message_values)
{
    char out[32];
    pa_grpc_decode_message(" no%20such%20SKU%3A sival\r\n", 27, out, sizeof(out));
    ck_assert_str_eq(out, "no such SKU: sival");
    pa_grpc_decode_message("bad %zz %4", 10, out, sizeof(out));
    ck_assert_str_eq(out, "bad %zz %4");
    pa_grpc_decode_message("line%0Abreak", 12, out, sizeof(out));
    ck_assert_str_eq(out, "line?break");
    pa_grpc_decode_message("%E2%9C%93", 9, out, sizeof(out)); /* UTF-8 kept */
    ck_assert_str_eq(out, "\xe2\x9c\x93");
    pa_grpc_decode_message("0123456789", 10, out, 4);
    ck_assert_str_eq(out, "012");
}
END_TEST

START_TEST(http_status_mapping)
{
    ck_assert_int_eq(pa_grpc_code_from_http_status(400), 13);
    ck_assert_int_eq(pa_grpc_code_from_http_status(401), 16);
    ck_assert_int_eq(pa_grpc_code_from_http_status(403), 7);
    ck_assert_int_eq(pa_grpc_code_from_http_status(404), 12);
    ck_assert_int_eq(pa_grpc_code_from_http_status(503), 14);
    ck_assert_int_eq(pa_grpc_code_from_http_status(500), 2);
    ck_assert(pa_grpc_code_transient(14));
    ck_assert(!pa_grpc_code_transient(13));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("pa_grpc");
    TCase *tc = tcase_create("wire");
    tcase_add_test(tc, request_is_one_length_prefixed_message);
    tcase_add_test(tc, response_converts_to_json);
    tcase_add_test(tc, bad_responses_are_refused);
    tcase_add_test(tc, timeout_header);
    tcase_add_test(tc, status_values);
    tcase_add_test(tc, message_values);
    tcase_add_test(tc, http_status_mapping);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(make_suite)
