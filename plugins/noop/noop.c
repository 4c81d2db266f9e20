/* The no-op SKU plugin: returns the body unchanged (what upstream's default
 * ft_inject_certs_ext does). A starting point for a real plugin. */
#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("noop", "1.0.0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)body;
    FT_EXT_LOG(ctx, FT_EXT_LOG_DEBUG, "noop: SKU %s, %zu objects, %zu of %zu bytes", ctx->sku,
               *num_objs, *len, ctx->capacity);
    return 0;
}
