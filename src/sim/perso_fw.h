/* The perso firmware (ft_personalize) of the simulated chip: reference/opentitan-ft-flow.md
 * §1 steps 5-14 with the exact console strings of §6.4. Runs on the firmware thread. */
#ifndef FTHARNESS_SIM_PERSO_FW_H
#define FTHARNESS_SIM_PERSO_FW_H

#include "sim/sim_device.h"

/* Runs the firmware from boot. Returns FW_ABORT after an external reset or a halt, or
 * SIM_BOOT_SW_RESET when the firmware resets the chip itself. */
int perso_fw_run(struct fw_ctx *fw);

#endif
