#define _GNU_SOURCE
#include "daemon/sd_notify.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sd_notify_init(struct sd_notify *n)
{
    memset(n, 0, sizeof(*n));
    n->fd = -1;
    const char *path = getenv("NOTIFY_SOCKET");
    size_t len = path ? strlen(path) : 0;
    if (len < 2 || len >= sizeof(n->path) || (path[0] != '/' && path[0] != '@'))
        return;
    memcpy(n->path, path, len);
    if (n->path[0] == '@')
        n->path[0] = '\0'; /* abstract namespace */
    n->path_len = (unsigned)len;
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    /* The watchdog is ours only when WATCHDOG_PID is unset or names this process. */
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    long long us = usec ? atoll(usec) : 0;
    if (us > 0 && (pid == NULL || atoll(pid) == (long long)getpid())) {
        n->interval_ms = us / 2000 > 0 ? us / 2000 : 1;
        n->next_ping_ms = mono_ms();
    }
}

void sd_notify_send(struct sd_notify *n, const char *text)
{
    if (n->fd < 0)
        return;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, n->path, n->path_len);
    sendto(n->fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&addr,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n->path_len));
}

void sd_notify_ping(struct sd_notify *n)
{
    if (n->interval_ms == 0 || mono_ms() < n->next_ping_ms)
        return;
    sd_notify_send(n, "WATCHDOG=1");
    n->next_ping_ms = mono_ms() + n->interval_ms;
}

int64_t sd_notify_next_ping_ms(const struct sd_notify *n)
{
    return n->interval_ms ? n->next_ping_ms : 0;
}
