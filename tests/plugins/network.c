/* Test plugin: tries to open a TCP connection to 127.0.0.1:9. The sandbox must stop it
 * (the runner reports the blocked socket call); if it ever got through, the plugin
 * returns -EACCES so the test still fails loudly. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ftharness/ft_ext.h>

FT_EXT_DEFINE_DESCRIPTOR("network", "0");

int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len, size_t *num_objs)
{
    (void)body;
    (void)len;
    (void)num_objs;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        FT_EXT_LOG(ctx, FT_EXT_LOG_ERR, "network: socket failed: errno %d", errno);
        return -errno;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    return -EACCES;
}
