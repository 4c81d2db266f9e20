/* Test plugin: never returns from ft_ext (busy loop). */
#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("hang", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    (void)len;
    (void)num_objs;
    volatile unsigned long spins = 0;
    for (;;)
        spins++;
}
