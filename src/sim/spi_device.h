/* Model of the Earlgrey spi_device block in flash-emulation mode, at the level of the
 * SPI pins: chip select edges and bytes clocked in and out. No threads or locks here; the
 * device (sim_device) serializes the host and firmware sides.
 *
 * Hardware-handled commands: READ 0x03 (from the 2 KiB read buffer; 0xFF in bootstrap
 * mode), READ_STATUS 0x05/0x35/0x15, JEDEC ID 0x9F, SFDP 0x5A, WREN 0x06, WRDI 0x04.
 * Upload commands (queued for firmware with BUSY set): console mode PAGE_PROGRAM 0x02;
 * bootstrap mode 0x02, CHIP_ERASE 0xC7, SECTOR_ERASE 0x20 and RESET 0x99 (reference
 * transport-spi-uart-ftdi.md §1.8, §3.3). Everything else is ignored and reads 0xFF. */
#ifndef FTHARNESS_SIM_SPI_DEVICE_H
#define FTHARNESS_SIM_SPI_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPI_DEVICE_READ_BUFFER_SIZE 2048u
#define SPI_DEVICE_PAYLOAD_MAX 256u
#define SPI_DEVICE_UPLOAD_FIFO_DEPTH 16u
#define SPI_DEVICE_SFDP_SIZE 256u
#define SPI_DEVICE_JEDEC_MAX 16u

#define SPI_STATUS_BUSY 0x01u
#define SPI_STATUS_WEL 0x02u

enum spi_device_mode {
    SPI_DEVICE_CONSOLE,   /* OTTF SPI console configuration */
    SPI_DEVICE_BOOTSTRAP, /* ROM bootstrap configuration */
};

struct spi_upload {
    uint8_t opcode;
    bool has_address;
    uint32_t address;
    uint8_t payload[SPI_DEVICE_PAYLOAD_MAX];
    size_t len;
    bool payload_overflow; /* more than 256 bytes were clocked in; the FIFO wrapped */
};

struct spi_device {
    enum spi_device_mode mode;
    uint8_t read_buffer[SPI_DEVICE_READ_BUFFER_SIZE];
    uint8_t status;
    uint8_t sfdp[SPI_DEVICE_SFDP_SIZE];
    uint8_t jedec[SPI_DEVICE_JEDEC_MAX];
    size_t jedec_len;

    bool cs_active;
    /* Every falling and rising edge of CSB, whatever the transaction: what the console
     * firmware counts, polling the CSB status, as the host reading its frame. */
    uint64_t csb_edges;

    /* Decoder state of the transaction in progress. */
    size_t byte_index;
    uint8_t opcode;
    uint32_t address;
    struct spi_upload incoming;

    struct spi_upload fifo[SPI_DEVICE_UPLOAD_FIFO_DEPTH];
    size_t fifo_head;
    size_t fifo_count;
    uint64_t uploads_dropped; /* arrived while the FIFO was full */
};

/* Resets the block (power-on or chip reset): buffer zeroed, status 0, FIFO empty. The
 * SFDP and JEDEC contents are kept. */
void spi_device_reset(struct spi_device *dev, enum spi_device_mode mode);

/* Host side: CSB falling (asserted = true) or rising edge. A rising edge completes the
 * transaction (WREN/WRDI take effect, uploads are queued with BUSY set). */
void spi_device_cs(struct spi_device *dev, bool asserted);

/* Host side: clocks `len` bytes while CSB is asserted; miso may be NULL. Bytes clocked
 * while CSB is high are ignored (MISO reads 0xFF). */
void spi_device_clock(struct spi_device *dev, const uint8_t *mosi, uint8_t *miso, size_t len);

/* Firmware side. */
bool spi_device_pop_upload(struct spi_device *dev, struct spi_upload *out);
void spi_device_clear_status(struct spi_device *dev);
void spi_device_write_buffer(struct spi_device *dev, size_t offset, const uint8_t *data,
                             size_t len);

#endif
