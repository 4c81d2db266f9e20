/* A UART through a kernel tty (FTDI VCP /dev/ttyUSBn, a pty from ftsim --pty): raw
 * 115200 8N1, no modem control, no kernel flow control or line editing.
 *
 * The settings are applied with TCSANOW: TCSAFLUSH would throw away what the device has
 * already sent (a prompt printed before the host opened the port). Reads and writes never
 * block: they wait in poll() until a deadline (absolute CLOCK_MONOTONIC ns, see
 * link_deadline_ms() in link/spi_bus.h). A hang-up or EIO (the far end of the pty went
 * away, the USB adapter was unplugged) is FT_E_CONNECT naming the path. */
#ifndef FTHARNESS_LINK_TTY_H
#define FTHARNESS_LINK_TTY_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct tty;

/* Opens and configures `path`. Returns a new tty, or NULL with FT_E_CONNECT (cannot
 * open or configure, naming the path and the reason) or FT_E_INVALID (not a tty). */
struct tty *tty_open(const char *path, struct ft_error *err);

/* Waits until at least one byte can be read or `deadline_ns` passes (FT_E_TIMEOUT; a
 * deadline already past still looks once), then reads up to `cap` bytes into *n. */
int tty_read(struct tty *t, uint8_t *buf, size_t cap, size_t *n, uint64_t deadline_ns,
             struct ft_error *err);

/* Writes all `len` bytes, waiting for room until `deadline_ns` (FT_E_TIMEOUT). */
int tty_write(struct tty *t, const uint8_t *data, size_t len, uint64_t deadline_ns,
              struct ft_error *err);

/* read()/write() calls made so far, the tty's counterpart of spi_bus round trips. */
uint64_t tty_io_calls(const struct tty *t);

const char *tty_path(const struct tty *t);

void tty_close(struct tty *t);

#endif
