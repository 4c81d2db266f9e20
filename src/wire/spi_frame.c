#include "wire/spi_frame.h"

#include <string.h>

#include "common/endian.h"

const char *spi_frame_check_name(enum spi_frame_check check)
{
    switch (check) {
    case SPI_FRAME_VALID:
        return "valid";
    case SPI_FRAME_BAD_MAGIC:
        return "bad magic";
    case SPI_FRAME_WRONG_NUMBER:
        return "wrong frame number";
    case SPI_FRAME_BAD_LENGTH:
        return "length over 2036";
    case SPI_FRAME_BOOT_SYNC:
        return "boot-sync pattern";
    }
    return "unknown";
}

size_t spi_frame_padded_len(size_t len)
{
    return (len + 3) & ~(size_t)3;
}

void spi_frame_header_encode(uint8_t out[SPI_FRAME_HEADER_SIZE], uint32_t frame_no, uint32_t len)
{
    store_le32(out, SPI_FRAME_MAGIC);
    store_le32(out + 4, frame_no);
    store_le32(out + 8, len);
}

bool spi_frame_is_boot_sync(const uint8_t in[SPI_FRAME_HEADER_SIZE])
{
    return load_le32(in) == SPI_BOOT_SYNC_PATTERN && load_le32(in + 4) == SPI_BOOT_SYNC_PATTERN &&
           load_le32(in + 8) == SPI_BOOT_SYNC_PATTERN;
}

enum spi_frame_check spi_frame_header_check(const uint8_t in[SPI_FRAME_HEADER_SIZE],
                                            uint32_t expected_frame_no,
                                            struct spi_frame_header *hdr)
{
    hdr->magic = load_le32(in);
    hdr->frame_no = load_le32(in + 4);
    hdr->len = load_le32(in + 8);
    if (hdr->magic != SPI_FRAME_MAGIC)
        return spi_frame_is_boot_sync(in) ? SPI_FRAME_BOOT_SYNC : SPI_FRAME_BAD_MAGIC;
    if (hdr->frame_no != expected_frame_no)
        return SPI_FRAME_WRONG_NUMBER;
    if (hdr->len > SPI_FRAME_HOST_MAX_PAYLOAD)
        return SPI_FRAME_BAD_LENGTH;
    return SPI_FRAME_VALID;
}

int spi_frame_encode(uint32_t frame_no, const uint8_t *payload, size_t len, uint8_t *out,
                     size_t cap, size_t *out_len, struct ft_error *err)
{
    if (len > SPI_FRAME_DEVICE_MAX_PAYLOAD)
        return ft_fail(err, FT_E_RANGE, "SPI frame: payload of %zu bytes exceeds %u", len,
                       SPI_FRAME_DEVICE_MAX_PAYLOAD);
    size_t size = SPI_FRAME_HEADER_SIZE + spi_frame_padded_len(len);
    if (size > cap)
        return ft_fail(err, FT_E_CAPACITY, "SPI frame: %zu bytes do not fit in %zu", size, cap);
    spi_frame_header_encode(out, frame_no, (uint32_t)len);
    memcpy(out + SPI_FRAME_HEADER_SIZE, payload, len);
    memset(out + SPI_FRAME_HEADER_SIZE + len, SPI_FRAME_PAD_BYTE,
           size - SPI_FRAME_HEADER_SIZE - len);
    *out_len = size;
    return 0;
}

int spi_frame_decode(const uint8_t *buf, size_t len, uint32_t expected_frame_no,
                     const uint8_t **payload, size_t *payload_len, size_t *frame_size,
                     struct ft_error *err)
{
    if (len < SPI_FRAME_HEADER_SIZE)
        return ft_fail(err, FT_E_TRUNCATED, "SPI frame: %zu bytes, the header needs 12", len);
    struct spi_frame_header hdr;
    enum spi_frame_check check = spi_frame_header_check(buf, expected_frame_no, &hdr);
    if (check != SPI_FRAME_VALID)
        return ft_fail(
            err, FT_E_INVALID, "SPI frame: %s (magic 0x%08x, frame %u expected %u, length %u)",
            spi_frame_check_name(check), hdr.magic, hdr.frame_no, expected_frame_no, hdr.len);
    size_t size = SPI_FRAME_HEADER_SIZE + spi_frame_padded_len(hdr.len);
    if (size > len)
        return ft_fail(err, FT_E_TRUNCATED, "SPI frame %u: %zu bytes announced, %zu available",
                       hdr.frame_no, size, len);
    *payload = buf + SPI_FRAME_HEADER_SIZE;
    *payload_len = hdr.len;
    *frame_size = size;
    return 0;
}

uint32_t spi_frame_next_address(uint32_t addr, size_t len)
{
    size_t next = (size_t)addr + SPI_FRAME_HEADER_SIZE + spi_frame_padded_len(len);
    return (uint32_t)(next % SPI_FRAME_READ_BUFFER_SIZE);
}

void spi_upload_iter_init(struct spi_upload_iter *it, size_t total)
{
    it->total = total;
    it->pos = 0;
}

bool spi_upload_next(struct spi_upload_iter *it, struct spi_upload_chunk *chunk)
{
    if (it->pos >= it->total)
        return false;
    size_t left = it->total - it->pos;
    chunk->offset = it->pos;
    chunk->len = left < SPI_UPLOAD_CHUNK_MAX ? left : SPI_UPLOAD_CHUNK_MAX;
    it->pos += chunk->len;
    chunk->address = it->pos == it->total ? SPI_UPLOAD_LAST_CHUNK_ADDR : SPI_UPLOAD_ADDR;
    return true;
}
