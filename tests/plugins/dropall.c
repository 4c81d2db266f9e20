/* Test plugin: returns an empty body (every endorsed certificate dropped). */
#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("dropall", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    *len = 0;
    *num_objs = 0;
    return 0;
}
