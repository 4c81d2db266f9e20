/* Finding and opening an FTDI channel through libftdi1; see ftdi_open.h. */
#include "link/ftdi_open.h"

#include <errno.h>
#include <ftdi.h>
#include <libusb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* libftdi 1.5's open errors that need their own advice (src/ftdi.c). */
#define LIBFTDI_NOT_FOUND (-3)
#define LIBFTDI_OPEN_FAILED (-4)
#define LIBFTDI_CLAIM_FAILED (-5)
#define LIBFTDI_NO_PERMISSION (-8)

/* How many adapters an error message lists. */
#define LIST_MAX 8u

struct opener {
    struct ftdi_context *ctx;
    char *name;
    size_t cap;
    char channel;
};

/* What enumeration learnt about one adapter. */
struct found {
    struct libusb_device *dev; /* borrowed from the libftdi device lists */
    unsigned bus, addr;
    uint16_t product;
    bool readable; /* its strings could be read: the user has access */
    char description[96];
    char serial[64];
};

struct ftdi_context *ftdi_open_new_context(struct ft_error *err)
{
    struct ftdi_context *ctx = ftdi_new();
    if (ctx != NULL)
        return ctx;
    /* ftdi_new is NULL when its allocation or its libusb_init failed: ask libusb. */
    libusb_context *usb = NULL;
    int rc = libusb_init(&usb);
    if (rc == 0) {
        libusb_exit(usb);
        ft_fail(err, FT_E_NOMEM, "FTDI adapter: libftdi context: out of memory");
    } else {
        ft_fail(err, FT_E_CONNECT,
                "FTDI adapter: libusb cannot start (%s): check that /dev/bus/usb and "
                "/sys/bus/usb are readable here (containers and sandboxes often hide them)",
                libusb_error_name(rc));
    }
    return NULL;
}

const char *ftdi_open_product_name(uint16_t product)
{
    return product == FTDI_OPEN_PRODUCT_4232H ? "FT4232H" : "FT2232H";
}

/* Whether the device node of bus/addr exists but denies this user read-write access. */
static bool access_denied(unsigned bus, unsigned addr)
{
    char node[64];
    snprintf(node, sizeof(node), "/dev/bus/usb/%03u/%03u", bus, addr);
    return access(node, R_OK | W_OK) != 0 && (errno == EACCES || errno == EPERM);
}

static void describe(const struct opener *o, struct found *d)
{
    d->bus = libusb_get_bus_number(d->dev);
    d->addr = libusb_get_device_address(d->dev);
    int rc = ftdi_usb_get_strings(o->ctx, d->dev, NULL, 0, d->description,
                                  (int)sizeof(d->description), d->serial, (int)sizeof(d->serial));
    /* -4: the device could not be opened; later codes: a string it does not have. */
    d->readable = rc != LIBFTDI_OPEN_FAILED;
    if (rc < 0 && !d->readable)
        d->description[0] = d->serial[0] = '\0';
}

static bool matches(const struct ftdi_open_select *sel, const struct found *d)
{
    if (sel->serial == NULL && sel->description == NULL)
        return true;
    if (!d->readable)
        return false;
    return (sel->serial == NULL || strcmp(sel->serial, d->serial) == 0) &&
           (sel->description == NULL || strcmp(sel->description, d->description) == 0);
}

/* "FT2232H serial 'X' 'desc' at 1:5; ..." for up to LIST_MAX adapters. */
static void list_found(const struct found *found, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        const struct found *d = &found[i];
        int w = d->readable
                    ? snprintf(out + len, cap - len, "%s%s serial '%s' '%s' at %u:%u",
                               i ? "; " : "", ftdi_open_product_name(d->product), d->serial,
                               d->description, d->bus, d->addr)
                    : snprintf(out + len, cap - len, "%s%s at %u:%u (no access)", i ? "; " : "",
                               ftdi_open_product_name(d->product), d->bus, d->addr);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* Failure of an open that reached a device: permission, a busy channel, or libftdi's own
 * words. */
static int open_failed(const struct opener *o, int rc, unsigned bus, unsigned addr,
                       struct ft_error *err)
{
    if (rc == LIBFTDI_NO_PERMISSION || (rc == LIBFTDI_OPEN_FAILED && access_denied(bus, addr)))
        return ft_fail(err, FT_E_CONNECT, "%s: permission denied on %u:%u: " FTDI_OPEN_RULES_HINT,
                       o->name, bus, addr);
    if (rc == LIBFTDI_CLAIM_FAILED)
        return ft_fail(err, FT_E_CONNECT,
                       "%s: channel %c is busy: another program has it open, or the ftdi_sio "
                       "driver could not be detached",
                       o->name, o->channel);
    return ft_fail(err, FT_E_CONNECT, "%s: cannot open USB device %u:%u: %s (libftdi %d)", o->name,
                   bus, addr, ftdi_get_error_string(o->ctx), rc);
}

static int parse_bus_addr(const char *text, unsigned *bus, unsigned *addr, struct ft_error *err)
{
    char tail;
    if (sscanf(text, "%u:%u%c", bus, addr, &tail) != 2 || *bus == 0 || *bus > 255 || *addr == 0 ||
        *addr > 127)
        return ft_fail(err, FT_E_INVALID,
                       "FTDI adapter bus path '%s': expected BUS:DEV, e.g. 1:5 (see lsusb)", text);
    return 0;
}

static int open_by_bus_addr(const struct opener *o, const char *text, struct ft_error *err)
{
    unsigned bus, addr;
    if (parse_bus_addr(text, &bus, &addr, err) != 0)
        return -1;
    snprintf(o->name, o->cap, "ftdi at %u:%u channel %c", bus, addr, o->channel);
    int rc = ftdi_usb_open_bus_addr(o->ctx, (uint8_t)bus, (uint8_t)addr);
    if (rc == LIBFTDI_NOT_FOUND)
        return ft_fail(err, FT_E_CONNECT, "%s: no FTDI adapter at USB bus %u device %u", o->name,
                       bus, addr);
    if (rc < 0)
        return open_failed(o, rc, bus, addr, err);
    return 0;
}

/* Appends the adapters of one product to `found` (up to `cap`); returns the new count. */
static size_t find_product(const struct opener *o, uint16_t product, struct ftdi_device_list **list,
                           struct found *found, size_t n, size_t cap)
{
    if (ftdi_usb_find_all(o->ctx, list, FTDI_OPEN_VENDOR, product) < 0)
        return n;
    for (struct ftdi_device_list *d = *list; d != NULL && n < cap; d = d->next) {
        found[n] = (struct found){.dev = d->dev, .product = product};
        describe(o, &found[n]);
        n++;
    }
    return n;
}

static int not_found(const struct opener *o, const struct ftdi_open_select *sel,
                     const struct found *found, size_t n, struct ft_error *err)
{
    char listing[FT_ERROR_MESSAGE_MAX];
    list_found(found, n, listing, sizeof(listing));
    for (size_t i = 0; i < n; i++)
        if (!found[i].readable && access_denied(found[i].bus, found[i].addr))
            return ft_fail(err, FT_E_CONNECT, "%s: permission denied on %u:%u: %s", o->name,
                           found[i].bus, found[i].addr, FTDI_OPEN_RULES_HINT);
    if (n == 0)
        return ft_fail(err, FT_E_CONNECT,
                       "%s: no FT2232H/FT4232H adapter (0403:6010/6011) found: is it plugged in?",
                       o->name);
    return ft_fail(err, FT_E_CONNECT,
                   "%s: no adapter matches serial '%s' description '%s' index %u; "
                   "found: %s",
                   o->name, sel->serial ? sel->serial : "*",
                   sel->description ? sel->description : "*", sel->index, listing);
}

static int open_by_strings(const struct opener *o, const struct ftdi_open_select *sel,
                           struct ft_error *err)
{
    struct ftdi_device_list *lists[2] = {NULL, NULL};
    struct found found[LIST_MAX * 2];
    size_t n = find_product(o, FTDI_OPEN_PRODUCT_2232H, &lists[0], found, 0, LIST_MAX * 2);
    n = find_product(o, FTDI_OPEN_PRODUCT_4232H, &lists[1], found, n, LIST_MAX * 2);
    snprintf(o->name, o->cap, "ftdi serial '%s' channel %c", sel->serial ? sel->serial : "*",
             o->channel);
    const struct found *pick = NULL;
    unsigned seen = 0;
    for (size_t i = 0; i < n && pick == NULL; i++)
        if (matches(sel, &found[i]) && seen++ == sel->index)
            pick = &found[i];
    int rc = 0;
    if (pick == NULL) {
        rc = not_found(o, sel, found, n, err);
    } else {
        snprintf(o->name, o->cap, "ftdi %s serial '%s' at %u:%u channel %c",
                 ftdi_open_product_name(pick->product), pick->serial, pick->bus, pick->addr,
                 o->channel);
        int orc = ftdi_usb_open_dev(o->ctx, pick->dev);
        if (orc < 0)
            rc = open_failed(o, orc, pick->bus, pick->addr, err);
    }
    ftdi_list_free(&lists[0]);
    ftdi_list_free(&lists[1]);
    return rc;
}

int ftdi_open_channel(struct ftdi_context *ctx, const struct ftdi_open_select *sel, char channel,
                      char *name, size_t cap, struct ft_error *err)
{
    static const enum ftdi_interface ifaces[] = {INTERFACE_A, INTERFACE_B, INTERFACE_C,
                                                 INTERFACE_D};
    const struct opener o = {.ctx = ctx, .name = name, .cap = cap, .channel = channel};
    snprintf(name, cap, "ftdi channel %c", channel);
    if (channel < 'A' || channel > 'D')
        return ft_fail(err, FT_E_INVALID, "FTDI channel '%c': expected A, B, C or D", channel);
    if (ftdi_set_interface(ctx, ifaces[channel - 'A']) < 0)
        return ft_fail(err, FT_E_INVALID, "%s: %s", name, ftdi_get_error_string(ctx));
    if (sel->bus_addr != NULL)
        return open_by_bus_addr(&o, sel->bus_addr, err);
    return open_by_strings(&o, sel, err);
}
