/* The ROM bootstrap from the host's side (DESIGN §2 step 1, reference transport §3.2):
 * with the straps holding the chip in ROM bootstrap, the chip's spi_device speaks SPI
 * flash; this programs an image into it: SFDP signature check, WREN + CHIP_ERASE, then a
 * WREN + PAGE_PROGRAM per 256-byte page (pages of all 0xFF skipped, the flash is erased),
 * each followed by READ_STATUS until BUSY clears. Resetting the chip into and out of
 * bootstrap is the caller's (console_chip_reset with the straps high, then low). */
#ifndef FTHARNESS_CONSOLE_BOOTSTRAP_H
#define FTHARNESS_CONSOLE_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "link/spi_bus.h"

#define BOOTSTRAP_PAGE_SIZE 256u
/* The largest NVM of any Earlgrey generation (master's 2 MiB of RRAM); the ROM of each
 * generation accepts less (wire/fw_gen.h fw_gen_check_image). */
#define BOOTSTRAP_IMAGE_MAX (2048u * 1024u)

struct bootstrap_stats {
    size_t pages_programmed;
    size_t pages_skipped; /* all 0xFF */
    size_t status_polls;
};

/* Called after each page with the bytes handled so far; may be NULL. */
typedef void (*bootstrap_progress_fn)(void *arg, size_t done, size_t total);

/* Programs image[0 .. len) at flash address 0. Fails with FT_E_DEVICE when the chip is
 * not in ROM bootstrap (no SFDP signature) or, when `nvm_size` is not 0, when its SFDP
 * table reports another NVM size (a chip of another generation), FT_E_TIMEOUT when BUSY outlasts
 * the deadline, FT_E_INVALID for an empty or oversized image, or the bus's own errors. */
int bootstrap_program(struct spi_bus *bus, const uint8_t *image, size_t len, size_t nvm_size,
                      uint64_t deadline_ns, bootstrap_progress_fn progress, void *progress_arg,
                      struct bootstrap_stats *stats, struct ft_error *err);

#endif
