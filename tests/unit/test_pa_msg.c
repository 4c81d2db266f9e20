/* pa/pa_msg: the PA API messages as proto3 JSON (and, for every message, the protobuf
 * round trip of pa/pa_proto). The examples in docs/pa-api.md are tested here too. */
#include <inttypes.h>
#include <stdio.h>

#include "pa/pa_msg.h"
#include "pa/pa_msg_pb.h"
#include "pa/pa_proto.h"
#include "testutil.h"

#ifndef PA_API_DOC
#error "PA_API_DOC (path of docs/pa-api.md) must be defined by the build"
#endif

/* Compact JSON text of `j` (new, free() it). */
static char *dump(const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert_ptr_nonnull(text);
    return text;
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0)
            return false;
    }
    return true;
}

/* Decodes `in`, encodes the result and expects compact text `want` (NULL: `in` itself). */
static void expect_round_trip(const struct pa_msg_desc *desc, const char *in, const char *want)
{
    struct ft_error err = {0};
    void *msg = calloc(1, desc->size);
    ck_assert_msg(pa_msg_from_json(desc, in, strlen(in), msg, &err) == 0, "%s", err.message);
    json_t *j = NULL;
    ck_assert_msg(pa_msg_to_json(desc, msg, &j, &err) == 0, "%s", err.message);
    char *text = dump(j);
    ck_assert_str_eq(text, want ? want : in);
    free(text);
    json_decref(j);
    pa_msg_free(desc, msg);
    free(msg);
}

/* Expects `in` to be rejected with `code` and `needle` in the message, `out` zeroed. */
static void expect_reject(const struct pa_msg_desc *desc, const char *in, enum ft_code code,
                          const char *needle)
{
    struct ft_error err = {0};
    void *msg = malloc(desc->size);
    memset(msg, 0xA5, desc->size);
    ck_assert_msg(pa_msg_from_json(desc, in, strlen(in), msg, &err) == -1, "accepted %s", in);
    ck_assert_error(err, code, needle);
    ck_assert_msg(all_zero(msg, desc->size), "out not zeroed after rejecting %s", in);
    free(msg);
}

/* ---- Golden JSON ------------------------------------------------------------------------ */

static const char golden_init_session[] = "{\"sku\":\"sival\",\"sku_auth\":\"test_password\"}";

START_TEST(golden_init_session_request)
{
    struct pa_init_session_request req = {0};
    strcpy(req.sku, "sival");
    strcpy(req.sku_auth, "test_password");
    json_t *j = NULL;
    struct ft_error err = {0};
    ck_assert_int_eq(pa_init_session_request_to_json(&req, &j, &err), 0);
    char *text = dump(j);
    ck_assert_str_eq(text, golden_init_session);
    free(text);
    json_decref(j);

    struct pa_init_session_request got;
    ck_assert_int_eq(pa_init_session_request_from_json(golden_init_session,
                                                       strlen(golden_init_session), &got, &err),
                     0);
    ck_assert_str_eq(got.sku, "sival");
    ck_assert_str_eq(got.sku_auth, "test_password");
}
END_TEST

/* An ML-DSA bundle: oneof member 3, bytes, enums by name. */
static const char golden_endorse_mldsa[] =
    "{\"sku\":\"sival_pqc\",\"bundles\":[{\"key_params\":{\"key_label\":\"UDS\",\"mldsa_params\":"
    "{\"param_sets\":\"MLDSA_PARAMETER_SETS_MLDSA_87\"}},\"tbs\":\"MIIBAg==\"}],"
    "\"diversifier\":\"d2FzAAAA\",\"signature\":\"AQID\"}";

START_TEST(golden_endorse_certs_mldsa)
{
    static const uint8_t tbs[] = {0x30, 0x82, 0x01, 0x02};
    struct pa_endorse_certs_request req = {0};
    strcpy(req.sku, "sival_pqc");
    req.bundles_count = 1;
    req.bundles[0].has_key_params = true;
    strcpy(req.bundles[0].key_params.key_label, "UDS");
    req.bundles[0].key_params.key_case = PA_SIGNING_KEY_MLDSA_PARAMS;
    req.bundles[0].key_params.mldsa_params.param_sets = PA_MLDSA_PARAMETER_SETS_MLDSA_87;
    req.bundles[0].tbs.data = (uint8_t *)tbs; /* borrowed: never freed below */
    req.bundles[0].tbs.len = sizeof(tbs);
    memcpy(req.diversifier.data, "was\0\0\0", 6);
    req.diversifier.len = 6;
    memcpy(req.signature.data, "\1\2\3", 3);
    req.signature.len = 3;

    json_t *j = NULL;
    struct ft_error err = {0};
    ck_assert_msg(pa_endorse_certs_request_to_json(&req, &j, &err) == 0, "%s", err.message);
    char *text = dump(j);
    ck_assert_str_eq(text, golden_endorse_mldsa);
    free(text);
    json_decref(j);

    struct pa_endorse_certs_request got;
    ck_assert_int_eq(pa_endorse_certs_request_from_json(golden_endorse_mldsa,
                                                        strlen(golden_endorse_mldsa), &got, &err),
                     0);
    ck_assert(pa_msg_equal(&pa_endorse_certs_request_desc, &req, &got));
    ck_assert_uint_eq(got.bundles[0].key_params.key_case, PA_SIGNING_KEY_MLDSA_PARAMS);
    ck_assert_mem_eq(got.bundles[0].tbs.data, tbs, sizeof(tbs));
    pa_endorse_certs_request_free(&got);
    ck_assert_ptr_null(got.bundles[0].tbs.data);
    pa_endorse_certs_request_free(&got); /* idempotent */
}
END_TEST

/* DeviceData: field-number order (7 before 8, though the .proto declares 8 first), fixed64
 * and uint64 as strings, fixed32 as a number, as Python's json_format writes it. */
static const char golden_device_data[] =
    "{\"sku\":\"sv\",\"device_id\":{\"hardware_origin\":{\"silicon_creator_id\":"
    "\"SILICON_CREATOR_ID_NUVOTON\",\"product_id\":\"PRODUCT_ID_EARLGREY_A2\","
    "\"device_identification_number\":\"72623859790382856\",\"cp_reserved\":2864434397},"
    "\"sku_specific\":\"AAECAwQFBgcICQoLDA0ODw==\"},\"device_life_cycle\":\"DEVICE_LIFE_CYCLE_"
    "PROD\","
    "\"metadata\":{\"registration_state\":\"DEVICE_REGISTRATION_STATE_PROVISIONED\","
    "\"create_time_ms\":\"300\",\"year\":2026,\"x\":25},\"perso_tlv_data\":\"EQI=\","
    "\"perso_fw_sha256_hash\":\"q80=\",\"num_perso_tlv_objects\":1}";

START_TEST(golden_device_data_json)
{
    expect_round_trip(&pa_device_data_desc, golden_device_data, NULL);
    struct pa_device_data dd;
    struct ft_error err = {0};
    ck_assert_int_eq(
        pa_device_data_from_json(golden_device_data, strlen(golden_device_data), &dd, &err), 0);
    ck_assert_uint_eq(dd.device_id.hardware_origin.device_identification_number,
                      0x0102030405060708ULL);
    ck_assert_uint_eq(dd.device_id.hardware_origin.cp_reserved, 0xAABBCCDDu);
    ck_assert_int_eq(dd.device_id.hardware_origin.silicon_creator_id,
                     PA_SILICON_CREATOR_ID_NUVOTON);
    ck_assert_uint_eq(dd.metadata.create_time_ms, 300);
    ck_assert_uint_eq(dd.perso_tlv_data.len, 2);
    pa_device_data_free(&dd);
}
END_TEST

START_TEST(golden_empty_messages)
{
    expect_round_trip(&pa_close_session_request_desc, "{}", NULL);
    expect_round_trip(&pa_registration_response_desc, "{}", NULL);
    expect_round_trip(&pa_close_session_response_desc, "", "{}");
    expect_reject(&pa_signing_key_params_desc, "", FT_E_INVALID, "oneof key: none of");
    /* Present but empty sub-messages stay present: {} is not the same as absent. */
    expect_round_trip(&pa_endorse_cert_bundle_desc, "{\"key_params\":{\"ecdsa_params\":{}}}", NULL);
    expect_round_trip(&pa_registration_request_desc, "{\"device_data\":{}}", NULL);
    /* Defaults are omitted on output. */
    expect_round_trip(&pa_token_params_desc,
                      "{\"seed\":0,\"type\":\"TOKEN_TYPE_UNSPECIFIED\",\"diversifier\":\"\","
                      "\"wrap_seed\":false}",
                      "{}");
    expect_round_trip(&pa_metadata_desc, "{\"ate_id\":\"\",\"create_time_ms\":\"0\",\"x\":0}",
                      "{}");
    /* null means "not set". */
    expect_round_trip(&pa_device_data_desc, "{\"sku\":null,\"device_id\":null,\"metadata\":null}",
                      "{}");
}
END_TEST

/* ---- The documented examples ------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    ck_assert_uint_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    text[size] = '\0';
    *len = (size_t)size;
    return text;
}

static void check_status_example(const json_t *want, const char *body, size_t len)
{
    struct pa_status st;
    struct ft_error err = {0};
    ck_assert_msg(pa_status_from_json(body, len, &st, &err) == 0, "%s", err.message);
    ck_assert_str_ne(pa_status_code_name(st.code), "OK");
    json_t *got = pa_status_to_json(st.code, st.message);
    ck_assert(json_equal(want, got));
    json_decref(got);
}

/* Decodes one example, encodes it again and expects the same compact text. */
static void check_example(const char *name, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *want = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_msg(want != NULL, "%s example: %s", name, jerr.text);
    if (strcmp(name, "google.rpc.Status") == 0) {
        check_status_example(want, body, len);
        json_decref(want);
        return;
    }
    const struct pa_msg_desc *desc = pa_msg_desc_find(name);
    ck_assert_msg(desc != NULL, "example of unknown message %s", name);
    void *msg = calloc(1, desc->size);
    struct ft_error err = {0};
    ck_assert_msg(pa_msg_from_json(desc, body, len, msg, &err) == 0, "%s", err.message);
    json_t *got = NULL;
    ck_assert_msg(pa_msg_to_json(desc, msg, &got, &err) == 0, "%s", err.message);
    char *want_text = dump(want), *got_text = dump(got);
    ck_assert_str_eq(got_text, want_text);
    free(want_text);
    free(got_text);
    json_decref(want);
    json_decref(got);
    pa_msg_free(desc, msg);
    free(msg);
}

START_TEST(doc_examples_round_trip)
{
    size_t len;
    char *doc = read_file(PA_API_DOC, &len);
    size_t rpc_count;
    const struct pa_rpc_desc *rpcs = pa_rpc_list(&rpc_count);
    bool seen[2 * 9] = {false};
    ck_assert_uint_eq(rpc_count, 9);
    int examples = 0;
    for (const char *p = doc; (p = strstr(p, "<!-- example ")) != NULL; examples++) {
        char name[80];
        ck_assert_int_eq(sscanf(p, "<!-- example %79s -->", name), 1);
        const char *body = strstr(p, "```json\n");
        ck_assert_ptr_nonnull(body);
        body += 8;
        const char *end = strstr(body, "\n```");
        ck_assert_ptr_nonnull(end);
        check_example(name, body, (size_t)(end - body));
        for (size_t i = 0; i < rpc_count; i++) {
            seen[2 * i] |= strcmp(rpcs[i].request->name, name) == 0;
            seen[2 * i + 1] |= strcmp(rpcs[i].response->name, name) == 0;
        }
        p = end;
    }
    for (size_t i = 0; i < 2 * rpc_count; i++)
        ck_assert_msg(seen[i], "no example for the %s of %s", i % 2 ? "response" : "request",
                      rpcs[i / 2].name);
    ck_assert_int_ge(examples, 2 * 9 + 1);
    free(doc);
}
END_TEST

START_TEST(doc_unknown_field_error_is_exact)
{
    const char *in = "{\"sku\":\"sival\",\"bundles\":[{\"key_params\":{\"key_lable\":\"UDS\"}}]}";
    struct pa_endorse_certs_request req;
    struct ft_error err = {0};
    ck_assert_int_eq(pa_endorse_certs_request_from_json(in, strlen(in), &req, &err), -1);
    ck_assert_str_eq(err.message,
                     "pa.EndorseCertsRequest: bundles[0].key_params: unknown field \"key_lable\"");
}
END_TEST

/* ---- Every message, generated ------------------------------------------------------------
 * Fills every field of a message with a value drawn from a PRNG (or at its limits) and
 * checks JSON and protobuf round trips. */

/* Appends a random UTF-8 character of 1..4 bytes that fits in `room` (>= 1). */
static size_t put_utf8_char(char *s, size_t room, uint64_t *rng)
{
    static const char *const chars[] = {
        "a", "Z", "_", "\"", "\\", "\n", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "/", " "};
    for (;;) {
        const char *c = chars[test_rand(rng) % (sizeof(chars) / sizeof(chars[0]))];
        size_t n = strlen(c);
        if (n <= room) {
            memcpy(s, c, n);
            return n;
        }
    }
}

static size_t pick_len(size_t cap, uint64_t *rng, bool full)
{
    return full ? cap : (size_t)(test_rand(rng) % (cap + 1));
}

static int32_t pick_enum(const struct pa_enum_desc *e, uint64_t *rng, bool full)
{
    uint64_t r = test_rand(rng);
    if (!full && r % 5 == 0) /* a number without a name: proto3 enums are open */
        return r % 2 ? INT32_MIN : (int32_t)(r >> 40) | 0x100000;
    return e->generated->values[r % e->generated->n_values].value;
}

static void fill_message(const struct pa_msg_desc *desc, void *msg, uint64_t *rng, bool full);

static void fill_value(const struct pa_field_desc *f, void *slot, uint64_t *rng, bool full)
{
    uint64_t r = test_rand(rng);
    size_t n;
    switch (f->kind) {
    case PA_FIELD_STRING:
        n = pick_len(f->cap, rng, full);
        for (size_t i = 0; i < n;)
            i += put_utf8_char((char *)slot + i, n - i, rng);
        ((char *)slot)[n] = '\0';
        break;
    case PA_FIELD_BYTES:
        n = pick_len(f->cap, rng, full);
        for (size_t i = 0; i < n; i++)
            ((struct pa_small_bytes *)slot)->data[i] = (uint8_t)test_rand(rng);
        ((struct pa_small_bytes *)slot)->len = n;
        break;
    case PA_FIELD_HEAP_BYTES:
        n = full ? f->cap : (size_t)(r % 600);
        ((struct pa_bytes *)slot)->data = n ? malloc(n) : NULL;
        for (size_t i = 0; i < n; i++)
            ((struct pa_bytes *)slot)->data[i] = (uint8_t)(i * 7 + r);
        ((struct pa_bytes *)slot)->len = n;
        break;
    case PA_FIELD_BOOL:
        *(bool *)slot = full || r % 2;
        break;
    case PA_FIELD_UINT32:
    case PA_FIELD_FIXED32:
        *(uint32_t *)slot = full ? UINT32_MAX : (uint32_t)(r >> (r % 32));
        break;
    case PA_FIELD_UINT64:
    case PA_FIELD_FIXED64:
        *(uint64_t *)slot = full ? UINT64_MAX : r >> (r % 64);
        break;
    case PA_FIELD_ENUM:
        *(int32_t *)slot = pick_enum(f->enum_desc, rng, full);
        break;
    case PA_FIELD_MESSAGE:
        fill_message(f->msg_desc, slot, rng, full);
        break;
    }
}

/* Whether a later field of `desc` belongs to the same oneof as field `i`. */
static bool more_in_group(const struct pa_msg_desc *desc, size_t i)
{
    for (size_t k = i + 1; k < desc->field_count; k++) {
        if (desc->fields[k].oneof && strcmp(desc->fields[k].oneof, desc->fields[i].oneof) == 0)
            return true;
    }
    return false;
}

static void fill_message(const struct pa_msg_desc *desc, void *msg, uint64_t *rng, bool full)
{
    for (size_t i = 0; i < desc->field_count; i++) {
        const struct pa_field_desc *f = &desc->fields[i];
        if (f->max_count > 0) {
            size_t n = full ? f->max_count : (size_t)(test_rand(rng) % (f->max_count + 1));
            *(size_t *)(void *)((char *)msg + f->count_offset) = n;
            for (size_t k = 0; k < n; k++)
                fill_value(f, pa_field_ptr(f, msg, k), rng, full);
            continue;
        }
        if (f->oneof != NULL) {
            uint32_t *which = (uint32_t *)(void *)((char *)msg + f->presence_offset);
            if (*which != 0 || (more_in_group(desc, i) && test_rand(rng) % 2))
                continue;
        } else if (f->presence == PA_PRESENCE_FLAG && !full && test_rand(rng) % 4 == 0) {
            continue; /* leave it absent */
        }
        fill_value(f, pa_field_ptr(f, msg, 0), rng, full);
        pa_field_set_present(f, msg);
    }
}

static void check_json_round_trip(const struct pa_msg_desc *desc, const void *msg)
{
    struct ft_error err = {0};
    json_t *j = NULL;
    ck_assert_msg(pa_msg_to_json(desc, msg, &j, &err) == 0, "%s", err.message);
    char *text = dump(j);
    void *back = calloc(1, desc->size);
    ck_assert_msg(pa_msg_from_json(desc, text, strlen(text), back, &err) == 0, "%s: %s",
                  err.message, text);
    ck_assert_msg(pa_msg_equal(desc, msg, back), "%s differs after JSON: %.300s", desc->name, text);
    json_t *j2 = NULL;
    ck_assert_int_eq(pa_msg_to_json(desc, back, &j2, &err), 0);
    char *text2 = dump(j2);
    ck_assert_str_eq(text, text2);
    free(text);
    free(text2);
    json_decref(j);
    json_decref(j2);
    pa_msg_free(desc, back);
    free(back);
}

static void check_proto_round_trip(const struct pa_msg_desc *desc, const void *msg)
{
    struct ft_error err = {0};
    struct pa_bytes wire = {0}, wire2 = {0};
    ck_assert_msg(pa_proto_encode(desc, msg, &wire, &err) == 0, "%s", err.message);
    void *back = calloc(1, desc->size);
    ck_assert_msg(pa_proto_decode(desc, wire.data, wire.len, back, &err) == 0, "%s", err.message);
    ck_assert_msg(pa_msg_equal(desc, msg, back), "%s differs after protobuf", desc->name);
    ck_assert_int_eq(pa_proto_encode(desc, back, &wire2, &err), 0);
    ck_assert_uint_eq(wire.len, wire2.len);
    ck_assert(wire.len == 0 || memcmp(wire.data, wire2.data, wire.len) == 0);
    free(wire.data);
    free(wire2.data);
    pa_msg_free(desc, back);
    free(back);
}

START_TEST(every_message_at_limits)
{
    size_t count;
    const struct pa_msg_desc *const *all = pa_msg_desc_list(&count);
    ck_assert_uint_eq(count, 31);
    uint64_t rng = 0x5eed;
    for (size_t i = 0; i < count; i++) {
        void *msg = calloc(1, all[i]->size);
        fill_message(all[i], msg, &rng, true);
        check_json_round_trip(all[i], msg);
        check_proto_round_trip(all[i], msg);
        pa_msg_free(all[i], msg);
        free(msg);
    }
}
END_TEST

START_TEST(every_message_random)
{
    size_t count;
    const struct pa_msg_desc *const *all = pa_msg_desc_list(&count);
    uint64_t rng = 0x1234567;
    for (int round = 0; round < 60; round++) {
        for (size_t i = 0; i < count; i++) {
            void *msg = calloc(1, all[i]->size);
            fill_message(all[i], msg, &rng, false);
            check_json_round_trip(all[i], msg);
            check_proto_round_trip(all[i], msg);
            pa_msg_free(all[i], msg);
            free(msg);
        }
    }
}
END_TEST

START_TEST(every_message_empty)
{
    size_t count;
    const struct pa_msg_desc *const *all = pa_msg_desc_list(&count);
    for (size_t i = 0; i < count; i++) {
        void *msg = calloc(1, all[i]->size);
        if (all[i] == &pa_signing_key_params_desc) { /* its oneof needs a member */
            ((struct pa_signing_key_params *)msg)->key_case = PA_SIGNING_KEY_ECDSA_PARAMS;
            expect_round_trip(all[i], "{\"ecdsa_params\":{}}", NULL);
        } else {
            expect_round_trip(all[i], "{}", NULL);
        }
        json_t *j = NULL;
        ck_assert_int_eq(pa_msg_to_json(all[i], msg, &j, NULL), 0);
        json_decref(j);
        free(msg);
    }
}
END_TEST

/* ---- Rejections --------------------------------------------------------------------------- */

START_TEST(reject_unknown_fields)
{
    expect_reject(&pa_init_session_request_desc, "{\"sku\":\"a\",\"skux\":1}", FT_E_INVALID,
                  "pa.InitSessionRequest: unknown field \"skux\"");
    expect_reject(&pa_close_session_request_desc, "{\"x\":null}", FT_E_INVALID,
                  "unknown field \"x\"");
    expect_reject(&pa_registration_request_desc,
                  "{\"device_data\":{\"device_id\":{\"hardware_origin\":{\"din\":1}}}}",
                  FT_E_INVALID,
                  "pa.RegistrationRequest: device_data.device_id.hardware_origin: unknown field "
                  "\"din\"");
    /* A hostile key is shown cut and without control characters. */
    expect_reject(&pa_init_session_request_desc,
                  "{\"a\\n\\u0007bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQ\":1}",
                  FT_E_INVALID,
                  "unknown field \"a??bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ...\"");
}
END_TEST

START_TEST(reject_duplicates)
{
    expect_reject(&pa_init_session_request_desc, "{\"sku\":\"a\",\"sku\":\"b\"}", FT_E_INVALID,
                  "duplicate object key");
    expect_reject(&pa_init_session_request_desc, "{\"sku_auth\":\"a\",\"skuAuth\":\"b\"}",
                  FT_E_INVALID, "duplicate field \"skuAuth\" (sku_auth)");
    expect_reject(&pa_device_data_desc, "{\"metadata\":{\"x\":1,\"x\":2}}", FT_E_INVALID,
                  "duplicate");
    /* The JSON name alone is accepted, as protojson does; output uses the proto name. */
    expect_round_trip(&pa_init_session_request_desc, "{\"skuAuth\":\"pw\"}",
                      "{\"sku_auth\":\"pw\"}");
    expect_round_trip(&pa_device_data_desc,
                      "{\"persoFwSha256Hash\":\"AA==\",\"numPersoTlvObjects\":2}",
                      "{\"perso_fw_sha256_hash\":\"AA==\",\"num_perso_tlv_objects\":2}");
}
END_TEST

START_TEST(reject_wrong_types)
{
    const struct pa_msg_desc *er = &pa_endorse_certs_request_desc;
    expect_reject(&pa_init_session_request_desc, "{\"sku\":5}", FT_E_INVALID,
                  "sku: expected a string, got a number");
    expect_reject(er, "{\"bundles\":{}}", FT_E_INVALID,
                  "bundles: expected an array, got an object");
    expect_reject(er, "{\"bundles\":[[]]}", FT_E_INVALID, "bundles[0]: expected an object");
    expect_reject(er, "{\"bundles\":[null]}", FT_E_INVALID, "bundles[0]: null in a list");
    expect_reject(er, "{\"bundles\":[{\"tbs\":1}]}", FT_E_INVALID,
                  "bundles[0].tbs: expected a base64 string, got a number");
    expect_reject(&pa_token_params_desc, "{\"wrap_seed\":\"true\"}", FT_E_INVALID,
                  "wrap_seed: expected true or false, got a string");
    expect_reject(&pa_token_params_desc, "{\"wrap_seed\":1}", FT_E_INVALID,
                  "expected true or false");
    expect_reject(&pa_metadata_desc, "{\"year\":true}", FT_E_INVALID,
                  "year: expected a number or a decimal string, got a boolean");
    expect_reject(&pa_metadata_desc, "{\"year\":\"abc\"}", FT_E_INVALID,
                  "year: \"abc\" is not a number");
    expect_reject(&pa_ecdsa_params_desc, "{\"curve\":[]}", FT_E_INVALID,
                  "curve: expected a number, got an array");
    expect_reject(&pa_init_session_request_desc, "[]", FT_E_INVALID, "not a JSON object");
    expect_reject(&pa_init_session_request_desc, "{\"sku\":", FT_E_INVALID, "JSON syntax");
    expect_reject(&pa_init_session_request_desc, "{} x", FT_E_INVALID, "JSON syntax");
    expect_reject(&pa_init_session_request_desc, "\"sku\"", FT_E_INVALID, "JSON syntax");
    expect_reject(&pa_init_session_request_desc, "{\"sku\":\"a\\u0000b\"}", FT_E_INVALID,
                  "JSON syntax");
}
END_TEST

START_TEST(reject_nul_in_caller_value)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "sku", json_stringn("a\0b", 3));
    struct pa_init_session_request req;
    struct ft_error err = {0};
    ck_assert_int_eq(pa_msg_from_json_value(&pa_init_session_request_desc, obj, &req, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "sku: contains a NUL character");
    json_decref(obj);
}
END_TEST

START_TEST(base64_forms)
{
    const struct pa_msg_desc *c = &pa_certificate_desc;
    /* protojson accepts URL-safe and unpadded text; output is always padded standard. */
    expect_round_trip(c, "{\"blob\":\"-_8=\"}", "{\"blob\":\"+/8=\"}");
    expect_round_trip(c, "{\"blob\":\"-_8\"}", "{\"blob\":\"+/8=\"}");
    expect_round_trip(c, "{\"blob\":\"QQ\"}", "{\"blob\":\"QQ==\"}");
    expect_round_trip(c, "{\"blob\":\"QUI\"}", "{\"blob\":\"QUI=\"}");
    expect_round_trip(c, "{\"blob\":\"QUJD\"}", NULL);
    expect_reject(c, "{\"blob\":\"!!!!\"}", FT_E_INVALID, "blob: base64: character 0x21");
    expect_reject(c, "{\"blob\":\"ab-/\"}", FT_E_INVALID,
                  "mixes the standard and URL-safe alphabets at position 3");
    expect_reject(c, "{\"blob\":\"abcde\"}", FT_E_INVALID, "cannot be complete");
    expect_reject(c, "{\"blob\":\"ab=\"}", FT_E_INVALID, "'=' padding in unpadded");
    expect_reject(c, "{\"blob\":\"QR==\"}", FT_E_INVALID, "non-canonical");
    expect_reject(c, "{\"blob\":\"QQ=A\"}", FT_E_INVALID, "not in the alphabet");
    expect_reject(c, "{\"blob\":\"Q===\"}", FT_E_INVALID, "not in the alphabet");
    expect_reject(c, "{\"blob\":\"QUJD\\nQUJD\"}", FT_E_INVALID, "base64");
    expect_reject(c, "{\"blob\":\"====\"}", FT_E_INVALID, "base64");
}
END_TEST

/* A JSON string of `n` copies of `c`, inside `pre` ... `post`. */
static char *repeat_json(const char *pre, char c, size_t n, const char *post)
{
    size_t a = strlen(pre), b = strlen(post);
    char *s = malloc(a + n + b + 1);
    memcpy(s, pre, a);
    memset(s + a, c, n);
    memcpy(s + a + n, post, b + 1);
    return s;
}

START_TEST(reject_over_limits)
{
    const struct pa_msg_desc *er = &pa_endorse_certs_request_desc;
    char *s =
        repeat_json("{\"bundles\":[{},{},{\"key_params\":{\"key_label\":\"", 'k', 32, "\"}}]}");
    expect_reject(er, s, FT_E_CAPACITY,
                  "pa.EndorseCertsRequest: bundles[2].key_params.key_label: 32 characters, "
                  "limit 31");
    free(s);
    s = repeat_json("{\"bundles\":[{\"key_params\":{\"ecdsa_params\":{},\"key_label\":\"", 'k', 31,
                    "\"}}]}");
    expect_round_trip(
        er, s,
        "{\"bundles\":[{\"key_params\":{\"key_label\":\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\","
        "\"ecdsa_params\":{}}}]}");
    free(s);
    /* 50 bytes of diversifier, then exactly 48. */
    s = repeat_json("{\"diversifier\":\"", 'A', 64, "AAA=\"}");
    expect_reject(er, s, FT_E_CAPACITY, "diversifier: 50 bytes, limit 48");
    free(s);
    s = repeat_json("{\"diversifier\":\"", 'A', 64, "\"}");
    expect_round_trip(er, s, NULL);
    free(s);
    s = repeat_json("{\"bundles\":[", '{', 0,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]}");
    expect_reject(er, s, FT_E_CAPACITY, "bundles: 17 elements, limit 16");
    free(s);
    /* 8193 bytes of TBS: 2731 full groups of 4 characters. */
    s = repeat_json("{\"bundles\":[{\"tbs\":\"", 'A', 10924, "\"}]}");
    expect_reject(er, s, FT_E_CAPACITY, "bundles[0].tbs: 8193 bytes, limit 8192");
    free(s);
    s = repeat_json("{\"perso_tlv_data\":\"", 'A', 87384, "\"}");
    expect_reject(&pa_device_data_desc, s, FT_E_CAPACITY, "perso_tlv_data: 65538 bytes");
    free(s);
    s = repeat_json("{\"sku\":\"", 's', PA_JSON_TEXT_MAX, "\"}");
    expect_reject(&pa_init_session_request_desc, s, FT_E_CAPACITY, "bytes of JSON, limit");
    free(s);
    expect_reject(&pa_device_id_desc, "{\"sku_specific\":\"AAAAAAAAAAAAAAAAAAAAAAA=\"}",
                  FT_E_CAPACITY, "sku_specific: 17 bytes, limit 16");
}
END_TEST

START_TEST(enums_by_name_and_number)
{
    const struct pa_msg_desc *e = &pa_ecdsa_params_desc;
    expect_round_trip(e, "{\"hash_type\":3}", "{\"hash_type\":\"HASH_TYPE_SHA256\"}");
    expect_round_trip(e, "{\"hash_type\":3.0}", "{\"hash_type\":\"HASH_TYPE_SHA256\"}");
    expect_round_trip(e, "{\"hash_type\":\"HASH_TYPE_SHA384\"}", NULL);
    /* 1 has no name in HashType (a Tink legacy): kept as a number. */
    expect_round_trip(e, "{\"hash_type\":1}", NULL);
    expect_round_trip(e, "{\"curve\":-7}", NULL);
    expect_round_trip(e, "{\"curve\":-2147483648}", NULL);
    expect_reject(e, "{\"hash_type\":\"HASH_TYPE_SHA1\"}", FT_E_INVALID,
                  "hash_type: \"HASH_TYPE_SHA1\" is not a value of crypto.common.HashType");
    expect_reject(e, "{\"hash_type\":\"hash_type_sha256\"}", FT_E_INVALID, "is not a value");
    expect_reject(e, "{\"hash_type\":\"3\"}", FT_E_INVALID, "is not a value");
    expect_reject(e, "{\"hash_type\":2147483648}", FT_E_RANGE, "outside the int32 range");
    expect_reject(e, "{\"hash_type\":3.5}", FT_E_INVALID, "not an integer");
    expect_round_trip(&pa_mldsa_params_desc, "{\"param_sets\":0}", "{}");
    expect_round_trip(&pa_hardware_origin_desc,
                      "{\"silicon_creator_id\":16385,\"product_id\":65535}",
                      "{\"silicon_creator_id\":\"SILICON_CREATOR_ID_NUVOTON\",\"product_id\":"
                      "\"PRODUCT_ID_FPGA\"}");
}
END_TEST

START_TEST(integers_as_numbers_and_strings)
{
    const struct pa_msg_desc *h = &pa_hardware_origin_desc, *m = &pa_metadata_desc;
    expect_round_trip(h, "{\"device_identification_number\":\"18446744073709551615\"}", NULL);
    expect_round_trip(h, "{\"device_identification_number\":1442718237733126}",
                      "{\"device_identification_number\":\"1442718237733126\"}");
    expect_round_trip(h, "{\"device_identification_number\":9223372036854775807}",
                      "{\"device_identification_number\":\"9223372036854775807\"}");
    expect_round_trip(h, "{\"device_identification_number\":\"1e3\"}",
                      "{\"device_identification_number\":\"1000\"}");
    expect_round_trip(h, "{\"device_identification_number\":\"12.50e1\"}",
                      "{\"device_identification_number\":\"125\"}");
    expect_round_trip(h, "{\"device_identification_number\":1e3}",
                      "{\"device_identification_number\":\"1000\"}");
    expect_round_trip(h, "{\"device_identification_number\":\"0.0e99999999\"}", "{}");
    expect_round_trip(m, "{\"create_time_ms\":\"1772611200123\",\"year\":\"2026\"}",
                      "{\"create_time_ms\":\"1772611200123\",\"year\":2026}");
    expect_round_trip(h, "{\"cp_reserved\":4294967295}", NULL);
    expect_reject(h, "{\"cp_reserved\":4294967296}", FT_E_RANGE,
                  "cp_reserved: 4294967296 exceeds 4294967295");
    expect_reject(h, "{\"device_identification_number\":\"18446744073709551616\"}", FT_E_RANGE,
                  "out of range");
    expect_reject(h, "{\"device_identification_number\":\"1e20\"}", FT_E_RANGE, "out of range");
    expect_reject(h, "{\"device_identification_number\":18446744073709551615}", FT_E_INVALID,
                  "JSON syntax"); /* beyond what the parser holds as a number */
    expect_reject(h, "{\"device_identification_number\":1e17}", FT_E_RANGE, "beyond 2^53");
    expect_reject(h, "{\"device_identification_number\":-1}", FT_E_RANGE, "-1 is negative");
    expect_reject(h, "{\"device_identification_number\":\"-0\"}", FT_E_RANGE, "negative");
    expect_reject(m, "{\"year\":1.5}", FT_E_INVALID, "year: 1.5 is not an integer");
    expect_reject(m, "{\"year\":\"1.5\"}", FT_E_INVALID, "is not an integer");
    expect_reject(m, "{\"year\":\"12e-1\"}", FT_E_INVALID, "is not an integer");
    expect_reject(m, "{\"year\":\"0x10\"}", FT_E_INVALID, "is not a number");
    expect_reject(m, "{\"year\":\" 1\"}", FT_E_INVALID, "is not a number");
    expect_reject(m, "{\"year\":\"01\"}", FT_E_INVALID, "is not a number");
    expect_reject(m, "{\"year\":\"1.\"}", FT_E_INVALID, "is not a number");
    expect_reject(m, "{\"year\":\"\"}", FT_E_INVALID, "is not a number");
    expect_reject(m, "{\"year\":\"+1\"}", FT_E_INVALID, "is not a number");
}
END_TEST

START_TEST(oneof_rules)
{
    const struct pa_msg_desc *k = &pa_signing_key_params_desc;
    expect_reject(k, "{\"ecdsa_params\":{},\"mldsa_params\":{}}", FT_E_INVALID,
                  "crypto.cert.SigningKeyParams: oneof key: ecdsa_params and mldsa_params are "
                  "both set");
    expect_reject(k, "{\"key_label\":\"UDS\"}", FT_E_INVALID,
                  "oneof key: none of ecdsa_params, mldsa_params is set (exactly one is required)");
    expect_reject(&pa_endorse_certs_request_desc, "{\"bundles\":[{\"key_params\":{}}]}",
                  FT_E_INVALID, "bundles[0].key_params: oneof key: none of");
    expect_round_trip(k, "{\"ecdsa_params\":null,\"mldsa_params\":{}}", "{\"mldsa_params\":{}}");
    expect_round_trip(k, "{\"mldsaParams\":{\"paramSets\":1}}",
                      "{\"mldsa_params\":{\"param_sets\":\"MLDSA_PARAMETER_SETS_MLDSA_44\"}}");

    /* The encoder holds the same rule. */
    struct pa_signing_key_params p = {0};
    json_t *j = NULL;
    struct ft_error err = {0};
    ck_assert_int_eq(pa_signing_key_params_to_json(&p, &j, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "oneof key: none of");
    ck_assert_ptr_null(j);
    p.key_case = 7;
    ck_assert_int_eq(pa_signing_key_params_to_json(&p, &j, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "oneof key: case 7 is none of ecdsa_params, mldsa_params");
    p.key_case = PA_SIGNING_KEY_ECDSA_PARAMS;
    p.mldsa_params.param_sets = 3; /* not the selected member: ignored */
    ck_assert_int_eq(pa_signing_key_params_to_json(&p, &j, &err), 0);
    char *text = dump(j);
    ck_assert_str_eq(text, "{\"ecdsa_params\":{}}");
    free(text);
    json_decref(j);
}
END_TEST

START_TEST(failed_decode_frees_and_zeroes)
{
    /* The first bundle's TBS is on the heap when the second fails. */
    expect_reject(&pa_endorse_certs_request_desc,
                  "{\"bundles\":[{\"tbs\":\"AAAA\"},{\"tbs\":\"!\"}]}", FT_E_INVALID,
                  "bundles[1].tbs");
    expect_reject(&pa_registration_request_desc,
                  "{\"device_data\":{\"perso_tlv_data\":\"AAAA\",\"metadata\":{\"x\":-1}}}",
                  FT_E_RANGE, "device_data.metadata.x: -1 is negative");
}
END_TEST

START_TEST(encoder_checks_the_struct)
{
    struct ft_error err = {0};
    json_t *j = NULL;
    struct pa_init_session_request req = {0};
    memset(req.sku, 'a', sizeof(req.sku)); /* no NUL within the field */
    ck_assert_int_eq(pa_init_session_request_to_json(&req, &j, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "pa.InitSessionRequest: sku: not NUL-terminated");
    strcpy(req.sku, "bad\xc3(");
    ck_assert_int_eq(pa_init_session_request_to_json(&req, &j, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "sku: not valid UTF-8");
    strcpy(req.sku, "\xed\xa0\x80"); /* a surrogate */
    ck_assert_int_eq(pa_init_session_request_to_json(&req, &j, &err), -1);

    struct pa_token tok = {0};
    tok.wrapped_seed.len = 3;
    ck_assert_int_eq(pa_token_to_json(&tok, &j, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "pa.Token: wrapped_seed: length 3 with no data");
    tok.wrapped_seed.len = 0;
    tok.token.len = PA_TOKEN_MAX + 1;
    ck_assert_int_eq(pa_token_to_json(&tok, &j, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "token: 65 bytes, limit 64");

    static struct pa_derive_tokens_request dr;
    dr.params_count = PA_REPEATED_MAX + 1;
    ck_assert_int_eq(pa_derive_tokens_request_to_json(&dr, &j, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "params: 17 elements, limit 16");
    dr.params_count = 2;
    dr.params[1].diversifier.len = 49;
    ck_assert_int_eq(pa_derive_tokens_request_to_json(&dr, &j, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "pa.DeriveTokensRequest: params[1].diversifier: 49 bytes");
    ck_assert_ptr_null(j);
}
END_TEST

/* The copy from protoc-c's message holds the struct's rules itself: the protobuf path
 * (pa_proto_decode) reaches the struct without JSON's checks. */
START_TEST(copy_from_protoc_message_checks_it)
{
    struct ft_error err = {0};
    struct pa_init_session_request req;
    Pa__InitSessionRequest in = PA__INIT_SESSION_REQUEST__INIT;
    char long_sku[PA_SKU_MAX + 2];
    memset(long_sku, 's', sizeof(long_sku) - 1);
    long_sku[sizeof(long_sku) - 1] = '\0';
    in.sku = long_sku;
    memset(&req, 0xA5, sizeof(req));
    ck_assert_int_eq(pa_msg_from_pb(&pa_init_session_request_desc, &in.base, &req, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "pa.InitSessionRequest: sku: 64 characters, limit 63");
    ck_assert(all_zero(&req, sizeof(req)));
    in.sku = (char *)"bad\xc3(";
    ck_assert_int_eq(pa_msg_from_pb(&pa_init_session_request_desc, &in.base, &req, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "sku: a string that is not UTF-8");

    /* Another message than the descriptor's, and a field from outside the schema. */
    Pa__CloseSessionRequest other = PA__CLOSE_SESSION_REQUEST__INIT;
    ck_assert_int_eq(pa_msg_from_pb(&pa_init_session_request_desc, &other.base, &req, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "a pa.CloseSessionRequest where a pa.InitSessionRequest");
    in.sku = (char *)"sival";
    ProtobufCMessageUnknownField unknown = {.tag = 9, .wire_type = PROTOBUF_C_WIRE_TYPE_VARINT};
    uint8_t one = 1;
    unknown.len = 1;
    unknown.data = &one;
    in.base.n_unknown_fields = 1;
    in.base.unknown_fields = &unknown;
    ck_assert_int_eq(pa_msg_from_pb(&pa_init_session_request_desc, &in.base, &req, &err), -1);
    ck_assert_error(err, FT_E_PROTOCOL, "field number 9 is not in pa.InitSessionRequest's schema");
    in.base.n_unknown_fields = 0;
    ck_assert_int_eq(pa_msg_from_pb(&pa_init_session_request_desc, &in.base, &req, &err), 0);
    ck_assert_str_eq(req.sku, "sival");

    /* A oneof needs its member on the way in too. */
    Crypto__Cert__SigningKeyParams key = CRYPTO__CERT__SIGNING_KEY_PARAMS__INIT;
    struct pa_signing_key_params params;
    ck_assert_int_eq(pa_msg_from_pb(&pa_signing_key_params_desc, &key.base, &params, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "oneof key: none of ecdsa_params, mldsa_params is set");
}
END_TEST

START_TEST(equality)
{
    struct pa_cert_bundle a = {0}, b = {0};
    uint8_t x[2] = {1, 2}, y[2] = {1, 2};
    strcpy(a.key_label, "UDS");
    strcpy(b.key_label, "UDS");
    ck_assert(pa_msg_equal(&pa_cert_bundle_desc, &a, &b));
    a.has_cert = true;
    ck_assert(!pa_msg_equal(&pa_cert_bundle_desc, &a, &b));
    b.has_cert = true;
    a.cert.blob = (struct pa_bytes){x, 2};
    b.cert.blob = (struct pa_bytes){y, 2};
    ck_assert(pa_msg_equal(&pa_cert_bundle_desc, &a, &b));
    y[1] = 3;
    ck_assert(!pa_msg_equal(&pa_cert_bundle_desc, &a, &b));
}
END_TEST

/* ---- Status, codes, RPCs, enums ---------------------------------------------------------- */

START_TEST(status_bodies)
{
    json_t *j = pa_status_to_json(PA_GRPC_ALREADY_EXISTS, "device 0x01 exists");
    char *text = dump(j);
    ck_assert_str_eq(text, "{\"code\":6,\"message\":\"device 0x01 exists\"}");
    free(text);
    json_decref(j);
    j = pa_status_to_json(PA_GRPC_INTERNAL, "bad \xff utf8 \xc3");
    text = dump(j);
    ck_assert_str_eq(text, "{\"code\":13,\"message\":\"bad ? utf8 ?\"}");
    free(text);
    json_decref(j);
    j = pa_status_to_json(3, NULL);
    text = dump(j);
    ck_assert_str_eq(text, "{\"code\":3,\"message\":\"\"}");
    free(text);
    json_decref(j);

    struct pa_status st;
    struct ft_error err = {0};
    const char *in = "{\"code\":\"5\",\"message\":\"no such sku\",\"details\":[{\"@type\":\"x\"}]}";
    ck_assert_int_eq(pa_status_from_json(in, strlen(in), &st, &err), 0);
    ck_assert_int_eq(st.code, 5);
    ck_assert_str_eq(st.message, "no such sku");
    ck_assert(!st.truncated);
    in = "{\"code\":3,\"error\":1}";
    ck_assert_int_eq(pa_status_from_json(in, strlen(in), &st, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "google.rpc.Status: unknown field \"error\"");
    in = "{\"code\":3,\"message\":7}";
    ck_assert_int_eq(pa_status_from_json(in, strlen(in), &st, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "google.rpc.Status: message: expected a string");
    in = "{\"code\":3,\"details\":[1]}";
    ck_assert_int_eq(pa_status_from_json(in, strlen(in), &st, &err), -1);
    in = "<html>502</html>";
    ck_assert_int_eq(pa_status_from_json(in, strlen(in), &st, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "JSON syntax");

    /* A long message is cut at a character boundary (a 2-byte character at the edge). */
    char *long_msg =
        repeat_json("{\"code\":2,\"message\":\"", 'm', PA_STATUS_MESSAGE_MAX - 1, "\xc3\xa9\"}");
    ck_assert_int_eq(pa_status_from_json(long_msg, strlen(long_msg), &st, &err), 0);
    ck_assert(st.truncated);
    ck_assert_uint_eq(strlen(st.message), PA_STATUS_MESSAGE_MAX - 1);
    free(long_msg);
}
END_TEST

START_TEST(grpc_codes_and_http)
{
    static const struct {
        int code;
        const char *name;
        int http;
    } table[] = {
        {0, "OK", 200},
        {1, "CANCELLED", 499},
        {2, "UNKNOWN", 500},
        {3, "INVALID_ARGUMENT", 400},
        {4, "DEADLINE_EXCEEDED", 504},
        {5, "NOT_FOUND", 404},
        {6, "ALREADY_EXISTS", 409},
        {7, "PERMISSION_DENIED", 403},
        {8, "RESOURCE_EXHAUSTED", 429},
        {9, "FAILED_PRECONDITION", 400},
        {10, "ABORTED", 409},
        {11, "OUT_OF_RANGE", 400},
        {12, "UNIMPLEMENTED", 501},
        {13, "INTERNAL", 500},
        {14, "UNAVAILABLE", 503},
        {15, "DATA_LOSS", 500},
        {16, "UNAUTHENTICATED", 401},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        ck_assert_str_eq(pa_status_code_name(table[i].code), table[i].name);
        ck_assert_int_eq(pa_status_http_status(table[i].code), table[i].http);
    }
    ck_assert_ptr_null(pa_status_code_name(17));
    ck_assert_ptr_null(pa_status_code_name(-1));
    ck_assert_int_eq(pa_status_http_status(99), 500);
}
END_TEST

START_TEST(rpc_table)
{
    size_t n;
    const struct pa_rpc_desc *rpcs = pa_rpc_list(&n);
    static const char *const names[] = {"InitSession",  "CloseSession",          "EndorseCerts",
                                        "DeriveTokens", "GetStoredTokens",       "GetCaSubjectKeys",
                                        "GetCaCerts",   "GetOwnerFwBootMessage", "RegisterDevice"};
    ck_assert_uint_eq(n, 9);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(rpcs[i].name, names[i]);
        char path[128];
        snprintf(path, sizeof(path), "/pa.ProvisioningApplianceService/%s", names[i]);
        ck_assert_str_eq(rpcs[i].path, path);
        ck_assert_ptr_eq(pa_rpc_find(names[i], strlen(names[i])), &rpcs[i]);
        ck_assert_ptr_eq(pa_rpc_find(path, strlen(path)), &rpcs[i]);
        ck_assert_int_eq(rpcs[i].needs_session, i >= 2);
    }
    ck_assert_ptr_eq(pa_rpc_find("RegisterDevice", 14)->request, &pa_registration_request_desc);
    ck_assert_ptr_null(pa_rpc_find("Register", 8));
    ck_assert_ptr_null(pa_rpc_find("RegisterDeviceX", 15));
    ck_assert_ptr_null(pa_rpc_find("/pa.ProvisioningApplianceService/", 33));
    ck_assert_ptr_eq(pa_msg_desc_find("ot.DeviceData"), &pa_device_data_desc);
    ck_assert_ptr_null(pa_msg_desc_find("DeviceData"));
}
END_TEST

/* The proto name of `number` in `e`, or NULL when it has none. */
static const char *enum_name(const struct pa_enum_desc *e, int32_t number)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(e->generated, number);
    return v != NULL ? v->name : NULL;
}

START_TEST(enum_tables)
{
    size_t n_enums = 0;
    const struct pa_enum_desc *const *all = pa_enum_desc_list(&n_enums);
    size_t total = 0;
    for (size_t i = 0; i < n_enums; i++)
        total += all[i]->generated->n_values;
    ck_assert_uint_eq(total, 4 + 3 + 3 + 5 + 5 + 2 + 3 + 4 + 4 + 5 + 6 + 9);
    ck_assert_str_eq(enum_name(&pa_hash_type_enum, PA_HASH_TYPE_SHA256), "HASH_TYPE_SHA256");
    ck_assert_ptr_null(enum_name(&pa_hash_type_enum, 1));
    ck_assert_str_eq(enum_name(&pa_mldsa_parameter_sets_enum, 0),
                     "MLDSA_PARAMETER_SETS_MLDSA_UNSPECIFIED");
    ck_assert_int_eq(enum_name(&pa_silicon_creator_id_enum, 0x4001)[19], 'N');
    /* Names to numbers, through the decoder. */
    struct pa_token_params p = {0};
    struct ft_error err = {0};
    static const char ok[] = "{\"size\":\"TOKEN_SIZE_256_BITS\"}";
    ck_assert_int_eq(pa_msg_from_json(&pa_token_params_desc, ok, strlen(ok), &p, &err), 0);
    ck_assert_int_eq(p.size, PA_TOKEN_SIZE_256_BITS);
    static const char bad[] = "{\"size\":\"TOKEN_SIZE_512_BITS\"}";
    ck_assert_int_eq(pa_msg_from_json(&pa_token_params_desc, bad, strlen(bad), &p, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "\"TOKEN_SIZE_512_BITS\" is not a value of pa.TokenSize");
}
END_TEST

START_TEST(utf8_validation)
{
    ck_assert(pa_utf8_valid("", 0));
    ck_assert(pa_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
    ck_assert(!pa_utf8_valid("\xc0\x80", 2));         /* overlong NUL */
    ck_assert(!pa_utf8_valid("\xe0\x80\x80", 3));     /* overlong */
    ck_assert(!pa_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    ck_assert(!pa_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    ck_assert(!pa_utf8_valid("\xe2\x82", 2));         /* cut */
    ck_assert(!pa_utf8_valid("\x80", 1));
}
END_TEST

static Suite *pa_msg_suite(void)
{
    Suite *s = suite_create("pa_msg");
    TCase *tc = tcase_create("json");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, golden_init_session_request);
    tcase_add_test(tc, golden_endorse_certs_mldsa);
    tcase_add_test(tc, golden_device_data_json);
    tcase_add_test(tc, golden_empty_messages);
    tcase_add_test(tc, doc_examples_round_trip);
    tcase_add_test(tc, doc_unknown_field_error_is_exact);
    tcase_add_test(tc, every_message_at_limits);
    tcase_add_test(tc, every_message_random);
    tcase_add_test(tc, every_message_empty);
    tcase_add_test(tc, reject_unknown_fields);
    tcase_add_test(tc, reject_duplicates);
    tcase_add_test(tc, reject_wrong_types);
    tcase_add_test(tc, reject_nul_in_caller_value);
    tcase_add_test(tc, base64_forms);
    tcase_add_test(tc, reject_over_limits);
    tcase_add_test(tc, enums_by_name_and_number);
    tcase_add_test(tc, integers_as_numbers_and_strings);
    tcase_add_test(tc, oneof_rules);
    tcase_add_test(tc, failed_decode_frees_and_zeroes);
    tcase_add_test(tc, encoder_checks_the_struct);
    tcase_add_test(tc, copy_from_protoc_message_checks_it);
    tcase_add_test(tc, equality);
    tcase_add_test(tc, status_bodies);
    tcase_add_test(tc, grpc_codes_and_http);
    tcase_add_test(tc, rpc_table);
    tcase_add_test(tc, enum_tables);
    tcase_add_test(tc, utf8_validation);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(pa_msg_suite)
