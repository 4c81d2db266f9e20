/* The 256-bit OpenTitan device ID (reference/opentitan-ft-flow.md §10.1):
 *   bits 127..0   base_uid (CP half)     = LE pack of {hw_origin u32, din u64, 0 u32}
 *   bits 255..128 sku_specific (FT half) = LE pack of {package_id u8, ast_cfg_version u8,
 *                 otp_id u16, otp_version u8, 0 u8, 0 u16, sku_id u32, 0 u16, 0 u8,
 *                 format version u8 = 1}
 * hw_origin = si_creator_id | product_id << 16; the DIN holds BCD fields year[3:0],
 * week[11:4], lot[23:12], wafer[31:24], x[43:32], y[55:44] (all ones for blind assembly).
 * The DeviceId TLV carries the ID as 8 little-endian u32 words in OTP order, i.e. the
 * 32-byte little-endian encoding. People read it in one form only, the endorsement
 * registry's (device_id_to_string): the device record, logs, the registry's GET and its
 * exports all use it, so an ID copied from one can be pasted into another. */
#ifndef FTHARNESS_WIRE_DEVICE_ID_H
#define FTHARNESS_WIRE_DEVICE_ID_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

#define DEVICE_ID_SIZE 32u
/* "0x" and 64 hex digits. */
#define DEVICE_ID_STRING_LEN 66u

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

/* Writes the registry's form of the ID in TLV order `id`: upstream's DeviceIdToHexString
 * (opentitan-provisioning src/proto/device_id_utils.go:17-25, the key RegisterDevice stores
 * in src/pa/services/registry_shim/registry_shim.go:64) of the DeviceId that upstream's
 * FromRawBytes (src/utils/devid.go:33-58) makes of these bytes:
 *   "0x" + sku_specific (bytes 16..31, in that order)           32 digits
 *        + "00000000" (cp_reserved, bytes 12..15, always written as 0)
 *        + DIN (bytes 4..11, little-endian u64)                  16 digits
 *        + product_id (bytes 2..3) + silicon_creator_id (bytes 0..1), 4 digits each
 * lower case, DEVICE_ID_STRING_LEN characters and a NUL. Like upstream it validates
 * nothing, so every chip's ID prints, known product or not. */
void device_id_to_string(const uint8_t id[DEVICE_ID_SIZE], char out[DEVICE_ID_STRING_LEN + 1]);

#endif
