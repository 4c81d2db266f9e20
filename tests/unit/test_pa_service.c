/* ftpa end to end: the service on a real HTTP port, called through the harness's client,
 * with certificates and WAS HMACs from the device model. Every RPC and every upstream
 * rejection; the one device ID form (record, log, GET, export); decoded exports; reloads
 * of the configuration that leave calls in flight and sessions alone. */
#include <curl/curl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert/endorse.h"
#include "common/base64.h"
#include "pa/cshake.h"
#include "pa/pa_auth.h"
#include "pa/pa_client.h"
#include "pa/pa_http.h"
#include "pa/pa_init.h"
#include "pa/pa_msg.h"
#include "pa/pa_proto.h"
#include "pa/pa_service.h"
#include "simflow.h"
#include "testutil.h"
#include "wire/device_id.h"
#include "wire/perso_blob.h"

#define PASSWORD "test_password"
#define DICE_DN "/C=US/ST=CA/O=OpenTitan/CN=ftharness development DICE ICA"
#define EXT_DN "/C=US/ST=CA/O=OpenTitan/CN=ftharness development EXT ICA"

static char dir[512];
static struct pa_service *svc;
static struct pa_http *http;
static char base_url[64];

static void init_sku_in(const char *where, const char *sku, bool ext)
{
    struct pa_init_options o = {
        .dir = where,
        .sku = sku,
        .root_subject = "/C=US/O=OpenTitan/CN=test root",
        .dice_subject = DICE_DN,
        .ext_subject = ext ? EXT_DN : NULL,
        .password = PASSWORD,
        .boot_message = "ownership: OWND",
        .hash_order = {"UDS", "CDI_0", "CDI_1", "TPM EK"},
        .n_hash_order = ext ? 4 : 3,
    };
    struct ft_error err = {0};
    ck_assert_msg(pa_init_sku(&o, &err) == 0, "%s", err.message);
}

static void init_sku(const char *sku, bool ext)
{
    init_sku_in(dir, sku, ext);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "%s/pa_service.%d", getenv("TEST_TMP") ? getenv("TEST_TMP") : ".",
             (int)getpid());
    mkdir(dir, 0755);
    init_sku("emulation_tpm", true);
    init_sku("sival", false);
    char db[600];
    snprintf(db, sizeof(db), "%s/registry.db", dir);
    struct pa_service_options so = {.config_dir = dir, .db_path = db, .log = NULL};
    struct pa_http_options ho = {.address = "127.0.0.1", .max_body = 1u << 20, .threads = 4};
    struct ft_error err = {0};
    uint16_t port = 0;
    ck_assert_msg(pa_service_new(&so, &svc, &err) == 0, "%s", err.message);
    ck_assert_msg(pa_http_start(svc, &ho, &http, &port, &err) == 0, "%s", err.message);
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%u", port);
    ck_assert_int_eq(pa_client_global_init(NULL), 0);
}

static void teardown(void)
{
    pa_http_stop(http);
    pa_service_free(svc);
}

static struct pa_client *client(const char *user)
{
    struct pa_client_options o = {.base_url = base_url, .user_id = user, .max_attempts = 1};
    struct ft_error err = {0};
    struct pa_client *c = pa_client_new(&o, &err);
    ck_assert_msg(c != NULL, "%s", err.message);
    return c;
}

/* Calls `rpc` and returns the gRPC code; the body stays in *reply. */
static int call(struct pa_client *c, const char *rpc, const char *json, struct pa_reply *reply)
{
    pa_reply_release(reply);
    memset(reply, 0, sizeof(*reply));
    pa_client_call(c, rpc, json, strlen(json), true, reply, NULL);
    return reply->grpc_code;
}

/* A client with a session of `sku`; its token is copied to `token` when not NULL. */
static struct pa_client *session_token(const char *user, const char *sku, char *token)
{
    struct pa_client *c = client(user);
    char json[256];
    snprintf(json, sizeof(json), "{\"sku\":\"%s\",\"sku_auth\":\"%s\"}", sku, PASSWORD);
    struct pa_reply r = {0};
    ck_assert_int_eq(call(c, "InitSession", json, &r), 0);
    struct pa_init_session_response resp;
    ck_assert_int_eq(pa_init_session_response_from_json(r.body, r.body_len, &resp, NULL), 0);
    ck_assert_uint_eq(strlen(resp.sku_session_token), PA_SESSION_TOKEN_LEN);
    ck_assert_int_eq(pa_client_set_token(c, resp.sku_session_token, NULL), 0);
    if (token != NULL)
        memcpy(token, resp.sku_session_token, PA_SESSION_TOKEN_LEN + 1);
    pa_reply_release(&r);
    return c;
}

static struct pa_client *session(const char *user, const char *sku)
{
    return session_token(user, sku, NULL);
}

START_TEST(session_rules)
{
    struct pa_client *c = client("host/1");
    struct pa_reply r = {0};
    ck_assert_int_eq(
        call(c, "InitSession", "{\"sku\":\"emulation_tpm\",\"sku_auth\":\"nope\"}", &r),
        PA_GRPC_UNAUTHENTICATED);
    ck_assert_int_eq(r.http_status, 401);
    ck_assert_int_eq(call(c, "InitSession", "{\"sku\":\"nosuch\",\"sku_auth\":\"x\"}", &r),
                     PA_GRPC_NOT_FOUND);
    /* No session for this user yet: upstream answers INTERNAL "user not found". */
    ck_assert_int_eq(call(c, "GetOwnerFwBootMessage", "{\"sku\":\"emulation_tpm\"}", &r),
                     PA_GRPC_INTERNAL);
    ck_assert(strstr(r.message, "user not found") != NULL);
    pa_client_free(c);

    c = session("host/1", "emulation_tpm");
    ck_assert_int_eq(call(c, "GetOwnerFwBootMessage", "{\"sku\":\"emulation_tpm\"}", &r), 0);
    ck_assert(strstr(r.body, "ownership: OWND") != NULL);
    ck_assert_int_eq(call(c, "GetStoredTokens", "{\"sku\":\"emulation_tpm\"}", &r),
                     PA_GRPC_PERMISSION_DENIED);
    ck_assert_int_eq(call(c, "GetOwnerFwBootMessage", "{\"sku\":\"emulation_tpm\",\"x\":1}", &r),
                     PA_GRPC_INVALID_ARGUMENT);
    ck_assert(strstr(r.message, "x") != NULL);
    pa_client_set_token(c, "not-the-token", NULL);
    ck_assert_int_eq(call(c, "GetOwnerFwBootMessage", "{\"sku\":\"emulation_tpm\"}", &r),
                     PA_GRPC_NOT_FOUND);
    ck_assert(strstr(r.message, "incorrect access token") != NULL);
    pa_client_set_token(c, NULL, NULL);
    ck_assert_int_eq(call(c, "GetOwnerFwBootMessage", "{\"sku\":\"emulation_tpm\"}", &r),
                     PA_GRPC_UNAUTHENTICATED);
    pa_reply_release(&r);
    pa_client_free(c);
}
END_TEST

/* Upstream's auth interceptor exempts CloseSession: anyone naming a site's user_id could
 * end its session. ftpa asks for the session's token. */
START_TEST(close_session_needs_the_token)
{
    char token[PA_SESSION_TOKEN_SIZE];
    struct pa_client *victim = session_token("host/victim", "emulation_tpm", token);
    struct pa_client *other = client("host/victim"); /* same user_id, no token */
    struct pa_reply r = {0};
    ck_assert_int_eq(call(other, "CloseSession", "{}", &r), PA_GRPC_UNAUTHENTICATED);
    pa_client_set_token(other, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
    ck_assert_int_eq(call(other, "CloseSession", "{}", &r), PA_GRPC_NOT_FOUND);
    ck_assert_int_eq(call(victim, "GetOwnerFwBootMessage", "{\"sku\":\"emulation_tpm\"}", &r), 0);
    struct pa_client *stranger = client("host/nobody");
    ck_assert_int_eq(call(stranger, "CloseSession", "{}", &r), PA_GRPC_INTERNAL);
    ck_assert(strstr(r.message, "user not found") != NULL);

    ck_assert_int_eq(call(victim, "CloseSession", "{}", &r), 0);
    ck_assert_int_eq(call(victim, "GetOwnerFwBootMessage", "{\"sku\":\"emulation_tpm\"}", &r),
                     PA_GRPC_INTERNAL);
    (void)token;
    pa_reply_release(&r);
    pa_client_free(stranger);
    pa_client_free(other);
    pa_client_free(victim);
}
END_TEST

/* A user_id is the session's key: one longer than the service keeps is refused, never cut
 * (two long ids with the same first 127 bytes would share a session). */
START_TEST(long_user_ids_are_refused)
{
    char longest[128], too_long[129];
    memset(longest, 'u', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    memset(too_long, 'u', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    struct pa_client *c = session(longest, "sival");
    struct pa_client *l = client(too_long);
    struct pa_reply r = {0};
    char json[128];
    snprintf(json, sizeof(json), "{\"sku\":\"sival\",\"sku_auth\":\"%s\"}", PASSWORD);
    ck_assert_int_eq(call(l, "InitSession", json, &r), PA_GRPC_INVALID_ARGUMENT);
    ck_assert_msg(strstr(r.message, "user_id is longer than 127 bytes") != NULL, "%s", r.message);
    ck_assert_int_eq(call(l, "CloseSession", "{}", &r), PA_GRPC_INVALID_ARGUMENT);
    ck_assert_int_eq(call(c, "GetOwnerFwBootMessage", "{\"sku\":\"sival\"}", &r), 0);
    pa_reply_release(&r);
    pa_client_free(l);
    pa_client_free(c);
}
END_TEST

/* POSTs `body` to InitSession with `content_type`; returns the HTTP status. */
static long post_with_type(const char *content_type, const char *body)
{
    CURL *h = curl_easy_init();
    ck_assert_ptr_nonnull(h);
    char url[128], header[128];
    snprintf(url, sizeof(url), "%s/pa.ProvisioningApplianceService/InitSession", base_url);
    snprintf(header, sizeof(header), "Content-Type: %s", content_type);
    struct curl_slist *headers = curl_slist_append(NULL, header);
    headers = curl_slist_append(headers, "user_id: host/media");
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    fclose(sink);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return status;
}

START_TEST(content_type_must_be_json)
{
    const char *body = "{\"sku\":\"sival\",\"sku_auth\":\"" PASSWORD "\"}";
    ck_assert_int_eq(post_with_type("application/jsonx", body), 400);
    ck_assert_int_eq(post_with_type("application/json-seq", body), 400);
    ck_assert_int_eq(post_with_type("text/plain", body), 400);
    ck_assert_int_eq(post_with_type("application/json", body), 200);
    ck_assert_int_eq(post_with_type("application/json; charset=utf-8", body), 200);
    ck_assert_int_eq(post_with_type("Application/JSON", body), 200);
}
END_TEST

/* A second service on the test configuration that logs to `log`, its registry in
 * `db_name` under the test directory. */
static struct pa_service *service_logging_to(FILE *log, const char *db_name)
{
    char db[600];
    snprintf(db, sizeof(db), "%s/%s", dir, db_name);
    struct pa_service_options so = {.config_dir = dir, .db_path = db, .log = log};
    struct pa_service *logged;
    struct ft_error err = {0};
    ck_assert_msg(pa_service_new(&so, &logged, &err) == 0, "%s", err.message);
    return logged;
}

/* Caller text reaches the log escaped: no terminal escape codes, no forged lines. */
START_TEST(log_escapes_caller_text)
{
    char *text = NULL;
    size_t size = 0;
    FILE *log = open_memstream(&text, &size);
    struct pa_service *logged = service_logging_to(log, "registry-log.db");
    struct pa_caller caller = {.user_id = "evil\x1b[2J\n<6>ftpa: forged", .peer = "127.0.0.1"};
    const char *body = "{\"sku\":\"no\\u001bsuch\",\"sku_auth\":\"x\"}";
    struct pa_response resp;
    pa_service_call(logged, "InitSession", body, strlen(body), &caller, &resp);
    ck_assert_int_eq(resp.grpc_code, PA_GRPC_NOT_FOUND);
    pa_response_free(&resp);
    pa_service_free(logged);
    fclose(log);
    ck_assert_ptr_null(memchr(text, 0x1b, size));
    ck_assert_msg(strchr(text, '\n') == text + size - 1, "more than one line: %s", text);
    ck_assert_msg(strstr(text, "user=evil\\x1b[2J\\x0a<6>ftpa: forged") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "unknown sku no\\x1bsuch") != NULL, "%s", text);
    free(text);
}
END_TEST

static X509 *load_cert(const char *sku, const char *leaf)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s/ca/%s", dir, sku, leaf);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(x);
    return x;
}

static void ski_of(X509 *x, uint8_t out[20])
{
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
    ck_assert_int_eq(ASN1_STRING_length(ski), 20);
    memcpy(out, ASN1_STRING_get0_data(ski), 20);
}

START_TEST(ca_information)
{
    struct pa_client *c = session("host/2", "emulation_tpm");
    struct pa_reply r = {0};
    ck_assert_int_eq(call(c, "GetCaSubjectKeys",
                          "{\"sku\":\"emulation_tpm\",\"cert_labels\":[\"UDS\",\"EXT\"]}", &r),
                     0);
    struct pa_get_ca_subject_keys_response keys;
    ck_assert_int_eq(pa_get_ca_subject_keys_response_from_json(r.body, r.body_len, &keys, NULL), 0);
    ck_assert_uint_eq(keys.key_ids_count, 2);
    uint8_t want[20];
    X509 *dice = load_cert("emulation_tpm", "dice-ica.pem");
    ski_of(dice, want);
    ck_assert_uint_eq(keys.key_ids[0].len, 20);
    ck_assert_mem_eq(keys.key_ids[0].data, want, 20);
    X509 *ext = load_cert("emulation_tpm", "ext-ica.pem");
    ski_of(ext, want);
    ck_assert_mem_eq(keys.key_ids[1].data, want, 20);

    ck_assert_int_eq(call(c, "GetCaCerts",
                          "{\"sku\":\"emulation_tpm\",\"cert_labels\":[\"root\",\"dice\",\"ext\"]}",
                          &r),
                     0);
    struct pa_get_ca_certs_response certs;
    ck_assert_int_eq(pa_get_ca_certs_response_from_json(r.body, r.body_len, &certs, NULL), 0);
    ck_assert_uint_eq(certs.certs_count, 3);
    X509 *root = cert_parse_der(certs.certs[0].blob.data, certs.certs[0].blob.len, NULL);
    X509 *dice_again = cert_parse_der(certs.certs[1].blob.data, certs.certs[1].blob.len, NULL);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(X509_cmp(dice, dice_again), 0);
    ck_assert_int_eq(cert_verify_chain(dice, root, NULL, 0, false, NULL), 0);
    ck_assert_int_eq(
        call(c, "GetCaCerts", "{\"sku\":\"emulation_tpm\",\"cert_labels\":[\"bogus\"]}", &r),
        PA_GRPC_NOT_FOUND);
    pa_get_ca_certs_response_free(&certs);
    X509_free(root);
    X509_free(dice_again);
    X509_free(dice);
    X509_free(ext);
    pa_client_free(c);

    /* A SKU without an ext ICA answers the EXT key ID with 10 zero bytes, as upstream. */
    c = session("host/3", "sival");
    ck_assert_int_eq(
        call(c, "GetCaSubjectKeys", "{\"sku\":\"sival\",\"cert_labels\":[\"EXT\"]}", &r), 0);
    ck_assert_int_eq(pa_get_ca_subject_keys_response_from_json(r.body, r.body_len, &keys, NULL), 0);
    ck_assert_uint_eq(keys.key_ids[0].len, 10);
    pa_reply_release(&r);
    pa_client_free(c);
}
END_TEST

static void read_seed(const char *sku, const char *file, uint8_t seed[32])
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s/keys/%s", dir, sku, file);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(seed, 1, 32, f), 32);
    fclose(f);
}

/* A DeriveTokens request for `sku`: a raw high-security token, a hashed LC token and a
 * wrapped keygen seed, each diversified by "rma" padded to 48 bytes. */
static void derive_request(char *json, size_t cap, const char *sku)
{
    const char *div = "cm1hAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    snprintf(json, cap,
             "{\"sku\":\"%s\",\"params\":["
             "{\"seed\":\"TOKEN_SEED_HIGH_SECURITY\",\"type\":\"TOKEN_TYPE_RAW\",\"size\":\"TOKEN_"
             "SIZE_128_BITS\",\"diversifier\":\"%s\"},"
             "{\"seed\":2,\"type\":\"TOKEN_TYPE_HASHED_OT_LC_TOKEN\",\"size\":\"TOKEN_SIZE_128_"
             "BITS\",\"diversifier\":\"%s\"},"
             "{\"seed\":\"TOKEN_SEED_KEYGEN\",\"type\":\"TOKEN_TYPE_RAW\",\"size\":\"TOKEN_SIZE_"
             "256_BITS\",\"diversifier\":\"%s\",\"wrap_seed\":true}]}",
             sku, div, div, div);
}

START_TEST(derive_tokens)
{
    struct pa_client *c = session("host/4", "emulation_tpm");
    struct pa_reply r = {0};
    char json[1024];
    derive_request(json, sizeof(json), "emulation_tpm");
    ck_assert_int_eq(call(c, "DeriveTokens", json, &r), 0);
    struct pa_derive_tokens_response resp;
    ck_assert_int_eq(pa_derive_tokens_response_from_json(r.body, r.body_len, &resp, NULL), 0);
    ck_assert_uint_eq(resp.tokens_count, 3);

    uint8_t seed[32], div_bytes[48] = "rma", mac[32], hashed[16];
    unsigned int mac_len = 32;
    read_seed("emulation_tpm", "seed-hisec.bin", seed);
    HMAC(EVP_sha256(), seed, 32, div_bytes, sizeof(div_bytes), mac, &mac_len);
    ck_assert_uint_eq(resp.tokens[0].token.len, 16);
    ck_assert_mem_eq(resp.tokens[0].token.data, mac, 16);
    ck_assert_int_eq(cshake128(mac, 16, NULL, 0, (const uint8_t *)"LC_CTRL", 7, hashed, 16, NULL),
                     0);
    ck_assert_mem_eq(resp.tokens[1].token.data, hashed, 16);

    /* KEYGEN: unwrap the seed with the RMA private key and derive the token again. */
    char path[700];
    snprintf(path, sizeof(path), "%s/emulation_tpm/keys/rma-wrap.key.pem", dir);
    FILE *f = fopen(path, "r");
    EVP_PKEY *rsa = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_uint_eq(resp.tokens[2].wrapped_seed.len, 384);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(rsa, NULL);
    uint8_t unwrapped[512];
    size_t unwrapped_len = sizeof(unwrapped);
    ck_assert(EVP_PKEY_decrypt_init(ctx) == 1);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256());
    ck_assert(EVP_PKEY_decrypt(ctx, unwrapped, &unwrapped_len, resp.tokens[2].wrapped_seed.data,
                               resp.tokens[2].wrapped_seed.len) == 1);
    ck_assert_uint_eq(unwrapped_len, 32);
    HMAC(EVP_sha256(), unwrapped, 32, div_bytes, sizeof(div_bytes), mac, &mac_len);
    ck_assert_mem_eq(resp.tokens[2].token.data, mac, 32);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(rsa);
    pa_derive_tokens_response_free(&resp);

    /* Upstream rejections: empty diversifier, wrap_seed without KEYGEN, no size. */
    const char *bad[] = {
        "{\"sku\":\"emulation_tpm\",\"params\":[{\"seed\":2,\"type\":1,\"size\":1}]}",
        "{\"sku\":\"emulation_tpm\",\"params\":[{\"seed\":2,\"type\":1,\"size\":1,\"diversifier\":"
        "\"cm1h\",\"wrap_seed\":true}]}",
        "{\"sku\":\"emulation_tpm\",\"params\":[{\"seed\":2,\"type\":1,\"diversifier\":\"cm1h\"}]}",
    };
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(call(c, "DeriveTokens", bad[i], &r), PA_GRPC_INVALID_ARGUMENT);
    /* A 49-byte diversifier does not even decode. */
    ck_assert_int_eq(
        call(c, "DeriveTokens",
             "{\"sku\":\"emulation_tpm\",\"params\":[{\"seed\":2,\"type\":1,\"size\":1,"
             "\"diversifier\":"
             "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"}]}",
             &r),
        PA_GRPC_INVALID_ARGUMENT);
    pa_reply_release(&r);
    pa_client_free(c);
}
END_TEST

/* ---- a device from the model ---------------------------------------------------------- */

struct device {
    struct sim_device dev;
    struct simflow flow;
    struct test_ca dice_ids, ext_ids; /* only the key IDs are used */
};

/* Runs a simulated chip through export with the PA's CA key IDs and WAS seed. */
static struct device *device_export(const char *sku, const char *sim_sku, unsigned index)
{
    struct device *d = calloc(1, sizeof(*d));
    struct sim_config cfg;
    sim_config_defaults(&cfg);
    ck_assert_int_eq(sim_config_set_sku(&cfg, sim_sku, NULL), 0);
    sim_config_set_timing(&cfg, "zero", NULL);
    cfg.y = index;
    snprintf(cfg.dice_ca_subject, sizeof(cfg.dice_ca_subject), "%s", DICE_DN);
    snprintf(cfg.ext_ca_subject, sizeof(cfg.ext_ca_subject), "%s", EXT_DN);
    read_seed(sku, "seed-hisec.bin", cfg.was_seed);
    X509 *dice = load_cert(sku, "dice-ica.pem");
    ski_of(dice, d->dice_ids.key_id);
    X509_free(dice);
    if (cfg.sku.n_ext) {
        X509 *ext = load_cert(sku, "ext-ica.pem");
        ski_of(ext, d->ext_ids.key_id);
        X509_free(ext);
    }
    ck_assert_int_eq(sim_device_init(&d->dev, &cfg, NULL), 0);
    ck_assert_int_eq(sim_device_start(&d->dev, NULL), 0);
    simflow_init(&d->flow, &d->dev, &d->dice_ids, &d->ext_ids, cfg.sku.blob_version);
    ck_assert_msg(simflow_rma(&d->flow) && simflow_certgen(&d->flow) && simflow_export(&d->flow),
                  "%s", d->flow.why);
    return d;
}

static void device_free(struct device *d)
{
    sim_device_stop(&d->dev);
    sim_device_fini(&d->dev);
    free(d);
}

/* The device's 32-byte ID as its DeviceId TLV object carries it. */
static void raw_device_id(struct device *d, uint8_t raw[DEVICE_ID_SIZE])
{
    struct perso_tlv_iter it;
    struct perso_obj obj;
    bool found = false;
    perso_tlv_iter_init(&it, d->flow.blob.body, d->flow.blob.next_free, d->flow.version, NULL);
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1) {
        if (obj.type == PERSO_OBJ_DEVICE_ID && obj.payload_len == DEVICE_ID_SIZE) {
            memcpy(raw, obj.payload, DEVICE_ID_SIZE);
            found = true;
        }
    }
    ck_assert_msg(found, "the device exported no DeviceId object");
}

/* EndorseCerts request JSON for the device's TBS certs; `flip` corrupts the WAS HMAC;
 * the diversifier is "was" zero-padded to `div_len` bytes (the ATE sends 48). */
static char *endorse_request_div(struct device *d, const char *sku, bool flip, size_t div_len)
{
    struct pa_endorse_certs_request req = {0};
    snprintf(req.sku, sizeof(req.sku), "%s", sku);
    struct perso_tlv_iter it;
    struct perso_obj obj;
    perso_tlv_iter_init(&it, d->flow.blob.body, d->flow.blob.next_free, d->flow.version, NULL);
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1) {
        if (obj.type == PERSO_OBJ_X509_TBS) {
            ck_assert_int_eq(
                pa_endorse_certs_request_add_tbs(&req, obj.name, obj.cert, obj.cert_len, NULL), 0);
        } else if (obj.type == PERSO_OBJ_WAS_TBS_HMAC) {
            memcpy(req.signature.data, obj.payload, 32);
            req.signature.len = 32;
        }
    }
    if (flip)
        req.signature.data[0] ^= 1;
    memcpy(req.diversifier.data, "was", 3);
    req.diversifier.len = div_len;
    json_t *msg = NULL;
    ck_assert_int_eq(pa_endorse_certs_request_to_json(&req, &msg, NULL), 0);
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    pa_endorse_certs_request_free(&req);
    return text;
}

static char *endorse_request(struct device *d, const char *sku, bool flip)
{
    return endorse_request_div(d, sku, flip, 48);
}

START_TEST(endorse_certs)
{
    struct device *d = device_export("emulation_tpm", "emulation_tpm", 1);
    struct pa_client *c = session("host/5", "emulation_tpm");
    struct pa_reply r = {0};
    char *json = endorse_request(d, "emulation_tpm", false);
    ck_assert_msg(call(c, "EndorseCerts", json, &r) == 0, "%s", r.message);
    struct pa_endorse_certs_response resp;
    ck_assert_int_eq(pa_endorse_certs_response_from_json(r.body, r.body_len, &resp, NULL), 0);
    ck_assert_uint_eq(resp.certs_count, 2);
    ck_assert_str_eq(resp.certs[0].key_label, "UDS");
    ck_assert_str_eq(resp.certs[1].key_label, "TPM EK");
    X509 *root = load_cert("emulation_tpm", "root.pem");
    X509 *dice = load_cert("emulation_tpm", "dice-ica.pem");
    X509 *ext = load_cert("emulation_tpm", "ext-ica.pem");
    X509 *uds = cert_parse_der(resp.certs[0].cert.blob.data, resp.certs[0].cert.blob.len, NULL);
    X509 *ek = cert_parse_der(resp.certs[1].cert.blob.data, resp.certs[1].cert.blob.len, NULL);
    ck_assert_int_eq(cert_verify_chain(uds, root, &dice, 1, true, NULL), 0);
    ck_assert_int_eq(cert_verify_chain(ek, root, &ext, 1, false, NULL), 0);
    /* Leave them for the openssl CLI check (tests/pa/test_endorsed_openssl.sh). */
    X509 *outputs[] = {root, dice, ext, uds, ek};
    const char *names[] = {"root", "dice-ica", "ext-ica", "UDS", "TPM_EK"};
    char out_dir[700];
    snprintf(out_dir, sizeof(out_dir), "%s/endorsed",
             getenv("TEST_TMP") ? getenv("TEST_TMP") : ".");
    mkdir(out_dir, 0755);
    for (size_t i = 0; i < 5; i++) {
        char path[800];
        snprintf(path, sizeof(path), "%s/%s.pem", out_dir, names[i]);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert(PEM_write_X509(f, outputs[i]) == 1);
        fclose(f);
    }
    X509_free(uds);
    X509_free(ek);
    X509_free(root);
    X509_free(dice);
    X509_free(ext);
    pa_endorse_certs_response_free(&resp);
    free(json);

    /* WAS mismatch: upstream "could not verify WAS signature". */
    json = endorse_request(d, "emulation_tpm", true);
    ck_assert_int_eq(call(c, "EndorseCerts", json, &r), PA_GRPC_INVALID_ARGUMENT);
    ck_assert(strstr(r.message, "could not verify WAS signature") != NULL);
    free(json);
    /* The diversifier as received, as upstream's SPM derives the WAS: a bare 3-byte "was"
     * is another key than the chip's 48-byte form (se_pk11.go:609-626). */
    json = endorse_request_div(d, "emulation_tpm", false, 3);
    ck_assert_int_eq(call(c, "EndorseCerts", json, &r), PA_GRPC_INVALID_ARGUMENT);
    ck_assert(strstr(r.message, "could not verify WAS signature") != NULL);
    free(json);
    ck_assert_int_eq(call(c, "EndorseCerts", "{\"sku\":\"emulation_tpm\"}", &r),
                     PA_GRPC_INVALID_ARGUMENT);
    pa_client_free(c);

    /* Unknown label: a TPM EK TBS for a SKU without an ext CA. */
    c = session("host/6", "sival");
    json = endorse_request(d, "sival", false);
    ck_assert_int_eq(call(c, "EndorseCerts", json, &r), PA_GRPC_INVALID_ARGUMENT);
    free(json);
    pa_reply_release(&r);
    pa_client_free(c);
    device_free(d);
}
END_TEST

/* Endorses a device's TBS certs and builds its RegistrationRequest from the result. */
struct registration {
    struct pa_registration_request req;
    char *json;
};

static void endorse_device(struct pa_client *c, struct device *d, const char *sku,
                           struct pa_endorse_certs_response *resp)
{
    struct pa_reply r = {0};
    char *json = endorse_request(d, sku, false);
    ck_assert_msg(call(c, "EndorseCerts", json, &r) == 0, "%s", r.message);
    ck_assert_int_eq(pa_endorse_certs_response_from_json(r.body, r.body_len, resp, NULL), 0);
    free(json);
    pa_reply_release(&r);
}

/* The registry perso blob (device certs and endorsed certs, blob order), the certs hash
 * the device reports (byte-reversed SHA-256), and the device ID from the blob. Options
 * drop the last cert or corrupt the hash or the life cycle state. */
static char *registration_json(struct device *d, const char *sku,
                               const struct pa_endorse_certs_response *endorsed, bool drop_last,
                               bool bad_hash, int lc, uint32_t ate_year)
{
    static struct perso_blob tlv;
    struct perso_tlv_writer w;
    perso_tlv_writer_init(&w, tlv.body, sizeof(tlv.body), PERSO_BLOB_V0, NULL);
    struct perso_tlv_iter it;
    struct perso_obj obj;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    struct pa_registration_request req = {0};
    struct pa_device_data *dd = &req.device_data;
    size_t n_endorsed = 0, n_certs = 0;
    perso_tlv_iter_init(&it, d->flow.blob.body, d->flow.blob.next_free, d->flow.version, NULL);
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1) {
        const uint8_t *der = obj.cert;
        size_t len = obj.cert_len;
        if (obj.type == PERSO_OBJ_X509_TBS) {
            der = endorsed->certs[n_endorsed].cert.blob.data;
            len = endorsed->certs[n_endorsed++].cert.blob.len;
        } else if (obj.type == PERSO_OBJ_DEVICE_ID) {
            ck_assert_int_eq(pa_device_id_from_raw(obj.payload, &dd->device_id, NULL), 0);
            dd->has_device_id = true;
            continue;
        } else if (obj.type == PERSO_OBJ_PERSO_SHA256_HASH) {
            memcpy(dd->perso_fw_sha256_hash.data, obj.payload, 32);
            dd->perso_fw_sha256_hash.len = 32;
            continue;
        } else if (obj.type != PERSO_OBJ_X509_CERT) {
            continue;
        }
        EVP_DigestUpdate(md, der, len);
        n_certs++;
        bool last = (obj.type == PERSO_OBJ_X509_TBS && strcmp(obj.name, "UDS") != 0);
        if (!(drop_last && last))
            ck_assert_int_eq(
                perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, obj.name, der, len, NULL), 0);
    }
    uint8_t digest[32];
    unsigned int dlen = 32;
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    for (size_t i = 0; i < 32; i++)
        req.certs_hash.data[i] = digest[31 - i];
    req.certs_hash.len = 32;
    if (bad_hash)
        req.certs_hash.data[5] ^= 1;
    req.hash_type = PA_HASH_TYPE_SHA256;
    req.has_device_data = true;
    snprintf(dd->sku, sizeof(dd->sku), "%s", sku);
    dd->device_life_cycle = lc;
    dd->has_metadata = true;
    dd->metadata.registration_state = PA_DEVICE_REGISTRATION_STATE_PROVISIONED;
    dd->metadata.year = ate_year;
    dd->perso_tlv_data.data = malloc(w.len);
    memcpy(dd->perso_tlv_data.data, tlv.body, w.len);
    dd->perso_tlv_data.len = w.len;
    dd->num_perso_tlv_objects = (uint32_t)w.num_objs;
    json_t *msg = NULL;
    struct ft_error err = {0};
    ck_assert_msg(pa_registration_request_to_json(&req, &msg, &err) == 0, "%s", err.message);
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    pa_registration_request_free(&req);
    (void)n_certs;
    return text;
}

START_TEST(register_device)
{
    struct device *d = device_export("emulation_tpm", "emulation_tpm", 2);
    struct pa_client *c = session("host/7", "emulation_tpm");
    struct pa_endorse_certs_response endorsed;
    endorse_device(c, d, "emulation_tpm", &endorsed);
    struct pa_reply r = {0};

    /* Every rejection first, so nothing is registered yet. */
    char *json = registration_json(d, "emulation_tpm", &endorsed, true, false,
                                   PA_DEVICE_LIFE_CYCLE_PROD, 2026);
    ck_assert_int_eq(call(c, "RegisterDevice", json, &r), PA_GRPC_INVALID_ARGUMENT);
    ck_assert_msg(strstr(r.message, "cert count mismatch") != NULL, "%s", r.message);
    free(json);
    json = registration_json(d, "emulation_tpm", &endorsed, false, true, PA_DEVICE_LIFE_CYCLE_PROD,
                             2026);
    ck_assert_int_eq(call(c, "RegisterDevice", json, &r), PA_GRPC_INVALID_ARGUMENT);
    ck_assert_msg(strstr(r.message, "certs hash mismatch") != NULL, "%s", r.message);
    free(json);
    json = registration_json(d, "emulation_tpm", &endorsed, false, false, PA_DEVICE_LIFE_CYCLE_RAW,
                             2026);
    ck_assert_int_eq(call(c, "RegisterDevice", json, &r), PA_GRPC_INVALID_ARGUMENT);
    ck_assert_msg(strstr(r.message, "life cycle") != NULL, "%s", r.message);
    free(json);

    /* Success, then the same bytes again (a retry), then different bytes (409). */
    json = registration_json(d, "emulation_tpm", &endorsed, false, false, PA_DEVICE_LIFE_CYCLE_PROD,
                             2026);
    ck_assert_msg(call(c, "RegisterDevice", json, &r) == 0, "%s", r.message);
    ck_assert_msg(call(c, "RegisterDevice", json, &r) == 0, "%s", r.message);
    free(json);
    json = registration_json(d, "emulation_tpm", &endorsed, false, false, PA_DEVICE_LIFE_CYCLE_PROD,
                             2027);
    ck_assert_int_eq(call(c, "RegisterDevice", json, &r), PA_GRPC_ALREADY_EXISTS);
    ck_assert_int_eq(r.http_status, 409);
    free(json);

    /* The stored record: signed by the identity key over the marshalled DeviceData. */
    char hex[PA_DEVICE_ID_HEX_STRING_LEN + 1];
    struct pa_device_id id;
    uint8_t raw[DEVICE_ID_SIZE];
    raw_device_id(d, raw);
    ck_assert_int_eq(pa_device_id_from_raw(raw, &id, NULL), 0);
    ck_assert_int_eq(pa_device_id_to_hex_string(&id, hex, NULL), 0);
    /* The device record shows the ID as wire/device_id writes it: the registry's key, so
     * an operator pastes the record's device_id into GET /ftpa/v1/devices/<id>. */
    char shown[DEVICE_ID_STRING_LEN + 1];
    device_id_to_string(raw, shown);
    ck_assert_str_eq(shown, hex);
    struct pa_response status;
    pa_service_device_status(svc, shown, &status);
    ck_assert_int_eq(status.http_status, 200);
    json_t *doc = json_loads(status.body, 0, NULL);
    json_t *record = json_object_get(doc, "record");
    char *record_text = json_dumps(record, JSON_COMPACT);
    struct pa_registry_record rec;
    ck_assert_int_eq(pa_registry_record_from_json(record_text, strlen(record_text), &rec, NULL), 0);
    ck_assert_str_eq(rec.device_id, hex);
    const unsigned char *p = rec.auth_pubkey.data;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)rec.auth_pubkey.len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ck_assert(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1);
    ck_assert(EVP_DigestVerify(md, rec.auth_signature.data, rec.auth_signature.len, rec.data.data,
                               rec.data.len) == 1);
    struct pa_device_data stored;
    ck_assert_int_eq(pa_device_data_from_proto(rec.data.data, rec.data.len, &stored, NULL), 0);
    ck_assert_str_eq(stored.sku, "emulation_tpm");
    pa_device_data_free(&stored);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
    pa_registry_record_free(&rec);
    free(record_text);
    json_decref(doc);
    pa_response_free(&status);

    /* Upper-case digits are the same ID. */
    char upper[DEVICE_ID_STRING_LEN + 1];
    for (size_t i = 0; i <= DEVICE_ID_STRING_LEN; i++)
        upper[i] = i >= 2 && shown[i] >= 'a' && shown[i] <= 'f' ? (char)(shown[i] - 32) : shown[i];
    pa_service_device_status(svc, upper, &status);
    ck_assert_int_eq(status.http_status, 200);
    pa_response_free(&status);
    /* Any other form, the harness's former one (64 upper-case digits, the raw ID
     * byte-reversed) included, is refused naming the form wanted, not "not registered". */
    char former[2 * DEVICE_ID_SIZE + 1];
    for (size_t i = 0; i < DEVICE_ID_SIZE; i++)
        snprintf(former + 2 * i, 3, "%02X", raw[DEVICE_ID_SIZE - 1 - i]);
    const char *malformed[] = {former, "0x00", "",
                               "0x0000000000000000000000000000000000000000000000000"
                               "00000000000000z"};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        pa_service_device_status(svc, malformed[i], &status);
        ck_assert_int_eq(status.http_status, 400);
        ck_assert_msg(strstr(status.body, "is not in the registry's form") != NULL, "%s",
                      status.body);
        pa_response_free(&status);
    }
    pa_service_device_status(
        svc, "0x0000000000000000000000000000000000000000000000000000000000000000", &status);
    ck_assert_int_eq(status.http_status, 404);
    pa_response_free(&status);

    pa_endorse_certs_response_free(&endorsed);
    pa_reply_release(&r);
    pa_client_free(c);
    device_free(d);
}
END_TEST

/* A session opened with SKU A's password reaches nothing of SKU B (its CA, seeds, RMA key,
 * registry), even while another site has a session for B. Upstream never compares. */
START_TEST(sessions_bind_their_sku)
{
    struct device *d = device_export("emulation_tpm", "emulation_tpm", 3);
    struct pa_client *a = session("host/sku-a", "sival");
    struct pa_client *b = session("host/sku-b", "emulation_tpm");
    struct pa_endorse_certs_response endorsed;
    endorse_device(b, d, "emulation_tpm", &endorsed);
    char derive[1024];
    derive_request(derive, sizeof(derive), "emulation_tpm");
    char *endorse = endorse_request(d, "emulation_tpm", false);
    char *registration = registration_json(d, "emulation_tpm", &endorsed, false, false,
                                           PA_DEVICE_LIFE_CYCLE_PROD, 2026);
    const struct {
        const char *rpc, *json;
    } calls[] = {
        {"GetOwnerFwBootMessage", "{\"sku\":\"emulation_tpm\"}"},
        {"GetCaCerts", "{\"sku\":\"emulation_tpm\"}"},
        {"GetCaSubjectKeys", "{\"sku\":\"emulation_tpm\",\"cert_labels\":[\"UDS\"]}"},
        {"DeriveTokens", derive},
        {"EndorseCerts", endorse},
        {"RegisterDevice", registration},
    };
    struct pa_reply r = {0};
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        ck_assert_msg(call(a, calls[i].rpc, calls[i].json, &r) == PA_GRPC_PERMISSION_DENIED,
                      "%s for another SKU: code %d %s", calls[i].rpc, r.grpc_code, r.message);
        ck_assert_msg(strstr(r.message, "opened for SKU sival") != NULL &&
                          strstr(r.message, "names SKU emulation_tpm") != NULL,
                      "%s", r.message);
    }
    ck_assert_int_eq(call(a, "GetOwnerFwBootMessage", "{\"sku\":\"sival\"}", &r), 0);
    /* Nothing of B's was registered through A; B itself still can. */
    ck_assert_msg(call(b, "RegisterDevice", registration, &r) == 0, "%s", r.message);
    free(registration);
    free(endorse);
    pa_endorse_certs_response_free(&endorsed);
    pa_reply_release(&r);
    pa_client_free(a);
    pa_client_free(b);
    device_free(d);
}
END_TEST

/* Base64 text of a JSON string value, decoded into a NEW buffer (free()). */
static uint8_t *b64_value(json_t *v, size_t *len)
{
    ck_assert_msg(json_is_string(v), "not a base64 string");
    size_t n = json_string_length(v);
    uint8_t *out = malloc(n + 1);
    ck_assert_int_eq(base64_decode(json_string_value(v), n, out, n + 1, len, NULL), 0);
    return out;
}

/* The export line of device `id` among `text`'s lines; every line must be a decoded
 * record. NEW reference. */
static json_t *export_line_of(char *text, const char *id)
{
    json_t *found = NULL;
    for (char *line = text, *end; *line != '\0'; line = end + 1) {
        end = strchr(line, '\n');
        ck_assert_ptr_nonnull(end);
        *end = '\0';
        json_t *doc = json_loads(line, 0, NULL);
        ck_assert_msg(doc != NULL, "not JSON: %s", line);
        ck_assert_msg(json_object_get(doc, "decode_error") == NULL, "%s", line);
        ck_assert_msg(json_is_object(json_object_get(doc, "device_data")), "%s", line);
        if (found == NULL && strcmp(json_string_value(json_object_get(doc, "device_id")), id) == 0)
            found = doc;
        else
            json_decref(doc);
    }
    ck_assert_msg(found != NULL, "no export line for %s", id);
    return found;
}

/* `ftpa export` and GET /ftpa/v1/registry (both pa_service_export) write each record with
 * its DeviceData decoded beside the signed bytes, which still verify. */
START_TEST(export_decodes_records)
{
    struct device *d = device_export("emulation_tpm", "emulation_tpm", 20);
    struct pa_client *c = session("host/export", "emulation_tpm");
    struct pa_endorse_certs_response endorsed;
    endorse_device(c, d, "emulation_tpm", &endorsed);
    char *json = registration_json(d, "emulation_tpm", &endorsed, false, false,
                                   PA_DEVICE_LIFE_CYCLE_PROD, 2031);
    struct pa_reply r = {0};
    ck_assert_msg(call(c, "RegisterDevice", json, &r) == 0, "%s", r.message);
    uint8_t raw[DEVICE_ID_SIZE];
    raw_device_id(d, raw);
    char id[DEVICE_ID_STRING_LEN + 1];
    device_id_to_string(raw, id);

    char *text = NULL;
    size_t size = 0, count = 0;
    FILE *mem = open_memstream(&text, &size);
    struct ft_error err = {0};
    ck_assert_msg(pa_service_export(svc, mem, &count, &err) == 0, "%s", err.message);
    fclose(mem);
    ck_assert_uint_ge(count, 1);
    json_t *line = export_line_of(text, id);
    json_t *dd = json_object_get(line, "device_data");
    ck_assert_str_eq(json_string_value(json_object_get(dd, "device_id")), id);
    ck_assert_str_eq(json_string_value(json_object_get(dd, "sku")), "emulation_tpm");
    ck_assert_str_eq(json_string_value(json_object_get(dd, "device_life_cycle")),
                     "DEVICE_LIFE_CYCLE_PROD");
    json_t *meta = json_object_get(dd, "metadata");
    ck_assert_int_eq(json_integer_value(json_object_get(meta, "year")), 2031);
    ck_assert_str_eq(json_string_value(json_object_get(meta, "registration_state")),
                     "DEVICE_REGISTRATION_STATE_PROVISIONED");
    ck_assert_int_gt(json_integer_value(json_object_get(line, "created_ms")), 0);

    /* The perso TLV data as objects: each certificate by name, its DER the one endorsed. */
    json_t *objects = json_object_get(dd, "perso_tlv_data");
    ck_assert(json_is_array(objects));
    ck_assert_int_eq(json_integer_value(json_object_get(dd, "num_perso_tlv_objects")),
                     (json_int_t)json_array_size(objects));
    const char *want[] = {"UDS", "CDI_0", "CDI_1", "TPM EK"};
    size_t n_certs = 0, i;
    json_t *o;
    json_array_foreach(objects, i, o)
    {
        ck_assert_str_eq(json_string_value(json_object_get(o, "type")), "X509Cert");
        ck_assert_uint_lt(n_certs, 4);
        ck_assert_str_eq(json_string_value(json_object_get(o, "name")), want[n_certs]);
        size_t der_len = 0;
        uint8_t *der = b64_value(json_object_get(o, "cert"), &der_len);
        X509 *x = cert_parse_der(der, der_len, NULL);
        ck_assert_msg(x != NULL, "%s does not parse", want[n_certs]);
        X509_free(x);
        if (n_certs == 0 || n_certs == 3) { /* UDS and TPM EK: endorsed by this service */
            const struct pa_bytes *e = &endorsed.certs[n_certs == 0 ? 0 : 1].cert.blob;
            ck_assert_uint_eq(der_len, e->len);
            ck_assert_mem_eq(der, e->data, der_len);
        }
        free(der);
        n_certs++;
    }
    ck_assert_uint_eq(n_certs, 4);

    /* Beside it the record as stored: its signature verifies over `data`. */
    size_t data_len = 0, sig_len = 0, key_len = 0;
    uint8_t *data = b64_value(json_object_get(line, "data"), &data_len);
    uint8_t *sig = b64_value(json_object_get(line, "auth_signature"), &sig_len);
    uint8_t *key = b64_value(json_object_get(line, "auth_pubkey"), &key_len);
    const unsigned char *p = key;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)key_len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ck_assert(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1);
    ck_assert(EVP_DigestVerify(md, sig, sig_len, data, data_len) == 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);

    /* GET /ftpa/v1/devices/<id> shows the same decoded DeviceData. */
    struct pa_response status;
    pa_service_device_status(svc, id, &status);
    ck_assert_int_eq(status.http_status, 200);
    json_t *doc = json_loads(status.body, 0, NULL);
    ck_assert(json_equal(json_object_get(doc, "device_data"), dd));
    json_decref(doc);
    pa_response_free(&status);

    free(data);
    free(sig);
    free(key);
    json_decref(line);
    free(text);
    free(json);
    pa_endorse_certs_response_free(&endorsed);
    pa_reply_release(&r);
    pa_client_free(c);
    device_free(d);
}
END_TEST

/* ftpa logs a registration with the device ID in the form of the record and the registry. */
START_TEST(log_names_the_device_as_the_record_does)
{
    char *text = NULL;
    size_t size = 0;
    FILE *log = open_memstream(&text, &size);
    struct pa_service *logged = service_logging_to(log, "registry-devlog.db");
    struct pa_caller caller = {.user_id = "host/devlog", .peer = "127.0.0.1"};
    struct pa_response resp;
    const char *init = "{\"sku\":\"sival\",\"sku_auth\":\"" PASSWORD "\"}";
    pa_service_call(logged, "InitSession", init, strlen(init), &caller, &resp);
    ck_assert_int_eq(resp.grpc_code, 0);
    struct pa_init_session_response session_resp;
    ck_assert_int_eq(pa_init_session_response_from_json(resp.body, resp.len, &session_resp, NULL),
                     0);
    pa_response_free(&resp);
    caller.authorization = session_resp.sku_session_token;

    struct device_id_fields f = {.si_creator_id = 0x4001,
                                 .product_id = 0x0002,
                                 .lot = 42,
                                 .x = 7,
                                 .y = 9,
                                 .otp = "sv00",
                                 .sku = "sival"};
    uint8_t raw[DEVICE_ID_SIZE];
    ck_assert_int_eq(device_id_encode(&f, raw, NULL), 0);
    struct pa_registration_request req = {.has_device_data = true};
    snprintf(req.device_data.sku, sizeof(req.device_data.sku), "sival");
    ck_assert_int_eq(pa_device_id_from_raw(raw, &req.device_data.device_id, NULL), 0);
    req.device_data.has_device_id = true;
    req.device_data.device_life_cycle = PA_DEVICE_LIFE_CYCLE_RAW; /* refused: still logged */
    json_t *msg = NULL;
    ck_assert_int_eq(pa_registration_request_to_json(&req, &msg, NULL), 0);
    char *body = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    pa_service_call(logged, "RegisterDevice", body, strlen(body), &caller, &resp);
    ck_assert_int_eq(resp.grpc_code, PA_GRPC_INVALID_ARGUMENT);
    pa_response_free(&resp);
    pa_registration_request_free(&req);
    pa_service_free(logged);
    fclose(log);

    char shown[DEVICE_ID_STRING_LEN + 1], want[DEVICE_ID_STRING_LEN + 64];
    device_id_to_string(raw, shown);
    snprintf(want, sizeof(want), "RegisterDevice user=host/devlog device=%s -> ", shown);
    ck_assert_msg(strstr(text, want) != NULL, "no \"%s\" in %s", want, text);
    free(body);
    free(text);
}
END_TEST

/* ---- reloading the configuration -------------------------------------------------------- */

static char reload_dir[600];
static char *reload_log;
static size_t reload_log_size;
static FILE *reload_log_file;

/* A configuration directory of its own, sharing the fixture's SKU key material: a copy of
 * sku_auth.json and sku_sival.json (edited below), the sival directory by symlink. */
static struct pa_service *reload_service(const char *name)
{
    snprintf(reload_dir, sizeof(reload_dir), "%s/%s", dir, name);
    mkdir(reload_dir, 0700);
    char sival[700], target[PATH_MAX], link[700], cmd[4096];
    snprintf(sival, sizeof(sival), "%s/sival", dir);
    ck_assert_ptr_nonnull(realpath(sival, target)); /* the link works wherever dir is */
    snprintf(link, sizeof(link), "%s/sival", reload_dir);
    ck_assert_int_eq(symlink(target, link), 0);
    snprintf(cmd, sizeof(cmd), "cp '%s/sku_auth.json' '%s/sku_sival.json' '%s/'", dir, dir,
             reload_dir);
    ck_assert_int_eq(system(cmd), 0);
    reload_log_file = open_memstream(&reload_log, &reload_log_size);
    char db[700];
    snprintf(db, sizeof(db), "%s/registry.db", reload_dir);
    struct pa_service_options so = {
        .config_dir = reload_dir, .db_path = db, .log = reload_log_file};
    struct pa_service *s = NULL;
    struct ft_error err = {0};
    ck_assert_msg(pa_service_new(&so, &s, &err) == 0, "%s", err.message);
    return s;
}

/* Calls `rpc` directly; returns the gRPC code, the body in *body (NEW) when asked. */
static int direct_call(struct pa_service *s, const char *rpc, const char *json, const char *user,
                       const char *token, char **body)
{
    struct pa_caller caller = {.user_id = user, .authorization = token, .peer = "127.0.0.1"};
    struct pa_response resp;
    pa_service_call(s, rpc, json, strlen(json), &caller, &resp);
    if (body != NULL)
        *body = resp.body ? strdup(resp.body) : NULL;
    pa_response_free(&resp);
    return resp.grpc_code;
}

/* InitSession for `sku` as `user`; the token into `token` (PA_SESSION_TOKEN_SIZE). */
static int direct_session(struct pa_service *s, const char *sku, const char *user, char *token)
{
    char json[256], *body = NULL;
    snprintf(json, sizeof(json), "{\"sku\":\"%s\",\"sku_auth\":\"%s\"}", sku, PASSWORD);
    int code = direct_call(s, "InitSession", json, user, NULL, &body);
    struct pa_init_session_response resp;
    if (code == 0) {
        ck_assert_int_eq(pa_init_session_response_from_json(body, strlen(body), &resp, NULL), 0);
        memcpy(token, resp.sku_session_token, PA_SESSION_TOKEN_SIZE);
    }
    free(body);
    return code;
}

/* Replaces `old` by `new` in reload_dir/`file` (one occurrence). */
static void edit_file(const char *file, const char *old, const char *new)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", reload_dir, file);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, old);
    ck_assert_msg(at != NULL, "no \"%s\" in %s", old, path);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%.*s%s%s", (int)(at - text), text, new, at + strlen(old));
    fclose(f);
}

static const char *reload_log_text(void)
{
    fflush(reload_log_file);
    return reload_log ? reload_log : "";
}

START_TEST(reload_adds_a_new_sku)
{
    struct pa_service *s = reload_service("reload-new-sku");
    char token[PA_SESSION_TOKEN_SIZE], fresh_token[PA_SESSION_TOKEN_SIZE];
    ck_assert_int_eq(direct_session(s, "sival", "host/old", token), 0);
    init_sku_in(reload_dir, "fresh", false);
    /* A new SKU is unknown until the reload... */
    ck_assert_int_eq(direct_session(s, "fresh", "host/new", fresh_token), PA_GRPC_NOT_FOUND);
    struct ft_error err = {0};
    ck_assert_msg(pa_service_reload(s, &err) == 0, "%s", err.message);
    const char *logged = strstr(reload_log_text(), "<6>ftpa: configuration reloaded: SKUs ");
    ck_assert_msg(logged != NULL && strstr(logged, "fresh") != NULL &&
                      strstr(logged, "(generation 2)\n") != NULL,
                  "%s", reload_log_text());
    /* ...and serves after it, while the session opened before goes on. */
    ck_assert_int_eq(direct_session(s, "fresh", "host/new", fresh_token), 0);
    ck_assert_int_eq(direct_call(s, "GetOwnerFwBootMessage", "{\"sku\":\"fresh\"}", "host/new",
                                 fresh_token, NULL),
                     0);
    ck_assert_int_eq(
        direct_call(s, "GetOwnerFwBootMessage", "{\"sku\":\"sival\"}", "host/old", token, NULL), 0);

    /* A SKU taken out of sku_auth.json: its session fails its next call, saying why, and
     * can still be closed. */
    edit_file("sku_auth.json", "\"fresh\"", "\"gone_fresh\"");
    ck_assert_msg(pa_service_reload(s, &err) == 0, "%s", err.message);
    char *body = NULL;
    ck_assert_int_eq(direct_call(s, "GetOwnerFwBootMessage", "{\"sku\":\"fresh\"}", "host/new",
                                 fresh_token, &body),
                     PA_GRPC_NOT_FOUND);
    ck_assert_msg(strstr(body, "fresh is no longer in sku_auth.json") != NULL, "%s", body);
    free(body);
    ck_assert_int_eq(direct_call(s, "CloseSession", "{}", "host/new", fresh_token, NULL), 0);
    pa_service_free(s);
    fclose(reload_log_file);
    free(reload_log);
    reload_log = NULL;
}
END_TEST

/* A reload runs while calls are in flight; none of them sees a half-swapped configuration
 * or a freed SKU (run under ASan this also catches a use after free). */
struct hammer {
    struct pa_service *svc;
    char token[PA_SESSION_TOKEN_SIZE];
    atomic_bool stop;
    int calls, failures;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    while (!atomic_load(&h->stop)) {
        h->failures += direct_call(h->svc, "GetCaCerts",
                                   "{\"sku\":\"sival\",\"cert_labels\":[\"root\",\"dice\"]}",
                                   "host/hammer", h->token, NULL) != 0;
        h->calls++;
    }
    return NULL;
}

START_TEST(reload_keeps_calls_in_flight_and_refuses_a_bad_file)
{
    struct pa_service *s = reload_service("reload-bad-file");
    struct hammer h = {.svc = s};
    ck_assert_int_eq(direct_session(s, "sival", "host/hammer", h.token), 0);
    pthread_t t;
    pthread_create(&t, NULL, hammer_main, &h);
    struct ft_error err = {0};
    for (int i = 0; i < 20; i++)
        ck_assert_msg(pa_service_reload(s, &err) == 0, "%s", err.message);
    atomic_store(&h.stop, true);
    pthread_join(t, NULL);
    ck_assert_int_gt(h.calls, 0);
    ck_assert_int_eq(h.failures, 0);
    ck_assert_msg(strstr(reload_log_text(), "(generation 21)") != NULL, "%s", reload_log_text());

    /* A bad SKU file: the reload is refused naming the file and the key, and the
     * configuration in force goes on serving the old session and new ones. */
    edit_file("sku_sival.json", "\"RsaOaep\"", "\"RsaOops\"");
    ck_assert_int_eq(pa_service_reload(s, &err), -1);
    ck_assert_msg(strstr(err.message, "sku_sival.json: attributes.WrappingMechanism") != NULL, "%s",
                  err.message);
    ck_assert_msg(strstr(reload_log_text(), "<3>ftpa: reload refused: ") != NULL &&
                      strstr(reload_log_text(), "sku_sival.json: attributes.WrappingMechanism") !=
                          NULL &&
                      strstr(reload_log_text(), "generation 21 stays in force") != NULL,
                  "%s", reload_log_text());
    char again[PA_SESSION_TOKEN_SIZE];
    ck_assert_int_eq(direct_call(s, "GetCaCerts", "{\"sku\":\"sival\",\"cert_labels\":[\"root\"]}",
                                 "host/hammer", h.token, NULL),
                     0);
    ck_assert_int_eq(direct_session(s, "sival", "host/again", again), 0);
    /* So is a file that is not JSON, naming the file, line and column. */
    edit_file("sku_sival.json", "\"RsaOops\"", "RsaOaep\"");
    ck_assert_int_eq(pa_service_reload(s, &err), -1);
    ck_assert_msg(strstr(err.message, "sku_sival.json: line ") != NULL, "%s", err.message);
    ck_assert_int_eq(direct_session(s, "sival", "host/again", again), 0);
    pa_service_free(s);
    fclose(reload_log_file);
    free(reload_log);
    reload_log = NULL;
}
END_TEST

/* Sites endorsing at once, each with its own session and connection. */
#define SITES 4
static void *site_thread(void *arg)
{
    struct device *d = arg;
    char user[32];
    snprintf(user, sizeof(user), "host/site%u", d->flow.host.dev->cfg.y);
    struct pa_client *c = session(user, "emulation_tpm");
    int failures = 0;
    for (int i = 0; i < 5; i++) {
        struct pa_reply r = {0};
        char *json = endorse_request(d, "emulation_tpm", false);
        failures += call(c, "EndorseCerts", json, &r) != 0;
        free(json);
        pa_reply_release(&r);
    }
    pa_client_free(c);
    return (void *)(intptr_t)failures;
}

START_TEST(concurrent_sites)
{
    struct device *devices[SITES];
    pthread_t threads[SITES];
    for (unsigned i = 0; i < SITES; i++)
        devices[i] = device_export("emulation_tpm", "emulation_tpm", 10 + i);
    for (unsigned i = 0; i < SITES; i++)
        pthread_create(&threads[i], NULL, site_thread, devices[i]);
    for (unsigned i = 0; i < SITES; i++) {
        void *failures;
        pthread_join(threads[i], &failures);
        ck_assert_int_eq((intptr_t)failures, 0);
        device_free(devices[i]);
    }
}
END_TEST

static Suite *pa_service_suite(void)
{
    Suite *s = suite_create("pa_service");
    TCase *tc = tcase_create("rpc");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, session_rules);
    tcase_add_test(tc, close_session_needs_the_token);
    tcase_add_test(tc, sessions_bind_their_sku);
    tcase_add_test(tc, long_user_ids_are_refused);
    tcase_add_test(tc, content_type_must_be_json);
    tcase_add_test(tc, log_escapes_caller_text);
    tcase_add_test(tc, ca_information);
    tcase_add_test(tc, derive_tokens);
    tcase_add_test(tc, endorse_certs);
    tcase_add_test(tc, register_device);
    tcase_add_test(tc, export_decodes_records);
    tcase_add_test(tc, log_names_the_device_as_the_record_does);
    tcase_add_test(tc, reload_adds_a_new_sku);
    tcase_add_test(tc, reload_keeps_calls_in_flight_and_refuses_a_bad_file);
    tcase_add_test(tc, concurrent_sites);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(pa_service_suite)
