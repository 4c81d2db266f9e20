/* sim/dice_certs + sim/der: deterministic keys, RFC 6979 signatures, DICE certificates
 * that OpenSSL parses, verifies and chains. */
#define _GNU_SOURCE /* memmem */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "sim/der.h"
#include "sim/dice_certs.h"
#include "testutil.h"

/* The upstream template issuer (uds.hjson, tpm_ek.hjson) and the test CA. */
#define UPSTREAM_ICA_DN "/C=US/ST=CA/O=Google/OU=Engineering/CN=Google Engineering ICA"
#define TEST_CA_DN "/C=US/O=OpenTitan/CN=ftsim Test DICE CA"

static const uint8_t k_ecdsa_sha256_algid[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86,
                                               0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};

/* ------------------------------------------------------------------------------------
 * Helpers.
 */

static void hex_to(const char *text, uint8_t *out, size_t want)
{
    size_t n = 0;
    struct ft_error err = {0};
    ck_assert_msg(hex_decode(text, strlen(text), out, want, &n, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(n, want);
}

static void derive(struct dice_key *key, uint8_t seed_byte, const char *label)
{
    uint8_t seed[DICE_P256_SIZE];
    memset(seed, seed_byte, sizeof(seed));
    struct ft_error err = {0};
    ck_assert_msg(dice_key_derive(key, seed, label, &err) == 0, "%s", err.message);
}

static void fill_digests(uint8_t (*digests)[DICE_DIGEST_SIZE], size_t n, uint8_t base)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < DICE_DIGEST_SIZE; j++)
            digests[i][j] = (uint8_t)(base + 16 * i + j);
}

static size_t build_ok(const struct dice_cert_params *p, uint8_t *out, size_t cap)
{
    size_t len = 0;
    struct ft_error err = {0};
    ck_assert_msg(dice_cert_build(p, out, cap, &len, &err) == 0, "%s", err.message);
    ck_assert_uint_ge(len, 4);
    ck_assert_uint_eq(out[0], 0x30);
    ck_assert_uint_eq(out[1], 0x82);
    ck_assert_uint_eq(((size_t)out[2] << 8 | out[3]) + 4, len);
    return len;
}

static size_t sign_ok(const struct dice_key *key, const uint8_t *msg, size_t len, uint8_t *sig)
{
    size_t sig_len = 0;
    struct ft_error err = {0};
    ck_assert_msg(dice_sign(key, msg, len, sig, DICE_ECDSA_SIG_MAX, &sig_len, &err) == 0, "%s",
                  err.message);
    return sig_len;
}

static int evp_verify(EVP_PKEY *pkey, const uint8_t *msg, size_t len, const uint8_t *sig,
                      size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
    int rc = EVP_DigestVerify(ctx, sig, sig_len, msg, len);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* The endorsement service's splice, written independently of the module:
 * 30 82 HH LL | TBS | ecdsa-with-SHA256 | 03 LL 00 sig. */
static size_t splice_cert(const uint8_t *tbs, size_t tbs_len, const uint8_t *sig, size_t sig_len,
                          uint8_t *out, size_t cap)
{
    size_t body = tbs_len + sizeof(k_ecdsa_sha256_algid) + 3 + sig_len;
    ck_assert_uint_lt(sig_len + 1, 0x80);
    ck_assert_uint_le(body + 4, cap);
    ck_assert_uint_le(body, 0xFFFF);
    size_t at = 0;
    out[at++] = 0x30;
    out[at++] = 0x82;
    out[at++] = (uint8_t)(body >> 8);
    out[at++] = (uint8_t)body;
    memcpy(out + at, tbs, tbs_len);
    at += tbs_len;
    memcpy(out + at, k_ecdsa_sha256_algid, sizeof(k_ecdsa_sha256_algid));
    at += sizeof(k_ecdsa_sha256_algid);
    out[at++] = 0x03;
    out[at++] = (uint8_t)(sig_len + 1);
    out[at++] = 0x00;
    memcpy(out + at, sig, sig_len);
    return at + sig_len;
}

/* Splits a certificate built as above into its TBS and raw signature. */
static void split_cert(const uint8_t *cert, size_t len, const uint8_t **tbs, size_t *tbs_len,
                       const uint8_t **sig, size_t *sig_len)
{
    ck_assert_uint_gt(len, 8);
    ck_assert_uint_eq(cert[4], 0x30);
    ck_assert_uint_eq(cert[5], 0x82);
    *tbs = cert + 4;
    *tbs_len = ((size_t)cert[6] << 8 | cert[7]) + 4;
    size_t at = 4 + *tbs_len;
    ck_assert_uint_le(at + sizeof(k_ecdsa_sha256_algid) + 3, len);
    ck_assert_mem_eq(cert + at, k_ecdsa_sha256_algid, sizeof(k_ecdsa_sha256_algid));
    at += sizeof(k_ecdsa_sha256_algid);
    ck_assert_uint_eq(cert[at], 0x03);
    ck_assert_uint_eq(cert[at + 2], 0x00);
    *sig_len = cert[at + 1] - 1u;
    *sig = cert + at + 3;
    ck_assert_uint_eq(at + 3 + *sig_len, len);
}

static X509 *parse_cert(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    ck_assert_msg(x != NULL, "d2i_X509 rejected the certificate");
    ck_assert_ptr_eq(p, der + len);
    return x;
}

static void name_der(const X509_NAME *name, const uint8_t **der, size_t *len)
{
    ck_assert_int_eq(X509_NAME_get0_der(name, der, len), 1);
}

/* Builds the OpenSSL X509_NAME for TEST_CA_DN the OpenSSL way. */
static X509_NAME *test_ca_name(void)
{
    X509_NAME *name = X509_NAME_new();
    ck_assert_ptr_nonnull(name);
    const char *fields[][2] = {{"C", "US"}, {"O", "OpenTitan"}, {"CN", "ftsim Test DICE CA"}};
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, fields[i][0], MBSTRING_UTF8,
                                                    (const unsigned char *)fields[i][1], -1, -1, 0),
                         1);
    return name;
}

static void add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ck_assert_ptr_nonnull(ext);
    ck_assert_int_eq(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A self-signed CA whose SKI is the dice key id, so a UDS AKI can point at it. */
static X509 *make_test_ca(const struct dice_key *ca_key)
{
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(X509_set_version(x, 2), 1);
    ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
    X509_NAME *name = test_ca_name();
    ck_assert_int_eq(X509_set_subject_name(x, name), 1);
    ck_assert_int_eq(X509_set_issuer_name(x, name), 1);
    X509_NAME_free(name);
    ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
    ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 24 * 3600));
    ck_assert_int_eq(X509_set_pubkey(x, ca_key->pkey), 1);
    add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign");
    ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
    ck_assert_ptr_nonnull(ski);
    ck_assert_int_eq(ASN1_OCTET_STRING_set(ski, ca_key->key_id, DICE_KEY_ID_SIZE), 1);
    ck_assert_int_eq(X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT),
                     1);
    ASN1_OCTET_STRING_free(ski);
    ck_assert_int_gt(X509_sign(x, ca_key->pkey, EVP_sha256()), 0);
    return x;
}

/* Verifies `leaf` against the trusted `ca` with `untrusted` intermediates; returns the
 * X509_V_* result (X509_V_OK on success). */
static int chain_verify(X509 *ca, X509 *leaf, X509 **untrusted, size_t n_untrusted,
                        unsigned long flags)
{
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    ck_assert(store != NULL && chain != NULL && ctx != NULL);
    ck_assert_int_eq(X509_STORE_add_cert(store, ca), 1);
    for (size_t i = 0; i < n_untrusted; i++)
        ck_assert_int_gt(sk_X509_push(chain, untrusted[i]), 0);
    ck_assert_int_eq(X509_STORE_CTX_init(ctx, store, leaf, chain), 1);
    X509_STORE_CTX_set_flags(ctx, flags);
    int ok = X509_verify_cert(ctx);
    int result = X509_STORE_CTX_get_error(ctx);
    ck_assert_int_eq(ok == 1, result == X509_V_OK);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(chain);
    X509_STORE_free(store);
    return result;
}

static const X509_EXTENSION *find_ext(const X509 *x, const char *oid, int *critical)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ck_assert_ptr_nonnull(obj);
    int at = X509_get_ext_by_OBJ(x, obj, -1);
    ASN1_OBJECT_free(obj);
    if (at < 0)
        return NULL;
    const X509_EXTENSION *ext = X509_get_ext(x, at);
    *critical = X509_EXTENSION_get_critical(ext);
    return ext;
}

/* A complete chain: test CA -> UDS (spliced, CA-signed TBS) -> CDI_0 -> CDI_1, plus a
 * TPM EK endorsed by the same CA. */
struct chain {
    struct dice_key ca, uds, cdi0, cdi1, tpm;
    X509 *ca_cert;
    uint8_t uds_tbs[DICE_CERT_MAX], uds_cert[DICE_CERT_MAX], cdi0_cert[DICE_CERT_MAX],
        cdi1_cert[DICE_CERT_MAX], tpm_tbs[DICE_CERT_MAX], tpm_cert[DICE_CERT_MAX];
    size_t uds_tbs_len, uds_len, cdi0_len, cdi1_len, tpm_tbs_len, tpm_len;
    uint8_t uds_fw[DICE_UDS_FW_IDS][DICE_DIGEST_SIZE];
    uint8_t cdi0_fw[DICE_CDI_0_FW_IDS][DICE_DIGEST_SIZE];
    uint8_t cdi1_fw[DICE_CDI_1_FW_IDS][DICE_DIGEST_SIZE];
};

static void chain_build(struct chain *c, uint8_t device_seed, const char *issuer_dn,
                        bool strict_der)
{
    memset(c, 0, sizeof(*c));
    derive(&c->ca, 0xCA, "test-ca");
    derive(&c->uds, device_seed, "uds");
    derive(&c->cdi0, device_seed, "cdi_0");
    derive(&c->cdi1, device_seed, "cdi_1");
    derive(&c->tpm, device_seed, "tpm_ek");
    c->ca_cert = make_test_ca(&c->ca);
    fill_digests(c->uds_fw, DICE_UDS_FW_IDS, 0x10);
    fill_digests(c->cdi0_fw, DICE_CDI_0_FW_IDS, 0x50);
    fill_digests(c->cdi1_fw, DICE_CDI_1_FW_IDS, 0x90);

    struct dice_cert_params uds = {.kind = DICE_CERT_UDS,
                                   .subject_key = &c->uds,
                                   .strict_der = strict_der,
                                   .issuer_dn = issuer_dn,
                                   .fw_ids = c->uds_fw,
                                   .fw_id_count = DICE_UDS_FW_IDS,
                                   .debug = true};
    memcpy(uds.auth_key_id, c->ca.key_id, DICE_KEY_ID_SIZE);
    c->uds_tbs_len = build_ok(&uds, c->uds_tbs, sizeof(c->uds_tbs));
    uint8_t sig[DICE_ECDSA_SIG_MAX];
    size_t sig_len = sign_ok(&c->ca, c->uds_tbs, c->uds_tbs_len, sig);
    c->uds_len =
        splice_cert(c->uds_tbs, c->uds_tbs_len, sig, sig_len, c->uds_cert, sizeof(c->uds_cert));

    struct dice_cert_params cdi0 = {.kind = DICE_CERT_CDI_0,
                                    .subject_key = &c->cdi0,
                                    .strict_der = strict_der,
                                    .issuer_key = &c->uds,
                                    .fw_ids = c->cdi0_fw,
                                    .fw_id_count = DICE_CDI_0_FW_IDS,
                                    .security_version = 3};
    memcpy(cdi0.auth_key_id, c->uds.key_id, DICE_KEY_ID_SIZE);
    c->cdi0_len = build_ok(&cdi0, c->cdi0_cert, sizeof(c->cdi0_cert));

    struct dice_cert_params cdi1 = {.kind = DICE_CERT_CDI_1,
                                    .subject_key = &c->cdi1,
                                    .strict_der = strict_der,
                                    .issuer_key = &c->cdi0,
                                    .fw_ids = c->cdi1_fw,
                                    .fw_id_count = DICE_CDI_1_FW_IDS,
                                    .security_version = 0x01020304};
    memcpy(cdi1.auth_key_id, c->cdi0.key_id, DICE_KEY_ID_SIZE);
    c->cdi1_len = build_ok(&cdi1, c->cdi1_cert, sizeof(c->cdi1_cert));

    struct dice_cert_params tpm = {.kind = DICE_CERT_TPM_EK,
                                   .subject_key = &c->tpm,
                                   .issuer_dn = issuer_dn,
                                   .strict_der = strict_der};
    memcpy(tpm.auth_key_id, c->ca.key_id, DICE_KEY_ID_SIZE);
    c->tpm_tbs_len = build_ok(&tpm, c->tpm_tbs, sizeof(c->tpm_tbs));
    sig_len = sign_ok(&c->ca, c->tpm_tbs, c->tpm_tbs_len, sig);
    c->tpm_len =
        splice_cert(c->tpm_tbs, c->tpm_tbs_len, sig, sig_len, c->tpm_cert, sizeof(c->tpm_cert));
}

static void chain_free(struct chain *c)
{
    X509_free(c->ca_cert);
    dice_key_free(&c->ca);
    dice_key_free(&c->uds);
    dice_key_free(&c->cdi0);
    dice_key_free(&c->cdi1);
    dice_key_free(&c->tpm);
}

/* ------------------------------------------------------------------------------------
 * DER writer.
 */

START_TEST(der_length_forms)
{
    static uint8_t content[300];
    const size_t sizes[] = {0, 0x7F, 0x80, 0xFF, 0x100, 300};
    const uint8_t headers[][4] = {{0x30, 0x00},
                                  {0x30, 0x7F},
                                  {0x30, 0x81, 0x80},
                                  {0x30, 0x81, 0xFF},
                                  {0x30, 0x82, 0x01, 0x00},
                                  {0x30, 0x82, 0x01, 0x2C}};
    const size_t header_len[] = {2, 2, 3, 3, 4, 4};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (size_t j = 0; j < sizes[i]; j++)
            content[j] = (uint8_t)(j + 1);
        uint8_t out[400];
        struct der_writer w;
        der_init(&w, out, sizeof(out));
        der_begin(&w, DER_SEQUENCE);
        der_raw(&w, content, sizes[i]);
        der_end(&w);
        size_t len = 0;
        ck_assert_int_eq(der_finish(&w, "test", &len, NULL), 0);
        ck_assert_uint_eq(len, header_len[i] + sizes[i]);
        ck_assert_mem_eq(out, headers[i], header_len[i]);
        if (sizes[i] > 0)
            ck_assert_mem_eq(out + header_len[i], content, sizes[i]);
    }
}
END_TEST

START_TEST(der_nested_and_integers)
{
    uint8_t out[64];
    struct der_writer w;
    der_init(&w, out, sizeof(out));
    der_begin(&w, DER_SEQUENCE);
    der_unsigned(&w, DER_INTEGER, NULL, 0);
    const uint8_t small[] = {0x00, 0x00, 0x7F};
    der_unsigned(&w, DER_INTEGER, small, sizeof(small));
    const uint8_t high[] = {0x80, 0x01};
    der_unsigned(&w, DER_CONTEXT(3), high, sizeof(high));
    der_begin(&w, DER_OCTET_STRING);
    der_boolean(&w, true);
    der_boolean(&w, false);
    der_end(&w);
    der_end(&w);
    size_t len = 0;
    ck_assert_int_eq(der_finish(&w, "test", &len, NULL), 0);
    const uint8_t want[] = {0x30, 0x13, 0x02, 0x01, 0x00, 0x02, 0x01, 0x7F, 0x83, 0x03, 0x00,
                            0x80, 0x01, 0x04, 0x06, 0x01, 0x01, 0xFF, 0x01, 0x01, 0x00};
    ck_assert_uint_eq(len, sizeof(want));
    ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(der_errors)
{
    uint8_t out[8];
    struct der_writer w;
    struct ft_error err = {0};
    size_t len = 0;

    der_init(&w, out, sizeof(out));
    der_begin(&w, DER_SEQUENCE);
    uint8_t big[200] = {0};
    der_raw(&w, big, sizeof(big));
    der_end(&w);
    ck_assert_int_eq(der_finish(&w, "blob", &len, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "blob needs 203 bytes, buffer holds 8");

    der_init(&w, out, sizeof(out));
    der_begin(&w, DER_SEQUENCE);
    ck_assert_int_eq(der_finish(&w, "blob", &len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "1 element(s) left open");

    der_init(&w, out, sizeof(out));
    der_end(&w);
    ck_assert_int_eq(der_finish(&w, "blob", &len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "without a matching der_begin");

    der_init(&w, NULL, 0);
    for (int i = 0; i <= DER_MAX_DEPTH; i++)
        der_begin(&w, DER_SEQUENCE);
    ck_assert_int_eq(der_finish(&w, "blob", &len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "nested deeper");
}
END_TEST

/* ------------------------------------------------------------------------------------
 * Keys and signatures.
 */

/* RFC 6979 appendix A.2.5: P-256, SHA-256, messages "sample" and "test". */
START_TEST(rfc6979_p256_vectors)
{
    uint8_t d[32], ux[32], uy[32];
    hex_to("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721", d, 32);
    hex_to("60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6", ux, 32);
    hex_to("7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299", uy, 32);
    struct dice_key key = {0};
    struct ft_error err = {0};
    ck_assert_msg(dice_key_from_private(&key, d, &err) == 0, "%s", err.message);
    ck_assert_mem_eq(key.x, ux, 32);
    ck_assert_mem_eq(key.y, uy, 32);

    const struct {
        const char *msg, *r, *s;
    } vectors[] = {
        {"sample", "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716",
         "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"},
        {"test", "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367",
         "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083"},
    };
    for (size_t i = 0; i < 2; i++) {
        uint8_t r[32], s[32];
        hex_to(vectors[i].r, r, 32);
        hex_to(vectors[i].s, s, 32);
        /* Expected DER: both r's have the top bit set (00 pad); the second s does not. */
        uint8_t want[72];
        size_t at = 0, r_pad = (r[0] & 0x80) ? 1 : 0, s_pad = (s[0] & 0x80) ? 1 : 0;
        want[at++] = 0x30;
        want[at++] = (uint8_t)(4 + 64 + r_pad + s_pad);
        want[at++] = 0x02;
        want[at++] = (uint8_t)(32 + r_pad);
        if (r_pad)
            want[at++] = 0;
        memcpy(want + at, r, 32);
        at += 32;
        want[at++] = 0x02;
        want[at++] = (uint8_t)(32 + s_pad);
        if (s_pad)
            want[at++] = 0;
        memcpy(want + at, s, 32);
        at += 32;

        uint8_t sig[DICE_ECDSA_SIG_MAX];
        const uint8_t *msg = (const uint8_t *)vectors[i].msg;
        size_t sig_len = sign_ok(&key, msg, strlen(vectors[i].msg), sig);
        ck_assert_uint_eq(sig_len, at);
        ck_assert_mem_eq(sig, want, at);
        ck_assert_int_eq(evp_verify(key.pkey, msg, strlen(vectors[i].msg), sig, sig_len), 1);
    }
    dice_key_free(&key);
}
END_TEST

START_TEST(key_derivation_is_deterministic)
{
    struct dice_key a = {0}, b = {0}, other_seed = {0}, other_label = {0};
    derive(&a, 0x11, "uds");
    derive(&b, 0x11, "uds");
    derive(&other_seed, 0x12, "uds");
    derive(&other_label, 0x11, "cdi_0");
    ck_assert_mem_eq(a.d, b.d, 32);
    ck_assert_mem_eq(a.x, b.x, 32);
    ck_assert_mem_eq(a.y, b.y, 32);
    ck_assert_mem_eq(a.key_id, b.key_id, DICE_KEY_ID_SIZE);
    ck_assert_int_ne(memcmp(a.d, other_seed.d, 32), 0);
    ck_assert_int_ne(memcmp(a.key_id, other_seed.key_id, DICE_KEY_ID_SIZE), 0);
    ck_assert_int_ne(memcmp(a.d, other_label.d, 32), 0);

    /* Same key, same message: same signature bytes. */
    const uint8_t msg[] = "ftsim determinism";
    uint8_t s1[DICE_ECDSA_SIG_MAX], s2[DICE_ECDSA_SIG_MAX];
    size_t n1 = sign_ok(&a, msg, sizeof(msg), s1);
    size_t n2 = sign_ok(&b, msg, sizeof(msg), s2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(s1, s2, n1);
    dice_key_free(&a);
    dice_key_free(&b);
    dice_key_free(&other_seed);
    dice_key_free(&other_label);
    dice_key_free(&a); /* a second free is harmless */
}
END_TEST

START_TEST(key_fields_agree_with_openssl)
{
    struct dice_key k = {0};
    derive(&k, 0x42, "uds");
    /* key_id = SHA-256(X || Y)[0..20) */
    uint8_t xy[64], digest[32];
    memcpy(xy, k.x, 32);
    memcpy(xy + 32, k.y, 32);
    unsigned int dlen = 0;
    ck_assert_int_eq(EVP_Digest(xy, sizeof(xy), digest, &dlen, EVP_sha256(), NULL), 1);
    ck_assert_mem_eq(k.key_id, digest, DICE_KEY_ID_SIZE);

    uint8_t pub[65];
    size_t pub_len = 0;
    ck_assert_int_eq(EVP_PKEY_get_octet_string_param(k.pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                                     sizeof(pub), &pub_len),
                     1);
    ck_assert_uint_eq(pub_len, 65);
    ck_assert_uint_eq(pub[0], 0x04);
    ck_assert_mem_eq(pub + 1, k.x, 32);
    ck_assert_mem_eq(pub + 33, k.y, 32);

    BIGNUM *priv = NULL;
    ck_assert_int_eq(EVP_PKEY_get_bn_param(k.pkey, OSSL_PKEY_PARAM_PRIV_KEY, &priv), 1);
    uint8_t d[32];
    ck_assert_int_eq(BN_bn2binpad(priv, d, 32), 32);
    ck_assert_mem_eq(d, k.d, 32);
    BN_clear_free(priv);
    ck_assert_int_eq(EVP_PKEY_get_bits(k.pkey), 256);
    dice_key_free(&k);
}
END_TEST

START_TEST(key_rejects_bad_input)
{
    struct dice_key k = {0};
    struct ft_error err = {0};
    uint8_t d[32] = {0};
    ck_assert_int_eq(dice_key_from_private(&k, d, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "order n");
    ck_assert_ptr_null(k.pkey);
    uint8_t n[32];
    hex_to("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", n, 32);
    ck_assert_int_eq(dice_key_from_private(&k, n, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "order n");
    n[31] -= 1; /* n - 1 is the largest valid scalar */
    ck_assert_msg(dice_key_from_private(&k, n, &err) == 0, "%s", err.message);
    dice_key_free(&k);

    uint8_t seed[32] = {1};
    ck_assert_int_eq(dice_key_derive(&k, seed, "", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "label is empty");
    ck_assert_int_eq(dice_key_derive(&k, seed, NULL, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "label is empty");

    uint8_t sig[8];
    size_t sig_len = 0;
    derive(&k, 0x01, "x");
    ck_assert_int_eq(dice_sign(&k, seed, sizeof(seed), sig, sizeof(sig), &sig_len, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "ECDSA signature needs");
    dice_key_free(&k);
    ck_assert_int_eq(dice_sign(&k, seed, sizeof(seed), sig, sizeof(sig), &sig_len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "signing key is missing");
}
END_TEST

START_TEST(signatures_verify_with_openssl)
{
    struct dice_key k = {0};
    derive(&k, 0x33, "signer");
    uint64_t rng = 0x1234567;
    for (int i = 0; i < 48; i++) {
        uint8_t msg[300];
        size_t len = test_rand(&rng) % sizeof(msg);
        for (size_t j = 0; j < len; j++)
            msg[j] = (uint8_t)test_rand(&rng);
        uint8_t sig[DICE_ECDSA_SIG_MAX];
        size_t sig_len = sign_ok(&k, msg, len, sig);
        ck_assert_uint_ge(sig_len, 8);
        ck_assert_int_eq(evp_verify(k.pkey, msg, len, sig, sig_len), 1);
        msg[len] = 0x5A; /* a different message must not verify */
        ck_assert_int_ne(evp_verify(k.pkey, msg, len + 1, sig, sig_len), 1);
    }
    dice_key_free(&k);
}
END_TEST

/* ------------------------------------------------------------------------------------
 * Names.
 */

START_TEST(dn_encoding_matches_openssl)
{
    uint8_t out[256];
    size_t len = 0;
    struct ft_error err = {0};
    ck_assert_msg(dice_name_encode(TEST_CA_DN, out, sizeof(out), &len, &err) == 0, "%s",
                  err.message);
    X509_NAME *name = test_ca_name();
    const uint8_t *der;
    size_t der_len;
    name_der(name, &der, &der_len);
    ck_assert_uint_eq(len, der_len);
    ck_assert_mem_eq(out, der, len);
    X509_NAME_free(name);

    /* Every supported attribute, in an order OpenSSL keeps as given. */
    const char *dn = "/C=DE/ST=Bayern/L=M\xc3\xbcnchen/O=Org, Inc./OU=Unit/CN=Name with "
                     "spaces/serialNumber=0123abc";
    ck_assert_msg(dice_name_encode(dn, out, sizeof(out), &len, &err) == 0, "%s", err.message);
    const unsigned char *p = out;
    X509_NAME *parsed = d2i_X509_NAME(NULL, &p, (long)len);
    ck_assert_ptr_nonnull(parsed);
    ck_assert_int_eq(X509_NAME_entry_count(parsed), 7);
    char line[256];
    X509_NAME_oneline(parsed, line, sizeof(line));
    ck_assert_str_eq(line, "/C=DE/ST=Bayern/L=M\\xC3\\xBCnchen/O=Org, Inc./OU=Unit/CN=Name "
                           "with spaces/serialNumber=0123abc");
    const int types[] = {V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING, V_ASN1_UTF8STRING,
                         V_ASN1_UTF8STRING,      V_ASN1_UTF8STRING, V_ASN1_UTF8STRING,
                         V_ASN1_PRINTABLESTRING};
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(parsed, i))),
                         types[i]);
    X509_NAME_free(parsed);
}
END_TEST

START_TEST(dn_rejects_malformed)
{
    const struct {
        const char *dn, *needle;
    } cases[] = {
        {"", "DN is empty"},
        {"C=US/O=X", "must start with '/'"},
        {"/", "component 1 is empty"},
        {"/C=US//CN=x", "component 2 is empty"},
        {"/C=US/", "component 2 is empty"},
        {"/C=US/CN", "component 2 \"CN\": missing '='"},
        {"/C=US/XX=foo", "unknown attribute \"XX\""},
        {"/cn=lower", "unknown attribute \"cn\""},
        {"/C=US/O=", "component 2 \"O=\": empty value"},
        {"/C=USA", "C value is 3 bytes, allowed 2..2"},
        {"/C=U$", "byte 0x24 at value offset 1 is not allowed in a PrintableString"},
        {"/serialNumber=ab_cd", "byte 0x5f at value offset 2"},
        {"/CN=a\tb", "byte 0x09 at value offset 1"},
        {"/CN=bad\xc3", "byte 0xc3 at value offset 3"},
        {"/CN=\xc0\xaf", "byte 0xc0 at value offset 0"},
        {"/CN=0123456789012345678901234567890123456789012345678901234567890123456789",
         "CN value is 70 bytes, allowed 1..64"},
        {"/CN=1/CN=2/CN=3/CN=4/CN=5/CN=6/CN=7/CN=8/CN=9", "more than 8 attributes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t out[512];
        size_t len = 0;
        struct ft_error err = {0};
        ck_assert_msg(dice_name_encode(cases[i].dn, out, sizeof(out), &len, &err) == -1,
                      "accepted \"%s\"", cases[i].dn);
        ck_assert_error(err, FT_E_INVALID, cases[i].needle);
    }
    struct ft_error err = {0};
    size_t len = 0;
    ck_assert_int_eq(dice_name_encode(NULL, NULL, 0, &len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "DN is missing");

    /* The error names the certificate and the DN role too. */
    struct dice_key k = {0};
    derive(&k, 1, "uds");
    uint8_t fw[1][DICE_DIGEST_SIZE] = {{0}};
    struct dice_cert_params p = {.kind = DICE_CERT_UDS,
                                 .subject_key = &k,
                                 .issuer_dn = "/C=US/Org=X",
                                 .fw_ids = fw,
                                 .fw_id_count = 1};
    uint8_t out[DICE_CERT_MAX];
    ck_assert_int_eq(dice_cert_build(&p, out, sizeof(out), &len, &err), -1);
    ck_assert_error(err, FT_E_INVALID,
                    "UDS: issuer DN component 2 \"Org=X\": unknown attribute \"Org\"");
    p.kind = DICE_CERT_TPM_EK;
    p.issuer_dn = TEST_CA_DN;
    p.fw_ids = NULL;
    p.fw_id_count = 0;
    p.subject_dn = "/CN=x/";
    ck_assert_int_eq(dice_cert_build(&p, out, sizeof(out), &len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "TPM EK: subject DN component 2 is empty");
    dice_key_free(&k);
}
END_TEST

START_TEST(dn_capacity)
{
    uint8_t out[16];
    size_t len = 0;
    struct ft_error err = {0};
    ck_assert_int_eq(dice_name_encode(TEST_CA_DN, out, sizeof(out), &len, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "buffer holds 16");
    ck_assert_int_eq(dice_name_encode(TEST_CA_DN, NULL, 0, &len, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "encoded DN needs");
}
END_TEST

/* ------------------------------------------------------------------------------------
 * Certificates.
 */

/* Fixed offsets of a TBS whose issuer Name starts right after the signature AlgId:
 * 30 82 HH LL | A0 03 02 01 02 | 02 15 00 <20> | 30 0A ... */
#define TBS_SERIAL_AT 9
#define TBS_ALGID_AT (TBS_SERIAL_AT + 23)
#define TBS_ISSUER_AT (TBS_ALGID_AT + 12)

START_TEST(uds_tbs_layout)
{
    struct chain c;
    chain_build(&c, 0x21, TEST_CA_DN, false);
    const uint8_t *tbs = c.uds_tbs;
    const uint8_t version[] = {0xA0, 0x03, 0x02, 0x01, 0x02};
    ck_assert_mem_eq(tbs + 4, version, sizeof(version));
    const uint8_t serial_hdr[] = {0x02, 0x15, 0x00};
    ck_assert_mem_eq(tbs + TBS_SERIAL_AT, serial_hdr, 3);
    ck_assert_uint_eq(tbs[TBS_SERIAL_AT + 3], c.uds.key_id[0] | 0x80);
    ck_assert_mem_eq(tbs + TBS_SERIAL_AT + 4, c.uds.key_id + 1, DICE_KEY_ID_SIZE - 1);
    ck_assert_mem_eq(tbs + TBS_ALGID_AT, k_ecdsa_sha256_algid, sizeof(k_ecdsa_sha256_algid));

    /* Issuer Name bytes: exactly the configured DN, exactly what OpenSSL builds. */
    uint8_t dn[256];
    size_t dn_len = 0;
    ck_assert_int_eq(dice_name_encode(TEST_CA_DN, dn, sizeof(dn), &dn_len, NULL), 0);
    ck_assert_mem_eq(tbs + TBS_ISSUER_AT, dn, dn_len);
    const uint8_t *ca_subject;
    size_t ca_subject_len;
    name_der(X509_get_subject_name(c.ca_cert), &ca_subject, &ca_subject_len);
    ck_assert_uint_eq(ca_subject_len, dn_len);
    ck_assert_mem_eq(ca_subject, dn, dn_len);

    /* The same TBS with the upstream ICA DN has the size the reference estimates. */
    struct chain up;
    chain_build(&up, 0x21, UPSTREAM_ICA_DN, false);
    ck_assert_uint_eq(up.uds_tbs_len, 676);
    ck_assert_uint_eq(up.uds_tbs_len - c.uds_tbs_len, 100 - dn_len);
    chain_free(&up);
    chain_free(&c);
}
END_TEST

START_TEST(uds_cert_fields)
{
    struct chain c;
    chain_build(&c, 0x22, TEST_CA_DN, false);
    X509 *x = parse_cert(c.uds_cert, c.uds_len);

    /* serial = key id with the top bit forced on */
    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    uint8_t serial_be[DICE_KEY_ID_SIZE], tweaked[DICE_KEY_ID_SIZE];
    ck_assert_int_eq(BN_bn2binpad(serial, serial_be, sizeof(serial_be)), DICE_KEY_ID_SIZE);
    memcpy(tweaked, c.uds.key_id, DICE_KEY_ID_SIZE);
    tweaked[0] |= 0x80;
    ck_assert_mem_eq(serial_be, tweaked, DICE_KEY_ID_SIZE);
    BN_free(serial);

    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
    ck_assert_ptr_nonnull(ski);
    ck_assert_int_eq(ASN1_STRING_length(ski), DICE_KEY_ID_SIZE);
    ck_assert_mem_eq(ASN1_STRING_get0_data(ski), c.uds.key_id, DICE_KEY_ID_SIZE);
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
    ck_assert_ptr_nonnull(aki);
    ck_assert_mem_eq(ASN1_STRING_get0_data(aki), c.ca.key_id, DICE_KEY_ID_SIZE);

    /* subject = serialNumber: lower-case hex of the (untweaked) key id */
    char hex[2 * DICE_KEY_ID_SIZE + 1];
    ck_assert_int_eq(hex_encode(c.uds.key_id, DICE_KEY_ID_SIZE, hex, sizeof(hex), NULL), 0);
    X509_NAME *subject = X509_get_subject_name(x);
    ck_assert_int_eq(X509_NAME_entry_count(subject), 1);
    const ASN1_STRING *sn = X509_NAME_ENTRY_get_data(
        X509_NAME_get_entry(subject, X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1)));
    ck_assert_int_eq(ASN1_STRING_type(sn), V_ASN1_PRINTABLESTRING);
    ck_assert_int_eq(ASN1_STRING_length(sn), 40);
    ck_assert_mem_eq(ASN1_STRING_get0_data(sn), hex, 40);

    ck_assert_int_eq(ASN1_STRING_type(X509_get0_notBefore(x)), V_ASN1_GENERALIZEDTIME);
    ck_assert_mem_eq(ASN1_STRING_get0_data(X509_get0_notBefore(x)), "20180322235959Z", 15);
    ck_assert_int_eq(ASN1_STRING_type(X509_get0_notAfter(x)), V_ASN1_GENERALIZEDTIME);
    ck_assert_mem_eq(ASN1_STRING_get0_data(X509_get0_notAfter(x)), "99991231235959Z", 15);

    ck_assert(X509_get_extension_flags(x) & EXFLAG_CA);
    ck_assert_uint_eq(X509_get_key_usage(x), KU_KEY_CERT_SIGN);
    int critical = -1;
    ck_assert_ptr_nonnull(find_ext(x, "2.5.29.19", &critical));
    ck_assert_int_eq(critical, 1);
    ck_assert_ptr_nonnull(find_ext(x, "2.5.29.15", &critical));
    ck_assert_int_eq(critical, 1);

    /* DiceTcbInfo, byte for byte as the upstream UDS template lays it out. */
    const X509_EXTENSION *tcb = find_ext(x, "2.23.133.5.4.1", &critical);
    ck_assert_ptr_nonnull(tcb);
    ck_assert_int_eq(critical, 1);
    uint8_t want[223];
    size_t at = 0;
    const uint8_t head[] = {0x30, 0x81, 0xDC, 0x80, 0x09, 'O',  'p',  'e',  'n', 'T', 'i',
                            't',  'a',  'n',  0x81, 0x06, 'D',  'e',  'v',  'i', 'c', 'e',
                            0x83, 0x01, 0x00, 0x84, 0x01, 0x00, 0xA6, 0x81, 0xBC};
    memcpy(want, head, sizeof(head));
    at += sizeof(head);
    for (size_t i = 0; i < DICE_UDS_FW_IDS; i++) {
        const uint8_t fwid_head[] = {0x30, 0x2D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x20};
        memcpy(want + at, fwid_head, sizeof(fwid_head));
        at += sizeof(fwid_head);
        memcpy(want + at, c.uds_fw[i], DICE_DIGEST_SIZE);
        at += DICE_DIGEST_SIZE;
    }
    const uint8_t flags_debug[] = {0x87, 0x02, 0x04, 0x10};
    memcpy(want + at, flags_debug, sizeof(flags_debug));
    at += sizeof(flags_debug);
    ck_assert_uint_eq(at, sizeof(want));
    const ASN1_OCTET_STRING *value = X509_EXTENSION_get_data((X509_EXTENSION *)tcb);
    ck_assert_int_eq(ASN1_STRING_length(value), (int)sizeof(want));
    ck_assert_mem_eq(ASN1_STRING_get0_data(value), want, sizeof(want));

    X509_free(x);
    chain_free(&c);
}
END_TEST

START_TEST(cdi_tcb_info_svn_layer_flags)
{
    struct chain c;
    chain_build(&c, 0x23, TEST_CA_DN, false);
    X509 *cdi0 = parse_cert(c.cdi0_cert, c.cdi0_len);
    X509 *cdi1 = parse_cert(c.cdi1_cert, c.cdi1_len);
    int critical = -1;
    const ASN1_OCTET_STRING *v0 =
        X509_EXTENSION_get_data((X509_EXTENSION *)find_ext(cdi0, "2.23.133.5.4.1", &critical));
    ck_assert_int_eq(critical, 1);
    const uint8_t cdi0_head[] = {0x30, 0x53, 0x80, 0x09, 'O',  'p',  'e',  'n',  'T',
                                 'i',  't',  'a',  'n',  0x81, 0x07, 'R',  'O',  'M',
                                 '_',  'E',  'X',  'T',  0x83, 0x05, 0x00, 0x80, 0x00,
                                 0x00, 0x03, 0x84, 0x01, 0x01, 0xA6, 0x2F};
    ck_assert_int_eq(ASN1_STRING_length(v0), 0x55);
    ck_assert_mem_eq(ASN1_STRING_get0_data(v0), cdi0_head, sizeof(cdi0_head));
    const uint8_t flags_clear[] = {0x87, 0x02, 0x04, 0x00};
    ck_assert_mem_eq(ASN1_STRING_get0_data(v0) + 0x55 - 4, flags_clear, 4);

    const ASN1_OCTET_STRING *v1 =
        X509_EXTENSION_get_data((X509_EXTENSION *)find_ext(cdi1, "2.23.133.5.4.1", &critical));
    ck_assert_int_eq(critical, 1);
    const uint8_t cdi1_svn_layer[] = {0x81, 0x05, 'O',  'w',  'n',  'e',  'r',  0x83, 0x05, 0x00,
                                      0x81, 0x02, 0x03, 0x04, 0x84, 0x01, 0x02, 0xA6, 0x81, 0x8D};
    ck_assert_mem_eq(ASN1_STRING_get0_data(v1) + 3 + 11, cdi1_svn_layer, sizeof(cdi1_svn_layer));

    /* CDI issuers are the parents' subjects, byte for byte. */
    X509 *uds = parse_cert(c.uds_cert, c.uds_len);
    const uint8_t *a, *b;
    size_t a_len, b_len;
    name_der(X509_get_issuer_name(cdi0), &a, &a_len);
    name_der(X509_get_subject_name(uds), &b, &b_len);
    ck_assert_uint_eq(a_len, b_len);
    ck_assert_mem_eq(a, b, a_len);
    name_der(X509_get_issuer_name(cdi1), &a, &a_len);
    name_der(X509_get_subject_name(cdi0), &b, &b_len);
    ck_assert_uint_eq(a_len, b_len);
    ck_assert_mem_eq(a, b, a_len);
    ck_assert_mem_eq(ASN1_STRING_get0_data(X509_get0_authority_key_id(cdi0)), c.uds.key_id,
                     DICE_KEY_ID_SIZE);
    ck_assert_mem_eq(ASN1_STRING_get0_data(X509_get0_authority_key_id(cdi1)), c.cdi0.key_id,
                     DICE_KEY_ID_SIZE);
    X509_free(uds);
    X509_free(cdi0);
    X509_free(cdi1);
    chain_free(&c);
}
END_TEST

START_TEST(device_signatures_verify)
{
    struct chain c;
    chain_build(&c, 0x24, TEST_CA_DN, false);
    const uint8_t *tbs, *sig;
    size_t tbs_len, sig_len;
    split_cert(c.cdi0_cert, c.cdi0_len, &tbs, &tbs_len, &sig, &sig_len);
    ck_assert_int_eq(evp_verify(c.uds.pkey, tbs, tbs_len, sig, sig_len), 1);
    ck_assert_int_ne(evp_verify(c.cdi0.pkey, tbs, tbs_len, sig, sig_len), 1);
    split_cert(c.cdi1_cert, c.cdi1_len, &tbs, &tbs_len, &sig, &sig_len);
    ck_assert_int_eq(evp_verify(c.cdi0.pkey, tbs, tbs_len, sig, sig_len), 1);
    split_cert(c.uds_cert, c.uds_len, &tbs, &tbs_len, &sig, &sig_len);
    ck_assert_int_eq(evp_verify(c.ca.pkey, tbs, tbs_len, sig, sig_len), 1);

    X509 *uds = parse_cert(c.uds_cert, c.uds_len);
    X509 *cdi0 = parse_cert(c.cdi0_cert, c.cdi0_len);
    X509 *cdi1 = parse_cert(c.cdi1_cert, c.cdi1_len);
    X509 *tpm = parse_cert(c.tpm_cert, c.tpm_len);
    ck_assert_int_eq(X509_verify(uds, c.ca.pkey), 1);
    ck_assert_int_eq(X509_verify(cdi0, c.uds.pkey), 1);
    ck_assert_int_eq(X509_verify(cdi1, c.cdi0.pkey), 1);
    ck_assert_int_eq(X509_verify(tpm, c.ca.pkey), 1);
    ck_assert_int_ne(X509_verify(cdi1, c.uds.pkey), 1);
    X509_free(uds);
    X509_free(cdi0);
    X509_free(cdi1);
    X509_free(tpm);
    chain_free(&c);
}
END_TEST

START_TEST(chain_verifies_with_x509_store)
{
    struct chain c;
    chain_build(&c, 0x25, TEST_CA_DN, false);
    X509 *uds = parse_cert(c.uds_cert, c.uds_len);
    X509 *cdi0 = parse_cert(c.cdi0_cert, c.cdi0_len);
    X509 *cdi1 = parse_cert(c.cdi1_cert, c.cdi1_len);
    X509 *tpm = parse_cert(c.tpm_cert, c.tpm_len);
    X509 *below_cdi0[] = {uds};
    X509 *below_cdi1[] = {uds, cdi0};
    const unsigned long ignore = X509_V_FLAG_IGNORE_CRITICAL;

    /* Like `openssl verify -ignore_critical`: the DICE TcbInfo is critical and unknown. */
    ck_assert_int_eq(chain_verify(c.ca_cert, uds, NULL, 0, ignore), X509_V_OK);
    ck_assert_int_eq(chain_verify(c.ca_cert, cdi0, below_cdi0, 1, ignore), X509_V_OK);
    ck_assert_int_eq(chain_verify(c.ca_cert, cdi1, below_cdi1, 2, ignore), X509_V_OK);
    ck_assert_int_eq(chain_verify(c.ca_cert, uds, NULL, 0, 0),
                     X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION);
    /* Without its parent CDI_1 has no path to the CA. */
    ck_assert_int_ne(chain_verify(c.ca_cert, cdi1, below_cdi0, 1, ignore), X509_V_OK);
    /* The TPM EK has no critical private extension: it verifies without the flag, as
     * upstream verifies ext certificates. */
    ck_assert_int_eq(chain_verify(c.ca_cert, tpm, NULL, 0, 0), X509_V_OK);
    X509_free(uds);
    X509_free(cdi0);
    X509_free(cdi1);
    X509_free(tpm);
    chain_free(&c);
}
END_TEST

START_TEST(tpm_ek_fields)
{
    struct chain c;
    chain_build(&c, 0x26, TEST_CA_DN, false);
    X509 *x = parse_cert(c.tpm_cert, c.tpm_len);
    char line[256];
    X509_NAME_oneline(X509_get_subject_name(x), line, sizeof(line));
    ck_assert_str_eq(line, DICE_TPM_EK_DEFAULT_SUBJECT);
    X509_NAME_oneline(X509_get_issuer_name(x), line, sizeof(line));
    ck_assert_str_eq(line, TEST_CA_DN);
    ck_assert_mem_eq(ASN1_STRING_get0_data(X509_get0_notBefore(x)), "20230101000000Z", 15);
    ck_assert_mem_eq(ASN1_STRING_get0_data(X509_get0_notAfter(x)), "20500101000000Z", 15);
    ck_assert(!(X509_get_extension_flags(x) & EXFLAG_CA));
    int critical = -1;
    ck_assert_ptr_null(find_ext(x, "2.23.133.5.4.1", &critical));
    ck_assert_mem_eq(ASN1_STRING_get0_data(X509_get0_subject_key_id(x)), c.tpm.key_id,
                     DICE_KEY_ID_SIZE);

    /* subjectAltName: one directoryName with the TCG vendor/model/version attributes. */
    GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, &critical, NULL);
    ck_assert_ptr_nonnull(san);
    ck_assert_int_eq(critical, 0);
    ck_assert_int_eq(sk_GENERAL_NAME_num(san), 1);
    GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, 0);
    ck_assert_int_eq(gn->type, GEN_DIRNAME);
    X509_NAME_oneline(gn->d.directoryName, line, sizeof(line));
    ck_assert_str_eq(line, "/2.23.133.2.1=Nuvoton/2.23.133.2.2=Ti50/2.23.133.2.3=0.0.1");
    GENERAL_NAMES_free(san);
    X509_free(x);
    chain_free(&c);
}
END_TEST

START_TEST(tpm_ek_overrides)
{
    struct dice_key k = {0};
    derive(&k, 0x27, "tpm_ek");
    struct dice_cert_params p = {.kind = DICE_CERT_TPM_EK,
                                 .subject_key = &k,
                                 .issuer_dn = TEST_CA_DN,
                                 .subject_dn = "/C=US/O=Vendor/CN=My TPM EK",
                                 .tpm_vendor = "Acme",
                                 .tpm_model = "M1",
                                 .tpm_version = "1.2.3"};
    uint8_t tbs[DICE_CERT_MAX];
    size_t len = build_ok(&p, tbs, sizeof(tbs));
    uint8_t name[256];
    size_t name_len = 0;
    ck_assert_int_eq(dice_name_encode(p.subject_dn, name, sizeof(name), &name_len, NULL), 0);
    ck_assert_ptr_nonnull(memmem(tbs, len, name, name_len));
    ck_assert_ptr_nonnull(memmem(tbs, len,
                                 "\x0c\x04"
                                 "Acme",
                                 6));
    ck_assert_ptr_nonnull(memmem(tbs, len,
                                 "\x0c\x05"
                                 "1.2.3",
                                 7));

    struct ft_error err = {0};
    p.tpm_model = "01234567890123456789";
    ck_assert_int_eq(dice_cert_build(&p, tbs, sizeof(tbs), &len, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "TPM EK: tpm_model is 20 bytes, at most 19");
    p.tpm_model = "a\nb";
    ck_assert_int_eq(dice_cert_build(&p, tbs, sizeof(tbs), &len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "tpm_model byte 0x0a at offset 1");
    dice_key_free(&k);
}
END_TEST

START_TEST(certs_are_deterministic)
{
    struct chain a, b, other;
    chain_build(&a, 0x31, TEST_CA_DN, false);
    chain_build(&b, 0x31, TEST_CA_DN, false);
    chain_build(&other, 0x32, TEST_CA_DN, false);
    ck_assert_uint_eq(a.uds_tbs_len, b.uds_tbs_len);
    ck_assert_mem_eq(a.uds_tbs, b.uds_tbs, a.uds_tbs_len);
    ck_assert_uint_eq(a.uds_len, b.uds_len);
    ck_assert_mem_eq(a.uds_cert, b.uds_cert, a.uds_len);
    ck_assert_uint_eq(a.cdi0_len, b.cdi0_len);
    ck_assert_mem_eq(a.cdi0_cert, b.cdi0_cert, a.cdi0_len);
    ck_assert_uint_eq(a.cdi1_len, b.cdi1_len);
    ck_assert_mem_eq(a.cdi1_cert, b.cdi1_cert, a.cdi1_len);
    ck_assert_uint_eq(a.tpm_tbs_len, b.tpm_tbs_len);
    ck_assert_mem_eq(a.tpm_tbs, b.tpm_tbs, a.tpm_tbs_len);
    /* Another device seed: other keys, other bytes, same TBS sizes (fixed-size fields). */
    ck_assert_int_ne(memcmp(a.uds.key_id, other.uds.key_id, DICE_KEY_ID_SIZE), 0);
    ck_assert_uint_eq(a.uds_tbs_len, other.uds_tbs_len);
    ck_assert_int_ne(memcmp(a.uds_tbs, other.uds_tbs, a.uds_tbs_len), 0);
    ck_assert_int_ne(memcmp(a.cdi1_cert, other.cdi1_cert, 64), 0);
    chain_free(&a);
    chain_free(&b);
    chain_free(&other);
}
END_TEST

START_TEST(sizes_with_upstream_issuer)
{
    struct chain c;
    chain_build(&c, 0x41, UPSTREAM_ICA_DN, false);
    printf("dice cert sizes (upstream ICA DN): UDS TBS %zu, UDS cert %zu, CDI_0 %zu, CDI_1 %zu, "
           "TPM EK TBS %zu, TPM EK cert %zu\n",
           c.uds_tbs_len, c.uds_len, c.cdi0_len, c.cdi1_len, c.tpm_tbs_len, c.tpm_len);
    /* TBS sizes are fixed by the templates; signatures vary by a few bytes. */
    ck_assert_uint_eq(c.uds_tbs_len, 676);
    ck_assert_uint_eq(c.tpm_tbs_len, 546);
    ck_assert_uint_ge(c.cdi0_len, 487 + 4 + 12 + 3 + 8);
    ck_assert_uint_le(c.cdi0_len, 487 + 4 + 12 + 3 + DICE_ECDSA_SIG_MAX);
    ck_assert_uint_ge(c.cdi1_len, 585 + 4 + 12 + 3 + 8);
    ck_assert_uint_le(c.cdi1_len, 585 + 4 + 12 + 3 + DICE_ECDSA_SIG_MAX);
    chain_free(&c);
}
END_TEST

/* Counts extensions whose `critical` BOOLEAN is present with value FALSE. */
static int explicit_false_criticals(const uint8_t *der, size_t len)
{
    static const uint8_t pattern[] = {0x06, 0x03, 0x55, 0x1D};
    int count = 0;
    for (size_t i = 0; i + 8 < len; i++)
        if (memcmp(der + i, pattern, sizeof(pattern)) == 0 && der[i + 5] == 0x01 &&
            der[i + 6] == 0x01 && der[i + 7] == 0x00)
            count++;
    return count;
}

START_TEST(strict_der_omits_default_false)
{
    struct chain lax, strict;
    chain_build(&lax, 0x45, TEST_CA_DN, false);
    chain_build(&strict, 0x45, TEST_CA_DN, true);
    /* Upstream layout: AKI, SKI (and SAN) carry 01 01 00; the TPM EK also has cA FALSE. */
    ck_assert_int_eq(explicit_false_criticals(lax.uds_tbs, lax.uds_tbs_len), 2);
    ck_assert_int_eq(explicit_false_criticals(lax.tpm_tbs, lax.tpm_tbs_len), 3);
    ck_assert_ptr_nonnull(memmem(lax.tpm_tbs, lax.tpm_tbs_len, "\x04\x05\x30\x03\x01\x01\x00", 7));
    ck_assert_int_eq(explicit_false_criticals(strict.uds_tbs, strict.uds_tbs_len), 0);
    ck_assert_int_eq(explicit_false_criticals(strict.tpm_tbs, strict.tpm_tbs_len), 0);
    ck_assert_ptr_nonnull(memmem(strict.tpm_tbs, strict.tpm_tbs_len, "\x04\x02\x30\x00", 4));
    ck_assert_uint_eq(strict.uds_tbs_len, lax.uds_tbs_len - 6);
    ck_assert_uint_eq(strict.tpm_tbs_len, lax.tpm_tbs_len - 12);

    /* The strict chain parses and verifies the same way. */
    X509 *uds = parse_cert(strict.uds_cert, strict.uds_len);
    X509 *cdi0 = parse_cert(strict.cdi0_cert, strict.cdi0_len);
    X509 *cdi1 = parse_cert(strict.cdi1_cert, strict.cdi1_len);
    X509 *tpm = parse_cert(strict.tpm_cert, strict.tpm_len);
    X509 *below_cdi1[] = {uds, cdi0};
    ck_assert_int_eq(chain_verify(strict.ca_cert, cdi1, below_cdi1, 2, X509_V_FLAG_IGNORE_CRITICAL),
                     X509_V_OK);
    ck_assert_int_eq(chain_verify(strict.ca_cert, tpm, NULL, 0, 0), X509_V_OK);
    ck_assert(!(X509_get_extension_flags(tpm) & EXFLAG_CA));
    X509_free(uds);
    X509_free(cdi0);
    X509_free(cdi1);
    X509_free(tpm);
    chain_free(&lax);
    chain_free(&strict);
}
END_TEST

/* "/C=US/ST=<128>/L=<128>/O=<64>/OU=<64>/CN=<64>/serialNumber=<64>/CN=<64>": the
 * longest DN dice_name_encode() accepts. */
static void largest_dn(char *out, size_t cap)
{
    const struct {
        const char *key;
        size_t len;
    } attrs[] = {{"ST", 128}, {"L", 128},           {"O", 64}, {"OU", 64},
                 {"CN", 64},  {"serialNumber", 64}, {"CN", 64}};
    size_t at = (size_t)snprintf(out, cap, "/C=US");
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        at += (size_t)snprintf(out + at, cap - at, "/%s=", attrs[i].key);
        ck_assert_uint_lt(at + attrs[i].len, cap);
        memset(out + at, 'a', attrs[i].len);
        at += attrs[i].len;
        out[at] = '\0';
    }
}

START_TEST(largest_certs_fit_dice_cert_max)
{
    char dn[1024];
    largest_dn(dn, sizeof(dn));
    struct dice_key subject = {0}, issuer = {0};
    derive(&subject, 0x71, "subject");
    derive(&issuer, 0x72, "issuer");
    uint8_t fw[DICE_MAX_FW_IDS][DICE_DIGEST_SIZE];
    fill_digests(fw, DICE_MAX_FW_IDS, 0);
    uint8_t out[DICE_CERT_MAX];
    struct dice_cert_params uds = {.kind = DICE_CERT_UDS,
                                   .subject_key = &subject,
                                   .issuer_key = &issuer,
                                   .issuer_dn = dn,
                                   .fw_ids = fw,
                                   .fw_id_count = DICE_MAX_FW_IDS};
    size_t uds_len = build_ok(&uds, out, sizeof(out));
    X509_free(parse_cert(out, uds_len));
    struct dice_cert_params tpm = {.kind = DICE_CERT_TPM_EK,
                                   .subject_key = &subject,
                                   .issuer_key = &issuer,
                                   .issuer_dn = dn,
                                   .subject_dn = dn,
                                   .tpm_vendor = "0123456789012345678",
                                   .tpm_model = "0123456789012345678",
                                   .tpm_version = "0123456789012345678"};
    size_t tpm_len = build_ok(&tpm, out, sizeof(out));
    X509 *x = parse_cert(out, tpm_len);
    ck_assert_int_eq(X509_verify(x, issuer.pkey), 1);
    X509_free(x);
    ck_assert_uint_lt(uds_len, DICE_CERT_MAX / 2);
    ck_assert_uint_lt(tpm_len, DICE_CERT_MAX / 2);
    dice_key_free(&subject);
    dice_key_free(&issuer);
}
END_TEST

START_TEST(capacity_errors)
{
    struct chain c;
    chain_build(&c, 0x51, TEST_CA_DN, false);
    struct dice_cert_params p = {.kind = DICE_CERT_UDS,
                                 .subject_key = &c.uds,
                                 .issuer_dn = TEST_CA_DN,
                                 .fw_ids = c.uds_fw,
                                 .fw_id_count = DICE_UDS_FW_IDS,
                                 .debug = true};
    memcpy(p.auth_key_id, c.ca.key_id, DICE_KEY_ID_SIZE);
    uint8_t out[DICE_CERT_MAX];
    size_t len = 0;
    struct ft_error err = {0};
    char needle[96];
    snprintf(needle, sizeof(needle), "UDS TBS needs %zu bytes, buffer holds %zu", c.uds_tbs_len,
             c.uds_tbs_len - 1);
    ck_assert_int_eq(dice_cert_build(&p, out, c.uds_tbs_len - 1, &len, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, needle);
    ck_assert_int_eq(dice_cert_build(&p, NULL, 0, &len, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "UDS TBS needs");
    ck_assert_uint_eq(build_ok(&p, out, c.uds_tbs_len), c.uds_tbs_len);

    struct dice_cert_params q = {.kind = DICE_CERT_CDI_0,
                                 .subject_key = &c.cdi0,
                                 .issuer_key = &c.uds,
                                 .fw_ids = c.cdi0_fw,
                                 .fw_id_count = DICE_CDI_0_FW_IDS,
                                 .security_version = 3};
    memcpy(q.auth_key_id, c.uds.key_id, DICE_KEY_ID_SIZE);
    snprintf(needle, sizeof(needle), "CDI_0 certificate needs %zu bytes", c.cdi0_len);
    ck_assert_int_eq(dice_cert_build(&q, out, c.cdi0_len - 1, &len, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, needle);
    ck_assert_uint_eq(build_ok(&q, out, c.cdi0_len), c.cdi0_len);
    ck_assert_mem_eq(out, c.cdi0_cert, c.cdi0_len);
    chain_free(&c);
}
END_TEST

START_TEST(params_are_checked)
{
    struct chain c;
    chain_build(&c, 0x61, TEST_CA_DN, false);
    uint8_t out[DICE_CERT_MAX];
    size_t len = 0;
    struct ft_error err = {0};
    struct dice_cert_params base = {.kind = DICE_CERT_CDI_0,
                                    .subject_key = &c.cdi0,
                                    .issuer_key = &c.uds,
                                    .fw_ids = c.cdi0_fw,
                                    .fw_id_count = DICE_CDI_0_FW_IDS};
    memcpy(base.auth_key_id, c.uds.key_id, DICE_KEY_ID_SIZE);
    struct dice_cert_params p;

#define EXPECT_REJECT(code, needle)                                                                \
    do {                                                                                           \
        ck_assert_int_eq(dice_cert_build(&p, out, sizeof(out), &len, &err), -1);                   \
        ck_assert_error(err, code, needle);                                                        \
    } while (0)

    ck_assert_int_eq(dice_cert_build(NULL, out, sizeof(out), &len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "parameters are missing");
    p = base;
    p.kind = (enum dice_cert_kind)9;
    EXPECT_REJECT(FT_E_INVALID, "unknown certificate kind 9");
    p = base;
    p.subject_key = NULL;
    EXPECT_REJECT(FT_E_INVALID, "CDI_0: subject key is missing");
    p = base;
    p.auth_key_id[0] ^= 1;
    EXPECT_REJECT(FT_E_INVALID, "CDI_0: auth_key_id differs from the issuer key's key id");
    p = base;
    p.issuer_dn = TEST_CA_DN;
    EXPECT_REJECT(FT_E_INVALID, "CDI_0: issuer_dn must be NULL");
    p = base;
    p.subject_dn = TEST_CA_DN;
    EXPECT_REJECT(FT_E_INVALID, "CDI_0: subject_dn must be NULL");
    p = base;
    p.fw_id_count = 0;
    EXPECT_REJECT(FT_E_RANGE, "CDI_0: 0 fw ids, a TcbInfo takes 1..8");
    p = base;
    p.fw_id_count = DICE_MAX_FW_IDS + 1;
    EXPECT_REJECT(FT_E_RANGE, "9 fw ids");
    p = base;
    p.fw_ids = NULL;
    EXPECT_REJECT(FT_E_INVALID, "fw_ids is NULL");
    p = base;
    p.debug = true;
    EXPECT_REJECT(FT_E_INVALID, "CDI_0: debug must be false");
    p = base;
    p.tpm_vendor = "x";
    EXPECT_REJECT(FT_E_INVALID, "CDI_0: tpm_vendor/model/version must be NULL");

    p = base;
    p.kind = DICE_CERT_UDS;
    p.issuer_key = NULL;
    EXPECT_REJECT(FT_E_INVALID, "UDS: issuer DN is missing");
    p.issuer_dn = TEST_CA_DN;
    p.security_version = 1;
    EXPECT_REJECT(FT_E_INVALID, "UDS: security_version must be 0");

    p = base;
    p.kind = DICE_CERT_TPM_EK;
    p.issuer_key = NULL;
    p.issuer_dn = TEST_CA_DN;
    EXPECT_REJECT(FT_E_INVALID, "TPM EK: has no DICE TcbInfo, fw_ids must be unset");

    /* A UDS with fewer fw ids (as in the old ES layout) still builds. */
    p = base;
    p.kind = DICE_CERT_UDS;
    p.issuer_key = NULL;
    p.issuer_dn = TEST_CA_DN;
    p.fw_ids = c.uds_fw;
    p.fw_id_count = 2;
    /* Two fwids of 47 bytes fewer, and five headers drop a length byte: [6], the TcbInfo
     * SEQUENCE, its OCTET STRING, the Extensions SEQUENCE and [3]. */
    ck_assert_uint_eq(build_ok(&p, out, sizeof(out)), c.uds_tbs_len - 2 * 47 - 5);
#undef EXPECT_REJECT
    chain_free(&c);
}
END_TEST

START_TEST(kind_names)
{
    ck_assert_str_eq(dice_cert_kind_name(DICE_CERT_UDS), "UDS");
    ck_assert_str_eq(dice_cert_kind_name(DICE_CERT_CDI_0), "CDI_0");
    ck_assert_str_eq(dice_cert_kind_name(DICE_CERT_CDI_1), "CDI_1");
    ck_assert_str_eq(dice_cert_kind_name(DICE_CERT_TPM_EK), "TPM EK");
    ck_assert_str_eq(dice_cert_kind_name((enum dice_cert_kind)42), "?");
}
END_TEST

static Suite *sim_dice_suite(void)
{
    Suite *s = suite_create("sim_dice");
    TCase *der = tcase_create("der");
    tcase_add_test(der, der_length_forms);
    tcase_add_test(der, der_nested_and_integers);
    tcase_add_test(der, der_errors);
    suite_add_tcase(s, der);

    TCase *keys = tcase_create("keys");
    tcase_add_test(keys, rfc6979_p256_vectors);
    tcase_add_test(keys, key_derivation_is_deterministic);
    tcase_add_test(keys, key_fields_agree_with_openssl);
    tcase_add_test(keys, key_rejects_bad_input);
    tcase_add_test(keys, signatures_verify_with_openssl);
    suite_add_tcase(s, keys);

    TCase *names = tcase_create("names");
    tcase_add_test(names, dn_encoding_matches_openssl);
    tcase_add_test(names, dn_rejects_malformed);
    tcase_add_test(names, dn_capacity);
    suite_add_tcase(s, names);

    TCase *certs = tcase_create("certs");
    tcase_set_timeout(certs, 60);
    tcase_add_test(certs, uds_tbs_layout);
    tcase_add_test(certs, uds_cert_fields);
    tcase_add_test(certs, cdi_tcb_info_svn_layer_flags);
    tcase_add_test(certs, device_signatures_verify);
    tcase_add_test(certs, chain_verifies_with_x509_store);
    tcase_add_test(certs, tpm_ek_fields);
    tcase_add_test(certs, tpm_ek_overrides);
    tcase_add_test(certs, certs_are_deterministic);
    tcase_add_test(certs, sizes_with_upstream_issuer);
    tcase_add_test(certs, strict_der_omits_default_false);
    tcase_add_test(certs, largest_certs_fit_dice_cert_max);
    tcase_add_test(certs, capacity_errors);
    tcase_add_test(certs, params_are_checked);
    tcase_add_test(certs, kind_names);
    suite_add_tcase(s, certs);
    return s;
}

FT_TEST_MAIN(sim_dice_suite)
