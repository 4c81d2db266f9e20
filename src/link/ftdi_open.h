/* Finding and opening one channel of an FTDI FT2232H (0403:6010) or FT4232H (0403:6011)
 * through libftdi1, shared by the MPSSE backend (ftdi_spi) and the UART (ftdi_uart).
 *
 * The adapter is selected by libusb bus:address, or by USB serial / product string and
 * index among the matches. Errors say what a floor engineer can do: no access to the USB
 * device (pointing at dist/99-ftharness-ftdi.rules), no matching adapter (listing the
 * FTDI adapters found), a channel another program holds. All FT_E_CONNECT. */
#ifndef FTHARNESS_LINK_FTDI_OPEN_H
#define FTHARNESS_LINK_FTDI_OPEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct ftdi_context;

#define FTDI_OPEN_VENDOR 0x0403u
#define FTDI_OPEN_PRODUCT_2232H 0x6010u
#define FTDI_OPEN_PRODUCT_4232H 0x6011u

/* Advice for a permission failure on the USB device node. */
#define FTDI_OPEN_RULES_HINT                                                                       \
    "install dist/99-ftharness-ftdi.rules in /etc/udev/rules.d, add the user to group plugdev, "   \
    "then 'udevadm control --reload-rules && udevadm trigger' and re-plug"

/* Which adapter: the first of bus_addr / serial+description+index that is set selects. */
struct ftdi_open_select {
    const char *serial;      /* USB serial string, exact match; NULL: any */
    const char *description; /* USB product string, exact match; NULL: any */
    const char *bus_addr;    /* "BUS:DEV" (decimal libusb bus number, device address); NULL */
    unsigned index;          /* the index-th adapter matching serial/description, from 0 */
};

/* A new libftdi context (ftdi_free when done), or NULL with FT_E_NOMEM, or FT_E_CONNECT
 * when libusb cannot start (ftdi_new fails the same way for both). */
struct ftdi_context *ftdi_open_new_context(struct ft_error *err);

/* Selects interface `channel` ('A'..'D', already checked by the caller) on `ctx` and
 * opens the adapter `sel` picks. `name` (cap bytes) always gets a name for messages:
 * "ftdi FT2232H serial 'X' at 1:5 channel B" once found, a shorter one before. 0 when
 * open (the caller then owns the open device: ftdi_usb_close), or -1 with err filled
 * (FT_E_INVALID: bad bus path or interface; FT_E_CONNECT: not found, no permission,
 * channel busy, cannot open). */
int ftdi_open_channel(struct ftdi_context *ctx, const struct ftdi_open_select *sel, char channel,
                      char *name, size_t cap, struct ft_error *err);

/* "FT2232H" / "FT4232H" for a USB product id. */
const char *ftdi_open_product_name(uint16_t product);

#endif
