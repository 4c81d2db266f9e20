/* SKU configuration of the endorsement service, mirroring upstream's SPM SKU files
 * (reference/opentitan-provisioning.md §3.1) as JSON:
 *
 *   DIR/sku_<name>.json
 *   { "sku": "sival",
 *     "cert_count_x509": 3, "cert_count_cwt": 0,
 *     "symmetric_keys": [{"name": "eg-kdf-hisec-v0", "path": "sival/keys/seed-hisec.bin"}, ...],
 *     "private_keys":   [{"name": "sival-dice-key-p256-v0.priv", "path": "..."}, ...],
 *     "public_keys":    [{"name": "sku-eg-rsa-rma-v0.pub", "path": "..."}],
 *     "certs":          [{"name": "RootCA", "path": "..."},
 *                        {"name": "SigningKey/Dice/v0", "path": "..."}, ...],
 *     "attributes": {"SeedSecHi": "...", "SeedSecLo": "...", "WASKeyLabel": "...",
 *                    "WASDisable": "false", "WrappingMechanism": "RsaOaep",
 *                    "WrappingKeyLabel": "...", "SigningKey/Dice/v0": "...",
 *                    "SigningKey/Ext/v0": "...", "SigningKey/Identity/v0": "...",
 *                    "CertChainDiceLeaf": "CDI_1", "OwnerFirmwareBootMessage": "..."},
 *     "x509_cert_hash_order": ["UDS", "CDI_0", "CDI_1"], "cwt_cert_hash_order": [] }
 *
 *   DIR/sku_auth.json
 *   { "sku_auth_cfg_list": { "sival": { "sku_auth": "$2b$10$...", "methods": [...] } } }
 *
 * Paths are relative to DIR. Unknown keys are errors; every error names the file, the key
 * and the reason. Key files are PEM; seeds are raw bytes. */
#ifndef FTHARNESS_PA_PA_SKU_H
#define FTHARNESS_PA_PA_SKU_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define PA_NAME_MAX 64u
#define PA_HASH_ORDER_MAX 16u
#define PA_SEED_MAX 64u
#define PA_METHODS_MAX 16u

struct pa_seed {
    uint8_t bytes[PA_SEED_MAX];
    size_t len;
};

/* A loaded SKU: every label resolved to key material. Owns the OpenSSL objects. */
struct pa_sku {
    char name[PA_NAME_MAX];
    unsigned cert_count_x509;
    unsigned cert_count_cwt;
    char x509_hash_order[PA_HASH_ORDER_MAX][PA_NAME_MAX];
    size_t n_x509_hash_order;
    char cwt_hash_order[PA_HASH_ORDER_MAX][PA_NAME_MAX];
    size_t n_cwt_hash_order;

    X509 *root_ca;          /* certs "RootCA" */
    X509 *dice_ica;         /* certs "SigningKey/Dice/v0" */
    X509 *ext_ica;          /* certs "SigningKey/Ext/v0"; NULL when the SKU has none */
    EVP_PKEY *dice_key;     /* attribute SigningKey/Dice/v0 */
    EVP_PKEY *ext_key;      /* attribute SigningKey/Ext/v0; NULL when absent */
    EVP_PKEY *identity_key; /* attribute SigningKey/Identity/v0 */
    EVP_PKEY *rma_wrap_key; /* attribute WrappingKeyLabel (public key) */

    struct pa_seed seed_hi;  /* attribute SeedSecHi */
    struct pa_seed seed_lo;  /* attribute SeedSecLo */
    struct pa_seed was_seed; /* attribute WASKeyLabel */
    bool was_disable;
    bool wrap_oaep; /* WrappingMechanism: RsaOaep (true) or RsaPkcs */
    char dice_leaf[PA_NAME_MAX];
    char owner_fw_boot_message[256];
};

/* True for 1 to PA_NAME_MAX - 1 characters of [a-z0-9_]: a SKU name is a file name part
 * and appears in logs. */
bool pa_sku_name_valid(const char *name);

/* Loads DIR/sku_<name>.json. On failure *sku is left empty. */
int pa_sku_load(const char *dir, const char *name, struct pa_sku *sku, struct ft_error *err);
void pa_sku_free(struct pa_sku *sku);

struct pa_auth_entry {
    char sku[PA_NAME_MAX];
    char hash[128]; /* bcrypt */
    char methods[PA_METHODS_MAX][PA_NAME_MAX];
    size_t n_methods;
};

struct pa_auth_table {
    struct pa_auth_entry *entries;
    size_t count;
};

/* Loads DIR/sku_auth.json. */
int pa_auth_table_load(const char *dir, struct pa_auth_table *table, struct ft_error *err);
void pa_auth_table_free(struct pa_auth_table *table);
/* Exact match first, then the longest configured name that is a prefix of `sku` (upstream's
 * "family SKU"); NULL when none. */
const struct pa_auth_entry *pa_auth_lookup(const struct pa_auth_table *table, const char *sku);

#endif
