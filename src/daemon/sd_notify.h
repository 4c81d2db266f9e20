/* The systemd notification protocol by hand (sd_notify(3)): datagrams to $NOTIFY_SOCKET
 * (a path, or an abstract name after '@'), and the watchdog ping every half
 * $WATCHDOG_USEC. Without $NOTIFY_SOCKET everything here is a no-op. */
#ifndef FTHARNESS_DAEMON_SD_NOTIFY_H
#define FTHARNESS_DAEMON_SD_NOTIFY_H

#include <stdint.h>

struct sd_notify {
    int fd; /* -1: not under systemd */
    char path[108];
    unsigned path_len;
    int64_t interval_ms; /* 0: no watchdog */
    int64_t next_ping_ms;
};

void sd_notify_init(struct sd_notify *n);
/* Sends "READY=1", "STATUS=...", "STOPPING=1", ... (newline-separated assignments). */
void sd_notify_send(struct sd_notify *n, const char *text);
/* Sends WATCHDOG=1 when due. */
void sd_notify_ping(struct sd_notify *n);
/* When the next ping is due (CLOCK_MONOTONIC ms), or 0 without a watchdog. */
int64_t sd_notify_next_ping_ms(const struct sd_notify *n);

#endif
