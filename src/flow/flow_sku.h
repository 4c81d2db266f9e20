/* A SKU as the harness personalizes it (skus/<name>.json, docs/skus.md):
 *
 *   { "name": "emulation_tpm",
 *     "firmware": "master",
 *     "blob_version": 0,
 *     "certs": [ {"name": "UDS",    "ca": "dice", "endorse": "host",   "max_size": 1024},
 *                {"name": "CDI_0",  "ca": "dice", "endorse": "device", "max_size": 1024},
 *                {"name": "CDI_1",  "ca": "dice", "endorse": "device", "max_size": 1024},
 *                {"name": "TPM EK", "ca": "ext",  "endorse": "host",   "max_size": 1024} ],
 *     "plugin": {"name": "inject", "config": "name=EXTRA input=cert", "certs": ["EXTRA"],
 *                "inputs": [{"name": "cert", "path": "certs/extra.der"}]},
 *     "timeouts_ms": {"default": 30000, "export": 10000},
 *     "lc_state": "PROD",
 *     "benchtop": {"was_seed": "<64 hex>", "was_diversifier": "was"},
 *     "dev_seeds": 0,
 *     "boot_check": {"owner_success_text": "Bare metal PASS!"},
 *     "bootstrap": {"image": "images/perso.bin", "second_image": "images/bundle.bin"} }
 *
 * Plugin input paths are relative to the SKU file's directory and stay beneath it (no
 * absolute paths, no ..); a SKU file must be trusted like a plugin (common/trust.h).
 * Unknown keys are errors;
 * every error names the file, the key and the reason. */
#ifndef FTHARNESS_FLOW_FLOW_SKU_H
#define FTHARNESS_FLOW_FLOW_SKU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "wire/fw_gen.h"
#include "wire/perso_tlv.h"

#define FLOW_SKU_NAME_MAX 64u
#define FLOW_SKU_CERTS_MAX 12u
#define FLOW_SKU_INPUTS_MAX 8u
#define FLOW_SKU_PLUGIN_CERTS_MAX 8u
#define FLOW_PATH_MAX 512u
#define FLOW_SKU_DEV_SEEDS_MAX 5u /* the ATE's seed array */

enum flow_ca_kind {
    FLOW_CA_DICE,
    FLOW_CA_EXT,
};

struct flow_sku_cert {
    char name[PERSO_CERT_NAME_MAX_V0 + 1];
    enum flow_ca_kind ca;
    bool host_endorsed; /* the chip sends a TBS; else it sends the signed cert */
    size_t max_size;    /* of the DER (TBS or cert) the chip sends */
};

/* Steps with their own deadlines; FLOW_WAIT_DEFAULT applies to the others. */
enum flow_wait {
    FLOW_WAIT_DEFAULT,
    FLOW_WAIT_RMA,
    FLOW_WAIT_CERTGEN,
    FLOW_WAIT_EXPORT,
    FLOW_WAIT_IMPORT,
    FLOW_WAIT_HASH,
    FLOW_WAIT_DONE,
    FLOW_WAIT_BOOT,      /* the post-perso boot check: ROM_EXT banner, then the owner text */
    FLOW_WAIT_BOOTSTRAP, /* one ROM bootstrap: erase and program */
    FLOW_WAIT_COUNT,
};

struct flow_sku {
    char name[FLOW_SKU_NAME_MAX];
    char dir[FLOW_PATH_MAX]; /* the SKU file's directory; plugin inputs lie beneath it */
    enum fw_gen firmware;    /* the perso firmware generation the SKU's chips run */
    enum perso_blob_version blob_version;
    unsigned dev_seeds; /* DevSeed objects the chip sends after its certificates */
    struct flow_sku_cert certs[FLOW_SKU_CERTS_MAX]; /* in the order the chip sends them */
    size_t n_certs;
    char plugin[FLOW_SKU_NAME_MAX]; /* "noop" when not set */
    char plugin_config[256];        /* handed to the plugin as ctx->config */
    struct {
        char name[64];
        char path[FLOW_PATH_MAX]; /* resolved against the SKU file's directory */
    } plugin_inputs[FLOW_SKU_INPUTS_MAX];
    size_t n_plugin_inputs;
    /* Names of the certificates the plugin may append ("plugin.certs"); none when empty. */
    char plugin_certs[FLOW_SKU_PLUGIN_CERTS_MAX][FLOW_SKU_NAME_MAX];
    size_t n_plugin_certs;
    unsigned timeout_ms[FLOW_WAIT_COUNT];
    int lc_state; /* ot.DeviceLifeCycle value */
    bool benchtop_was;
    uint8_t was_seed[32];
    char was_diversifier[49];
    /* Post-perso boot check (DESIGN §2 step 14): reset, then the UART must show the
     * ROM_EXT banner and the owner firmware's text, with no boot failure before it. The
     * text is the service's GetOwnerFwBootMessage; the file's, when given, must agree. */
    bool boot_check;
    char owner_success_text[128];
    /* ROM bootstrap before perso (DESIGN §2 step 1): "" when the chip already holds the
     * perso firmware. With a second image, the first one asks for it
     * ("Bootstrap requested."). Resolved against the SKU file's directory. */
    char bootstrap_image[FLOW_PATH_MAX];
    char bootstrap_second_image[FLOW_PATH_MAX];
};

/* Loads `name_or_path`: a path to a .json file, or a name looked up as <sku_dir>/<name>.json. */
int flow_sku_load(const char *sku_dir, const char *name_or_path, struct flow_sku *sku,
                  struct ft_error *err);

/* Parses SKU JSON held in memory; `file` names it in messages and anchors relative plugin
 * input paths, as flow_sku_load's path does. */
int flow_sku_parse(const char *file, const char *text, size_t len, struct flow_sku *sku,
                   struct ft_error *err);

const struct flow_sku_cert *flow_sku_find_cert(const struct flow_sku *sku, const char *name);

#endif
