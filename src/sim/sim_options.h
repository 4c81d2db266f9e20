/* The chip options of a command line (--sku, --seed, --fault, ...), shared by ftsim and
 * the programs that embed the chip model (tests/usb/ftdi_testbed), so both take the same
 * options with the same checks and messages.
 *
 * A program puts SIM_OPTIONS_GETOPT into its getopt_long table and hands every option
 * that comes back as SIM_OPTIONS_VAL to sim_options_set() with its table entry's name. */
#ifndef FTHARNESS_SIM_SIM_OPTIONS_H
#define FTHARNESS_SIM_SIM_OPTIONS_H

#include "common/error.h"
#include "sim/sim_config.h"

/* getopt_long's value for every chip option (outside the char range). */
#define SIM_OPTIONS_VAL 0x5100

/* struct option entries (getopt.h) for the chip options; put a comma after it. */
/* clang-format off */
#define SIM_OPTIONS_GETOPT \
    {"sku", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"firmware", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"dice-ca-subject", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"ext-ca-subject", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"was-seed", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"was-diversifier", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"perso-hash", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"seed", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"duts", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"year", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"week", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"lot", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"wafer", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"x", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"y", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"blank", no_argument, NULL, SIM_OPTIONS_VAL}, \
    {"two-stage", no_argument, NULL, SIM_OPTIONS_VAL}, \
    {"timing", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"step-delay", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"fault", required_argument, NULL, SIM_OPTIONS_VAL}, \
    {"verbose", no_argument, NULL, SIM_OPTIONS_VAL}, \
    {"upstream-der", no_argument, NULL, SIM_OPTIONS_VAL}, \
    {"otp-state", required_argument, NULL, SIM_OPTIONS_VAL}
/* clang-format on */

/* --console spi|uart: where the perso console runs. */
int sim_options_set_console(struct sim_config *cfg, const char *value, struct ft_error *err);

/* Applies the chip option `name` (without the dashes) with `value` (NULL for a flag);
 * --sku takes a built-in name or a harness SKU file's path (sim_sku_file.h).
 * 0, or -1 with FT_E_INVALID naming "--NAME" and what was wrong. */
int sim_options_set(struct sim_config *cfg, const char *name, const char *value,
                    struct ft_error *err);

#endif
