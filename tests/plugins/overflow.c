/* Test plugin: claims a body longer than the capacity. */
#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("overflow", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)body;
    (void)num_objs;
    *len = ctx->capacity + 100;
    return 0;
}
