#include "sim/dice_certs.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "sim/der.h"

/* ------------------------------------------------------------------------------------
 * Constants. OIDs are stored as their DER content octets.
 */

/* P-256 group order n, big-endian: valid private scalars and nonces are in [1, n-1]. */
static const uint8_t k_p256_order[DICE_P256_SIZE] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

/* AlgorithmIdentifier ecdsa-with-SHA256 with absent parameters: the endorsement service
 * puts exactly these bytes outside the TBS, and parsers reject a mismatch inside. */
static const uint8_t k_ecdsa_sha256_algid[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86,
                                               0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};

/* SubjectPublicKeyInfo.algorithm: id-ecPublicKey with namedCurve prime256v1. */
static const uint8_t k_p256_spki_algid[] = {0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48,
                                            0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A,
                                            0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};

static const uint8_t k_oid_basic_constraints[] = {0x55, 0x1D, 0x13};
static const uint8_t k_oid_key_usage[] = {0x55, 0x1D, 0x0F};
static const uint8_t k_oid_subject_alt_name[] = {0x55, 0x1D, 0x11};
static const uint8_t k_oid_authority_key_id[] = {0x55, 0x1D, 0x23};
static const uint8_t k_oid_subject_key_id[] = {0x55, 0x1D, 0x0E};
/* tcg-dice-TcbInfo 2.23.133.5.4.1 */
static const uint8_t k_oid_dice_tcb_info[] = {0x67, 0x81, 0x05, 0x05, 0x04, 0x01};
/* tcg-at-tpmManufacturer / tpmModel / tpmVersion 2.23.133.2.{1,2,3} */
static const uint8_t k_oid_tpm_vendor[] = {0x67, 0x81, 0x05, 0x02, 0x01};
static const uint8_t k_oid_tpm_model[] = {0x67, 0x81, 0x05, 0x02, 0x02};
static const uint8_t k_oid_tpm_version[] = {0x67, 0x81, 0x05, 0x02, 0x03};
static const uint8_t k_oid_sha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};

/* The X.520 attribute types 2.5.4.x share the prefix 55 04. */
#define DN_OID_PREFIX_0 0x55
#define DN_OID_PREFIX_1 0x04
#define DN_OID_SERIAL_NUMBER 0x05

/* keyUsage as upstream emits it: all nine named bits present, only keyCertSign (bit 5)
 * set, so the BIT STRING is 2 bytes with 7 unused bits (03 03 07 04 00). */
static const uint8_t k_key_usage_cert_sign[] = {0x07, 0x04, 0x00};

/* Key derivation tries this many counters before giving up (each try fails with
 * probability about 2^-32, so one try is all it ever takes). */
#define DERIVE_MAX_TRIES 16
/* Likewise for RFC 6979 nonce candidates. */
#define NONCE_MAX_TRIES 16

/* ------------------------------------------------------------------------------------
 * Small crypto helpers.
 */

struct byte_span {
    const uint8_t *data;
    size_t len;
};

/* Turns the OpenSSL error queue into our error; `what` names the step that failed. */
static int fail_openssl(struct ft_error *err, enum ft_code code, const char *what)
{
    char reason[160] = "no OpenSSL error recorded";
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    return ft_fail(err, code, "%s failed: %s", what, reason);
}

static int hmac_sha256(const uint8_t *key, size_t key_len, const struct byte_span *parts,
                       size_t n_parts, uint8_t out[DICE_DIGEST_SIZE], struct ft_error *err)
{
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    int rc = -1;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac == NULL ? NULL : EVP_MAC_CTX_new(mac);
    if (ctx == NULL) {
        fail_openssl(err, FT_E_NOMEM, "HMAC-SHA256 setup");
        goto out;
    }
    if (EVP_MAC_init(ctx, key, key_len, params) != 1) {
        fail_openssl(err, FT_E_INVALID, "HMAC-SHA256 init");
        goto out;
    }
    for (size_t i = 0; i < n_parts; i++) {
        if (EVP_MAC_update(ctx, parts[i].data, parts[i].len) != 1) {
            fail_openssl(err, FT_E_INVALID, "HMAC-SHA256 update");
            goto out;
        }
    }
    size_t out_len = 0;
    if (EVP_MAC_final(ctx, out, &out_len, DICE_DIGEST_SIZE) != 1 || out_len != DICE_DIGEST_SIZE) {
        fail_openssl(err, FT_E_INVALID, "HMAC-SHA256 final");
        goto out;
    }
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

static int sha256(const uint8_t *data, size_t len, uint8_t out[DICE_DIGEST_SIZE],
                  struct ft_error *err)
{
    unsigned int out_len = 0;
    if (EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) != 1 ||
        out_len != DICE_DIGEST_SIZE)
        return fail_openssl(err, FT_E_INVALID, "SHA-256");
    return 0;
}

/* True when the big-endian scalar is in [1, n-1], i.e. usable as a key or nonce. */
static bool p256_scalar_valid(const uint8_t s[DICE_P256_SIZE])
{
    uint8_t any = 0;
    for (size_t i = 0; i < DICE_P256_SIZE; i++)
        any |= s[i];
    return any != 0 && memcmp(s, k_p256_order, DICE_P256_SIZE) < 0;
}

/* The curve and a BN scratch context, opened per operation (no shared state). */
struct p256 {
    EC_GROUP *group;
    BN_CTX *bn;
};

static int p256_open(struct p256 *c, struct ft_error *err)
{
    c->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    c->bn = BN_CTX_new();
    if (c->group == NULL || c->bn == NULL)
        return fail_openssl(err, FT_E_NOMEM, "P-256 setup");
    return 0;
}

static void p256_close(struct p256 *c)
{
    BN_CTX_free(c->bn);
    EC_GROUP_free(c->group);
}

/* Computes k*G and stores its affine x (and y, if wanted) as 32-byte big-endian. */
static int p256_mul_base(struct p256 *c, const BIGNUM *k, uint8_t x[DICE_P256_SIZE], uint8_t *y,
                         struct ft_error *err)
{
    int rc = -1;
    EC_POINT *point = EC_POINT_new(c->group);
    BN_CTX_start(c->bn);
    BIGNUM *bx = BN_CTX_get(c->bn);
    BIGNUM *by = BN_CTX_get(c->bn);
    if (point == NULL || by == NULL) {
        fail_openssl(err, FT_E_NOMEM, "P-256 point allocation");
        goto out;
    }
    if (EC_POINT_mul(c->group, point, k, NULL, NULL, c->bn) != 1 ||
        EC_POINT_get_affine_coordinates(c->group, point, bx, by, c->bn) != 1) {
        fail_openssl(err, FT_E_INVALID, "P-256 scalar multiplication");
        goto out;
    }
    if (BN_bn2binpad(bx, x, DICE_P256_SIZE) != DICE_P256_SIZE ||
        (y != NULL && BN_bn2binpad(by, y, DICE_P256_SIZE) != DICE_P256_SIZE)) {
        fail_openssl(err, FT_E_INVALID, "P-256 coordinate export");
        goto out;
    }
    rc = 0;
out:
    BN_CTX_end(c->bn);
    EC_POINT_free(point);
    return rc;
}

/* ------------------------------------------------------------------------------------
 * Keys.
 */

/* Wraps the key pair as an OpenSSL EVP_PKEY through the provider interface (the
 * non-deprecated path; EC_KEY is deprecated in OpenSSL 3). */
static int make_evp_pkey(struct dice_key *key, struct ft_error *err)
{
    uint8_t pub[1 + 2 * DICE_P256_SIZE];
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, key->x, DICE_P256_SIZE);
    memcpy(pub + 1 + DICE_P256_SIZE, key->y, DICE_P256_SIZE);

    int rc = -1;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    BIGNUM *priv = BN_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (priv == NULL || bld == NULL || BN_bin2bn(key->d, DICE_P256_SIZE, priv) == NULL) {
        fail_openssl(err, FT_E_NOMEM, "EVP_PKEY parameter setup");
        goto out;
    }
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) !=
            1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1 ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
        fail_openssl(err, FT_E_NOMEM, "EVP_PKEY parameter build");
        goto out;
    }
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &key->pkey, EVP_PKEY_KEYPAIR, params) != 1) {
        fail_openssl(err, FT_E_INVALID, "EVP_PKEY_fromdata (P-256 key pair)");
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(priv);
    return rc;
}

/* key_id = SHA-256(X || Y)[0..20), as the device computes it in OTBN keygen. */
static int compute_key_id(struct dice_key *key, struct ft_error *err)
{
    uint8_t xy[2 * DICE_P256_SIZE];
    uint8_t digest[DICE_DIGEST_SIZE];
    memcpy(xy, key->x, DICE_P256_SIZE);
    memcpy(xy + DICE_P256_SIZE, key->y, DICE_P256_SIZE);
    if (sha256(xy, sizeof(xy), digest, err) != 0)
        return -1;
    memcpy(key->key_id, digest, DICE_KEY_ID_SIZE);
    return 0;
}

static int compute_public(struct dice_key *key, struct ft_error *err)
{
    struct p256 c = {0};
    BIGNUM *d = BN_secure_new();
    int rc = -1;
    if (d == NULL || BN_bin2bn(key->d, DICE_P256_SIZE, d) == NULL) {
        fail_openssl(err, FT_E_NOMEM, "private scalar import");
        goto out;
    }
    BN_set_flags(d, BN_FLG_CONSTTIME);
    if (p256_open(&c, err) != 0 || p256_mul_base(&c, d, key->x, key->y, err) != 0)
        goto out;
    rc = 0;
out:
    p256_close(&c);
    BN_clear_free(d);
    return rc;
}

int dice_key_from_private(struct dice_key *key, const uint8_t d[DICE_P256_SIZE],
                          struct ft_error *err)
{
    memset(key, 0, sizeof(*key));
    if (!p256_scalar_valid(d))
        return ft_fail(err, FT_E_RANGE, "P-256 private scalar is 0 or not below the order n");
    memcpy(key->d, d, DICE_P256_SIZE);
    if (compute_public(key, err) != 0 || compute_key_id(key, err) != 0 ||
        make_evp_pkey(key, err) != 0) {
        dice_key_free(key);
        return -1;
    }
    return 0;
}

int dice_key_derive(struct dice_key *key, const uint8_t seed[DICE_P256_SIZE], const char *label,
                    struct ft_error *err)
{
    memset(key, 0, sizeof(*key));
    if (label == NULL || label[0] == '\0')
        return ft_fail(err, FT_E_INVALID, "key derivation label is empty");
    for (uint32_t counter = 0; counter < DERIVE_MAX_TRIES; counter++) {
        uint8_t counter_be[4] = {(uint8_t)(counter >> 24), (uint8_t)(counter >> 16),
                                 (uint8_t)(counter >> 8), (uint8_t)counter};
        struct byte_span parts[] = {{(const uint8_t *)label, strlen(label)},
                                    {counter_be, sizeof(counter_be)}};
        uint8_t candidate[DICE_P256_SIZE];
        if (hmac_sha256(seed, DICE_P256_SIZE, parts, 2, candidate, err) != 0)
            return ft_error_prefix(err, "deriving key \"%s\"", label);
        if (p256_scalar_valid(candidate)) {
            int rc = dice_key_from_private(key, candidate, err);
            OPENSSL_cleanse(candidate, sizeof(candidate));
            return rc == 0 ? 0 : ft_error_prefix(err, "deriving key \"%s\"", label);
        }
    }
    return ft_fail(err, FT_E_RANGE, "deriving key \"%s\": no valid scalar in %d tries", label,
                   DERIVE_MAX_TRIES);
}

void dice_key_free(struct dice_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    OPENSSL_cleanse(key, sizeof(*key));
}

/* ------------------------------------------------------------------------------------
 * ECDSA with RFC 6979 nonces. OpenSSL 3.0 has no deterministic ECDSA, and the device
 * model must reproduce its certificates byte for byte, hence this.
 */

/* The HMAC-DRBG state of RFC 6979 section 3.2 (K and V, both hlen = 32 bytes). */
struct rfc6979 {
    uint8_t k[DICE_DIGEST_SIZE];
    uint8_t v[DICE_DIGEST_SIZE];
};

/* K = HMAC_K(V || sep || extra...), then V = HMAC_K(V): steps d-g, and the retry step. */
static int rfc6979_mix(struct rfc6979 *st, uint8_t sep, const uint8_t *x, const uint8_t *h,
                       struct ft_error *err)
{
    struct byte_span parts[] = {{st->v, sizeof(st->v)},
                                {&sep, 1},
                                {x, x == NULL ? 0 : DICE_P256_SIZE},
                                {h, h == NULL ? 0 : DICE_P256_SIZE}};
    struct byte_span v_only = {st->v, sizeof(st->v)};
    if (hmac_sha256(st->k, sizeof(st->k), parts, 4, st->k, err) != 0 ||
        hmac_sha256(st->k, sizeof(st->k), &v_only, 1, st->v, err) != 0)
        return -1;
    return 0;
}

/* Steps b-g: seeds the DRBG with the private key x and the reduced digest h. */
static int rfc6979_init(struct rfc6979 *st, const uint8_t x[DICE_P256_SIZE],
                        const uint8_t h[DICE_P256_SIZE], struct ft_error *err)
{
    memset(st->v, 0x01, sizeof(st->v));
    memset(st->k, 0x00, sizeof(st->k));
    if (rfc6979_mix(st, 0x00, x, h, err) != 0 || rfc6979_mix(st, 0x01, x, h, err) != 0)
        return -1;
    return 0;
}

/* Step h.2: V = HMAC_K(V) is the next candidate (qlen = hlen = 256, one block). */
static int rfc6979_candidate(struct rfc6979 *st, uint8_t out[DICE_P256_SIZE], struct ft_error *err)
{
    struct byte_span v_only = {st->v, sizeof(st->v)};
    if (hmac_sha256(st->k, sizeof(st->k), &v_only, 1, st->v, err) != 0)
        return -1;
    memcpy(out, st->v, DICE_P256_SIZE);
    return 0;
}

/* r = (kG).x mod n, s = k^-1 (e + r d) mod n. Leaves r or s zero when k is unusable. */
static int ecdsa_core(struct p256 *c, const BIGNUM *d, const BIGNUM *e, BIGNUM *k, BIGNUM *r,
                      BIGNUM *s, struct ft_error *err)
{
    const BIGNUM *n = EC_GROUP_get0_order(c->group);
    uint8_t rx[DICE_P256_SIZE];
    if (p256_mul_base(c, k, rx, NULL, err) != 0)
        return -1;
    int rc = -1;
    BN_CTX_start(c->bn);
    BIGNUM *k_inv = BN_CTX_get(c->bn);
    BIGNUM *t = BN_CTX_get(c->bn);
    if (t == NULL) {
        fail_openssl(err, FT_E_NOMEM, "ECDSA scratch");
        goto out;
    }
    if (BN_bin2bn(rx, DICE_P256_SIZE, t) == NULL || BN_nnmod(r, t, n, c->bn) != 1 ||
        BN_mod_inverse(k_inv, k, n, c->bn) == NULL || BN_mod_mul(t, r, d, n, c->bn) != 1 ||
        BN_mod_add(t, t, e, n, c->bn) != 1 || BN_mod_mul(s, k_inv, t, n, c->bn) != 1) {
        fail_openssl(err, FT_E_INVALID, "ECDSA arithmetic");
        goto out;
    }
    rc = 0;
out:
    BN_CTX_end(c->bn);
    return rc;
}

/* Writes SEQ{INTEGER r, INTEGER s} (RFC 3279 Ecdsa-Sig-Value). */
static int encode_ecdsa_sig(const BIGNUM *r, const BIGNUM *s, uint8_t *out, size_t cap, size_t *len,
                            struct ft_error *err)
{
    uint8_t r_be[DICE_P256_SIZE], s_be[DICE_P256_SIZE];
    if (BN_bn2binpad(r, r_be, DICE_P256_SIZE) != DICE_P256_SIZE ||
        BN_bn2binpad(s, s_be, DICE_P256_SIZE) != DICE_P256_SIZE)
        return fail_openssl(err, FT_E_INVALID, "ECDSA signature export");
    struct der_writer w;
    der_init(&w, out, cap);
    der_begin(&w, DER_SEQUENCE);
    der_unsigned(&w, DER_INTEGER, r_be, sizeof(r_be));
    der_unsigned(&w, DER_INTEGER, s_be, sizeof(s_be));
    der_end(&w);
    return der_finish(&w, "ECDSA signature", len, err);
}

/* Big numbers for one signature, all from the BN_CTX of `c`. */
struct ecdsa_nums {
    BIGNUM *d, *e, *k, *r, *s;
};

static int ecdsa_nums_get(struct p256 *c, const struct dice_key *key,
                          const uint8_t digest[DICE_DIGEST_SIZE], struct ecdsa_nums *v,
                          struct ft_error *err)
{
    v->d = BN_CTX_get(c->bn);
    v->e = BN_CTX_get(c->bn);
    v->k = BN_CTX_get(c->bn);
    v->r = BN_CTX_get(c->bn);
    v->s = BN_CTX_get(c->bn);
    if (v->s == NULL)
        return fail_openssl(err, FT_E_NOMEM, "ECDSA scratch");
    BN_set_flags(v->d, BN_FLG_CONSTTIME);
    BN_set_flags(v->k, BN_FLG_CONSTTIME);
    /* bits2int(digest) is the digest itself (hlen == qlen); e = that mod n is also what
     * bits2octets feeds the DRBG. */
    if (BN_bin2bn(key->d, DICE_P256_SIZE, v->d) == NULL ||
        BN_bin2bn(digest, DICE_DIGEST_SIZE, v->e) == NULL ||
        BN_nnmod(v->e, v->e, EC_GROUP_get0_order(c->group), c->bn) != 1)
        return fail_openssl(err, FT_E_INVALID, "ECDSA input import");
    return 0;
}

/* Runs the nonce loop until r and s are both non-zero; RFC 6979 step h.3 on retries. */
static int ecdsa_sign_loop(struct p256 *c, const struct dice_key *key, struct ecdsa_nums *v,
                           struct ft_error *err)
{
    uint8_t e_be[DICE_P256_SIZE];
    if (BN_bn2binpad(v->e, e_be, DICE_P256_SIZE) != DICE_P256_SIZE)
        return fail_openssl(err, FT_E_INVALID, "ECDSA digest export");
    struct rfc6979 drbg;
    int rc = rfc6979_init(&drbg, key->d, e_be, err);
    for (int attempt = 0; rc == 0 && attempt < NONCE_MAX_TRIES; attempt++) {
        uint8_t k_be[DICE_P256_SIZE];
        rc = rfc6979_candidate(&drbg, k_be, err);
        if (rc == 0 && p256_scalar_valid(k_be)) {
            if (BN_bin2bn(k_be, DICE_P256_SIZE, v->k) == NULL)
                rc = fail_openssl(err, FT_E_INVALID, "ECDSA nonce import");
            else
                rc = ecdsa_core(c, v->d, v->e, v->k, v->r, v->s, err);
            if (rc == 0 && !BN_is_zero(v->r) && !BN_is_zero(v->s)) {
                OPENSSL_cleanse(&drbg, sizeof(drbg));
                return 0;
            }
        }
        if (rc == 0)
            rc = rfc6979_mix(&drbg, 0x00, NULL, NULL, err);
    }
    OPENSSL_cleanse(&drbg, sizeof(drbg));
    return rc != 0
               ? -1
               : ft_fail(err, FT_E_RANGE, "ECDSA: no usable nonce in %d tries", NONCE_MAX_TRIES);
}

int dice_sign(const struct dice_key *key, const uint8_t *msg, size_t msg_len, uint8_t *sig,
              size_t cap, size_t *sig_len, struct ft_error *err)
{
    if (key == NULL || key->pkey == NULL)
        return ft_fail(err, FT_E_INVALID, "ECDSA signing key is missing");
    uint8_t digest[DICE_DIGEST_SIZE];
    if (sha256(msg, msg_len, digest, err) != 0)
        return -1;
    struct p256 c = {0};
    int rc = p256_open(&c, err);
    if (rc == 0) {
        BN_CTX_start(c.bn);
        struct ecdsa_nums v;
        rc = ecdsa_nums_get(&c, key, digest, &v, err);
        if (rc == 0)
            rc = ecdsa_sign_loop(&c, key, &v, err);
        if (rc == 0)
            rc = encode_ecdsa_sig(v.r, v.s, sig, cap, sig_len, err);
        BN_CTX_end(c.bn);
    }
    p256_close(&c);
    return rc;
}

/* ------------------------------------------------------------------------------------
 * Names. A one-line DN "/C=US/O=OpenTitan/CN=..." becomes one RDN per attribute.
 */

struct dn_attr_type {
    const char *key;    /* spelling in the one-line DN */
    uint8_t oid_last;   /* 2.5.4.<oid_last> */
    uint8_t string_tag; /* DER string type upstream uses for it */
    size_t min_len;     /* value length bounds in bytes (X.520 upper bounds) */
    size_t max_len;
};

static const struct dn_attr_type k_dn_types[] = {
    {"C", 0x06, DER_PRINTABLE_STRING, 2, 2},
    {"ST", 0x08, DER_UTF8_STRING, 1, 128},
    {"L", 0x07, DER_UTF8_STRING, 1, 128},
    {"O", 0x0A, DER_UTF8_STRING, 1, 64},
    {"OU", 0x0B, DER_UTF8_STRING, 1, 64},
    {"CN", 0x03, DER_UTF8_STRING, 1, 64},
    {"serialNumber", DN_OID_SERIAL_NUMBER, DER_PRINTABLE_STRING, 1, 64},
};

struct dn_attr {
    const struct dn_attr_type *type;
    const char *value; /* borrowed from the DN text, not NUL-terminated */
    size_t value_len;
};

struct dn {
    struct dn_attr attrs[DICE_DN_MAX_ATTRS];
    size_t count;
};

/* Length of the valid UTF-8 sequence at s (at most `left` bytes), or 0 when it is
 * malformed, overlong, a surrogate, or a C0/C1 control character. */
static size_t utf8_char_len(const uint8_t *s, size_t left)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return (c < 0x20 || c == 0x7F) ? 0 : 1;
    size_t need;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
        need = 2;
        cp = c & 0x1Fu;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        need = 3;
        cp = c & 0x0Fu;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        need = 4;
        cp = c & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (need > left)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    /* Overlong forms, surrogates and C1 controls (U+0080..U+009F) are refused. */
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0xA0)
        return 0;
    return need;
}

/* Offset of the first byte that is not valid UTF-8 text, or `len` when all are. */
static size_t utf8_first_bad(const char *text, size_t len)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t at = 0;
    while (at < len) {
        size_t n = utf8_char_len(s + at, len - at);
        if (n == 0)
            return at;
        at += n;
    }
    return len;
}

static bool printable_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr(" '()+,-./:=?", c) != NULL);
}

/* Offset of the first character outside the PrintableString set, or `len`. */
static size_t printable_first_bad(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!printable_char(text[i]))
            return i;
    return len;
}

static const struct dn_attr_type *dn_type_lookup(const char *key, size_t key_len)
{
    for (size_t i = 0; i < sizeof(k_dn_types) / sizeof(k_dn_types[0]); i++)
        if (strlen(k_dn_types[i].key) == key_len && memcmp(k_dn_types[i].key, key, key_len) == 0)
            return &k_dn_types[i];
    return NULL;
}

/* Longest part of a component quoted back in an error message. */
#define DN_QUOTE_MAX 48

static int dn_check_value(const char *role, size_t index, const char *comp, int comp_shown,
                          const struct dn_attr_type *type, const char *value, size_t len,
                          struct ft_error *err)
{
    if (len == 0)
        return ft_fail(err, FT_E_INVALID, "%s component %zu \"%.*s\": empty value", role, index,
                       comp_shown, comp);
    if (len < type->min_len || len > type->max_len)
        return ft_fail(err, FT_E_INVALID,
                       "%s component %zu \"%.*s\": %s value is %zu bytes, allowed %zu..%zu", role,
                       index, comp_shown, comp, type->key, len, type->min_len, type->max_len);
    bool printable = type->string_tag == DER_PRINTABLE_STRING;
    size_t bad = printable ? printable_first_bad(value, len) : utf8_first_bad(value, len);
    if (bad < len)
        return ft_fail(err, FT_E_INVALID,
                       "%s component %zu \"%.*s\": byte 0x%02x at value offset %zu is not "
                       "allowed in a %s",
                       role, index, comp_shown, comp, (unsigned)(uint8_t)value[bad], bad,
                       printable ? "PrintableString" : "UTF8String without control characters");
    return 0;
}

/* Parses one "KEY=VALUE" component (not NUL-terminated, `len` bytes). */
static int dn_parse_component(const char *role, size_t index, const char *comp, size_t len,
                              struct dn_attr *attr, struct ft_error *err)
{
    int shown = (int)(len > DN_QUOTE_MAX ? DN_QUOTE_MAX : len);
    if (len == 0)
        return ft_fail(err, FT_E_INVALID, "%s component %zu is empty (stray '/')", role, index);
    const char *eq = memchr(comp, '=', len);
    if (eq == NULL)
        return ft_fail(err, FT_E_INVALID, "%s component %zu \"%.*s\": missing '='", role, index,
                       shown, comp);
    size_t key_len = (size_t)(eq - comp);
    attr->type = dn_type_lookup(comp, key_len);
    if (attr->type == NULL)
        return ft_fail(err, FT_E_INVALID,
                       "%s component %zu \"%.*s\": unknown attribute \"%.*s\" (known: C, ST, L, "
                       "O, OU, CN, serialNumber)",
                       role, index, shown, comp,
                       (int)(key_len > DN_QUOTE_MAX ? DN_QUOTE_MAX : key_len), comp);
    attr->value = eq + 1;
    attr->value_len = len - key_len - 1;
    return dn_check_value(role, index, comp, shown, attr->type, attr->value, attr->value_len, err);
}

/* Parses a one-line DN; `role` ("issuer DN", ...) starts every error message. */
static int dn_parse(const char *role, const char *text, struct dn *dn, struct ft_error *err)
{
    dn->count = 0;
    if (text == NULL)
        return ft_fail(err, FT_E_INVALID, "%s is missing", role);
    if (text[0] == '\0')
        return ft_fail(err, FT_E_INVALID, "%s is empty", role);
    if (text[0] != '/')
        return ft_fail(err, FT_E_INVALID, "%s \"%.*s\" must start with '/'", role, DN_QUOTE_MAX,
                       text);
    const char *comp = text + 1;
    for (size_t index = 1;; index++) {
        const char *slash = strchr(comp, '/');
        size_t len = slash == NULL ? strlen(comp) : (size_t)(slash - comp);
        if (dn->count == DICE_DN_MAX_ATTRS)
            return ft_fail(err, FT_E_INVALID, "%s has more than %d attributes", role,
                           DICE_DN_MAX_ATTRS);
        if (dn_parse_component(role, index, comp, len, &dn->attrs[dn->count], err) != 0)
            return -1;
        dn->count++;
        if (slash == NULL)
            return 0;
        comp = slash + 1;
    }
}

/* One AttributeTypeAndValue in its own RDN SET, as upstream lays out every Name. */
static void emit_rdn(struct der_writer *w, const uint8_t *oid, size_t oid_len, uint8_t string_tag,
                     const void *value, size_t value_len)
{
    der_begin(w, DER_SET);
    der_begin(w, DER_SEQUENCE);
    der_tlv(w, DER_OID, oid, oid_len);
    der_tlv(w, string_tag, value, value_len);
    der_end(w);
    der_end(w);
}

static void emit_dn(struct der_writer *w, const struct dn *dn)
{
    der_begin(w, DER_SEQUENCE);
    for (size_t i = 0; i < dn->count; i++) {
        const struct dn_attr *a = &dn->attrs[i];
        uint8_t oid[] = {DN_OID_PREFIX_0, DN_OID_PREFIX_1, a->type->oid_last};
        emit_rdn(w, oid, sizeof(oid), a->type->string_tag, a->value, a->value_len);
    }
    der_end(w);
}

/* Name{serialNumber = lower-case hex of key_id}: the subject of a DICE cert, and so the
 * issuer of its child. */
static void emit_key_id_name(struct der_writer *w, const uint8_t key_id[DICE_KEY_ID_SIZE])
{
    char text[2 * DICE_KEY_ID_SIZE + 1];
    /* Cannot fail: the buffer is sized for the id. */
    (void)hex_encode(key_id, DICE_KEY_ID_SIZE, text, sizeof(text), NULL);
    uint8_t oid[] = {DN_OID_PREFIX_0, DN_OID_PREFIX_1, DN_OID_SERIAL_NUMBER};
    der_begin(w, DER_SEQUENCE);
    emit_rdn(w, oid, sizeof(oid), DER_PRINTABLE_STRING, text, 2 * DICE_KEY_ID_SIZE);
    der_end(w);
}

int dice_name_encode(const char *dn_text, uint8_t *out, size_t cap, size_t *len,
                     struct ft_error *err)
{
    struct dn dn;
    if (dn_parse("DN", dn_text, &dn, err) != 0)
        return -1;
    struct der_writer w;
    der_init(&w, out, cap);
    emit_dn(&w, &dn);
    return der_finish(&w, "encoded DN", len, err);
}

/* ------------------------------------------------------------------------------------
 * Certificate templates (facts from the earlgrey_1.0.0 hjson templates).
 */

struct cert_template {
    const char *name;       /* perso TLV name */
    bool dice;              /* subject serialNumber=hex(key id), TcbInfo extension */
    bool issuer_from_dn;    /* issuer is a configured DN (else serialNumber=hex(AKI)) */
    bool ca;                /* basicConstraints cA */
    const char *not_before; /* GeneralizedTime */
    const char *not_after;
    const char *tcb_model; /* TcbInfo model; vendor is always "OpenTitan" */
    uint8_t tcb_layer;
    bool svn_from_params;   /* else the literal 0 */
    bool debug_from_params; /* else the literal false */
};

#define DICE_NOT_BEFORE "20180322235959Z"
#define DICE_NOT_AFTER "99991231235959Z"

static const struct cert_template k_templates[] = {
    [DICE_CERT_UDS] = {.name = "UDS",
                       .dice = true,
                       .issuer_from_dn = true,
                       .ca = true,
                       .not_before = DICE_NOT_BEFORE,
                       .not_after = DICE_NOT_AFTER,
                       .tcb_model = "Device",
                       .tcb_layer = 0,
                       .svn_from_params = false,
                       .debug_from_params = true},
    [DICE_CERT_CDI_0] = {.name = "CDI_0",
                         .dice = true,
                         .issuer_from_dn = false,
                         .ca = true,
                         .not_before = DICE_NOT_BEFORE,
                         .not_after = DICE_NOT_AFTER,
                         .tcb_model = "ROM_EXT",
                         .tcb_layer = 1,
                         .svn_from_params = true,
                         .debug_from_params = false},
    [DICE_CERT_CDI_1] = {.name = "CDI_1",
                         .dice = true,
                         .issuer_from_dn = false,
                         .ca = true,
                         .not_before = DICE_NOT_BEFORE,
                         .not_after = DICE_NOT_AFTER,
                         .tcb_model = "Owner",
                         .tcb_layer = 2,
                         .svn_from_params = true,
                         .debug_from_params = true},
    [DICE_CERT_TPM_EK] = {.name = "TPM EK",
                          .dice = false,
                          .issuer_from_dn = true,
                          .ca = false,
                          .not_before = "20230101000000Z",
                          .not_after = "20500101000000Z"},
};

#define TCB_VENDOR "OpenTitan"
#define TPM_DEFAULT_VENDOR "Nuvoton"
#define TPM_DEFAULT_MODEL "Ti50"
#define TPM_DEFAULT_VERSION "0.0.1"

static const struct cert_template *template_for(enum dice_cert_kind kind)
{
    if ((unsigned)kind >= sizeof(k_templates) / sizeof(k_templates[0]))
        return NULL;
    return &k_templates[kind];
}

const char *dice_cert_kind_name(enum dice_cert_kind kind)
{
    const struct cert_template *t = template_for(kind);
    return t == NULL ? "?" : t->name;
}

/* Everything dice_cert_build() needs, validated and resolved. */
struct cert_plan {
    const struct dice_cert_params *p;
    const struct cert_template *t;
    struct dn issuer;  /* when t->issuer_from_dn */
    struct dn subject; /* TPM EK */
    const char *tpm_vendor, *tpm_model, *tpm_version;
};

/* ------------------------------------------------------------------------------------
 * TBS emission. Field order and encodings follow the upstream generator
 * (sw/host/ot_certs/src/asn1/x509.rs, dice_tcb.rs).
 */

static void emit_version_v3(struct der_writer *w)
{
    static const uint8_t v3 = 2;
    der_begin(w, DER_CONTEXT_CONS(0));
    der_unsigned(w, DER_INTEGER, &v3, 1);
    der_end(w);
}

/* Upstream "tweak-msb": the top bit of the first byte is forced on, so the INTEGER is
 * always 00 + 20 bytes (02 15 00 ..) and the TBS size does not depend on the key. */
static void emit_tweaked_integer(struct der_writer *w, uint8_t tag, const uint8_t *be, size_t len)
{
    uint8_t buf[DICE_KEY_ID_SIZE]; /* the longest tweaked variable upstream has */
    if (len == 0 || len > sizeof(buf)) {
        der_unsigned(w, tag, be, len); /* not reached: callers pass 20 or 4 bytes */
        return;
    }
    memcpy(buf, be, len);
    buf[0] |= 0x80;
    der_unsigned(w, tag, buf, len);
}

static void emit_validity(struct der_writer *w, const struct cert_template *t)
{
    der_begin(w, DER_SEQUENCE);
    der_tlv(w, DER_GENERALIZED_TIME, t->not_before, strlen(t->not_before));
    der_tlv(w, DER_GENERALIZED_TIME, t->not_after, strlen(t->not_after));
    der_end(w);
}

static void emit_spki(struct der_writer *w, const struct dice_key *key)
{
    der_begin(w, DER_SEQUENCE);
    der_raw(w, k_p256_spki_algid, sizeof(k_p256_spki_algid));
    der_begin(w, DER_BIT_STRING);
    der_byte(w, 0x00); /* no unused bits */
    der_byte(w, 0x04); /* uncompressed point */
    der_raw(w, key->x, DICE_P256_SIZE);
    der_raw(w, key->y, DICE_P256_SIZE);
    der_end(w);
    der_end(w);
}

/* A BOOLEAN whose ASN.1 DEFAULT is FALSE. Upstream writes it even when FALSE (01 01 00),
 * which lenient parsers (OpenSSL, Go) accept and strict DER parsers reject; strict_der
 * omits it as X.690 11.5 requires (the change lowRISC/opentitan PR #31412 proposes). */
static void emit_default_false(struct der_writer *w, const struct cert_plan *plan, bool value)
{
    if (value || !plan->p->strict_der)
        der_boolean(w, value);
}

/* Extension ::= SEQ{extnID, critical BOOLEAN DEFAULT FALSE, OCTET STRING{value}}. */
static void ext_begin(struct der_writer *w, const struct cert_plan *plan, const uint8_t *oid,
                      size_t oid_len, bool critical)
{
    der_begin(w, DER_SEQUENCE);
    der_tlv(w, DER_OID, oid, oid_len);
    emit_default_false(w, plan, critical);
    der_begin(w, DER_OCTET_STRING);
}

static void ext_end(struct der_writer *w)
{
    der_end(w); /* OCTET STRING */
    der_end(w); /* Extension */
}

static void emit_ext_basic_constraints(struct der_writer *w, const struct cert_plan *plan)
{
    ext_begin(w, plan, k_oid_basic_constraints, sizeof(k_oid_basic_constraints), true);
    der_begin(w, DER_SEQUENCE);
    emit_default_false(w, plan, plan->t->ca); /* cA BOOLEAN DEFAULT FALSE */
    der_end(w);
    ext_end(w);
}

/* subjectAltName with one directoryName holding the three TCG TPM attributes. */
static void emit_ext_tpm_san(struct der_writer *w, const struct cert_plan *plan)
{
    ext_begin(w, plan, k_oid_subject_alt_name, sizeof(k_oid_subject_alt_name), false);
    der_begin(w, DER_SEQUENCE);
    der_begin(w, DER_CONTEXT_CONS(4));
    der_begin(w, DER_SEQUENCE);
    emit_rdn(w, k_oid_tpm_vendor, sizeof(k_oid_tpm_vendor), DER_UTF8_STRING, plan->tpm_vendor,
             strlen(plan->tpm_vendor));
    emit_rdn(w, k_oid_tpm_model, sizeof(k_oid_tpm_model), DER_UTF8_STRING, plan->tpm_model,
             strlen(plan->tpm_model));
    emit_rdn(w, k_oid_tpm_version, sizeof(k_oid_tpm_version), DER_UTF8_STRING, plan->tpm_version,
             strlen(plan->tpm_version));
    der_end(w);
    der_end(w);
    der_end(w);
    ext_end(w);
}

static void emit_ext_key_usage(struct der_writer *w, const struct cert_plan *plan)
{
    ext_begin(w, plan, k_oid_key_usage, sizeof(k_oid_key_usage), true);
    der_tlv(w, DER_BIT_STRING, k_key_usage_cert_sign, sizeof(k_key_usage_cert_sign));
    ext_end(w);
}

static void emit_ext_key_ids(struct der_writer *w, const struct cert_plan *plan)
{
    ext_begin(w, plan, k_oid_authority_key_id, sizeof(k_oid_authority_key_id), false);
    der_begin(w, DER_SEQUENCE);
    /* keyIdentifier [0] IMPLICIT */
    der_tlv(w, DER_CONTEXT(0), plan->p->auth_key_id, DICE_KEY_ID_SIZE);
    der_end(w);
    ext_end(w);

    ext_begin(w, plan, k_oid_subject_key_id, sizeof(k_oid_subject_key_id), false);
    der_tlv(w, DER_OCTET_STRING, plan->p->subject_key->key_id, DICE_KEY_ID_SIZE);
    ext_end(w);
}

/* DiceTcbInfo: vendor [0], model [1], svn [3], layer [4], fwids [6], flags [7]. */
static void emit_ext_tcb_info(struct der_writer *w, const struct cert_plan *plan)
{
    const struct cert_template *t = plan->t;
    const struct dice_cert_params *p = plan->p;
    ext_begin(w, plan, k_oid_dice_tcb_info, sizeof(k_oid_dice_tcb_info), true);
    der_begin(w, DER_SEQUENCE);
    der_tlv(w, DER_CONTEXT(0), TCB_VENDOR, strlen(TCB_VENDOR));
    der_tlv(w, DER_CONTEXT(1), t->tcb_model, strlen(t->tcb_model));
    if (t->svn_from_params) {
        /* A 4-byte big-endian variable with tweak-msb, as upstream: 83 05 00 8x xx xx xx. */
        uint8_t svn[4] = {(uint8_t)(p->security_version >> 24),
                          (uint8_t)(p->security_version >> 16), (uint8_t)(p->security_version >> 8),
                          (uint8_t)p->security_version};
        emit_tweaked_integer(w, DER_CONTEXT(3), svn, sizeof(svn));
    } else {
        der_unsigned(w, DER_CONTEXT(3), NULL, 0); /* literal 0: 83 01 00 */
    }
    der_unsigned(w, DER_CONTEXT(4), &t->tcb_layer, 1);
    der_begin(w, DER_CONTEXT_CONS(6));
    for (size_t i = 0; i < p->fw_id_count; i++) {
        der_begin(w, DER_SEQUENCE);
        der_tlv(w, DER_OID, k_oid_sha256, sizeof(k_oid_sha256));
        der_tlv(w, DER_OCTET_STRING, p->fw_ids[i], DICE_DIGEST_SIZE);
        der_end(w);
    }
    der_end(w);
    /* OperationalFlags notConfigured(0) notSecure(1) recovery(2) debug(3): 4 bits in one
     * byte, 4 unused, upstream keeps all four even when zero. */
    bool debug = t->debug_from_params && p->debug;
    uint8_t flags[2] = {0x04, debug ? 0x10 : 0x00};
    der_tlv(w, DER_CONTEXT(7), flags, sizeof(flags));
    der_end(w);
    ext_end(w);
}

static void emit_extensions(struct der_writer *w, const struct cert_plan *plan)
{
    der_begin(w, DER_CONTEXT_CONS(3));
    der_begin(w, DER_SEQUENCE);
    emit_ext_basic_constraints(w, plan);
    if (!plan->t->dice)
        emit_ext_tpm_san(w, plan);
    emit_ext_key_usage(w, plan);
    emit_ext_key_ids(w, plan);
    if (plan->t->dice)
        emit_ext_tcb_info(w, plan);
    der_end(w);
    der_end(w);
}

static void emit_tbs(struct der_writer *w, const struct cert_plan *plan)
{
    const struct dice_key *subject_key = plan->p->subject_key;
    der_begin(w, DER_SEQUENCE);
    emit_version_v3(w);
    emit_tweaked_integer(w, DER_INTEGER, subject_key->key_id, DICE_KEY_ID_SIZE);
    der_raw(w, k_ecdsa_sha256_algid, sizeof(k_ecdsa_sha256_algid));
    if (plan->t->issuer_from_dn)
        emit_dn(w, &plan->issuer);
    else
        emit_key_id_name(w, plan->p->auth_key_id);
    emit_validity(w, plan->t);
    if (plan->t->dice)
        emit_key_id_name(w, subject_key->key_id);
    else
        emit_dn(w, &plan->subject);
    emit_spki(w, subject_key);
    emit_extensions(w, plan);
    der_end(w);
}

/* ------------------------------------------------------------------------------------
 * Parameter checks: a field a kind does not use must be unset, so nothing is silently
 * ignored.
 */

static int check_keys(const struct cert_plan *plan, struct ft_error *err)
{
    const struct dice_cert_params *p = plan->p;
    const char *name = plan->t->name;
    if (p->subject_key == NULL || p->subject_key->pkey == NULL)
        return ft_fail(err, FT_E_INVALID, "%s: subject key is missing", name);
    if (p->issuer_key != NULL && p->issuer_key->pkey == NULL)
        return ft_fail(err, FT_E_INVALID, "%s: issuer key is empty", name);
    if (!plan->t->issuer_from_dn && p->issuer_key != NULL &&
        memcmp(p->issuer_key->key_id, p->auth_key_id, DICE_KEY_ID_SIZE) != 0)
        return ft_fail(err, FT_E_INVALID,
                       "%s: auth_key_id differs from the issuer key's key id; the issuer Name "
                       "and AKI would not match the signer",
                       name);
    return 0;
}

static int check_names(struct cert_plan *plan, struct ft_error *err)
{
    const struct dice_cert_params *p = plan->p;
    const char *name = plan->t->name;
    if (plan->t->issuer_from_dn) {
        if (dn_parse("issuer DN", p->issuer_dn, &plan->issuer, err) != 0)
            return ft_error_prefix(err, "%s", name);
    } else if (p->issuer_dn != NULL) {
        return ft_fail(err, FT_E_INVALID,
                       "%s: issuer_dn must be NULL; the issuer is serialNumber=<hex of "
                       "auth_key_id>",
                       name);
    }
    if (plan->t->dice) {
        if (p->subject_dn != NULL)
            return ft_fail(err, FT_E_INVALID,
                           "%s: subject_dn must be NULL; the subject is serialNumber=<hex of "
                           "the key id>",
                           name);
        return 0;
    }
    const char *subject = p->subject_dn != NULL ? p->subject_dn : DICE_TPM_EK_DEFAULT_SUBJECT;
    if (dn_parse("subject DN", subject, &plan->subject, err) != 0)
        return ft_error_prefix(err, "%s", name);
    return 0;
}

static int check_dice_fields(const struct cert_plan *plan, struct ft_error *err)
{
    const struct dice_cert_params *p = plan->p;
    const struct cert_template *t = plan->t;
    if (!t->dice) {
        if (p->fw_ids != NULL || p->fw_id_count != 0)
            return ft_fail(err, FT_E_INVALID, "%s: has no DICE TcbInfo, fw_ids must be unset",
                           t->name);
    } else if (p->fw_id_count == 0 || p->fw_id_count > DICE_MAX_FW_IDS) {
        return ft_fail(err, FT_E_RANGE, "%s: %zu fw ids, a TcbInfo takes 1..%d", t->name,
                       p->fw_id_count, DICE_MAX_FW_IDS);
    } else if (p->fw_ids == NULL) {
        return ft_fail(err, FT_E_INVALID, "%s: fw_ids is NULL but fw_id_count is %zu", t->name,
                       p->fw_id_count);
    }
    if (!t->svn_from_params && p->security_version != 0)
        return ft_fail(err, FT_E_INVALID,
                       "%s: security_version must be 0; the template has no svn variable", t->name);
    if (!t->debug_from_params && p->debug)
        return ft_fail(err, FT_E_INVALID,
                       "%s: debug must be false; the template has no debug variable", t->name);
    return 0;
}

static int check_tpm_string(const char *cert, const char *field, const char *value,
                            struct ft_error *err)
{
    size_t len = strlen(value);
    if (len > DICE_TPM_STRING_MAX)
        return ft_fail(err, FT_E_RANGE, "%s: %s is %zu bytes, at most %d allowed", cert, field, len,
                       DICE_TPM_STRING_MAX);
    size_t bad = utf8_first_bad(value, len);
    if (bad < len)
        return ft_fail(err, FT_E_INVALID,
                       "%s: %s byte 0x%02x at offset %zu is not UTF-8 text without control "
                       "characters",
                       cert, field, (unsigned)(uint8_t)value[bad], bad);
    return 0;
}

static int check_tpm_fields(struct cert_plan *plan, struct ft_error *err)
{
    const struct dice_cert_params *p = plan->p;
    const char *name = plan->t->name;
    if (plan->t->dice) {
        if (p->tpm_vendor != NULL || p->tpm_model != NULL || p->tpm_version != NULL)
            return ft_fail(err, FT_E_INVALID, "%s: tpm_vendor/model/version must be NULL", name);
        return 0;
    }
    plan->tpm_vendor = p->tpm_vendor != NULL ? p->tpm_vendor : TPM_DEFAULT_VENDOR;
    plan->tpm_model = p->tpm_model != NULL ? p->tpm_model : TPM_DEFAULT_MODEL;
    plan->tpm_version = p->tpm_version != NULL ? p->tpm_version : TPM_DEFAULT_VERSION;
    if (check_tpm_string(name, "tpm_vendor", plan->tpm_vendor, err) != 0 ||
        check_tpm_string(name, "tpm_model", plan->tpm_model, err) != 0 ||
        check_tpm_string(name, "tpm_version", plan->tpm_version, err) != 0)
        return -1;
    return 0;
}

static int plan_cert(const struct dice_cert_params *p, struct cert_plan *plan, struct ft_error *err)
{
    memset(plan, 0, sizeof(*plan));
    if (p == NULL)
        return ft_fail(err, FT_E_INVALID, "certificate parameters are missing");
    plan->p = p;
    plan->t = template_for(p->kind);
    if (plan->t == NULL)
        return ft_fail(err, FT_E_INVALID, "unknown certificate kind %d", (int)p->kind);
    if (check_keys(plan, err) != 0 || check_names(plan, err) != 0 ||
        check_dice_fields(plan, err) != 0 || check_tpm_fields(plan, err) != 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------------------------
 * Assembly.
 */

/* Upstream parsers (host get_cert_size(), device cert_x509_asn1_decode_size_header)
 * accept only a 2-byte long-form outer length. */
static int check_long_form(const char *what, const uint8_t *der, size_t len, struct ft_error *err)
{
    if (len < 4 || der[0] != DER_SEQUENCE || der[1] != 0x82)
        return ft_fail(err, FT_E_INVALID,
                       "%s is %zu bytes; upstream requires a 2-byte DER length (30 82 HH LL)", what,
                       len);
    return 0;
}

static int build_tbs(const struct cert_plan *plan, uint8_t *out, size_t cap, size_t *len,
                     struct ft_error *err)
{
    char what[32];
    snprintf(what, sizeof(what), "%s TBS", plan->t->name);
    struct der_writer w;
    der_init(&w, out, cap);
    emit_tbs(&w, plan);
    if (der_finish(&w, what, len, err) != 0)
        return -1;
    return check_long_form(what, out, *len, err);
}

/* Certificate ::= SEQ{TBS (bytes as built), AlgorithmIdentifier, BIT STRING{00, sig}}:
 * the same splice the endorsement service applies to a TBS. */
static int wrap_signed(const struct cert_plan *plan, const uint8_t *tbs, size_t tbs_len,
                       uint8_t *out, size_t cap, size_t *len, struct ft_error *err)
{
    uint8_t sig[DICE_ECDSA_SIG_MAX];
    size_t sig_len = 0;
    if (dice_sign(plan->p->issuer_key, tbs, tbs_len, sig, sizeof(sig), &sig_len, err) != 0)
        return ft_error_prefix(err, "%s: signing the TBS", plan->t->name);
    char what[32];
    snprintf(what, sizeof(what), "%s certificate", plan->t->name);
    struct der_writer w;
    der_init(&w, out, cap);
    der_begin(&w, DER_SEQUENCE);
    der_raw(&w, tbs, tbs_len);
    der_raw(&w, k_ecdsa_sha256_algid, sizeof(k_ecdsa_sha256_algid));
    der_begin(&w, DER_BIT_STRING);
    der_byte(&w, 0x00); /* no unused bits */
    der_raw(&w, sig, sig_len);
    der_end(&w);
    der_end(&w);
    if (der_finish(&w, what, len, err) != 0)
        return -1;
    return check_long_form(what, out, *len, err);
}

int dice_cert_build(const struct dice_cert_params *p, uint8_t *out, size_t cap, size_t *len,
                    struct ft_error *err)
{
    struct cert_plan plan;
    if (plan_cert(p, &plan, err) != 0)
        return -1;
    if (p->issuer_key == NULL)
        return build_tbs(&plan, out, cap, len, err);
    /* The TBS goes to a scratch buffer first so the certificate's exact size is known
     * even when `out` is too small. */
    uint8_t tbs[DICE_CERT_MAX];
    size_t tbs_len = 0;
    if (build_tbs(&plan, tbs, sizeof(tbs), &tbs_len, err) != 0)
        return -1;
    return wrap_signed(&plan, tbs, tbs_len, out, cap, len, err);
}
