#include "sim/spi_device.h"

#include <string.h>

#include "wire/spi_flash.h"

#define ADDRESS_BYTES 3u

void spi_device_reset(struct spi_device *dev, enum spi_device_mode mode)
{
    dev->mode = mode;
    memset(dev->read_buffer, 0, sizeof(dev->read_buffer));
    dev->status = 0;
    dev->cs_active = false;
    dev->byte_index = 0;
    dev->fifo_head = 0;
    dev->fifo_count = 0;
}

static bool is_upload(const struct spi_device *dev, uint8_t op)
{
    if (op == SPI_FLASH_PAGE_PROGRAM)
        return true;
    return dev->mode == SPI_DEVICE_BOOTSTRAP &&
           (op == SPI_FLASH_CHIP_ERASE || op == SPI_FLASH_SECTOR_ERASE || op == SPI_FLASH_RESET);
}

static bool upload_has_address(uint8_t op)
{
    return op == SPI_FLASH_PAGE_PROGRAM || op == SPI_FLASH_SECTOR_ERASE;
}

/* The MISO byte for position `i` of the data phase of a read-type command. */
static uint8_t data_phase_byte(const struct spi_device *dev, size_t i)
{
    switch (dev->opcode) {
    case SPI_FLASH_READ:
        if (dev->mode == SPI_DEVICE_BOOTSTRAP)
            return 0xFF;
        return dev->read_buffer[(dev->address + i) % SPI_DEVICE_READ_BUFFER_SIZE];
    case SPI_FLASH_READ_SFDP:
        return dev->sfdp[(dev->address + i) % SPI_DEVICE_SFDP_SIZE];
    default:
        return 0xFF;
    }
}

/* Handles one byte of the current transaction and returns the MISO byte. */
static uint8_t clock_byte(struct spi_device *dev, uint8_t mosi)
{
    size_t i = dev->byte_index++;
    if (i == 0) {
        dev->opcode = mosi;
        dev->address = 0;
        memset(&dev->incoming, 0, sizeof(dev->incoming));
        dev->incoming.opcode = mosi;
        return 0xFF;
    }
    switch (dev->opcode) {
    case SPI_FLASH_READ_STATUS:
        return dev->status; /* repeats: the status can be polled continuously */
    case SPI_FLASH_READ_STATUS2:
    case SPI_FLASH_READ_STATUS3:
        return 0x00;
    case SPI_FLASH_JEDEC_ID:
        return i - 1 < dev->jedec_len ? dev->jedec[i - 1] : 0x00;
    case SPI_FLASH_READ:
    case SPI_FLASH_READ_SFDP: {
        if (i <= ADDRESS_BYTES) {
            dev->address = dev->address << 8 | mosi;
            return 0xFF;
        }
        size_t dummy = dev->opcode == SPI_FLASH_READ_SFDP ? 1 : 0; /* SFDP: 8 dummy cycles */
        if (i <= ADDRESS_BYTES + dummy)
            return 0xFF;
        return data_phase_byte(dev, i - ADDRESS_BYTES - dummy - 1);
    }
    default:
        break;
    }
    if (is_upload(dev, dev->opcode)) {
        struct spi_upload *up = &dev->incoming;
        if (upload_has_address(dev->opcode) && i <= ADDRESS_BYTES) {
            up->address = up->address << 8 | mosi;
            up->has_address = i == ADDRESS_BYTES;
        } else {
            /* The payload FIFO is a 256-byte ring: excess bytes overwrite the oldest. */
            if (up->len == SPI_DEVICE_PAYLOAD_MAX) {
                up->payload_overflow = true;
                memmove(up->payload, up->payload + 1, SPI_DEVICE_PAYLOAD_MAX - 1);
                up->len--;
            }
            up->payload[up->len++] = mosi;
        }
    }
    return 0xFF;
}

static void complete_transaction(struct spi_device *dev)
{
    if (dev->byte_index == 0)
        return;
    uint8_t op = dev->opcode;
    if (op == SPI_FLASH_WRITE_ENABLE) {
        dev->status |= SPI_STATUS_WEL;
    } else if (op == SPI_FLASH_WRITE_DISABLE) {
        dev->status &= (uint8_t)~SPI_STATUS_WEL;
    } else if (is_upload(dev, op)) {
        /* A command cut short in its address phase is not a command. */
        if (upload_has_address(op) && !dev->incoming.has_address)
            return;
        dev->status |= SPI_STATUS_BUSY;
        if (dev->fifo_count == SPI_DEVICE_UPLOAD_FIFO_DEPTH) {
            dev->uploads_dropped++;
            return;
        }
        size_t slot = (dev->fifo_head + dev->fifo_count) % SPI_DEVICE_UPLOAD_FIFO_DEPTH;
        dev->fifo[slot] = dev->incoming;
        dev->fifo_count++;
    }
}

void spi_device_cs(struct spi_device *dev, bool asserted)
{
    if (asserted == dev->cs_active)
        return;
    dev->cs_active = asserted;
    dev->csb_edges++;
    if (asserted)
        dev->byte_index = 0;
    else
        complete_transaction(dev);
}

void spi_device_clock(struct spi_device *dev, const uint8_t *mosi, uint8_t *miso, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t out = dev->cs_active ? clock_byte(dev, mosi ? mosi[i] : 0xFF) : 0xFF;
        if (miso != NULL)
            miso[i] = out;
    }
}

bool spi_device_pop_upload(struct spi_device *dev, struct spi_upload *out)
{
    if (dev->fifo_count == 0)
        return false;
    *out = dev->fifo[dev->fifo_head];
    dev->fifo_head = (dev->fifo_head + 1) % SPI_DEVICE_UPLOAD_FIFO_DEPTH;
    dev->fifo_count--;
    return true;
}

void spi_device_clear_status(struct spi_device *dev)
{
    dev->status = 0;
}

void spi_device_write_buffer(struct spi_device *dev, size_t offset, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dev->read_buffer[(offset + i) % SPI_DEVICE_READ_BUFFER_SIZE] = data[i];
}
