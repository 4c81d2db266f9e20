/* Fuzz target: the SKU file parser (skus/<name>.json is configuration from outside). An
 * accepted SKU must respect every limit the flow relies on. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_sku.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct flow_sku sku;
    if (flow_sku_parse("/fuzz/sku.json", (const char *)data, size, &sku, NULL) != 0)
        return 0;
    if (sku.n_certs == 0 || sku.n_certs > FLOW_SKU_CERTS_MAX ||
        sku.n_plugin_inputs > FLOW_SKU_INPUTS_MAX || sku.name[0] == '\0' ||
        strlen(sku.name) >= sizeof(sku.name) || strchr(sku.plugin, '/') != NULL ||
        (unsigned)sku.firmware >= FW_GEN_COUNT || sku.dev_seeds > FLOW_SKU_DEV_SEEDS_MAX)
        abort();
    /* A V1 SKU only on a generation that has V1, and never with an extension TBS where
     * the generation leaves it out of the WAS HMAC (the boot text may come from the
     * service: an empty owner_success_text is allowed). */
    const struct fw_gen_info *gen = fw_gen_info(sku.firmware);
    bool v1 = sku.blob_version == PERSO_BLOB_V1;
    if (v1 && !gen->has_v1)
        abort();
    for (size_t i = 0; i < sku.n_certs; i++) {
        const struct flow_sku_cert *c = &sku.certs[i];
        if (c->name[0] == '\0' || flow_sku_find_cert(&sku, c->name) == NULL)
            abort();
        if (v1 && c->host_endorsed && strcmp(c->name, "UDS") != 0 &&
            (gen->v0_headed_in_v1 & FW_GEN_BIT(PERSO_OBJ_X509_TBS)))
            abort();
    }
    return 0;
}
