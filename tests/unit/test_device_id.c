/* wire/device_id: layout, BCD DIN, names, ranges. */
#include "testutil.h"
#include "wire/device_id.h"

static struct device_id_fields sample(void)
{
    struct device_id_fields f = {
        .si_creator_id = 0x4001,
        .product_id = 0x0002,
        .year = 5,
        .week = 12,
        .lot = 42,
        .wafer = 7,
        .x = 456,
        .y = 123,
        .otp = "sv00",
        .sku = "sival",
    };
    return f;
}

START_TEST(matches_orchestrator_layout)
{
    /* Expected value computed independently with the orchestrator's struct layout. */
    struct device_id_fields f = sample();
    uint8_t id[32];
    char hex[65];
    ck_assert_int_eq(device_id_encode(&f, id, NULL), 0);
    device_id_to_hex(id, hex);
    ck_assert_str_eq(hex, "0100000053495641000000005356000000000000001234560704212500024001");
    /* TLV/OTP order: word 0 (bytes 0..3, little-endian) is hw_origin. */
    ck_assert_uint_eq(id[0], 0x01);
    ck_assert_uint_eq(id[1], 0x40);
}
END_TEST

START_TEST(blind_assembly_din)
{
    struct device_id_fields f = sample();
    f.blind_assembly = true;
    f.year = 99; /* ignored */
    uint8_t id[32];
    ck_assert_int_eq(device_id_encode(&f, id, NULL), 0);
    for (int i = 4; i < 12; i++)
        ck_assert_uint_eq(id[i], 0xFF);
}
END_TEST

START_TEST(rejects_bad_fields)
{
    uint8_t id[32];
    struct ft_error err = {0};
    struct device_id_fields f = sample();
    f.week = 52;
    ck_assert_int_eq(device_id_encode(&f, id, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "week 52 is outside 0..51");
    f = sample();
    f.x = 1000;
    ck_assert_int_eq(device_id_encode(&f, id, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "x 1000");
    f = sample();
    f.otp = "s00";
    ck_assert_int_eq(device_id_encode(&f, id, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "OTP name \"s00\"");
    f = sample();
    f.otp = "svzz";
    ck_assert_int_eq(device_id_encode(&f, id, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "2 hex digits");
    f = sample();
    f.sku = "";
    ck_assert_int_eq(device_id_encode(&f, id, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "SKU name is empty");
}
END_TEST

static Suite *device_id_suite(void)
{
    Suite *s = suite_create("device_id");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, matches_orchestrator_layout);
    tcase_add_test(tc, blind_assembly_din);
    tcase_add_test(tc, rejects_bad_fields);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(device_id_suite)
