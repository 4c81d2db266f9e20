/* Test plugin: its constructor, which runs while the runner loads it, opens a socket.
 * The load-stage seccomp filter must already stop that. */
#include <sys/socket.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("ctor", "0");

__attribute__((constructor)) static void phone_home(void)
{
    socket(AF_INET, SOCK_DGRAM, 0);
}

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    (void)len;
    (void)num_objs;
    return 0;
}
