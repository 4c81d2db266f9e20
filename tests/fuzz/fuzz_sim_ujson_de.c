/* Fuzz target: the device model's ujson reader (what ftsim parses from the host): every
 * message decoder over the same bytes, reading through a bounded byte source. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/ujson_de.h"

struct source {
    const uint8_t *data;
    size_t len;
    size_t pos;
};

static int next_byte(void *ctx)
{
    struct source *s = ctx;
    return s->pos < s->len ? s->data[s->pos++] : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    static struct dev_perso_blob blob;
    struct dev_lc_token_hash hash;
    struct dev_certgen_inputs inputs;
    struct dev_ft_individualize_data ft;
    for (int which = 0; which < 5; which++) {
        struct source src = {copy, size, 0};
        struct ujson_de de;
        ujson_de_init(&de, next_byte, &src);
        switch (which) {
        case 0:
            ujson_de_lc_token_hash_with_crc(&de, &hash, NULL);
            break;
        case 1:
        case 4: /* a2-rc17's struct, without blob_version */
            ujson_de_certgen_inputs(&de, which == 1, &inputs, NULL);
            break;
        case 2:
            ujson_de_perso_blob(&de, &blob, NULL);
            break;
        default:
            ujson_de_ft_individualize(&de, &ft, NULL);
            break;
        }
        if (src.pos > size)
            abort();
    }
    free(copy);
    return 0;
}
