#include "sim/sim_config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const step_names[SIM_STEP_COUNT] = {
    [SIM_STEP_NONE] = "none",     [SIM_STEP_RMA] = "rma",       [SIM_STEP_CERTGEN] = "certgen",
    [SIM_STEP_EXPORT] = "export", [SIM_STEP_IMPORT] = "import", [SIM_STEP_HASH] = "hash",
    [SIM_STEP_DONE] = "done",
};

const char *sim_step_name(enum sim_step step)
{
    return step < SIM_STEP_COUNT ? step_names[step] : "unknown";
}

int sim_step_parse(const char *name, enum sim_step *step, struct ft_error *err)
{
    for (int i = SIM_STEP_RMA; i < SIM_STEP_COUNT; i++) {
        if (strcmp(name, step_names[i]) == 0) {
            *step = (enum sim_step)i;
            return 0;
        }
    }
    return ft_fail(err, FT_E_INVALID,
                   "unknown step \"%s\" (rma, certgen, export, import, hash, done)", name);
}

/* Per-step compute time of the perso firmware on an emulated chip, about 375 ms in all:
 * OTP writes, key generation and on-device signing dominate. */
static const unsigned upstream_delay_ms[SIM_STEP_COUNT] = {
    [SIM_STEP_RMA] = 60,    [SIM_STEP_CERTGEN] = 210, [SIM_STEP_EXPORT] = 10,
    [SIM_STEP_IMPORT] = 60, [SIM_STEP_HASH] = 30,     [SIM_STEP_DONE] = 5,
};

void sim_config_defaults(struct sim_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    sim_config_set_sku(cfg, "sival", NULL);
    snprintf(cfg->dice_ca_subject, sizeof(cfg->dice_ca_subject),
             "/C=US/ST=CA/O=OpenTitan/CN=ftharness development DICE ICA");
    snprintf(cfg->ext_ca_subject, sizeof(cfg->ext_ca_subject),
             "/C=US/ST=CA/O=OpenTitan/CN=ftharness development EXT ICA");
    snprintf(cfg->was_diversifier, sizeof(cfg->was_diversifier), "was");
    cfg->seed = 1;
    cfg->verbose = getenv("FTSIM_VERBOSE") != NULL;
    memcpy(cfg->step_delay_ms, upstream_delay_ms, sizeof(upstream_delay_ms));
    cfg->duts = 1;
    cfg->year = 6;
    cfg->week = 47;
    cfg->lot = 1;
    cfg->wafer = 1;
    cfg->console = SIM_CONSOLE_SPI;
    cfg->firmware = FW_GEN_DEFAULT;
}

struct sku_profile {
    const char *name;
    enum perso_blob_version version;
    bool tpm;
    unsigned injected;
    unsigned dev_seeds;
};

static const struct sku_profile profiles[] = {
    {"sival", PERSO_BLOB_V0, false, 0, 0},        {"emulation_tpm", PERSO_BLOB_V0, true, 0, 0},
    {"sival_v1", PERSO_BLOB_V1, false, 0, 0},     {"emulation_tpm_v1", PERSO_BLOB_V1, true, 0, 0},
    {"sival_inject", PERSO_BLOB_V0, false, 1, 0}, {"sival_devseed", PERSO_BLOB_V0, false, 0, 1},
};

int sim_config_set_sku(struct sim_config *cfg, const char *name, struct ft_error *err)
{
    const struct sku_profile *p = NULL;
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
        if (strcmp(profiles[i].name, name) == 0)
            p = &profiles[i];
    }
    if (p == NULL)
        return ft_fail(err, FT_E_INVALID,
                       "unknown SKU \"%s\" (sival, emulation_tpm, sival_v1, emulation_tpm_v1, "
                       "sival_inject, sival_devseed)",
                       name);
    struct sim_sku *sku = &cfg->sku;
    memset(sku, 0, sizeof(*sku));
    snprintf(sku->name, sizeof(sku->name), "%s", p->name);
    sku->blob_version = p->version;
    sku->n_injected = p->injected;
    sku->dev_seeds = p->dev_seeds;
    if (p->tpm) {
        sku->n_ext = 1;
        snprintf(sku->ext[0].name, sizeof(sku->ext[0].name), "TPM EK");
        snprintf(sku->ext[0].group, sizeof(sku->ext[0].group), "TPM");
    }
    /* Values of the upstream emulation and sival orchestrator configs. */
    sku->si_creator_id = 0x4001;
    sku->product_id = 0x0002;
    sku->package_id = 0;
    sku->ast_cfg_version = 0;
    snprintf(sku->otp, sizeof(sku->otp), "%s", p->tpm ? "em00" : "sv00");
    return 0;
}

int sim_config_set_timing(struct sim_config *cfg, const char *profile, struct ft_error *err)
{
    if (strcmp(profile, "upstream") == 0)
        memcpy(cfg->step_delay_ms, upstream_delay_ms, sizeof(upstream_delay_ms));
    else if (strcmp(profile, "zero") == 0)
        memset(cfg->step_delay_ms, 0, sizeof(cfg->step_delay_ms));
    else
        return ft_fail(err, FT_E_INVALID, "unknown timing profile \"%s\" (upstream, zero)",
                       profile);
    return 0;
}

struct fault_switch {
    const char *name;
    size_t step_offset; /* offsetof the enum sim_step field, or SIZE_MAX */
    size_t flag_offset; /* offsetof the bool field, or SIZE_MAX */
};

#define STEP_FAULT(n, f)                                                                           \
    {                                                                                              \
        n, offsetof(struct sim_faults, f), SIZE_MAX                                                \
    }
#define FLAG_FAULT(n, f)                                                                           \
    {                                                                                              \
        n, SIZE_MAX, offsetof(struct sim_faults, f)                                                \
    }

static const struct fault_switch fault_switches[] = {
    STEP_FAULT("stall", stall_at),
    STEP_FAULT("junk-frames", junk_frames_at),
    STEP_FAULT("wrong-frame-number", wrong_frame_at),
    STEP_FAULT("reset", reset_at),
    STEP_FAULT("disconnect", disconnect_at),
    STEP_FAULT("truncated-response", truncate_at),
    STEP_FAULT("bad-crc", bad_crc_at),
    STEP_FAULT("check-fail", check_fail_at),
    FLAG_FAULT("corrupt-tlv", corrupt_tlv),
    FLAG_FAULT("oversize-object", oversize_object),
    FLAG_FAULT("bad-was-hmac", bad_was_hmac),
    FLAG_FAULT("bad-hash", bad_hash),
    FLAG_FAULT("test-error", test_error),
    FLAG_FAULT("reject-import", reject_import),
    FLAG_FAULT("bad-boot", bad_boot),
};

int sim_config_add_fault(struct sim_config *cfg, const char *spec, struct ft_error *err)
{
    return sim_faults_add(&cfg->faults, spec, err);
}

int sim_faults_add(struct sim_faults *faults, const char *spec, struct ft_error *err)
{
    char name[64];
    const char *eq = strchr(spec, '=');
    size_t name_len = eq ? (size_t)(eq - spec) : strlen(spec);
    if (name_len >= sizeof(name))
        return ft_fail(err, FT_E_INVALID, "fault \"%.40s...\": name too long", spec);
    memcpy(name, spec, name_len);
    name[name_len] = '\0';
    const char *arg = eq ? eq + 1 : NULL;

    if (strcmp(name, "slow") == 0) {
        char *end;
        unsigned long factor = arg ? strtoul(arg, &end, 10) : 0;
        if (arg == NULL || *end != '\0' || factor < 2 || factor > 10000)
            return ft_fail(err, FT_E_INVALID, "fault slow=FACTOR needs a factor in 2..10000");
        faults->slow_factor = (unsigned)factor;
        return 0;
    }
    for (size_t i = 0; i < sizeof(fault_switches) / sizeof(fault_switches[0]); i++) {
        const struct fault_switch *f = &fault_switches[i];
        if (strcmp(f->name, name) != 0)
            continue;
        char *base = (char *)faults;
        if (f->flag_offset != SIZE_MAX) {
            if (arg != NULL)
                return ft_fail(err, FT_E_INVALID, "fault %s takes no step", name);
            *(bool *)(base + f->flag_offset) = true;
            return 0;
        }
        if (arg == NULL)
            return ft_fail(err, FT_E_INVALID, "fault %s needs a step: %s=STEP", name, name);
        if (sim_step_parse(arg, (enum sim_step *)(base + f->step_offset), err) != 0)
            return ft_error_prefix(err, "fault %s", name);
        return 0;
    }
    return ft_fail(err, FT_E_INVALID, "unknown fault \"%s\" (see ftsim --help)", name);
}

int sim_faults_add_list(struct sim_faults *faults, const char *text, size_t len,
                        struct ft_error *err)
{
    char spec[64];
    for (size_t i = 0; i < len;) {
        if (text[i] == ' ' || text[i] == ',') {
            i++;
            continue;
        }
        size_t n = 0;
        while (i + n < len && text[i + n] != ' ' && text[i + n] != ',')
            n++;
        if (n >= sizeof(spec))
            return ft_fail(err, FT_E_INVALID, "fault spec of %zu bytes (at most %zu)", n,
                           sizeof(spec) - 1);
        if (memchr(text + i, '\0', n) != NULL)
            return ft_fail(err, FT_E_INVALID, "NUL byte in a fault spec");
        memcpy(spec, text + i, n);
        spec[n] = '\0';
        if (sim_faults_add(faults, spec, err) != 0)
            return -1;
        i += n;
    }
    return 0;
}
