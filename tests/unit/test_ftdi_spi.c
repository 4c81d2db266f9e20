/* The libftdi1 backend of spi_bus against a fake libftdi1 defined here (link-time
 * substitution: this test is linked without libftdi1 and libusb). The fake keeps a log of
 * set-up calls and bytes written and answers MPSSE commands from a small model, so the
 * bring-up order, the bytes of each op, the round-trip counts and the error paths are
 * checked without hardware. The real libftdi1 + libusb stack is tested in tests/usb. */
#include "link/ftdi_spi.h"

#include "console/console.h"

#include <ftdi.h>
#include <libusb.h>
#include <stdio.h>

#include "testutil.h"

/* ---- the fake libftdi1 ------------------------------------------------------------------ */

struct libusb_device {
    uint16_t product;
    uint8_t bus, addr;
    const char *serial, *description;
    bool no_access;
};

#define FAKE_LOG_MAX 65536u
#define FAKE_CALLS_MAX 32u

static struct fake {
    struct libusb_device devs[4];
    size_t ndevs;
    enum ftdi_chip_type type;
    int open_rc;          /* forced result of the open calls when non-zero */
    bool bad_sync;        /* answer the sync probe with FA AB */
    bool unplug_writes;   /* ftdi_write_data fails */
    bool unplug_reads;    /* ftdi_read_data reports LIBUSB_ERROR_NO_DEVICE */
    int reply_delta;      /* bytes added to (or dropped from) every reply */
    int contexts;         /* ftdi_new calls */
    unsigned stuck_waits; /* 88/89 whose pin was not at the level (the rest was dropped) */
    bool no_context;      /* ftdi_new fails */
    int usb_init_rc;      /* libusb_init's result */
    bool in_mpsse;
    uint8_t low_value, low_dir, high_value, high_dir; /* as the host last set them */
    uint8_t low_in, high_in;                          /* levels of input pins */
    uint8_t next_miso;
    uint8_t log[FAKE_LOG_MAX]; /* every byte written in MPSSE mode */
    size_t log_len;
    size_t writes;
    char calls[FAKE_CALLS_MAX][32];
    size_t ncalls;
    uint8_t out[FAKE_LOG_MAX]; /* chip -> host bytes not read yet */
    size_t out_len, out_pos;
} fk;

static void fake_reset(void)
{
    memset(&fk, 0, sizeof(fk));
    fk.type = TYPE_2232H;
    fk.next_miso = 0xc0;
    fk.devs[0] = (struct libusb_device){FTDI_SPI_PRODUCT_2232H, 1, 5, "FT1", "Dual RS232-HS", 0};
    fk.devs[1] = (struct libusb_device){FTDI_SPI_PRODUCT_4232H, 1, 7, "FT2", "Quad RS232-HS", 0};
    fk.ndevs = 2;
}

static void call(const char *fmt, unsigned a, unsigned b)
{
    if (fk.ncalls < FAKE_CALLS_MAX)
        snprintf(fk.calls[fk.ncalls++], sizeof(fk.calls[0]), fmt, a, b);
}

static void push(uint8_t byte)
{
    if (fk.out_len < sizeof(fk.out))
        fk.out[fk.out_len++] = byte;
}

/* Executes one write's worth of MPSSE commands (the backend never splits a command). */
static void run_mpsse(const uint8_t *p, size_t n)
{
    size_t replied = fk.out_len;
    for (size_t i = 0; i < n;) {
        uint8_t op = p[i++];
        size_t len = i + 1 < n ? (size_t)p[i] + ((size_t)p[i + 1] << 8) + 1 : 0;
        switch (op) {
        case 0x80:
            fk.low_value = p[i], fk.low_dir = p[i + 1], i += 2;
            break;
        case 0x82:
            fk.high_value = p[i], fk.high_dir = p[i + 1], i += 2;
            break;
        case 0x81:
            push((uint8_t)((fk.low_in & ~fk.low_dir) | (fk.low_value & fk.low_dir)));
            break;
        case 0x83:
            push((uint8_t)((fk.high_in & ~fk.high_dir) | (fk.high_value & fk.high_dir)));
            break;
        case 0x86:
        case 0x8f: /* clocks without data: no reply */
            i += 2;
            break;
        case 0x11:
            i += 2 + len;
            break;
        case 0x20:
            for (size_t k = 0; k < len; k++)
                push(fk.next_miso++);
            i += 2;
            break;
        case 0x31:
            for (size_t k = 0; k < len; k++)
                push(fk.next_miso++);
            i += 2 + len;
            break;
        case 0x88: /* wait on GPIOL1: a wait never satisfied swallows the rest */
        case 0x89:
            if (((fk.low_in & 0x20) != 0) != (op == 0x88)) {
                fk.stuck_waits++;
                i = n;
            }
            break;
        case 0x85:
        case 0x87:
        case 0x8a:
        case 0x8d:
        case 0x97:
            break;
        default:
            push(0xfa);
            push(fk.bad_sync ? (uint8_t)(op + 1) : op);
            break;
        }
    }
    if (fk.out_len > replied) {
        if (fk.reply_delta < 0)
            fk.out_len -= (size_t)-fk.reply_delta;
        for (int k = 0; k < fk.reply_delta; k++)
            push(0xee);
    }
}

struct ftdi_context *ftdi_new(void)
{
    if (fk.no_context)
        return NULL;
    fk.contexts++;
    return calloc(1, sizeof(struct ftdi_context));
}

void ftdi_free(struct ftdi_context *ftdi)
{
    free(ftdi);
}

int ftdi_set_interface(struct ftdi_context *ftdi, enum ftdi_interface interface)
{
    ftdi->interface = (int)interface;
    call("interface %u", (unsigned)interface, 0);
    return 0;
}

const char *ftdi_get_error_string(struct ftdi_context *ftdi)
{
    return ftdi->error_str != NULL ? ftdi->error_str : "fake error";
}

int ftdi_usb_find_all(struct ftdi_context *ftdi, struct ftdi_device_list **devlist, int vendor,
                      int product)
{
    (void)ftdi;
    int n = 0;
    struct ftdi_device_list **tail = devlist;
    *devlist = NULL;
    for (size_t i = 0; i < fk.ndevs; i++) {
        if (vendor != FTDI_SPI_VENDOR || fk.devs[i].product != product)
            continue;
        *tail = calloc(1, sizeof(**tail));
        (*tail)->dev = &fk.devs[i];
        tail = &(*tail)->next;
        n++;
    }
    return n;
}

void ftdi_list_free(struct ftdi_device_list **devlist)
{
    while (*devlist != NULL) {
        struct ftdi_device_list *next = (*devlist)->next;
        free(*devlist);
        *devlist = next;
    }
}

int ftdi_usb_get_strings(struct ftdi_context *ftdi, struct libusb_device *dev, char *manufacturer,
                         int mnf_len, char *description, int desc_len, char *serial, int serial_len)
{
    (void)ftdi, (void)manufacturer, (void)mnf_len;
    if (dev->no_access)
        return -4;
    snprintf(description, (size_t)desc_len, "%s", dev->description);
    snprintf(serial, (size_t)serial_len, "%s", dev->serial);
    return 0;
}

int libusb_init(libusb_context **ctx)
{
    *ctx = NULL;
    return fk.usb_init_rc;
}

void libusb_exit(libusb_context *ctx)
{
    (void)ctx;
}

const char *libusb_error_name(int code)
{
    return code == LIBUSB_ERROR_ACCESS ? "LIBUSB_ERROR_ACCESS" : "LIBUSB_ERROR_OTHER";
}

uint8_t libusb_get_bus_number(libusb_device *dev)
{
    return dev->bus;
}

uint8_t libusb_get_device_address(libusb_device *dev)
{
    return dev->addr;
}

static int fake_open(struct ftdi_context *ftdi, struct libusb_device *dev)
{
    if (fk.open_rc != 0)
        return fk.open_rc;
    ftdi->type = dev->product == FTDI_SPI_PRODUCT_4232H ? TYPE_4232H : fk.type;
    call("open %u:%u", dev->bus, dev->addr);
    return 0;
}

int ftdi_usb_open_dev(struct ftdi_context *ftdi, struct libusb_device *dev)
{
    return fake_open(ftdi, dev);
}

int ftdi_usb_open_bus_addr(struct ftdi_context *ftdi, uint8_t bus, uint8_t addr)
{
    for (size_t i = 0; i < fk.ndevs; i++)
        if (fk.devs[i].bus == bus && fk.devs[i].addr == addr)
            return fake_open(ftdi, &fk.devs[i]);
    return -3;
}

int ftdi_usb_close(struct ftdi_context *ftdi)
{
    (void)ftdi;
    call("close", 0, 0);
    return 0;
}

int ftdi_usb_reset(struct ftdi_context *ftdi)
{
    (void)ftdi;
    call("sio reset", 0, 0);
    return 0;
}

int ftdi_set_latency_timer(struct ftdi_context *ftdi, unsigned char latency)
{
    (void)ftdi;
    call("latency %u", latency, 0);
    return 0;
}

int ftdi_read_data_set_chunksize(struct ftdi_context *ftdi, unsigned int chunksize)
{
    (void)ftdi;
    call("read chunk %u", chunksize, 0);
    return 0;
}

int ftdi_write_data_set_chunksize(struct ftdi_context *ftdi, unsigned int chunksize)
{
    (void)ftdi;
    call("write chunk %u", chunksize, 0);
    return 0;
}

int ftdi_set_bitmode(struct ftdi_context *ftdi, unsigned char bitmask, unsigned char mode)
{
    (void)ftdi;
    fk.in_mpsse = mode == BITMODE_MPSSE;
    call("bitmode %02x %02x", bitmask, mode);
    return 0;
}

int ftdi_tcioflush(struct ftdi_context *ftdi)
{
    (void)ftdi;
    fk.out_len = fk.out_pos = 0;
    call("purge", 0, 0);
    return 0;
}

int ftdi_write_data(struct ftdi_context *ftdi, const unsigned char *buf, int size)
{
    if (fk.unplug_writes) {
        ftdi->error_str = "usb bulk write failed";
        return -1;
    }
    fk.writes++;
    if (fk.in_mpsse && fk.log_len + (size_t)size <= sizeof(fk.log)) {
        memcpy(fk.log + fk.log_len, buf, (size_t)size);
        fk.log_len += (size_t)size;
        run_mpsse(buf, (size_t)size);
    }
    return size;
}

int ftdi_read_data(struct ftdi_context *ftdi, unsigned char *buf, int size)
{
    if (fk.unplug_reads)
        return LIBUSB_ERROR_NO_DEVICE;
    size_t n = fk.out_len - fk.out_pos;
    if (n > (size_t)size)
        n = (size_t)size;
    memcpy(buf, fk.out + fk.out_pos, n);
    fk.out_pos += n;
    ftdi->readbuffer_remaining = (unsigned)(fk.out_len - fk.out_pos);
    return (int)n;
}

/* ---- helpers --------------------------------------------------------------------------- */

/* Asserts that the bytes written since `mark` are exactly `want`. */
static void assert_written(size_t mark, const uint8_t *want, size_t n)
{
    char got_hex[3 * 64 + 1] = "", want_hex[3 * 64 + 1] = "";
    for (size_t i = 0; mark + i < fk.log_len && i < 64; i++)
        snprintf(got_hex + 3 * i, 4, "%02x ", fk.log[mark + i]);
    for (size_t i = 0; i < n && i < 64; i++)
        snprintf(want_hex + 3 * i, 4, "%02x ", want[i]);
    ck_assert_msg(fk.log_len - mark == n && memcmp(fk.log + mark, want, n) == 0,
                  "wrote %s\nwant  %s", got_hex, want_hex);
}

static struct ftdi_spi *open_serial(const char *serial, struct ft_error *err)
{
    struct ftdi_spi_config cfg = {.serial = serial};
    return ftdi_spi_open(&cfg, err);
}

/* ---- bring-up -------------------------------------------------------------------------- */

START_TEST(open_brings_up_mpsse)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_spi *f = open_serial("FT1", &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    static const char *const want_calls[] = {
        "interface 1",      "open 1:5",      "sio reset",     "latency 2", "read chunk 4096",
        "write chunk 4096", "bitmode 00 00", "bitmode 00 02", "purge",
    };
    ck_assert_uint_eq(fk.ncalls, sizeof(want_calls) / sizeof(want_calls[0]));
    for (size_t i = 0; i < fk.ncalls; i++)
        ck_assert_str_eq(fk.calls[i], want_calls[i]);
    static const uint8_t want[] = {0xaa, 0x87, 0x8a, 0x97, 0x8d, 0x86,
                                   0x03, 0x00, 0x85, 0x80, 0x08, 0x0b};
    assert_written(0, want, sizeof(want));
    struct spi_bus *bus = ftdi_spi_bus(f);
    ck_assert_uint_eq(bus->round_trips, 2); /* sync, init */
    ck_assert_uint_eq(ftdi_spi_clock_hz(f), 7500000);
    ck_assert_ptr_nonnull(strstr(bus->name, "serial 'FT1'"));
    ck_assert(spi_bus_has_batch(bus));
    ck_assert_ptr_nonnull(bus->ops->gpio_wait);
    ck_assert_ptr_nonnull(bus->ops->xfer_when);

    size_t mark = fk.log_len;
    fk.ncalls = 0;
    spi_bus_close(bus);
    static const uint8_t release[] = {0x80, 0x00, 0x00, 0x82, 0x00, 0x00};
    assert_written(mark, release, sizeof(release));
    ck_assert_str_eq(fk.calls[0], "bitmode 00 00");
    ck_assert_str_eq(fk.calls[1], "close");
}
END_TEST

START_TEST(open_channel_b_and_by_bus_address)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_pin_map low_only = {0};
    low_only.pin[3] = (struct ftdi_pin){FTDI_PORT_LOW, 5};
    struct ftdi_spi_config cfg = {
        .bus_addr = "1:7", .channel = 'B', .clock_hz = 1000000, .pins = &low_only};
    struct ftdi_spi *f = ftdi_spi_open(&cfg, &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    ck_assert_str_eq(fk.calls[0], "interface 2");
    ck_assert_str_eq(fk.calls[1], "open 1:7");
    ck_assert_uint_eq(fk.log[6], 29); /* divisor for 1 MHz */

    /* No high byte in use: only 81 is read. */
    size_t mark = fk.log_len;
    uint32_t pins = 0;
    fk.low_in = 0x20;
    ck_assert_int_eq(spi_bus_gpio_read(ftdi_spi_bus(f), &pins, &err), 0);
    ck_assert_uint_eq(pins, SPI_BUS_PIN_TX_READY);
    static const uint8_t want[] = {0x81, 0x87};
    assert_written(mark, want, sizeof(want));
    ftdi_spi_close(f);

    cfg.bus_addr = "1:9";
    ck_assert_ptr_null(ftdi_spi_open(&cfg, &err));
    ck_assert_error(err, FT_E_CONNECT, "no FTDI adapter at USB bus 1 device 9");
    cfg.bus_addr = "usb1";
    ck_assert_ptr_null(ftdi_spi_open(&cfg, &err));
    ck_assert_error(err, FT_E_INVALID, "expected BUS:DEV");
}
END_TEST

START_TEST(open_refuses_bad_config)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_spi_config cfg = {.channel = 'C'};
    ck_assert_ptr_null(ftdi_spi_open(&cfg, &err));
    ck_assert_error(err, FT_E_INVALID, "channel C has no MPSSE engine");
    cfg.channel = 'D';
    ck_assert_ptr_null(ftdi_spi_open(&cfg, &err));
    ck_assert_error(err, FT_E_INVALID, "only A and B");
    cfg.channel = 'x';
    ck_assert_ptr_null(ftdi_spi_open(&cfg, &err));
    ck_assert_error(err, FT_E_INVALID, "expected A or B");
    cfg = (struct ftdi_spi_config){.clock_hz = 100};
    ck_assert_ptr_null(ftdi_spi_open(&cfg, &err));
    ck_assert_error(err, FT_E_RANGE, "100 Hz");
    ck_assert_int_eq(fk.contexts, 0); /* refused before touching USB */

    /* The default map's ACBUS pins do not exist on an FT4232H. */
    ck_assert_ptr_null(open_serial("FT2", &err));
    ck_assert_error(err, FT_E_INVALID, "no ACBUS");
}
END_TEST

START_TEST(open_explains_missing_adapter)
{
    fake_reset();
    struct ft_error err = {0};
    ck_assert_ptr_null(open_serial("FT9", &err));
    ck_assert_error(err, FT_E_CONNECT, "no adapter matches serial 'FT9'");
    ck_assert_error(err, FT_E_CONNECT, "FT2232H serial 'FT1' 'Dual RS232-HS' at 1:5");
    ck_assert_error(err, FT_E_CONNECT, "FT4232H serial 'FT2'");

    struct ftdi_spi_config cfg = {.index = 2};
    ck_assert_ptr_null(ftdi_spi_open(&cfg, &err));
    ck_assert_error(err, FT_E_CONNECT, "index 2");

    fk.devs[1].no_access = true;
    ck_assert_ptr_null(open_serial("FT2", &err));
    ck_assert_error(err, FT_E_CONNECT, "FT4232H at 1:7 (no access)");

    fk.ndevs = 0;
    ck_assert_ptr_null(open_serial(NULL, &err));
    ck_assert_error(err, FT_E_CONNECT, "is it plugged in?");
}
END_TEST

START_TEST(open_explains_permission_and_busy)
{
    fake_reset();
    struct ft_error err = {0};
    fk.open_rc = -8;
    ck_assert_ptr_null(open_serial("FT1", &err));
    ck_assert_error(err, FT_E_CONNECT, "permission denied on 1:5");
    ck_assert_error(err, FT_E_CONNECT, "dist/99-ftharness-ftdi.rules");
    fk.open_rc = -5;
    ck_assert_ptr_null(open_serial("FT1", &err));
    ck_assert_error(err, FT_E_CONNECT, "channel A is busy");
}
END_TEST

START_TEST(open_fails_when_not_mpsse)
{
    fake_reset();
    struct ft_error err = {0};
    fk.bad_sync = true;
    ck_assert_ptr_null(open_serial("FT1", &err));
    ck_assert_error(err, FT_E_PROTOCOL, "got fa ab, expected fa aa");
    ck_assert_str_eq(fk.calls[fk.ncalls - 2], "bitmode 00 00"); /* pins released */
    ck_assert_str_eq(fk.calls[fk.ncalls - 1], "close");
}
END_TEST

/* ---- SPI ------------------------------------------------------------------------------- */

START_TEST(xfer_is_one_round_trip)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_spi *f = open_serial("FT1", &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    struct spi_bus *bus = ftdi_spi_bus(f);
    uint64_t trips = bus->round_trips;
    size_t writes = fk.writes, mark = fk.log_len;

    uint8_t mosi[16] = {0x03}, miso[16];
    ck_assert_int_eq(spi_bus_xfer(bus, mosi, miso, sizeof(mosi), &err), 0);
    static const uint8_t want[] = {0x80, 0x00, 0x0b, 0x11, 0x03, 0x00, 0x03, 0x00, 0x00,
                                   0x00, 0x20, 0x0b, 0x00, 0x80, 0x08, 0x0b, 0x87};
    assert_written(mark, want, sizeof(want));
    ck_assert_uint_eq(bus->round_trips, trips + 1);
    ck_assert_uint_eq(fk.writes, writes + 1);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(miso[i], 0xff);
    for (size_t i = 4; i < 16; i++)
        ck_assert_uint_eq(miso[i], 0xc0 + i - 4);

    /* WREN + PAGE_PROGRAM + READ_STATUS in one write and one read, the status read after
     * 20 us of clocks without data (8f: 19 bytes at 7.5 MHz) with CS high. */
    static const uint8_t wren = 0x06;
    static const uint8_t pp[] = {0x02, 0x00, 0x01, 0x00, 0x41, 0x42, 0x43};
    static const uint8_t rdsr[] = {0x05, 0x00};
    uint8_t status[2] = {0, 0};
    const struct spi_bus_xfer xfers[3] = {
        {.mosi = &wren, .len = 1},
        {.mosi = pp, .len = sizeof(pp)},
        {.mosi = rdsr, .miso = status, .len = sizeof(rdsr), .idle_ns_before = 20000}};
    mark = fk.log_len;
    ck_assert_ok(bus->ops->xfer_batch(bus, xfers, 3, &err), err);
    static const uint8_t want_batch[] = {
        0x80, 0x00, 0x0b, 0x11, 0x00, 0x00, 0x06, 0x80, 0x08, 0x0b, 0x80, 0x00, 0x0b, 0x11, 0x06,
        0x00, 0x02, 0x00, 0x01, 0x00, 0x41, 0x42, 0x43, 0x80, 0x08, 0x0b, 0x8f, 0x12, 0x00, 0x80,
        0x00, 0x0b, 0x11, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x80, 0x08, 0x0b, 0x87};
    assert_written(mark, want_batch, sizeof(want_batch));
    ck_assert_uint_eq(bus->round_trips, trips + 2);
    ck_assert_uint_eq(status[1], 0xcc);

    /* Too big to be safe in one write: refused before anything is sent. */
    static uint8_t big[FTDI_SPI_MAX_XFER], big_in[FTDI_SPI_MAX_XFER];
    big[0] = 0x9a;
    mark = fk.log_len;
    ck_assert_int_eq(spi_bus_xfer(bus, big, big_in, sizeof(big), &err), -1);
    ck_assert_error(err, FT_E_INVALID, "could stall");
    ck_assert_uint_eq(fk.log_len, mark);
    ck_assert_int_eq(spi_bus_xfer(bus, big, NULL, sizeof(big), &err), 0); /* no reply: fine */
    ftdi_spi_close(f);
}
END_TEST

START_TEST(wrong_reply_length_is_protocol_error)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_spi *f = open_serial("FT1", &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    struct spi_bus *bus = ftdi_spi_bus(f);
    uint8_t mosi[16] = {0x03}, miso[16];

    fk.reply_delta = 1;
    ck_assert_int_eq(spi_bus_xfer(bus, mosi, miso, sizeof(mosi), &err), -1);
    ck_assert_error(err, FT_E_PROTOCOL, "more than the expected 12 bytes");
    /* The stream is out of step: nothing more is tried. */
    size_t writes = fk.writes;
    ck_assert_int_eq(spi_bus_xfer(bus, mosi, miso, sizeof(mosi), &err), -1);
    ck_assert_error(err, FT_E_CONNECT, "unusable after an earlier failure");
    ck_assert_uint_eq(fk.writes, writes);
    ftdi_spi_close(f);

    fake_reset();
    f = open_serial("FT1", &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    fk.reply_delta = -1; /* the adapter's deadline (1 s) passes with 11 of 12 bytes */
    ck_assert_int_eq(spi_bus_xfer(ftdi_spi_bus(f), mosi, miso, sizeof(mosi), &err), -1);
    ck_assert_error(err, FT_E_PROTOCOL, "reply of 11 bytes, expected 12");
    ftdi_spi_close(f);
}
END_TEST

START_TEST(unplugged_adapter_is_named)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_spi *f = open_serial("FT1", &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    uint8_t rdsr[2] = {0x05, 0x00}, status[2];
    fk.unplug_reads = true;
    ck_assert_int_eq(spi_bus_xfer(ftdi_spi_bus(f), rdsr, status, 2, &err), -1);
    ck_assert_error(err, FT_E_CONNECT, "FT2232H serial 'FT1' at 1:5");
    ck_assert_error(err, FT_E_CONNECT, "the adapter was unplugged");
    ftdi_spi_close(f);

    fake_reset();
    f = open_serial("FT1", &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    fk.unplug_writes = true;
    ck_assert_int_eq(spi_bus_xfer(ftdi_spi_bus(f), rdsr, status, 2, &err), -1);
    ck_assert_error(err, FT_E_CONNECT, "usb bulk write failed");
    ftdi_spi_close(f);
}
END_TEST

/* ---- GPIO ------------------------------------------------------------------------------ */

START_TEST(gpio_write_and_read)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_spi *f = open_serial("FT1", &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    struct spi_bus *bus = ftdi_spi_bus(f);

    /* Reset held, bootstrap straps applied: one 82 with the high-byte outputs. */
    size_t mark = fk.log_len;
    uint64_t trips = bus->round_trips;
    ck_assert_int_eq(
        spi_bus_gpio_write(bus, SPI_BUS_PIN_RESET_N | SPI_BUS_PIN_STRAPS, SPI_BUS_PIN_STRAPS, &err),
        0);
    static const uint8_t want_write[] = {0x82, 0x0e, 0x0f};
    assert_written(mark, want_write, sizeof(want_write));
    ck_assert_uint_eq(bus->round_trips, trips + 1);

    /* Asking for what the pins already are costs nothing. */
    ck_assert_int_eq(spi_bus_gpio_write(bus, SPI_BUS_PIN_STRAP0, SPI_BUS_PIN_STRAP0, &err), 0);
    ck_assert_uint_eq(bus->round_trips, trips + 1);

    /* Levels of inputs and the driven outputs, from both bytes in one round trip. */
    mark = fk.log_len;
    fk.low_in = 0x20 | 0x80;
    fk.high_in = 0x10;
    uint32_t pins = 0;
    ck_assert_int_eq(spi_bus_gpio_read(bus, &pins, &err), 0);
    static const uint8_t want_read[] = {0x81, 0x83, 0x87};
    assert_written(mark, want_read, sizeof(want_read));
    ck_assert_uint_eq(pins, SPI_BUS_PIN_TX_READY | SPI_BUS_PIN_TEST_ERROR | SPI_BUS_PIN_TEST_START |
                                SPI_BUS_PIN_STRAPS);
    ck_assert_uint_eq(bus->round_trips, trips + 2);

    /* A later transaction keeps the low byte's GPIO state (none driven here). */
    mark = fk.log_len;
    static const uint8_t wren = 0x06;
    ck_assert_int_eq(spi_bus_xfer(bus, &wren, NULL, 1, &err), 0);
    static const uint8_t want_x[] = {0x80, 0x00, 0x0b, 0x11, 0x00, 0x00, 0x06, 0x80, 0x08, 0x0b};
    assert_written(mark, want_x, sizeof(want_x));

    /* Driving a chip output is refused by the checked entry point. */
    ck_assert_int_eq(spi_bus_gpio_write(bus, SPI_BUS_PIN_TX_READY, 0, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "not host-driven");
    ftdi_spi_close(f);
}
END_TEST

START_TEST(gpio_on_low_byte_rides_with_cs)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_pin_map map;
    ftdi_pin_map_default(&map);
    map.pin[4] = (struct ftdi_pin){FTDI_PORT_NONE, 0};
    map.pin[8] = (struct ftdi_pin){FTDI_PORT_LOW, 4}; /* RESET_N on ADBUS4 */
    struct ftdi_spi_config cfg = {.serial = "FT1", .pins = &map};
    struct ftdi_spi *f = ftdi_spi_open(&cfg, &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    struct spi_bus *bus = ftdi_spi_bus(f);

    size_t mark = fk.log_len;
    ck_assert_int_eq(spi_bus_gpio_write(bus, SPI_BUS_PIN_RESET_N, SPI_BUS_PIN_RESET_N, &err), 0);
    static const uint8_t want_write[] = {0x80, 0x18, 0x1b};
    assert_written(mark, want_write, sizeof(want_write));

    mark = fk.log_len;
    static const uint8_t wren = 0x06;
    ck_assert_int_eq(spi_bus_xfer(bus, &wren, NULL, 1, &err), 0);
    static const uint8_t want_x[] = {0x80, 0x10, 0x1b, 0x11, 0x00, 0x00, 0x06, 0x80, 0x18, 0x1b};
    assert_written(mark, want_x, sizeof(want_x));
    ftdi_spi_close(f);
}
END_TEST

/* TX_READY on GPIOL1 (the default map): the wait and the header READ after it are one
 * write and one reply. */
START_TEST(wait_on_gpiol1_is_in_the_adapter)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_spi *f = open_serial("FT1", &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    struct spi_bus *bus = ftdi_spi_bus(f);
    fk.low_in = 0x20;
    uint64_t trips = bus->round_trips;
    size_t mark = fk.log_len;
    uint32_t pins = 0;
    ck_assert_int_eq(spi_bus_wait(bus, SPI_BUS_PIN_TX_READY, SPI_BUS_PIN_TX_READY,
                                  link_deadline_ms(1000), &pins, &err),
                     0);
    static const uint8_t want_wait[] = {0x88, 0x81, 0x83, 0x87};
    assert_written(mark, want_wait, sizeof(want_wait));
    ck_assert_uint_eq(pins & SPI_BUS_PIN_TX_READY, SPI_BUS_PIN_TX_READY);

    mark = fk.log_len;
    const uint8_t read_header[16] = {0x03};
    uint8_t miso[16];
    const struct spi_bus_xfer x = {.mosi = read_header, .miso = miso, .len = sizeof(read_header)};
    ck_assert_int_eq(spi_bus_xfer_when(bus, SPI_BUS_PIN_TX_READY, SPI_BUS_PIN_TX_READY,
                                       link_deadline_ms(1000), &x, &err),
                     0);
    static const uint8_t want_x[] = {0x88, 0x80, 0x00, 0x0b, 0x11, 0x03, 0x00, 0x03, 0x00,
                                     0x00, 0x00, 0x20, 0x0b, 0x00, 0x80, 0x08, 0x0b, 0x87};
    assert_written(mark, want_x, sizeof(want_x));
    ck_assert_uint_eq(bus->round_trips, trips + 2);
    ck_assert_uint_eq(fk.stuck_waits, 0);

    /* Waiting for a pin that is not on GPIOL1 polls with plain reads. */
    mark = fk.log_len;
    fk.high_in = 0x10; /* TEST_START on ACBUS4 */
    ck_assert_int_eq(spi_bus_wait(bus, SPI_BUS_PIN_TEST_START, SPI_BUS_PIN_TEST_START,
                                  link_deadline_ms(1000), &pins, &err),
                     0);
    static const uint8_t want_poll[] = {0x81, 0x83, 0x87};
    assert_written(mark, want_poll, sizeof(want_poll));
    ftdi_spi_close(f);
}
END_TEST

/* A wait the pin never satisfies holds the chip's command stream: at the deadline the
 * host brings the channel up again, restores the driven pins, reports FT_E_TIMEOUT, and
 * the link works on. */
START_TEST(wait_past_deadline_is_abandoned)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_spi *f = open_serial("FT1", &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    struct spi_bus *bus = ftdi_spi_bus(f);
    ck_assert_int_eq(spi_bus_gpio_write(bus, SPI_BUS_PIN_RESET_N, SPI_BUS_PIN_RESET_N, &err), 0);
    fk.low_in = 0; /* TX_READY low for good */
    const uint8_t read_header[16] = {0x03};
    uint8_t miso[16];
    const struct spi_bus_xfer x = {.mosi = read_header, .miso = miso, .len = sizeof(read_header)};
    fk.ncalls = 0;
    uint64_t t0 = link_now_ns();
    ck_assert_int_eq(spi_bus_xfer_when(bus, SPI_BUS_PIN_TX_READY, SPI_BUS_PIN_TX_READY,
                                       link_deadline_ms(20), &x, &err),
                     -1);
    uint64_t ms = (link_now_ns() - t0) / 1000000u;
    ck_assert_error(err, FT_E_TIMEOUT, "TX_READY stayed low until the deadline");
    ck_assert_error(err, FT_E_TIMEOUT, "the link is usable");
    ck_assert_uint_ge(ms, 20);
    ck_assert_uint_lt(ms, 1000);
    ck_assert_uint_eq(fk.stuck_waits, 1);
    static const char *const want_calls[] = {
        "sio reset",     "latency 2", "read chunk 4096", "write chunk 4096", "bitmode 00 00",
        "bitmode 00 02", "purge"};
    ck_assert_uint_eq(fk.ncalls, sizeof(want_calls) / sizeof(want_calls[0]));
    for (size_t i = 0; i < fk.ncalls; i++)
        ck_assert_str_eq(fk.calls[i], want_calls[i]);
    /* RESET_N (ACBUS0) is driven high again after the bring-up. */
    ck_assert_uint_eq(fk.high_dir & 0x01, 0x01);
    ck_assert_uint_eq(fk.high_value & 0x01, 0x01);

    /* The link works on: the pin rises, and the same wait succeeds. */
    fk.low_in = 0x20;
    ck_assert_int_eq(spi_bus_xfer_when(bus, SPI_BUS_PIN_TX_READY, SPI_BUS_PIN_TX_READY,
                                       link_deadline_ms(1000), &x, &err),
                     0);
    ftdi_spi_close(f);
}
END_TEST

/* A board that wires only some pins (an FT4232H has four GPIOs per channel): resets drive
 * RESET_N alone, a bootstrap reset and a console without TX_READY are refused by name,
 * and unwired pins are reported so the flow does not wait for them. */
START_TEST(unwired_pins)
{
    fake_reset();
    struct ft_error err = {0};
    struct ftdi_pin_map map = {0};
    map.pin[3] = (struct ftdi_pin){FTDI_PORT_LOW, 5}; /* TX_READY */
    map.pin[8] = (struct ftdi_pin){FTDI_PORT_LOW, 4}; /* RESET_N */
    struct ftdi_spi_config cfg = {.serial = "FT2", .pins = &map};
    struct ftdi_spi *f = ftdi_spi_open(&cfg, &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    struct spi_bus *bus = ftdi_spi_bus(f);
    ck_assert_uint_eq(bus->unwired, (SPI_BUS_PIN_OUTPUTS | SPI_BUS_PIN_INPUTS) &
                                        ~(SPI_BUS_PIN_TX_READY | SPI_BUS_PIN_RESET_N));
    struct console *con = console_open_spi(bus, &err);
    ck_assert_msg(con != NULL, "%s", err.message);

    size_t mark = fk.log_len;
    ck_assert_int_eq(console_chip_reset(con, false, &err), 0);
    static const uint8_t pulse[] = {0x80, 0x08, 0x1b, 0x80, 0x18, 0x1b};
    assert_written(mark, pulse, sizeof(pulse));
    ck_assert_int_eq(console_chip_reset(con, true, &err), -1);
    ck_assert_error(err, FT_E_INVALID,
                    "cannot start the ROM bootstrap: STRAP0..2 are not all wired");

    uint32_t pins, wired;
    fk.low_in = 0xff;
    ck_assert_int_eq(console_pins(con, &pins, &wired, &err), 0);
    ck_assert_uint_eq(wired, SPI_BUS_PIN_TX_READY | SPI_BUS_PIN_RESET_N);
    ck_assert_uint_eq(pins & ~wired, 0);
    console_close(con);
    ftdi_spi_close(f);

    map.pin[8] = (struct ftdi_pin){FTDI_PORT_NONE, 0};
    map.pin[3] = (struct ftdi_pin){FTDI_PORT_NONE, 0};
    f = ftdi_spi_open(&cfg, &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    ck_assert_ptr_null(console_open_spi(ftdi_spi_bus(f), &err));
    ck_assert_error(err, FT_E_INVALID, "TX_READY is not wired");
    ftdi_spi_close(f);
}
END_TEST

/* ftdi_new fails both for memory and for a libusb that cannot start: told apart. */
START_TEST(no_libftdi_context_is_explained)
{
    fake_reset();
    fk.no_context = true;
    fk.usb_init_rc = LIBUSB_ERROR_ACCESS;
    struct ft_error err = {0};
    ck_assert_ptr_null(open_serial("FT1", &err));
    ck_assert_error(err, FT_E_CONNECT, "libusb cannot start (LIBUSB_ERROR_ACCESS)");
    fk.usb_init_rc = 0;
    ck_assert_ptr_null(open_serial("FT1", &err));
    ck_assert_error(err, FT_E_NOMEM, "out of memory");
}
END_TEST

static Suite *ftdi_spi_suite(void)
{
    Suite *s = suite_create("ftdi_spi");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, open_brings_up_mpsse);
    tcase_add_test(tc, open_channel_b_and_by_bus_address);
    tcase_add_test(tc, open_refuses_bad_config);
    tcase_add_test(tc, open_explains_missing_adapter);
    tcase_add_test(tc, open_explains_permission_and_busy);
    tcase_add_test(tc, open_fails_when_not_mpsse);
    tcase_add_test(tc, xfer_is_one_round_trip);
    tcase_add_test(tc, wrong_reply_length_is_protocol_error);
    tcase_add_test(tc, unplugged_adapter_is_named);
    tcase_add_test(tc, gpio_write_and_read);
    tcase_add_test(tc, gpio_on_low_byte_rides_with_cs);
    tcase_add_test(tc, wait_on_gpiol1_is_in_the_adapter);
    tcase_add_test(tc, wait_past_deadline_is_abandoned);
    tcase_add_test(tc, unwired_pins);
    tcase_add_test(tc, no_libftdi_context_is_explained);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(ftdi_spi_suite)
