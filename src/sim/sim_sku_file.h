/* ftsim --sku PATH: a chip shaped from a harness SKU file (skus/<name>.json), so a SKU
 * owner can try a new SKU's certificate layout without silicon. The chip keeps its DICE
 * chain (UDS endorsed by the host, CDI_0 and CDI_1 by the chip); every further
 * certificate must be an ext certificate the host endorses (Ext0 layout, in the file's
 * order), and each name in plugin.certs gets a slot for a plugin-added certificate (Ext1
 * layout, outside the certs hash). */
#ifndef FTHARNESS_SIM_SIM_SKU_FILE_H
#define FTHARNESS_SIM_SIM_SKU_FILE_H

#include "common/error.h"
#include "sim/sim_config.h"

/* True when `value` of --sku names a file rather than a built-in SKU. */
bool sim_sku_is_path(const char *value);

/* Loads `path` (the harness's SKU parser and its checks) into cfg->sku, and its
 * "firmware" into cfg->firmware unless --firmware set it. Errors name the file and what
 * ftsim cannot model. */
int sim_sku_from_file(struct sim_config *cfg, const char *path, struct ft_error *err);

#endif
