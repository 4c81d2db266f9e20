/* Test plugin: writes a forged frame straight to the runner's channel (fd 3) announcing
 * an oversized RESULT, then waits forever. The parent must reject the frame and kill the
 * runner at once, not wait for the deadline. */
#include <unistd.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("forge", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    (void)len;
    (void)num_objs;
    const uint32_t frame[4] = {4 /* RESULT */, 0xFFFF, 0, 0};
    if (write(3, frame, sizeof(frame)) != (ssize_t)sizeof(frame))
        return -5;
    for (;;)
        pause();
}
