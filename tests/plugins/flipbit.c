/* Test plugin: flips one bit inside the first endorsed certificate of the body, keeping
 * the TLV structure valid. The host must catch the change before the chip sees it. */
#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("flipbit", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)len;
    (void)num_objs;
    struct ft_ext_obj first;
    int rc = ctx->services->obj_get(ctx->host, 0, &first);
    if (rc != 0)
        return rc;
    if (first.len < 64)
        return -22;
    /* data points into the body; the last byte of the certificate is in its signature. */
    body[(size_t)(first.data - body) + first.len - 1] ^= 1;
    return 0;
}
