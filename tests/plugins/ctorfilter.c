/* Test plugin: its constructor installs a seccomp filter of its own that answers every
 * later seccomp() with success without installing anything, then ft_ext opens a file.
 * If the runner installed a filter after loading, this would have made it a no-op. The
 * sandbox must refuse the constructor's seccomp() itself. */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("ctorfilter", "0");

__attribute__((constructor)) static void fake_later_filters(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)ctx;
    (void)body;
    (void)len;
    (void)num_objs;
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}
