#include "cli/plugin_flow.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/plugin.h"

static void forward_log(void *user, int level, const char *line)
{
    const char *plugin = user;
    fprintf(stderr, "<%d>plugin %s: %s\n", level, plugin, line);
}

int plugin_flow_run(void *arg, const struct flow_sku *sku, const uint8_t device_id[32],
                    uint8_t *body, size_t *len, size_t cap, size_t *num_objs,
                    char version[FLOW_PLUGIN_VERSION_MAX], struct ft_error *err)
{
    const struct plugin_flow_ctx *ctx = arg;
    struct plugin_input inputs[FLOW_SKU_INPUTS_MAX];
    for (size_t i = 0; i < sku->n_plugin_inputs; i++)
        inputs[i] = (struct plugin_input){.name = sku->plugin_inputs[i].name,
                                          .path = sku->plugin_inputs[i].path};
    struct plugin_request req = {
        .dir = ctx->dir,
        .name = sku->plugin,
        .runner = ctx->runner,
        .call = PLUGIN_CALL_FT_EXT,
        .sku = sku->name,
        .blob_version = sku->blob_version,
        .body = body,
        .len = *len,
        .num_objs = *num_objs,
        .capacity = cap,
        .config = sku->plugin_config,
        .inputs = inputs,
        .num_inputs = sku->n_plugin_inputs,
        .deadline_ms = ctx->deadline_ms ? ctx->deadline_ms : 5000,
        .log = forward_log,
        .log_user = (void *)sku->plugin,
    };
    memcpy(req.device_id, device_id, sizeof(req.device_id));
    struct plugin_result *res = calloc(1, sizeof(*res)); /* holds a whole body */
    if (res == NULL)
        return ft_fail(err, FT_E_NOMEM, "plugin %s: out of memory", sku->plugin);
    int rc = plugin_run(&req, res, err);
    snprintf(version, FLOW_PLUGIN_VERSION_MAX, "%s", res->plugin_version);
    if (rc == 0 && res->len > cap)
        rc = ft_fail(err, FT_E_PLUGIN, "plugin %s: output of %zu bytes exceeds %zu", sku->plugin,
                     res->len, cap);
    if (rc == 0) {
        memcpy(body, res->body, res->len);
        *len = res->len;
        *num_objs = res->num_objs;
    }
    free(res);
    return rc;
}

void plugin_flow_default_runner(char *out, size_t cap)
{
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char candidate[1100];
        snprintf(candidate, sizeof(candidate), "%s/ftharness-plugin-runner", dirname(self));
        if (access(candidate, X_OK) == 0) {
            snprintf(out, cap, "%s", candidate);
            return;
        }
    }
    snprintf(out, cap, "%s", FTHARNESS_RUNNER_DEFAULT);
}
