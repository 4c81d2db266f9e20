#include "common/crc32.h"

#include <zlib.h>

/* zlib's crc32 is exactly CRC-32/ISO-HDLC; crc32_z takes a size_t length, so no input
 * is too long for it. */
uint32_t crc32_iso_hdlc(const void *data, size_t len)
{
    uLong crc = crc32_z(0L, Z_NULL, 0);
    return (uint32_t)crc32_z(crc, (const Bytef *)data, len);
}
