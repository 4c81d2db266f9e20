/* OTTF SPI console framing (reference/transport-spi-uart-ftdi.md §1).
 *
 * Device->host: frames in the spi_device 2 KiB read buffer,
 *     [magic u32 LE 0xA5A5BEEF][frame number u32 LE][length u32 LE][data, 0xFF-padded to 4]
 * Host->device: the message split into PAGE PROGRAM chunks of at most 256 bytes, every
 * chunk at address 0x000 except the last, which goes to 0x100 (the terminator). */
#ifndef FTHARNESS_WIRE_SPI_FRAME_H
#define FTHARNESS_WIRE_SPI_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define SPI_FRAME_MAGIC 0xA5A5BEEFu
#define SPI_FRAME_HEADER_SIZE 12u
#define SPI_FRAME_READ_BUFFER_SIZE 2048u
#define SPI_FRAME_HOST_MAX_PAYLOAD 2036u   /* largest length the host accepts */
#define SPI_FRAME_DEVICE_MAX_PAYLOAD 2020u /* largest payload the device emits */
#define SPI_FRAME_PAD_BYTE 0xFFu
#define SPI_BOOT_SYNC_PATTERN 0xCAFEB002u
#define SPI_UPLOAD_CHUNK_MAX 256u
#define SPI_UPLOAD_ADDR 0x000u
#define SPI_UPLOAD_LAST_CHUNK_ADDR 0x100u

struct spi_frame_header {
    uint32_t magic;
    uint32_t frame_no;
    uint32_t len;
};

/* What a header read from the device is. Anything but SPI_FRAME_VALID is "junk" that
 * the host ignores (and, in polling mode, BOOT_SYNC asks it to echo the pattern). */
enum spi_frame_check {
    SPI_FRAME_VALID,
    SPI_FRAME_BAD_MAGIC,
    SPI_FRAME_WRONG_NUMBER,
    SPI_FRAME_BAD_LENGTH,
    SPI_FRAME_BOOT_SYNC,
};

const char *spi_frame_check_name(enum spi_frame_check check);

/* Payload length rounded up to a 4-byte multiple. */
size_t spi_frame_padded_len(size_t len);

void spi_frame_header_encode(uint8_t out[SPI_FRAME_HEADER_SIZE], uint32_t frame_no, uint32_t len);

/* Decodes a header into *hdr and classifies it against the expected frame number. */
enum spi_frame_check spi_frame_header_check(const uint8_t in[SPI_FRAME_HEADER_SIZE],
                                            uint32_t expected_frame_no,
                                            struct spi_frame_header *hdr);

/* Writes a whole frame (header, payload, 0xFF padding) of at most the device maximum
 * payload into out (capacity cap); *out_len gets its size. */
int spi_frame_encode(uint32_t frame_no, const uint8_t *payload, size_t len, uint8_t *out,
                     size_t cap, size_t *out_len, struct ft_error *err);

/* Decodes a frame laid out contiguously in `buf` (`len` bytes available). On success
 * *payload and *payload_len point into buf and *frame_size is the bytes the frame occupies.
 * Fails, naming the reason, on junk, a wrong number or a frame that runs past `len`. */
int spi_frame_decode(const uint8_t *buf, size_t len, uint32_t expected_frame_no,
                     const uint8_t **payload, size_t *payload_len, size_t *frame_size,
                     struct ft_error *err);

/* The address of the frame after one of `len` payload bytes at `addr` in the ring. */
uint32_t spi_frame_next_address(uint32_t addr, size_t len);

/* True when all three header words hold the boot-sync pattern 0xCAFEB002. */
bool spi_frame_is_boot_sync(const uint8_t in[SPI_FRAME_HEADER_SIZE]);

/* Splits a host->device write into page-program chunks. */
struct spi_upload_iter {
    size_t total;
    size_t pos;
};

struct spi_upload_chunk {
    size_t offset; /* into the message */
    size_t len;    /* 1..256 */
    uint32_t address;
};

void spi_upload_iter_init(struct spi_upload_iter *it, size_t total);

/* Produces the next chunk; false when the message is done (an empty message has no
 * chunks). Unlike upstream's flash programmer, chunks of all-0xFF bytes are sent: a
 * console payload is never skipped. */
bool spi_upload_next(struct spi_upload_iter *it, struct spi_upload_chunk *chunk);

#endif
