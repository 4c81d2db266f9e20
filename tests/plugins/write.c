/* Test plugin: tries to create a file (the path comes from the config). The sandbox must
 * stop the open; if it ever got through, the plugin returns -EACCES. */
#include <errno.h>
#include <stdio.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("write", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)body;
    (void)len;
    (void)num_objs;
    FILE *f = fopen(ctx->config[0] != '\0' ? ctx->config : "/tmp/ftharness-plugin-write", "w");
    if (f == NULL) {
        FT_EXT_LOG(ctx, FT_EXT_LOG_ERR, "write: fopen failed: errno %d", errno);
        return -errno;
    }
    fputs("escaped\n", f);
    fclose(f);
    return -EACCES;
}
