#include "pa/pa_service.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cert/endorse.h"
#include "cert/was.h"
#include "common/base64.h"
#include "pa/pa_auth.h"
#include "pa/pa_msg.h"
#include "pa/pa_proto.h"
#include "pa/pa_registry.h"
#include "pa/pa_sku.h"
#include "wire/perso_tlv.h"

#define SESSIONS_MAX 256u
#define SKUS_MAX 32u
#define USER_MAX 128u
#define CONFIG_DIR_MAX 512u
/* "a, b, ...": the SKU names of a reload's log line. */
#define SKU_NAMES_MAX (SKUS_MAX * (PA_NAME_MAX + 2) + 8)

/* A session names its SKU, never a configuration's objects: its methods and keys are
 * looked up in the configuration in force at each call, so it outlives a reload (and
 * fails, saying why, once a reload has removed its SKU). */
struct session {
    bool used;
    char user[USER_MAX];
    char token[PA_SESSION_TOKEN_SIZE];
    char sku[PA_NAME_MAX];
};

/* What the configuration directory held at the last successful (re)load: sku_auth.json
 * and the SKU files. Nothing in it changes once it is in force, except that a SKU named
 * only through a family entry of sku_auth.json (a prefix of its name) is appended on
 * first use. A request holds a reference for its whole run, so a reload neither changes
 * what it sees nor frees what it uses; the last reference frees it. */
struct pa_config {
    unsigned refs;       /* under pa_service.lock: the service's own and one per request */
    unsigned generation; /* 1 at start, one more per reload put in force */
    struct pa_auth_table auth;
    struct pa_sku *skus[SKUS_MAX]; /* appended under pa_service.lock */
    size_t n_skus;
};

struct pa_service {
    char config_dir[CONFIG_DIR_MAX];
    FILE *log;
    pthread_mutex_t lock; /* sessions, `config` and every configuration's refs and skus */
    struct session sessions[SESSIONS_MAX];
    struct pa_config *config;    /* in force; replaced whole by pa_service_reload */
    pthread_mutex_t reload_lock; /* one reload at a time: each builds on the one before */
    struct pa_registry *registry;
};

/* An RPC failure: a gRPC code and a message for the caller. */
struct rpc_error {
    int code;
    char message[512];
};

static int rpc_fail(struct rpc_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int rpc_fail(struct rpc_error *e, int code, const char *fmt, ...)
{
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Configuration ---------------------------------------------------------------------- */

static void config_free(struct pa_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n_skus; i++) {
        pa_sku_free(cfg->skus[i]);
        free(cfg->skus[i]);
    }
    pa_auth_table_free(&cfg->auth);
    free(cfg);
}

static struct pa_sku *config_find_sku(const struct pa_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_skus; i++) {
        if (strcmp(cfg->skus[i]->name, name) == 0)
            return cfg->skus[i];
    }
    return NULL;
}

/* Loads DIR/sku_<name>.json into `cfg`; the error names the file, the key and why. */
static struct pa_sku *config_add_sku(const char *dir, struct pa_config *cfg, const char *name,
                                     struct ft_error *err)
{
    if (cfg->n_skus == SKUS_MAX) {
        ft_fail(err, FT_E_CAPACITY, "%s: more than %u SKUs to load (SKU %.64s)", dir, SKUS_MAX,
                name);
        return NULL;
    }
    struct pa_sku *sku = calloc(1, sizeof(*sku));
    if (sku == NULL) {
        ft_fail(err, FT_E_NOMEM, "out of memory loading SKU %.64s", name);
        return NULL;
    }
    if (pa_sku_load(dir, name, sku, err) != 0) {
        free(sku);
        return NULL;
    }
    cfg->skus[cfg->n_skus++] = sku;
    return sku;
}

/* An entry of sku_auth.json may name a SKU family (a prefix) rather than a SKU with a
 * file of its own; only the SKU files that exist are loaded ahead of use. */
static bool sku_file_exists(const char *dir, const char *name)
{
    char path[CONFIG_DIR_MAX + PA_NAME_MAX + 16];
    struct stat st;
    snprintf(path, sizeof(path), "%s/sku_%s.json", dir, name);
    return stat(path, &st) == 0 || errno != ENOENT; /* unreadable: let the load say why */
}

/* Reads sku_auth.json, checks every password hash, and loads every SKU it names that has
 * a file, plus `also` (SKUs loaded by the configuration being replaced that the new
 * sku_auth.json still admits). All or nothing: the first error, naming the file and the
 * key, fails the whole load. */
static int config_load(const char *dir, char (*also)[PA_NAME_MAX], size_t n_also,
                       struct pa_config **out, struct ft_error *err)
{
    struct pa_config *cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return ft_fail(err, FT_E_NOMEM, "out of memory loading %s", dir);
    int rc = pa_auth_table_load(dir, &cfg->auth, err);
    for (size_t i = 0; rc == 0 && i < cfg->auth.count; i++) {
        const struct pa_auth_entry *a = &cfg->auth.entries[i];
        if (pa_bcrypt_hash_validate(a->hash, err) != 0)
            rc = ft_error_prefix(err, "%s/sku_auth.json: sku_auth_cfg_list.%s.sku_auth", dir,
                                 a->sku);
    }
    for (size_t i = 0; rc == 0 && i < cfg->auth.count; i++) {
        const char *name = cfg->auth.entries[i].sku;
        if (pa_sku_name_valid(name) && sku_file_exists(dir, name) &&
            config_add_sku(dir, cfg, name, err) == NULL)
            rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n_also; i++) {
        if (config_find_sku(cfg, also[i]) == NULL && pa_auth_lookup(&cfg->auth, also[i]) &&
            config_add_sku(dir, cfg, also[i], err) == NULL)
            rc = -1;
    }
    if (rc != 0) {
        config_free(cfg);
        return -1;
    }
    cfg->refs = 1; /* the service's */
    *out = cfg;
    return 0;
}

/* The configuration in force, held until config_release: what one request sees. */
static struct pa_config *config_acquire(struct pa_service *svc)
{
    pthread_mutex_lock(&svc->lock);
    struct pa_config *cfg = svc->config;
    cfg->refs++;
    pthread_mutex_unlock(&svc->lock);
    return cfg;
}

static void config_release(struct pa_service *svc, struct pa_config *cfg)
{
    pthread_mutex_lock(&svc->lock);
    bool last = --cfg->refs == 0;
    pthread_mutex_unlock(&svc->lock);
    if (last)
        config_free(cfg);
}

int pa_service_new(const struct pa_service_options *o, struct pa_service **out,
                   struct ft_error *err)
{
    struct pa_service *svc = calloc(1, sizeof(*svc));
    if (svc == NULL)
        return ft_fail(err, FT_E_NOMEM, "ftpa: out of memory");
    if (strlen(o->config_dir) >= sizeof(svc->config_dir)) {
        free(svc);
        return ft_fail(err, FT_E_RANGE, "ftpa: configuration directory longer than %zu bytes",
                       sizeof(svc->config_dir) - 1);
    }
    snprintf(svc->config_dir, sizeof(svc->config_dir), "%s", o->config_dir);
    svc->log = o->log;
    pthread_mutex_init(&svc->lock, NULL);
    pthread_mutex_init(&svc->reload_lock, NULL);
    if (config_load(svc->config_dir, NULL, 0, &svc->config, err) != 0 ||
        pa_registry_open(o->db_path, &svc->registry, err) != 0) {
        pa_service_free(svc);
        return -1;
    }
    svc->config->generation = 1;
    *out = svc;
    return 0;
}

void pa_service_free(struct pa_service *svc)
{
    if (svc == NULL)
        return;
    config_free(svc->config); /* no request runs any more: the last reference */
    pa_registry_close(svc->registry);
    OPENSSL_cleanse(svc->sessions, sizeof(svc->sessions));
    pthread_mutex_destroy(&svc->reload_lock);
    pthread_mutex_destroy(&svc->lock);
    free(svc);
}

void pa_response_free(struct pa_response *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

/* ---- SKUs and sessions (lock held) ------------------------------------------------------ */

/* The SKU `name` of `cfg`, loaded on first use when only a family entry of sku_auth.json
 * names it. */
static struct pa_sku *config_sku(struct pa_service *svc, struct pa_config *cfg, const char *name,
                                 struct rpc_error *e)
{
    struct pa_sku *sku = config_find_sku(cfg, name);
    if (sku != NULL)
        return sku;
    struct ft_error err = {0};
    if ((sku = config_add_sku(svc->config_dir, cfg, name, &err)) == NULL)
        rpc_fail(e, err.code == FT_E_CAPACITY ? PA_GRPC_RESOURCE_EXHAUSTED : PA_GRPC_INTERNAL,
                 "unable to load sku %s: %s", name, err.message);
    return sku;
}

static struct session *find_session(struct pa_service *svc, const char *user)
{
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        if (svc->sessions[i].used && strcmp(svc->sessions[i].user, user) == 0)
            return &svc->sessions[i];
    }
    return NULL;
}

static bool method_allowed(const struct pa_auth_entry *auth, const char *rpc)
{
    for (size_t i = 0; i < auth->n_methods; i++) {
        size_t n = strlen(auth->methods[i]), m = strlen(rpc);
        if (m >= n && strcmp(rpc + m - n, auth->methods[i]) == 0)
            return true; /* upstream matches by suffix of the full method name */
    }
    return false;
}

/* Upstream's auth interceptor, in its order and with its codes, for every RPC but
 * InitSession (upstream also exempts CloseSession, so anyone could end another site's
 * session). On success the session's SKU is copied to `sku`: every handler checks that
 * the request names it (upstream never compares them). */
static int authorize(struct pa_service *svc, const struct pa_config *cfg, const char *rpc,
                     const char *user, const struct pa_caller *caller, char sku[PA_NAME_MAX],
                     struct rpc_error *e)
{
    struct session *s = find_session(svc, user);
    if (s == NULL)
        return rpc_fail(e, PA_GRPC_INTERNAL, "user not found");
    if (caller->authorization == NULL)
        return rpc_fail(e, PA_GRPC_UNAUTHENTICATED, "authorization header missing");
    if (strlen(caller->authorization) != strlen(s->token) ||
        !pa_ct_equal(caller->authorization, s->token, strlen(s->token)))
        return rpc_fail(e, PA_GRPC_NOT_FOUND, "incorrect access token");
    if (strcmp(rpc, "CloseSession") != 0) { /* a session can always be closed */
        const struct pa_auth_entry *auth = pa_auth_lookup(&cfg->auth, s->sku);
        if (auth == NULL)
            return rpc_fail(e, PA_GRPC_NOT_FOUND,
                            "SKU %s is no longer in sku_auth.json (the configuration was "
                            "reloaded)",
                            s->sku);
        if (!method_allowed(auth, rpc))
            return rpc_fail(e, PA_GRPC_PERMISSION_DENIED, "method %s not allowed for this SKU",
                            rpc);
    }
    memcpy(sku, s->sku, PA_NAME_MAX);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static int to_text(json_t *msg, char **out, struct rpc_error *e)
{
    *out = msg ? json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(msg);
    return *out ? 0 : rpc_fail(e, PA_GRPC_INTERNAL, "cannot encode the response");
}

static int decode_fail(struct rpc_error *e, const struct ft_error *err)
{
    return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "%s", err->message);
}

/* The SKU a request names: the one the caller's session was opened for (a session of SKU
 * A must not reach B's CA, seeds or RMA key), as the request's configuration has it. It
 * stays valid while the request holds `cfg`. */
static struct pa_sku *session_sku_of(struct pa_service *svc, struct pa_config *cfg,
                                     const char *session_sku, const char *name, struct rpc_error *e)
{
    if (strcmp(name, session_sku) != 0) {
        rpc_fail(e, PA_GRPC_PERMISSION_DENIED,
                 "the session was opened for SKU %s; the request names SKU %.64s", session_sku,
                 name);
        return NULL;
    }
    pthread_mutex_lock(&svc->lock);
    struct pa_sku *sku = config_sku(svc, cfg, name, e);
    pthread_mutex_unlock(&svc->lock);
    return sku;
}

static int subject_key_id(X509 *cert, struct pa_small_bytes *out)
{
    const ASN1_OCTET_STRING *ski = cert ? X509_get0_subject_key_id(cert) : NULL;
    if (ski == NULL || (size_t)ASN1_STRING_length(ski) > sizeof(out->data))
        return -1;
    out->len = (size_t)ASN1_STRING_length(ski);
    memcpy(out->data, ASN1_STRING_get0_data(ski), out->len);
    return 0;
}

static int cert_to_bytes(X509 *cert, struct pa_bytes *out)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    if (len <= 0)
        return -1;
    /* i2d allocates with OPENSSL_malloc; message fields are released with free(). */
    out->data = malloc((size_t)len);
    if (out->data == NULL) {
        OPENSSL_free(der);
        return -1;
    }
    memcpy(out->data, der, (size_t)len);
    out->len = (size_t)len;
    OPENSSL_free(der);
    return 0;
}

/* ---- InitSession / CloseSession ------------------------------------------------------ */

static int rpc_init_session(struct pa_service *svc, struct pa_config *cfg, const char *user,
                            const char *body, size_t len, char **out, struct rpc_error *e)
{
    struct pa_init_session_request req;
    struct ft_error err = {0};
    if (pa_init_session_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    const struct pa_auth_entry *auth = pa_auth_lookup(&cfg->auth, req.sku);
    if (auth == NULL) {
        rpc_fail(e, PA_GRPC_NOT_FOUND, "unknown sku %s", req.sku);
        OPENSSL_cleanse(&req, sizeof(req));
        return -1;
    }
    int match = pa_password_check(req.sku_auth, auth->hash, &err);
    OPENSSL_cleanse(req.sku_auth, sizeof(req.sku_auth));
    if (match != 1)
        return rpc_fail(e, PA_GRPC_UNAUTHENTICATED, "sku authentication failed for %s", req.sku);

    struct pa_init_session_response resp = {0};
    pthread_mutex_lock(&svc->lock);
    int rc = -1;
    struct session *s = find_session(svc, user);
    for (size_t i = 0; s == NULL && i < SESSIONS_MAX; i++) {
        if (!svc->sessions[i].used)
            s = &svc->sessions[i];
    }
    if (s == NULL) {
        rpc_fail(e, PA_GRPC_RESOURCE_EXHAUSTED, "too many sessions");
    } else if (config_sku(svc, cfg, req.sku, e) != NULL &&
               pa_session_token(s->token, sizeof(s->token), &err) == 0) {
        s->used = true;
        snprintf(s->user, sizeof(s->user), "%s", user);
        snprintf(s->sku, sizeof(s->sku), "%s", req.sku);
        snprintf(resp.sku_session_token, sizeof(resp.sku_session_token), "%s", s->token);
        for (size_t i = 0; i < auth->n_methods && i < PA_REPEATED_MAX; i++)
            snprintf(resp.auth_methods[i], sizeof(resp.auth_methods[i]), "%s", auth->methods[i]);
        resp.auth_methods_count =
            auth->n_methods < PA_REPEATED_MAX ? auth->n_methods : PA_REPEATED_MAX;
        rc = 0;
    }
    pthread_mutex_unlock(&svc->lock);
    if (rc != 0)
        return -1;
    json_t *msg = NULL;
    rc = pa_init_session_response_to_json(&resp, &msg, &err);
    OPENSSL_cleanse(&resp, sizeof(resp));
    return rc == 0 ? to_text(msg, out, e) : rpc_fail(e, PA_GRPC_INTERNAL, "%s", err.message);
}

/* Only with the session's own token: checked and closed under one lock hold. */
static int rpc_close_session(struct pa_service *svc, const struct pa_config *cfg, const char *user,
                             const struct pa_caller *caller, const char *body, size_t len,
                             char **out, struct rpc_error *e)
{
    struct pa_close_session_request req;
    struct ft_error err = {0};
    if (pa_close_session_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    char sku[PA_NAME_MAX];
    pthread_mutex_lock(&svc->lock);
    int rc = authorize(svc, cfg, "CloseSession", user, caller, sku, e);
    if (rc == 0)
        OPENSSL_cleanse(find_session(svc, user), sizeof(struct session));
    pthread_mutex_unlock(&svc->lock);
    return rc == 0 ? to_text(json_object(), out, e) : -1;
}

/* ---- CA information -------------------------------------------------------------------- */

static int rpc_get_ca_subject_keys(struct pa_service *svc, struct pa_config *cfg,
                                   const char *session_sku, const char *body, size_t len,
                                   char **out, struct rpc_error *e)
{
    struct pa_get_ca_subject_keys_request req;
    struct ft_error err = {0};
    if (pa_get_ca_subject_keys_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_sku *sku = session_sku_of(svc, cfg, session_sku, req.sku, e);
    if (sku == NULL)
        return -1;
    struct pa_get_ca_subject_keys_response resp = {0};
    for (size_t i = 0; i < req.cert_labels_count; i++) {
        const char *label = req.cert_labels[i];
        X509 *ica = strcmp(label, "UDS") == 0   ? sku->dice_ica
                    : strcmp(label, "EXT") == 0 ? sku->ext_ica
                                                : NULL;
        /* Upstream answers a SKU without that ICA with 10 zero bytes, not an error. */
        if (ica == NULL || subject_key_id(ica, &resp.key_ids[i]) != 0) {
            memset(resp.key_ids[i].data, 0, 10);
            resp.key_ids[i].len = 10;
        }
    }
    resp.key_ids_count = req.cert_labels_count;
    json_t *msg = NULL;
    if (pa_get_ca_subject_keys_response_to_json(&resp, &msg, &err) != 0)
        return rpc_fail(e, PA_GRPC_INTERNAL, "%s", err.message);
    return to_text(msg, out, e);
}

static X509 *ca_cert_by_label(const struct pa_sku *sku, const char *label)
{
    if (strcmp(label, "root") == 0)
        return sku->root_ca;
    if (strcmp(label, "dice") == 0)
        return sku->dice_ica;
    if (strcmp(label, "ext") == 0)
        return sku->ext_ica;
    return NULL;
}

static int rpc_get_ca_certs(struct pa_service *svc, struct pa_config *cfg, const char *session_sku,
                            const char *body, size_t len, char **out, struct rpc_error *e)
{
    struct pa_get_ca_certs_request req;
    struct ft_error err = {0};
    if (pa_get_ca_certs_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_sku *sku = session_sku_of(svc, cfg, session_sku, req.sku, e);
    if (sku == NULL)
        return -1;
    struct pa_get_ca_certs_response resp = {0};
    int rc = 0;
    for (size_t i = 0; i < req.cert_labels_count && rc == 0; i++) {
        X509 *cert = ca_cert_by_label(sku, req.cert_labels[i]);
        if (cert == NULL)
            rc =
                rpc_fail(e, PA_GRPC_NOT_FOUND, "no CA certificate labelled %s", req.cert_labels[i]);
        else if (cert_to_bytes(cert, &resp.certs[i].blob) != 0)
            rc = rpc_fail(e, PA_GRPC_INTERNAL, "cannot encode the %s certificate",
                          req.cert_labels[i]);
        else
            resp.certs_count = i + 1;
    }
    json_t *msg = NULL;
    if (rc == 0 && pa_get_ca_certs_response_to_json(&resp, &msg, &err) != 0)
        rc = rpc_fail(e, PA_GRPC_INTERNAL, "%s", err.message);
    pa_get_ca_certs_response_free(&resp);
    return rc == 0 ? to_text(msg, out, e) : -1;
}

static int rpc_get_owner_fw_boot_message(struct pa_service *svc, struct pa_config *cfg,
                                         const char *session_sku, const char *body, size_t len,
                                         char **out, struct rpc_error *e)
{
    struct pa_get_owner_fw_boot_message_request req;
    struct ft_error err = {0};
    if (pa_get_owner_fw_boot_message_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_sku *sku = session_sku_of(svc, cfg, session_sku, req.sku, e);
    if (sku == NULL)
        return -1;
    struct pa_get_owner_fw_boot_message_response resp = {0};
    snprintf(resp.boot_message, sizeof(resp.boot_message), "%s", sku->owner_fw_boot_message);
    json_t *msg = NULL;
    if (pa_get_owner_fw_boot_message_response_to_json(&resp, &msg, &err) != 0)
        return rpc_fail(e, PA_GRPC_INTERNAL, "%s", err.message);
    return to_text(msg, out, e);
}

/* ---- DeriveTokens ------------------------------------------------------------------------ */

static int derive_one(const struct pa_sku *sku, const struct pa_token_params *p,
                      struct pa_token *out, struct rpc_error *e)
{
    if (p->diversifier.len == 0)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "diversifier must not be empty");
    if (p->diversifier.len > PA_DIVERSIFIER_LEN)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "diversifier of %zu bytes exceeds %u",
                        p->diversifier.len, PA_DIVERSIFIER_LEN);
    size_t size = p->size == PA_TOKEN_SIZE_128_BITS   ? PA_TOKEN_128_LEN
                  : p->size == PA_TOKEN_SIZE_256_BITS ? PA_TOKEN_256_LEN
                                                      : 0;
    if (size == 0)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "invalid token size %d", p->size);
    if (p->type != PA_TOKEN_TYPE_RAW && p->type != PA_TOKEN_TYPE_HASHED_OT_LC_TOKEN)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "invalid token type %d", p->type);
    if (p->wrap_seed && p->seed != PA_TOKEN_SEED_KEYGEN)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "wrap_seed needs TOKEN_SEED_KEYGEN");

    uint8_t keygen[PA_KEYGEN_SEED_LEN];
    const uint8_t *seed;
    size_t seed_len;
    struct ft_error err = {0};
    if (p->seed == PA_TOKEN_SEED_HIGH_SECURITY) {
        seed = sku->seed_hi.bytes;
        seed_len = sku->seed_hi.len;
    } else if (p->seed == PA_TOKEN_SEED_LOW_SECURITY) {
        seed = sku->seed_lo.bytes;
        seed_len = sku->seed_lo.len;
    } else if (p->seed == PA_TOKEN_SEED_KEYGEN) {
        if (pa_keygen_seed(keygen, sizeof(keygen), &err) != 0)
            return rpc_fail(e, PA_GRPC_INTERNAL, "could not generate symmetric key");
        seed = keygen;
        seed_len = sizeof(keygen);
    } else {
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "invalid token seed %d", p->seed);
    }
    /* The diversifier is hashed as received, as upstream does; ATE clients send the
     * label zero-padded to 48 bytes. */
    int rc = pa_token_derive(seed, seed_len, p->diversifier.data, p->diversifier.len, size,
                             p->type == PA_TOKEN_TYPE_HASHED_OT_LC_TOKEN, out->token.data,
                             sizeof(out->token.data), &err);
    out->token.len = size;
    if (rc == 0 && p->wrap_seed) {
        uint8_t wrapped[1024];
        size_t wrapped_len = 0;
        rc = pa_wrap_seed(sku->rma_wrap_key, seed, seed_len, wrapped, sizeof(wrapped), &wrapped_len,
                          &err);
        out->wrapped_seed.data = rc == 0 ? malloc(wrapped_len) : NULL;
        if (out->wrapped_seed.data != NULL) {
            memcpy(out->wrapped_seed.data, wrapped, wrapped_len);
            out->wrapped_seed.len = wrapped_len;
        } else {
            rc = -1;
        }
    }
    OPENSSL_cleanse(keygen, sizeof(keygen));
    return rc == 0
               ? 0
               : rpc_fail(e, PA_GRPC_INTERNAL, "could not generate symmetric key: %s", err.message);
}

static int rpc_derive_tokens(struct pa_service *svc, struct pa_config *cfg, const char *session_sku,
                             const char *body, size_t len, char **out, struct rpc_error *e)
{
    struct pa_derive_tokens_request req;
    struct ft_error err = {0};
    if (pa_derive_tokens_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_sku *sku = session_sku_of(svc, cfg, session_sku, req.sku, e);
    if (sku == NULL)
        return -1;
    struct pa_derive_tokens_response resp = {0};
    int rc = 0;
    for (size_t i = 0; i < req.params_count && rc == 0; i++) {
        rc = derive_one(sku, &req.params[i], &resp.tokens[i], e);
        resp.tokens_count = i + 1;
    }
    json_t *msg = NULL;
    if (rc == 0 && pa_derive_tokens_response_to_json(&resp, &msg, &err) != 0)
        rc = rpc_fail(e, PA_GRPC_INTERNAL, "%s", err.message);
    pa_derive_tokens_response_free(&resp);
    return rc == 0 ? to_text(msg, out, e) : -1;
}

/* ---- EndorseCerts -------------------------------------------------------------------------- */

static int check_was(const struct pa_sku *sku, const struct pa_endorse_certs_request *req,
                     struct rpc_error *e)
{
    uint8_t was[WAS_SIZE], tag[32];
    struct ft_error err = {0};
    if (req->diversifier.len > WAS_DIVERSIFIER_SIZE)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "diversifier longer than 48 bytes");
    /* As received, as upstream's SPM does: a diversifier other than the chip's 48-byte
     * form derives another key and fails the signature check below. */
    if (req->diversifier.len == 0)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "invalid diversifier length: 0");
    if (was_derive_exact(sku->was_seed.bytes, sku->was_seed.len, req->diversifier.data,
                         req->diversifier.len, was, &err) != 0)
        return rpc_fail(e, PA_GRPC_INTERNAL, "could not derive the WAS: %s", err.message);
    struct was_hmac *h = was_hmac_new(was, &err);
    OPENSSL_cleanse(was, sizeof(was));
    for (size_t i = 0; h != NULL && i < req->bundles_count; i++)
        was_hmac_update(h, req->bundles[i].tbs.data, req->bundles[i].tbs.len, NULL);
    if (h == NULL || was_hmac_final(h, tag, &err) != 0)
        return rpc_fail(e, PA_GRPC_INTERNAL, "WAS HMAC failed");
    bool ok = req->signature.len == sizeof(tag) && pa_ct_equal(tag, req->signature.data, 32);
    if (!ok && !sku->was_disable)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "could not verify WAS signature");
    return 0;
}

static int endorse_one(const struct pa_sku *sku, const struct pa_endorse_cert_bundle *b,
                       struct pa_cert_bundle *out, struct rpc_error *e)
{
    if (!b->has_key_params || b->tbs.len == 0)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "bundle needs key_params and tbs");
    const char *label = b->key_params.key_label;
    if (b->key_params.key_case != PA_SIGNING_KEY_ECDSA_PARAMS || strcmp(label, "UDS_MLDSA") == 0 ||
        strncmp(label, "EXT_MLDSA", 9) == 0)
        return rpc_fail(e, PA_GRPC_UNIMPLEMENTED, "%s: only ECDSA keys are supported", label);
    bool dice = strcmp(label, "UDS") == 0;
    EVP_PKEY *key = dice ? sku->dice_key : sku->ext_key;
    X509 *ica = dice ? sku->dice_ica : sku->ext_ica;
    if (key == NULL || ica == NULL)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "unknown key label %s", label);
    int hash = b->key_params.ecdsa_params.hash_type;
    enum cert_sig_hash sig_hash = hash == PA_HASH_TYPE_SHA256   ? CERT_SIG_SHA256
                                  : hash == PA_HASH_TYPE_SHA384 ? CERT_SIG_SHA384
                                  : hash == PA_HASH_TYPE_SHA512 ? CERT_SIG_SHA512
                                                                : (enum cert_sig_hash) - 1;
    if ((int)sig_hash < 0)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "%s: unsupported hash type %d", label, hash);

    uint8_t cert[PA_CERT_MAX];
    size_t cert_len;
    struct ft_error err = {0};
    if (cert_endorse_tbs(key, sig_hash, b->tbs.data, b->tbs.len, cert, sizeof(cert), &cert_len,
                         &err) != 0)
        return rpc_fail(e, PA_GRPC_INTERNAL, "%s: %s", label, err.message);
    /* The result must parse and chain to the root before it leaves the service. */
    X509 *x = cert_parse_der(cert, cert_len, &err);
    X509 *chain[1] = {ica};
    int rc = x != NULL && cert_verify_chain(x, sku->root_ca, chain, 1, true, &err) == 0 ? 0 : -1;
    X509_free(x);
    if (rc != 0)
        return rpc_fail(e, PA_GRPC_INTERNAL, "%s: endorsed certificate does not verify: %s", label,
                        err.message);
    snprintf(out->key_label, sizeof(out->key_label), "%s", label);
    out->has_cert = true;
    out->cert.blob.data = malloc(cert_len);
    if (out->cert.blob.data == NULL)
        return rpc_fail(e, PA_GRPC_INTERNAL, "out of memory");
    memcpy(out->cert.blob.data, cert, cert_len);
    out->cert.blob.len = cert_len;
    return 0;
}

static int rpc_endorse_certs(struct pa_service *svc, struct pa_config *cfg, const char *session_sku,
                             const char *body, size_t len, char **out, struct rpc_error *e)
{
    struct pa_endorse_certs_request req;
    struct ft_error err = {0};
    if (pa_endorse_certs_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_endorse_certs_response resp = {0};
    json_t *msg = NULL;
    int rc = -1;
    struct pa_sku *sku = session_sku_of(svc, cfg, session_sku, req.sku, e);
    if (sku == NULL)
        goto done;
    if (req.bundles_count == 0) {
        rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "no TBS to endorse");
        goto done;
    }
    if (check_was(sku, &req, e) != 0)
        goto done;
    rc = 0;
    for (size_t i = 0; i < req.bundles_count && rc == 0; i++) {
        rc = endorse_one(sku, &req.bundles[i], &resp.certs[i], e);
        resp.certs_count = i + 1;
    }
    if (rc == 0 && pa_endorse_certs_response_to_json(&resp, &msg, &err) != 0)
        rc = rpc_fail(e, PA_GRPC_INTERNAL, "%s", err.message);
done:
    pa_endorse_certs_request_free(&req);
    pa_endorse_certs_response_free(&resp);
    return rc == 0 ? to_text(msg, out, e) : -1;
}

/* ---- RegisterDevice ---------------------------------------------------------------------- */

#define REG_CERTS_MAX 16u

/* The certificates and seeds of a registry perso TLV blob. */
struct reg_blob {
    struct perso_obj certs[REG_CERTS_MAX];
    size_t n_certs;
    size_t n_x509;
    size_t n_cwt;
    struct perso_obj seeds[REG_CERTS_MAX];
    size_t n_seeds;
};

/* The version of a registry perso blob shows in its first object: a version object means
 * V1. */
static enum perso_blob_version registry_blob_version(const struct pa_bytes *tlv)
{
    return tlv->len >= 2 && (tlv->data[0] >> 4) == PERSO_OBJ_BLOB_VERSION ? PERSO_BLOB_V1
                                                                          : PERSO_BLOB_V0;
}

static int unpack_registry_blob(const struct pa_bytes *tlv, struct reg_blob *out,
                                struct rpc_error *e)
{
    enum perso_blob_version v = registry_blob_version(tlv);
    struct perso_tlv_iter it;
    struct perso_obj obj;
    struct ft_error err = {0};
    memset(out, 0, sizeof(*out));
    if (perso_tlv_iter_init(&it, tlv->data, tlv->len, v, &err) != 0)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "perso_tlv_data: %s", err.message);
    int rc;
    while ((rc = perso_tlv_iter_next(&it, &obj, &err)) == 1) {
        if (obj.type == PERSO_OBJ_X509_CERT || obj.type == PERSO_OBJ_CWT_CERT) {
            if (out->n_certs == REG_CERTS_MAX)
                return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "perso_tlv_data: too many certs");
            out->certs[out->n_certs++] = obj;
            if (obj.type == PERSO_OBJ_X509_CERT)
                out->n_x509++;
            else
                out->n_cwt++;
        } else if (obj.type == PERSO_OBJ_DEV_SEED && out->n_seeds < REG_CERTS_MAX) {
            out->seeds[out->n_seeds++] = obj;
        }
    }
    if (rc < 0)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "perso_tlv_data: %s", err.message);
    return 0;
}

static const struct perso_obj *find_cert(const struct reg_blob *b, const char *name,
                                         enum perso_obj_type type)
{
    for (size_t i = 0; i < b->n_certs; i++) {
        if (b->certs[i].type == type && strcmp(b->certs[i].name, name) == 0)
            return &b->certs[i];
    }
    return NULL;
}

static bool is_dice_name(const char *name)
{
    return strcmp(name, "UDS") == 0 || strcmp(name, "CDI_0") == 0 || strcmp(name, "CDI_1") == 0;
}

/* Root -> DICE ICA -> UDS -> CDI_0 -> CDI_1 (up to the SKU's leaf), and every other X.509
 * cert under the ext ICA. */
static int verify_chains(const struct pa_sku *sku, const struct reg_blob *b, struct rpc_error *e)
{
    static const char *const dice[] = {"UDS", "CDI_0", "CDI_1"};
    X509 *chain[4] = {sku->dice_ica};
    size_t n_chain = 1;
    struct ft_error err = {0};
    int rc = 0;
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        const struct perso_obj *o = find_cert(b, dice[i], PERSO_OBJ_X509_CERT);
        if (o == NULL) {
            rc = rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "DICE chain: no %s certificate", dice[i]);
            break;
        }
        X509 *x = cert_parse_der(o->cert, o->cert_len, &err);
        if (x == NULL || cert_verify_chain(x, sku->root_ca, chain, n_chain, true, &err) != 0) {
            X509_free(x);
            rc = rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "DICE chain: %s: %s", dice[i], err.message);
            break;
        }
        chain[n_chain++] = x;
        if (strcmp(dice[i], sku->dice_leaf) == 0)
            break;
    }
    for (size_t i = 1; i < n_chain; i++)
        X509_free(chain[i]);
    for (size_t i = 0; i < b->n_certs && rc == 0; i++) {
        const struct perso_obj *o = &b->certs[i];
        if (o->type != PERSO_OBJ_X509_CERT || is_dice_name(o->name))
            continue;
        X509 *ica = sku->ext_ica;
        X509 *x = cert_parse_der(o->cert, o->cert_len, &err);
        if (ica == NULL || x == NULL ||
            cert_verify_chain(x, sku->root_ca, &ica, 1, false, &err) != 0)
            rc = rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "ext chain: %s: %s", o->name,
                          ica ? err.message : "the SKU has no ext CA");
        X509_free(x);
    }
    return rc;
}

/* SHA-256 over the CWT certs in cwt order, the X.509 certs in x509 order, then the
 * DevSeeds, byte-reversed as the device sends it (upstream VerifyDeviceData). */
static int check_certs_hash(const struct pa_sku *sku, const struct reg_blob *b,
                            const struct pa_small_bytes *want, struct rpc_error *e)
{
    static const uint8_t zeros[32] = {0};
    if (want->len == 32 && memcmp(want->data, zeros, 32) == 0)
        return 0; /* upstream's escape hatch: an all-zero hash skips the check */
    if (want->len != 32)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "certs_hash must be 32 bytes");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    int rc = 0;
    for (size_t i = 0; i < sku->n_cwt_hash_order && rc == 0; i++) {
        const struct perso_obj *o = find_cert(b, sku->cwt_hash_order[i], PERSO_OBJ_CWT_CERT);
        if (o == NULL)
            rc = rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "certs hash: no CWT cert %s",
                          sku->cwt_hash_order[i]);
        else
            EVP_DigestUpdate(md, o->cert, o->cert_len);
    }
    for (size_t i = 0; i < sku->n_x509_hash_order && rc == 0; i++) {
        const struct perso_obj *o = find_cert(b, sku->x509_hash_order[i], PERSO_OBJ_X509_CERT);
        if (o == NULL)
            rc = rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "certs hash: no X.509 cert %s",
                          sku->x509_hash_order[i]);
        else
            EVP_DigestUpdate(md, o->cert, o->cert_len);
    }
    for (size_t i = 0; i < b->n_seeds; i++)
        EVP_DigestUpdate(md, b->seeds[i].payload, b->seeds[i].payload_len);
    uint8_t digest[32];
    unsigned int dlen = 32;
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < 32; i++) {
        if (digest[i] != want->data[31 - i])
            return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "certs hash mismatch");
    }
    return 0;
}

static int verify_device_data(const struct pa_sku *sku, const struct pa_registration_request *req,
                              struct rpc_error *e)
{
    const struct pa_device_data *dd = &req->device_data;
    int lc = dd->device_life_cycle;
    if (lc != PA_DEVICE_LIFE_CYCLE_DEV && lc != PA_DEVICE_LIFE_CYCLE_PROD &&
        lc != PA_DEVICE_LIFE_CYCLE_PROD_END)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT,
                        "life cycle state %d is not DEV, PROD or PROD_END", lc);
    struct ft_error err = {0};
    if (!dd->has_device_id || pa_device_id_validate(&dd->device_id, &err) != 0)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "invalid device ID: %s",
                        dd->has_device_id ? err.message : "missing");
    struct reg_blob *b = malloc(sizeof(*b));
    if (b == NULL)
        return rpc_fail(e, PA_GRPC_INTERNAL, "out of memory");
    int rc = unpack_registry_blob(&dd->perso_tlv_data, b, e);
    if (rc == 0 && (b->n_x509 != sku->cert_count_x509 || b->n_cwt != sku->cert_count_cwt))
        rc = rpc_fail(e, PA_GRPC_INVALID_ARGUMENT,
                      "cert count mismatch: %zu X.509 and %zu CWT, SKU expects %u and %u",
                      b->n_x509, b->n_cwt, sku->cert_count_x509, sku->cert_count_cwt);
    if (rc == 0)
        rc = verify_chains(sku, b, e);
    if (rc == 0 && req->hash_type != PA_HASH_TYPE_SHA256)
        rc = rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "hash_type must be SHA256");
    if (rc == 0)
        rc = check_certs_hash(sku, b, &req->certs_hash, e);
    free(b);
    return rc;
}

/* Signs the marshalled DeviceData with the identity key into a RegistryRecord (JSON). */
static int make_record(const struct pa_sku *sku, const struct pa_device_data *dd,
                       struct pa_registry_record *rec, char **json, struct rpc_error *e)
{
    struct ft_error err = {0};
    if (pa_device_data_to_proto(dd, &rec->data, &err) != 0)
        return rpc_fail(e, PA_GRPC_INTERNAL, "%s", err.message);
    if (pa_device_id_to_hex_string(&dd->device_id, rec->device_id, &err) != 0)
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "%s", err.message);
    snprintf(rec->sku, sizeof(rec->sku), "%s", dd->sku);
    size_t sig_len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, sku->identity_key) == 1 &&
             EVP_DigestSign(md, NULL, &sig_len, rec->data.data, rec->data.len) == 1;
    rec->auth_signature.data = ok ? malloc(sig_len) : NULL;
    ok = ok && rec->auth_signature.data &&
         EVP_DigestSign(md, rec->auth_signature.data, &sig_len, rec->data.data, rec->data.len) == 1;
    EVP_MD_CTX_free(md);
    rec->auth_signature.len = ok ? sig_len : 0;
    unsigned char *spki = NULL;
    int spki_len = ok ? i2d_PUBKEY(sku->identity_key, &spki) : -1;
    if (spki_len > 0 && (rec->auth_pubkey.data = malloc((size_t)spki_len)) != NULL) {
        memcpy(rec->auth_pubkey.data, spki, (size_t)spki_len);
        rec->auth_pubkey.len = (size_t)spki_len;
    } else {
        ok = 0;
    }
    OPENSSL_free(spki);
    if (!ok)
        return rpc_fail(e, PA_GRPC_INTERNAL, "cannot sign the registry record");
    json_t *msg = NULL;
    if (pa_registry_record_to_json(rec, &msg, &err) != 0)
        return rpc_fail(e, PA_GRPC_INTERNAL, "%s", err.message);
    *json = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(msg);
    return *json ? 0 : rpc_fail(e, PA_GRPC_INTERNAL, "out of memory");
}

static int rpc_register_device(struct pa_service *svc, struct pa_config *cfg,
                               const char *session_sku, const char *body, size_t len,
                               char device[PA_DEVICE_ID_HEX_STRING_LEN + 1], char **out,
                               struct rpc_error *e)
{
    struct pa_registration_request req;
    struct ft_error err = {0};
    if (pa_registration_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_registry_record rec = {0};
    char *record_json = NULL;
    int rc = -1;
    struct pa_sku *sku = NULL;
    /* For the log line: the ID as the registry, the device record and the export show it
     * (no validation, as upstream's registry shim logs it before checking anything). */
    if (req.has_device_data && req.device_data.has_device_id &&
        pa_device_id_to_hex_string(&req.device_data.device_id, device, NULL) != 0)
        device[0] = '\0';
    if (!req.has_device_data)
        rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "device_data missing");
    else if ((sku = session_sku_of(svc, cfg, session_sku, req.device_data.sku, e)) != NULL &&
             verify_device_data(sku, &req, e) == 0 &&
             make_record(sku, &req.device_data, &rec, &record_json, e) == 0)
        rc = 0;
    enum pa_registry_outcome outcome = PA_REGISTRY_INSERTED;
    if (rc == 0 && pa_registry_put(svc->registry, rec.device_id, rec.sku, rec.data.data,
                                   rec.data.len, record_json, &outcome, &err) != 0)
        rc = rpc_fail(e, PA_GRPC_INTERNAL, "%s", err.message);
    if (rc == 0 && outcome == PA_REGISTRY_CONFLICT)
        rc = rpc_fail(e, PA_GRPC_ALREADY_EXISTS,
                      "device %s is already registered with different data", rec.device_id);
    free(record_json);
    pa_registry_record_free(&rec);
    pa_registration_request_free(&req);
    return rc == 0 ? to_text(json_object(), out, e) : -1;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static void respond_error(struct pa_response *out, const struct rpc_error *e)
{
    json_t *msg = pa_status_to_json(e->code, e->message);
    out->grpc_code = e->code;
    out->http_status = pa_status_http_status(e->code);
    out->body = msg ? json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    out->len = out->body ? strlen(out->body) : 0;
    json_decref(msg);
}

/* Copies `in` for a log line: bytes outside printable ASCII become \xNN, so text from a
 * caller (user_id, names quoted in messages) cannot forge lines or send escape codes. */
static void log_escape(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0' && n + 5 < cap; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", *p);
    }
    out[n] = '\0';
}

/* `device`: the device ID in the registry's form (the one the record, GET and export
 * show), "" when the call names none. */
static void log_call(struct pa_service *svc, const char *rpc, const char *user, const char *device,
                     const struct pa_response *r, const struct rpc_error *e)
{
    if (svc->log == NULL)
        return;
    char safe_user[4 * USER_MAX + 1], safe_message[4 * sizeof(e->message) + 1];
    log_escape(user, safe_user, sizeof(safe_user));
    log_escape(r->grpc_code ? e->message : "", safe_message, sizeof(safe_message));
    /* Never the body: it may hold passwords, tokens or seeds. */
    fprintf(svc->log, "%sftpa: %s user=%s%s%s -> %s%s%s\n", r->grpc_code == 0 ? "<6>" : "<4>", rpc,
            safe_user, *device ? " device=" : "", device, pa_status_code_name(r->grpc_code),
            r->grpc_code ? ": " : "", safe_message);
    fflush(svc->log);
}

static bool is_known_rpc(const char *rpc)
{
    static const char *const known[] = {"InitSession",  "CloseSession",          "EndorseCerts",
                                        "DeriveTokens", "GetStoredTokens",       "GetCaSubjectKeys",
                                        "GetCaCerts",   "GetOwnerFwBootMessage", "RegisterDevice"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(rpc, known[i]) == 0)
            return true;
    }
    return false;
}

void pa_service_call(struct pa_service *svc, const char *rpc, const char *body, size_t len,
                     const struct pa_caller *caller, struct pa_response *out)
{
    memset(out, 0, sizeof(*out));
    struct rpc_error e = {0};
    const char *who = caller->user_id && *caller->user_id ? caller->user_id
                      : caller->peer                      ? caller->peer
                                                          : "";
    /* A user_id is a session key: cutting it would let two long ids share a session. */
    char user[USER_MAX];
    char device[PA_DEVICE_ID_HEX_STRING_LEN + 1] = ""; /* RegisterDevice: the registry key */
    bool user_fits = strlen(who) < sizeof(user);
    snprintf(user, sizeof(user), "%s", who);
    char *text = NULL;
    char sku[PA_NAME_MAX];
    int rc;
    /* One configuration for the whole call, whatever a reload does meanwhile. */
    struct pa_config *cfg = config_acquire(svc);
    if (!is_known_rpc(rpc)) {
        /* gRPC answers an unknown method before any interceptor runs. */
        rc = rpc_fail(&e, PA_GRPC_UNIMPLEMENTED, "unknown method %.64s", rpc);
    } else if (!user_fits) {
        rc =
            rpc_fail(&e, PA_GRPC_INVALID_ARGUMENT, "user_id is longer than %u bytes", USER_MAX - 1);
    } else if (strcmp(rpc, "InitSession") == 0) {
        rc = rpc_init_session(svc, cfg, user, body, len, &text, &e);
    } else if (strcmp(rpc, "CloseSession") == 0) {
        rc = rpc_close_session(svc, cfg, user, caller, body, len, &text, &e);
    } else {
        pthread_mutex_lock(&svc->lock);
        rc = authorize(svc, cfg, rpc, user, caller, sku, &e);
        pthread_mutex_unlock(&svc->lock);
        if (rc != 0)
            ;
        else if (strcmp(rpc, "DeriveTokens") == 0)
            rc = rpc_derive_tokens(svc, cfg, sku, body, len, &text, &e);
        else if (strcmp(rpc, "GetCaSubjectKeys") == 0)
            rc = rpc_get_ca_subject_keys(svc, cfg, sku, body, len, &text, &e);
        else if (strcmp(rpc, "GetCaCerts") == 0)
            rc = rpc_get_ca_certs(svc, cfg, sku, body, len, &text, &e);
        else if (strcmp(rpc, "GetOwnerFwBootMessage") == 0)
            rc = rpc_get_owner_fw_boot_message(svc, cfg, sku, body, len, &text, &e);
        else if (strcmp(rpc, "EndorseCerts") == 0)
            rc = rpc_endorse_certs(svc, cfg, sku, body, len, &text, &e);
        else if (strcmp(rpc, "RegisterDevice") == 0)
            rc = rpc_register_device(svc, cfg, sku, body, len, device, &text, &e);
        else
            rc = rpc_fail(&e, PA_GRPC_UNIMPLEMENTED, "%s is not implemented", rpc);
    }
    config_release(svc, cfg);
    if (rc == 0) {
        out->http_status = 200;
        out->body = text;
        out->len = strlen(text);
    } else {
        respond_error(out, &e);
    }
    log_call(svc, rpc, user, device, out, &e);
}

/* ---- Reload ------------------------------------------------------------------------------ */

/* "a, b, c": the SKUs of a configuration not yet in force (nobody else appends to it). */
static void sku_names(const struct pa_config *cfg, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cfg->n_skus && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", cfg->skus[i]->name);
    if (cfg->n_skus == 0)
        snprintf(out, cap, "none");
}

/* One line per reload: what is in force now, or why nothing changed. */
static void log_reload(struct pa_service *svc, bool reloaded, const char *detail,
                       unsigned generation)
{
    if (svc->log == NULL)
        return;
    char safe[4 * SKU_NAMES_MAX + 1];       /* holds an escaped error message too */
    log_escape(detail, safe, sizeof(safe)); /* names and keys come from files */
    if (reloaded)
        fprintf(svc->log, "<6>ftpa: configuration reloaded: SKUs %s (generation %u)\n", safe,
                generation);
    else
        fprintf(svc->log,
                "<3>ftpa: reload refused: %s; the configuration of generation %u stays in "
                "force\n",
                safe, generation);
    fflush(svc->log);
}

int pa_service_reload(struct pa_service *svc, struct ft_error *err)
{
    char loaded[SKUS_MAX][PA_NAME_MAX];
    pthread_mutex_lock(&svc->reload_lock);
    /* The SKUs in use so far, family members loaded on first use included, load again
     * (while sku_auth.json admits them), so no session meets a SKU it had go missing. */
    pthread_mutex_lock(&svc->lock);
    const struct pa_config *current = svc->config;
    size_t n_loaded = current->n_skus;
    for (size_t i = 0; i < n_loaded; i++)
        memcpy(loaded[i], current->skus[i]->name, PA_NAME_MAX);
    unsigned generation = current->generation;
    pthread_mutex_unlock(&svc->lock);

    struct pa_config *next = NULL;
    struct ft_error why = {0}; /* logged whether or not the caller asks for it */
    if (config_load(svc->config_dir, loaded, n_loaded, &next, &why) != 0) {
        log_reload(svc, false, why.message, generation);
        pthread_mutex_unlock(&svc->reload_lock);
        if (err != NULL)
            *err = why;
        return -1;
    }
    char names[SKU_NAMES_MAX];
    sku_names(next, names, sizeof(names));
    next->generation = generation + 1;
    pthread_mutex_lock(&svc->lock);
    struct pa_config *previous = svc->config;
    svc->config = next;
    pthread_mutex_unlock(&svc->lock);
    config_release(svc, previous); /* freed here, or by the last call that still uses it */
    log_reload(svc, true, names, generation + 1);
    pthread_mutex_unlock(&svc->reload_lock);
    return 0;
}

/* ---- Registry reads: one device ID form, decoded records ---------------------------------- */

/* A device ID as a caller typed it, in the registry's form: "0x" and 64 hex digits (upper
 * case taken too); written to `out` in lower case, as the registry keys it. Any other form
 * is refused, saying which form is wanted, rather than answered "not registered". */
static int parse_device_id(const char *in, char out[PA_DEVICE_ID_HEX_STRING_LEN + 1],
                           struct rpc_error *e)
{
    size_t n = strnlen(in, PA_DEVICE_ID_HEX_STRING_LEN + 1);
    bool ok = n == PA_DEVICE_ID_HEX_STRING_LEN && in[0] == '0' && in[1] == 'x';
    for (size_t i = 2; ok && i < n; i++) {
        char c = in[i] >= 'A' && in[i] <= 'F' ? (char)(in[i] - 'A' + 'a') : in[i];
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        out[i] = c;
    }
    if (!ok) {
        char safe[4 * 80 + 1], shown[81];
        snprintf(shown, sizeof(shown), "%s", in);
        log_escape(shown, safe, sizeof(safe));
        return rpc_fail(e, PA_GRPC_INVALID_ARGUMENT,
                        "device ID \"%s\"%s is not in the registry's form: \"0x\" and 64 hex "
                        "digits (upstream DeviceIdToHexString, as the device record's device_id "
                        "shows it)",
                        safe, strlen(in) > 80 ? "..." : "");
    }
    memcpy(out, "0x", 2);
    out[n] = '\0';
    return 0;
}

static json_t *base64_json(const uint8_t *data, size_t len)
{
    size_t cap = base64_encoded_len(len) + 1;
    char *text = malloc(cap);
    json_t *v = text && base64_encode(data, len, text, cap, NULL) == 0 ? json_string(text) : NULL;
    free(text);
    return v;
}

/* One object of a registered perso blob: a certificate by name with its bytes (DER for
 * X509Cert, CBOR for CwtCert), anything else with its payload. NULL: out of memory. */
static json_t *perso_obj_json(const struct perso_obj *o)
{
    json_t *v = json_pack("{s:s}", "type", perso_obj_type_name(o->type));
    bool cert = perso_obj_type_is_cert(o->type);
    /* Cert names are printable ASCII (perso_tlv checks), so json_string takes them. */
    if (v == NULL ||
        (cert && (json_object_set_new(v, "name", json_string(o->name)) != 0 ||
                  json_object_set_new(v, "cert", base64_json(o->cert, o->cert_len)) != 0)) ||
        (!cert &&
         json_object_set_new(v, "payload", base64_json(o->payload, o->payload_len)) != 0)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* The objects of a registered perso blob, in blob order (a V1 blob's version object is
 * not listed). */
static json_t *perso_tlv_json(const struct pa_bytes *tlv, struct ft_error *err)
{
    struct perso_tlv_iter it;
    struct perso_obj obj;
    if (perso_tlv_iter_init(&it, tlv->data, tlv->len, registry_blob_version(tlv), err) != 0) {
        ft_error_prefix(err, "perso_tlv_data");
        return NULL;
    }
    json_t *list = json_array();
    int rc = list ? 0 : ft_fail(err, FT_E_NOMEM, "perso_tlv_data: out of memory");
    while (rc == 0 && (rc = perso_tlv_iter_next(&it, &obj, err)) == 1)
        rc = json_array_append_new(list, perso_obj_json(&obj)) == 0
                 ? 0
                 : ft_fail(err, FT_E_NOMEM, "perso_tlv_data: out of memory");
    if (rc < 0) {
        ft_error_prefix(err, "perso_tlv_data");
        json_decref(list);
        return NULL;
    }
    return list;
}

/* The DeviceData a record signs, for people: pa_device_data_to_json's proto3 JSON (names
 * of docs/pa-api.md §3, enums by name), except `device_id`, in the registry's form (written
 * to `device_id` too; "" when absent), and `perso_tlv_data`, as its objects. */
static json_t *device_data_view(const struct pa_bytes *data,
                                char device_id[PA_DEVICE_ID_HEX_STRING_LEN + 1],
                                struct ft_error *err)
{
    struct pa_device_data dd;
    json_t *view = NULL;
    device_id[0] = '\0';
    if (pa_device_data_from_proto(data->data, data->len, &dd, err) != 0)
        return NULL;
    int rc = pa_device_data_to_json(&dd, &view, err);
    if (rc == 0 && dd.has_device_id &&
        (pa_device_id_to_hex_string(&dd.device_id, device_id, err) != 0 ||
         json_object_set_new(view, "device_id", json_string(device_id)) != 0))
        rc = ft_error_prefix(err, "device_id");
    if (rc == 0 && dd.perso_tlv_data.len > 0) {
        json_t *objects = perso_tlv_json(&dd.perso_tlv_data, err);
        rc = objects ? json_object_set_new(view, "perso_tlv_data", objects) : -1;
    }
    pa_device_data_free(&dd);
    if (rc != 0) {
        json_decref(view);
        return NULL;
    }
    return view;
}

/* A stored record read back: *record the RegistryRecord (canonical proto3 JSON, so its
 * signature still verifies over `data`; the stored text as parsed when it is not a valid
 * RegistryRecord; NULL when not even JSON) and *device_data its DeviceData decoded (NULL
 * when it does not decode). -1 with `err` naming the problem when either failed or the
 * record's device_id is not its DeviceData's. */
static int decode_record(const char *text, json_t **record, json_t **device_data,
                         struct ft_error *err)
{
    struct pa_registry_record rec;
    char device_id[PA_DEVICE_ID_HEX_STRING_LEN + 1] = "";
    *record = *device_data = NULL;
    if (pa_registry_record_from_json(text, strlen(text), &rec, err) != 0) {
        *record = json_loads(text, 0, NULL);
        return -1;
    }
    int rc = pa_registry_record_to_json(&rec, record, err);
    if (rc == 0 && (*device_data = device_data_view(&rec.data, device_id, err)) == NULL)
        rc = ft_error_prefix(err, "ot.RegistryRecord: data");
    if (rc == 0 && strcmp(device_id, rec.device_id) != 0)
        rc = ft_fail(err, FT_E_INVALID,
                     "ot.RegistryRecord: device_id %s is not its DeviceData's (%s)", rec.device_id,
                     device_id[0] ? device_id : "none");
    pa_registry_record_free(&rec);
    return rc;
}

/* Sets `key` to a message as a JSON string; a message that is not UTF-8 becomes a fixed
 * text rather than a lost field. */
static int set_message(json_t *obj, const char *key, const char *message)
{
    json_t *v = json_string(message);
    return json_object_set_new(obj, key, v ? v : json_string("(not UTF-8)"));
}

void pa_service_device_status(struct pa_service *svc, const char *device_id,
                              struct pa_response *out)
{
    memset(out, 0, sizeof(*out));
    struct rpc_error e = {.code = PA_GRPC_INTERNAL};
    char id[PA_DEVICE_ID_HEX_STRING_LEN + 1];
    if (parse_device_id(device_id, id, &e) != 0) {
        respond_error(out, &e);
        return;
    }
    char *text = NULL;
    int64_t created = 0;
    struct ft_error err = {0};
    int found = pa_registry_get(svc->registry, id, &text, &created, &err);
    if (found < 0) {
        snprintf(e.message, sizeof(e.message), "%s", err.message);
        respond_error(out, &e);
        return;
    }
    json_t *msg = json_pack("{s:s, s:b}", "device_id", id, "registered", found == 1);
    if (msg != NULL && found == 1) {
        json_t *record = NULL, *device_data = NULL;
        struct ft_error why = {0};
        int rc = decode_record(text, &record, &device_data, &why);
        json_object_set_new(msg, "created_ms", json_integer(created));
        json_object_set_new(msg, "record", record ? record : json_null());
        if (device_data != NULL)
            json_object_set_new(msg, "device_data", device_data);
        if (rc != 0)
            set_message(msg, "decode_error", why.message);
    }
    out->http_status = found ? 200 : 404;
    out->grpc_code = found ? PA_GRPC_OK : PA_GRPC_NOT_FOUND;
    out->body = msg ? json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    out->len = out->body ? strlen(out->body) : 0;
    json_decref(msg);
    free(text);
}

struct export_ctx {
    FILE *out;
    struct pa_export_counts *counts;
};

/* One export line: the record's fields, created_ms, device_data and, for a record that
 * does not decode or agree with itself, decode_error. */
static int export_row(void *arg, const struct pa_registry_row *row, struct ft_error *err)
{
    struct export_ctx *x = arg;
    json_t *line = NULL, *device_data = NULL;
    struct ft_error why = {0};
    int rc = decode_record(row->record_json, &line, &device_data, &why);
    if (!json_is_object(line)) {
        json_decref(line);
        line = json_pack("{s:s, s:s}", "device_id", row->device_id, "sku", row->sku);
    }
    if (line == NULL) {
        json_decref(device_data);
        return ft_fail(err, FT_E_NOMEM, "registry export: out of memory at row %lld",
                       (long long)row->seq);
    }
    json_object_set_new(line, "created_ms", json_integer(row->created_ms));
    if (device_data != NULL)
        json_object_set_new(line, "device_data", device_data);
    if (rc != 0) {
        set_message(line, "decode_error", why.message);
        x->counts->undecodable++;
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return ft_fail(err, FT_E_NOMEM, "registry export: out of memory at row %lld",
                       (long long)row->seq);
    rc = fprintf(x->out, "%s\n", text) < 0
             ? ft_fail(err, FT_E_INVALID, "registry export: write failed at row %lld",
                       (long long)row->seq)
             : 0;
    free(text);
    return rc;
}

int pa_registry_export_decoded(struct pa_registry *reg, FILE *out, struct pa_export_counts *counts,
                               struct ft_error *err)
{
    struct export_ctx x = {.out = out, .counts = counts};
    memset(counts, 0, sizeof(*counts));
    if (pa_registry_each(reg, export_row, &x, &counts->records, err) != 0)
        return -1;
    if (fflush(out) != 0 || ferror(out))
        return ft_fail(err, FT_E_INVALID, "registry export: write failed");
    return 0;
}

int pa_service_export(struct pa_service *svc, FILE *out, size_t *count, struct ft_error *err)
{
    struct pa_export_counts counts;
    int rc = pa_registry_export_decoded(svc->registry, out, &counts, err);
    *count = counts.records;
    return rc;
}
