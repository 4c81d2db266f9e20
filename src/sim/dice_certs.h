/* dice_certs: the ftsim device model's DICE keys and X.509 certificates.
 *
 * Keys are ECDSA P-256, derived deterministically from a seed and a label, and signatures
 * use an RFC 6979 nonce, so the same seeds always give the same certificate bytes. The
 * certificates are assembled by hand in the byte layout of the Earlgrey templates
 * (sw/device/silicon_creator/lib/cert/{uds,cdi_0,cdi_1,tpm_ek}.hjson, earlgrey_1.0.0):
 *
 *   serial        INTEGER of the 20-byte key id with its top bit forced on (02 15 00 ..)
 *   signature     ecdsa-with-SHA256, parameters absent (30 0A 06 08 2A8648CE3D040302)
 *   issuer        UDS, TPM EK: the configured CA DN; CDI_0/CDI_1: serialNumber = hex of
 *                 the authority key id, i.e. the parent's subject
 *   validity      GeneralizedTime; DICE 20180322235959Z..99991231235959Z,
 *                 TPM EK 20230101000000Z..20500101000000Z
 *   subject       DICE: serialNumber = lower-case hex of the key id; TPM EK: a fixed DN
 *   extensions    basicConstraints (critical), [TPM EK: subjectAltName], keyUsage
 *                 keyCertSign (critical), AKI, SKI, [DICE: TcbInfo 2.23.133.5.4.1
 *                 (critical)]; every `critical` BOOLEAN is written, FALSE included,
 *                 as upstream emits it (strict_der omits DEFAULT FALSE values).
 *
 * A TBS leaves the device for endorsement (UDS, TPM EK); CDI_0 and CDI_1 are signed on the
 * device by the UDS and CDI_0 keys. */
#ifndef FTHARNESS_SIM_DICE_CERTS_H
#define FTHARNESS_SIM_DICE_CERTS_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define DICE_KEY_ID_SIZE 20    /* SHA-256(X || Y) truncated, upstream kCertKeyIdSizeInBytes */
#define DICE_P256_SIZE 32      /* one P-256 scalar or coordinate, big-endian */
#define DICE_DIGEST_SIZE 32    /* SHA-256 */
#define DICE_MAX_FW_IDS 8      /* fw ids a TcbInfo may carry here (upstream: 4 / 1 / 3) */
#define DICE_ECDSA_SIG_MAX 72  /* DER ECDSA-Sig-Value for P-256, worst case */
#define DICE_TPM_STRING_MAX 19 /* TPM EK SAN strings, upstream range-size [0, 19] */
#define DICE_DN_MAX_ATTRS 8    /* attributes in a configured DN */
/* A buffer of this size holds any certificate or TBS dice_cert_build() produces. */
#define DICE_CERT_MAX 4096

/* Upstream fw id counts per template. */
#define DICE_UDS_FW_IDS 4   /* OTP creator_sw_cfg, owner_sw_cfg, rot auth codesign, state */
#define DICE_CDI_0_FW_IDS 1 /* ROM_EXT */
#define DICE_CDI_1_FW_IDS 3 /* owner firmware, owner manifest, owner history */

/* An ECDSA P-256 key pair. Zero-initialise before first use; dice_key_free() releases
 * and wipes it and leaves it zeroed, so it may be called again or on a failed key. */
struct dice_key {
    EVP_PKEY *pkey;            /* owned; public and private key for OpenSSL */
    uint8_t d[DICE_P256_SIZE]; /* private scalar, big-endian */
    uint8_t x[DICE_P256_SIZE]; /* public point, big-endian affine coordinates */
    uint8_t y[DICE_P256_SIZE];
    uint8_t key_id[DICE_KEY_ID_SIZE]; /* SHA-256(x || y)[0..20) */
};

/* Makes the key with private scalar `d` (big-endian, 1 <= d < n). Fails with FT_E_RANGE
 * when d is outside that range. On failure *key is left empty. */
int dice_key_from_private(struct dice_key *key, const uint8_t d[DICE_P256_SIZE],
                          struct ft_error *err);

/* Derives a key from `seed` and `label` (borrowed, NUL-terminated, non-empty): the
 * scalar is the first HMAC-SHA256(seed, label || BE32(counter)), counter = 0, 1, ...,
 * that lies in [1, n-1]. Same inputs, same key. On failure *key is left empty. */
int dice_key_derive(struct dice_key *key, const uint8_t seed[DICE_P256_SIZE], const char *label,
                    struct ft_error *err);

/* Wipes and releases `key` (NULL is fine). */
void dice_key_free(struct dice_key *key);

/* Signs SHA-256(msg) with ECDSA, the nonce from RFC 6979 (HMAC-SHA256), and writes the
 * DER ECDSA-Sig-Value into `sig` (capacity `cap`, DICE_ECDSA_SIG_MAX always suffices),
 * its length into *sig_len. Deterministic: same key and message, same bytes. */
int dice_sign(const struct dice_key *key, const uint8_t *msg, size_t msg_len, uint8_t *sig,
              size_t cap, size_t *sig_len, struct ft_error *err);

/* Encodes a one-line DN such as "/C=US/O=OpenTitan/CN=Test CA" as an X.509 Name, one
 * RDN per attribute, in the given order. Attributes: C (PrintableString, 2 letters),
 * serialNumber (PrintableString), ST, L, O, OU, CN (UTF8String); values 1..64 bytes
 * (ST, L: 128; C: exactly 2), at most DICE_DN_MAX_ATTRS of them, no control characters,
 * no '/' (there is no escaping). Fails with FT_E_INVALID naming the
 * offending component, FT_E_CAPACITY when `cap` is too small. */
int dice_name_encode(const char *dn, uint8_t *out, size_t cap, size_t *len, struct ft_error *err);

enum dice_cert_kind {
    DICE_CERT_UDS,
    DICE_CERT_CDI_0,
    DICE_CERT_CDI_1,
    DICE_CERT_TPM_EK,
};

/* The perso TLV name of `kind`: "UDS", "CDI_0", "CDI_1", "TPM EK"; "?" if unknown. */
const char *dice_cert_kind_name(enum dice_cert_kind kind);

/* The TPM EK subject upstream uses when dice_cert_params.subject_dn is NULL. */
#define DICE_TPM_EK_DEFAULT_SUBJECT "/C=US/ST=CA/O=Google/OU=Engineering/CN=OT Ti50 TPM EK"

/* What to build. All pointers are borrowed. Fields that a kind does not use must be left
 * zero/NULL; dice_cert_build() rejects them rather than ignore them. */
struct dice_cert_params {
    enum dice_cert_kind kind;
    const struct dice_key *subject_key;    /* required: SPKI, serial, SKI, subject */
    const struct dice_key *issuer_key;     /* NULL: emit the TBS only; else sign it. For CDI
                                              kinds its key_id must equal auth_key_id */
    const char *issuer_dn;                 /* UDS, TPM EK: required, see dice_name_encode() */
    const char *subject_dn;                /* TPM EK: NULL means DICE_TPM_EK_DEFAULT_SUBJECT */
    uint8_t auth_key_id[DICE_KEY_ID_SIZE]; /* AKI; for CDI kinds also the issuer Name */
    /* DICE kinds: TcbInfo fw ids, 1..DICE_MAX_FW_IDS SHA-256 digests in order. */
    const uint8_t (*fw_ids)[DICE_DIGEST_SIZE];
    size_t fw_id_count;
    uint32_t security_version; /* CDI_0, CDI_1: TcbInfo svn (UDS upstream: literal 0) */
    bool debug;                /* UDS, CDI_1: TcbInfo debug flag (CDI_0 upstream: false) */
    /* TPM EK: subjectAltName directoryName strings; NULL means upstream's "Nuvoton",
     * "Ti50", "0.0.1". At most DICE_TPM_STRING_MAX bytes each. */
    const char *tpm_vendor;
    const char *tpm_model;
    const char *tpm_version;
    /* false: byte layout of upstream earlgrey_1.0.0, which writes DEFAULT FALSE booleans
     * (Extension.critical, basicConstraints.cA) explicitly as 01 01 00; OpenSSL and Go
     * accept that, strict DER parsers (pyca/cryptography, BoringSSL) do not. true: omit
     * them, as lowRISC/opentitan PR #31412 (open) proposes. */
    bool strict_der;
};

/* Builds a TBSCertificate (p->issuer_key == NULL) or a full certificate
 * SEQ{TBS, ecdsa-with-SHA256, BIT STRING{00, ECDSA-Sig-Value}} into `out` (capacity `cap`)
 * and stores its length in *len. Both always start 30 82 HH LL. Fails with FT_E_INVALID
 * for inconsistent parameters or a malformed DN, FT_E_RANGE for an oversized field,
 * FT_E_CAPACITY naming the size needed when `cap` is too small. */
int dice_cert_build(const struct dice_cert_params *p, uint8_t *out, size_t cap, size_t *len,
                    struct ft_error *err);

#endif
