/* Everything that shapes a simulated chip: SKU profile, PKI names, seeds, timing and
 * faults. Filled with defaults by sim_config_defaults() and from the command line by
 * ftsim; the model never reads anything else. */
#ifndef FTHARNESS_SIM_SIM_CONFIG_H
#define FTHARNESS_SIM_SIM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "wire/fw_gen.h"
#include "wire/perso_tlv.h"

#define SIM_NAME_MAX 32u
#define SIM_DN_MAX 256u
#define SIM_EXT_CERTS_MAX 4u
#define SIM_DIVERSIFIER_SIZE 48u
#define SIM_DEV_SEEDS_MAX 2u /* DevSeed objects a sim SKU may emit */

/* Steps of the perso firmware, used to place delays and faults. */
enum sim_step {
    SIM_STEP_NONE = 0,
    SIM_STEP_RMA,     /* Waiting For RMA Unlock Token Hash ... */
    SIM_STEP_CERTGEN, /* Waiting for certificate inputs ... + key and cert generation */
    SIM_STEP_EXPORT,  /* Exporting TBS certificates ... + the blob */
    SIM_STEP_IMPORT,  /* Importing endorsed certificates ... until Finished importing */
    SIM_STEP_HASH,    /* SerdesSha256Hash response + OTP finalization */
    SIM_STEP_DONE,    /* Personalization done. */
    SIM_STEP_COUNT,
};

const char *sim_step_name(enum sim_step step);
int sim_step_parse(const char *name, enum sim_step *step, struct ft_error *err);

enum sim_console {
    SIM_CONSOLE_SPI,  /* OTTF SPI console with the TX-ready pin (as provisioning runs) */
    SIM_CONSOLE_UART, /* the same text over the UART */
};

struct sim_ext_cert {
    char name[SIM_NAME_MAX];  /* TLV name, e.g. "TPM EK" */
    char group[SIM_NAME_MAX]; /* flash layout group, e.g. "TPM" */
};

struct sim_sku {
    char name[SIM_NAME_MAX];
    enum perso_blob_version blob_version;
    unsigned n_ext;
    struct sim_ext_cert ext[SIM_EXT_CERTS_MAX]; /* host-endorsed SKU certs (Ext0 layout) */
    unsigned n_injected;      /* certs a host plugin adds (Ext1 layout, not hashed) */
    bool two_stage_bootstrap; /* print "Bootstrap requested." and wait for a second image */
    /* DevSeed objects (128-byte payloads) the SKU's extension emits after the certs, before
     * WasTbsHmac, and feeds into the final certs hash (no upstream SKU does; docs/ftsim.md). */
    unsigned dev_seeds;
    /* Device ID fields (reference §10.1). */
    uint16_t si_creator_id;
    uint16_t product_id;
    uint8_t package_id;
    uint8_t ast_cfg_version;
    char otp[8];
};

struct sim_faults {
    enum sim_step stall_at;       /* stop responding at the start of this step */
    enum sim_step junk_frames_at; /* a junk frame before every frame of this step */
    enum sim_step wrong_frame_at; /* first frame of this step carries the wrong number */
    enum sim_step reset_at;       /* spontaneous chip reset at the start of this step */
    enum sim_step disconnect_at;  /* the link drops in the middle of this step's output */
    enum sim_step truncate_at;    /* this step's RESP_OK line is cut short */
    enum sim_step bad_crc_at;     /* this step's RESP_OK line carries a wrong CRC */
    enum sim_step check_fail_at;  /* a failed CHECK at this step: error log line, FAIL! */
    bool corrupt_tlv;             /* first object header of the exported blob is wrong */
    bool oversize_object;         /* the exported blob carries a bloated UDS TBS */
    bool bad_was_hmac;            /* one bit of the WAS HMAC flipped */
    bool bad_hash;                /* one bit of the final certs hash flipped */
    bool test_error;              /* OTP finalization fails: TestError GPIO, no TestDone */
    bool reject_import;           /* the imported body is refused: TestError, closing line */
    bool bad_boot;                /* after perso, ROM_EXT reports a boot fault (BFV) */
    unsigned slow_factor;         /* every step delay multiplied by this (0 or 1: off) */
};

struct sim_config {
    struct sim_sku sku;
    /* Which generation of the perso firmware and ROM the chip runs (--firmware). */
    enum fw_gen firmware;
    bool firmware_set; /* given by --firmware: a SKU file's "firmware" does not override it */
    char dice_ca_subject[SIM_DN_MAX]; /* issuer of UDS */
    char ext_ca_subject[SIM_DN_MAX];  /* issuer of SKU ext certs */
    uint8_t was_seed[32];             /* the endorsement service's WAS seed */
    char was_diversifier[SIM_DIVERSIFIER_SIZE + 1];
    uint64_t seed; /* all device randomness derives from it */
    unsigned step_delay_ms[SIM_STEP_COUNT];
    unsigned duts;                         /* chips served in a row (0 = unlimited) */
    unsigned year, week, lot, wafer, x, y; /* first chip's DIN; y advances per chip */
    enum sim_console console;
    /* Someone puts each next chip in: the handler over a socket link (NEXT_CHIP), or ftsim
     * itself on a pty alone, once the host has closed the tty. Without one the next chip
     * of a row follows a finished one at once. */
    bool handler;
    bool blank; /* no perso firmware until it is bootstrapped */
    bool perso_hash_set;
    uint8_t perso_hash[32]; /* PersoSha256Hash when not from a bootstrapped image */
    struct sim_faults faults;
    bool verbose; /* log the model's decisions on stderr */
    /* A file that keeps the first chip's OTP (SECRET2 and its RMA token hash) across
     * ftsim runs, as silicon keeps it across test insertions; "" for none. */
    char otp_state[256];
    bool upstream_der; /* certs keep upstream's explicit DEFAULT FALSE encodings */
};

/* Defaults: SKU sival, V0, SPI console, upstream-like timing (about 375 ms per chip). */
void sim_config_defaults(struct sim_config *cfg);

/* Loads a built-in SKU profile: sival, emulation_tpm, sival_v1, emulation_tpm_v1,
 * sival_inject, sival_devseed. */
int sim_config_set_sku(struct sim_config *cfg, const char *name, struct ft_error *err);

/* Sets all step delays: "upstream" (default), "zero". */
int sim_config_set_timing(struct sim_config *cfg, const char *profile, struct ft_error *err);

/* Parses one --fault switch: NAME or NAME=STEP (see docs/ftsim.md). */
int sim_config_add_fault(struct sim_config *cfg, const char *spec, struct ft_error *err);
/* The same on a set of faults (a handler's faults for one chip). */
int sim_faults_add(struct sim_faults *faults, const char *spec, struct ft_error *err);
/* Every spec of `text` (`len` bytes, not NUL-terminated), separated by spaces or commas:
 * NEXT_CHIP's payload. Stops at the first bad one, which `err` names. */
int sim_faults_add_list(struct sim_faults *faults, const char *text, size_t len,
                        struct ft_error *err);

#endif
