/* Test plugin: fails with -EINVAL, or returns the number the config gives ("rc=5"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("baderr", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)body;
    (void)len;
    (void)num_objs;
    if (strncmp(ctx->config, "rc=", 3) == 0)
        return atoi(ctx->config + 3);
    FT_EXT_LOG(ctx, FT_EXT_LOG_ERR, "baderr: refusing SKU %s", ctx->sku);
    return -EINVAL;
}
