/* Test plugin: built against a (hypothetical) ABI major 2. */
#include <ftharness/ft_ext.h>

FT_EXT_EXPORT const struct ft_ext_descriptor ft_ext_descriptor = {
    2, 0, (uint32_t)sizeof(struct ft_ext_descriptor), "badabi", "0"};

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    (void)len;
    (void)num_objs;
    return 0;
}
