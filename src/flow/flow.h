/* The per-DUT personalization flow (DESIGN.md §2 steps 2-13) as one engine for
 * `ftharness run`, the daemon workers and the tests. No globals: everything it uses comes
 * in `struct flow_env`, everything it learns goes out in `struct flow_record`. */
#ifndef FTHARNESS_FLOW_FLOW_H
#define FTHARNESS_FLOW_FLOW_H

#include <openssl/x509.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "console/console.h"
#include "flow/flow_sku.h"
#include "pa/pa_client.h"

/* Steps, named as upstream's PROVISIONING_DATA stats. */
enum flow_step {
    FLOW_STEP_BOOTSTRAP,     /* first-bootstrap: the perso firmware image */
    FLOW_STEP_BOOTSTRAP2,    /* second-bootstrap: when the SKU has a second image */
    FLOW_STEP_RMA,           /* send-rma-unlock-token */
    FLOW_STEP_WAIT_READY,    /* perso-wait-ready */
    FLOW_STEP_CERTGEN,       /* perso-certgen-inputs */
    FLOW_STEP_EXPORT,        /* perso-tbs-export */
    FLOW_STEP_PROCESS,       /* perso-process-blobs: checks and endorsement */
    FLOW_STEP_FT_EXT,        /* perso-ft-ext */
    FLOW_STEP_IMPORT,        /* perso-import-certs */
    FLOW_STEP_VALIDATE_DICE, /* perso-validate-dice */
    FLOW_STEP_VALIDATE_SKU,  /* perso-validate-sku */
    FLOW_STEP_DONE,          /* perso-all-certs-done */
    FLOW_STEP_BOOT,          /* rom_ext-done: the post-perso boot check */
    FLOW_STEP_REGISTER,      /* register-device */
    FLOW_STEP_COUNT,
};

const char *flow_step_name(enum flow_step step);

/* The SKU session's CA material: from GetCaCerts/GetCaSubjectKeys (borrowed). */
struct flow_ca {
    X509 *root;
    X509 *dice;
    X509 *ext; /* NULL when the SKU has no ext CA */
    uint8_t dice_key_id[20];
    uint8_t ext_key_id[20];
    bool has_ext_key_id;
    /* The boot check's owner-firmware text: the service's GetOwnerFwBootMessage, or the
     * SKU file's when the service has none for the SKU. */
    char owner_boot_text[128];
};

#define FLOW_PLUGIN_VERSION_MAX 64u

/* The SKU plugin, run on the host->device TLV body; replaces it (len, num_objs) and
 * names the plugin's version (from its descriptor) for the record. */
typedef int (*flow_plugin_fn)(void *arg, const struct flow_sku *sku, const uint8_t device_id[32],
                              uint8_t *body, size_t *len, size_t cap, size_t *num_objs,
                              char version[FLOW_PLUGIN_VERSION_MAX], struct ft_error *err);

/* The SKU plugin's ft_post_boot_ext on the body that went to the chip: text the boot must
 * show before the owner firmware's success text ("" for none). */
typedef int (*flow_post_boot_fn)(void *arg, const struct flow_sku *sku, const uint8_t device_id[32],
                                 const uint8_t *body, size_t len, size_t num_objs, char *text,
                                 size_t cap, struct ft_error *err);

struct flow_record;

/* An RMA token from DeriveTokens (a fresh KEYGEN seed, wrapped to the SKU's RMA key): the
 * hash for the chip, the wrapped seed for the record. A daemon worker fetches the next
 * DUT's while the current one runs, taking DeriveTokens off the critical path; one token
 * serves one DUT at most and is discarded when unused. */
struct flow_rma_token {
    char sku[FLOW_SKU_NAME_MAX]; /* the SKU it was derived for */
    uint8_t hash[16];
    uint8_t *wrapped_seed; /* owned; NULL: no token */
    size_t wrapped_seed_len;
};

/* DeriveTokens for one RMA token of `sku` on the open session of `pa`. */
int flow_rma_token_fetch(struct pa_client *pa, const struct flow_sku *sku,
                         struct flow_rma_token *tok, struct ft_error *err);

/* Wipes and frees the token (an unused one is never given to another chip). */
void flow_rma_token_discard(struct flow_rma_token *tok);

struct flow_env {
    struct console *console;
    struct console *boot_console;  /* UART with reset for the boot check; NULL: none */
    struct spi_bus *bootstrap_bus; /* the chip's SPI for the ROM bootstrap; NULL: none */
    /* The SKU's bootstrap images (sku->bootstrap_image, ..._second_image), read by the
     * caller; len 0 when there is none. */
    const uint8_t *bootstrap_image;
    size_t bootstrap_image_len;
    const uint8_t *bootstrap_second_image;
    size_t bootstrap_second_image_len;
    struct pa_client *pa; /* endorsement and registration */
    /* The RMA token fetched ahead for this DUT, or NULL (or none in it, or one of another
     * SKU): DeriveTokens in the flow. The flow takes it: its seed moves into the record. */
    struct flow_rma_token *rma_token;
    const struct flow_sku *sku;
    const struct flow_ca *ca;
    bool benchtop;        /* RMA token made here instead of DeriveTokens */
    bool register_device; /* RegisterDevice at the end */
    flow_plugin_fn plugin;
    flow_post_boot_fn post_boot; /* may be NULL; gets plugin_arg too */
    void *plugin_arg;
    double timeout_scale;                  /* multiplies every SKU deadline (>0) */
    const char *site;                      /* user_id-style "<host>/<site>" for the record */
    unsigned year, week, lot, wafer, x, y; /* DIN for the registry metadata */
    /* Called at the start and end of each step (for progress lines); may be NULL. */
    void (*progress)(void *arg, enum flow_step step, bool done, uint64_t elapsed_us);
    /* Called as a bootstrap image goes out (bytes handled of total); may be NULL. */
    void (*upload_progress)(void *arg, size_t done, size_t total);
    void *progress_arg;
    /* Durability (DESIGN §4): called with the record at every change of what the chip
     * holds; a failure stops the run there. The wrapped RMA seed is in the record before
     * the token hash goes to the chip: once SECRET2 is written it is the only way to
     * RMA-unlock the chip. NULL only where nothing must survive (unit tests). */
    int (*persist)(void *arg, const struct flow_record *rec, struct ft_error *err);
    /* For a chip whose SECRET2 an earlier run wrote (it skips the RMA prompt): finds
     * that run's record by device ID and copies its wrapped RMA seed and token hash into
     * `into`. Returns 1 found, 0 none, -1 error. May be NULL (then none). */
    int (*find_earlier)(void *arg, const uint8_t device_id[32], struct flow_record *into,
                        struct ft_error *err);
    void *persist_arg;
    /* Opens a new service session on `pa` when the service has lost this one (it
     * restarted: it answers INTERNAL "user not found", as upstream's auth interceptor
     * does); the call that met it is then made once more. NULL: such a call fails. */
    int (*reopen_session)(void *arg, struct ft_error *err);
    void *reopen_arg;
    /* Set asynchronously (a signal handler) to end the run at its next wait. */
    const volatile sig_atomic_t *abort_requested;
};

#define FLOW_CERTS_MAX 16u
#define FLOW_SEEDS_MAX 5u /* DevSeed and GenericSeed objects: the ATE's seed array */

/* Who signed a certificate of the record: the endorsement service (from a TBS), the
 * chip itself, or nobody here (the SKU plugin added it after endorsement). */
enum flow_cert_origin { FLOW_CERT_DEVICE, FLOW_CERT_HOST, FLOW_CERT_PLUGIN };

/* Who a failure is owed to, for the exit class (exit 2..7). */
enum flow_blame {
    FLOW_BLAME_NONE,
    FLOW_BLAME_CHIP,    /* the chip or its link */
    FLOW_BLAME_SERVICE, /* the endorsement service, at whatever step */
    FLOW_BLAME_PLUGIN,
    FLOW_BLAME_CHECK, /* the chip's data failed a host check */
    FLOW_BLAME_LOCAL, /* this host: the record directory, memory */
    FLOW_BLAME_ABORT, /* stopped on request */
};

struct flow_cert {
    char name[PERSO_CERT_NAME_MAX_V1 + 1];
    uint8_t *der; /* owned */
    size_t len;
    enum flow_cert_origin origin;
};

/* A DevSeed or GenericSeed the chip sent: registered with its certificates. */
struct flow_seed {
    enum perso_obj_type type;
    uint8_t data[PERSO_DEV_SEED_SIZE];
    size_t len;
};

/* The device record (DESIGN.md §7), a superset of upstream's PROVISIONING_DATA. */
struct flow_record {
    char sku[FLOW_SKU_NAME_MAX];
    char site[128];
    bool pass;
    enum flow_step failed_step;
    enum ft_code error_code;
    char error[FT_ERROR_MESSAGE_MAX];
    enum flow_blame blame;
    const char *dut_state; /* what the chip holds, as its words showed it */
    bool running;          /* the run has not ended (a journal entry of a run) */
    bool secret2_earlier;  /* the chip skipped the RMA prompt: an earlier run wrote it */
    /* The DIN the tester gave ("Y<year>W<week>L<lot>F<wafer>X<x>Y<y>"), "" when none: what
     * ties a run killed before the chip named itself to the chip it had. */
    char din[48];
    /* What RegisterDevice needs besides the certificates (flow_register). */
    int lc_state;
    enum perso_blob_version blob_version;
    enum fw_gen firmware;
    unsigned year, week, lot, wafer, x, y;
    char earlier_record[256]; /* the record file (in the record dir) its seed came from */
    uint8_t device_id[32];
    bool has_device_id;
    uint8_t perso_fw_hash[32];
    uint8_t certs_hash[32];
    struct flow_cert certs[FLOW_CERTS_MAX]; /* final certificates, blob order */
    char plugin[FLOW_SKU_NAME_MAX];         /* "" when the SKU has none */
    char plugin_version[FLOW_PLUGIN_VERSION_MAX];
    char boot_check[96];      /* "" (SKU has none), "PASS" or "skipped: <why>" */
    char rom_ext_version[64]; /* from the ROM_EXT banner of the boot check */
    size_t n_certs;
    struct flow_seed seeds[FLOW_SEEDS_MAX]; /* blob order */
    size_t n_seeds;
    uint8_t rma_token_hash[16];
    uint8_t *wrapped_rma_seed; /* owned; from DeriveTokens (KEYGEN, wrap_seed) */
    size_t wrapped_rma_seed_len;
    uint64_t stats_us[FLOW_STEP_COUNT];
    bool step_ran[FLOW_STEP_COUNT];
    int64_t start_ms; /* Unix time */
    int64_t end_ms;
    /* When the chip finished personalization (DeviceData create_time_ms); kept so that
     * registering again from the record sends the same bytes. 0: not yet. */
    int64_t register_ms;
};

/* Personalizes the DUT on env->console. Returns 0 for PASS; -1 with the record (and
 * `err`) naming the failed step, the cause and the DUT's state. Always fills *rec. */
int flow_run(const struct flow_env *env, struct flow_record *rec, struct ft_error *err);

void flow_record_free(struct flow_record *rec);

/* The record as NEW JSON text (docs/record.schema.json). */
char *flow_record_json(const struct flow_record *rec, bool pretty);

/* Reads back a record written by flow_record_json (a record file, for `ftharness
 * register`): what RegisterDevice needs. Every field is checked for type and size; the
 * error names it. The caller frees *rec with flow_record_free. */
int flow_record_parse(const char *text, size_t len, struct flow_record *rec, struct ft_error *err);

/* RegisterDevice for the personalized chip of `rec` (the session is open on `pa`): step 13
 * of a run, or later from its record. Idempotent at the service. */
int flow_register(struct pa_client *pa, const struct flow_record *rec, struct ft_error *err);

/* InitSession alone, for a command that registers a record (no CA certificates). */
int flow_session_init(struct pa_client *pa, const char *sku, const char *password,
                      struct ft_error *err);

/* Opens a SKU session on the endorsement service: InitSession, GetCaCerts (root, dice,
 * ext), GetCaSubjectKeys (UDS, EXT). The certificates are NEW (flow_ca_free). */
int flow_session_open(struct pa_client *pa, const struct flow_sku *sku, const char *password,
                      struct flow_ca *ca, struct ft_error *err);
void flow_ca_free(struct flow_ca *ca);

#endif
