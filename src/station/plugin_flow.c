#include "station/plugin_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/plugin.h"
#include "plugin/plugin_output.h"

static void forward_log(void *user, int level, const char *line)
{
    const char *plugin = user;
    fprintf(stderr, "<%d>plugin %s: %s\n", level, plugin, line);
}

/* Runs one entry point of the SKU's plugin; *res is caller-allocated (it holds a body). */
static int run_plugin(const struct plugin_flow_ctx *ctx, const struct flow_sku *sku,
                      enum plugin_call call, const uint8_t device_id[32], const uint8_t *body,
                      size_t len, size_t num_objs, size_t cap, struct plugin_result *res,
                      struct ft_error *err)
{
    struct plugin_input inputs[FLOW_SKU_INPUTS_MAX];
    for (size_t i = 0; i < sku->n_plugin_inputs; i++)
        inputs[i] = (struct plugin_input){.name = sku->plugin_inputs[i].name,
                                          .path = sku->plugin_inputs[i].path,
                                          .root = sku->dir};
    struct plugin_request req = {
        .dir = ctx->dir,
        .name = sku->plugin,
        .runner = ctx->runner,
        .call = call,
        .sku = sku->name,
        .blob_version = sku->blob_version,
        .body = body,
        .len = len,
        .num_objs = num_objs,
        .capacity = cap,
        .config = sku->plugin_config,
        .inputs = inputs,
        .num_inputs = sku->n_plugin_inputs,
        .deadline_ms = ctx->deadline_ms ? ctx->deadline_ms : 5000,
        .log = forward_log,
        .log_user = (void *)sku->plugin,
    };
    memcpy(req.device_id, device_id, sizeof(req.device_id));
    return plugin_run(&req, res, err);
}

/* The endorsed certificates survive byte for byte and in order; only names the SKU lists
 * in plugin.certs are appended (plugin_output.h). */
static int check_output(const struct flow_sku *sku, const uint8_t *given, size_t given_len,
                        const struct plugin_result *res, struct ft_error *err)
{
    const char *allowed[FLOW_SKU_PLUGIN_CERTS_MAX];
    for (size_t i = 0; i < sku->n_plugin_certs; i++)
        allowed[i] = sku->plugin_certs[i];
    struct plugin_body in = {given, given_len}, out = {res->body, res->len};
    return plugin_check_output(sku->plugin, sku->blob_version, &in, &out, allowed,
                               sku->n_plugin_certs, err);
}

int plugin_flow_run(void *arg, const struct flow_sku *sku, const uint8_t device_id[32],
                    uint8_t *body, size_t *len, size_t cap, size_t *num_objs,
                    char version[FLOW_PLUGIN_VERSION_MAX], struct ft_error *err)
{
    struct plugin_result *res = calloc(1, sizeof(*res));
    if (res == NULL)
        return ft_fail(err, FT_E_NOMEM, "plugin %s: out of memory", sku->plugin);
    int rc =
        run_plugin(arg, sku, PLUGIN_CALL_FT_EXT, device_id, body, *len, *num_objs, cap, res, err);
    snprintf(version, FLOW_PLUGIN_VERSION_MAX, "%s", res->plugin_version);
    if (rc == 0 && res->len > cap)
        rc = ft_fail(err, FT_E_PLUGIN, "plugin %s: output of %zu bytes exceeds %zu", sku->plugin,
                     res->len, cap);
    if (rc == 0)
        rc = check_output(sku, body, *len, res, err);
    if (rc == 0) {
        memcpy(body, res->body, res->len);
        *len = res->len;
        *num_objs = res->num_objs;
    }
    free(res);
    return rc;
}

int plugin_flow_check(void *arg, const struct flow_sku *sku, struct ft_error *err)
{
    struct plugin_result *res = calloc(1, sizeof(*res));
    if (res == NULL)
        return ft_fail(err, FT_E_NOMEM, "plugin %s: out of memory", sku->plugin);
    /* An empty body of the SKU's blob version: the runner never calls the plugin. */
    uint8_t body[PERSO_VERSION_OBJ_SIZE];
    struct perso_tlv_writer w;
    int rc = perso_tlv_writer_init(&w, body, sizeof(body), sku->blob_version, err);
    if (rc == 0)
        rc = run_plugin(arg, sku, PLUGIN_CALL_CHECK, (const uint8_t[32]){0}, body, w.len,
                        w.num_objs, FT_EXT_BODY_CAPACITY, res, err);
    free(res);
    return rc;
}

int plugin_flow_post_boot(void *arg, const struct flow_sku *sku, const uint8_t device_id[32],
                          const uint8_t *body, size_t len, size_t num_objs, char *text, size_t cap,
                          struct ft_error *err)
{
    struct plugin_result *res = calloc(1, sizeof(*res));
    if (res == NULL)
        return ft_fail(err, FT_E_NOMEM, "plugin %s: out of memory", sku->plugin);
    int rc =
        run_plugin(arg, sku, PLUGIN_CALL_POST_BOOT, device_id, body, len, num_objs, len, res, err);
    if (rc == 0 && strlen(res->text) >= cap)
        rc = ft_fail(err, FT_E_PLUGIN, "plugin %s: post-boot text longer than %zu bytes",
                     sku->plugin, cap - 1);
    if (rc == 0)
        snprintf(text, cap, "%s", res->text);
    free(res);
    return rc;
}
