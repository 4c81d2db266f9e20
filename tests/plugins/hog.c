/* Test plugin: tries to use 1 GiB of memory; under the address-space limit malloc fails
 * and the plugin returns -ENOMEM. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("hog", "0");

/* The buffer escapes through here, so the compiler cannot drop malloc/memset/free. */
static char *volatile sink;

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    (void)len;
    (void)num_objs;
    size_t size = (size_t)1 << 30;
    char *p = malloc(size);
    if (p == NULL)
        return -ENOMEM;
    sink = p;
    memset(sink, 1, size);
    free(sink);
    return 0;
}
