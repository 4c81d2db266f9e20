/* `ftpa init`: a complete development PKI and configuration for one SKU (root CA, DICE
 * ICA, ext ICA, identity key, token seeds, RMA wrapping key, auth entry), written under
 * DIR in the layout pa_sku_load() reads. Private keys and seeds are created mode 0600. */
#ifndef FTHARNESS_PA_PA_INIT_H
#define FTHARNESS_PA_PA_INIT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define PA_INIT_HASH_ORDER_MAX 16u

struct pa_init_options {
    const char *dir;
    const char *sku;
    const char *root_subject; /* one-line DNs: /C=US/O=.../CN=... */
    const char *dice_subject;
    const char *ext_subject;  /* NULL: no ext ICA */
    const char *password;     /* NULL: a random one, written to DIR/<sku>/password */
    const char *boot_message; /* GetOwnerFwBootMessage */
    const char *hash_order[PA_INIT_HASH_ORDER_MAX]; /* x509 cert names, blob order */
    size_t n_hash_order;
};

int pa_init_sku(const struct pa_init_options *o, struct ft_error *err);

#endif
