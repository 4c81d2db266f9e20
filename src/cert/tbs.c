#include "cert/tbs.h"

#include <string.h>

#include "cert/endorse.h"

/* Reads a DER header at p (at most `len` bytes); returns the header size and sets the
 * content length, or 0 when malformed. */
static size_t der_header(const uint8_t *p, size_t len, uint8_t tag, size_t *content)
{
    if (len < 2 || p[0] != tag)
        return 0;
    if (p[1] < 0x80) {
        *content = p[1];
        return 2;
    }
    size_t n = p[1] & 0x7F;
    if (n == 0 || n > 3 || len < 2 + n)
        return 0;
    size_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[2 + i];
    *content = v;
    return 2 + n;
}

static size_t put_header(uint8_t *out, uint8_t tag, size_t len)
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
    out[1] = 0x82;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    return 4;
}

X509 *cert_parse_tbs(const uint8_t *tbs, size_t len, struct ft_error *err)
{
    static const uint8_t alg[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86,
                                  0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
    static const uint8_t empty_sig[] = {0x03, 0x01, 0x00};
    size_t content;
    size_t hdr = der_header(tbs, len, 0x30, &content);
    if (hdr == 0 || hdr + content != len || len > 16384) {
        ft_fail(err, FT_E_INVALID, "TBS of %zu bytes is not one DER SEQUENCE", len);
        return NULL;
    }
    uint8_t buf[16384 + 32];
    size_t body = len + sizeof(alg) + sizeof(empty_sig);
    size_t n = put_header(buf, 0x30, body);
    memcpy(buf + n, tbs, len);
    memcpy(buf + n + len, alg, sizeof(alg));
    memcpy(buf + n + len + sizeof(alg), empty_sig, sizeof(empty_sig));
    X509 *x = cert_parse_der(buf, n + body, err);
    if (x == NULL)
        ft_error_prefix(err, "TBS does not parse as a TBSCertificate");
    return x;
}

int cert_tbs_of(const uint8_t *cert, size_t len, const uint8_t **tbs, size_t *tbs_len,
                struct ft_error *err)
{
    size_t outer;
    size_t hdr = der_header(cert, len, 0x30, &outer);
    if (hdr == 0 || hdr + outer != len)
        return ft_fail(err, FT_E_INVALID, "certificate of %zu bytes is not one DER SEQUENCE", len);
    size_t inner;
    size_t inner_hdr = der_header(cert + hdr, len - hdr, 0x30, &inner);
    if (inner_hdr == 0 || inner_hdr + inner > outer)
        return ft_fail(err, FT_E_INVALID, "certificate has no TBSCertificate");
    *tbs = cert + hdr;
    *tbs_len = inner_hdr + inner;
    return 0;
}

int cert_check_tbs(const char *name, const uint8_t *tbs, size_t len, X509 *ca, struct ft_error *err)
{
    X509 *x = cert_parse_tbs(tbs, len, err);
    if (x == NULL)
        return ft_error_prefix(err, "%s", name);
    int rc = 0;
    if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)) != 0) {
        char issuer[256], subject[256];
        X509_NAME_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
        X509_NAME_oneline(X509_get_subject_name(ca), subject, sizeof(subject));
        rc =
            ft_fail(err, FT_E_INVALID, "%s: TBS issuer %s is not the CA %s", name, issuer, subject);
    }
    X509_free(x);
    return rc;
}

int cert_check_endorsed(const char *name, const uint8_t *cert, size_t len, const uint8_t *tbs,
                        size_t tbs_len, X509 *ca, struct ft_error *err)
{
    const uint8_t *inner = NULL;
    size_t inner_len = 0;
    if (cert_tbs_of(cert, len, &inner, &inner_len, err) != 0)
        return ft_error_prefix(err, "%s", name);
    if (inner_len != tbs_len || memcmp(inner, tbs, tbs_len) != 0)
        return ft_fail(err, FT_E_PROTOCOL,
                       "%s: the endorsed certificate does not hold the TBS sent", name);
    X509 *x = cert_parse_der(cert, len, err);
    if (x == NULL)
        return ft_error_prefix(err, "%s", name);
    EVP_PKEY *key = X509_get0_pubkey(ca);
    int ok = key != NULL && X509_verify(x, key) == 1;
    X509_free(x);
    if (!ok)
        return ft_fail(err, FT_E_PROTOCOL,
                       "%s: the endorsement signature does not verify under the CA", name);
    return 0;
}
