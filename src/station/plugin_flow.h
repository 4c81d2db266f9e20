/* The flow's plugin step (flow_plugin_fn) on the sandboxed plugin runner (src/plugin). */
#ifndef FTHARNESS_STATION_PLUGIN_FLOW_H
#define FTHARNESS_STATION_PLUGIN_FLOW_H

#include "flow/flow.h"

struct plugin_flow_ctx {
    const char *dir;      /* trusted plugin directory */
    const char *runner;   /* ftharness-plugin-runner */
    unsigned deadline_ms; /* per call */
};

/* Loads the SKU's plugin in the sandbox (descriptor, ABI, ft_ext exported, inputs read
 * and trusted) without calling it: the check before the chip is touched. */
int plugin_flow_check(void *arg, const struct flow_sku *sku, struct ft_error *err);

int plugin_flow_run(void *arg, const struct flow_sku *sku, const uint8_t device_id[32],
                    uint8_t *body, size_t *len, size_t cap, size_t *num_objs,
                    char version[FLOW_PLUGIN_VERSION_MAX], struct ft_error *err);

int plugin_flow_post_boot(void *arg, const struct flow_sku *sku, const uint8_t device_id[32],
                          const uint8_t *body, size_t len, size_t num_objs, char *text, size_t cap,
                          struct ft_error *err);

#endif
