/* Test plugin: appends a certificate under a name the SKU does not list in plugin.certs. */
#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("stranger", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)body;
    (void)len;
    (void)num_objs;
    struct ft_ext_obj first;
    int rc = ctx->services->obj_get(ctx->host, 0, &first);
    if (rc != 0)
        return rc;
    return ctx->services->push_endorsed_cert(ctx->host, "STRANGER", first.data, first.len);
}
