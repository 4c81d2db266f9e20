/* Test plugin: dies of SIGSEGV inside ft_ext. */
#include <stdint.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("crash", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    (void)len;
    (void)num_objs;
    /* An address the compiler cannot prove is null, so it stays a real store (a known
     * null store may be turned into a trap instruction, SIGILL). */
    volatile uintptr_t addr = 16;
    *(volatile int *)addr = 1;
    return 0;
}
