/* Fuzz target: the SPI console frame decoder, reading a stream of frames the way the host
 * does (expected frame numbers, junk skipped a word at a time). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/spi_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    size_t pos = 0;
    uint32_t expected = 0;
    size_t delivered = 0;
    while (pos < size) {
        const uint8_t *payload;
        size_t len;
        size_t frame_size;
        if (spi_frame_decode(buf + pos, size - pos, expected, &payload, &len, &frame_size, NULL) ==
            0) {
            if (len > SPI_FRAME_HOST_MAX_PAYLOAD || frame_size > size - pos ||
                payload + len > buf + size)
                abort();
            delivered += len;
            expected++;
            pos += frame_size;
        } else {
            pos += 4; /* junk: look at the next word */
        }
    }
    if (delivered > size)
        abort();

    /* The upload chunker over the input length covers it exactly once. */
    struct spi_upload_iter it;
    struct spi_upload_chunk chunk;
    spi_upload_iter_init(&it, size);
    size_t covered = 0;
    while (spi_upload_next(&it, &chunk)) {
        if (chunk.offset != covered || chunk.len == 0 || chunk.len > SPI_UPLOAD_CHUNK_MAX)
            abort();
        covered += chunk.len;
        if (chunk.address != (covered == size ? SPI_UPLOAD_LAST_CHUNK_ADDR : SPI_UPLOAD_ADDR))
            abort();
    }
    if (covered != size)
        abort();
    free(buf);
    return 0;
}
