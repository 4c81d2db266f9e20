/* wire/devmsg: strict decoding of PersoBlob and SerdesSha256Hash from the device. */
#include <stdio.h>

#include "testutil.h"
#include "wire/devmsg.h"
#include "wire/ujson.h"

static char text[32768];
static struct perso_blob blob;

/* Device-form PersoBlob JSON holding one DeviceId object. */
static size_t device_blob_json(void)
{
    memset(&blob, 0, sizeof(blob));
    struct perso_tlv_writer w;
    uint8_t id[32];
    for (int i = 0; i < 32; i++)
        id[i] = (uint8_t)(200 + i);
    perso_tlv_writer_init(&w, blob.body, sizeof(blob.body), PERSO_BLOB_V0, NULL);
    perso_tlv_append_data(&w, PERSO_OBJ_DEVICE_ID, id, sizeof(id), NULL);
    ck_assert_int_eq(perso_blob_from_writer(&blob, &w, NULL), 0);
    struct strbuf sb;
    strbuf_init(&sb, text, sizeof(text));
    ck_assert_int_eq(ujson_perso_blob(&sb, &blob, UJSON_DEVICE_FORM, NULL), 0);
    return sb.len;
}

START_TEST(perso_blob_device_form)
{
    size_t len = device_blob_json();
    ck_assert_uint_eq(len, UJSON_PERSO_BLOB_SIZE);
    static struct perso_blob got;
    ck_assert_int_eq(devmsg_decode_perso_blob(text, len, &got, NULL), 0);
    ck_assert_uint_eq(got.num_objs, 1);
    ck_assert_uint_eq(got.next_free, 34);
    ck_assert_mem_eq(got.body, blob.body, sizeof(blob.body));
    ck_assert_int_eq(perso_blob_validate(&got, PERSO_BLOB_V0, NULL), 0);
}
END_TEST

START_TEST(perso_blob_short_body_accepted)
{
    const char *json = "{\"next_free\":2,\"num_objs\":0,\"body\":[1,2,3]   }";
    static struct perso_blob got;
    memset(&got, 0xAA, sizeof(got));
    ck_assert_int_eq(devmsg_decode_perso_blob(json, strlen(json), &got, NULL), 0);
    ck_assert_uint_eq(got.next_free, 2);
    ck_assert_uint_eq(got.body[2], 3);
    ck_assert_uint_eq(got.body[3], 0);
}
END_TEST

static void expect_blob_reject(const char *json, enum ft_code code, const char *needle)
{
    static struct perso_blob got;
    struct ft_error err = {0};
    ck_assert_msg(devmsg_decode_perso_blob(json, strlen(json), &got, &err) == -1, "accepted %s",
                  json);
    ck_assert_error(err, code, needle);
    ck_assert_uint_eq(got.next_free, 0);
}

START_TEST(perso_blob_rejects)
{
    expect_blob_reject("{\"num_objs\":0,\"next_free\":0}", FT_E_INVALID,
                       "field \"body\" is missing");
    expect_blob_reject("{\"num_objs\":0,\"next_free\":0,\"body\":[],\"x\":1}", FT_E_INVALID,
                       "unknown field \"x\"");
    expect_blob_reject("{\"num_objs\":0,\"num_objs\":0,\"next_free\":0,\"body\":[]}", FT_E_INVALID,
                       "duplicate");
    expect_blob_reject("{\"num_objs\":\"1\",\"next_free\":0,\"body\":[]}", FT_E_INVALID,
                       "num_objs is not an integer");
    expect_blob_reject("{\"num_objs\":1.0,\"next_free\":0,\"body\":[]}", FT_E_INVALID,
                       "num_objs is not an integer");
    expect_blob_reject("{\"num_objs\":-1,\"next_free\":0,\"body\":[]}", FT_E_RANGE,
                       "num_objs = -1");
    expect_blob_reject("{\"num_objs\":4294967296,\"next_free\":0,\"body\":[]}", FT_E_RANGE,
                       "num_objs = 4294967296");
    expect_blob_reject("{\"num_objs\":0,\"next_free\":5121,\"body\":[]}", FT_E_RANGE,
                       "next_free = 5121 is outside 0..5120");
    expect_blob_reject("{\"num_objs\":0,\"next_free\":2,\"body\":[1]}", FT_E_INVALID,
                       "next_free 2 exceeds the 1 body bytes");
    expect_blob_reject("{\"num_objs\":0,\"next_free\":0,\"body\":[1,256]}", FT_E_RANGE,
                       "body[1] = 256");
    expect_blob_reject("{\"num_objs\":0,\"next_free\":0,\"body\":{}}", FT_E_INVALID,
                       "body is not an array");
    expect_blob_reject("{\"num_objs\":0,\"next_free\":0,\"body\":[]} x", FT_E_INVALID,
                       "end of file expected");
    expect_blob_reject("[]", FT_E_INVALID, "not a JSON object");
    expect_blob_reject("{\"num_objs\":99999999999999999999,\"next_free\":0,\"body\":[]}",
                       FT_E_INVALID, "too big");
}
END_TEST

START_TEST(perso_blob_rejects_oversize)
{
    /* 5121 body elements, and text past 20535 bytes. */
    struct strbuf sb;
    strbuf_init(&sb, text, sizeof(text));
    strbuf_puts(&sb, "{\"num_objs\":0,\"next_free\":0,\"body\":[");
    for (int i = 0; i < 5121; i++)
        strbuf_puts(&sb, i ? ",1" : "1");
    strbuf_puts(&sb, "]}");
    static struct perso_blob got;
    struct ft_error err = {0};
    ck_assert_int_eq(devmsg_decode_perso_blob(text, sb.len, &got, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "body has 5121 elements, at most 5120");
    ck_assert_int_eq(devmsg_decode_perso_blob(text, UJSON_PERSO_BLOB_SIZE + 1, &got, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "20536 bytes exceed the 20535-byte maximum");
}
END_TEST

START_TEST(sha256_word_order)
{
    /* SHA-256("abc") = ba7816bf 8f01cfea ... f20015ad: data[7] carries the first word. */
    const uint8_t digest[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint32_t words[8];
    sha256_digest_to_words(digest, words);
    ck_assert_uint_eq(words[7], 0xba7816bfu);
    ck_assert_uint_eq(words[0], 0xf20015adu);

    struct strbuf sb;
    strbuf_init(&sb, text, sizeof(text));
    ck_assert_int_eq(ujson_sha256_hash(&sb, words, NULL), 0);
    uint8_t back[32];
    ck_assert_int_eq(devmsg_decode_sha256_hash(text, sb.len, back, NULL), 0);
    ck_assert_mem_eq(back, digest, 32);

    char json[128];
    snprintf(json, sizeof(json), "{\"data\":[%u,0,0,0,0,0,0,%u]}", 0xf20015adu, 0xba7816bfu);
    ck_assert_int_eq(devmsg_decode_sha256_hash(json, strlen(json), back, NULL), 0);
    ck_assert_mem_eq(back, digest, 4);
    ck_assert_mem_eq(back + 28, digest + 28, 4);
}
END_TEST

START_TEST(sha256_rejects)
{
    uint8_t d[32];
    struct ft_error err = {0};
    const char *seven = "{\"data\":[1,2,3,4,5,6,7]}";
    ck_assert_int_eq(devmsg_decode_sha256_hash(seven, strlen(seven), d, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "data has 7 words, a digest needs 8");
    const char *nine = "{\"data\":[1,2,3,4,5,6,7,8,9]}";
    ck_assert_int_eq(devmsg_decode_sha256_hash(nine, strlen(nine), d, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "data has 9 elements, at most 8");
    const char *big = "{\"data\":[1,2,3,4,5,6,7,4294967296]}";
    ck_assert_int_eq(devmsg_decode_sha256_hash(big, strlen(big), d, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "data[7] = 4294967296");
    const char *extra = "{\"data\":[1,2,3,4,5,6,7,8],\"crc\":1}";
    ck_assert_int_eq(devmsg_decode_sha256_hash(extra, strlen(extra), d, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "unknown field \"crc\"");
    char padded[120];
    memset(padded, ' ', sizeof(padded));
    memcpy(padded, "{\"data\":[]", 10);
    padded[99] = '}';
    ck_assert_int_eq(devmsg_decode_sha256_hash(padded, 100, d, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "100 bytes exceed the 98-byte maximum");
}
END_TEST

static Suite *devmsg_suite(void)
{
    Suite *s = suite_create("devmsg");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, perso_blob_device_form);
    tcase_add_test(tc, perso_blob_short_body_accepted);
    tcase_add_test(tc, perso_blob_rejects);
    tcase_add_test(tc, perso_blob_rejects_oversize);
    tcase_add_test(tc, sha256_word_order);
    tcase_add_test(tc, sha256_rejects);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(devmsg_suite)
