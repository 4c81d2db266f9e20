/* The adapters most USB tests use: FT2232H "FTA1" with ftsim's chip model (timing zero)
 * on channel A's pins and its UART on channel B, and FT4232H "FTB2" with nothing
 * attached. Start it before anything starts libusb (umockdev 0.17 races otherwise). */
#ifndef FTHARNESS_TESTS_USB_FTDI_RIG_H
#define FTHARNESS_TESTS_USB_FTDI_RIG_H

#include "common/error.h"
#include "ftdi_chip.h"
#include "ftdi_emu.h"
#include "sim/sim_config.h"

struct ftdi_rig {
    struct ftdi_emu_testbed *tb;
    struct ftdi_emu *fta1;
    struct ftdi_emu *ftb2;
    struct ftdi_chip chip; /* large: keep the rig off the stack */
};

/* `console`: where the chip's perso console runs (SPI on channel A, or its UART on B);
 * `fault`: an ftsim --fault spec for the chip, or NULL. */
int ftdi_rig_start(struct ftdi_rig *rig, enum sim_console console, const char *fault,
                   struct ft_error *err);

/* Detaches the chip and frees the testbed; close every libftdi handle first. */
void ftdi_rig_stop(struct ftdi_rig *rig);

#endif
