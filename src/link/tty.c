/* Kernel tty UART: raw 115200 8N1 with non-blocking I/O bounded by deadlines. */
#include "link/tty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "link/spi_bus.h" /* link_now_ns, link_ms_left */

#define TTY_POLL_CAP_MS 600000u /* one poll() at most; longer waits loop */

struct tty {
    int fd;
    uint64_t io_calls;
    char path[];
};

static int hung_up(const struct tty *t, const char *what, int errnum, struct ft_error *err)
{
    if (errnum == 0)
        return ft_fail(err, FT_E_CONNECT, "tty %s: %s: hang-up (the other end is gone)", t->path,
                       what);
    return ft_fail(err, FT_E_CONNECT, "tty %s: %s: %s", t->path, what, strerror(errnum));
}

/* Raw 8N1 at 115200 (reference transport §2.1): no echo, no line editing, no CR/NL
 * translation, no XON/XOFF in the kernel (the console handles the device's own flow
 * control bytes), CLOCAL so missing modem lines do not block or hang us up. */
static int configure(struct tty *t, struct ft_error *err)
{
    struct termios tio;
    if (tcgetattr(t->fd, &tio) != 0)
        return ft_fail(err, FT_E_CONNECT, "tty %s: tcgetattr: %s", t->path, strerror(errno));
    cfmakeraw(&tio);
    tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
    tio.c_cflag |= CS8 | CLOCAL | CREAD;
    tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (cfsetispeed(&tio, B115200) != 0 || cfsetospeed(&tio, B115200) != 0)
        return ft_fail(err, FT_E_CONNECT, "tty %s: cannot set 115200 baud", t->path);
    /* TCSANOW, never TCSAFLUSH: bytes the device sent before we opened the port are
     * console output we must not lose. */
    if (tcsetattr(t->fd, TCSANOW, &tio) != 0)
        return ft_fail(err, FT_E_CONNECT, "tty %s: tcsetattr: %s", t->path, strerror(errno));
    return 0;
}

struct tty *tty_open(const char *path, struct ft_error *err)
{
    size_t path_len = strlen(path);
    struct tty *t = malloc(sizeof(*t) + path_len + 1);
    if (t == NULL) {
        ft_fail(err, FT_E_NOMEM, "tty %s: out of memory", path);
        return NULL;
    }
    memcpy(t->path, path, path_len + 1);
    t->io_calls = 0;
    /* O_NOCTTY: a harness must never acquire the DUT's port as its controlling terminal
     * (a hang-up would then signal the whole process). */
    t->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (t->fd < 0) {
        ft_fail(err, FT_E_CONNECT, "tty %s: open: %s", path, strerror(errno));
        free(t);
        return NULL;
    }
    if (!isatty(t->fd)) {
        ft_fail(err, FT_E_INVALID, "tty %s: not a terminal device", path);
        tty_close(t);
        return NULL;
    }
    if (configure(t, err) != 0) {
        tty_close(t);
        return NULL;
    }
    return t;
}

/* Waits for `events`; 1 when ready, 0 when the deadline passed, -1 on hang-up/error. */
static int wait_ready(struct tty *t, short events, uint64_t deadline_ns, const char *what,
                      struct ft_error *err)
{
    for (;;) {
        struct pollfd pfd = {.fd = t->fd, .events = events};
        int rc = poll(&pfd, 1, (int)link_ms_left(deadline_ns, TTY_POLL_CAP_MS));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return hung_up(t, what, errno, err);
        if (rc > 0 && (pfd.revents & events))
            return 1; /* ready: data first, even when a hang-up follows it */
        if (rc > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
            return hung_up(t, what, 0, err);
        if (link_now_ns() >= deadline_ns)
            return 0;
    }
}

int tty_read(struct tty *t, uint8_t *buf, size_t cap, size_t *n, uint64_t deadline_ns,
             struct ft_error *err)
{
    *n = 0;
    if (cap == 0)
        return ft_fail(err, FT_E_INVALID, "tty %s: read into an empty buffer", t->path);
    for (;;) {
        int ready = wait_ready(t, POLLIN, deadline_ns, "read", err);
        if (ready < 0)
            return -1;
        if (ready == 0)
            return ft_fail(err, FT_E_TIMEOUT, "tty %s: no bytes by the deadline", t->path);
        t->io_calls++;
        ssize_t got = read(t->fd, buf, cap);
        if (got > 0) {
            *n = (size_t)got;
            return 0;
        }
        if (got == 0)
            return hung_up(t, "read", 0, err); /* a hung-up tty reads as end of file */
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return hung_up(t, "read", errno, err);
    }
}

int tty_write(struct tty *t, const uint8_t *data, size_t len, uint64_t deadline_ns,
              struct ft_error *err)
{
    for (size_t off = 0; off < len;) {
        t->io_calls++;
        ssize_t put = write(t->fd, data + off, len - off);
        if (put > 0) {
            off += (size_t)put;
            continue;
        }
        if (put < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return hung_up(t, "write", errno, err);
        int ready = wait_ready(t, POLLOUT, deadline_ns, "write", err);
        if (ready < 0)
            return -1;
        if (ready == 0)
            return ft_fail(err, FT_E_TIMEOUT, "tty %s: %zu of %zu bytes written by the deadline",
                           t->path, off, len);
    }
    return 0;
}

uint64_t tty_io_calls(const struct tty *t)
{
    return t->io_calls;
}

const char *tty_path(const struct tty *t)
{
    return t->path;
}

void tty_close(struct tty *t)
{
    if (t == NULL)
        return;
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}
