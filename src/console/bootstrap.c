#include "console/bootstrap.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/endian.h"
#include "wire/spi_flash.h"

/* Reads `len` bytes of the SFDP space at `addr` (one dummy byte after the address). */
static int read_sfdp(struct spi_bus *bus, uint32_t addr, uint8_t *out, size_t len,
                     struct ft_error *err)
{
    uint8_t mosi[SPI_FLASH_CMD_SIZE + 1 + 16] = {0}, miso[sizeof(mosi)];
    spi_flash_put_command(mosi, SPI_FLASH_READ_SFDP, addr);
    size_t n = SPI_FLASH_CMD_SIZE + 1 + len;
    if (spi_bus_xfer(bus, mosi, miso, n, err) != 0)
        return -1;
    memcpy(out, miso + SPI_FLASH_CMD_SIZE + 1, len);
    return 0;
}

/* The ROM answers SFDP only in bootstrap: its "SFDP" signature says the straps worked.
 * Its basic flash parameter table gives the NVM density, which tells the chip's
 * generation apart (1 MiB of flash, or master's 2 MiB of RRAM) before anything is
 * erased. */
static int check_sfdp(struct spi_bus *bus, size_t nvm_size, struct ft_error *err)
{
    uint8_t head[16];
    if (read_sfdp(bus, 0, head, sizeof(head), err) != 0)
        return -1;
    if (memcmp(head, "SFDP", 4) != 0)
        return ft_fail(err, FT_E_DEVICE,
                       "%s: the chip is not in ROM bootstrap (SFDP signature %02x %02x %02x %02x, "
                       "expected \"SFDP\"): check the strap pins",
                       bus->name, head[0], head[1], head[2], head[3]);
    if (nvm_size == 0)
        return 0;
    /* First parameter header (bytes 8..15): its table pointer, then the table's word 2. */
    uint32_t table = load_le32(head + 12) & 0xffffffu;
    uint8_t words[8];
    if (read_sfdp(bus, table, words, sizeof(words), err) != 0)
        return -1;
    uint32_t density = load_le32(words + 4);
    uint64_t bytes = density & 0x80000000u ? 0 : ((uint64_t)density + 1) / 8;
    if (bytes != nvm_size)
        return ft_fail(err, FT_E_DEVICE,
                       "%s: the chip's ROM reports %llu KiB of NVM where the SKU's firmware "
                       "generation has %zu KiB: the chip is of another generation than the SKU's",
                       bus->name, (unsigned long long)(bytes / 1024), nvm_size / 1024);
    return 0;
}

static int wait_not_busy(struct spi_bus *bus, const char *what, uint64_t deadline_ns,
                         struct bootstrap_stats *stats, struct ft_error *err)
{
    static const uint8_t rdsr[2] = {SPI_FLASH_READ_STATUS, 0x00};
    uint8_t status[2];
    for (;;) {
        if (spi_bus_xfer(bus, rdsr, status, sizeof(rdsr), err) != 0)
            return -1;
        stats->status_polls++;
        if (!(status[1] & SPI_FLASH_STATUS_BUSY))
            return 0;
        if (link_now_ns() >= deadline_ns)
            return ft_fail(err, FT_E_TIMEOUT, "%s: ROM bootstrap: BUSY still set after %s",
                           bus->name, what);
    }
}

/* WREN + the command, one CS frame each; in one exchange when the bus batches. */
static int write_enabled(struct spi_bus *bus, const uint8_t *cmd, size_t len, struct ft_error *err)
{
    static const uint8_t wren = SPI_FLASH_WRITE_ENABLE;
    if (spi_bus_has_batch(bus)) {
        const struct spi_bus_xfer xfers[2] = {{.mosi = &wren, .len = 1}, {.mosi = cmd, .len = len}};
        return bus->ops->xfer_batch(bus, xfers, 2, err);
    }
    if (spi_bus_xfer(bus, &wren, NULL, 1, err) != 0)
        return -1;
    return spi_bus_xfer(bus, cmd, NULL, len, err);
}

int bootstrap_program(struct spi_bus *bus, const uint8_t *image, size_t len, size_t nvm_size,
                      uint64_t deadline_ns, bootstrap_progress_fn progress, void *progress_arg,
                      struct bootstrap_stats *stats, struct ft_error *err)
{
    memset(stats, 0, sizeof(*stats));
    if (len == 0 || len > BOOTSTRAP_IMAGE_MAX)
        return ft_fail(err, FT_E_INVALID, "bootstrap image of %zu bytes (1..%u allowed)", len,
                       BOOTSTRAP_IMAGE_MAX);
    if (bus->max_xfer < SPI_FLASH_CMD_SIZE + BOOTSTRAP_PAGE_SIZE)
        return ft_fail(err, FT_E_INVALID,
                       "%s: SPI transactions of %zu bytes are too short for "
                       "page programs",
                       bus->name, bus->max_xfer);
    const uint8_t erase = SPI_FLASH_CHIP_ERASE;
    if (check_sfdp(bus, nvm_size, err) != 0 || write_enabled(bus, &erase, 1, err) != 0 ||
        wait_not_busy(bus, "CHIP_ERASE", deadline_ns, stats, err) != 0)
        return -1;
    uint8_t cmd[SPI_FLASH_CMD_SIZE + BOOTSTRAP_PAGE_SIZE];
    for (size_t offset = 0; offset < len; offset += BOOTSTRAP_PAGE_SIZE) {
        size_t n = len - offset < BOOTSTRAP_PAGE_SIZE ? len - offset : BOOTSTRAP_PAGE_SIZE;
        if (spi_flash_erased(image + offset, n)) {
            stats->pages_skipped++;
        } else {
            spi_flash_put_command(cmd, SPI_FLASH_PAGE_PROGRAM, (uint32_t)offset);
            memcpy(cmd + SPI_FLASH_CMD_SIZE, image + offset, n);
            char what[64];
            snprintf(what, sizeof(what), "PAGE_PROGRAM at 0x%06zx", offset);
            if (write_enabled(bus, cmd, SPI_FLASH_CMD_SIZE + n, err) != 0 ||
                wait_not_busy(bus, what, deadline_ns, stats, err) != 0)
                return -1;
            stats->pages_programmed++;
        }
        if (progress != NULL)
            progress(progress_arg, offset + n, len);
    }
    return 0;
}
