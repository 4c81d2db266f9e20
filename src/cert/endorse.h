/* Endorsement and verification of device certificates with OpenSSL, shared by the
 * endorsement service and the harness's own checks.
 *
 * An endorsed certificate is the device's TBS bytes, untouched, wrapped as
 *   SEQUENCE { TBS, AlgorithmIdentifier { ecdsa-with-SHA256 }, BIT STRING { 00, sig } }
 * (reference/opentitan-provisioning.md §3.2, opentitan-ft-flow.md §3.2). */
#ifndef FTHARNESS_CERT_ENDORSE_H
#define FTHARNESS_CERT_ENDORSE_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* ecdsa-with-SHA256 (and -384/-512) AlgorithmIdentifiers, parameters absent. */
enum cert_sig_hash {
    CERT_SIG_SHA256,
    CERT_SIG_SHA384,
    CERT_SIG_SHA512,
};

/* Signs `tbs` with the ECDSA key and writes the certificate into `out`. */
int cert_endorse_tbs(EVP_PKEY *key, enum cert_sig_hash hash, const uint8_t *tbs, size_t tbs_len,
                     uint8_t *out, size_t cap, size_t *out_len, struct ft_error *err);

/* Parses one DER certificate, requiring it to fill `len` exactly. */
X509 *cert_parse_der(const uint8_t *der, size_t len, struct ft_error *err);

/* Verifies `leaf` up to the trusted `root` through `chain` (intermediates, in any order).
 * `ignore_critical` tolerates the DICE TcbInfo extension, as upstream's
 * `openssl verify -ignore_critical`. */
int cert_verify_chain(X509 *leaf, X509 *root, X509 *const *chain, size_t n_chain,
                      bool ignore_critical, struct ft_error *err);

#endif
