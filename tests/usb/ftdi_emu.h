/* Emulated FTDI FT2232H / FT4232H adapters for tests, served to the real libusb + libftdi1
 * stack through umockdev's usbdevfs ioctl handler (reference transport-spi-uart-ftdi.md
 * §4.2, §4.3, §5.2, §7.3).
 *
 * Only usable in a process running under umockdev's preload library (link it with
 * -Wl,--no-as-needed -lumockdev-preload, or run under umockdev-wrapper).
 *
 * Threading: umockdev calls the ioctl handlers on its own worker thread; every public
 * function here may be called from the test thread at any time (each adapter has a lock).
 * SPI target callbacks run on the worker thread with the adapter's lock held, so they must
 * not call back into this API.
 *
 * Ownership: the testbed owns every adapter added to it; adapters stay valid (even after
 * ftdi_emu_unplug) until ftdi_emu_testbed_free.
 */
#ifndef FTDI_EMU_H
#define FTDI_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ftdi_emu_chip {
    FTDI_EMU_FT2232H, /* 0403:6010, bcdDevice 0x0700, channels A and B, both MPSSE */
    FTDI_EMU_FT4232H, /* 0403:6011, bcdDevice 0x0800, channels A-D, MPSSE on A and B only */
};

/* Channel indexes: 0 = A ... 3 = D. */
enum { FTDI_EMU_MAX_CHANNELS = 4 };

/* A chip model wired to one channel's MPSSE pins (ADBUS/ACBUS, or BDBUS/BCBUS on B).
 * Any callback may be NULL. CS is ADBUS3, active low: `cs` is called on each change of
 * "ADBUS3 is an output driven low". `byte` is called once per clocked byte (MSB first,
 * mode 0) and returns the byte the target drives on MISO. `pins_in` returns the levels the
 * target drives on byte_index 0 (low byte) or 1 (high byte); only pins configured as inputs
 * are taken from it. `pins_out` reports every 0x80 (byte_index 0) / 0x82 (1) command. */
struct ftdi_emu_spi_target {
    void (*cs)(void *ctx, bool asserted);
    uint8_t (*byte)(void *ctx, uint8_t mosi);
    uint8_t (*pins_in)(void *ctx, int byte_index);
    void (*pins_out)(void *ctx, int byte_index, uint8_t value, uint8_t dir);
};

/* What is wired to a channel's UART pins (TXD/RXD), used while the channel is not in
 * MPSSE mode (bitmode RESET = UART, as after open). Without a peer the channel loops its
 * TXD back to RXD. `rx` gets the bytes the host writes (bulk-OUT). `tx` is asked at every
 * bulk-IN URB for up to `cap` bytes for the host and returns how many it put in `buf`
 * (0: nothing now). Both run on umockdev's worker thread with the adapter lock held: they
 * must return at once (never wait for the peer) and must not call back into this API. */
struct ftdi_emu_uart_peer {
    void (*rx)(void *ctx, const uint8_t *data, size_t len);
    size_t (*tx)(void *ctx, uint8_t *buf, size_t cap);
};

/* Transfers as seen on the bus. Bulk-IN byte counts include the two modem-status bytes
 * at the start of each packet (`in_payload_bytes` excludes them). */
struct ftdi_emu_counters {
    unsigned long control;
    unsigned long bulk_out;
    unsigned long bulk_in;
    unsigned long out_bytes;
    unsigned long in_bytes;
    unsigned long in_payload_bytes;
};

/* What the host last configured on a channel (for assertions). */
struct ftdi_emu_channel_state {
    uint8_t bitmode; /* high byte of the last SET_BITMODE wValue */
    uint8_t latency_ms;
    uint16_t baud_value, baud_index;
    uint8_t low_value, low_dir, high_value, high_dir;
    uint16_t divisor;
    bool div5, three_phase, adaptive, loopback;
    bool cs_asserted;
    unsigned long bad_opcodes; /* FA replies queued */
    /* UART settings: SET_BAUDRATE decoded (0 until set; H-chip encoding, reference
     * §2.1/§4.2), SET_DATA wValue (8N1 = 0x0008), SET_FLOW_CTRL wIndex high byte (0 none,
     * 1 RTS/CTS, 2 DTR/DSR, 4 XON/XOFF) and wValue (XOFF << 8 | XON). */
    uint32_t baud;
    uint16_t data_format;
    uint8_t flow_ctrl;
    uint16_t flow_chars;
    unsigned long uart_host_bytes; /* bytes the host wrote to the UART peer */
    unsigned long uart_peer_bytes; /* bytes the UART peer produced for the host */
};

struct ftdi_emu_testbed;
struct ftdi_emu;

/* Returns true when the process runs under umockdev's preload library; otherwise false
 * and *why (static string) says what is missing. */
bool ftdi_emu_available(const char **why);

/* New testbed (an umockdev sysfs/dev tree for this process), or NULL when not
 * available. Create it BEFORE the first libusb_init / ftdi_new in the process. */
struct ftdi_emu_testbed *ftdi_emu_testbed_new(void);

/* Unplugs and frees every adapter, then the testbed. Call after libusb_exit / ftdi_free. */
void ftdi_emu_testbed_free(struct ftdi_emu_testbed *tb);

/* Plugs in a new adapter (next free device number on bus 1) with the given serial
 * (at most 32 ASCII characters). Returns NULL on failure. The testbed owns the result.
 * Add every adapter before the first libusb_init (ftdi_new): hotplug after it is not
 * exercised by the tests. */
struct ftdi_emu *ftdi_emu_add(struct ftdi_emu_testbed *tb, enum ftdi_emu_chip chip,
                              const char *serial);

/* Attaches (or with target NULL detaches) a chip model to channel `channel` (0 = A).
 * `target` is borrowed and must outlive the attachment. */
void ftdi_emu_attach_spi(struct ftdi_emu *emu, int channel,
                         const struct ftdi_emu_spi_target *target, void *ctx);

/* Attaches (or with peer NULL detaches) a UART peer to channel `channel` (0 = A).
 * `peer` is borrowed and must outlive the attachment; no callback runs once this
 * returns with NULL. */
void ftdi_emu_attach_uart(struct ftdi_emu *emu, int channel, const struct ftdi_emu_uart_peer *peer,
                          void *ctx);

/* The testbed's root directory (its dev/, sys/ and ioctl/ trees, and UMOCKDEV_DIR) into
 * `out` (cap bytes): 0, or -1 when it does not fit. */
int ftdi_emu_testbed_root_dir(struct ftdi_emu_testbed *tb, char *out, size_t cap);

/* USB bus number and device address, as libusb reports them. */
int ftdi_emu_busnum(const struct ftdi_emu *emu);
int ftdi_emu_devnum(const struct ftdi_emu *emu);

void ftdi_emu_get_counters(struct ftdi_emu *emu, struct ftdi_emu_counters *out);
void ftdi_emu_reset_counters(struct ftdi_emu *emu);
void ftdi_emu_get_channel_state(struct ftdi_emu *emu, int channel,
                                struct ftdi_emu_channel_state *out);

/* --- Fault knobs --- */

/* Removes the device now (uevent "remove", sysfs and /dev node gone): URBs not yet reaped
 * complete with -ENODEV and every later request fails with ENODEV. */
void ftdi_emu_unplug(struct ftdi_emu *emu);

/* Unplugs from inside the transfer: the n-th bulk-IN URB from now (1 = the next) and all
 * later requests fail with ENODEV. The sysfs removal happens at the next ftdi_emu_unplug
 * or at ftdi_emu_testbed_free. */
void ftdi_emu_unplug_after_bulk_in(struct ftdi_emu *emu, unsigned n);

/* Plugs a device unplugged by ftdi_emu_unplug_after_bulk_in back into the same port, as
 * new (and cancels an unplug still counting down). Call it once the host has closed the
 * device. A device removed from sysfs stays removed. */
void ftdi_emu_replug(struct ftdi_emu *emu);

/* Makes claiming an interface fail with EBUSY, as when a kernel driver that cannot be
 * detached, or another program, holds the channel. */
void ftdi_emu_claim_busy(struct ftdi_emu *emu, bool busy);

/* Stalls (or un-stalls) a bulk endpoint: its URBs complete with -EPIPE until the host
 * sends CLEAR_HALT for it or this is called with stalled = false. */
void ftdi_emu_stall(struct ftdi_emu *emu, uint8_t endpoint, bool stalled);

/* The next bulk-IN URB on `channel` carrying data delivers at most `max_payload` bytes;
 * the rest stays queued for later URBs. */
void ftdi_emu_short_read(struct ftdi_emu *emu, int channel, size_t max_payload);

/* XORs `mask` into the payload byte at `offset` (counted from now) of `channel`'s
 * chip-to-host stream. */
void ftdi_emu_corrupt(struct ftdi_emu *emu, int channel, size_t offset, uint8_t mask);

#endif
