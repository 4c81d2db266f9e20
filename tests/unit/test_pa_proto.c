/* pa/pa_proto: protobuf bytes of DeviceData and RegistryRecord as Go's proto.Marshal writes
 * them, the strict decoder, and the device-ID strings. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "pa/pa_msg.h"
#include "pa/pa_proto.h"
#include "testutil.h"

#ifndef PA_API_DOC
#error "PA_API_DOC (path of docs/pa-api.md) must be defined by the build"
#endif

/* A small DeviceData, encoded by hand (field number << 3 | wire type, then the value):
 * the same bytes Python's protobuf runtime writes for it. */
static const uint8_t golden_small[] = {
    0x0a, 0x02, 's',  'v',                                /* 1 sku, LEN 2 */
    0x12, 0x28,                                           /* 2 device_id, LEN 40 */
    0x0a, 0x14,                                           /*   1 hardware_origin, LEN 20 */
    0x08, 0x81, 0x80, 0x01,                               /*     1 silicon_creator_id 0x4001 */
    0x10, 0x03,                                           /*     2 product_id 3 */
    0x19, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /*     3 DIN fixed64 LE */
    0x25, 0xdd, 0xcc, 0xbb, 0xaa,                         /*     4 cp_reserved fixed32 LE */
    0x12, 0x10, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
    0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, /*   2 sku_specific, LEN 16 */
    0x18, 0x05,                                           /* 3 device_life_cycle PROD */
    0x22, 0x0a,                                           /* 4 metadata, LEN 10 */
    0x08, 0x01,                                           /*   1 registration_state PROVISIONED */
    0x10, 0xac, 0x02,                                     /*   2 create_time_ms 300 */
    0x30, 0xea, 0x0f,                                     /*   6 year 2026 */
    0x50, 0x19,                                           /*   10 x 25 */
    0x32, 0x02, 0x11, 0x02,                               /* 6 perso_tlv_data */
    0x3a, 0x02, 0xab, 0xcd,                               /* 7 perso_fw_sha256_hash: before 8 */
    0x40, 0x01,                                           /* 8 num_perso_tlv_objects 1 */
};

static void small_device_data(struct pa_device_data *dd)
{
    static uint8_t tlv[] = {0x11, 0x02};
    memset(dd, 0, sizeof(*dd));
    strcpy(dd->sku, "sv");
    dd->has_device_id = true;
    dd->device_id.has_hardware_origin = true;
    dd->device_id.hardware_origin.silicon_creator_id = PA_SILICON_CREATOR_ID_NUVOTON;
    dd->device_id.hardware_origin.product_id = PA_PRODUCT_ID_EARLGREY_A2;
    dd->device_id.hardware_origin.device_identification_number = 0x0102030405060708ULL;
    dd->device_id.hardware_origin.cp_reserved = 0xAABBCCDDu;
    for (int i = 0; i < 16; i++)
        dd->device_id.sku_specific.data[i] = (uint8_t)i;
    dd->device_id.sku_specific.len = 16;
    dd->device_life_cycle = PA_DEVICE_LIFE_CYCLE_PROD;
    dd->has_metadata = true;
    dd->metadata.registration_state = PA_DEVICE_REGISTRATION_STATE_PROVISIONED;
    dd->metadata.create_time_ms = 300;
    dd->metadata.year = 2026;
    dd->metadata.x = 25;
    dd->perso_tlv_data.data = tlv; /* borrowed: never freed */
    dd->perso_tlv_data.len = sizeof(tlv);
    dd->num_perso_tlv_objects = 1;
    dd->perso_fw_sha256_hash.data[0] = 0xab;
    dd->perso_fw_sha256_hash.data[1] = 0xcd;
    dd->perso_fw_sha256_hash.len = 2;
}

static void expect_bytes(const struct pa_bytes *got, const uint8_t *want, size_t len)
{
    ck_assert_uint_eq(got->len, len);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(got->data[i] == want[i], "byte %zu: 0x%02x, expected 0x%02x", i, got->data[i],
                      want[i]);
}

START_TEST(golden_small_device_data)
{
    struct pa_device_data dd, back;
    small_device_data(&dd);
    struct pa_bytes wire;
    struct ft_error err = {0};
    ck_assert_msg(pa_device_data_to_proto(&dd, &wire, &err) == 0, "%s", err.message);
    expect_bytes(&wire, golden_small, sizeof(golden_small));
    free(wire.data);

    ck_assert_msg(pa_device_data_from_proto(golden_small, sizeof(golden_small), &back, &err) == 0,
                  "%s", err.message);
    ck_assert(pa_msg_equal(&pa_device_data_desc, &dd, &back));
    pa_device_data_free(&back);
}
END_TEST

START_TEST(defaults_and_presence)
{
    struct pa_device_data dd = {0};
    struct pa_bytes wire;
    struct ft_error err = {0};
    ck_assert_int_eq(pa_device_data_to_proto(&dd, &wire, &err), 0);
    ck_assert_uint_eq(wire.len, 0);
    ck_assert_ptr_null(wire.data);
    ck_assert_int_eq(pa_device_data_from_proto(NULL, 0, &dd, &err), 0);

    /* A present, empty sub-message is written as tag + length 0. */
    dd.has_metadata = true;
    ck_assert_int_eq(pa_device_data_to_proto(&dd, &wire, &err), 0);
    expect_bytes(&wire, (const uint8_t[]){0x22, 0x00}, 2);
    free(wire.data);

    /* A negative enum is an int32 sign-extended to a 10-byte varint. */
    dd.has_metadata = false;
    dd.device_life_cycle = -1;
    ck_assert_int_eq(pa_device_data_to_proto(&dd, &wire, &err), 0);
    static const uint8_t minus_one[] = {0x18, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0x01};
    expect_bytes(&wire, minus_one, sizeof(minus_one));
    struct pa_device_data back;
    ck_assert_int_eq(pa_device_data_from_proto(wire.data, wire.len, &back, &err), 0);
    ck_assert_int_eq(back.device_life_cycle, -1);
    free(wire.data);
}
END_TEST

START_TEST(golden_registry_record)
{
    static uint8_t data[] = {0x0a, 0x02, 's', 'v'}, pub[] = {1, 2}, sig[] = {3};
    struct pa_registry_record rec = {0};
    strcpy(rec.device_id, "0x01");
    strcpy(rec.sku, "sv");
    rec.version = 1;
    rec.data = (struct pa_bytes){data, sizeof(data)};
    rec.auth_pubkey = (struct pa_bytes){pub, sizeof(pub)};
    rec.auth_signature = (struct pa_bytes){sig, sizeof(sig)};
    static const uint8_t want[] = {
        0x0a, 0x04, '0',  'x',  '0', '1', /* 1 device_id */
        0x12, 0x02, 's',  'v',            /* 2 sku */
        0x18, 0x01,                       /* 3 version */
        0x22, 0x04, 0x0a, 0x02, 's', 'v', /* 4 data */
        0x2a, 0x02, 0x01, 0x02,           /* 5 auth_pubkey */
        0x32, 0x01, 0x03,                 /* 6 auth_signature */
    };
    struct pa_bytes wire;
    struct ft_error err = {0};
    ck_assert_int_eq(pa_registry_record_to_proto(&rec, &wire, &err), 0);
    expect_bytes(&wire, want, sizeof(want));
    struct pa_registry_record back;
    ck_assert_int_eq(pa_registry_record_from_proto(wire.data, wire.len, &back, &err), 0);
    ck_assert(pa_msg_equal(&pa_registry_record_desc, &rec, &back));
    pa_registry_record_free(&back);
    free(wire.data);
}
END_TEST

/* ---- The documented record: bytes written by Python's protobuf runtime ------------------- */

/* The JSON body of the first example of `message` in the doc (new, free() it). */
static char *doc_example(const char *message, size_t *len)
{
    FILE *f = fopen(PA_API_DOC, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *doc = malloc((size_t)size + 1);
    ck_assert_uint_eq(fread(doc, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    doc[size] = '\0';
    char marker[128];
    snprintf(marker, sizeof(marker), "<!-- example %s -->\n```json\n", message);
    const char *body = strstr(doc, marker);
    ck_assert_msg(body != NULL, "no example of %s", message);
    body += strlen(marker);
    const char *end = strstr(body, "\n```");
    ck_assert_ptr_nonnull(end);
    *len = (size_t)(end - body);
    char *text = strndup(body, *len);
    free(doc);
    return text;
}

static bool signature_verifies(const struct pa_registry_record *rec)
{
    const unsigned char *p = rec->auth_pubkey.data;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)rec->auth_pubkey.len);
    ck_assert_ptr_nonnull(key);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
              EVP_DigestVerify(ctx, rec->auth_signature.data, rec->auth_signature.len,
                               rec->data.data, rec->data.len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

START_TEST(doc_record_matches_the_registration)
{
    size_t len;
    struct ft_error err = {0};
    char *text = doc_example("ot.RegistryRecord", &len);
    struct pa_registry_record rec;
    ck_assert_msg(pa_registry_record_from_json(text, len, &rec, &err) == 0, "%s", err.message);
    free(text);
    text = doc_example("pa.RegistrationRequest", &len);
    struct pa_registration_request req;
    ck_assert_msg(pa_registration_request_from_json(text, len, &req, &err) == 0, "%s", err.message);
    free(text);

    /* data was marshalled by another implementation: we decode it to the same message and
     * encode that message to the same bytes, so the signature over them verifies. */
    struct pa_device_data dd;
    ck_assert_msg(pa_device_data_from_proto(rec.data.data, rec.data.len, &dd, &err) == 0, "%s",
                  err.message);
    ck_assert(pa_msg_equal(&pa_device_data_desc, &dd, &req.device_data));
    struct pa_bytes wire;
    ck_assert_int_eq(pa_device_data_to_proto(&req.device_data, &wire, &err), 0);
    expect_bytes(&wire, rec.data.data, rec.data.len);
    ck_assert(signature_verifies(&rec));
    free(wire.data);

    char id[PA_DEVICE_ID_HEX_STRING_LEN + 1];
    ck_assert_int_eq(pa_device_id_to_hex_string(&dd.device_id, id, &err), 0);
    ck_assert_str_eq(id, rec.device_id);
    ck_assert_str_eq(id, "0x0102737600000000534956410000000100000000000520250412310600034001");

    ck_assert_int_eq(pa_registry_record_to_proto(&rec, &wire, &err), 0);
    struct pa_registry_record back;
    ck_assert_int_eq(pa_registry_record_from_proto(wire.data, wire.len, &back, &err), 0);
    ck_assert(pa_msg_equal(&pa_registry_record_desc, &rec, &back));
    free(wire.data);
    pa_registry_record_free(&back);
    pa_device_data_free(&dd);
    pa_registration_request_free(&req);
    pa_registry_record_free(&rec);
}
END_TEST

/* ---- Rejections ----------------------------------------------------------------------------- */

static void expect_proto_reject(const struct pa_msg_desc *desc, const uint8_t *data, size_t len,
                                enum ft_code code, const char *needle)
{
    struct ft_error err = {0};
    void *out = malloc(desc->size);
    memset(out, 0x5A, desc->size);
    ck_assert_int_eq(pa_proto_decode(desc, data, len, out, &err), -1);
    ck_assert_error(err, code, needle);
    const uint8_t *b = out;
    for (size_t i = 0; i < desc->size; i++)
        ck_assert_msg(b[i] == 0, "out not zeroed at %zu", i);
    free(out);
}

#define REJECT(desc, code, needle, ...)                                                            \
    do {                                                                                           \
        static const uint8_t bytes_[] = {__VA_ARGS__};                                             \
        expect_proto_reject(desc, bytes_, sizeof(bytes_), code, needle);                           \
    } while (0)

START_TEST(reject_malformed)
{
    /* protobuf-c refuses what cannot be parsed; what it parses must pack back to the same
     * bytes; then pa_msg.c's rules and limits apply. */
    const struct pa_msg_desc *dd = &pa_device_data_desc;
    const char *invalid = "ot.DeviceData: 2 bytes that are not a valid message";
    const char *canonical = "ot.DeviceData: not in canonical form at byte ";
    REJECT(dd, FT_E_PROTOCOL, "ot.DeviceData: field number 9 is not in ot.DeviceData's schema",
           0x48, 0x01);
    REJECT(dd, FT_E_INVALID, "1 bytes that are not a valid message", 0x00);
    REJECT(dd, FT_E_INVALID, invalid, 0x08, 0x01); /* sku as a varint */
    REJECT(dd, FT_E_INVALID, "not in canonical form at byte 0 (a field out of number order", 0x18,
           0x05, 0x0a, 0x01, 'a');
    REJECT(dd, FT_E_INVALID, "not in canonical form at byte 2", 0x0a, 0x01, 'a', 0x0a, 0x01, 'b');
    REJECT(dd, FT_E_INVALID, canonical, 0x18, 0x00); /* a default value written */
    REJECT(dd, FT_E_INVALID, canonical, 0x0a, 0x00); /* an empty string written */
    REJECT(dd, FT_E_INVALID, "not in canonical form at byte 1", 0x18, 0x85, 0x00);
    REJECT(dd, FT_E_INVALID, invalid, 0x18, 0x85);
    REJECT(dd, FT_E_INVALID, "3 bytes that are not a valid message", 0x0a, 0x05, 'a');
    REJECT(dd, FT_E_INVALID, "ot.DeviceData: sku: a string that is not UTF-8", 0x0a, 0x02, 0xc3,
           0x28);
    REJECT(dd, FT_E_INVALID, canonical, 0x0a, 0x02, 'a', 0x00);              /* NUL */
    REJECT(dd, FT_E_INVALID, canonical, 0x40, 0x80, 0x80, 0x80, 0x80, 0x10); /* 2^32 in uint32 */
    REJECT(dd, FT_E_INVALID, canonical, 0x18, 0x80, 0x80, 0x80, 0x80, 0x10); /* 2^32 in an enum */
    REJECT(dd, FT_E_INVALID, "ot.DeviceData", 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
           0xff, 0x02); /* beyond 64 bits */
    REJECT(dd, FT_E_INVALID, "6 bytes that are not a valid message", 0x12, 0x04, 0x0a, 0x02, 0x18,
           0x01); /* device_identification_number (fixed64) as a varint */
    REJECT(dd, FT_E_INVALID, "7 bytes that are not a valid message", 0x12, 0x05, 0x0a, 0x03, 0x19,
           0x01, 0x02);
    REJECT(dd, FT_E_INVALID, "4 bytes that are not a valid message", 0x12, 0x02, 0x0a, 0x03);
    REJECT(dd, FT_E_CAPACITY, "device_id.sku_specific: 17 bytes, limit 16", 0x12, 0x13, 0x12, 0x11,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    REJECT(&pa_signing_key_params_desc, FT_E_INVALID, "not in canonical form at byte 0", 0x12, 0x00,
           0x1a, 0x00); /* both members of oneof key */
    REJECT(&pa_signing_key_params_desc, FT_E_INVALID, "oneof key: none of", 0x0a, 0x01, 'A');
    REJECT(&pa_token_params_desc, FT_E_INVALID, "not in canonical form at byte 1", 0x28, 0x02);
    REJECT(&pa_hardware_origin_desc, FT_E_INVALID, "not in canonical form at byte 0", 0x25, 0, 0, 0,
           0);
}
END_TEST

START_TEST(reject_over_limits)
{
    uint8_t *big = calloc(1, 65540 + 4);
    big[0] = 0x32; /* perso_tlv_data, 65537 bytes */
    big[1] = 0x81;
    big[2] = 0x80;
    big[3] = 0x04;
    expect_proto_reject(&pa_device_data_desc, big, 4 + 65537, FT_E_CAPACITY,
                        "perso_tlv_data: 65537 bytes, limit 65536");
    big[0] = 0x0a; /* sku, 64 characters */
    big[1] = 64;
    memset(big + 2, 's', 64);
    expect_proto_reject(&pa_device_data_desc, big, 66, FT_E_CAPACITY,
                        "sku: 64 characters, limit 63");
    for (int i = 0; i < 17; i++) { /* 17 empty certificates */
        big[2 * i] = 0x0a;
        big[2 * i + 1] = 0x00;
    }
    expect_proto_reject(&pa_get_ca_certs_response_desc, big, 34, FT_E_CAPACITY,
                        "certs: 17 elements, limit 16");
    free(big);

    /* The encoder checks the struct too. */
    struct pa_device_data dd = {0};
    struct pa_bytes wire;
    struct ft_error err = {0};
    dd.perso_tlv_data.len = 1;
    ck_assert_int_eq(pa_device_data_to_proto(&dd, &wire, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "ot.DeviceData: perso_tlv_data: length 1 with no data");
    dd.perso_tlv_data.len = 0;
    strcpy(dd.metadata.ate_id, "\xff");
    dd.has_metadata = true;
    ck_assert_int_eq(pa_device_data_to_proto(&dd, &wire, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "metadata.ate_id: not valid UTF-8");
    struct pa_endorse_cert_bundle b = {0};
    b.has_key_params = true;
    ck_assert_int_eq(pa_proto_encode(&pa_endorse_cert_bundle_desc, &b, &wire, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "key_params: oneof key: none of");
    ck_assert_ptr_null(wire.data);
}
END_TEST

/* Whatever the decoder accepts, the encoder writes back byte for byte (canonical form);
 * mutated inputs must never crash or leak (ASan). */
START_TEST(mutations_stay_canonical)
{
    uint64_t rng = 0xfeed;
    uint8_t buf[sizeof(golden_small) + 8];
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len = sizeof(golden_small);
        memcpy(buf, golden_small, len);
        int edits = 1 + (int)(test_rand(&rng) % 3);
        for (int e = 0; e < edits; e++) {
            uint64_t r = test_rand(&rng);
            size_t at = (size_t)(r >> 8) % len;
            if (r % 4 == 0 && len < sizeof(buf)) { /* insert */
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (uint8_t)(r >> 32);
                len++;
            } else if (r % 4 == 1 && len > 1) { /* delete */
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
            } else {
                buf[at] = (uint8_t)(r >> 40);
            }
        }
        struct pa_device_data dd;
        if (pa_device_data_from_proto(buf, len, &dd, NULL) != 0)
            continue;
        accepted++;
        struct pa_bytes wire;
        ck_assert_int_eq(pa_device_data_to_proto(&dd, &wire, NULL), 0);
        expect_bytes(&wire, buf, len);
        free(wire.data);
        pa_device_data_free(&dd);
    }
    ck_assert_int_gt(accepted, 100);
}
END_TEST

/* ---- Device IDs ----------------------------------------------------------------------------- */

static void doc_device_id(struct pa_device_id *id)
{
    static const uint8_t sku_specific[16] = {0x01, 0x02, 0x73, 0x76, 0, 0, 0, 0,
                                             0x53, 0x49, 0x56, 0x41, 0, 0, 0, 0x01};
    memset(id, 0, sizeof(*id));
    id->has_hardware_origin = true;
    id->hardware_origin.silicon_creator_id = PA_SILICON_CREATOR_ID_NUVOTON;
    id->hardware_origin.product_id = PA_PRODUCT_ID_EARLGREY_A2;
    id->hardware_origin.device_identification_number = 0x0005202504123106ULL;
    memcpy(id->sku_specific.data, sku_specific, 16);
    id->sku_specific.len = 16;
}

START_TEST(device_id_hex_string)
{
    struct pa_device_id id;
    doc_device_id(&id);
    id.hardware_origin.cp_reserved = 0x12345678; /* never shown in this form */
    char s[PA_DEVICE_ID_HEX_STRING_LEN + 1];
    struct ft_error err = {0};
    ck_assert_int_eq(pa_device_id_to_hex_string(&id, s, &err), 0);
    ck_assert_str_eq(s, "0x0102737600000000534956410000000100000000000520250412310600034001");
    ck_assert_uint_eq(strlen(s), PA_DEVICE_ID_HEX_STRING_LEN);

    /* Go's %032x pads a short byte slice with zeros on the left; enums are cut to 16 bits. */
    id.sku_specific.len = 1;
    id.sku_specific.data[0] = 0xab;
    id.hardware_origin.product_id = 0x10003;
    ck_assert_int_eq(pa_device_id_to_hex_string(&id, s, &err), 0);
    ck_assert_str_eq(s, "0x000000000000000000000000000000ab00000000000520250412310600034001");
    id.sku_specific.len = 0;
    ck_assert_int_eq(pa_device_id_to_hex_string(&id, s, &err), 0);
    ck_assert_str_eq(s, "0x0000000000000000000000000000000000000000000520250412310600034001");
    id.has_hardware_origin = false;
    ck_assert_int_eq(pa_device_id_to_hex_string(&id, s, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "no hardware_origin");
}
END_TEST

START_TEST(device_id_raw_forms)
{
    struct pa_device_id id, back;
    doc_device_id(&id);
    id.hardware_origin.cp_reserved = 0x0a0b0c0d;
    uint8_t raw[PA_DEVICE_ID_RAW_SIZE];
    struct ft_error err = {0};
    ck_assert_int_eq(pa_device_id_to_raw(&id, raw, &err), 0);
    static const uint8_t want[32] = {0x01, 0x40, 0x03, 0x00, 0x06, 0x31, 0x12, 0x04,
                                     0x25, 0x20, 0x05, 0x00, 0x0d, 0x0c, 0x0b, 0x0a,
                                     0x01, 0x02, 0x73, 0x76, 0,    0,    0,    0,
                                     0x53, 0x49, 0x56, 0x41, 0,    0,    0,    0x01};
    ck_assert_mem_eq(raw, want, 32);
    ck_assert_int_eq(pa_device_id_from_raw(raw, &back, &err), 0);
    ck_assert(pa_msg_equal(&pa_device_id_desc, &id, &back));

    char hex[PA_DEVICE_ID_RAW_HEX_LEN + 1];
    ck_assert_int_eq(pa_device_id_to_raw_hex(&id, hex, &err), 0);
    ck_assert_str_eq(hex, "01000000415649530000000076730201"
                          "0a0b0c0d"
                          "0005202504123106"
                          "0003"
                          "4001");
}
END_TEST

START_TEST(device_id_validation)
{
    struct pa_device_id id;
    struct ft_error err = {0};
    doc_device_id(&id);
    ck_assert_int_eq(pa_device_id_validate(&id, &err), 0);
    id.sku_specific.len = 0;
    ck_assert_int_eq(pa_device_id_validate(&id, &err), 0);
    id.sku_specific.len = 5;
    ck_assert_int_eq(pa_device_id_validate(&id, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "sku_specific of 5 bytes (0 or 16)");
    doc_device_id(&id);
    id.hardware_origin.silicon_creator_id = 0x1234;
    ck_assert_int_eq(pa_device_id_validate(&id, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "invalid silicon_creator_id 4660");
    doc_device_id(&id);
    id.hardware_origin.product_id = 0x10003; /* 16 bits matter here */
    ck_assert_int_eq(pa_device_id_validate(&id, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "invalid product_id");
    uint8_t raw[32];
    ck_assert_int_eq(pa_device_id_to_raw(&id, raw, &err), -1);
    memset(raw, 0, sizeof(raw));
    struct pa_device_id back;
    ck_assert_int_eq(pa_device_id_from_raw(raw, &back, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "invalid silicon_creator_id 0");
    doc_device_id(&id);
    id.has_hardware_origin = false;
    ck_assert_int_eq(pa_device_id_validate(&id, &err), -1);
}
END_TEST

static Suite *pa_proto_suite(void)
{
    Suite *s = suite_create("pa_proto");
    TCase *tc = tcase_create("proto");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, golden_small_device_data);
    tcase_add_test(tc, defaults_and_presence);
    tcase_add_test(tc, golden_registry_record);
    tcase_add_test(tc, doc_record_matches_the_registration);
    tcase_add_test(tc, reject_malformed);
    tcase_add_test(tc, reject_over_limits);
    tcase_add_test(tc, mutations_stay_canonical);
    tcase_add_test(tc, device_id_hex_string);
    tcase_add_test(tc, device_id_raw_forms);
    tcase_add_test(tc, device_id_validation);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(pa_proto_suite)
