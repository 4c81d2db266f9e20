/* wire/ujson: exact bytes and padded sizes of the host->device messages. */
#include <stdio.h>

#include "common/crc32.h"
#include "testutil.h"
#include "wire/fw_gen.h"
#include "wire/ujson.h"

static char text[32768];

static struct strbuf fresh(void)
{
    struct strbuf sb;
    strbuf_init(&sb, text, sizeof(text));
    return sb;
}

/* Asserts that `sb` holds, from `start`, `unpadded` minus its final '}', then spaces, then
 * '}', `size` bytes in all. */
static void assert_padded(const struct strbuf *sb, size_t start, const char *unpadded, size_t size)
{
    size_t n = strlen(unpadded);
    ck_assert_uint_eq(sb->len - start, size);
    ck_assert_mem_eq(sb->data + start, unpadded, n - 1);
    for (size_t i = start + n - 1; i < start + size - 1; i++)
        ck_assert_msg(sb->data[i] == ' ', "byte %zu is 0x%02x, not a space", i, sb->data[i]);
    ck_assert_int_eq(sb->data[start + size - 1], '}');
}

START_TEST(lc_token_hash_max_is_52_and_crc_object_18)
{
    struct strbuf sb = fresh();
    const uint64_t hash[2] = {UINT64_MAX, UINT64_MAX};
    ck_assert_int_eq(ujson_lc_token_hash(&sb, hash, NULL), 0);
    ck_assert_uint_eq(sb.len, 52 + 18);
    ck_assert_mem_eq(text, "{\"hash\":[18446744073709551615,18446744073709551615]}", 52);
    char crc_obj[32];
    snprintf(crc_obj, sizeof(crc_obj), "{\"crc\":%u}", crc32_iso_hdlc(text, 52));
    assert_padded(&sb, 52, crc_obj, 18);
}
END_TEST

START_TEST(lc_token_hash_padding_is_in_the_crc)
{
    struct strbuf sb = fresh();
    const uint64_t hash[2] = {1, 2};
    ck_assert_int_eq(ujson_lc_token_hash(&sb, hash, NULL), 0);
    ck_assert_uint_eq(sb.len, 70);
    struct strbuf message = sb;
    message.len = 52;
    assert_padded(&message, 0, "{\"hash\":[1,2]}", 52);
    char crc_obj[32];
    snprintf(crc_obj, sizeof(crc_obj), "{\"crc\":%u}", crc32_iso_hdlc(text, 52));
    assert_padded(&sb, 52, crc_obj, 18);
    ck_assert_uint_ne(crc32_iso_hdlc(text, 52), crc32_iso_hdlc("{\"hash\":[1,2]}", 14));
}
END_TEST

START_TEST(crc_object_sizes)
{
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_crc_object(&sb, 4294967295u, NULL), 0);
    ck_assert_str_eq(text, "{\"crc\":4294967295}");
    sb = fresh();
    ck_assert_int_eq(ujson_crc_object(&sb, 0, NULL), 0);
    ck_assert_str_eq(text, "{\"crc\":0         }");
}
END_TEST

START_TEST(certgen_inputs_padded_to_215)
{
    struct certgen_inputs in = {.dice_auth_key_key_id_len = 20,
                                .has_blob_version = true,
                                .blob_version = 1,
                                .padded_size = UJSON_CERTGEN_INPUTS_SIZE};
    for (int i = 0; i < 20; i++)
        in.dice_auth_key_key_id[i] = (uint8_t)i;
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_certgen_inputs(&sb, &in, NULL), 0);
    ck_assert_uint_eq(sb.len, 215);
    assert_padded(&sb, 0,
                  "{\"dice_auth_key_key_id\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19],"
                  "\"ext_auth_key_key_id\":[],\"blob_version\":1}",
                  215);
}
END_TEST

/* a2-rc17: manuf_certgen_inputs_t has no blob_version (provisioning_data.h:112-116 at
 * Earlgrey-A2-Provisioning-RC17) and its serialized maximum is 210 (:30); the host pads
 * to it. The longest such message (all key-ID bytes 255) is exactly 210. */
START_TEST(certgen_inputs_rc17_without_blob_version)
{
    const struct fw_gen_info *g = fw_gen_info(FW_GEN_A2_RC17);
    struct certgen_inputs in = {.dice_auth_key_key_id_len = 20,
                                .has_blob_version = g->certgen_blob_version,
                                .padded_size = g->certgen_size};
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_certgen_inputs(&sb, &in, NULL), 0);
    ck_assert_uint_eq(sb.len, UJSON_CERTGEN_INPUTS_SIZE_RC17);
    ck_assert_ptr_null(strstr(text, "blob_version"));
    assert_padded(&sb, 0,
                  "{\"dice_auth_key_key_id\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"
                  "\"ext_auth_key_key_id\":[]}",
                  210);
    in.ext_auth_key_key_id_len = 20;
    memset(in.dice_auth_key_key_id, 255, 20);
    memset(in.ext_auth_key_key_id, 255, 20);
    sb = fresh();
    ck_assert_int_eq(ujson_certgen_inputs(&sb, &in, NULL), 0);
    ck_assert_uint_eq(sb.len, 210);
    ck_assert_int_eq(text[sb.len - 2], ']'); /* exactly full: no padding */
    /* earlgrey-1.0.0 and master both carry blob_version, padded to 215. */
    for (enum fw_gen gen = FW_GEN_EARLGREY_1_0_0; gen <= FW_GEN_MASTER; gen++) {
        ck_assert(fw_gen_info(gen)->certgen_blob_version);
        ck_assert_uint_eq(fw_gen_info(gen)->certgen_size, 215);
    }
}
END_TEST

START_TEST(certgen_inputs_longest_is_227_unpadded)
{
    struct certgen_inputs in = {.dice_auth_key_key_id_len = 20,
                                .ext_auth_key_key_id_len = 20,
                                .has_blob_version = true,
                                .blob_version = 1,
                                .padded_size = UJSON_CERTGEN_INPUTS_SIZE};
    memset(in.dice_auth_key_key_id, 255, 20);
    memset(in.ext_auth_key_key_id, 255, 20);
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_certgen_inputs(&sb, &in, NULL), 0);
    ck_assert_uint_eq(sb.len, UJSON_CERTGEN_INPUTS_MAX);
    ck_assert_int_eq(text[sb.len - 2], '1'); /* no padding: ends "blob_version":1} */

    struct ft_error err = {0};
    in.ext_auth_key_key_id_len = 7;
    sb = fresh();
    ck_assert_int_eq(ujson_certgen_inputs(&sb, &in, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "absent or 20 bytes");
}
END_TEST

START_TEST(perso_blob_host_and_device_forms)
{
    static struct perso_blob blob;
    memset(&blob, 0, sizeof(blob));
    blob.num_objs = 1;
    blob.next_free = 3;
    blob.body[0] = 7;
    blob.body[1] = 8;
    blob.body[2] = 255;
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_perso_blob(&sb, &blob, UJSON_HOST_FORM, NULL), 0);
    assert_padded(&sb, 0, "{\"num_objs\":1,\"next_free\":3,\"body\":[7,8,255]}",
                  UJSON_PERSO_BLOB_SIZE);

    /* Device form emits all 5120 bytes; with the largest values it still fits 20535. */
    memset(blob.body, 255, sizeof(blob.body));
    blob.num_objs = UINT32_MAX;
    blob.next_free = PERSO_BLOB_BODY_MAX;
    sb = fresh();
    ck_assert_int_eq(ujson_perso_blob(&sb, &blob, UJSON_DEVICE_FORM, NULL), 0);
    ck_assert_uint_eq(sb.len, UJSON_PERSO_BLOB_SIZE);
    size_t commas = 0;
    for (size_t i = 0; i < sb.len; i++)
        commas += text[i] == ',';
    ck_assert_uint_eq(commas, 2 + PERSO_BLOB_BODY_MAX - 1);

    struct ft_error err = {0};
    blob.next_free = PERSO_BLOB_BODY_MAX + 1;
    ck_assert_int_eq(ujson_perso_blob(&sb, &blob, UJSON_HOST_FORM, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "next_free 5121");
}
END_TEST

START_TEST(ft_individualize_unpadded)
{
    const uint32_t id[4] = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_ft_individualize(&sb, id, NULL), 0);
    ck_assert_uint_eq(sb.len, UJSON_FT_INDIVIDUALIZE_MAX);
    const uint32_t small[4] = {1, 2, 3, 4};
    sb = fresh();
    ck_assert_int_eq(ujson_ft_individualize(&sb, small, NULL), 0);
    ck_assert_str_eq(text, "{\"ft_device_id\":[1,2,3,4]}");
}
END_TEST

START_TEST(sha256_hash_max_is_98)
{
    uint32_t data[8];
    for (int i = 0; i < 8; i++)
        data[i] = UINT32_MAX;
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_sha256_hash(&sb, data, NULL), 0);
    ck_assert_uint_eq(sb.len, UJSON_SHA256_HASH_SIZE);
    ck_assert_int_eq(text[sb.len - 2], ']');
    memset(data, 0, sizeof(data));
    sb = fresh();
    ck_assert_int_eq(ujson_sha256_hash(&sb, data, NULL), 0);
    assert_padded(&sb, 0, "{\"data\":[0,0,0,0,0,0,0,0]}", 98);
}
END_TEST

START_TEST(capacity_failure_leaves_buffer_unchanged)
{
    char small[60];
    struct strbuf sb;
    strbuf_init(&sb, small, sizeof(small));
    strbuf_puts(&sb, "prefix");
    const uint64_t hash[2] = {1, 2};
    struct ft_error err = {0};
    ck_assert_int_eq(ujson_lc_token_hash(&sb, hash, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "LcTokenHash");
    ck_assert_uint_eq(sb.len, 6);
    ck_assert_str_eq(small, "prefix");
    ck_assert(!sb.overflow);

    static struct perso_blob blob;
    ck_assert_int_eq(ujson_perso_blob(&sb, &blob, UJSON_DEVICE_FORM, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "PersoBlob");
    ck_assert_str_eq(small, "prefix");
}
END_TEST

START_TEST(pad_rejects)
{
    struct strbuf sb = fresh();
    struct ft_error err = {0};
    strbuf_puts(&sb, "{\"a\":1}");
    ck_assert_int_eq(ujson_pad(&sb, 0, 5, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "7 bytes exceeds the 5-byte size");
    strbuf_puts(&sb, "x");
    ck_assert_int_eq(ujson_pad(&sb, 0, 20, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "does not end with '}'");
}
END_TEST

static Suite *ujson_suite(void)
{
    Suite *s = suite_create("ujson");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, lc_token_hash_max_is_52_and_crc_object_18);
    tcase_add_test(tc, lc_token_hash_padding_is_in_the_crc);
    tcase_add_test(tc, crc_object_sizes);
    tcase_add_test(tc, certgen_inputs_padded_to_215);
    tcase_add_test(tc, certgen_inputs_longest_is_227_unpadded);
    tcase_add_test(tc, certgen_inputs_rc17_without_blob_version);
    tcase_add_test(tc, perso_blob_host_and_device_forms);
    tcase_add_test(tc, ft_individualize_unpadded);
    tcase_add_test(tc, sha256_hash_max_is_98);
    tcase_add_test(tc, capacity_failure_leaves_buffer_unchanged);
    tcase_add_test(tc, pad_rejects);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(ujson_suite)
