/* Fuzz target: the SKU file parser (skus/<name>.json is configuration from outside). An
 * accepted SKU must respect every limit the flow relies on. */
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
        (sku.boot_check && sku.owner_success_text[0] == '\0'))
        abort();
    for (size_t i = 0; i < sku.n_certs; i++)
        if (sku.certs[i].name[0] == '\0' || flow_sku_find_cert(&sku, sku.certs[i].name) == NULL)
            abort();
    return 0;
}
