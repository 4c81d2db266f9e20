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
    bool force; /* replace an existing SKU (its CA, keys, seeds and password) */
};

/* Refuses an invalid name ([a-z0-9_]+) and, without `force`, a SKU already configured in
 * DIR. Every file is created with an explicit mode whatever the umask: 0600 for keys,
 * seeds, passwords and the configuration files, 0644 for certificates and public keys;
 * DIR/<sku>/keys is 0700. */
int pa_init_sku(const struct pa_init_options *o, struct ft_error *err);

#endif
