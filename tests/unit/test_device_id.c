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
    /* Expected bytes computed independently with the orchestrator's struct layout, in
     * TLV/OTP order: word 0 (bytes 0..3, little-endian) is hw_origin. */
    static const uint8_t want[32] = {
        0x01, 0x40, 0x02, 0x00, 0x25, 0x21, 0x04, 0x07, 0x56, 0x34, 0x12,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x56, 0x53, 0x00, 0x00,
        0x00, 0x00, 0x41, 0x56, 0x49, 0x53, 0x00, 0x00, 0x00, 0x01,
    };
    struct device_id_fields f = sample();
    uint8_t id[32];
    ck_assert_int_eq(device_id_encode(&f, id, NULL), 0);
    ck_assert_mem_eq(id, want, sizeof(want));
}
END_TEST

/* The one form people see (record, logs, registry GET and export) is the registry's:
 * upstream DeviceIdToHexString, "0x%032x%08x%016x%04x%04x" of sku_specific, 0, DIN,
 * product_id, silicon_creator_id. Expected strings written out by hand from that format. */
START_TEST(registry_string)
{
    struct device_id_fields f = sample();
    uint8_t id[32];
    char text[DEVICE_ID_STRING_LEN + 1];
    ck_assert_int_eq(device_id_encode(&f, id, NULL), 0);
    device_id_to_string(id, text);
    ck_assert_str_eq(text, "0x0000565300000000415649530000000100000000001234560704212500024001");

    /* sku_specific in byte order (not reversed), cp_reserved never shown, DIN, product
     * and creator read as little-endian integers. */
    uint8_t raw[32] = {0x01, 0x40, 0x02, 0x00};
    static const uint8_t din_le[8] = {0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01};
    memcpy(raw + 4, din_le, sizeof(din_le));
    memset(raw + 12, 0xA5, 4); /* cp_reserved */
    for (int i = 0; i < 16; i++)
        raw[16 + i] = (uint8_t)(0x10 + i);
    device_id_to_string(raw, text);
    ck_assert_str_eq(text, "0x101112131415161718191a1b1c1d1e1f000000000123456789abcdef00024001");
    ck_assert_uint_eq(strlen(text), DEVICE_ID_STRING_LEN);
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
    tcase_add_test(tc, registry_string);
    tcase_add_test(tc, blind_assembly_din);
    tcase_add_test(tc, rejects_bad_fields);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(device_id_suite)
