/* Test plugin: starts a thread. Threads are forbidden (clone/clone3); glibc blocks all
 * signals around clone, so the kernel kills the process with SIGSYS. */
#include <pthread.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("thread", "0");

static void *worker(void *arg)
{
    return arg;
}

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    (void)len;
    (void)num_objs;
    pthread_t t;
    int rc = pthread_create(&t, NULL, worker, NULL);
    if (rc != 0)
        return -rc;
    pthread_join(t, NULL);
    return 0;
}
