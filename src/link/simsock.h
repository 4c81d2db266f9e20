/* The ftsim Unix-socket backend (protocol: wire/simlink.h, docs/ftsim.md): an spi_bus
 * whose every op is one request and one reply, GPIO_WAIT for gpio_wait, plus the chip's
 * UART text (UART_READ / UART_WRITE) over the same connection.
 *
 * Every reply is length-checked against what its request allows before it is used. A
 * connection that drops (EOF, EPIPE, reset) fails with FT_E_CONNECT naming the socket;
 * after that every op fails the same way. */
#ifndef FTHARNESS_LINK_SIMSOCK_H
#define FTHARNESS_LINK_SIMSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "link/spi_bus.h"

/* How long an op that does not wait on the device may take before the model is taken
 * for hung (GPIO_WAIT and UART_READ get this on top of their own wait). */
#define SIMSOCK_IO_TIMEOUT_MS 10000u

struct simsock;

/* Connects to the ftsim socket at `path`. Returns a new simsock, or NULL with
 * FT_E_CONNECT (naming the path) or FT_E_NOMEM. */
struct simsock *simsock_open(const char *path, struct ft_error *err);

/* The SPI bus + GPIO of the connection (borrowed: it lives as long as `s`;
 * spi_bus_close() on it is simsock_close(s)). */
struct spi_bus *simsock_bus(struct simsock *s);

/* Reads chip->host UART bytes: waits until at least one is there or `deadline_ns`
 * passes (FT_E_TIMEOUT), then returns what arrived (up to `cap`) in *n. */
int simsock_uart_read(struct simsock *s, uint8_t *buf, size_t cap, size_t *n, uint64_t deadline_ns,
                      struct ft_error *err);

/* Writes host->chip UART bytes (any length; split into requests as the protocol needs). */
int simsock_uart_write(struct simsock *s, const uint8_t *data, size_t len, struct ft_error *err);

/* The socket path, for messages. */
const char *simsock_path(const struct simsock *s);

void simsock_close(struct simsock *s);

#endif
