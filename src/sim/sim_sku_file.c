#include "sim/sim_sku_file.h"

#include <stdio.h>
#include <string.h>

#include "flow/flow_sku.h"

bool sim_sku_is_path(const char *value)
{
    size_t n = strlen(value);
    return strchr(value, '/') != NULL || (n > 5 && strcmp(value + n - 5, ".json") == 0);
}

/* The chip's own DICE chain, first and in this order: what the perso firmware makes. */
static int check_dice(const char *path, const struct flow_sku *f, struct ft_error *err)
{
    static const struct {
        const char *name;
        bool host_endorsed;
    } dice[] = {{"UDS", true}, {"CDI_0", false}, {"CDI_1", false}};
    for (size_t i = 0; i < 3; i++) {
        const struct flow_sku_cert *c = i < f->n_certs ? &f->certs[i] : NULL;
        if (c == NULL || strcmp(c->name, dice[i].name) != 0 || c->ca != FLOW_CA_DICE ||
            c->host_endorsed != dice[i].host_endorsed)
            return ft_fail(err, FT_E_INVALID,
                           "%s: certs[%zu]: ftsim's chip starts with its DICE chain UDS (dice, "
                           "host), CDI_0 and CDI_1 (dice, device)",
                           path, i);
    }
    return 0;
}

int sim_sku_from_file(struct sim_config *cfg, const char *path, struct ft_error *err)
{
    struct flow_sku f;
    if (flow_sku_load(".", path, &f, err) != 0 || check_dice(path, &f, err) != 0)
        return -1;
    struct sim_sku *sku = &cfg->sku;
    memset(sku, 0, sizeof(*sku));
    size_t len = strlen(f.name);
    if (len >= sizeof(sku->name))
        return ft_fail(err, FT_E_INVALID, "%s: name: ftsim takes at most %zu characters", path,
                       sizeof(sku->name) - 1);
    memcpy(sku->name, f.name, len + 1);
    sku->blob_version = f.blob_version;
    for (size_t i = 3; i < f.n_certs; i++) {
        const struct flow_sku_cert *c = &f.certs[i];
        if (c->ca != FLOW_CA_EXT || !c->host_endorsed)
            return ft_fail(
                err, FT_E_INVALID,
                "%s: certs[%zu] %s: ftsim models further certificates as ext "
                "certificates the host endorses (\"ca\": \"ext\", \"endorse\": \"host\")",
                path, i, c->name);
        len = strlen(c->name);
        if (sku->n_ext == SIM_EXT_CERTS_MAX || len >= SIM_NAME_MAX)
            return ft_fail(err, FT_E_INVALID,
                           "%s: certs[%zu] %s: ftsim holds at most %u ext certificates of names "
                           "under %u characters",
                           path, i, c->name, SIM_EXT_CERTS_MAX, SIM_NAME_MAX);
        struct sim_ext_cert *e = &sku->ext[sku->n_ext++];
        memcpy(e->name, c->name, len + 1); /* both fit: len < SIM_NAME_MAX */
        memcpy(e->group, c->name, len + 1);
    }
    sku->n_injected = (unsigned)f.n_plugin_certs;
    if (f.dev_seeds > SIM_DEV_SEEDS_MAX)
        return ft_fail(err, FT_E_INVALID, "%s: dev_seeds: ftsim emits at most %u DevSeed objects",
                       path, SIM_DEV_SEEDS_MAX);
    sku->dev_seeds = f.dev_seeds;
    /* The file names the generation its chips run; --firmware, given before or after
     * --sku, wins. */
    if (!cfg->firmware_set)
        cfg->firmware = f.firmware;
    /* The device ID fields of the built-in SKUs (upstream's orchestrator values). */
    sku->si_creator_id = 0x4001;
    sku->product_id = 0x0002;
    snprintf(sku->otp, sizeof(sku->otp), "%s", sku->n_ext ? "em00" : "sv00");
    return 0;
}
