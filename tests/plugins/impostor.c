/* Test plugin: appends a second certificate named UDS (a copy of the first endorsed one),
 * so the record would hold a "UDS" endorsed by the plugin. The host must refuse the
 * output: an appended certificate may not take an endorsed certificate's name. */
#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("impostor", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)body;
    (void)len;
    (void)num_objs;
    struct ft_ext_obj first;
    int rc = ctx->services->obj_get(ctx->host, 0, &first);
    if (rc != 0)
        return rc;
    return ctx->services->push_endorsed_cert(ctx->host, "UDS", first.data, first.len);
}
