/* A simulated Earlgrey chip (ftsim's sim_device, in process) wired to one channel of an
 * emulated FTDI adapter (ftdi_emu) through a pin map, as a board wires the real chip:
 * SPI on ADBUS0..3, the chip's output pins (TX_READY, RX_READY, TEST_DONE, TEST_ERROR,
 * TEST_START) on the map's input pins, the host-driven pins (RESET_N, STRAP0..2) on its
 * outputs. Its UART may be wired to a channel too (ftdi_chip_wire_uart), e.g. channel B of
 * the same FT2232H, as the perso console when cfg.console is SIM_CONSOLE_UART.
 *
 * Threading: ftdi_emu calls the target on umockdev's worker thread with the adapter lock
 * held; every callback only takes the sim_device's lock, and the sim_device never calls
 * out, so the lock order is always adapter -> device and nothing can deadlock. The UART
 * peer never waits on the worker thread: it takes what the chip's UART queue holds now
 * (sim_device_uart_read with a zero timeout) at each bulk-IN, and hands the host's bytes
 * to the queue the firmware reads; so no pump thread is needed, and bytes the chip sent
 * before the host opened the channel wait in the model instead of in a FIFO that the
 * host's purge would empty. */
#ifndef FTDI_CHIP_H
#define FTDI_CHIP_H

#include <stdbool.h>

#include "common/error.h"
#include "ftdi_emu.h"
#include "link/ftdi_mpsse.h"
#include "sim/sim_config.h"
#include "sim/sim_device.h"

struct ftdi_chip {
    struct sim_device dev;
    struct ftdi_pin_map map;
    struct ftdi_emu *emu; /* borrowed; NULL once detached */
    int channel;
    struct ftdi_emu *uart_emu; /* borrowed: where the UART is wired, or NULL */
    int uart_channel;
    bool started;
    unsigned long resets; /* RESET_N falling edges the host drove (atomic) */
};

/* Initialises and starts a chip model with `cfg`, wired by `map` (NULL: the default map
 * of ftdi_mpsse.h), and attaches it to `channel` of `emu`. 0, or -1 with err filled.
 * `chip` must stay at its address until ftdi_chip_detach. */
int ftdi_chip_attach(struct ftdi_chip *chip, struct ftdi_emu *emu, int channel,
                     const struct sim_config *cfg, const struct ftdi_pin_map *map,
                     struct ft_error *err);

/* Wires the chip's UART to `channel` of `emu` (any channel; it acts as a UART while the
 * host keeps it out of MPSSE mode). Replaces an earlier wiring. After ftdi_chip_attach. */
void ftdi_chip_wire_uart(struct ftdi_chip *chip, struct ftdi_emu *emu, int channel);

/* How many times the host pulled RESET_N low since the attach; any thread. */
unsigned long ftdi_chip_resets(struct ftdi_chip *chip);

/* Detaches from the adapter (SPI and UART), stops the firmware thread and frees the model. */
void ftdi_chip_detach(struct ftdi_chip *chip);

#endif
