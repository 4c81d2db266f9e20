#include "wire/device_id.h"

#include <ctype.h>
#include <string.h>

#include "common/endian.h"

/* Packs the decimal digits of `value` as BCD nibbles. */
static uint64_t bcd(unsigned value)
{
    uint64_t out = 0;
    for (unsigned shift = 0; value > 0; shift += 4, value /= 10)
        out |= (uint64_t)(value % 10) << shift;
    return out;
}

static int check_range(const char *field, unsigned value, unsigned max, struct ft_error *err)
{
    if (value > max)
        return ft_fail(err, FT_E_RANGE, "device ID: %s %u is outside 0..%u", field, value, max);
    return 0;
}

static int din_encode(const struct device_id_fields *f, uint64_t *din, struct ft_error *err)
{
    if (f->blind_assembly) {
        *din = UINT64_MAX;
        return 0;
    }
    if (check_range("year", f->year, 9, err) || check_range("week", f->week, 51, err) ||
        check_range("lot", f->lot, 999, err) || check_range("wafer", f->wafer, 99, err) ||
        check_range("x", f->x, 999, err) || check_range("y", f->y, 999, err))
        return -1;
    *din = bcd(f->y) << 44 | bcd(f->x) << 32 | bcd(f->wafer) << 24 | bcd(f->lot) << 12 |
           bcd(f->week) << 4 | f->year;
    return 0;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int device_id_encode(const struct device_id_fields *f, uint8_t out[DEVICE_ID_SIZE],
                     struct ft_error *err)
{
    uint64_t din;
    if (din_encode(f, &din, err) != 0)
        return -1;
    if (f->otp == NULL || strlen(f->otp) != 4 || !isalpha((unsigned char)f->otp[0]) ||
        !isalpha((unsigned char)f->otp[1]) || hex_nibble(f->otp[2]) < 0 ||
        hex_nibble(f->otp[3]) < 0)
        return ft_fail(err, FT_E_INVALID,
                       "device ID: OTP name \"%s\" is not 2 letters and 2 hex digits",
                       f->otp ? f->otp : "");
    size_t sku_len = f->sku ? strlen(f->sku) : 0;
    if (sku_len == 0)
        return ft_fail(err, FT_E_INVALID, "device ID: SKU name is empty");

    memset(out, 0, DEVICE_ID_SIZE);
    /* base_uid */
    store_le32(out, (uint32_t)f->si_creator_id | (uint32_t)f->product_id << 16);
    store_le32(out + 4, (uint32_t)din);
    store_le32(out + 8, (uint32_t)(din >> 32));
    /* sku_specific: the OTP and SKU names are stored so that their big-endian reading
     * spells the upper-cased name. */
    uint8_t *sku_specific = out + 16;
    sku_specific[0] = f->package_id;
    sku_specific[1] = f->ast_cfg_version;
    sku_specific[2] = (uint8_t)toupper((unsigned char)f->otp[1]);
    sku_specific[3] = (uint8_t)toupper((unsigned char)f->otp[0]);
    sku_specific[4] = (uint8_t)(hex_nibble(f->otp[2]) << 4 | hex_nibble(f->otp[3]));
    for (size_t i = 0; i < 4 && i < sku_len; i++)
        sku_specific[8 + 3 - i] = (uint8_t)toupper((unsigned char)f->sku[i]);
    sku_specific[15] = 1; /* sku_specific format version */
    return 0;
}

/* Appends `n` bytes as lower-case hex digits, most significant byte first when
 * `reversed` (a little-endian integer read as a number), else in memory order. */
static char *put_hex(char *out, const uint8_t *bytes, size_t n, bool reversed)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        uint8_t b = bytes[reversed ? n - 1 - i : i];
        *out++ = digits[b >> 4];
        *out++ = digits[b & 0xF];
    }
    return out;
}

void device_id_to_string(const uint8_t id[DEVICE_ID_SIZE], char out[DEVICE_ID_STRING_LEN + 1])
{
    static const uint8_t cp_reserved_as_written[4] = {0}; /* upstream prints a constant 0 */
    char *p = out;
    *p++ = '0';
    *p++ = 'x';
    p = put_hex(p, id + 16, 16, false); /* Go's %032x of the sku_specific byte slice */
    p = put_hex(p, cp_reserved_as_written, 4, false);
    p = put_hex(p, id + 4, 8, true); /* %016x of the DIN */
    p = put_hex(p, id + 2, 2, true); /* %04x of product_id */
    p = put_hex(p, id, 2, true);     /* %04x of silicon_creator_id */
    *p = '\0';
}
