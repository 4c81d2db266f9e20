/* What a SKU plugin may return from ft_ext(), checked against what the host holds before
 * anything reaches the chip (DESIGN.md §4): the endorsed certificates it was given are all
 * there, byte for byte, in their order; anything else is a certificate appended under a
 * name the SKU allows, each name at most once and none of the endorsed ones. A breach is
 * FT_E_PLUGIN naming the plugin and what it did, so the DUT fails as a plugin error
 * (exit 5) with the chip untouched by the forged body. */
#ifndef FTHARNESS_PLUGIN_PLUGIN_OUTPUT_H
#define FTHARNESS_PLUGIN_PLUGIN_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "wire/perso_tlv.h"

/* One side of the check: a TLV body of `version` (already validated as a body). */
struct plugin_body {
    const uint8_t *data;
    size_t len;
};

/* `plugin` names the plugin in messages; `allowed` (borrowed, `n_allowed` names) are the
 * certificate names the SKU lets it append. Returns 0 or -1 with FT_E_PLUGIN:
 *   "plugin forge: endorsed certificate UDS was changed (byte 17 of 412 differs)"
 *   "plugin forge: endorsed certificate CDI_0 is missing or out of order"
 *   "plugin forge: appended certificate UDS is not one the SKU allows (plugin.certs: EXTRA)"
 *   "plugin forge: certificate EXTRA appended twice"
 *   "plugin forge: appended object 3 is a DevSeed; a plugin may only append certificates" */
int plugin_check_output(const char *plugin, enum perso_blob_version version,
                        const struct plugin_body *given, const struct plugin_body *returned,
                        const char *const *allowed, size_t n_allowed, struct ft_error *err);

#endif
