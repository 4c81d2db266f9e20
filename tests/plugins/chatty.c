/* Test plugin: floods the log with long lines holding control characters, then returns
 * the body unchanged. */
#include <string.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("chatty", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)body;
    (void)len;
    (void)num_objs;
    char longline[2000];
    memset(longline, 'x', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    FT_EXT_LOG(ctx, FT_EXT_LOG_INFO, "line with\nnewline and \x1b[31mescape");
    FT_EXT_LOG(ctx, 0, "emergency?");
    FT_EXT_LOG(ctx, FT_EXT_LOG_DEBUG, "%s", longline);
    for (int i = 0; i < 1000; i++)
        FT_EXT_LOG(ctx, FT_EXT_LOG_DEBUG, "line %d", i);
    return 0;
}
