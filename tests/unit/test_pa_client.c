/* pa_client against in-process libmicrohttpd fakes on 127.0.0.1: one plain HTTP fake
 * scripted per test, and an HTTPS fake that requires client certificates. The TLS
 * material is made with OpenSSL in main() and written under PA_TEST_DIR (build tree).
 *
 * Nothing here sleeps to synchronise: calls are synchronous, the fake records under a
 * mutex, and a fake that must hang or stall waits on a condition variable that the test
 * releases before stopping it. The only waits are the client's own backoff, which the
 * tests measure with CLOCK_MONOTONIC. */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pa/pa_client.h"
#include "testutil.h"

#ifndef PA_TEST_DIR
#error "PA_TEST_DIR must name a directory in the build tree"
#endif

#define RPC_PREFIX "/pa.ProvisioningApplianceService/"

/* ---- TLS material, made once in main() before the suite forks ------------------------ */

struct tls_material {
    char dir[256]; /* PA_TEST_DIR/run-XXXXXX: concurrent runs must not share files */
    char *ca_pem, *server_cert_pem, *server_key_pem;
    char ca_file[384], rogue_ca_file[384], client_cert_file[384], client_key_file[384];
    char server_pin[128], other_pin[128]; /* "sha256//..." of the server / client key */
};

static struct tls_material tls;

static char *pem_of_cert(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    PEM_write_bio_X509(bio, x);
    long n = BIO_get_mem_data(bio, &data);
    char *s = strndup(data, (size_t)n);
    BIO_free(bio);
    return s;
}

static char *pem_of_key(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    long n = BIO_get_mem_data(bio, &data);
    char *s = strndup(data, (size_t)n);
    BIO_free(bio);
    return s;
}

static void write_file(char *path, size_t size, const char *name, const char *text)
{
    int n = snprintf(path, size, "%s/%s", tls.dir, name);
    FILE *f = n > 0 && (size_t)n < size ? fopen(path, "w") : NULL;
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(EXIT_FAILURE);
    }
}

/* (nid, value) pairs in the form of openssl.cnf, ended by nid 0. */
struct ext {
    int nid;
    const char *value;
};

/* A P-256 certificate for `key`, signed by `issuer_key` (self-signed when issuer NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const struct ext *exts, long serial)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    for (const struct ext *e = exts; e->nid != 0; e++) {
        X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, e->nid, e->value);
        if (ext == NULL || !X509_add_ext(x, ext, -1)) {
            fprintf(stderr, "cannot add extension %s\n", e->value);
            exit(EXIT_FAILURE);
        }
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
        fprintf(stderr, "cannot sign %s\n", cn);
        exit(EXIT_FAILURE);
    }
    return x;
}

/* curl's pin format: sha256 of the DER SubjectPublicKeyInfo, base64. */
static void pin_of(EVP_PKEY *key, char *out, size_t size)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    unsigned char md[32];
    unsigned char b64[64];
    unsigned int md_len = 0;
    EVP_Digest(der, (size_t)n, md, &md_len, EVP_sha256(), NULL);
    EVP_EncodeBlock(b64, md, (int)md_len);
    OPENSSL_free(der);
    snprintf(out, size, "sha256//%s", b64);
}

static const struct ext ca_exts[] = {
    {NID_basic_constraints, "critical,CA:TRUE"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
    {0, NULL},
};
static const struct ext server_exts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "serverAuth"},
    {NID_subject_alt_name, "IP:127.0.0.1"},
    {NID_authority_key_identifier, "keyid"},
    {0, NULL},
};
static const struct ext client_exts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "clientAuth"},
    {NID_subject_alt_name, "IP:127.0.0.1"},
    {NID_authority_key_identifier, "keyid"},
    {0, NULL},
};

static void make_tls_material(void)
{
    snprintf(tls.dir, sizeof(tls.dir), "%s/run-XXXXXX", PA_TEST_DIR);
    if ((mkdir(PA_TEST_DIR, 0700) != 0 && errno != EEXIST) || mkdtemp(tls.dir) == NULL) {
        fprintf(stderr, "cannot create %s: %s\n", tls.dir, strerror(errno));
        exit(EXIT_FAILURE);
    }
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *server_key = EVP_EC_gen("P-256");
    EVP_PKEY *client_key = EVP_EC_gen("P-256"), *rogue_key = EVP_EC_gen("P-256");
    X509 *ca = make_cert(ca_key, "ftharness test CA", NULL, NULL, ca_exts, 1);
    X509 *rogue = make_cert(rogue_key, "ftharness test CA", NULL, NULL, ca_exts, 1);
    X509 *server = make_cert(server_key, "127.0.0.1", ca, ca_key, server_exts, 2);
    X509 *client = make_cert(client_key, "tester1", ca, ca_key, client_exts, 3);

    tls.ca_pem = pem_of_cert(ca);
    tls.server_cert_pem = pem_of_cert(server);
    tls.server_key_pem = pem_of_key(server_key);
    char *rogue_pem = pem_of_cert(rogue), *client_pem = pem_of_cert(client);
    char *client_key_pem = pem_of_key(client_key);
    write_file(tls.ca_file, sizeof(tls.ca_file), "ca.pem", tls.ca_pem);
    write_file(tls.rogue_ca_file, sizeof(tls.rogue_ca_file), "rogue_ca.pem", rogue_pem);
    write_file(tls.client_cert_file, sizeof(tls.client_cert_file), "client.pem", client_pem);
    write_file(tls.client_key_file, sizeof(tls.client_key_file), "client.key", client_key_pem);
    pin_of(server_key, tls.server_pin, sizeof(tls.server_pin));
    pin_of(client_key, tls.other_pin, sizeof(tls.other_pin));

    free(rogue_pem);
    free(client_pem);
    free(client_key_pem);
    X509_free(ca);
    X509_free(rogue);
    X509_free(server);
    X509_free(client);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(server_key);
    EVP_PKEY_free(client_key);
    EVP_PKEY_free(rogue_key);
}

static void remove_tls_material(void)
{
    unlink(tls.ca_file);
    unlink(tls.rogue_ca_file);
    unlink(tls.client_cert_file);
    unlink(tls.client_key_file);
    rmdir(tls.dir);
    free(tls.ca_pem);
    free(tls.server_cert_pem);
    free(tls.server_key_pem);
}

/* ---- the fake service -------------------------------------------------------------- */

enum step_mode {
    STEP_REPLY,   /* answer at once */
    STEP_HANG,    /* never answer (until the test releases the fake) */
    STEP_STALL,   /* send the headers and 16 body bytes, then nothing */
    STEP_CHUNKED, /* stream fill_len bytes with chunked encoding (no Content-Length) */
};

/* What the fake does for one request; request i gets step min(i, script_len - 1). */
struct step {
    unsigned status;
    const char *body; /* NULL: "{}" (or fill_len bytes of 'x' when fill_len > 0) */
    int retry_after;  /* seconds; < 0: no Retry-After header */
    enum step_mode mode;
    size_t fill_len;
};

#define FAKE_MAX_REQUESTS 64

struct fake {
    struct MHD_Daemon *daemon;
    uint16_t port;
    bool tls;
    const struct step *script;
    size_t script_len;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t released_cv;
    bool released;
    unsigned connections, requests;
    struct timespec request_at[FAKE_MAX_REQUESTS];
    char method[16], path[128], content_type[64], user_id[64];
    char authorization[64], idempotency_key[64]; /* "" when the header was absent */
    char body[256];
};

/* One HTTP request inside the fake. */
struct request_ctx {
    struct fake *fake;
    const struct step *step;
    char body[4096];
    size_t len;
    size_t sent;
};

static void wait_until_released(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    while (!f->released)
        pthread_cond_wait(&f->released_cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static void copy_header(struct MHD_Connection *conn, const char *name, char *out, size_t size)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    snprintf(out, size, "%s", v ? v : "");
}

/* Records what arrived and picks this request's step. */
static const struct step *record_request(struct fake *f, struct MHD_Connection *conn,
                                         const char *url, const char *method,
                                         const struct request_ctx *ctx)
{
    pthread_mutex_lock(&f->mu);
    unsigned i = f->requests++;
    if (i < FAKE_MAX_REQUESTS)
        clock_gettime(CLOCK_MONOTONIC, &f->request_at[i]);
    snprintf(f->method, sizeof(f->method), "%s", method);
    snprintf(f->path, sizeof(f->path), "%s", url);
    snprintf(f->body, sizeof(f->body), "%.*s", (int)ctx->len, ctx->body);
    copy_header(conn, "content-type", f->content_type, sizeof(f->content_type));
    copy_header(conn, "user_id", f->user_id, sizeof(f->user_id));
    copy_header(conn, "authorization", f->authorization, sizeof(f->authorization));
    copy_header(conn, "idempotency-key", f->idempotency_key, sizeof(f->idempotency_key));
    pthread_mutex_unlock(&f->mu);
    return &f->script[i < f->script_len ? i : f->script_len - 1];
}

static ssize_t stall_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct request_ctx *ctx = cls;
    if (pos == 0) {
        size_t n = max < 16 ? max : 16;
        memset(buf, ' ', n);
        return (ssize_t)n;
    }
    wait_until_released(ctx->fake);
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static ssize_t chunk_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct request_ctx *ctx = cls;
    (void)pos;
    if (ctx->sent >= ctx->step->fill_len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = ctx->step->fill_len - ctx->sent;
    n = n < max ? n : max;
    memset(buf, 'x', n);
    ctx->sent += n;
    return (ssize_t)n;
}

static struct MHD_Response *make_response(struct request_ctx *ctx)
{
    const struct step *s = ctx->step;
    if (s->mode == STEP_STALL)
        return MHD_create_response_from_callback(4096, 1024, stall_reader, ctx, NULL);
    if (s->mode == STEP_CHUNKED)
        return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, chunk_reader, ctx, NULL);
    if (s->fill_len > 0) {
        char *filled = malloc(s->fill_len);
        memset(filled, 'x', s->fill_len);
        return MHD_create_response_from_buffer(s->fill_len, filled, MHD_RESPMEM_MUST_FREE);
    }
    const char *body = s->body ? s->body : "{}";
    return MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result respond(struct MHD_Connection *conn, struct request_ctx *ctx)
{
    if (ctx->step->mode == STEP_HANG) {
        wait_until_released(ctx->fake);
        return MHD_NO; /* drop the connection */
    }
    struct MHD_Response *resp = make_response(ctx);
    MHD_add_response_header(resp, "content-type", "application/json");
    if (ctx->step->retry_after >= 0) {
        char seconds[16];
        snprintf(seconds, sizeof(seconds), "%d", ctx->step->retry_after);
        MHD_add_response_header(resp, "retry-after", seconds);
    }
    enum MHD_Result rc = MHD_queue_response(conn, ctx->step->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
    struct request_ctx *ctx = *req_cls;
    (void)version;
    if (ctx == NULL) { /* headers only so far */
        ctx = calloc(1, sizeof(*ctx));
        ctx->fake = cls;
        *req_cls = ctx;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t room = sizeof(ctx->body) - ctx->len;
        size_t n = *upload_size < room ? *upload_size : room;
        memcpy(ctx->body + ctx->len, upload_data, n);
        ctx->len += n;
        *upload_size = 0;
        return MHD_YES;
    }
    ctx->step = record_request(cls, conn, url, method, ctx);
    return respond(conn, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

/* libmicrohttpd 0.9.75 only *requests* a client certificate (GNUTLS_CERT_REQUEST) and
 * never verifies it. The session exists before its handshake when this callback runs,
 * so the fake makes GnuTLS require and verify one, like nginx `ssl_verify_client on`. */
static void require_client_cert(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session = info->tls_session;
    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(session, NULL, 0);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    struct fake *f = cls;
    (void)socket_ctx;
    if (code != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    pthread_mutex_lock(&f->mu);
    f->connections++;
    pthread_mutex_unlock(&f->mu);
    if (f->tls)
        require_client_cert(conn);
}

static void fake_start(struct fake *f, const struct step *script, size_t script_len, bool use_tls)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->released_cv, NULL);
    f->script = script;
    f->script_len = script_len;
    f->tls = use_tls;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_OptionItem tls_options[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, tls.server_key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, tls.server_cert_pem},
        {MHD_OPTION_HTTPS_MEM_TRUST, 0, tls.ca_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_options[] = {{MHD_OPTION_END, 0, NULL}};
    /* A thread per connection, so a hanging or stalling reply blocks only its own. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    f->daemon = MHD_start_daemon(
        flags | (use_tls ? MHD_USE_TLS : 0), 0, NULL, NULL, on_request, f, MHD_OPTION_SOCK_ADDR,
        &addr, MHD_OPTION_NOTIFY_CONNECTION, on_connection, f, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, f, MHD_OPTION_ARRAY, use_tls ? tls_options : no_options, MHD_OPTION_END);
    ck_assert_msg(f->daemon != NULL, "libmicrohttpd did not start");
    f->port = MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
    ck_assert_uint_ne(f->port, 0);
}

static void fake_stop(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->released = true;
    pthread_cond_broadcast(&f->released_cv);
    pthread_mutex_unlock(&f->mu);
    MHD_stop_daemon(f->daemon);
    pthread_cond_destroy(&f->released_cv);
    pthread_mutex_destroy(&f->mu);
}

static unsigned fake_requests(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    unsigned n = f->requests;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static unsigned fake_connections(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    unsigned n = f->connections;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* ---- client helpers ---------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Short backoffs so the suite stays fast; timeouts roomy enough for valgrind, where a
 * TLS handshake can take over a second. Timeout tests set their own. */
static struct pa_client_options fast_options(void)
{
    return (struct pa_client_options){
        .user_id = "floor7/3",
        .connect_timeout_ms = 10000,
        .total_timeout_ms = 15000,
        .max_attempts = 3,
        .backoff_initial_ms = 10,
        .backoff_max_ms = 50,
    };
}

static struct pa_client *client_on(uint16_t port, bool use_tls, struct pa_client_options opt)
{
    char url[64];
    snprintf(url, sizeof(url), "%s://127.0.0.1:%u", use_tls ? "https" : "http", port);
    opt.base_url = url;
    struct ft_error err = {0};
    struct pa_client *c = pa_client_new(&opt, &err);
    ck_assert_msg(c != NULL, "pa_client_new: %s", err.message);
    return c;
}

static struct pa_client_options mtls_options(void)
{
    struct pa_client_options opt = fast_options();
    opt.ca_file = tls.ca_file;
    opt.cert_file = tls.client_cert_file;
    opt.key_file = tls.client_key_file;
    return opt;
}

static const char request[] = "{\"sku\":\"sival\"}";

static int call(struct pa_client *c, const char *rpc, bool idempotent, struct pa_reply *reply,
                struct ft_error *err)
{
    return pa_client_call(c, rpc, request, strlen(request), idempotent, reply, err);
}

/* Asserts a failed call: class, ft code, attempts and a message fragment. */
#define ck_assert_failed(rc, reply, err, want_failure, want_attempts, needle)                      \
    do {                                                                                           \
        ck_assert_int_eq((rc), -1);                                                                \
        ck_assert_msg((reply).failure == (want_failure), "failure %s, expected %s (%s)",           \
                      pa_failure_name((reply).failure), pa_failure_name(want_failure),             \
                      (err).message);                                                              \
        ck_assert_uint_eq((reply).attempts, (want_attempts));                                      \
        ck_assert_error((err), pa_failure_ft_code(want_failure), (needle));                        \
    } while (0)

/* ---- plain HTTP: answers, headers, keep-alive -------------------------------------- */

START_TEST(test_success_returns_body)
{
    static const struct step script[] = {{200, "{\"certs\":[]}", -1, STEP_REPLY, 0}};
    struct fake f;
    fake_start(&f, script, 1, false);
    struct pa_client *c = client_on(f.port, false, fast_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    ck_assert_int_eq(call(c, "GetCaCerts", true, &reply, &err), 0);
    ck_assert_int_eq(reply.http_status, 200);
    ck_assert_int_eq(reply.grpc_code, 0);
    ck_assert_int_eq(reply.failure, PA_FAILURE_NONE);
    ck_assert_uint_eq(reply.attempts, 1);
    ck_assert_str_eq(reply.message, "");
    ck_assert_uint_eq(reply.body_len, strlen("{\"certs\":[]}"));
    ck_assert_str_eq(reply.body, "{\"certs\":[]}");
    ck_assert_str_eq(f.method, "POST");
    ck_assert_str_eq(f.path, RPC_PREFIX "GetCaCerts");
    ck_assert_str_eq(f.body, request);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_headers_token_and_one_shot_header)
{
    static const struct step script[] = {{200, NULL, -1, STEP_REPLY, 0}};
    struct fake f;
    fake_start(&f, script, 1, false);
    struct pa_client *c = client_on(f.port, false, fast_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    ck_assert_int_eq(call(c, "InitSession", false, &reply, &err), 0);
    ck_assert_str_eq(f.content_type, "application/json");
    ck_assert_str_eq(f.user_id, "floor7/3");
    ck_assert_str_eq(f.authorization, "");

    ck_assert_int_eq(pa_client_set_token(c, "tok-123", &err), 0);
    ck_assert_int_eq(pa_client_set_next_header(c, "Idempotency-Key", "dev42-register", &err), 0);
    ck_assert_int_eq(call(c, "RegisterDevice", true, &reply, &err), 0);
    ck_assert_str_eq(f.authorization, "tok-123");
    ck_assert_str_eq(f.user_id, "floor7/3");
    ck_assert_str_eq(f.idempotency_key, "dev42-register");

    /* The extra header was for that call only; the token stays. */
    ck_assert_int_eq(call(c, "EndorseCerts", true, &reply, &err), 0);
    ck_assert_str_eq(f.idempotency_key, "");
    ck_assert_str_eq(f.authorization, "tok-123");

    ck_assert_int_eq(pa_client_set_token(c, NULL, &err), 0);
    ck_assert_int_eq(call(c, "CloseSession", false, &reply, &err), 0);
    ck_assert_str_eq(f.authorization, "");

    /* Header injection is refused before anything is sent. */
    ck_assert_int_eq(pa_client_set_token(c, "tok\r\nx-evil: 1", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "not a header value");
    ck_assert_int_eq(pa_client_set_next_header(c, "Idem key", "v", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "not a token");
    ck_assert_int_eq(pa_client_set_next_header(c, "Idempotency-Key", "a\nb", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "control characters");
    ck_assert_int_eq(pa_client_set_next_header(c, "Authorization", "other", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "set by the client itself");
    ck_assert_uint_eq(fake_requests(&f), 4);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_one_connection_for_50_calls)
{
    static const struct step script[] = {{200, "{\"ok\":true}", -1, STEP_REPLY, 0}};
    struct fake f;
    fake_start(&f, script, 1, false);
    struct pa_client *c = client_on(f.port, false, fast_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    for (int i = 0; i < 50; i++)
        ck_assert_msg(call(c, "EndorseCerts", true, &reply, &err) == 0, "call %d: %s", i,
                      err.message);
    struct pa_client_stats st = pa_client_stats(c);
    ck_assert_uint_eq(fake_requests(&f), 50);
    ck_assert_uint_eq(fake_connections(&f), 1);
    ck_assert_uint_eq(st.connects, 1);
    ck_assert_uint_eq(st.calls, 50);
    ck_assert_uint_eq(st.attempts, 50);
    ck_assert_uint_eq(st.failures, 0);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

/* ---- retries ----------------------------------------------------------------------- */

START_TEST(test_503_retry_after_then_success)
{
    static const struct step script[] = {
        {503, "{\"code\":14,\"message\":\"hsm busy\"}", 1, STEP_REPLY, 0},
        {200, "{\"ok\":true}", -1, STEP_REPLY, 0},
    };
    struct fake f;
    fake_start(&f, script, 2, false);
    struct pa_client_options opt = fast_options();
    opt.backoff_max_ms = 5000; /* the cap must not cut Retry-After: 1 */
    struct pa_client *c = client_on(f.port, false, opt);
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    double start = now_s();
    ck_assert_msg(call(c, "EndorseCerts", true, &reply, &err) == 0, "%s", err.message);
    double elapsed = now_s() - start;
    ck_assert_uint_eq(reply.attempts, 2);
    ck_assert_int_eq(reply.http_status, 200);
    ck_assert_msg(elapsed >= 0.95, "client waited only %.3f s for Retry-After: 1", elapsed);
    ck_assert_uint_eq(fake_requests(&f), 2);
    double gap = seconds_between(&f.request_at[0], &f.request_at[1]);
    ck_assert_msg(gap >= 0.95, "server saw the retry %.3f s after the 503", gap);
    ck_assert_uint_eq(fake_connections(&f), 1); /* an HTTP error keeps the connection */
    struct pa_client_stats st = pa_client_stats(c);
    ck_assert_uint_eq(st.retries, 1);
    ck_assert_uint_eq(st.waited_ms, 1000);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_retry_after_is_capped)
{
    static const struct step script[] = {
        {503, "{\"code\":14,\"message\":\"later\"}", 30, STEP_REPLY, 0},
        {200, NULL, -1, STEP_REPLY, 0},
    };
    struct fake f;
    fake_start(&f, script, 2, false);
    struct pa_client_options opt = fast_options();
    opt.backoff_max_ms = 200;
    struct pa_client *c = client_on(f.port, false, opt);
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    double start = now_s();
    ck_assert_msg(call(c, "EndorseCerts", true, &reply, &err) == 0, "%s", err.message);
    double elapsed = now_s() - start;
    ck_assert_uint_eq(reply.attempts, 2);
    ck_assert_msg(elapsed >= 0.19 && elapsed < 2.0, "waited %.3f s, expected the 200 ms cap",
                  elapsed);
    ck_assert_uint_eq(pa_client_stats(c).waited_ms, 200);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_503_not_retried_when_not_idempotent)
{
    static const struct step script[] = {
        {503, "{\"code\":14,\"message\":\"hsm busy\"}", 0, STEP_REPLY, 0},
        {200, NULL, -1, STEP_REPLY, 0},
    };
    struct fake f;
    fake_start(&f, script, 2, false);
    struct pa_client *c = client_on(f.port, false, fast_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    int rc = call(c, "EndorseCerts", false, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_HTTP, 1,
                     "EndorseCerts: HTTP 503 (server said: UNAVAILABLE: hsm busy)");
    ck_assert_int_eq(reply.http_status, 503);
    ck_assert_int_eq(reply.grpc_code, 14);
    ck_assert_str_eq(reply.message, "hsm busy");
    ck_assert_uint_eq(fake_requests(&f), 1);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_429_retried_until_max)
{
    static const struct step script[] = {
        {429, "{\"code\":8,\"message\":\"slow down\"}", -1, STEP_REPLY, 0},
    };
    struct fake f;
    fake_start(&f, script, 1, false);
    struct pa_client *c = client_on(f.port, false, fast_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    int rc = call(c, "RegisterDevice", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_HTTP, 3,
                     "RegisterDevice: HTTP 429 after 3 attempts (server said: "
                     "RESOURCE_EXHAUSTED: slow down)");
    ck_assert_int_eq(reply.grpc_code, 8);
    ck_assert_uint_eq(fake_requests(&f), 3);
    struct pa_client_stats st = pa_client_stats(c);
    ck_assert_uint_eq(st.attempts, 3);
    ck_assert_uint_eq(st.retries, 2);
    ck_assert_uint_eq(st.failures, 1);
    ck_assert_uint_le(st.waited_ms, 10 + 20); /* full jitter under ceilings 10 then 20 ms */

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_504_retried_then_success)
{
    static const struct step script[] = {
        {504, "{\"code\":4,\"message\":\"upstream deadline\"}", -1, STEP_REPLY, 0},
        {200, "{\"ok\":true}", -1, STEP_REPLY, 0},
    };
    struct fake f;
    fake_start(&f, script, 2, false);
    struct pa_client *c = client_on(f.port, false, fast_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    ck_assert_msg(call(c, "GetCaSubjectKeys", true, &reply, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(reply.attempts, 2);
    ck_assert_str_eq(reply.body, "{\"ok\":true}");
    ck_assert_uint_eq(fake_requests(&f), 2);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_500_not_retried)
{
    static const struct step script[] = {
        {500, "{\"code\":13,\"message\":\"hsm on fire\"}", -1, STEP_REPLY, 0},
        {200, NULL, -1, STEP_REPLY, 0},
    };
    struct fake f;
    fake_start(&f, script, 2, false);
    struct pa_client *c = client_on(f.port, false, fast_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    int rc = call(c, "EndorseCerts", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_HTTP, 1,
                     "EndorseCerts: HTTP 500 (server said: INTERNAL: hsm on fire)");
    ck_assert_int_eq(reply.grpc_code, 13);
    ck_assert_uint_eq(fake_requests(&f), 1);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_4xx_not_retried)
{
    static const struct step script[] = {
        {409, "{\"code\":6,\"message\":\"different bytes\",\"details\":[]}", -1, STEP_REPLY, 0},
        {401, "{\"code\":16,\"message\":\"bad token\"}", -1, STEP_REPLY, 0},
    };
    struct fake f;
    fake_start(&f, script, 2, false);
    struct pa_client *c = client_on(f.port, false, fast_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    int rc = call(c, "RegisterDevice", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_HTTP, 1, "ALREADY_EXISTS: different bytes");
    ck_assert_int_eq(reply.grpc_code, 6);
    rc = call(c, "EndorseCerts", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_HTTP, 1, "EndorseCerts: HTTP 401");
    ck_assert_int_eq(reply.grpc_code, 16);
    ck_assert_uint_eq(fake_requests(&f), 2);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_error_body_not_a_status)
{
    static const struct step script[] = {
        {400, "<html>Bad Request</html>", -1, STEP_REPLY, 0},
        {404, "{\"error\":\"no route\"}", -1, STEP_REPLY, 0},
        {502, "", -1, STEP_REPLY, 0},
    };
    struct fake f;
    fake_start(&f, script, 3, false);
    struct pa_client_options opt = fast_options();
    opt.max_attempts = 1;
    struct pa_client *c = client_on(f.port, false, opt);
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    int rc = call(c, "GetCaCerts", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_HTTP, 1,
                     "GetCaCerts: HTTP 400 (error body was not JSON: \"<html>Bad Request</html>\"; "
                     "taken as INVALID_ARGUMENT)");
    ck_assert_int_eq(reply.grpc_code, 3); /* mapped from the status */
    ck_assert_msg(strstr(reply.message, "not JSON") != NULL, "%s", reply.message);
    ck_assert_str_eq(reply.body, "<html>Bad Request</html>");

    rc = call(c, "GetCaCerts", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_HTTP, 1, "not a google.rpc.Status");
    ck_assert_int_eq(reply.grpc_code, 5);

    rc = call(c, "GetCaCerts", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_HTTP, 1, "error body was empty");
    ck_assert_int_eq(reply.grpc_code, 14);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

/* ---- transport failures ------------------------------------------------------------ */

/* A port bound but not listening refuses connections and cannot be taken by anyone else
 * while the test runs, unlike a port closed after use. */
static int refusing_port(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

START_TEST(test_server_down_retried_then_named)
{
    uint16_t port;
    int fd = refusing_port(&port);
    struct pa_client *c = client_on(port, false, fast_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};
    char want[96];
    snprintf(want, sizeof(want), "InitSession: connection refused to 127.0.0.1:%u after 3 attempts",
             port);

    int rc = call(c, "InitSession", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_CONNECT, 3, want);
    ck_assert_int_eq(reply.http_status, 0);
    ck_assert_int_eq(reply.grpc_code, 14);
    struct pa_client_stats st = pa_client_stats(c);
    ck_assert_uint_eq(st.attempts, 3);
    ck_assert_uint_eq(st.connects, 0);

    pa_reply_release(&reply);
    pa_client_free(c);
    close(fd);
}
END_TEST

START_TEST(test_no_response_within_total_timeout)
{
    static const struct step script[] = {{200, NULL, -1, STEP_HANG, 0}};
    struct fake f;
    fake_start(&f, script, 1, false);
    struct pa_client_options opt = fast_options();
    opt.total_timeout_ms = 300;
    opt.max_attempts = 2;
    struct pa_client *c = client_on(f.port, false, opt);
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    double start = now_s();
    int rc = call(c, "EndorseCerts", true, &reply, &err);
    double elapsed = now_s() - start;
    /* Nothing came back, so the request may be repeated: two attempts. */
    ck_assert_failed(rc, reply, err, PA_FAILURE_TIMEOUT, 2,
                     "EndorseCerts: timed out: no response within 300 ms after 2 attempts");
    ck_assert_int_eq(reply.grpc_code, 4);
    ck_assert_msg(elapsed >= 0.55 && elapsed < 3.0, "took %.3f s", elapsed);
    ck_assert_uint_eq(fake_requests(&f), 2);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_low_speed_stall)
{
    static const struct step script[] = {{200, NULL, -1, STEP_STALL, 0}};
    struct fake f;
    fake_start(&f, script, 1, false);
    struct pa_client_options opt = fast_options();
    opt.total_timeout_ms = 10000;
    opt.low_speed_limit_bps = 100;
    opt.low_speed_time_s = 1;
    struct pa_client *c = client_on(f.port, false, opt);
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    double start = now_s();
    int rc = call(c, "GetCaCerts", true, &reply, &err);
    double elapsed = now_s() - start;
    /* Response bytes arrived before the stall: not repeated, even though idempotent. */
    ck_assert_failed(rc, reply, err, PA_FAILURE_TIMEOUT, 1,
                     "GetCaCerts: stalled: under 100 bytes/s for 1 s");
    ck_assert_int_eq(reply.http_status, 200);
    ck_assert_msg(elapsed >= 0.9 && elapsed < 5.0, "stall detected after %.3f s", elapsed);
    ck_assert_uint_eq(fake_requests(&f), 1);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_oversize_response_then_clean_connection)
{
    static const struct step script[] = {
        {200, NULL, -1, STEP_REPLY, 4096},   /* announced with Content-Length */
        {200, NULL, -1, STEP_CHUNKED, 4096}, /* discovered while reading */
        {200, "{\"ok\":true}", -1, STEP_REPLY, 0},
    };
    struct fake f;
    fake_start(&f, script, 3, false);
    struct pa_client_options opt = fast_options();
    opt.max_response_bytes = 1024;
    struct pa_client *c = client_on(f.port, false, opt);
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    int rc = call(c, "GetCaCerts", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_TOO_LARGE, 1,
                     "GetCaCerts: response larger than 1024 bytes");
    ck_assert_ptr_null(reply.body);
    ck_assert_int_eq(reply.grpc_code, 8);
    rc = call(c, "GetCaCerts", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_TOO_LARGE, 1,
                     "GetCaCerts: response larger than 1024 bytes");

    /* Each aborted body took its connection with it; the next call is clean. */
    ck_assert_msg(call(c, "GetCaCerts", true, &reply, &err) == 0, "%s", err.message);
    ck_assert_str_eq(reply.body, "{\"ok\":true}");
    ck_assert_uint_eq(fake_connections(&f), 3);
    ck_assert_uint_eq(pa_client_stats(c).connects, 3);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_bad_arguments)
{
    static const struct step script[] = {{200, NULL, -1, STEP_REPLY, 0}};
    struct fake f;
    fake_start(&f, script, 1, false);
    struct pa_client *c = client_on(f.port, false, fast_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    ck_assert_int_eq(call(c, "../../admin", true, &reply, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "../../admin: RPC name is not an identifier");
    ck_assert_int_eq(reply.failure, PA_FAILURE_LOCAL);
    ck_assert_uint_eq(reply.attempts, 0);
    ck_assert_uint_eq(fake_requests(&f), 0);
    pa_client_free(c);
    fake_stop(&f);

    struct pa_client_options opt = fast_options();
    ck_assert_ptr_null(pa_client_new(&opt, &err));
    ck_assert_error(err, FT_E_INVALID, "no base_url");
    opt.base_url = "ftp://127.0.0.1";
    ck_assert_ptr_null(pa_client_new(&opt, &err));
    ck_assert_error(err, FT_E_INVALID, "is not http://, https://, grpc:// or grpcs://");
    opt.base_url = "https://127.0.0.1:1";
    opt.cert_file = tls.client_cert_file;
    ck_assert_ptr_null(pa_client_new(&opt, &err));
    ck_assert_error(err, FT_E_INVALID, "cert_file and key_file go together");
    opt.key_file = PA_TEST_DIR "/missing.key";
    ck_assert_ptr_null(pa_client_new(&opt, &err));
    ck_assert_error(err, FT_E_INVALID, "key_file " PA_TEST_DIR "/missing.key");
    opt.key_file = tls.client_key_file;
    opt.pinned_pubkey = "md5//abc";
    ck_assert_ptr_null(pa_client_new(&opt, &err));
    ck_assert_error(err, FT_E_INVALID, "sha256//");
    /* A malformed pin is a configuration error here, never a "pin mismatch" later. */
    static const char *const bad_pins[] = {
        "sha256//", "sha256//not-base64!", "sha256//AAAA",
        "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;sha256//x", NULL};
    for (size_t i = 0; bad_pins[i] != NULL; i++) {
        opt.pinned_pubkey = bad_pins[i];
        ck_assert_msg(pa_client_new(&opt, &err) == NULL, "pin \"%s\" accepted", bad_pins[i]);
        ck_assert_error(err, FT_E_INVALID, "base64 of a 32-byte SHA-256");
    }
    opt.pinned_pubkey = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;"
                        "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    struct pa_client *pinned = pa_client_new(&opt, &err);
    ck_assert_msg(pinned != NULL, "%s", err.message);
    pa_client_free(pinned);
    /* TLS options with an http:// URL would run in clear without a word: refused. */
    opt.base_url = "http://127.0.0.1:1";
    ck_assert_ptr_null(pa_client_new(&opt, &err));
    ck_assert_error(err, FT_E_INVALID, "would reach the service in clear");
    opt.cert_file = opt.key_file = NULL;
    opt.pinned_pubkey = NULL;
    opt.ca_file = tls.ca_file;
    ck_assert_ptr_null(pa_client_new(&opt, &err));
    ck_assert_error(err, FT_E_INVALID, "use https://");
    opt.ca_file = NULL;
    opt.base_url = "https://127.0.0.1:1";
    opt.pinned_pubkey = NULL;
    opt.user_id = "a\r\nb";
    ck_assert_ptr_null(pa_client_new(&opt, &err));
    ck_assert_error(err, FT_E_INVALID, "user_id");
}
END_TEST

/* ---- TLS --------------------------------------------------------------------------- */

START_TEST(test_mtls_success_one_handshake)
{
    static const struct step script[] = {{200, "{\"ok\":true}", -1, STEP_REPLY, 0}};
    struct fake f;
    fake_start(&f, script, 1, true);
    struct pa_client *c = client_on(f.port, true, mtls_options());
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    for (int i = 0; i < 20; i++)
        ck_assert_msg(call(c, "EndorseCerts", true, &reply, &err) == 0, "call %d: %s", i,
                      err.message);
    ck_assert_str_eq(reply.body, "{\"ok\":true}");
    ck_assert_uint_eq(fake_requests(&f), 20);
    ck_assert_uint_eq(fake_connections(&f), 1);
    ck_assert_uint_eq(pa_client_stats(c).connects, 1);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_mtls_without_client_cert_refused)
{
    static const struct step script[] = {{200, NULL, -1, STEP_REPLY, 0}};
    struct fake f;
    fake_start(&f, script, 1, true);
    struct pa_client_options opt = fast_options();
    opt.ca_file = tls.ca_file;
    struct pa_client *c = client_on(f.port, true, opt);
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    /* A TLS refusal is not transient: one attempt although the call is idempotent. */
    int rc = call(c, "InitSession", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_TLS, 1, "InitSession: TLS: ");
    ck_assert_int_eq(reply.grpc_code, 14);
    ck_assert_uint_eq(fake_requests(&f), 0);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_wrong_pin_refused)
{
    static const struct step script[] = {{200, NULL, -1, STEP_REPLY, 0}};
    struct fake f;
    fake_start(&f, script, 1, true);
    struct pa_client_options opt = mtls_options();
    opt.pinned_pubkey = tls.other_pin;
    struct pa_client *c = client_on(f.port, true, opt);
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    int rc = call(c, "EndorseCerts", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_TLS, 1,
                     "EndorseCerts: TLS: peer public key does not match the pin");
    ck_assert_uint_eq(fake_requests(&f), 0);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_right_pin_accepted)
{
    static const struct step script[] = {{200, "{\"ok\":true}", -1, STEP_REPLY, 0}};
    struct fake f;
    fake_start(&f, script, 1, true);
    struct pa_client_options opt = mtls_options();
    char pins[300];
    /* A backup pin first, as an operator rotating the server key would list it. */
    snprintf(pins, sizeof(pins), "%s;%s", tls.other_pin, tls.server_pin);
    opt.pinned_pubkey = pins;
    struct pa_client *c = client_on(f.port, true, opt);
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    ck_assert_msg(call(c, "EndorseCerts", true, &reply, &err) == 0, "%s", err.message);
    ck_assert_str_eq(reply.body, "{\"ok\":true}");

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(test_untrusted_server_refused)
{
    static const struct step script[] = {{200, NULL, -1, STEP_REPLY, 0}};
    struct fake f;
    fake_start(&f, script, 1, true);
    struct pa_client_options opt = mtls_options();
    opt.ca_file = tls.rogue_ca_file; /* same CA name, different key */
    struct pa_client *c = client_on(f.port, true, opt);
    struct pa_reply reply = {0};
    struct ft_error err = {0};

    int rc = call(c, "GetCaCerts", true, &reply, &err);
    ck_assert_failed(rc, reply, err, PA_FAILURE_TLS, 1, "GetCaCerts: TLS: server certificate");
    ck_assert_uint_eq(fake_requests(&f), 0);

    pa_reply_release(&reply);
    pa_client_free(c);
    fake_stop(&f);
}
END_TEST

static Suite *pa_client_suite(void)
{
    Suite *s = suite_create("pa_client");
    TCase *http = tcase_create("http");
    tcase_set_timeout(http, 30);
    tcase_add_test(http, test_success_returns_body);
    tcase_add_test(http, test_headers_token_and_one_shot_header);
    tcase_add_test(http, test_one_connection_for_50_calls);
    tcase_add_test(http, test_bad_arguments);
    suite_add_tcase(s, http);

    TCase *retry = tcase_create("retry");
    tcase_set_timeout(retry, 30);
    tcase_add_test(retry, test_503_retry_after_then_success);
    tcase_add_test(retry, test_retry_after_is_capped);
    tcase_add_test(retry, test_503_not_retried_when_not_idempotent);
    tcase_add_test(retry, test_429_retried_until_max);
    tcase_add_test(retry, test_504_retried_then_success);
    tcase_add_test(retry, test_500_not_retried);
    tcase_add_test(retry, test_4xx_not_retried);
    tcase_add_test(retry, test_error_body_not_a_status);
    suite_add_tcase(s, retry);

    TCase *transport = tcase_create("transport");
    tcase_set_timeout(transport, 30);
    tcase_add_test(transport, test_server_down_retried_then_named);
    tcase_add_test(transport, test_no_response_within_total_timeout);
    tcase_add_test(transport, test_low_speed_stall);
    tcase_add_test(transport, test_oversize_response_then_clean_connection);
    suite_add_tcase(s, transport);

    TCase *tls_case = tcase_create("tls");
    tcase_set_timeout(tls_case, 30);
    tcase_add_test(tls_case, test_mtls_success_one_handshake);
    tcase_add_test(tls_case, test_mtls_without_client_cert_refused);
    tcase_add_test(tls_case, test_wrong_pin_refused);
    tcase_add_test(tls_case, test_right_pin_accepted);
    tcase_add_test(tls_case, test_untrusted_server_refused);
    suite_add_tcase(s, tls_case);
    return s;
}

/* Not FT_TEST_MAIN: libcurl is initialised once here, before Check forks a child per
 * test, the way the daemon initialises it once in main(). */
int main(void)
{
    struct ft_error err = {0};
    if (pa_client_global_init(&err) != 0) {
        fprintf(stderr, "%s\n", err.message);
        return EXIT_FAILURE;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        fprintf(stderr, "libmicrohttpd was built without TLS\n");
        return EXIT_FAILURE;
    }
    make_tls_material();
    SRunner *runner = srunner_create(pa_client_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    pa_client_global_cleanup();
    remove_tls_material();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
