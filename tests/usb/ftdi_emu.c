/* Emulated FTDI H-series adapters behind umockdev's usbdevfs ioctl handler.
 *
 * Every URB is completed at submission and queued for reaping, so libusb never has one
 * to poll for (it would busy-poll REAPURBNDELAY, which the ioctl socket would answer
 * thousands of times per second). A bulk-IN on an MPSSE channel is paced as the chip
 * paces it, within its submission: answered at once after SEND_IMMEDIATE or with a full
 * packet queued, else when the latency timer expires, maybe with only the two
 * modem-status bytes, which libftdi reads as "no data" (mpsse_await_answer). Facts used are from
 * reference transport-spi-uart-ftdi.md §4.1-§4.5 (descriptors, vendor requests, MPSSE opcodes).
 */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "ftdi_emu.h"

#include <errno.h>
#include <link.h>
#include <linux/usbdevice_fs.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h> /* _IOR and friends used by the USBDEVFS_* request numbers */
#include <time.h>
#include <umockdev.h>

enum {
    FTDI_VID = 0x0403,
    PACKET_SIZE = 512, /* high-speed bulk packet; libftdi reads it from the descriptor */
    STATUS_BYTES = 2,  /* modem status at the start of each bulk-IN packet */
    MODE_MPSSE = 0x02, /* SET_BITMODE mode byte */
    CS_BIT = 0x08,     /* ADBUS3 */
    MOSI_BIT = 0x02,   /* ADBUS1 */
    GPIOL1_BIT = 0x20, /* ADBUS5 */
    SERIAL_MAX = 32,
};

/* The pair pyftdi's virtual FTDI sends in MPSSE mode when idle (reference §4.2); libftdi
 * strips these bytes per packet without looking at them. */
static const uint8_t MODEM_STATUS[STATUS_BYTES] = {0x32, 0x60};

struct emu_channel {
    uint8_t bitmode;
    uint8_t latency;
    uint16_t baud_value, baud_index;
    uint8_t low_value, low_dir, high_value, high_dir;
    uint16_t divisor;
    bool div5, three_phase, adaptive, loopback, cs_asserted;
    unsigned long bad_opcodes;
    GByteArray *cmd;         /* host-to-chip bytes not yet executed (a command may be split) */
    GByteArray *rx;          /* chip-to-host bytes not yet delivered */
    unsigned long delivered; /* payload bytes delivered so far (for the corrupt knob) */
    const struct ftdi_emu_spi_target *target;
    void *target_ctx;
    const struct ftdi_emu_uart_peer *peer;
    void *peer_ctx;
    uint32_t baud;
    uint16_t data_format, flow_chars;
    uint8_t flow_ctrl;
    unsigned long uart_host_bytes, uart_peer_bytes;
    bool flush; /* SEND_IMMEDIATE ran: what is queued goes out at the next bulk-IN */
    bool short_armed;
    size_t short_max;
    bool corrupt_armed;
    unsigned long corrupt_at;
    uint8_t corrupt_mask;
};

struct ftdi_emu {
    struct ftdi_emu_testbed *tb;
    pthread_mutex_t mu;
    enum ftdi_emu_chip chip;
    int nch;
    int busnum, devnum;
    char serial[SERIAL_MAX + 1];
    char sysfs[96];
    char devnode[48];
    UMockdevIoctlBase *handler;
    GQueue done; /* UMockdevIoctlData * of completed URBs, in completion order */
    struct emu_channel ch[FTDI_EMU_MAX_CHANNELS];
    struct ftdi_emu_counters cnt;
    uint32_t stalled; /* bit (endpoint & 0x0f) + 16 for IN endpoints */
    bool unplugged;   /* requests fail with ENODEV */
    bool claim_busy;  /* CLAIMINTERFACE fails with EBUSY (a driver or program holds it) */
    bool removed;     /* sysfs entry gone */
    unsigned unplug_countdown;
};

struct ftdi_emu_testbed {
    UMockdevTestbed *tb;
    GPtrArray *emus;
    int next_devnum;
};

/* ---- descriptors ---- */

static uint16_t chip_pid(enum ftdi_emu_chip chip)
{
    return chip == FTDI_EMU_FT2232H ? 0x6010 : 0x6011;
}

static uint16_t chip_bcd(enum ftdi_emu_chip chip)
{
    return chip == FTDI_EMU_FT2232H ? 0x0700 : 0x0800;
}

static const char *chip_product(enum ftdi_emu_chip chip)
{
    return chip == FTDI_EMU_FT2232H ? "Dual RS232-HS" : "Quad RS232-HS";
}

static bool channel_is_mpsse(const struct ftdi_emu *emu, int ch)
{
    /* FT4232H C and D have no MPSSE engine (reference §4.1). */
    return emu->chip == FTDI_EMU_FT2232H || ch < 2;
}

static size_t put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return 2;
}

/* Device descriptor followed by the one configuration, as usbfs returns them. */
static size_t build_descriptors(const struct ftdi_emu *emu, uint8_t *out)
{
    size_t n = 0;
    out[n++] = 18;
    out[n++] = 0x01;
    n += put_le16(out + n, 0x0200);
    out[n++] = 0x00; /* class per interface */
    out[n++] = 0x00;
    out[n++] = 0x00;
    out[n++] = 64; /* bMaxPacketSize0 */
    n += put_le16(out + n, FTDI_VID);
    n += put_le16(out + n, chip_pid(emu->chip));
    n += put_le16(out + n, chip_bcd(emu->chip));
    out[n++] = 1; /* iManufacturer */
    out[n++] = 2; /* iProduct */
    out[n++] = 3; /* iSerialNumber */
    out[n++] = 1; /* bNumConfigurations */

    size_t cfg = n;
    out[n++] = 9;
    out[n++] = 0x02;
    n += 2; /* wTotalLength, filled below */
    out[n++] = (uint8_t)emu->nch;
    out[n++] = 1;    /* bConfigurationValue */
    out[n++] = 0;    /* iConfiguration */
    out[n++] = 0x80; /* bus powered */
    out[n++] = 0x32; /* 100 mA */
    for (int i = 0; i < emu->nch; i++) {
        const uint8_t iface[9] = {9, 0x04, (uint8_t)i, 0, 2, 0xff, 0xff, 0xff, 2};
        memcpy(out + n, iface, sizeof iface);
        n += sizeof iface;
        const uint8_t eps[2] = {(uint8_t)(0x81 + 2 * i), (uint8_t)(0x02 + 2 * i)};
        for (int e = 0; e < 2; e++) {
            out[n++] = 7;
            out[n++] = 0x05;
            out[n++] = eps[e];
            out[n++] = 0x02; /* bulk */
            n += put_le16(out + n, PACKET_SIZE);
            out[n++] = 0;
        }
    }
    put_le16(out + cfg + 2, (uint16_t)(n - cfg));
    return n;
}

/* String descriptor `idx` into out (at most maxlen bytes); -1 when there is none. */
static int string_descriptor(const struct ftdi_emu *emu, unsigned idx, uint8_t *out, size_t maxlen)
{
    uint8_t tmp[2 + 2 * 64];
    size_t n;
    if (idx == 0) {
        const uint8_t langs[4] = {4, 0x03, 0x09, 0x04}; /* en-US */
        memcpy(tmp, langs, sizeof langs);
        n = sizeof langs;
    } else {
        const char *s = idx == 1   ? "FTDI"
                        : idx == 2 ? chip_product(emu->chip)
                        : idx == 3 ? emu->serial
                                   : NULL;
        if (s == NULL)
            return -1;
        n = 2;
        for (size_t i = 0; s[i] != '\0' && n + 2 <= sizeof tmp; i++) {
            tmp[n++] = (uint8_t)s[i];
            tmp[n++] = 0;
        }
        tmp[0] = (uint8_t)n;
        tmp[1] = 0x03;
    }
    if (n > maxlen)
        n = maxlen;
    memcpy(out, tmp, n);
    return (int)n;
}

/* ---- MPSSE engine ---- */

static uint8_t pins_level(struct emu_channel *c, int byte_index)
{
    uint8_t value = byte_index == 0 ? c->low_value : c->high_value;
    uint8_t dir = byte_index == 0 ? c->low_dir : c->high_dir;
    /* Unconnected inputs read high: an emulator choice, so a target-less channel is
     * deterministic. */
    uint8_t in = 0xff;
    if (c->target != NULL && c->target->pins_in != NULL)
        in = c->target->pins_in(c->target_ctx, byte_index);
    return (uint8_t)((value & dir) | (in & ~dir));
}

static void update_cs(struct emu_channel *c)
{
    bool asserted = (c->low_dir & CS_BIT) != 0 && (c->low_value & CS_BIT) == 0;
    if (asserted != c->cs_asserted) {
        c->cs_asserted = asserted;
        if (c->target != NULL && c->target->cs != NULL)
            c->target->cs(c->target_ctx, asserted);
    }
}

static void set_pins(struct emu_channel *c, int byte_index, uint8_t value, uint8_t dir)
{
    if (byte_index == 0) {
        c->low_value = value;
        c->low_dir = dir;
    } else {
        c->high_value = value;
        c->high_dir = dir;
    }
    if (c->target != NULL && c->target->pins_out != NULL)
        c->target->pins_out(c->target_ctx, byte_index, value, dir);
    update_cs(c);
}

static uint8_t clock_byte(struct emu_channel *c, uint8_t mosi)
{
    uint8_t miso = 0xff; /* no target: MISO floats high, like an unconnected input */
    if (c->target != NULL && c->target->byte != NULL)
        miso = c->target->byte(c->target_ctx, mosi);
    return c->loopback ? mosi : miso;
}

static void queue_byte(struct emu_channel *c, uint8_t b)
{
    g_byte_array_append(c->rx, &b, 1);
}

static void queue_bad_opcode(struct emu_channel *c, uint8_t op)
{
    const uint8_t reply[2] = {0xfa, op};
    g_byte_array_append(c->rx, reply, sizeof reply);
    c->bad_opcodes++;
}

/* Clocks without data are the one way a host lets time pass inside a command stream
 * (e.g. for the chip to take an upload before its status is read). They take real time
 * here, SCK = 60 MHz (12 MHz with divide-by-5) / ((1 + divisor) * 2), so the chip
 * model's firmware thread runs meanwhile, as the chip's firmware would. Data clocking
 * stays instant: nothing on the chip depends on its duration. */
static void pace_clocks(const struct emu_channel *c, uint64_t bits)
{
    uint64_t base = c->div5 ? 12000000u : 60000000u;
    uint64_t ns = bits * 1000000000u * ((uint64_t)c->divisor + 1) * 2 / base;
    struct timespec t = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* Executes the command at p (avail bytes). Returns the bytes it used, or 0 when the command
 * is incomplete (or waits on GPIOL1) and must wait for more input. */
static size_t mpsse_step(struct ftdi_emu *emu, struct emu_channel *c, const uint8_t *p,
                         size_t avail)
{
    uint8_t op = p[0];
    bool has_high = emu->chip != FTDI_EMU_FT4232H; /* FT4232H: 8 GPIO only (§4.1) */
    switch (op) {
    case 0x80:
    case 0x82:
        if (op == 0x82 && !has_high)
            break;
        if (avail < 3)
            return 0;
        set_pins(c, op == 0x80 ? 0 : 1, p[1], p[2]);
        return 3;
    case 0x81:
    case 0x83:
        if (op == 0x83 && !has_high)
            break;
        queue_byte(c, pins_level(c, op == 0x81 ? 0 : 1));
        return 1;
    case 0x10: /* out, MSB first, +ve edge */
    case 0x11: /* out, MSB first, -ve edge */
    case 0x31: /* duplex, out -ve / in +ve */
    case 0x34: /* duplex, out +ve / in -ve */
    case 0x20: /* in, +ve edge */
    case 0x24: /* in, -ve edge */ {
        if (avail < 3)
            return 0;
        size_t n = (size_t)(p[1] | p[2] << 8) + 1;
        bool writes = (op & 0x10) != 0, reads = (op & 0x20) != 0;
        size_t need = 3 + (writes ? n : 0);
        if (avail < need)
            return 0;
        /* Reads without data out shift the idle MOSI level (ADBUS1) into the target. */
        uint8_t idle = (c->low_value & MOSI_BIT) != 0 ? 0xff : 0x00;
        for (size_t i = 0; i < n; i++) {
            uint8_t miso = clock_byte(c, writes ? p[3 + i] : idle);
            if (reads)
                queue_byte(c, miso);
        }
        return need;
    }
    case 0x84:
    case 0x85:
        c->loopback = op == 0x84;
        return 1;
    case 0x86:
        if (avail < 3)
            return 0;
        c->divisor = (uint16_t)(p[1] | p[2] << 8);
        return 3;
    case 0x87: /* SEND_IMMEDIATE: what is queued goes out now (bulk_in_urb) */
        c->flush = true;
        return 1;
    case 0x88: /* wait until GPIOL1 high */
    case 0x89: /* wait until GPIOL1 low */ {
        bool high = (pins_level(c, 0) & GPIOL1_BIT) != 0;
        return high == (op == 0x88) ? 1 : 0;
    }
    case 0x8e: /* clock 1..8 bits, no data */
        if (avail < 2)
            return 0;
        pace_clocks(c, (uint64_t)p[1] + 1);
        return 2;
    case 0x8f: /* clock 1..65536 bytes, no data */
        if (avail < 3)
            return 0;
        pace_clocks(c, ((uint64_t)(p[1] | p[2] << 8) + 1) * 8);
        return 3;
    case 0x8a:
    case 0x8b:
        c->div5 = op == 0x8b;
        return 1;
    case 0x8c:
    case 0x8d:
        c->three_phase = op == 0x8c;
        return 1;
    case 0x96:
    case 0x97:
        c->adaptive = op == 0x96;
        return 1;
    default:
        break;
    }
    /* The chip answers FA <op> only for bit-7 opcodes it does not know (§4.3); the
     * emulator does the same for valid opcodes it does not model (bit clocking, LSB first,
     * TMS), so a test never silently desynchronises. */
    queue_bad_opcode(c, op);
    return 1;
}

static void mpsse_run(struct ftdi_emu *emu, struct emu_channel *c)
{
    size_t pos = 0;
    while (pos < c->cmd->len) {
        size_t used = mpsse_step(emu, c, c->cmd->data + pos, c->cmd->len - pos);
        if (used == 0)
            break;
        pos += used;
    }
    g_byte_array_remove_range(c->cmd, 0, (guint)pos);
}

static void channel_reset(struct emu_channel *c)
{
    g_byte_array_set_size(c->cmd, 0);
    g_byte_array_set_size(c->rx, 0);
    c->flush = false;
}

/* ---- URB handling (called with emu->mu held) ---- */

static int find_channel(const struct ftdi_emu *emu, uint8_t ep)
{
    int ch = (ep & 0x80) != 0 ? ((ep & 0x0f) - 1) / 2 : ((ep & 0x0f) - 2) / 2;
    uint8_t want = (ep & 0x80) != 0 ? (uint8_t)(0x81 + 2 * ch) : (uint8_t)(0x02 + 2 * ch);
    if (ch < 0 || ch >= emu->nch || want != ep)
        return -1;
    return ch;
}

static uint32_t stall_bit(uint8_t ep)
{
    return 1u << ((ep & 0x0f) + ((ep & 0x80) != 0 ? 16 : 0));
}

/* The baud rate an H chip runs at for SET_BAUDRATE's wValue and wIndex high byte
 * (libftdi's ftdi_to_clkbits / H encoding): bits 0..13 the divisor, bits 14..16 its
 * eighths in FTDI's order, bit 17 the 120 MHz (12 MBd) base instead of 3 MBd. */
static uint32_t decode_baud(unsigned val, unsigned idx)
{
    static const unsigned eighths[8] = {0, 4, 2, 1, 3, 5, 6, 7};
    uint32_t enc = (uint32_t)val | (uint32_t)(idx >> 8) << 16;
    uint64_t base = (enc & 0x20000u) != 0 ? 12000000u : 3000000u;
    uint64_t div8 = (uint64_t)(enc & 0x3fffu) * 8u + eighths[(enc >> 14) & 7u];
    if (div8 == 0)
        return (uint32_t)base;
    if (div8 == 8 && (enc & 0x20000u) == 0)
        return (uint32_t)(base * 2 / 3); /* divisor 1 means 1.5 on the 3 MBd base */
    return (uint32_t)((base * 8u + div8 / 2) / div8);
}

static void vendor_out(struct emu_channel *c, unsigned rq, unsigned val, unsigned idx,
                       struct usbdevfs_urb *u)
{
    switch (rq) {
    case 0x00: /* SIO_RESET: 0 all, 1 host-to-chip FIFO, 2 chip-to-host FIFO */
        if (val == 0 || val == 1)
            g_byte_array_set_size(c->cmd, 0);
        if (val == 0 || val == 2)
            g_byte_array_set_size(c->rx, 0);
        break;
    case 0x02: /* SET_FLOW_CTRL: the handshake in wIndex's high byte, XON/XOFF chars */
        c->flow_ctrl = (uint8_t)(idx >> 8);
        c->flow_chars = (uint16_t)val;
        break;
    case 0x03:
        c->baud_value = (uint16_t)val;
        c->baud_index = (uint16_t)idx;
        c->baud = decode_baud(val, idx);
        break;
    case 0x04: /* SET_DATA */
        c->data_format = (uint16_t)val;
        break;
    case 0x09:
        c->latency = (uint8_t)val;
        break;
    case 0x0b:
        /* MPSSE ignores the mask (directions come from 0x80/0x82); other modes use it. */
        c->bitmode = (uint8_t)(val >> 8);
        c->low_dir = c->bitmode == MODE_MPSSE ? 0 : (uint8_t)val;
        c->high_dir = 0;
        update_cs(c);
        channel_reset(c);
        break;
    case 0x01: /* modem control, event/error char: no effect */
    case 0x06:
    case 0x07:
        break;
    default:
        u->status = -EPIPE;
        break;
    }
}

static void vendor_in(struct emu_channel *c, unsigned rq, uint8_t *data, size_t room,
                      struct usbdevfs_urb *u)
{
    uint8_t reply[2];
    size_t n;
    switch (rq) {
    case 0x05:
        memcpy(reply, MODEM_STATUS, STATUS_BYTES);
        n = 2;
        break;
    case 0x0a:
        reply[0] = c->latency;
        n = 1;
        break;
    case 0x0c:
        reply[0] = pins_level(c, 0);
        n = 1;
        break;
    default:
        u->status = -EPIPE;
        return;
    }
    if (n > room)
        n = room;
    memcpy(data, reply, n);
    u->actual_length = (int)n;
}

static void control_urb(struct ftdi_emu *emu, struct usbdevfs_urb *u, uint8_t *buf)
{
    emu->cnt.control++;
    if (u->buffer_length < 8) {
        u->status = -EPIPE;
        return;
    }
    unsigned rt = buf[0], rq = buf[1];
    unsigned val = buf[2] | buf[3] << 8, idx = buf[4] | buf[5] << 8, len = buf[6] | buf[7] << 8;
    uint8_t *data = buf + 8;
    size_t room = (size_t)u->buffer_length - 8;
    if (room > len)
        room = len;
    if (rt == 0x80 && rq == 0x06) { /* GET_DESCRIPTOR */
        uint8_t desc[256];
        int n = -1;
        if (val >> 8 == 3) {
            n = string_descriptor(emu, val & 0xff, data, room);
        } else if (val >> 8 == 1 || val >> 8 == 2) {
            size_t all = build_descriptors(emu, desc);
            size_t off = val >> 8 == 1 ? 0 : 18;
            size_t want = val >> 8 == 1 ? 18 : all - 18;
            n = (int)(want < room ? want : room);
            memcpy(data, desc + off, (size_t)n);
        }
        if (n < 0)
            u->status = -EPIPE;
        else
            u->actual_length = n;
        return;
    }
    if (rt == 0x00 && rq == 0x09) /* SET_CONFIGURATION */
        return;
    int ch = (int)(idx & 0xff) - 1; /* vendor requests: wIndex A=1 ... D=4 */
    if ((rt == 0x40 || rt == 0xc0) && ch >= 0 && ch < emu->nch) {
        if (rt == 0x40)
            vendor_out(&emu->ch[ch], rq, val, idx, u);
        else
            vendor_in(&emu->ch[ch], rq, data, room, u);
        return;
    }
    u->status = -EPIPE;
}

static void bulk_out_urb(struct ftdi_emu *emu, int chn, struct usbdevfs_urb *u, const uint8_t *buf)
{
    struct emu_channel *c = &emu->ch[chn];
    size_t len = (size_t)u->buffer_length;
    emu->cnt.bulk_out++;
    emu->cnt.out_bytes += len;
    u->actual_length = (int)len;
    if (c->bitmode == MODE_MPSSE && channel_is_mpsse(emu, chn)) {
        g_byte_array_append(c->cmd, buf, (guint)len);
        mpsse_run(emu, c);
    } else if (c->peer != NULL) {
        /* UART mode with something wired to TXD/RXD. */
        c->uart_host_bytes += len;
        if (c->peer->rx != NULL && len > 0)
            c->peer->rx(c->peer_ctx, buf, len);
    } else {
        /* UART and bit-bang modes: TX looped back to RX, like a loopback plug. */
        g_byte_array_append(c->rx, buf, (guint)len);
    }
}

static void copy_payload(struct emu_channel *c, uint8_t *dst, size_t n)
{
    if (n == 0)
        return; /* an empty GByteArray's data may be NULL, which memcpy must not get */
    memcpy(dst, c->rx->data, n);
    if (c->corrupt_armed && c->corrupt_at >= c->delivered && c->corrupt_at < c->delivered + n) {
        dst[c->corrupt_at - c->delivered] ^= c->corrupt_mask;
        c->corrupt_armed = false;
    }
    c->delivered += n;
    g_byte_array_remove_range(c->rx, 0, (guint)n);
}

/* Takes from the UART peer what fits in a bulk-IN of `len` bytes with what is queued. */
static void uart_pull(struct emu_channel *c, size_t len)
{
    if (c->peer == NULL || c->peer->tx == NULL)
        return;
    size_t room = (len / PACKET_SIZE) * (PACKET_SIZE - STATUS_BYTES);
    if (len % PACKET_SIZE > STATUS_BYTES)
        room += len % PACKET_SIZE - STATUS_BYTES;
    while (c->rx->len < room) {
        uint8_t chunk[PACKET_SIZE];
        size_t want = room - c->rx->len < sizeof(chunk) ? room - c->rx->len : sizeof(chunk);
        size_t got = c->peer->tx(c->peer_ctx, chunk, want);
        if (got == 0)
            break;
        if (got > want)
            got = want;
        g_byte_array_append(c->rx, chunk, (guint)got);
        c->uart_peer_bytes += got;
    }
}

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* An MPSSE channel answers a bulk-IN as the chip does: at once when SEND_IMMEDIATE ran or
 * a full packet's data is queued, else when its latency timer expires, with what it has
 * (maybe only the status bytes). Meanwhile the engine goes on: a GPIOL1 wait the target
 * releases lets the commands after it run. The URB's submission waits for that, with the
 * adapter's lock released, so libusb never has a URB to poll for. */
static void mpsse_await_answer(struct ftdi_emu *emu, struct emu_channel *c)
{
    uint64_t until = mono_ns() + (uint64_t)(c->latency > 0 ? c->latency : 1) * 1000000u;
    for (;;) {
        mpsse_run(emu, c);
        if (c->flush || c->rx->len >= PACKET_SIZE - STATUS_BYTES || emu->unplugged ||
            mono_ns() >= until)
            return;
        pthread_mutex_unlock(&emu->mu);
        struct timespec step = {.tv_sec = 0, .tv_nsec = 20000};
        nanosleep(&step, NULL);
        pthread_mutex_lock(&emu->mu);
    }
}

static void bulk_in_urb(struct ftdi_emu *emu, int chn, struct usbdevfs_urb *u, uint8_t *buf)
{
    struct emu_channel *c = &emu->ch[chn];
    size_t len = (size_t)u->buffer_length, off = 0, payload = 0;
    emu->cnt.bulk_in++;
    if (c->bitmode == MODE_MPSSE && channel_is_mpsse(emu, chn))
        mpsse_await_answer(emu, c);
    else
        uart_pull(c, len);
    size_t budget = c->short_armed && c->rx->len > 0 ? c->short_max : SIZE_MAX;
    if (c->short_armed && c->rx->len > 0)
        c->short_armed = false;
    /* Each packet: status bytes, then up to 510 data bytes. A packet with room left ends
     * the transfer, as a short packet does on the bus. */
    while (off + STATUS_BYTES <= len) {
        memcpy(buf + off, MODEM_STATUS, STATUS_BYTES);
        size_t room = PACKET_SIZE - STATUS_BYTES;
        if (room > len - off - STATUS_BYTES)
            room = len - off - STATUS_BYTES;
        size_t take = c->rx->len < room ? c->rx->len : room;
        if (take > budget)
            take = budget;
        copy_payload(c, buf + off + STATUS_BYTES, take);
        budget -= take;
        payload += take;
        off += STATUS_BYTES + take;
        if (take < PACKET_SIZE - STATUS_BYTES || c->rx->len == 0 || budget == 0)
            break;
    }
    if (c->rx->len == 0)
        c->flush = false;
    u->actual_length = (int)off;
    emu->cnt.in_bytes += off;
    emu->cnt.in_payload_bytes += payload;
}

/* Marks the device gone: later requests fail, URBs not yet reaped complete with ENODEV
 * (the emulator cannot know which of them the host would still have seen). */
static void go_away(struct ftdi_emu *emu)
{
    emu->unplugged = true;
    for (GList *l = emu->done.head; l != NULL; l = l->next) {
        struct usbdevfs_urb *u = (struct usbdevfs_urb *)((UMockdevIoctlData *)l->data)->data;
        u->status = -ENODEV;
        u->actual_length = 0;
    }
}

static int submit_urb(struct ftdi_emu *emu, UMockdevIoctlData *arg)
{
    if (emu->unplugged)
        return ENODEV;
    UMockdevIoctlData *urb = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
    if (urb == NULL)
        return EFAULT;
    struct usbdevfs_urb *u = (struct usbdevfs_urb *)urb->data;
    if (u->buffer_length > 0) {
        /* Maps the client buffer; u->buffer now points at the local copy, which is written
         * back to the client when the URB pointer is handed over at reap time. */
        UMockdevIoctlData *b = umockdev_ioctl_data_resolve(
            urb, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer), (gsize)u->buffer_length, NULL);
        if (b == NULL) {
            g_object_unref(urb);
            return EFAULT;
        }
        g_object_unref(b); /* the parent keeps its own reference */
    }
    uint8_t *buf = u->buffer;
    u->status = 0;
    u->actual_length = 0;
    int chn = find_channel(emu, u->endpoint);
    if (u->type == USBDEVFS_URB_TYPE_CONTROL) {
        control_urb(emu, u, buf);
    } else if (u->type != USBDEVFS_URB_TYPE_BULK || chn < 0) {
        u->status = -EPIPE;
    } else if ((emu->stalled & stall_bit(u->endpoint)) != 0) {
        u->status = -EPIPE;
    } else if ((u->endpoint & 0x80) == 0) {
        bulk_out_urb(emu, chn, u, buf);
    } else if (emu->unplug_countdown > 0 && --emu->unplug_countdown == 0) {
        emu->cnt.bulk_in++;
        go_away(emu);
        u->status = -ENODEV;
    } else {
        bulk_in_urb(emu, chn, u, buf);
    }
    g_queue_push_tail(&emu->done, urb); /* reference handed to the reaper */
    return 0;
}

static int reap_urb(struct ftdi_emu *emu, UMockdevIoctlData *arg)
{
    UMockdevIoctlData *urb = g_queue_pop_head(&emu->done);
    if (urb == NULL)
        return emu->unplugged ? ENODEV : EAGAIN;
    UMockdevIoctlData *slot = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
    int err = 0;
    /* Writes the client's URB address into *arg and uploads the URB and its buffer. */
    if (slot == NULL || !umockdev_ioctl_data_set_ptr(slot, 0, urb))
        err = EFAULT;
    if (slot != NULL)
        g_object_unref(slot);
    g_object_unref(urb);
    return err;
}

static int clear_halt(struct ftdi_emu *emu, UMockdevIoctlData *arg)
{
    UMockdevIoctlData *ep = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), NULL);
    if (ep == NULL)
        return EFAULT;
    unsigned int addr;
    memcpy(&addr, ep->data, sizeof addr);
    emu->stalled &= ~stall_bit((uint8_t)addr);
    g_object_unref(ep);
    return 0;
}

static int get_capabilities(UMockdevIoctlData *arg)
{
    UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
    if (d == NULL)
        return EFAULT;
    *(guint32 *)d->data = USBDEVFS_CAP_BULK_SCATTER_GATHER | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                          USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
    g_object_unref(d);
    return 0;
}

/* Returns the errno for the request (0 = success), or -1 to leave it to umockdev. */
static int handle_request(struct ftdi_emu *emu, gulong req, UMockdevIoctlData *arg)
{
    switch (req) {
    case USBDEVFS_SUBMITURB:
        return submit_urb(emu, arg);
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY:
        return reap_urb(emu, arg);
    case USBDEVFS_DISCARDURB:
        return EINVAL; /* nothing is ever in flight: every URB completes at submission */
    default:
        break;
    }
    if (emu->unplugged)
        return ENODEV;
    switch (req) {
    case USBDEVFS_GET_CAPABILITIES:
        return get_capabilities(arg);
    case USBDEVFS_CLEAR_HALT:
        return clear_halt(emu, arg);
    case USBDEVFS_CLAIMINTERFACE:
        return emu->claim_busy ? EBUSY : 0;
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_RESET:
    case USBDEVFS_RESETEP:
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_SETCONFIGURATION:
        return 0;
    case USBDEVFS_GETDRIVER: /* no kernel driver bound: nothing to detach */
    case USBDEVFS_IOCTL:
    case USBDEVFS_DISCONNECT_CLAIM:
        return ENODATA;
    default:
        return -1;
    }
}

static gboolean on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer user)
{
    (void)handler;
    struct ftdi_emu *emu = user;
    gulong req = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    pthread_mutex_lock(&emu->mu);
    int err = handle_request(emu, req, arg);
    pthread_mutex_unlock(&emu->mu);
    if (err < 0)
        return FALSE;
    umockdev_ioctl_client_complete(client, err == 0 ? 0 : -1, err);
    return TRUE;
}

/* ---- public API ---- */

static int find_preload(struct dl_phdr_info *info, size_t size, void *found)
{
    (void)size;
    if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libumockdev-preload") != NULL)
        *(bool *)found = true;
    return 0;
}

bool ftdi_emu_available(const char **why)
{
    /* umockdev_in_mock_environment() only turns true once a testbed exists (it looks at
     * UMOCKDEV_DIR), so look for the preload library itself. */
    bool found = false;
    dl_iterate_phdr(find_preload, &found);
    if (!found) {
        *why = "umockdev's preload library (libumockdev-preload.so) is not loaded: link it "
               "with --no-as-needed or run under umockdev-wrapper";
        return false;
    }
    return true;
}

struct ftdi_emu_testbed *ftdi_emu_testbed_new(void)
{
    const char *why;
    if (!ftdi_emu_available(&why))
        return NULL;
    struct ftdi_emu_testbed *tb = g_new0(struct ftdi_emu_testbed, 1);
    tb->tb = umockdev_testbed_new();
    if (!umockdev_in_mock_environment()) {
        fprintf(stderr, "ftdi_emu: testbed created but umockdev reports no mock environment\n");
        g_object_unref(tb->tb);
        g_free(tb);
        return NULL;
    }
    tb->emus = g_ptr_array_new();
    tb->next_devnum = 2; /* 1 is the root hub on a real bus */
    return tb;
}

static void sysfs_remove(struct ftdi_emu *emu)
{
    if (emu->removed)
        return;
    emu->removed = true;
    /* The uevent reads the device's properties, so it goes before the removal. */
    char *path = g_strconcat("/sys", emu->sysfs, NULL); /* the testbed's names have it */
    umockdev_testbed_uevent(emu->tb->tb, path, "remove");
    umockdev_testbed_remove_device(emu->tb->tb, path);
    g_free(path);
}

void ftdi_emu_testbed_free(struct ftdi_emu_testbed *tb)
{
    if (tb == NULL)
        return;
    for (guint i = 0; i < tb->emus->len; i++) {
        struct ftdi_emu *emu = g_ptr_array_index(tb->emus, i);
        umockdev_testbed_detach_ioctl(tb->tb, emu->devnode, NULL);
        g_object_unref(emu->handler);
        sysfs_remove(emu);
        g_queue_clear_full(&emu->done, g_object_unref);
        for (int c = 0; c < FTDI_EMU_MAX_CHANNELS; c++) {
            g_byte_array_unref(emu->ch[c].cmd);
            g_byte_array_unref(emu->ch[c].rx);
        }
        pthread_mutex_destroy(&emu->mu);
        g_free(emu);
    }
    g_ptr_array_unref(tb->emus);
    g_object_unref(tb->tb);
    g_free(tb);
}

static char *sysfs_record(const struct ftdi_emu *emu)
{
    uint8_t desc[256];
    size_t n = build_descriptors(emu, desc);
    GString *hex = g_string_new(NULL);
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(hex, "%02X", desc[i]);
    int minor = (emu->busnum - 1) * 128 + emu->devnum - 1;
    unsigned pid = chip_pid(emu->chip), bcd = chip_bcd(emu->chip);
    char *rec = g_strdup_printf("P: %s\n"
                                "N: bus/usb/%03d/%03d\n"
                                "E: SUBSYSTEM=usb\n"
                                "E: DEVTYPE=usb_device\n"
                                "E: DRIVER=usb\n"
                                "E: BUSNUM=%03d\n"
                                "E: DEVNUM=%03d\n"
                                "E: DEVNAME=%s\n"
                                "E: MAJOR=189\n"
                                "E: MINOR=%d\n"
                                "E: PRODUCT=403/%x/%x\n"
                                "A: busnum=%d\\n\n"
                                "A: devnum=%d\\n\n"
                                "A: speed=480\\n\n"
                                "A: bConfigurationValue=1\\n\n"
                                "A: idVendor=0403\\n\n"
                                "A: idProduct=%04x\\n\n"
                                "A: bcdDevice=%04x\\n\n"
                                "A: bNumConfigurations=1\\n\n"
                                "A: serial=%s\\n\n"
                                "A: dev=189:%d\\n\n"
                                "H: descriptors=%s\n\n",
                                emu->sysfs, emu->busnum, emu->devnum, emu->busnum, emu->devnum,
                                emu->devnode, minor, pid, bcd, emu->busnum, emu->devnum, pid, bcd,
                                emu->serial, minor, hex->str);
    g_string_free(hex, TRUE);
    return rec;
}

struct ftdi_emu *ftdi_emu_add(struct ftdi_emu_testbed *tb, enum ftdi_emu_chip chip,
                              const char *serial)
{
    if (tb == NULL || serial == NULL || strlen(serial) > SERIAL_MAX || tb->next_devnum > 127)
        return NULL;
    struct ftdi_emu *emu = g_new0(struct ftdi_emu, 1);
    emu->tb = tb;
    pthread_mutex_init(&emu->mu, NULL);
    emu->chip = chip;
    emu->nch = chip == FTDI_EMU_FT2232H ? 2 : 4;
    emu->busnum = 1;
    emu->devnum = tb->next_devnum++;
    g_strlcpy(emu->serial, serial, sizeof emu->serial);
    snprintf(emu->sysfs, sizeof emu->sysfs, "/devices/pci0000:00/0000:00:14.0/usb1/1-%d",
             emu->devnum - 1);
    snprintf(emu->devnode, sizeof emu->devnode, "/dev/bus/usb/%03d/%03d", emu->busnum, emu->devnum);
    g_queue_init(&emu->done);
    for (int c = 0; c < FTDI_EMU_MAX_CHANNELS; c++) {
        emu->ch[c].cmd = g_byte_array_new();
        emu->ch[c].rx = g_byte_array_new();
        emu->ch[c].latency = 16; /* the chip's default latency timer */
    }
    g_ptr_array_add(tb->emus, emu);

    /* The handler is attached before the device appears: umockdev 0.17 races when a
     * client can open the node before its handler exists. */
    emu->handler = umockdev_ioctl_base_new();
    g_signal_connect(emu->handler, "handle-ioctl", G_CALLBACK(on_ioctl), emu);
    if (!umockdev_testbed_attach_ioctl(tb->tb, emu->devnode, emu->handler, NULL))
        return NULL;
    char *rec = sysfs_record(emu);
    GError *err = NULL;
    gboolean ok = umockdev_testbed_add_from_string(tb->tb, rec, &err);
    g_free(rec);
    if (!ok) {
        fprintf(stderr, "ftdi_emu: add_from_string: %s\n", err->message);
        g_error_free(err);
        emu->removed = true;
        return NULL;
    }
    return emu;
}

void ftdi_emu_attach_spi(struct ftdi_emu *emu, int channel,
                         const struct ftdi_emu_spi_target *target, void *ctx)
{
    if (channel < 0 || channel >= emu->nch)
        return;
    pthread_mutex_lock(&emu->mu);
    emu->ch[channel].target = target;
    emu->ch[channel].target_ctx = ctx;
    pthread_mutex_unlock(&emu->mu);
}

void ftdi_emu_attach_uart(struct ftdi_emu *emu, int channel, const struct ftdi_emu_uart_peer *peer,
                          void *ctx)
{
    if (channel < 0 || channel >= emu->nch)
        return;
    pthread_mutex_lock(&emu->mu);
    emu->ch[channel].peer = peer;
    emu->ch[channel].peer_ctx = ctx;
    pthread_mutex_unlock(&emu->mu);
}

int ftdi_emu_testbed_root_dir(struct ftdi_emu_testbed *tb, char *out, size_t cap)
{
    gchar *root = umockdev_testbed_get_root_dir(tb->tb);
    int rc = root != NULL && g_strlcpy(out, root, cap) < cap ? 0 : -1;
    g_free(root);
    return rc;
}

int ftdi_emu_busnum(const struct ftdi_emu *emu)
{
    return emu->busnum;
}

int ftdi_emu_devnum(const struct ftdi_emu *emu)
{
    return emu->devnum;
}

void ftdi_emu_get_counters(struct ftdi_emu *emu, struct ftdi_emu_counters *out)
{
    pthread_mutex_lock(&emu->mu);
    *out = emu->cnt;
    pthread_mutex_unlock(&emu->mu);
}

void ftdi_emu_reset_counters(struct ftdi_emu *emu)
{
    pthread_mutex_lock(&emu->mu);
    memset(&emu->cnt, 0, sizeof emu->cnt);
    pthread_mutex_unlock(&emu->mu);
}

void ftdi_emu_get_channel_state(struct ftdi_emu *emu, int channel,
                                struct ftdi_emu_channel_state *out)
{
    memset(out, 0, sizeof *out);
    if (channel < 0 || channel >= emu->nch)
        return;
    pthread_mutex_lock(&emu->mu);
    const struct emu_channel *c = &emu->ch[channel];
    out->bitmode = c->bitmode;
    out->latency_ms = c->latency;
    out->baud_value = c->baud_value;
    out->baud_index = c->baud_index;
    out->low_value = c->low_value;
    out->low_dir = c->low_dir;
    out->high_value = c->high_value;
    out->high_dir = c->high_dir;
    out->divisor = c->divisor;
    out->div5 = c->div5;
    out->three_phase = c->three_phase;
    out->adaptive = c->adaptive;
    out->loopback = c->loopback;
    out->cs_asserted = c->cs_asserted;
    out->bad_opcodes = c->bad_opcodes;
    out->baud = c->baud;
    out->data_format = c->data_format;
    out->flow_ctrl = c->flow_ctrl;
    out->flow_chars = c->flow_chars;
    out->uart_host_bytes = c->uart_host_bytes;
    out->uart_peer_bytes = c->uart_peer_bytes;
    pthread_mutex_unlock(&emu->mu);
}

void ftdi_emu_unplug(struct ftdi_emu *emu)
{
    pthread_mutex_lock(&emu->mu);
    go_away(emu);
    pthread_mutex_unlock(&emu->mu);
    sysfs_remove(emu);
}

void ftdi_emu_unplug_after_bulk_in(struct ftdi_emu *emu, unsigned n)
{
    pthread_mutex_lock(&emu->mu);
    emu->unplug_countdown = n;
    pthread_mutex_unlock(&emu->mu);
}

void ftdi_emu_replug(struct ftdi_emu *emu)
{
    pthread_mutex_lock(&emu->mu);
    if (emu->unplugged && !emu->removed) {
        /* The old handle is closed by now: its URBs go, and the chip comes back from its
         * power-on reset with empty buffers and no bitmode. */
        g_queue_clear_full(&emu->done, g_object_unref);
        for (int c = 0; c < emu->nch; c++) {
            channel_reset(&emu->ch[c]);
            emu->ch[c].bitmode = 0;
        }
        emu->unplugged = false;
    }
    emu->unplug_countdown = 0;
    pthread_mutex_unlock(&emu->mu);
}

void ftdi_emu_claim_busy(struct ftdi_emu *emu, bool busy)
{
    pthread_mutex_lock(&emu->mu);
    emu->claim_busy = busy;
    pthread_mutex_unlock(&emu->mu);
}

void ftdi_emu_stall(struct ftdi_emu *emu, uint8_t endpoint, bool stalled)
{
    pthread_mutex_lock(&emu->mu);
    if (stalled)
        emu->stalled |= stall_bit(endpoint);
    else
        emu->stalled &= ~stall_bit(endpoint);
    pthread_mutex_unlock(&emu->mu);
}

void ftdi_emu_short_read(struct ftdi_emu *emu, int channel, size_t max_payload)
{
    if (channel < 0 || channel >= emu->nch)
        return;
    pthread_mutex_lock(&emu->mu);
    emu->ch[channel].short_armed = true;
    emu->ch[channel].short_max = max_payload;
    pthread_mutex_unlock(&emu->mu);
}

void ftdi_emu_corrupt(struct ftdi_emu *emu, int channel, size_t offset, uint8_t mask)
{
    if (channel < 0 || channel >= emu->nch)
        return;
    pthread_mutex_lock(&emu->mu);
    struct emu_channel *c = &emu->ch[channel];
    c->corrupt_armed = true;
    c->corrupt_at = c->delivered + offset;
    c->corrupt_mask = mask;
    pthread_mutex_unlock(&emu->mu);
}
