/* What the simulated chip does from reset: the ROM (bootstrap when the straps ask for it),
 * then the perso firmware, or ROM_EXT and the owner firmware once the chip is
 * personalized. Also the per-chip state transitions the device thread needs. */
#ifndef FTHARNESS_SIM_SIM_BOOT_H
#define FTHARNESS_SIM_SIM_BOOT_H

#include "sim/sim_device.h"

#define SIM_BOOT_SW_RESET 1  /* the chip reset itself: boot again */
#define SIM_BOOT_NEXT_CHIP 2 /* the next chip of the row takes this one's place */

/* Runs from reset until the chip resets or stops. Firmware thread, lock not held. */
int sim_boot(struct fw_ctx *fw);

/* Lock held: makes the chip in the socket a new, unpersonalized one. */
void sim_chip_fresh(struct sim_device *dev, unsigned index);

/* --otp-state: the first chip's OTP from the file (sim_chip_fresh calls it), and back to
 * it once SECRET2 is written. */
void sim_chip_otp_load(struct sim_device *dev);
void sim_chip_otp_save(struct sim_device *dev);

/* Lock held: puts the blocks back to their reset state (frame counter 0, FIFOs empty). */
void sim_chip_power_on_reset(struct sim_device *dev);

/* Firmware thread: counts a personalized chip; ends the row after cfg.duts chips.
 * Returns true when more chips follow. */
bool sim_chip_completed(struct fw_ctx *fw);

#endif
