/* pa_pbjson: proto3 JSON over protoc-c descriptors, on the PA schema's generated messages
 * (proto/). Python's json_format checks the same codec on a corpus of every message in
 * tests/pa/test_pa_proto_schema.py; this suite checks each rule on its own. */
#include "crypto/cert.pb-c.h"
#include "ot/device_id.pb-c.h"
#include "pa.pb-c.h"
#include "pa/pa_limits.h"
#include "pa/pa_pbjson.h"
#include "pa/pa_schema.h"
#include "testutil.h"

/* Reads `text` as a `desc` message; NULL (and err set) when refused. */
static ProtobufCMessage *read_text(const ProtobufCMessageDescriptor *desc, const char *text,
                                   struct ft_error *err)
{
    json_error_t jerr;
    json_t *value = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(value != NULL, "test JSON: %s", jerr.text);
    ProtobufCMessage *msg = NULL;
    int rc = pa_pbjson_read(desc, value, &msg, err);
    json_decref(value);
    ck_assert_int_eq(rc == 0, msg != NULL);
    return msg;
}

static char *write_text(const ProtobufCMessage *msg)
{
    json_t *value = NULL;
    struct ft_error err = {0};
    ck_assert_msg(pa_pbjson_write(msg, &value, &err) == 0, "%s", err.message);
    char *text = json_dumps(value, JSON_COMPACT);
    json_decref(value);
    return text;
}

static void refused(const ProtobufCMessageDescriptor *desc, const char *text, const char *why)
{
    struct ft_error err = {0};
    ProtobufCMessage *msg = read_text(desc, text, &err);
    ck_assert_msg(msg == NULL, "%s accepted", text);
    ck_assert_msg(strstr(err.message, why) != NULL, "%s: \"%s\" lacks \"%s\"", text, err.message,
                  why);
}

START_TEST(reads_every_scalar_kind)
{
    struct ft_error err = {0};
    ProtobufCMessage *msg =
        read_text(&ot__hardware_origin__descriptor,
                  "{\"siliconCreatorId\":\"SILICON_CREATOR_ID_NUVOTON\",\"product_id\":3,"
                  "\"device_identification_number\":\"18446744073709551615\",\"cp_reserved\":1e3}",
                  &err);
    ck_assert_msg(msg != NULL, "%s", err.message);
    Ot__HardwareOrigin *h = (Ot__HardwareOrigin *)msg;
    ck_assert_int_eq(h->silicon_creator_id, OT__SILICON_CREATOR_ID__SILICON_CREATOR_ID_NUVOTON);
    ck_assert_int_eq(h->product_id, 3);
    ck_assert_uint_eq(h->device_identification_number, UINT64_MAX);
    ck_assert_uint_eq(h->cp_reserved, 1000);
    char *text = write_text(msg);
    /* uint64 as a decimal string, fixed32 as a number, enums by name */
    ck_assert_str_eq(text, "{\"silicon_creator_id\":\"SILICON_CREATOR_ID_NUVOTON\","
                           "\"product_id\":\"PRODUCT_ID_EARLGREY_A2\","
                           "\"device_identification_number\":\"18446744073709551615\","
                           "\"cp_reserved\":1000}");
    free(text);
    protobuf_c_message_free_unpacked(msg, NULL);
}
END_TEST

START_TEST(bytes_in_either_base64_alphabet)
{
    struct ft_error err = {0};
    /* 0xfb 0xff: "+/8=" standard, "-_8" URL-safe unpadded */
    const char *forms[] = {"{\"diversifier\":\"+/8=\"}", "{\"diversifier\":\"-_8\"}",
                           "{\"diversifier\":\"-_8=\"}"};
    for (size_t i = 0; i < 3; i++) {
        ProtobufCMessage *msg = read_text(&pa__token_params__descriptor, forms[i], &err);
        ck_assert_msg(msg != NULL, "%s: %s", forms[i], err.message);
        Pa__TokenParams *p = (Pa__TokenParams *)msg;
        ck_assert_uint_eq(p->diversifier.len, 2);
        ck_assert_uint_eq(p->diversifier.data[0], 0xfb);
        char *text = write_text(msg);
        ck_assert_str_eq(text, "{\"diversifier\":\"+/8=\"}");
        free(text);
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    refused(&pa__token_params__descriptor, "{\"diversifier\":\"+_8=\"}", "mixes");
    refused(&pa__token_params__descriptor, "{\"diversifier\":\"AAAAA\"}", "cannot be complete");
    refused(&pa__token_params__descriptor, "{\"diversifier\":7}", "expected a base64 string");
}
END_TEST

START_TEST(defaults_are_not_written)
{
    Pa__TokenParams p = PA__TOKEN_PARAMS__INIT;
    char *text = write_text(&p.base);
    ck_assert_str_eq(text, "{}");
    free(text);
    p.wrap_seed = 1;
    p.seed = 99; /* proto3 enums are open: a number without a name stays a number */
    text = write_text(&p.base);
    ck_assert_str_eq(text, "{\"seed\":99,\"wrap_seed\":true}");
    free(text);
}
END_TEST

START_TEST(oneof_members)
{
    struct ft_error err = {0};
    /* A member set to an empty message is written: presence, not value, decides. */
    ProtobufCMessage *msg = read_text(&crypto__cert__signing_key_params__descriptor,
                                      "{\"key_label\":\"k\",\"mldsaParams\":{}}", &err);
    ck_assert_msg(msg != NULL, "%s", err.message);
    Crypto__Cert__SigningKeyParams *k = (Crypto__Cert__SigningKeyParams *)msg;
    ck_assert_int_eq(k->key_case, CRYPTO__CERT__SIGNING_KEY_PARAMS__KEY_MLDSA_PARAMS);
    char *text = write_text(msg);
    ck_assert_str_eq(text, "{\"key_label\":\"k\",\"mldsa_params\":{}}");
    free(text);
    protobuf_c_message_free_unpacked(msg, NULL);
    refused(&crypto__cert__signing_key_params__descriptor,
            "{\"ecdsa_params\":{},\"mldsa_params\":{}}",
            "crypto.cert.SigningKeyParams: oneof key: ecdsa_params and mldsa_params are both set");
    /* null is "not set": the other member may follow */
    msg = read_text(&crypto__cert__signing_key_params__descriptor,
                    "{\"ecdsa_params\":null,\"mldsa_params\":{}}", &err);
    ck_assert_ptr_nonnull(msg);
    protobuf_c_message_free_unpacked(msg, NULL);
}
END_TEST

START_TEST(refusals_name_the_field)
{
    const ProtobufCMessageDescriptor *req = &pa__endorse_certs_request__descriptor;
    refused(req, "{\"skew\":1}", "pa.EndorseCertsRequest: unknown field \"skew\"");
    refused(req, "{\"sku\":\"a\",\"Sku\":\"b\"}", "unknown field \"Sku\"");
    refused(&pa__init_session_request__descriptor, "{\"sku_auth\":\"a\",\"skuAuth\":\"b\"}",
            "duplicate field \"skuAuth\" (sku_auth)");
    refused(req, "{\"bundles\":[null]}", "bundles[0]: null in a list");
    refused(req, "{\"bundles\":[{\"tbs\":\"AA==\"},{\"key_params\":{\"key_label\":5}}]}",
            "bundles[1].key_params.key_label: expected a string, got a number");
    refused(req, "{\"bundles\":{}}", "bundles: expected an array");
    refused(req, "{\"sku\":\"a\\u0000b\"}", "NUL");
    refused(&ot__hardware_origin__descriptor, "{\"cp_reserved\":4294967296}", "exceeds");
    refused(&ot__hardware_origin__descriptor, "{\"cp_reserved\":-1}", "negative");
    refused(&ot__hardware_origin__descriptor, "{\"cp_reserved\":1.5}", "not an integer");
    refused(&ot__hardware_origin__descriptor, "{\"product_id\":\"PRODUCT_ID_NOPE\"}",
            "\"PRODUCT_ID_NOPE\" is not a value of ot.ProductId");
    refused(&ot__hardware_origin__descriptor, "{\"product_id\":2147483648}", "int32");
    refused(&pa__token_params__descriptor, "{\"wrap_seed\":1}", "expected true or false");
    refused(req, "[]", "expected an object");
}
END_TEST

START_TEST(limits_of_the_pa_schema)
{
    /* pa.InitSessionRequest.sku: 63 characters (PA_SKU_MAX) */
    char text[160];
    snprintf(text, sizeof(text), "{\"sku\":\"%064d\"}", 0);
    refused(&pa__init_session_request__descriptor, text, "sku: 64 characters, limit 63");
    snprintf(text, sizeof(text), "{\"sku\":\"%063d\"}", 0);
    struct ft_error err = {0};
    ProtobufCMessage *msg = read_text(&pa__init_session_request__descriptor, text, &err);
    ck_assert_msg(msg != NULL, "%s", err.message);
    protobuf_c_message_free_unpacked(msg, NULL);
    /* ot.DeviceId.sku_specific: 16 bytes */
    refused(&ot__device_id__descriptor, "{\"sku_specific\":\"AAAAAAAAAAAAAAAAAAAAAAA=\"}",
            "sku_specific: 17 bytes, limit 16");
    /* a list of 17 certificates (PA_REPEATED_MAX 16), read and written */
    refused(&pa__get_ca_certs_response__descriptor,
            "{\"certs\":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]}",
            "certs: 17 elements, limit 16");
    uint8_t wire[34];
    for (int i = 0; i < 17; i++) {
        wire[2 * i] = 0x0a; /* certs = 1, empty */
        wire[2 * i + 1] = 0;
    }
    msg =
        protobuf_c_message_unpack(&pa__get_ca_certs_response__descriptor, NULL, sizeof(wire), wire);
    ck_assert_ptr_nonnull(msg);
    json_t *value = NULL;
    ck_assert_int_eq(pa_pbjson_write(msg, &value, &err), -1);
    ck_assert_int_eq(err.code, FT_E_CAPACITY);
    ck_assert_msg(strstr(err.message, "certs: 17 elements, limit 16"), "%s", err.message);
    protobuf_c_message_free_unpacked(msg, NULL);
}
END_TEST

/* pa_limits.c against proto/: every string and byte field of the schema has a limit (the
 * struct generator stops without one), and every row names such a field (a row left over
 * from a renamed field would limit nothing). */
START_TEST(limits_table_matches_the_schema)
{
    size_t n_msgs = 0, n_limits = 0, n_limited_fields = 0;
    const ProtobufCMessageDescriptor *const *msgs = pa_schema_messages(&n_msgs);
    for (size_t i = 0; i < n_msgs; i++) {
        for (unsigned f = 0; f < msgs[i]->n_fields; f++) {
            const ProtobufCFieldDescriptor *fd = &msgs[i]->fields[f];
            if (fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_BYTES)
                continue;
            n_limited_fields++;
            ck_assert_msg(pa_field_limit_find(msgs[i]->name, fd->name) != NULL,
                          "%s.%s has no limit", msgs[i]->name, fd->name);
        }
    }
    const struct pa_field_limit *rows = pa_field_limit_list(&n_limits);
    for (size_t i = 0; i < n_limits; i++) {
        const ProtobufCMessageDescriptor *m = pa_schema_message(rows[i].message);
        ck_assert_msg(m != NULL, "limit row %s: no such message", rows[i].message);
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field_by_name(m, rows[i].field);
        ck_assert_msg(fd != NULL, "limit row %s.%s: no such field", rows[i].message, rows[i].field);
        ck_assert_msg(fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_BYTES,
                      "limit row %s.%s: neither string nor bytes", rows[i].message, rows[i].field);
        ck_assert_msg(rows[i].max > 0, "limit row %s.%s: 0", rows[i].message, rows[i].field);
    }
    ck_assert_uint_eq(n_limits, n_limited_fields);
}
END_TEST

START_TEST(unknown_fields_from_the_wire_are_refused)
{
    /* InitSessionResponse with field 15 (varint 1) besides sku_session_token */
    static const uint8_t wire[] = {0x0a, 1, 't', 0x78, 1};
    ProtobufCMessage *msg =
        protobuf_c_message_unpack(&pa__init_session_response__descriptor, NULL, sizeof(wire), wire);
    ck_assert_ptr_nonnull(msg);
    json_t *value = NULL;
    struct ft_error err = {0};
    ck_assert_int_eq(pa_pbjson_write(msg, &value, &err), -1);
    ck_assert_ptr_null(value);
    ck_assert_msg(strstr(err.message, "field number 15 is not in pa.InitSessionResponse's schema"),
                  "%s", err.message);
    protobuf_c_message_free_unpacked(msg, NULL);
}
END_TEST

START_TEST(round_trip_through_the_wire)
{
    static const char text[] =
        "{\"sku\":\"sival\",\"bundles\":[{\"key_params\":{\"key_label\":\"dice\","
        "\"ecdsa_params\":{\"hash_type\":\"HASH_TYPE_SHA256\",\"curve\":"
        "\"ELLIPTIC_CURVE_TYPE_NIST_P256\",\"encoding\":\"ECDSA_SIGNATURE_ENCODING_DER\"}},"
        "\"tbs\":\"MAMCAQE=\"}],\"diversifier\":\"d2Fz\",\"signature\":\"AAE=\"}";
    struct ft_error err = {0};
    ProtobufCMessage *msg = read_text(&pa__endorse_certs_request__descriptor, text, &err);
    ck_assert_msg(msg != NULL, "%s", err.message);
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *wire = malloc(n);
    protobuf_c_message_pack(msg, wire);
    ProtobufCMessage *back =
        protobuf_c_message_unpack(&pa__endorse_certs_request__descriptor, NULL, n, wire);
    ck_assert_ptr_nonnull(back);
    char *again = write_text(back);
    ck_assert_str_eq(again, text);
    free(again);
    free(wire);
    protobuf_c_message_free_unpacked(back, NULL);
    protobuf_c_message_free_unpacked(msg, NULL);
}
END_TEST

static Suite *pa_pbjson_suite(void)
{
    Suite *s = suite_create("pa_pbjson");
    TCase *tc = tcase_create("pbjson");
    tcase_add_test(tc, reads_every_scalar_kind);
    tcase_add_test(tc, bytes_in_either_base64_alphabet);
    tcase_add_test(tc, defaults_are_not_written);
    tcase_add_test(tc, oneof_members);
    tcase_add_test(tc, refusals_name_the_field);
    tcase_add_test(tc, limits_of_the_pa_schema);
    tcase_add_test(tc, limits_table_matches_the_schema);
    tcase_add_test(tc, unknown_fields_from_the_wire_are_refused);
    tcase_add_test(tc, round_trip_through_the_wire);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(pa_pbjson_suite)
