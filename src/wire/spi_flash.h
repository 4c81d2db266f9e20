/* The SPI flash commands the chip's spi_device speaks (JEDEC-style opcodes with a 24-bit
 * address), shared by the host's console and ROM bootstrap, the FTDI transaction planner
 * and ftsim's model of the device (reference transport §1, §3). */
#ifndef FTHARNESS_WIRE_SPI_FLASH_H
#define FTHARNESS_WIRE_SPI_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum spi_flash_op {
    SPI_FLASH_PAGE_PROGRAM = 0x02,
    SPI_FLASH_READ = 0x03,
    SPI_FLASH_WRITE_DISABLE = 0x04,
    SPI_FLASH_READ_STATUS = 0x05, /* status register 1 */
    SPI_FLASH_WRITE_ENABLE = 0x06,
    SPI_FLASH_FAST_READ = 0x0b,
    SPI_FLASH_READ_STATUS3 = 0x15,
    SPI_FLASH_SECTOR_ERASE = 0x20,
    SPI_FLASH_READ_STATUS2 = 0x35,
    SPI_FLASH_READ_SFDP = 0x5a,
    SPI_FLASH_RESET = 0x99,
    SPI_FLASH_JEDEC_ID = 0x9f,
    SPI_FLASH_CHIP_ERASE = 0xc7,
};

/* Status register 1. */
#define SPI_FLASH_STATUS_BUSY 0x01u /* WIP: the device has not taken the last command yet */
#define SPI_FLASH_STATUS_WEL 0x02u  /* write enabled */

/* Whether `len` bytes are all 0xFF, what erased NVM reads: a page program of them
 * changes nothing, so bootstraps skip such chunks. */
static inline bool spi_flash_erased(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (data[i] != 0xff)
            return false;
    return true;
}

/* Opcode and 24-bit address, big-endian. */
#define SPI_FLASH_CMD_SIZE 4u

static inline void spi_flash_put_command(uint8_t *out, uint8_t op, uint32_t address)
{
    out[0] = op;
    out[1] = (uint8_t)(address >> 16);
    out[2] = (uint8_t)(address >> 8);
    out[3] = (uint8_t)address;
}

#endif
