/* CRC-32/ISO-HDLC (poly 0x04C11DB7 reflected, init and xorout 0xFFFFFFFF): the CRC the
 * OpenTitan ujson console uses for `{"crc":N}` objects and ` CRC:N` suffixes. */
#ifndef FTHARNESS_COMMON_CRC32_H
#define FTHARNESS_COMMON_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC of `len` bytes at `data`; crc32_iso_hdlc("123456789", 9) == 0xCBF43926. */
uint32_t crc32_iso_hdlc(const void *data, size_t len);

#endif
