/* Test plugin: has a descriptor but no ft_ext (for ft_ext calls, "does not export"). */
#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("nosym", "0");

int ft_post_boot_ext(const struct ft_ext_ctx *ctx, char *text, size_t cap)
{
    (void)ctx;
    (void)text;
    (void)cap;
    return 0;
}
