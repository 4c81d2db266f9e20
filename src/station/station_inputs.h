/* What a station reads before a DUT (the SKU password, the bootstrap images) and how a
 * DUT's result maps to an exit class: shared by `ftharness run` and the daemon workers. */
#ifndef FTHARNESS_STATION_STATION_INPUTS_H
#define FTHARNESS_STATION_STATION_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "flow/flow.h"

/* Exit statuses of `ftharness run` and the exit class of a daemon result (ftharness(1)). */
enum station_exit {
    STATION_EXIT_PASS = 0,
    STATION_EXIT_INTERNAL = 1,
    STATION_EXIT_USAGE = 2,      /* this host's configuration */
    STATION_EXIT_DEVICE = 3,     /* the chip or its link: timeouts, link down, TestError */
    STATION_EXIT_PA = 4,         /* the endorsement service */
    STATION_EXIT_PLUGIN = 5,     /* the SKU plugin */
    STATION_EXIT_VALIDATION = 6, /* the chip's data failed a check: TBS, certificates, hashes */
    STATION_EXIT_ABORTED = 7,    /* stopped on request */
};

/* The exit class of a finished run's record. */
enum station_exit station_exit_for(const struct flow_record *rec);

/* Its name in results: "pass", "internal", "config", "device", "service", "plugin",
 * "validation", "aborted". */
const char *station_exit_name(enum station_exit status);

/* The SKU password: the file's first line, or $FTHARNESS_SKU_PASSWORD when path is NULL.
 * A file others may read is refused: the password opens the SKU's CA and seeds. `what`
 * names the file's setting in messages. NEW string; wipe it before freeing. */
char *station_read_password(const char *what, const char *path, struct ft_error *err);

/* Reads a bootstrap image ("" = none: *data NULL, *len 0). */
int station_read_image(const char *path, uint8_t **data, size_t *len, struct ft_error *err);

/* Reads the SKU's images and checks each against its generation's ROM (size,
 * programmable addresses and, for an FT bundle, a ROM_EXT in slot B). */
int station_read_sku_images(const struct flow_sku *sku, uint8_t **image, size_t *image_len,
                            uint8_t **second, size_t *second_len, struct ft_error *err);

#endif
