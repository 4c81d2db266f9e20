/* sim/ujson_de: the firmware's ujson deserializer, fed with the bytes the host sends. */
#include <stdio.h>

#include "common/crc32.h"
#include "sim/ujson_de.h"
#include "testutil.h"
#include "wire/ujson.h"

/* A byte source over a buffer; closed (-1) at its end. */
struct source {
    const char *data;
    size_t len;
    size_t pos;
};

static int source_getc(void *ctx)
{
    struct source *s = ctx;
    if (s->pos >= s->len)
        return -1;
    return (unsigned char)s->data[s->pos++];
}

static struct source src;
static struct ujson_de de;
static struct ft_error err;

static void feed(const char *data, size_t len)
{
    src = (struct source){.data = data, .len = len};
    ujson_de_init(&de, source_getc, &src);
    ft_error_clear(&err);
}

static void feed_str(const char *text)
{
    feed(text, strlen(text));
}

static char text[32768];

static struct strbuf fresh(void)
{
    struct strbuf sb;
    strbuf_init(&sb, text, sizeof(text));
    return sb;
}

/* `json` followed by its CRC object, as send_with_crc builds it (unpadded). */
static void with_crc(char *out, size_t cap, const char *json)
{
    snprintf(out, cap, "%s{\"crc\":%u}", json, crc32_iso_hdlc(json, strlen(json)));
}

/* ---- Messages exactly as the host sends them --------------------------------------- */

START_TEST(lc_token_hash_from_host_encoder)
{
    const uint64_t hash[2] = {0x0123456789abcdefULL, UINT64_MAX};
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_lc_token_hash(&sb, hash, NULL), 0);
    ck_assert_uint_eq(sb.len, UJSON_LC_TOKEN_HASH_SIZE + UJSON_CRC_OBJ_SIZE);
    feed(text, sb.len);
    struct dev_lc_token_hash out = {{0}};
    ck_assert_int_eq(ujson_de_lc_token_hash_with_crc(&de, &out, &err), UJSON_DE_OK);
    ck_assert(out.hash[0] == hash[0] && out.hash[1] == hash[1]);
    /* Every byte consumed, none left over. */
    ck_assert_uint_eq(src.pos, sb.len);
    ck_assert_int_eq(de.pushback, -1);
}
END_TEST

START_TEST(lc_token_hash_literal_bytes)
{
    /* {"hash":[1,2]} padded to 52, then {"crc":N} padded to 18 (N from zlib). */
    char msg[128];
    const char *body = "{\"hash\":[1,2]                                      }";
    ck_assert_uint_eq(strlen(body), 52);
    snprintf(msg, sizeof(msg), "%s{\"crc\":%u", body, crc32_iso_hdlc(body, 52));
    while (strlen(msg) < 52 + 17)
        strcat(msg, " ");
    strcat(msg, "}");
    feed_str(msg);
    struct dev_lc_token_hash out = {{0}};
    ck_assert_int_eq(ujson_de_lc_token_hash_with_crc(&de, &out, &err), UJSON_DE_OK);
    ck_assert(out.hash[0] == 1 && out.hash[1] == 2);
    ck_assert_uint_eq(src.pos, 70);
}
END_TEST

START_TEST(lc_token_hash_bad_crc_is_data_loss)
{
    const uint64_t hash[2] = {5, 6};
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_lc_token_hash(&sb, hash, NULL), 0);
    text[20] = text[20] == ' ' ? '\t' : text[20]; /* still valid JSON, other bytes */
    feed(text, sb.len);
    struct dev_lc_token_hash out = {{0}};
    ck_assert_int_eq(ujson_de_lc_token_hash_with_crc(&de, &out, &err), UJSON_DE_DATA_LOSS);
    ck_assert_error(err, FT_E_CRC, "ottf_crc_t");
    ck_assert_ptr_nonnull(strstr(err.message, "DataLoss"));
    /* The struct itself was decoded before the CRC check. */
    ck_assert(out.hash[0] == 5 && out.hash[1] == 6);
}
END_TEST

START_TEST(crc_covers_leading_whitespace)
{
    /* The device resets the CRC before it skips whitespace: a host that put spaces
     * before the object but left them out of its CRC gets DATA_LOSS. */
    char msg[128];
    with_crc(msg, sizeof(msg), "{\"hash\":[7,8]}");
    char shifted[160];
    snprintf(shifted, sizeof(shifted), "  %s", msg);
    feed_str(shifted);
    struct dev_lc_token_hash out;
    ck_assert_int_eq(ujson_de_lc_token_hash_with_crc(&de, &out, &err), UJSON_DE_DATA_LOSS);

    /* With the spaces inside the CRC it is fine. */
    const char *json = "  {\"hash\":[7,8]}";
    snprintf(shifted, sizeof(shifted), "%s\n {\"crc\" : \"%u\" }", json,
             crc32_iso_hdlc(json, strlen(json)));
    feed_str(shifted);
    ck_assert_int_eq(ujson_de_lc_token_hash_with_crc(&de, &out, &err), UJSON_DE_OK);
    ck_assert(out.hash[0] == 7 && out.hash[1] == 8);
}
END_TEST

START_TEST(crc_object_ate_form_and_missing_key)
{
    /* The ATE appends {"crc": N} unpadded with a space after the colon. */
    const char *json = "{\"hash\":[1,1]}";
    char msg[128];
    snprintf(msg, sizeof(msg), "%s{\"crc\": %u}", json, crc32_iso_hdlc(json, strlen(json)));
    feed_str(msg);
    struct dev_lc_token_hash out;
    ck_assert_int_eq(ujson_de_lc_token_hash_with_crc(&de, &out, &err), UJSON_DE_OK);

    /* {} as the CRC object: upstream compares garbage; the model calls it a mismatch. */
    snprintf(msg, sizeof(msg), "%s{}", json);
    feed_str(msg);
    ck_assert_int_eq(ujson_de_lc_token_hash_with_crc(&de, &out, &err), UJSON_DE_DATA_LOSS);
}
END_TEST

START_TEST(crc_object_not_read_after_failure)
{
    feed_str("{\"hsh\":[1,2]}{\"crc\":0}");
    struct dev_lc_token_hash out;
    ck_assert_int_eq(ujson_de_lc_token_hash_with_crc(&de, &out, &err), UJSON_DE_INVALID_ARGUMENT);
    ck_assert_error(err, FT_E_INVALID, "unknown key \"hsh\"");
    ck_assert_uint_eq(src.pos, strlen("{\"hsh\":"));
}
END_TEST

START_TEST(certgen_inputs_from_host_encoder)
{
    struct certgen_inputs in = {.dice_auth_key_key_id_len = 20,
                                .has_blob_version = true,
                                .blob_version = 1,
                                .padded_size = UJSON_CERTGEN_INPUTS_SIZE};
    for (int i = 0; i < 20; i++)
        in.dice_auth_key_key_id[i] = (uint8_t)(200 + i);
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_certgen_inputs(&sb, &in, NULL), 0);
    ck_assert_uint_eq(sb.len, UJSON_CERTGEN_INPUTS_SIZE);
    feed(text, sb.len);
    /* The host sends "ext_auth_key_key_id":[]: the firmware's bytes stay as they were. */
    struct dev_certgen_inputs out;
    memset(&out, 0xaa, sizeof(out));
    ck_assert_int_eq(ujson_de_certgen_inputs(&de, true, &out, &err), UJSON_DE_OK);
    for (int i = 0; i < 20; i++) {
        ck_assert_uint_eq(out.dice_auth_key_key_id[i], 200 + i);
        ck_assert_uint_eq(out.ext_auth_key_key_id[i], 0xaa);
    }
    ck_assert_uint_eq(out.blob_version, 1);
    ck_assert_uint_eq(src.pos, sb.len);
}
END_TEST

START_TEST(certgen_inputs_longest_message)
{
    struct certgen_inputs in = {.dice_auth_key_key_id_len = 20, .ext_auth_key_key_id_len = 20};
    memset(in.dice_auth_key_key_id, 255, 20);
    memset(in.ext_auth_key_key_id, 254, 20);
    in.blob_version = 0;
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_certgen_inputs(&sb, &in, NULL), 0);
    feed(text, sb.len);
    struct dev_certgen_inputs out;
    memset(&out, 0, sizeof(out));
    ck_assert_int_eq(ujson_de_certgen_inputs(&de, true, &out, &err), UJSON_DE_OK);
    ck_assert_uint_eq(out.dice_auth_key_key_id[19], 255);
    ck_assert_uint_eq(out.ext_auth_key_key_id[0], 254);
}
END_TEST

START_TEST(perso_blob_host_form)
{
    static struct perso_blob blob;
    memset(&blob, 0, sizeof(blob));
    blob.num_objs = 2;
    blob.next_free = 300;
    for (int i = 0; i < 300; i++)
        blob.body[i] = (uint8_t)(i * 7);
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_perso_blob(&sb, &blob, UJSON_HOST_FORM, NULL), 0);
    ck_assert_uint_eq(sb.len, UJSON_PERSO_BLOB_SIZE);
    feed(text, sb.len);
    static struct dev_perso_blob out;
    memset(&out, 0x5a, sizeof(out));
    ck_assert_int_eq(ujson_de_perso_blob(&de, &out, &err), UJSON_DE_OK);
    ck_assert_uint_eq(out.num_objs, 2);
    ck_assert_uint_eq(out.next_free, 300);
    ck_assert_mem_eq(out.body, blob.body, 300);
    for (size_t i = 300; i < DEV_PERSO_BLOB_BODY_SIZE; i++)
        ck_assert_uint_eq(out.body[i], 0x5a);
    ck_assert_uint_eq(src.pos, sb.len);
}
END_TEST

START_TEST(perso_blob_device_form_full_body)
{
    static struct perso_blob blob;
    memset(blob.body, 255, sizeof(blob.body));
    blob.num_objs = UINT32_MAX;
    blob.next_free = PERSO_BLOB_BODY_MAX;
    blob.body[5119] = 9;
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_perso_blob(&sb, &blob, UJSON_DEVICE_FORM, NULL), 0);
    feed(text, sb.len);
    static struct dev_perso_blob out;
    ck_assert_int_eq(ujson_de_perso_blob(&de, &out, &err), UJSON_DE_OK);
    ck_assert_uint_eq(out.num_objs, UINT32_MAX);
    ck_assert_uint_eq(out.body[0], 255);
    ck_assert_uint_eq(out.body[5119], 9);
}
END_TEST

START_TEST(ft_individualize_from_host_encoder_and_literal)
{
    const uint32_t id[4] = {1, 0xdeadbeef, 3, UINT32_MAX};
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_ft_individualize(&sb, id, NULL), 0);
    feed(text, sb.len);
    struct dev_ft_individualize_data out = {{0}};
    ck_assert_int_eq(ujson_de_ft_individualize(&de, &out, &err), UJSON_DE_OK);
    ck_assert_mem_eq(out.ft_device_id, id, sizeof(id));

    feed_str("{\"ft_device_id\":[4294967295,4294967295,4294967295,4294967295]}");
    ck_assert_int_eq(ujson_de_ft_individualize(&de, &out, &err), UJSON_DE_OK);
    ck_assert_uint_eq(out.ft_device_id[2], UINT32_MAX);
}
END_TEST

/* `json` with spaces inserted before its final '}' up to `size` bytes (send_with_padding). */
static size_t pad_literal(char *out, const char *json, size_t size)
{
    size_t n = strlen(json);
    memcpy(out, json, n - 1);
    memset(out + n - 1, ' ', size - n);
    out[size - 1] = '}';
    return size;
}

START_TEST(literal_padded_messages)
{
    /* Hand-written host bytes: certgen inputs padded to 215, a host-form perso blob
     * padded to 20535. */
    static char msg[UJSON_PERSO_BLOB_SIZE];
    size_t n = pad_literal(msg,
                           "{\"dice_auth_key_key_id\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,"
                           "16,17,18,19],\"ext_auth_key_key_id\":[],\"blob_version\":1}",
                           215);
    feed(msg, n);
    struct dev_certgen_inputs in;
    memset(&in, 0, sizeof(in));
    ck_assert_int_eq(ujson_de_certgen_inputs(&de, true, &in, &err), UJSON_DE_OK);
    ck_assert_uint_eq(in.dice_auth_key_key_id[19], 19);
    ck_assert_uint_eq(in.blob_version, 1);
    ck_assert_uint_eq(src.pos, 215);

    n = pad_literal(msg, "{\"num_objs\":1,\"next_free\":3,\"body\":[7,8,255]}",
                    UJSON_PERSO_BLOB_SIZE);
    feed(msg, n);
    static struct dev_perso_blob blob;
    ck_assert_int_eq(ujson_de_perso_blob(&de, &blob, &err), UJSON_DE_OK);
    ck_assert(blob.num_objs == 1 && blob.next_free == 3);
    ck_assert(blob.body[0] == 7 && blob.body[1] == 8 && blob.body[2] == 255);
    ck_assert_uint_eq(src.pos, UJSON_PERSO_BLOB_SIZE);
}
END_TEST

/* ---- Grammar ------------------------------------------------------------------------------ */

START_TEST(keys_in_any_order_with_whitespace_everywhere)
{
    feed_str(" \t\r\n{ \"blob_version\" :\n\"1\" ,\v\"ext_auth_key_key_id\"\f: [ 1 , \"2\" ,3 ]"
             " , \"dice_auth_key_key_id\":[]\n}");
    struct dev_certgen_inputs out;
    memset(&out, 0, sizeof(out));
    ck_assert_int_eq(ujson_de_certgen_inputs(&de, true, &out, &err), UJSON_DE_OK);
    ck_assert_uint_eq(out.blob_version, 1);
    ck_assert_uint_eq(out.ext_auth_key_key_id[0], 1);
    ck_assert_uint_eq(out.ext_auth_key_key_id[1], 2);
    ck_assert_uint_eq(out.ext_auth_key_key_id[2], 3);
    ck_assert_uint_eq(out.ext_auth_key_key_id[3], 0);
}
END_TEST

START_TEST(nothing_read_past_the_closing_brace)
{
    /* Two objects back to back: the first decode stops right after its '}'. */
    const char *two = "{\"crc\":12}{\"crc\":34}";
    feed_str(two);
    struct dev_ottf_crc c = {0};
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_OK);
    ck_assert_uint_eq(c.crc, 12);
    ck_assert_uint_eq(src.pos, 10);
    ck_assert_int_eq(de.pushback, -1);
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_OK);
    ck_assert_uint_eq(c.crc, 34);

    /* The closed source is never touched once the object is complete. */
    feed_str("{\"crc\":5}");
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_OK);
}
END_TEST

START_TEST(empty_object_and_repeated_keys)
{
    struct dev_ft_individualize_data out = {{9, 9, 9, 9}};
    feed_str("{}");
    ck_assert_int_eq(ujson_de_ft_individualize(&de, &out, &err), UJSON_DE_OK);
    ck_assert_uint_eq(out.ft_device_id[0], 9);
    /* The last occurrence wins, element by element. */
    feed_str("{\"ft_device_id\":[1,2,3,4],\"ft_device_id\":[5]}");
    ck_assert_int_eq(ujson_de_ft_individualize(&de, &out, &err), UJSON_DE_OK);
    ck_assert_uint_eq(out.ft_device_id[0], 5);
    ck_assert_uint_eq(out.ft_device_id[1], 2);
}
END_TEST

START_TEST(quoted_integers)
{
    struct dev_perso_blob *out = calloc(1, sizeof(*out));
    feed_str("{\"num_objs\":\"7\",\"next_free\":\"0012\",\"body\":[\"255\",\"-1\"]}");
    ck_assert_int_eq(ujson_de_perso_blob(&de, out, &err), UJSON_DE_OK);
    ck_assert_uint_eq(out->num_objs, 7);
    ck_assert_uint_eq(out->next_free, 12);
    ck_assert_uint_eq(out->body[0], 255);
    ck_assert_uint_eq(out->body[1], 255);

    /* The closing quote must follow the digits directly. */
    feed_str("{\"num_objs\":\"7 \"}");
    ck_assert_int_eq(ujson_de_perso_blob(&de, out, &err), UJSON_DE_INVALID_ARGUMENT);
    ck_assert_error(err, FT_E_INVALID, "key \"num_objs\": quoted integer not closed");
    /* No whitespace inside the quotes either. */
    feed_str("{\"num_objs\":\" 7\"}");
    ck_assert_int_eq(ujson_de_perso_blob(&de, out, &err), UJSON_DE_NOT_FOUND);
    feed_str("{\"num_objs\":\"\"}");
    ck_assert_int_eq(ujson_de_perso_blob(&de, out, &err), UJSON_DE_NOT_FOUND);
    free(out);
}
END_TEST

START_TEST(integers_truncate_to_the_field_width)
{
    /* The device memcpy's the low bytes of a 64-bit value: no range error. */
    struct dev_certgen_inputs out;
    memset(&out, 0, sizeof(out));
    feed_str("{\"dice_auth_key_key_id\":[256,257,-1,-256,511],\"blob_version\":65537}");
    ck_assert_int_eq(ujson_de_certgen_inputs(&de, true, &out, &err), UJSON_DE_OK);
    ck_assert_uint_eq(out.dice_auth_key_key_id[0], 0);
    ck_assert_uint_eq(out.dice_auth_key_key_id[1], 1);
    ck_assert_uint_eq(out.dice_auth_key_key_id[2], 0xff);
    ck_assert_uint_eq(out.dice_auth_key_key_id[3], 0);
    ck_assert_uint_eq(out.dice_auth_key_key_id[4], 0xff);
    ck_assert_uint_eq(out.blob_version, 1);

    struct dev_ft_individualize_data id = {{0}};
    feed_str("{\"ft_device_id\":[4294967296,18446744073709551615,-9223372036854775808]}");
    ck_assert_int_eq(ujson_de_ft_individualize(&de, &id, &err), UJSON_DE_OK);
    ck_assert_uint_eq(id.ft_device_id[0], 0);
    ck_assert_uint_eq(id.ft_device_id[1], UINT32_MAX);
    ck_assert_uint_eq(id.ft_device_id[2], 0);

    struct dev_lc_token_hash h = {{0}};
    feed_str("{\"hash\":[18446744073709551615,-9223372036854775808]}");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &h, &err), UJSON_DE_OK);
    ck_assert(h.hash[0] == UINT64_MAX && h.hash[1] == 0x8000000000000000ULL);
}
END_TEST

START_TEST(integer_overflow_past_64_bits)
{
    struct dev_lc_token_hash h = {{0}};
    feed_str("{\"hash\":[18446744073709551616]}");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &h, &err), UJSON_DE_OUT_OF_RANGE);
    ck_assert_error(err, FT_E_RANGE, "key \"hash\"[0]: integer exceeds 2^64-1");
    /* Stops at the offending digit: nothing after it was read. */
    ck_assert_uint_eq(src.pos, strlen("{\"hash\":[18446744073709551616"));

    feed_str("{\"hash\":[1,-9223372036854775809]}");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &h, &err), UJSON_DE_OUT_OF_RANGE);
    ck_assert_error(err, FT_E_RANGE, "key \"hash\"[1]");
}
END_TEST

START_TEST(short_arrays_leave_the_rest)
{
    struct dev_ft_individualize_data out = {{11, 12, 13, 14}};
    feed_str("{\"ft_device_id\":[1,2]}");
    ck_assert_int_eq(ujson_de_ft_individualize(&de, &out, &err), UJSON_DE_OK);
    const uint32_t want[4] = {1, 2, 13, 14};
    ck_assert_mem_eq(out.ft_device_id, want, sizeof(want));
    feed_str("{\"ft_device_id\":[ ]}");
    ck_assert_int_eq(ujson_de_ft_individualize(&de, &out, &err), UJSON_DE_OK);
    ck_assert_mem_eq(out.ft_device_id, want, sizeof(want));
}
END_TEST

START_TEST(long_arrays_fail)
{
    struct dev_lc_token_hash h = {{0}};
    feed_str("{\"hash\":[1,2,3]}");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &h, &err), UJSON_DE_NOT_FOUND);
    ck_assert_error(err, FT_E_INVALID, "key \"hash\"[2]: array has more than 2 elements");
    ck_assert_ptr_nonnull(strstr(err.message, "NotFound"));

    /* Upstream quirk: once the array is full, extra commas before ']' pass. */
    feed_str("{\"hash\":[1,2,]}");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &h, &err), UJSON_DE_OK);
    feed_str("{\"hash\":[3,4,,,]}");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &h, &err), UJSON_DE_OK);
    ck_assert(h.hash[0] == 3 && h.hash[1] == 4);
    /* ... but not before that. */
    feed_str("{\"hash\":[1,]}");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &h, &err), UJSON_DE_NOT_FOUND);
    ck_assert_error(err, FT_E_INVALID, "expected an integer");

    /* A perso blob body one byte longer than 5120. */
    static char big[6 * 5200];
    struct strbuf sb;
    strbuf_init(&sb, big, sizeof(big));
    strbuf_puts(&sb, "{\"body\":[");
    for (int i = 0; i < 5121; i++)
        strbuf_puts(&sb, i ? ",1" : "1");
    strbuf_puts(&sb, "]}");
    ck_assert(!sb.overflow);
    feed(big, sb.len);
    struct dev_perso_blob *blob = calloc(1, sizeof(*blob));
    ck_assert_int_eq(ujson_de_perso_blob(&de, blob, &err), UJSON_DE_NOT_FOUND);
    ck_assert_error(err, FT_E_INVALID, "key \"body\"[5120]: array has more than 5120");
    free(blob);
}
END_TEST

START_TEST(unknown_keys)
{
    struct dev_ottf_crc c;
    feed_str("{\"crc\":1,\"extra\":2}");
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_INVALID_ARGUMENT);
    ck_assert_error(err, FT_E_INVALID, "ujson ottf_crc_t: unknown key \"extra\"");
    /* A key is compared whole: a prefix or an extension of a field name is unknown. */
    feed_str("{\"cr\":1}");
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_INVALID_ARGUMENT);
    feed_str("{\"crcx\":1}");
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_INVALID_ARGUMENT);
}
END_TEST

START_TEST(long_keys_are_consumed_and_truncated)
{
    /* A 300-character key: 127 kept, all consumed, then unknown. */
    char msg[400];
    strcpy(msg, "{\"");
    for (int i = 0; i < 300; i++)
        strcat(msg, "k");
    strcat(msg, "\":1}");
    feed_str(msg);
    struct dev_ottf_crc c;
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_INVALID_ARGUMENT);
    ck_assert_uint_eq(src.pos, 2 + 300 + 2);
    ck_assert_error(err, FT_E_INVALID, "unknown key \"kkkk");

    /* "crc" followed by 200 more characters: the first 127 are not "crc". */
    strcpy(msg, "{\"crc");
    for (int i = 0; i < 200; i++)
        strcat(msg, " ");
    strcat(msg, "\":1}");
    feed_str(msg);
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_INVALID_ARGUMENT);
}
END_TEST

START_TEST(key_escapes)
{
    struct dev_ottf_crc c = {0};
    /* \u0063 is 'c'; \u0163 keeps only its low byte 0x63 = 'c' as well. */
    feed_str("{\"\\u0063r\\u0163\":77}");
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_OK);
    ck_assert_uint_eq(c.crc, 77);
    /* \u0000 ends the key as a C string: "crc\u0000junk" is "crc". */
    feed_str("{\"crc\\u0000junk\":78}");
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_OK);
    ck_assert_uint_eq(c.crc, 78);
    feed_str("{\"cr\\x\":1}");
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_OUT_OF_RANGE);
    ck_assert_error(err, FT_E_RANGE, "bad string escape");
    feed_str("{\"\\u00g0\":1}");
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_OUT_OF_RANGE);
}
END_TEST

START_TEST(syntax_errors_are_not_found)
{
    struct dev_ottf_crc c;
    const char *bad[] = {
        "[\"crc\":1}",  "{\"crc\" 1}", "{\"crc\":1 \"x\":2}", "{crc:1}",       "{\"crc\":1,}",
        "{,\"crc\":1}", "{\"crc\":x}", "{\"crc\":-}",         "{\"crc\":1.5}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        feed_str(bad[i]);
        ck_assert_msg(ujson_de_ottf_crc(&de, &c, &err) == UJSON_DE_NOT_FOUND, "%s: %s", bad[i],
                      err.message);
        ck_assert_int_eq(err.code, FT_E_INVALID);
    }
    struct dev_lc_token_hash h;
    feed_str("{\"hash\":1}");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &h, &err), UJSON_DE_NOT_FOUND);
    ck_assert_error(err, FT_E_INVALID, "key \"hash\": expected '['");
    feed_str("{\"hash\":[1 2]}");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &h, &err), UJSON_DE_NOT_FOUND);
    ck_assert_error(err, FT_E_INVALID, "expected ',' or ']'");
}
END_TEST

START_TEST(error_names_the_offset)
{
    struct dev_ottf_crc c;
    feed_str("{\"crc\":1,\"nope\":2}");
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_INVALID_ARGUMENT);
    ck_assert_error(err, FT_E_INVALID, "InvalidArgument, 16 bytes into the message");
}
END_TEST

START_TEST(source_closed_mid_message)
{
    const uint64_t hash[2] = {123456789, 987654321};
    struct strbuf sb = fresh();
    ck_assert_int_eq(ujson_lc_token_hash(&sb, hash, NULL), 0);
    /* Cut the message at every length: always SOURCE_CLOSED, never a hang or OK. */
    for (size_t cut = 0; cut < sb.len; cut++) {
        feed(text, cut);
        struct dev_lc_token_hash out;
        enum ujson_de_status st = ujson_de_lc_token_hash_with_crc(&de, &out, &err);
        ck_assert_msg(st == UJSON_DE_SOURCE_CLOSED, "cut at %zu: %s", cut, err.message);
        ck_assert_int_eq(err.code, FT_E_TRUNCATED);
        ck_assert_ptr_nonnull(strstr(err.message, "source closed"));
    }
    /* Inside a number, inside a key, inside a quoted integer. */
    feed_str("{\"hash\":[12");
    struct dev_lc_token_hash out;
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &out, &err), UJSON_DE_SOURCE_CLOSED);
    ck_assert_error(err, FT_E_TRUNCATED, "key \"hash\"[0]");
    feed_str("{\"ha");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &out, &err), UJSON_DE_SOURCE_CLOSED);
    feed_str("{\"hash\":[\"12");
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &out, &err), UJSON_DE_SOURCE_CLOSED);
}
END_TEST

START_TEST(crc_matches_crc32_over_consumed_bytes)
{
    /* The running CRC equals CRC-32/ISO-HDLC of every byte taken from the source. */
    const char *msg = " \n{\"hash\":[\"3\", 4]   }";
    feed_str(msg);
    struct dev_lc_token_hash out;
    de.crc = UINT32_MAX;
    ck_assert_int_eq(ujson_de_lc_token_hash(&de, &out, &err), UJSON_DE_OK);
    ck_assert_uint_eq(de.crc ^ UINT32_MAX, crc32_iso_hdlc(msg, strlen(msg)));
    ck_assert_uint_eq(de.consumed, strlen(msg));
}
END_TEST

START_TEST(status_names)
{
    ck_assert_str_eq(ujson_de_status_name(UJSON_DE_OK), "Ok");
    ck_assert_str_eq(ujson_de_status_name(UJSON_DE_INVALID_ARGUMENT), "InvalidArgument");
    ck_assert_str_eq(ujson_de_status_name(UJSON_DE_NOT_FOUND), "NotFound");
    ck_assert_str_eq(ujson_de_status_name(UJSON_DE_OUT_OF_RANGE), "OutOfRange");
    ck_assert_str_eq(ujson_de_status_name(UJSON_DE_DATA_LOSS), "DataLoss");
    ck_assert_str_eq(ujson_de_status_name(UJSON_DE_SOURCE_CLOSED), "SourceClosed");
    ck_assert_int_eq(UJSON_DE_INVALID_ARGUMENT, 3);
    ck_assert_int_eq(UJSON_DE_DATA_LOSS, 15);
}
END_TEST

START_TEST(null_error_is_allowed)
{
    struct dev_ottf_crc c;
    feed_str("{\"x\":1}");
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, NULL), UJSON_DE_INVALID_ARGUMENT);
}
END_TEST

START_TEST(random_and_mutated_inputs_terminate)
{
    /* Garbage and near-miss messages: any status, never a crash or an overrun. */
    static char buf[600];
    static struct dev_perso_blob blob;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    static const char alphabet[] = "{}[]\",:-0123456789 \\u\nkxcr";
    const char *valid = "{\"num_objs\":1,\"next_free\":\"2\",\"body\":[1,2]}";
    for (int round = 0; round < 3000; round++) {
        size_t len;
        if (round % 2 == 0) {
            len = test_rand(&seed) % sizeof(buf);
            for (size_t i = 0; i < len; i++)
                buf[i] = alphabet[test_rand(&seed) % (sizeof(alphabet) - 1)];
        } else {
            len = strlen(valid);
            memcpy(buf, valid, len);
            for (int k = 0; k < 3; k++)
                buf[test_rand(&seed) % len] = (char)(test_rand(&seed) & 0xff);
        }
        feed(buf, len);
        enum ujson_de_status st = ujson_de_perso_blob(&de, &blob, &err);
        ck_assert(st == UJSON_DE_OK || err.message[0] != '\0');
        ck_assert_uint_le(src.pos, len);
    }
}
END_TEST

START_TEST(unprintable_key_in_message)
{
    struct dev_ottf_crc c;
    feed("{\"a\x01\xff\":1}", 9);
    ck_assert_int_eq(ujson_de_ottf_crc(&de, &c, &err), UJSON_DE_INVALID_ARGUMENT);
    ck_assert_error(err, FT_E_INVALID, "unknown key \"a??\"");
}
END_TEST

static Suite *ujson_de_suite(void)
{
    Suite *s = suite_create("sim_ujson_de");
    TCase *host = tcase_create("host_messages");
    tcase_add_test(host, lc_token_hash_from_host_encoder);
    tcase_add_test(host, lc_token_hash_literal_bytes);
    tcase_add_test(host, lc_token_hash_bad_crc_is_data_loss);
    tcase_add_test(host, crc_covers_leading_whitespace);
    tcase_add_test(host, crc_object_ate_form_and_missing_key);
    tcase_add_test(host, crc_object_not_read_after_failure);
    tcase_add_test(host, certgen_inputs_from_host_encoder);
    tcase_add_test(host, certgen_inputs_longest_message);
    tcase_add_test(host, perso_blob_host_form);
    tcase_add_test(host, perso_blob_device_form_full_body);
    tcase_add_test(host, ft_individualize_from_host_encoder_and_literal);
    tcase_add_test(host, literal_padded_messages);
    suite_add_tcase(s, host);

    TCase *grammar = tcase_create("grammar");
    tcase_add_test(grammar, keys_in_any_order_with_whitespace_everywhere);
    tcase_add_test(grammar, nothing_read_past_the_closing_brace);
    tcase_add_test(grammar, empty_object_and_repeated_keys);
    tcase_add_test(grammar, quoted_integers);
    tcase_add_test(grammar, integers_truncate_to_the_field_width);
    tcase_add_test(grammar, integer_overflow_past_64_bits);
    tcase_add_test(grammar, short_arrays_leave_the_rest);
    tcase_add_test(grammar, long_arrays_fail);
    tcase_add_test(grammar, unknown_keys);
    tcase_add_test(grammar, long_keys_are_consumed_and_truncated);
    tcase_add_test(grammar, key_escapes);
    tcase_add_test(grammar, syntax_errors_are_not_found);
    tcase_add_test(grammar, error_names_the_offset);
    tcase_add_test(grammar, source_closed_mid_message);
    tcase_add_test(grammar, crc_matches_crc32_over_consumed_bytes);
    tcase_add_test(grammar, status_names);
    tcase_add_test(grammar, null_error_is_allowed);
    tcase_add_test(grammar, random_and_mutated_inputs_terminate);
    tcase_add_test(grammar, unprintable_key_in_message);
    suite_add_tcase(s, grammar);
    return s;
}

FT_TEST_MAIN(ujson_de_suite)
