/* Test plugin: returns 0 with a bad body. Default: the first object's header is
 * corrupted, so the body is not a valid TLV body. Config "count": the body is fine but
 * *num_objs is one too many. */
#include <string.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("garbage", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    if (strcmp(ctx->config, "count") == 0) {
        (*num_objs)++;
        return 0;
    }
    /* On V1 the first cert object starts after the 4-byte version object. */
    size_t first = ctx->blob_version == FT_EXT_BLOB_V1 ? 4 : 0;
    if (*len < first + 8)
        return -22;
    body[first + 2] ^= 0x0F; /* V0: wrapped size; V1: object size */
    return 0;
}
