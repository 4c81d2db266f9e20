/* The inject SKU plugin: appends one endorsed certificate that the SKU provides, as an
 * EndorsedX509Cert object, after the certificates the harness endorsed.
 *
 * The plugin cannot open files (seccomp), so the SKU names the DER file as a plugin
 * input and the harness reads it. Config (space-separated key=value, all optional):
 *   name=<cert name>     TLV name of the new object (default EXTRA; <= 15 chars on V0)
 *   input=<input name>   the input holding the DER (default cert)
 *   boot_text=<text>     returned by ft_post_boot_ext (no spaces)
 * Errors: -ENOENT the input is missing, -EEXIST a cert of that name is already in the
 * body, -EINVAL bad config, and whatever push_endorsed_cert returns (-ENOSPC, ...). */
#include <errno.h>
#include <string.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("inject", "1.0.0");

/* Copies the value of `key` in the config to out; returns 1 found, 0 absent, -1 too
 * long. */
static int config_get(const char *config, const char *key, char *out, size_t cap)
{
    size_t key_len = strlen(key);
    for (const char *p = config; *p != '\0';) {
        while (*p == ' ')
            p++;
        size_t tok = strcspn(p, " ");
        if (tok > key_len && strncmp(p, key, key_len) == 0 && p[key_len] == '=') {
            size_t val = tok - key_len - 1;
            if (val >= cap)
                return -1;
            memcpy(out, p + key_len + 1, val);
            out[val] = '\0';
            return 1;
        }
        p += tok;
    }
    return 0;
}

static int config_or_default(const struct ft_ext_ctx *ctx, const char *key, const char *dflt,
                             char *out, size_t cap)
{
    int rc = config_get(ctx->config, key, out, cap);
    if (rc < 0) {
        FT_EXT_LOG(ctx, FT_EXT_LOG_ERR, "inject: config value of %s is too long", key);
        return -EINVAL;
    }
    if (rc == 0) {
        strncpy(out, dflt, cap - 1);
        out[cap - 1] = '\0';
    }
    return 0;
}

/* Refuses to add a second cert of the same name (walks the body with the services). */
static int check_not_present(const struct ft_ext_ctx *ctx, const char *name)
{
    size_t count;
    int rc = ctx->services->obj_count(ctx->host, &count);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        struct ft_ext_obj obj;
        rc = ctx->services->obj_get(ctx->host, i, &obj);
        if (rc == 0 && strcmp(obj.name, name) == 0) {
            FT_EXT_LOG(ctx, FT_EXT_LOG_ERR, "inject: the body already holds a cert named %s", name);
            return -EEXIST;
        }
    }
    return rc;
}

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)body;
    char name[FT_EXT_CERT_NAME_MAX + 1];
    char input_name[64];
    int rc = config_or_default(ctx, "name", "EXTRA", name, sizeof(name));
    if (rc == 0)
        rc = config_or_default(ctx, "input", "cert", input_name, sizeof(input_name));
    if (rc != 0)
        return rc;
    const struct ft_ext_input *in = ft_ext_find_input(ctx, input_name);
    if (in == NULL) {
        FT_EXT_LOG(ctx, FT_EXT_LOG_ERR, "inject: SKU %s gives no input named %s", ctx->sku,
                   input_name);
        return -ENOENT;
    }
    rc = check_not_present(ctx, name);
    if (rc != 0)
        return rc;
    rc = ctx->services->push_endorsed_cert(ctx->host, name, in->data, in->len);
    if (rc != 0)
        return rc;
    FT_EXT_LOG(ctx, FT_EXT_LOG_INFO, "inject: added %s (%zu bytes): %zu objects, %zu bytes", name,
               in->len, *num_objs, *len);
    return 0;
}

int ft_post_boot_ext(const struct ft_ext_ctx *ctx, char *text, size_t cap)
{
    int rc = config_get(ctx->config, "boot_text", text, cap);
    if (rc < 0)
        return -EINVAL;
    if (rc == 0)
        text[0] = '\0';
    return 0;
}
