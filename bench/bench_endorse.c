/* EndorseCerts through the harness's client against ftpa over HTTPS with client
 * certificates, in one run:
 *   - calls per second with one kept-alive connection (the client as the harness uses it)
 *     beside a baseline that opens a new connection (TCP + TLS handshake) for every call;
 *   - TLS handshakes per 1000 calls for both;
 *   - ftpa's ECDSA P-256 signing rate (endorsement without HTTP) against
 *     `openssl speed ecdsap256` on the same machine.
 *   - with GRPC_PA_PY and PY_DIR given: EndorseCerts round-trip time and the client's CPU
 *     time per call over native gRPC (h2c to tests/pa/grpc_pa.py, python3-grpcio, which
 *     forwards to the same ftpa) against HTTP/JSON in clear to ftpa, both kept alive.
 * Prints the figures and their ratios.
 * Usage: bench_endorse SCRATCH_DIR [CALLS [GRPC_PA_PY PY_DIR]] */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cert/endorse.h"
#include "pa/pa_client.h"
#include "pa/pa_http.h"
#include "pa/pa_init.h"
#include "pa/pa_msg.h"
#include "pa/pa_service.h"
#include "pa/pa_sku.h"
#include "simflow.h"

#define DICE_DN "/C=US/ST=CA/O=OpenTitan/CN=ftharness development DICE ICA"
#define EXT_DN "/C=US/ST=CA/O=OpenTitan/CN=ftharness development EXT ICA"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct ft_error *err)
{
    fprintf(stderr, "bench_endorse: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

/* A throwaway TLS PKI: CA, server cert for 127.0.0.1, client cert. */
static EVP_PKEY *write_cert(const char *dir, const char *name, const char *cn, EVP_PKEY *ca_key,
                            X509 *ca, X509 **out)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(now_s() * 1000) & 0x7FFFFFFF);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca ? ca : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf(NULL, &ctx, ca ? "subjectAltName" : "basicConstraints",
                                          ca ? "IP:127.0.0.1" : "critical,CA:TRUE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, ca_key ? ca_key : key, EVP_sha256());
    char path[600];
    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    FILE *f = fopen(path, "w");
    PEM_write_X509(f, x);
    fclose(f);
    snprintf(path, sizeof(path), "%s/%s.key", dir, name);
    f = fopen(path, "w");
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    *out = x;
    return key;
}

static void read_seed(const char *dir, uint8_t seed[32])
{
    char path[600];
    snprintf(path, sizeof(path), "%s/emulation_tpm/keys/seed-hisec.bin", dir);
    FILE *f = fopen(path, "rb");
    if (f == NULL || fread(seed, 1, 32, f) != 32)
        die("reading the WAS seed", NULL);
    fclose(f);
}

static void ski(const char *dir, const char *leaf, uint8_t out[20])
{
    char path[600];
    snprintf(path, sizeof(path), "%s/emulation_tpm/ca/%s", dir, leaf);
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    const ASN1_OCTET_STRING *id = x ? X509_get0_subject_key_id(x) : NULL;
    if (id == NULL || ASN1_STRING_length(id) != 20)
        die("reading a CA key ID", NULL);
    memcpy(out, ASN1_STRING_get0_data(id), 20);
    X509_free(x);
}

/* The EndorseCerts request of one simulated chip (UDS and TPM EK TBS, WAS HMAC). */
static char *device_request(const char *dir)
{
    struct sim_config cfg;
    sim_config_defaults(&cfg);
    sim_config_set_sku(&cfg, "emulation_tpm", NULL);
    sim_config_set_timing(&cfg, "zero", NULL);
    snprintf(cfg.dice_ca_subject, sizeof(cfg.dice_ca_subject), "%s", DICE_DN);
    snprintf(cfg.ext_ca_subject, sizeof(cfg.ext_ca_subject), "%s", EXT_DN);
    read_seed(dir, cfg.was_seed);
    static struct test_ca dice, ext;
    ski(dir, "dice-ica.pem", dice.key_id);
    ski(dir, "ext-ica.pem", ext.key_id);
    static struct sim_device dev;
    static struct simflow flow;
    struct ft_error err = {0};
    if (sim_device_init(&dev, &cfg, &err) != 0 || sim_device_start(&dev, &err) != 0)
        die("device model", &err);
    simflow_init(&flow, &dev, &dice, &ext, PERSO_BLOB_V0);
    if (!simflow_rma(&flow) || !simflow_certgen(&flow) || !simflow_export(&flow)) {
        fprintf(stderr, "bench_endorse: %s\n", flow.why);
        exit(1);
    }
    static struct pa_endorse_certs_request req;
    snprintf(req.sku, sizeof(req.sku), "emulation_tpm");
    struct perso_tlv_iter it;
    struct perso_obj obj;
    perso_tlv_iter_init(&it, flow.blob.body, flow.blob.next_free, PERSO_BLOB_V0, NULL);
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1) {
        if (obj.type == PERSO_OBJ_X509_TBS) {
            if (pa_endorse_certs_request_add_tbs(&req, obj.name, obj.cert, obj.cert_len, &err) != 0)
                die("building the request", &err);
        } else if (obj.type == PERSO_OBJ_WAS_TBS_HMAC) {
            memcpy(req.signature.data, obj.payload, 32);
            req.signature.len = 32;
        }
    }
    memcpy(req.diversifier.data, "was", 3);
    req.diversifier.len = 48;
    json_t *msg = NULL;
    if (pa_endorse_certs_request_to_json(&req, &msg, &err) != 0)
        die("encoding the request", &err);
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    pa_endorse_certs_request_free(&req);
    sim_device_stop(&dev);
    sim_device_fini(&dev);
    return text;
}

/* Opens a session once; every client of the run reuses its token (sessions are keyed by
 * user_id, not by connection), so the baseline pays only for new connections. */
static void open_session(const struct pa_client_options *o, char token[64])
{
    struct ft_error err = {0};
    struct pa_client *c = pa_client_new(o, &err);
    struct pa_reply r = {0};
    static const char init[] = "{\"sku\":\"emulation_tpm\",\"sku_auth\":\"bench\"}";
    if (c == NULL || pa_client_call(c, "InitSession", init, strlen(init), true, &r, &err) != 0)
        die("InitSession", &err);
    if (sscanf(r.body, "{\"sku_session_token\":\"%63[A-Za-z0-9]\"", token) != 1)
        die("session token", NULL);
    pa_reply_release(&r);
    pa_client_free(c);
}

static struct pa_client *open_client(const struct pa_client_options *o, const char *token)
{
    struct ft_error err = {0};
    struct pa_client *c = pa_client_new(o, &err);
    if (c == NULL || pa_client_set_token(c, token, &err) != 0)
        die("client", &err);
    return c;
}

/* Runs `calls` EndorseCerts; `fresh` opens a new client (connection) for each. */
static double run(const struct pa_client_options *o, const char *token, const char *req,
                  unsigned calls, bool fresh, uint64_t *connects)
{
    struct pa_client *c = fresh ? NULL : open_client(o, token);
    *connects = 0;
    double start = now_s();
    for (unsigned i = 0; i < calls; i++) {
        if (fresh)
            c = open_client(o, token);
        struct pa_reply r = {0};
        struct ft_error err = {0};
        if (pa_client_call(c, "EndorseCerts", req, strlen(req), true, &r, &err) != 0)
            die("EndorseCerts", &err);
        pa_reply_release(&r);
        if (fresh) {
            *connects += pa_client_stats(c).connects;
            pa_client_free(c);
        }
    }
    double elapsed = now_s() - start;
    if (!fresh) {
        *connects = pa_client_stats(c).connects;
        pa_client_free(c);
    }
    return calls / elapsed;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One transport's figures over `calls` kept-alive EndorseCerts: wall and client CPU
 * (this thread: request and answer conversion, libcurl, TLS if any) per call. */
struct transport_figures {
    double rtt_ms, cpu_us;
    uint64_t connects;
};

static struct transport_figures measure(const struct pa_client_options *o, const char *req,
                                        unsigned calls)
{
    char token[64];
    open_session(o, token);
    struct pa_client *c = open_client(o, token);
    struct transport_figures f = {0};
    for (unsigned round = 0; round < 2; round++) { /* the first round warms up */
        unsigned n = round ? calls : 10;
        double wall = now_s(), cpu = thread_cpu_s();
        for (unsigned i = 0; i < n; i++) {
            struct pa_reply r = {0};
            struct ft_error err = {0};
            if (pa_client_call(c, "EndorseCerts", req, strlen(req), true, &r, &err) != 0)
                die("EndorseCerts", &err);
            pa_reply_release(&r);
        }
        f.rtt_ms = (now_s() - wall) * 1e3 / n;
        f.cpu_us = (thread_cpu_s() - cpu) * 1e6 / n;
    }
    f.connects = pa_client_stats(c).connects;
    pa_client_free(c);
    return f;
}

/* tests/pa/grpc_pa.py in front of `ftpa_url`; returns its pid, its port in *port. */
static pid_t start_grpc_bridge(const char *script, const char *py_dir, const char *ftpa_url,
                               unsigned *port)
{
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe", NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", script, "--py-dir", py_dir, "--ftpa", ftpa_url,
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[128] = "";
    if (pid < 0 || out == NULL || fgets(line, sizeof(line), out) == NULL ||
        sscanf(line, "grpc_pa: listening on 127.0.0.1:%u", port) != 1)
        die("starting the gRPC service (python3-grpcio)", NULL);
    fclose(out);
    return pid;
}

static void compare_transports(struct pa_service *svc, const char *req, unsigned calls,
                               const char *script, const char *py_dir)
{
    struct pa_http *plain;
    uint16_t port;
    struct ft_error err = {0};
    struct pa_http_options ho = {.address = "127.0.0.1", .max_body = 1u << 20, .threads = 2};
    if (pa_http_start(svc, &ho, &plain, &port, &err) != 0)
        die("ftpa over HTTP", &err);
    char http_url[64], grpc_url[64];
    snprintf(http_url, sizeof(http_url), "http://127.0.0.1:%u", port);
    unsigned gport = 0;
    pid_t bridge = start_grpc_bridge(script, py_dir, http_url, &gport);
    snprintf(grpc_url, sizeof(grpc_url), "grpc://127.0.0.1:%u", gport);

    struct pa_client_options o = {.user_id = "bench/transport", .max_attempts = 1};
    o.base_url = http_url;
    struct transport_figures json = measure(&o, req, calls);
    o.base_url = grpc_url;
    struct transport_figures grpc = measure(&o, req, calls);
    kill(bridge, SIGTERM);
    waitpid(bridge, NULL, 0);
    pa_http_stop(plain);

    printf("EndorseCerts in clear, one kept-alive connection each, %u calls\n", calls);
    printf("  HTTP/JSON -> ftpa                  %7.3f ms/call  %6.1f us client CPU/call  "
           "(%llu connection)\n",
           json.rtt_ms, json.cpu_us, (unsigned long long)json.connects);
    printf("  gRPC (h2c) -> grpc_pa.py -> ftpa   %7.3f ms/call  %6.1f us client CPU/call  "
           "(%llu connection)\n",
           grpc.rtt_ms, grpc.cpu_us, (unsigned long long)grpc.connects);
    printf("  ratio gRPC / HTTP-JSON: round trip %.2f (includes the forwarding hop), client "
           "CPU %.2f\n",
           grpc.rtt_ms / json.rtt_ms, grpc.cpu_us / json.cpu_us);
}

static double signing_rate(const char *dir, const char *req_unused)
{
    (void)req_unused;
    struct pa_sku sku;
    struct ft_error err = {0};
    if (pa_sku_load(dir, "emulation_tpm", &sku, &err) != 0)
        die("loading the SKU", &err);
    uint8_t tbs[700];
    memset(tbs, 0x5A, sizeof(tbs));
    uint8_t cert[1024];
    size_t len;
    unsigned n = 0;
    double start = now_s(), elapsed;
    do {
        for (int i = 0; i < 100; i++, n++)
            cert_endorse_tbs(sku.dice_key, CERT_SIG_SHA256, tbs, sizeof(tbs), cert, sizeof(cert),
                             &len, NULL);
        elapsed = now_s() - start;
    } while (elapsed < 2.0);
    pa_sku_free(&sku);
    return n / elapsed;
}

static double openssl_speed(void)
{
    FILE *p = popen("openssl speed -seconds 2 ecdsap256 2>/dev/null", "r");
    char line[256];
    double sign = 0;
    while (p && fgets(line, sizeof(line), p)) {
        double s_sign, s_verify, rate_sign, rate_verify;
        if (strstr(line, "nistp256") && sscanf(strstr(line, ")") + 1, "%lfs %lfs %lf %lf", &s_sign,
                                               &s_verify, &rate_sign, &rate_verify) == 4)
            sign = rate_sign;
    }
    if (p)
        pclose(p);
    return sign;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_endorse SCRATCH_DIR [CALLS [GRPC_PA_PY PY_DIR]]\n");
        return 2;
    }
    const char *dir = argv[1];
    unsigned calls = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 300;
    mkdir(dir, 0755);
    struct pa_init_options io = {.dir = dir,
                                 .sku = "emulation_tpm",
                                 .root_subject = "/C=US/O=OpenTitan/CN=bench root",
                                 .dice_subject = DICE_DN,
                                 .ext_subject = EXT_DN,
                                 .password = "bench",
                                 .hash_order = {"UDS", "CDI_0", "CDI_1", "TPM EK"},
                                 .n_hash_order = 4};
    struct ft_error err = {0};
    if (pa_init_sku(&io, &err) != 0)
        die("ftpa init", &err);
    X509 *ca, *server, *client;
    EVP_PKEY *ca_key = write_cert(dir, "tls-ca", "bench tls ca", NULL, NULL, &ca);
    EVP_PKEY *k1 = write_cert(dir, "tls-server", "127.0.0.1", ca_key, ca, &server);
    EVP_PKEY *k2 = write_cert(dir, "tls-client", "tester", ca_key, ca, &client);
    char db[600], cert[600], key[600], cafile[600], ccert[600], ckey[600];
    snprintf(db, sizeof(db), "%s/registry.db", dir);
    snprintf(cert, sizeof(cert), "%s/tls-server.pem", dir);
    snprintf(key, sizeof(key), "%s/tls-server.key", dir);
    snprintf(cafile, sizeof(cafile), "%s/tls-ca.pem", dir);
    snprintf(ccert, sizeof(ccert), "%s/tls-client.pem", dir);
    snprintf(ckey, sizeof(ckey), "%s/tls-client.key", dir);

    struct pa_service *svc;
    struct pa_http *http;
    uint16_t port;
    struct pa_service_options so = {.config_dir = dir, .db_path = db};
    struct pa_http_options ho = {.address = "127.0.0.1",
                                 .tls_cert = cert,
                                 .tls_key = key,
                                 .client_ca = cafile,
                                 .max_body = 1u << 20,
                                 .threads = 2};
    if (pa_service_new(&so, &svc, &err) != 0 || pa_http_start(svc, &ho, &http, &port, &err) != 0)
        die("ftpa", &err);
    pa_client_global_init(NULL);
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
    struct pa_client_options co = {.base_url = url,
                                   .user_id = "bench/0",
                                   .ca_file = cafile,
                                   .cert_file = ccert,
                                   .key_file = ckey,
                                   .max_attempts = 1};
    char *req = device_request(dir);

    char token[64];
    open_session(&co, token);
    uint64_t kept_connects, fresh_connects;
    run(&co, token, req, 10, false, &kept_connects); /* warm up */
    double kept = run(&co, token, req, calls, false, &kept_connects);
    double fresh = run(&co, token, req, calls, true, &fresh_connects);
    unsigned fresh_calls = calls;
    double ours = signing_rate(dir, req);
    double theirs = openssl_speed();

    printf("EndorseCerts over HTTPS + mTLS, 2 certificates per call (UDS, TPM EK)\n");
    printf(
        "  kept-alive client      %8.1f calls/s  (%u calls, %.1f TLS handshakes per 1000 calls)\n",
        kept, calls, 1000.0 * (double)kept_connects / calls);
    printf(
        "  new connection per call %7.1f calls/s  (%u calls, %.1f TLS handshakes per 1000 calls)\n",
        fresh, fresh_calls, 1000.0 * (double)fresh_connects / fresh_calls);
    printf("  ratio kept-alive / new connection: %.2f\n", kept / fresh);
    printf("ECDSA P-256 signing\n");
    printf("  ftpa endorsement (sign + DER splice) %8.0f /s\n", ours);
    if (theirs > 0)
        printf("  openssl speed ecdsap256 sign         %8.0f /s\n  ratio ftpa / openssl: %.2f\n",
               theirs, ours / theirs);
    else
        printf("  openssl speed ecdsap256: not available\n");

    if (argc > 4)
        compare_transports(svc, req, calls, argv[3], argv[4]);

    free(req);
    pa_http_stop(http);
    pa_service_free(svc);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    X509_free(ca);
    X509_free(server);
    X509_free(client);
    return 0;
}
