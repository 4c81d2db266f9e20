/* wire/perso_tlv and wire/perso_blob: golden bytes, every rejection rule, round trips. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "wire/fw_gen.h"
#include "wire/perso_blob.h"
#include "wire/perso_tlv.h"

/* Fills out[0..total) with a DER SEQUENCE of exactly `total` bytes (minimal length form),
 * content bytes derived from `seed`. */
static void make_der(uint8_t *out, size_t total, unsigned seed)
{
    size_t header = total - 2 < 0x80 ? 2 : total - 3 < 0x100 ? 3 : total - 4 < 0x10000 ? 4 : 5;
    size_t content = total - header;
    out[0] = 0x30;
    if (header == 2) {
        out[1] = (uint8_t)content;
    } else if (header == 3) {
        out[1] = 0x81;
        out[2] = (uint8_t)content;
    } else if (header == 4) {
        out[1] = 0x82;
        out[2] = (uint8_t)(content >> 8);
        out[3] = (uint8_t)content;
    } else {
        out[1] = 0x83;
        out[2] = (uint8_t)(content >> 16);
        out[3] = (uint8_t)(content >> 8);
        out[4] = (uint8_t)content;
    }
    for (size_t i = header; i < total; i++)
        out[i] = (uint8_t)(i * 31 + seed);
}

/* Decodes a one-object V0/V1 body and returns the iterator's result with `err`. */
static int decode_first(const uint8_t *body, size_t len, enum perso_blob_version v,
                        struct perso_obj *obj, struct ft_error *err)
{
    struct perso_tlv_iter it;
    if (perso_tlv_iter_init(&it, body, len, v, err) != 0)
        return -1;
    return perso_tlv_iter_next(&it, obj, err);
}

START_TEST(golden_v0_uds_tbs)
{
    /* Reference §4.2: a 671-byte UDS TBS gives 02 A6 | 32 A4 | 55 44 53 | 30 82 02 9B. */
    uint8_t tbs[671];
    make_der(tbs, sizeof(tbs), 1);
    uint8_t body[1024];
    struct perso_tlv_writer w;
    ck_assert_int_eq(perso_tlv_writer_init(&w, body, sizeof(body), PERSO_BLOB_V0, NULL), 0);
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_X509_TBS, "UDS", tbs, sizeof(tbs), NULL),
                     0);
    const uint8_t want[] = {0x02, 0xA6, 0x32, 0xA4, 0x55, 0x44, 0x53, 0x30, 0x82, 0x02, 0x9B};
    ck_assert_mem_eq(body, want, sizeof(want));
    ck_assert_uint_eq(w.len, 678);
    ck_assert_uint_eq(w.num_objs, 1);

    struct perso_obj obj;
    ck_assert_int_eq(decode_first(body, w.len, PERSO_BLOB_V0, &obj, NULL), 1);
    ck_assert_int_eq(obj.type, PERSO_OBJ_X509_TBS);
    ck_assert_str_eq(obj.name, "UDS");
    ck_assert_uint_eq(obj.cert_len, 671);
    ck_assert_uint_eq(obj.size, 678);
    ck_assert_mem_eq(obj.cert, tbs, sizeof(tbs));
}
END_TEST

START_TEST(golden_v0_endorsed_and_data_headers)
{
    /* Endorsed UDS with objh 12 FE (reference §4.2; its "761 bytes" does not match its own
     * header, 0x2FE = 766 = 2 + 2 + 3 + 759); WAS HMAC 40 22; DeviceId 50 22; hash 70 22;
     * DevSeed 20 82. */
    uint8_t cert[759];
    make_der(cert, sizeof(cert), 2);
    uint8_t digest[32] = {0};
    uint8_t seed[128] = {0};
    uint8_t body[2048];
    struct perso_tlv_writer w;
    perso_tlv_writer_init(&w, body, sizeof(body), PERSO_BLOB_V0, NULL);
    ck_assert_int_eq(
        perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, "UDS", cert, sizeof(cert), NULL), 0);
    ck_assert_uint_eq(body[0], 0x12);
    ck_assert_uint_eq(body[1], 0xFE);
    size_t at = w.len;
    ck_assert_int_eq(perso_tlv_append_data(&w, PERSO_OBJ_WAS_TBS_HMAC, digest, 32, NULL), 0);
    ck_assert_int_eq(perso_tlv_append_data(&w, PERSO_OBJ_DEVICE_ID, digest, 32, NULL), 0);
    ck_assert_int_eq(perso_tlv_append_data(&w, PERSO_OBJ_PERSO_SHA256_HASH, digest, 32, NULL), 0);
    ck_assert_int_eq(perso_tlv_append_data(&w, PERSO_OBJ_DEV_SEED, seed, 128, NULL), 0);
    const uint8_t heads[][2] = {{0x40, 0x22}, {0x50, 0x22}, {0x70, 0x22}, {0x20, 0x82}};
    const size_t sizes[] = {34, 34, 34, 130};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_mem_eq(body + at, heads[i], 2);
        at += sizes[i];
    }
    ck_assert_uint_eq(at, w.len);
    size_t count;
    ck_assert_int_eq(perso_tlv_count(body, w.len, PERSO_BLOB_V0, &count, NULL), 0);
    ck_assert_uint_eq(count, 5);
}
END_TEST

START_TEST(golden_v1_version_object_and_headers)
{
    uint8_t tbs[671];
    make_der(tbs, sizeof(tbs), 3);
    uint8_t body[1024];
    struct perso_tlv_writer w;
    ck_assert_int_eq(perso_tlv_writer_init(&w, body, sizeof(body), PERSO_BLOB_V1, NULL), 0);
    const uint8_t version[] = {0xF0, 0x04, 0x00, 0x01};
    ck_assert_mem_eq(body, version, 4);
    ck_assert_uint_eq(w.num_objs, 1);
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_X509_TBS, "UDS", tbs, sizeof(tbs), NULL),
                     0);
    /* obj size = 4 + 4 + 3 + 671 = 682 = 0x2AA; wrapped = 678 = 0x2A6; name_len 3. */
    const uint8_t want[] = {0x00, 0x00, 0x02, 0xAA, 0x03, 0x00, 0x02,
                            0xA6, 'U',  'D',  'S',  0x30, 0x82};
    ck_assert_mem_eq(body + 4, want, sizeof(want));
    ck_assert_uint_eq(w.num_objs, 2);

    struct perso_obj obj;
    ck_assert_int_eq(decode_first(body, w.len, PERSO_BLOB_V1, &obj, NULL), 1);
    ck_assert_uint_eq(obj.index, 1);
    ck_assert_uint_eq(obj.offset, 4);
    ck_assert_str_eq(obj.name, "UDS");
    size_t count;
    ck_assert_int_eq(perso_tlv_count(body, w.len, PERSO_BLOB_V1, &count, NULL), 0);
    ck_assert_uint_eq(count, 2);
    /* An empty V1 body still holds the version object. */
    ck_assert_int_eq(perso_tlv_count(body, 4, PERSO_BLOB_V1, &count, NULL), 0);
    ck_assert_uint_eq(count, 1);
}
END_TEST

/* ---- rejection rules ---------------------------------------------------------------- */

static void expect_reject(const uint8_t *body, size_t len, enum perso_blob_version v,
                          enum ft_code code, const char *needle)
{
    struct ft_error err = {0};
    size_t count;
    ck_assert_int_eq(perso_tlv_count(body, len, v, &count, &err), -1);
    ck_assert_error(err, code, needle);
}

START_TEST(reject_truncated_header)
{
    const uint8_t v0[] = {0x40};
    expect_reject(v0, sizeof(v0), PERSO_BLOB_V0, FT_E_TRUNCATED,
                  "object 0 at offset 0: 1 bytes left, the header needs 2");
    const uint8_t v1[] = {0xF0, 0x04, 0x00, 0x01, 0x04, 0x00};
    expect_reject(v1, sizeof(v1), PERSO_BLOB_V1, FT_E_TRUNCATED,
                  "object 1 at offset 4: 2 bytes left, the header needs 4");
}
END_TEST

START_TEST(reject_size_below_header)
{
    const uint8_t zero[] = {0x40, 0x00};
    expect_reject(zero, sizeof(zero), PERSO_BLOB_V0, FT_E_INVALID,
                  "declared size 0 is smaller than its 2-byte header");
    const uint8_t one[] = {0x40, 0x01, 0x00};
    expect_reject(one, sizeof(one), PERSO_BLOB_V0, FT_E_INVALID, "declared size 1");
    const uint8_t v1[] = {0xF0, 0x04, 0x00, 0x01, 0x04, 0x00, 0x00, 0x03};
    expect_reject(v1, sizeof(v1), PERSO_BLOB_V1, FT_E_INVALID,
                  "declared size 3 is smaller than its 4-byte header");
}
END_TEST

START_TEST(reject_size_past_body)
{
    uint8_t body[20] = {0x40, 0x22};
    expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_TRUNCATED,
                  "declared size 34 exceeds the 20 bytes left");
}
END_TEST

START_TEST(reject_unknown_type)
{
    for (unsigned type = 8; type < 15; type++) {
        uint8_t body[4] = {(uint8_t)(type << 4), 0x04};
        char want[64];
        snprintf(want, sizeof(want), "unknown object type %u", type);
        expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_INVALID, want);
    }
    const uint8_t v1[] = {0xF0, 0x04, 0x00, 0x01, 0x10, 0x00, 0x00, 0x04};
    expect_reject(v1, sizeof(v1), PERSO_BLOB_V1, FT_E_INVALID, "unknown object type 16");
}
END_TEST

START_TEST(reject_version_object_misplaced)
{
    const uint8_t v0[] = {0xF0, 0x04, 0x00, 0x01};
    expect_reject(v0, sizeof(v0), PERSO_BLOB_V0, FT_E_INVALID,
                  "version object may only open a V1 body");
    /* A second version object inside a V1 body (V1-encoded header, type 15). */
    const uint8_t v1[] = {0xF0, 0x04, 0x00, 0x01, 0x0F, 0x00, 0x00, 0x06, 0x00, 0x01};
    expect_reject(v1, sizeof(v1), PERSO_BLOB_V1, FT_E_INVALID,
                  "object 1 at offset 4: a version object");
}
END_TEST

START_TEST(reject_v1_without_version_object)
{
    uint8_t digest_obj[36] = {0x04, 0x00, 0x00, 0x24};
    expect_reject(digest_obj, sizeof(digest_obj), PERSO_BLOB_V1, FT_E_INVALID,
                  "must start with the version object");
    const uint8_t short_body[] = {0xF0, 0x04, 0x00};
    expect_reject(short_body, sizeof(short_body), PERSO_BLOB_V1, FT_E_TRUNCATED,
                  "body has 3 bytes");
    const uint8_t wrong_version[] = {0xF0, 0x04, 0x00, 0x02};
    expect_reject(wrong_version, sizeof(wrong_version), PERSO_BLOB_V1, FT_E_INVALID,
                  "says version 2, expected 1");
    const uint8_t wrong_size[] = {0xF0, 0x06, 0x00, 0x01, 0x00, 0x00};
    expect_reject(wrong_size, sizeof(wrong_size), PERSO_BLOB_V1, FT_E_INVALID, "found F0 06");
    expect_reject(NULL, 0, PERSO_BLOB_V1, FT_E_TRUNCATED, "body has 0 bytes");
}
END_TEST

START_TEST(reject_cert_without_cert_header)
{
    const uint8_t body[] = {0x00, 0x03, 0x30};
    expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_TRUNCATED,
                  "too small for its 2-byte cert header");
}
END_TEST

START_TEST(reject_wrapped_size_mismatch)
{
    /* Object of 10 bytes: crth claims wrapped 9 instead of 8. */
    const uint8_t body[] = {0x00, 0x0A, 0x10, 0x09, 'X', 0x30, 0x03, 0x01, 0x01, 0x00};
    expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_INVALID,
                  "wrapped size 9 does not match the 8 bytes");
}
END_TEST

START_TEST(reject_name_length)
{
    const uint8_t no_name[] = {0x00, 0x08, 0x00, 0x06, 0x30, 0x02, 0x01, 0x00};
    expect_reject(no_name, sizeof(no_name), PERSO_BLOB_V0, FT_E_INVALID,
                  "cert name length 0 is outside 1..15");
    /* V1: name_len 200 in an object with 6 bytes after the cert header. */
    const uint8_t long_name[] = {0xF0, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0E, 0xC8,
                                 0x00, 0x00, 0x0A, 'A',  'B',  0x30, 0x02, 0x01, 0x00};
    expect_reject(long_name, sizeof(long_name), PERSO_BLOB_V1, FT_E_TRUNCATED,
                  "name of 200 bytes runs past");

    uint8_t der[8];
    make_der(der, sizeof(der), 0);
    uint8_t buf[64];
    struct perso_tlv_writer w;
    struct ft_error err = {0};
    perso_tlv_writer_init(&w, buf, sizeof(buf), PERSO_BLOB_V0, NULL);
    ck_assert_int_eq(
        perso_tlv_append_cert(&w, PERSO_OBJ_X509_TBS, "SIXTEEN_CHARS_XX", der, sizeof(der), &err),
        -1);
    ck_assert_error(err, FT_E_INVALID, "cert name length 16 is outside 1..15");
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_X509_TBS, "", der, sizeof(der), &err), -1);
    ck_assert_error(err, FT_E_INVALID, "length 0");
    ck_assert_uint_eq(w.len, 0);
}
END_TEST

START_TEST(reject_name_not_printable)
{
    const uint8_t body[] = {0x00, 0x09, 0x10, 0x07, 0x01, 0x30, 0x03, 0x01, 0x01};
    expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_INVALID,
                  "cert name byte 0 is 0x01, not printable ASCII");
}
END_TEST

START_TEST(reject_bad_der)
{
    /* name "A", cert bytes vary; obj = 2 + 2 + 1 + 4 = 9, wrapped 7. */
    uint8_t body[] = {0x00, 0x09, 0x10, 0x07, 'A', 0x31, 0x02, 0x01, 0x00};
    expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_INVALID,
                  "cert \"A\": X509Tbs body is not a DER SEQUENCE");
    body[5] = 0x30;
    body[6] = 0x05;
    expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_INVALID,
                  "DER length 7 does not match the body size 4");
    body[6] = 0x84;
    expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_INVALID, "malformed DER length (0x84)");
    body[6] = 0x81; /* long form for a short length is not minimal DER */
    body[7] = 0x01;
    expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_INVALID, "malformed DER length (0x81)");

    /* X509Cert must use the 30 82 HH LL form the device reads. */
    uint8_t der[200];
    make_der(der, sizeof(der), 9); /* 30 81 C5 ... */
    uint8_t buf[256];
    struct perso_tlv_writer w;
    struct ft_error err = {0};
    perso_tlv_writer_init(&w, buf, sizeof(buf), PERSO_BLOB_V0, NULL);
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_X509_TBS, "T", der, sizeof(der), &err), 0);
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, "C", der, sizeof(der), &err),
                     -1);
    ck_assert_error(err, FT_E_INVALID, "must start 30 82 HH LL");
    buf[0] = 0x10 | (buf[0] & 0x0F); /* retype the TBS object as an X509Cert */
    expect_reject(buf, w.len, PERSO_BLOB_V0, FT_E_INVALID, "must start 30 82 HH LL");
}
END_TEST

START_TEST(reject_empty_cwt)
{
    const uint8_t body[] = {0x30, 0x05, 0x10, 0x03, 'C'};
    expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_INVALID, "CwtCert body is empty");
}
END_TEST

START_TEST(reject_data_sizes)
{
    uint8_t body[200] = {0};
    body[0] = 0x40;
    body[1] = 2 + 31;
    expect_reject(body, 33, PERSO_BLOB_V0, FT_E_INVALID,
                  "WasTbsHmac payload is 31 bytes, must be 32");
    body[0] = 0x50;
    body[1] = 2 + 33;
    expect_reject(body, 35, PERSO_BLOB_V0, FT_E_INVALID, "DeviceId payload is 33 bytes");
    body[0] = 0x70;
    body[1] = 2;
    expect_reject(body, 2, PERSO_BLOB_V0, FT_E_INVALID, "PersoSha256Hash payload is 0 bytes");
    body[0] = 0x20;
    body[1] = 2 + 127;
    expect_reject(body, 129, PERSO_BLOB_V0, FT_E_INVALID,
                  "DevSeed payload is 127 bytes, must be 128");
    body[0] = 0x60;
    body[1] = 2;
    expect_reject(body, 2, PERSO_BLOB_V0, FT_E_INVALID,
                  "GenericSeed payload is 0 bytes, must be 1..128");
    body[1] = 2 + 129; /* the ATE's seed buffer holds 128 (ate_perso_blob.cc) */
    expect_reject(body, 131, PERSO_BLOB_V0, FT_E_INVALID, "GenericSeed payload is 129 bytes");
}
END_TEST

/* master writes PersoSha256Hash with a V0 header in a V1 blob (ft_personalize.c); the
 * TPM extension its TBS (both earlgrey-1.0.0 and master). Taken only for the types the
 * generation is known to write that way, and only when the V1 reading is invalid. */
START_TEST(mixed_headers_in_v1)
{
    uint8_t body[128];
    struct perso_tlv_writer w;
    const uint8_t digest[32] = {1, 2, 3};
    ck_assert_int_eq(perso_tlv_writer_init(&w, body, sizeof(body), PERSO_BLOB_V1, NULL), 0);
    ck_assert_int_eq(perso_tlv_append_data(&w, PERSO_OBJ_DEVICE_ID, digest, 32, NULL), 0);
    ck_assert_int_eq(
        perso_tlv_append_data_as(&w, PERSO_BLOB_V0, PERSO_OBJ_PERSO_SHA256_HASH, digest, 32, NULL),
        0);
    ck_assert_uint_eq(body[4 + 36], 0x70); /* V0 header 70 22 */
    ck_assert_uint_eq(body[4 + 37], 0x22);
    struct ft_error err = {0};
    size_t count;
    /* Strict V1: the V0 header reads as type 0x70. */
    ck_assert_int_eq(perso_tlv_count(body, w.len, PERSO_BLOB_V1, &count, &err), -1);
    ck_assert_error(err, FT_E_TRUNCATED, "object 2 at offset 40");
    /* Allowed for another type only: still refused. */
    ck_assert_int_eq(perso_tlv_count_mixed(body, w.len, PERSO_BLOB_V1,
                                           FW_GEN_BIT(PERSO_OBJ_X509_TBS), &count, NULL),
                     -1);
    ck_assert_int_eq(perso_tlv_count_mixed(body, w.len, PERSO_BLOB_V1,
                                           FW_GEN_BIT(PERSO_OBJ_PERSO_SHA256_HASH), &count, &err),
                     0);
    ck_assert_uint_eq(count, 3);
    struct perso_tlv_iter it;
    struct perso_obj obj;
    perso_tlv_iter_init(&it, body, w.len, PERSO_BLOB_V1, NULL);
    perso_tlv_iter_allow_v0(&it, FW_GEN_BIT(PERSO_OBJ_PERSO_SHA256_HASH));
    ck_assert_int_eq(perso_tlv_iter_next(&it, &obj, NULL), 1);
    ck_assert_int_eq(obj.header_version, PERSO_BLOB_V1);
    ck_assert_int_eq(perso_tlv_iter_next(&it, &obj, NULL), 1);
    ck_assert_int_eq(obj.type, PERSO_OBJ_PERSO_SHA256_HASH);
    ck_assert_int_eq(obj.header_version, PERSO_BLOB_V0);
    ck_assert_uint_eq(obj.payload[0], 1);
    /* The writer puts V0 headers in V1 bodies only, never V1 in V0. */
    ck_assert_int_eq(perso_tlv_writer_init(&w, body, sizeof(body), PERSO_BLOB_V0, NULL), 0);
    ck_assert_int_eq(
        perso_tlv_append_data_as(&w, PERSO_BLOB_V1, PERSO_OBJ_DEVICE_ID, digest, 32, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "V1 headers in a V0 body");
}
END_TEST

START_TEST(reject_error_names_position)
{
    /* Two good digest objects, then a bad one: the message names object 2 at offset 68. */
    uint8_t body[34 * 3] = {0};
    for (int i = 0; i < 3; i++) {
        body[34 * i] = 0x40;
        body[34 * i + 1] = 0x22;
    }
    body[68] = 0x90;
    expect_reject(body, sizeof(body), PERSO_BLOB_V0, FT_E_INVALID,
                  "object 2 at offset 68: unknown object type 9");
}
END_TEST

START_TEST(reject_blob_counts)
{
    struct perso_blob blob = {0};
    struct perso_tlv_writer w;
    uint8_t digest[32] = {0};
    perso_tlv_writer_init(&w, blob.body, sizeof(blob.body), PERSO_BLOB_V1, NULL);
    perso_tlv_append_data(&w, PERSO_OBJ_DEVICE_ID, digest, 32, NULL);
    blob.next_free = (uint32_t)w.len;
    blob.num_objs = 2;
    ck_assert_int_eq(perso_blob_validate(&blob, PERSO_BLOB_V1, NULL), 0);

    struct ft_error err = {0};
    blob.num_objs = 1; /* the V1 version object counts */
    ck_assert_int_eq(perso_blob_validate(&blob, PERSO_BLOB_V1, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "num_objs is 1 but the body holds 2 objects");
    blob.num_objs = 2;
    ck_assert_int_eq(perso_blob_validate(&blob, PERSO_BLOB_V0, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "perso blob: object 0 at offset 0");
    blob.next_free = PERSO_BLOB_BODY_MAX + 1;
    ck_assert_int_eq(perso_blob_validate(&blob, PERSO_BLOB_V1, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "next_free 5121 exceeds");
    blob.next_free = (uint32_t)w.len - 1;
    ck_assert_int_eq(perso_blob_validate(&blob, PERSO_BLOB_V1, &err), -1);
    ck_assert_error(err, FT_E_TRUNCATED, "object 1 at offset 4");
}
END_TEST

START_TEST(writer_limits)
{
    static uint8_t big[5000];
    static uint8_t buf[8192];
    struct perso_tlv_writer w;
    struct ft_error err = {0};
    uint8_t digest[32] = {0};

    make_der(big, 4092, 5); /* 2 + 2 + 1 + 4092 = 4097 > 4095 */
    perso_tlv_writer_init(&w, buf, sizeof(buf), PERSO_BLOB_V0, NULL);
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_X509_TBS, "A", big, 4092, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "size 4097 exceeds the V0 limit of 4095");
    make_der(big, 4090, 5);
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_X509_TBS, "A", big, 4090, &err), 0);
    ck_assert_uint_eq(w.len, 4095);

    /* V1 carries the same cert, and a larger one. */
    make_der(big, sizeof(big), 6);
    perso_tlv_writer_init(&w, buf, PERSO_BLOB_BODY_MAX, PERSO_BLOB_V1, NULL);
    ck_assert_int_eq(
        perso_tlv_append_cert(&w, PERSO_OBJ_X509_TBS, "PQ_UDS_87", big, sizeof(big), &err), 0);
    size_t before = w.len;
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_X509_TBS, "PQ_UDS_87", big, 200, &err),
                     -1);
    ck_assert_error(err, FT_E_INVALID,
                    "DER length"); /* a 200-byte prefix is not a whole SEQUENCE */
    ck_assert_int_eq(perso_tlv_append_data(&w, PERSO_OBJ_DEV_SEED, buf, 128, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "do not fit");
    ck_assert_uint_eq(w.len, before);
    ck_assert_int_eq(perso_tlv_append_data(&w, PERSO_OBJ_X509_TBS, digest, 32, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "not a data object");
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_DEVICE_ID, "X", big, 10, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "not a cert object");
    ck_assert_int_eq(perso_tlv_writer_init(&w, buf, 3, PERSO_BLOB_V1, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "version object");
    ck_assert_int_eq(perso_tlv_writer_init(&w, buf, 3, (enum perso_blob_version)2, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "unknown perso blob version 2");
}
END_TEST

/* ---- round trips --------------------------------------------------------------------- */

struct expected_obj {
    enum perso_obj_type type;
    char name[PERSO_CERT_NAME_MAX_V1 + 1];
    uint8_t data[1400];
    size_t len;
};

static const enum perso_obj_type all_types[] = {
    PERSO_OBJ_X509_TBS,     PERSO_OBJ_X509_CERT,         PERSO_OBJ_DEV_SEED,
    PERSO_OBJ_CWT_CERT,     PERSO_OBJ_WAS_TBS_HMAC,      PERSO_OBJ_DEVICE_ID,
    PERSO_OBJ_GENERIC_SEED, PERSO_OBJ_PERSO_SHA256_HASH,
};

/* Makes a random valid object of `type`. */
static void random_obj(struct expected_obj *o, enum perso_obj_type type, enum perso_blob_version v,
                       uint64_t *rng)
{
    o->type = type;
    o->name[0] = '\0';
    switch (type) {
    case PERSO_OBJ_X509_TBS:
        o->len = 2 + test_rand(rng) % 1300;
        make_der(o->data, o->len, (unsigned)test_rand(rng));
        break;
    case PERSO_OBJ_X509_CERT:
        o->len = 260 + test_rand(rng) % 1100;
        make_der(o->data, o->len, (unsigned)test_rand(rng));
        break;
    case PERSO_OBJ_CWT_CERT:
        o->len = 1 + test_rand(rng) % 900;
        break;
    case PERSO_OBJ_DEV_SEED:
        o->len = PERSO_DEV_SEED_SIZE;
        break;
    case PERSO_OBJ_GENERIC_SEED:
        o->len = 1 + test_rand(rng) % PERSO_GENERIC_SEED_MAX;
        break;
    default:
        o->len = PERSO_DIGEST_SIZE;
        break;
    }
    if (type != PERSO_OBJ_X509_TBS && type != PERSO_OBJ_X509_CERT) {
        for (size_t i = 0; i < o->len; i++)
            o->data[i] = (uint8_t)test_rand(rng);
    }
    if (perso_obj_type_is_cert(type)) {
        size_t max = v == PERSO_BLOB_V1 ? 40 : PERSO_CERT_NAME_MAX_V0;
        size_t name_len = 1 + test_rand(rng) % max;
        for (size_t i = 0; i < name_len; i++)
            o->name[i] = (char)(0x20 + test_rand(rng) % 95);
        o->name[name_len] = '\0';
    }
}

static void check_matches(const struct perso_obj *got, const struct expected_obj *want)
{
    ck_assert_int_eq(got->type, want->type);
    if (perso_obj_type_is_cert(want->type)) {
        ck_assert_str_eq(got->name, want->name);
        ck_assert_uint_eq(got->cert_len, want->len);
        ck_assert_mem_eq(got->cert, want->data, want->len);
    } else {
        ck_assert_uint_eq(got->payload_len, want->len);
        ck_assert_mem_eq(got->payload, want->data, want->len);
    }
}

START_TEST(round_trip_generated_blobs)
{
    static struct expected_obj objs[64];
    static uint8_t body[PERSO_BLOB_BODY_MAX];
    static uint8_t again[PERSO_BLOB_BODY_MAX];
    static uint8_t other[PERSO_BLOB_BODY_MAX];
    uint64_t rng = 0x9E3779B97F4A7C15ULL + (uint64_t)_i;
    size_t type_seen[16] = {0};

    for (int round = 0; round < 200; round++) {
        enum perso_blob_version v = round % 2 ? PERSO_BLOB_V1 : PERSO_BLOB_V0;
        struct perso_tlv_writer w;
        ck_assert_int_eq(perso_tlv_writer_init(&w, body, sizeof(body), v, NULL), 0);
        size_t n = 0;
        /* Cycle through every type first so each round has a mix, then random ones. */
        while (n < 64) {
            enum perso_obj_type type =
                n < 8 ? all_types[(n + (size_t)round) % 8] : all_types[test_rand(&rng) % 8];
            random_obj(&objs[n], type, v, &rng);
            int rc =
                perso_obj_type_is_cert(type)
                    ? perso_tlv_append_cert(&w, type, objs[n].name, objs[n].data, objs[n].len, NULL)
                    : perso_tlv_append_data(&w, type, objs[n].data, objs[n].len, NULL);
            if (rc != 0)
                break; /* body full */
            type_seen[type]++;
            n++;
        }
        size_t first = v == PERSO_BLOB_V1 ? 1 : 0;
        ck_assert_uint_eq(w.num_objs, n + first);

        /* decode(encode(x)) == x, and encode(decode(y)) == y byte for byte. */
        struct perso_tlv_iter it;
        struct perso_tlv_writer rw;
        struct perso_tlv_writer cross;
        enum perso_blob_version other_v = v == PERSO_BLOB_V1 ? PERSO_BLOB_V0 : PERSO_BLOB_V1;
        ck_assert_int_eq(perso_tlv_iter_init(&it, body, w.len, v, NULL), 0);
        perso_tlv_writer_init(&rw, again, sizeof(again), v, NULL);
        perso_tlv_writer_init(&cross, other, sizeof(other), other_v, NULL);
        struct perso_obj obj;
        struct ft_error err = {0};
        size_t i = 0;
        int rc;
        bool cross_ok = true;
        while ((rc = perso_tlv_iter_next(&it, &obj, &err)) == 1) {
            ck_assert_uint_lt(i, n);
            check_matches(&obj, &objs[i]);
            ck_assert_uint_eq(obj.index, i + first);
            ck_assert_int_eq(perso_tlv_append_obj(&rw, &obj, NULL), 0);
            if (cross_ok && perso_tlv_append_obj(&cross, &obj, NULL) != 0)
                cross_ok = false; /* V1 headers are larger, or V0 limits are tighter */
            i++;
        }
        ck_assert_msg(rc == 0, "round %d: %s", round, err.message);
        ck_assert_uint_eq(i, n);
        ck_assert_uint_eq(rw.len, w.len);
        ck_assert_mem_eq(again, body, w.len);

        if (cross_ok) {
            /* Re-encoding in the other version keeps every object. */
            ck_assert_int_eq(perso_tlv_iter_init(&it, other, cross.len, other_v, NULL), 0);
            for (size_t k = 0; k < n; k++) {
                ck_assert_int_eq(perso_tlv_iter_next(&it, &obj, NULL), 1);
                check_matches(&obj, &objs[k]);
            }
            ck_assert_int_eq(perso_tlv_iter_next(&it, &obj, NULL), 0);
        }
    }
    for (size_t t = 0; t < 8; t++)
        ck_assert_msg(type_seen[all_types[t]] > 0, "type %s never generated",
                      perso_obj_type_name(all_types[t]));
}
END_TEST

static Suite *perso_tlv_suite(void)
{
    Suite *s = suite_create("perso_tlv");
    TCase *golden = tcase_create("golden");
    tcase_add_test(golden, golden_v0_uds_tbs);
    tcase_add_test(golden, golden_v0_endorsed_and_data_headers);
    tcase_add_test(golden, golden_v1_version_object_and_headers);
    suite_add_tcase(s, golden);

    TCase *reject = tcase_create("reject");
    tcase_add_test(reject, reject_truncated_header);
    tcase_add_test(reject, reject_size_below_header);
    tcase_add_test(reject, reject_size_past_body);
    tcase_add_test(reject, reject_unknown_type);
    tcase_add_test(reject, reject_version_object_misplaced);
    tcase_add_test(reject, reject_v1_without_version_object);
    tcase_add_test(reject, reject_cert_without_cert_header);
    tcase_add_test(reject, reject_wrapped_size_mismatch);
    tcase_add_test(reject, reject_name_length);
    tcase_add_test(reject, reject_name_not_printable);
    tcase_add_test(reject, reject_bad_der);
    tcase_add_test(reject, reject_empty_cwt);
    tcase_add_test(reject, reject_data_sizes);
    tcase_add_test(reject, mixed_headers_in_v1);
    tcase_add_test(reject, reject_error_names_position);
    tcase_add_test(reject, reject_blob_counts);
    tcase_add_test(reject, writer_limits);
    suite_add_tcase(s, reject);

    TCase *round = tcase_create("round_trip");
    tcase_add_loop_test(round, round_trip_generated_blobs, 0, 5);
    tcase_set_timeout(round, 60);
    suite_add_tcase(s, round);
    return s;
}

FT_TEST_MAIN(perso_tlv_suite)
