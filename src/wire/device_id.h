/* The 256-bit OpenTitan device ID (reference/opentitan-ft-flow.md §10.1):
 *   bits 127..0   base_uid (CP half)     = LE pack of {hw_origin u32, din u64, 0 u32}
 *   bits 255..128 sku_specific (FT half) = LE pack of {package_id u8, ast_cfg_version u8,
 *                 otp_id u16, otp_version u8, 0 u8, 0 u16, sku_id u32, 0 u16, 0 u8,
 *                 format version u8 = 1}
 * hw_origin = si_creator_id | product_id << 16; the DIN holds BCD fields year[3:0],
 * week[11:4], lot[23:12], wafer[31:24], x[43:32], y[55:44] (all ones for blind assembly).
 * The DeviceId TLV carries the ID as 8 little-endian u32 words in OTP order, i.e. the
 * 32-byte little-endian encoding; people read it as 64 big-endian hex digits. */
#ifndef FTHARNESS_WIRE_DEVICE_ID_H
#define FTHARNESS_WIRE_DEVICE_ID_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

#define DEVICE_ID_SIZE 32u
#define DEVICE_ID_HEX_LEN 64u

struct device_id_fields {
    uint16_t si_creator_id;
    uint16_t product_id;
    bool blind_assembly; /* DIN all ones; the fields below are ignored */
    unsigned year;       /* 0..9 */
    unsigned week;       /* 0..51 */
    unsigned lot;        /* 0..999 */
    unsigned wafer;      /* 0..99 */
    unsigned x;          /* 0..999 */
    unsigned y;          /* 0..999 */
    uint8_t package_id;
    uint8_t ast_cfg_version;
    const char *otp; /* OTP config name: 2 letters then 2 hex digits, e.g. "sv00" */
    const char *sku; /* SKU name; its first 4 characters, upper-cased, form sku_id */
};

/* Encodes the ID in TLV/OTP byte order (little-endian). Fails naming the field out of
 * range or malformed. */
int device_id_encode(const struct device_id_fields *f, uint8_t out[DEVICE_ID_SIZE],
                     struct ft_error *err);

/* Writes the big-endian hex form (64 lower-case digits and a NUL). */
void device_id_to_hex(const uint8_t id[DEVICE_ID_SIZE], char out[DEVICE_ID_HEX_LEN + 1]);

#endif
