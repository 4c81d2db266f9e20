/* Test plugin: its constructor tries to read files a plugin has no business with: the
 * account database (a stand-in for /etc/shadow or a SKU password file) and the harness's
 * environment. ft_ext returns what happened: 0 if any read worked, else -errno of the
 * first attempt. The sandbox must leave nothing to read but the plugin and its inputs. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("ctorread", "0");

static int outcome = -EINVAL;

static int try_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char c;
    ssize_t n = read(fd, &c, 1);
    close(fd);
    return n == 1 ? 0 : -EIO;
}

__attribute__((constructor)) static void snoop(void)
{
    int a = try_read("/etc/passwd");
    int b = try_read("/proc/1/environ");
    outcome = a == 0 || b == 0 ? 0 : a;
}

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    (void)len;
    (void)num_objs;
    return outcome == 0 ? 0 : outcome;
}
