/* Test plugin: writes one byte past ctx->capacity; the runner's guard page must turn that
 * into SIGSEGV instead of silent corruption. */
#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("scribble", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)len;
    (void)num_objs;
    volatile uint8_t *p = body;
    for (size_t i = 0; i <= ctx->capacity; i++)
        p[i] = 0;
    return 0;
}
