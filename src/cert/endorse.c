#include "cert/endorse.h"

#include <string.h>

/* 30 0A 06 08 <OID 1.2.840.10045.4.3.{2,3,4}> */
static const uint8_t ALG_ID[3][12] = {
    {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02},
    {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03},
    {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04},
};

static size_t der_header(uint8_t *out, uint8_t tag, size_t len)
{
    out[0] = tag;
    if (len < 0x80) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 0x100) {
        out[1] = 0x81;
        out[2] = (uint8_t)len;
        return 3;
    }
    if (len < 0x10000) {
        out[1] = 0x82;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 0x83;
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    return 5;
}

int cert_endorse_tbs(EVP_PKEY *key, enum cert_sig_hash hash, const uint8_t *tbs, size_t tbs_len,
                     uint8_t *out, size_t cap, size_t *out_len, struct ft_error *err)
{
    const EVP_MD *md = hash == CERT_SIG_SHA384   ? EVP_sha384()
                       : hash == CERT_SIG_SHA512 ? EVP_sha512()
                                                 : EVP_sha256();
    if (tbs_len == 0 || tbs_len > 0xFFFFFF / 2)
        return ft_fail(err, FT_E_RANGE, "endorse: TBS of %zu bytes", tbs_len);
    uint8_t sig[160];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, md, NULL, key) == 1 &&
             EVP_DigestSign(ctx, sig, &sig_len, tbs, tbs_len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return ft_fail(err, FT_E_INVALID, "endorse: ECDSA signing failed");

    uint8_t bits[6];
    size_t bits_hdr = der_header(bits, 0x03, sig_len + 1);
    size_t content = tbs_len + sizeof(ALG_ID[0]) + bits_hdr + 1 + sig_len;
    uint8_t seq[6];
    size_t seq_hdr = der_header(seq, 0x30, content);
    if (seq_hdr + content > cap)
        return ft_fail(err, FT_E_CAPACITY, "endorse: certificate of %zu bytes exceeds %zu",
                       seq_hdr + content, cap);
    size_t n = 0;
    memcpy(out + n, seq, seq_hdr);
    n += seq_hdr;
    memcpy(out + n, tbs, tbs_len);
    n += tbs_len;
    memcpy(out + n, ALG_ID[hash], sizeof(ALG_ID[0]));
    n += sizeof(ALG_ID[0]);
    memcpy(out + n, bits, bits_hdr);
    n += bits_hdr;
    out[n++] = 0x00; /* no unused bits */
    memcpy(out + n, sig, sig_len);
    *out_len = n + sig_len;
    return 0;
}

X509 *cert_parse_der(const uint8_t *der, size_t len, struct ft_error *err)
{
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, (long)len);
    if (cert == NULL) {
        ft_fail(err, FT_E_INVALID, "certificate of %zu bytes does not parse as X.509", len);
        return NULL;
    }
    if ((size_t)(p - der) != len) {
        X509_free(cert);
        ft_fail(err, FT_E_INVALID, "certificate has %zu trailing bytes", len - (size_t)(p - der));
        return NULL;
    }
    return cert;
}

int cert_verify_chain(X509 *leaf, X509 *root, X509 *const *chain, size_t n_chain,
                      bool ignore_critical, struct ft_error *err)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int rc = -1;
    if (store == NULL || ctx == NULL || untrusted == NULL || !X509_STORE_add_cert(store, root)) {
        ft_fail(err, FT_E_NOMEM, "chain check: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_chain; i++)
        sk_X509_push(untrusted, chain[i]);
    if (!X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        ft_fail(err, FT_E_NOMEM, "chain check: cannot set up");
        goto done;
    }
    if (ignore_critical)
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_IGNORE_CRITICAL);
    if (X509_verify_cert(ctx) != 1) {
        int code = X509_STORE_CTX_get_error(ctx);
        ft_fail(err, FT_E_INVALID, "chain check: %s (depth %d)",
                X509_verify_cert_error_string(code), X509_STORE_CTX_get_error_depth(ctx));
        goto done;
    }
    rc = 0;
done:
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}
