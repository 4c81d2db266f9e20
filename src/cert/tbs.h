/* Checks on the chip's TBS certificates before they leave the host, and on what comes
 * back endorsed: each TBS parses as a TBSCertificate, carries a name the SKU expects, fits
 * the SKU's size limit and names the SKU's CA as issuer; each returned certificate holds
 * exactly the TBS sent and verifies under that CA. */
#ifndef FTHARNESS_CERT_TBS_H
#define FTHARNESS_CERT_TBS_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Parses a TBSCertificate. OpenSSL has no public parser for a bare TBS, so the bytes are
 * wrapped, unchanged, in a certificate with an empty signature. NEW X509 or NULL. */
X509 *cert_parse_tbs(const uint8_t *tbs, size_t len, struct ft_error *err);

/* Finds the TBSCertificate inside a certificate's DER (borrowed pointer into `cert`). */
int cert_tbs_of(const uint8_t *cert, size_t len, const uint8_t **tbs, size_t *tbs_len,
                struct ft_error *err);

/* Checks a TBS against the CA that is to endorse it: parses, and its issuer Name equals
 * the CA certificate's subject. */
int cert_check_tbs(const char *name, const uint8_t *tbs, size_t len, X509 *ca,
                   struct ft_error *err);

/* Checks an endorsed certificate: it parses, its TBS is byte-equal to `tbs`, and its
 * signature verifies under `ca`'s key. */
int cert_check_endorsed(const char *name, const uint8_t *cert, size_t len, const uint8_t *tbs,
                        size_t tbs_len, X509 *ca, struct ft_error *err);

#endif
