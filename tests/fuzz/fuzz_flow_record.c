/* Fuzz target: the device record reader (`ftharness register --record FILE` reads a file
 * from the record directory, which anyone with access to it could have edited). An
 * accepted record must hold what registration relies on, within its limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct flow_record rec;
    if (flow_record_parse((const char *)data, size, &rec, NULL) != 0)
        return 0;
    if (rec.n_certs > FLOW_CERTS_MAX || strlen(rec.sku) >= sizeof(rec.sku) ||
        strlen(rec.site) >= sizeof(rec.site) ||
        (rec.wrapped_rma_seed_len > 0) != (rec.wrapped_rma_seed != NULL))
        abort();
    for (size_t i = 0; i < rec.n_certs; i++)
        if (rec.certs[i].len == 0 || rec.certs[i].der == NULL)
            abort();
    flow_record_free(&rec);
    return 0;
}
