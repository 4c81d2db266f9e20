/* Test plugin: calls exit(3) instead of returning. */
#include <stdlib.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("exit", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    (void)len;
    (void)num_objs;
    exit(3);
}
