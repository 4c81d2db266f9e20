#include "pa/pa_service.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cert/endorse.h"
#include "cert/was.h"
#include "pa/pa_auth.h"
#include "pa/pa_msg.h"
#include "pa/pa_proto.h"
#include "pa/pa_registry.h"
#include "pa/pa_sku.h"
#include "wire/perso_tlv.h"

#define SESSIONS_MAX 256u
#define SKUS_MAX 32u
#define USER_MAX 128u

struct session {
    bool used;
    char user[USER_MAX];
    char token[PA_SESSION_TOKEN_SIZE];
    const struct pa_auth_entry *auth; /* methods */
    char sku[PA_NAME_MAX];
};

struct pa_service {
    char config_dir[512];
    FILE *log;
    pthread_mutex_t lock; /* sessions and SKUs */
    struct session sessions[SESSIONS_MAX];
    struct pa_sku *skus[SKUS_MAX]; /* loaded on first InitSession, kept for the process */
    size_t n_skus;
    struct pa_auth_table auth;
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

int pa_service_new(const struct pa_service_options *o, struct pa_service **out,
                   struct ft_error *err)
{
    struct pa_service *svc = calloc(1, sizeof(*svc));
    if (svc == NULL)
        return ft_fail(err, FT_E_NOMEM, "ftpa: out of memory");
    snprintf(svc->config_dir, sizeof(svc->config_dir), "%s", o->config_dir);
    svc->log = o->log;
    pthread_mutex_init(&svc->lock, NULL);
    if (pa_auth_table_load(o->config_dir, &svc->auth, err) != 0 ||
        pa_registry_open(o->db_path, &svc->registry, err) != 0) {
        pa_service_free(svc);
        return -1;
    }
    for (size_t i = 0; i < svc->auth.count; i++) {
        if (pa_bcrypt_hash_validate(svc->auth.entries[i].hash, err) != 0) {
            ft_error_prefix(err, "%s/sku_auth.json: SKU %s", o->config_dir,
                            svc->auth.entries[i].sku);
            pa_service_free(svc);
            return -1;
        }
    }
    *out = svc;
    return 0;
}

void pa_service_free(struct pa_service *svc)
{
    if (svc == NULL)
        return;
    for (size_t i = 0; i < svc->n_skus; i++) {
        pa_sku_free(svc->skus[i]);
        free(svc->skus[i]);
    }
    pa_auth_table_free(&svc->auth);
    pa_registry_close(svc->registry);
    OPENSSL_cleanse(svc->sessions, sizeof(svc->sessions));
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

static struct pa_sku *find_sku(struct pa_service *svc, const char *name)
{
    for (size_t i = 0; i < svc->n_skus; i++) {
        if (strcmp(svc->skus[i]->name, name) == 0)
            return svc->skus[i];
    }
    return NULL;
}

static struct pa_sku *load_sku(struct pa_service *svc, const char *name, struct rpc_error *e)
{
    struct pa_sku *sku = find_sku(svc, name);
    if (sku != NULL)
        return sku;
    if (svc->n_skus == SKUS_MAX) {
        rpc_fail(e, PA_GRPC_RESOURCE_EXHAUSTED, "too many SKUs loaded");
        return NULL;
    }
    sku = calloc(1, sizeof(*sku));
    struct ft_error err = {0};
    if (sku == NULL || pa_sku_load(svc->config_dir, name, sku, &err) != 0) {
        free(sku);
        rpc_fail(e, PA_GRPC_INTERNAL, "unable to load sku %s: %s", name, err.message);
        return NULL;
    }
    svc->skus[svc->n_skus++] = sku;
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
static int authorize(struct pa_service *svc, const char *rpc, const char *user,
                     const struct pa_caller *caller, char sku[PA_NAME_MAX], struct rpc_error *e)
{
    struct session *s = find_session(svc, user);
    if (s == NULL)
        return rpc_fail(e, PA_GRPC_INTERNAL, "user not found");
    if (caller->authorization == NULL)
        return rpc_fail(e, PA_GRPC_UNAUTHENTICATED, "authorization header missing");
    if (strlen(caller->authorization) != strlen(s->token) ||
        !pa_ct_equal(caller->authorization, s->token, strlen(s->token)))
        return rpc_fail(e, PA_GRPC_NOT_FOUND, "incorrect access token");
    if (strcmp(rpc, "CloseSession") != 0 && !method_allowed(s->auth, rpc))
        return rpc_fail(e, PA_GRPC_PERMISSION_DENIED, "method %s not allowed for this SKU", rpc);
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
 * A must not reach B's CA, seeds or RMA key), loaded by that InitSession. */
static struct pa_sku *loaded_sku(struct pa_service *svc, const char *session_sku, const char *name,
                                 struct rpc_error *e)
{
    if (strcmp(name, session_sku) != 0) {
        rpc_fail(e, PA_GRPC_PERMISSION_DENIED,
                 "the session was opened for SKU %s; the request names SKU %.64s", session_sku,
                 name);
        return NULL;
    }
    pthread_mutex_lock(&svc->lock);
    struct pa_sku *sku = find_sku(svc, name);
    pthread_mutex_unlock(&svc->lock);
    if (sku == NULL)
        rpc_fail(e, PA_GRPC_NOT_FOUND, "unable to find sku %s. Try calling InitSession first",
                 name);
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

static int rpc_init_session(struct pa_service *svc, const char *user, const char *body, size_t len,
                            char **out, struct rpc_error *e)
{
    struct pa_init_session_request req;
    struct ft_error err = {0};
    if (pa_init_session_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    const struct pa_auth_entry *auth = pa_auth_lookup(&svc->auth, req.sku);
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
    } else if (load_sku(svc, req.sku, e) != NULL &&
               pa_session_token(s->token, sizeof(s->token), &err) == 0) {
        s->used = true;
        snprintf(s->user, sizeof(s->user), "%s", user);
        snprintf(s->sku, sizeof(s->sku), "%s", req.sku);
        s->auth = auth;
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
static int rpc_close_session(struct pa_service *svc, const char *user,
                             const struct pa_caller *caller, const char *body, size_t len,
                             char **out, struct rpc_error *e)
{
    struct pa_close_session_request req;
    struct ft_error err = {0};
    if (pa_close_session_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    char sku[PA_NAME_MAX];
    pthread_mutex_lock(&svc->lock);
    int rc = authorize(svc, "CloseSession", user, caller, sku, e);
    if (rc == 0)
        OPENSSL_cleanse(find_session(svc, user), sizeof(struct session));
    pthread_mutex_unlock(&svc->lock);
    return rc == 0 ? to_text(json_object(), out, e) : -1;
}

/* ---- CA information -------------------------------------------------------------------- */

static int rpc_get_ca_subject_keys(struct pa_service *svc, const char *session_sku,
                                   const char *body, size_t len, char **out, struct rpc_error *e)
{
    struct pa_get_ca_subject_keys_request req;
    struct ft_error err = {0};
    if (pa_get_ca_subject_keys_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_sku *sku = loaded_sku(svc, session_sku, req.sku, e);
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

static int rpc_get_ca_certs(struct pa_service *svc, const char *session_sku, const char *body,
                            size_t len, char **out, struct rpc_error *e)
{
    struct pa_get_ca_certs_request req;
    struct ft_error err = {0};
    if (pa_get_ca_certs_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_sku *sku = loaded_sku(svc, session_sku, req.sku, e);
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

static int rpc_get_owner_fw_boot_message(struct pa_service *svc, const char *session_sku,
                                         const char *body, size_t len, char **out,
                                         struct rpc_error *e)
{
    struct pa_get_owner_fw_boot_message_request req;
    struct ft_error err = {0};
    if (pa_get_owner_fw_boot_message_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_sku *sku = loaded_sku(svc, session_sku, req.sku, e);
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

static int rpc_derive_tokens(struct pa_service *svc, const char *session_sku, const char *body,
                             size_t len, char **out, struct rpc_error *e)
{
    struct pa_derive_tokens_request req;
    struct ft_error err = {0};
    if (pa_derive_tokens_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_sku *sku = loaded_sku(svc, session_sku, req.sku, e);
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
    if (was_derive(sku->was_seed.bytes, sku->was_seed.len, req->diversifier.data,
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

static int rpc_endorse_certs(struct pa_service *svc, const char *session_sku, const char *body,
                             size_t len, char **out, struct rpc_error *e)
{
    struct pa_endorse_certs_request req;
    struct ft_error err = {0};
    if (pa_endorse_certs_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_endorse_certs_response resp = {0};
    json_t *msg = NULL;
    int rc = -1;
    struct pa_sku *sku = loaded_sku(svc, session_sku, req.sku, e);
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

static int unpack_registry_blob(const struct pa_bytes *tlv, struct reg_blob *out,
                                struct rpc_error *e)
{
    /* The blob version shows in its first object: a version object means V1. */
    enum perso_blob_version v = tlv->len >= 2 && (tlv->data[0] >> 4) == PERSO_OBJ_BLOB_VERSION
                                    ? PERSO_BLOB_V1
                                    : PERSO_BLOB_V0;
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

static int rpc_register_device(struct pa_service *svc, const char *session_sku, const char *body,
                               size_t len, char **out, struct rpc_error *e)
{
    struct pa_registration_request req;
    struct ft_error err = {0};
    if (pa_registration_request_from_json(body, len, &req, &err) != 0)
        return decode_fail(e, &err);
    struct pa_registry_record rec = {0};
    char *record_json = NULL;
    int rc = -1;
    struct pa_sku *sku = NULL;
    if (!req.has_device_data)
        rpc_fail(e, PA_GRPC_INVALID_ARGUMENT, "device_data missing");
    else if ((sku = loaded_sku(svc, session_sku, req.device_data.sku, e)) != NULL &&
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

static void log_call(struct pa_service *svc, const char *rpc, const char *user,
                     const struct pa_response *r, const struct rpc_error *e)
{
    if (svc->log == NULL)
        return;
    char safe_user[4 * USER_MAX + 1], safe_message[4 * sizeof(e->message) + 1];
    log_escape(user, safe_user, sizeof(safe_user));
    log_escape(r->grpc_code ? e->message : "", safe_message, sizeof(safe_message));
    /* Never the body: it may hold passwords, tokens or seeds. */
    fprintf(svc->log, "%sftpa: %s user=%s -> %s%s%s\n", r->grpc_code == 0 ? "<6>" : "<4>", rpc,
            safe_user, pa_status_code_name(r->grpc_code), r->grpc_code ? ": " : "", safe_message);
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
    bool user_fits = strlen(who) < sizeof(user);
    snprintf(user, sizeof(user), "%s", who);
    char *text = NULL;
    char sku[PA_NAME_MAX];
    int rc;
    if (!is_known_rpc(rpc)) {
        /* gRPC answers an unknown method before any interceptor runs. */
        rc = rpc_fail(&e, PA_GRPC_UNIMPLEMENTED, "unknown method %.64s", rpc);
    } else if (!user_fits) {
        rc =
            rpc_fail(&e, PA_GRPC_INVALID_ARGUMENT, "user_id is longer than %u bytes", USER_MAX - 1);
    } else if (strcmp(rpc, "InitSession") == 0) {
        rc = rpc_init_session(svc, user, body, len, &text, &e);
    } else if (strcmp(rpc, "CloseSession") == 0) {
        rc = rpc_close_session(svc, user, caller, body, len, &text, &e);
    } else {
        pthread_mutex_lock(&svc->lock);
        rc = authorize(svc, rpc, user, caller, sku, &e);
        pthread_mutex_unlock(&svc->lock);
        if (rc != 0)
            ;
        else if (strcmp(rpc, "DeriveTokens") == 0)
            rc = rpc_derive_tokens(svc, sku, body, len, &text, &e);
        else if (strcmp(rpc, "GetCaSubjectKeys") == 0)
            rc = rpc_get_ca_subject_keys(svc, sku, body, len, &text, &e);
        else if (strcmp(rpc, "GetCaCerts") == 0)
            rc = rpc_get_ca_certs(svc, sku, body, len, &text, &e);
        else if (strcmp(rpc, "GetOwnerFwBootMessage") == 0)
            rc = rpc_get_owner_fw_boot_message(svc, sku, body, len, &text, &e);
        else if (strcmp(rpc, "EndorseCerts") == 0)
            rc = rpc_endorse_certs(svc, sku, body, len, &text, &e);
        else if (strcmp(rpc, "RegisterDevice") == 0)
            rc = rpc_register_device(svc, sku, body, len, &text, &e);
        else
            rc = rpc_fail(&e, PA_GRPC_UNIMPLEMENTED, "%s is not implemented", rpc);
    }
    if (rc == 0) {
        out->http_status = 200;
        out->body = text;
        out->len = strlen(text);
    } else {
        respond_error(out, &e);
    }
    log_call(svc, rpc, user, out, &e);
}

void pa_service_device_status(struct pa_service *svc, const char *device_id,
                              struct pa_response *out)
{
    memset(out, 0, sizeof(*out));
    char *record = NULL;
    int64_t created = 0;
    struct ft_error err = {0};
    int found = pa_registry_get(svc->registry, device_id, &record, &created, &err);
    if (found < 0) {
        struct rpc_error e = {.code = PA_GRPC_INTERNAL};
        snprintf(e.message, sizeof(e.message), "%s", err.message);
        respond_error(out, &e);
        return;
    }
    json_t *rec = found ? json_loads(record, 0, NULL) : NULL;
    json_t *msg = json_pack("{s:s, s:b}", "device_id", device_id, "registered", found == 1);
    if (found == 1) {
        json_object_set_new(msg, "created_ms", json_integer(created));
        json_object_set_new(msg, "record", rec ? rec : json_null());
    }
    out->http_status = found ? 200 : 404;
    out->grpc_code = found ? PA_GRPC_OK : PA_GRPC_NOT_FOUND;
    out->body = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
    out->len = out->body ? strlen(out->body) : 0;
    json_decref(msg);
    free(record);
}

int pa_service_export(struct pa_service *svc, FILE *out, size_t *count, struct ft_error *err)
{
    return pa_registry_export(svc->registry, out, count, err);
}
