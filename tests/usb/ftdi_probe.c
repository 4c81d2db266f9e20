/* ftdi_probe SERIAL: a minimal libftdi1 client for ftdi_testbed's child mode. Opens the
 * FT2232H with that serial, enters MPSSE, checks the bad-opcode sync (AA -> FA AA), then
 * checks the chip model on channel A through the pins of the default map: JEDEC ID over
 * SPI (an unwired channel reads FF), RESET_N (ACBUS0) low makes the chip's outputs float
 * low, and after releasing it TX_READY (ADBUS5) rises once the firmware holds its first
 * console frame. Exits 0 on success, 1 with a message otherwise; everything is bounded
 * by a 5 s deadline. */
#include <ftdi.h>
#include <stdio.h>
#include <time.h>

#define TX_READY_BIT 0x20u
#define DEADLINE_MS 5000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes `cmd` and reads exactly `n` reply bytes by `deadline`; 0 or -1. */
static int exchange(struct ftdi_context *f, const unsigned char *cmd, int len, unsigned char *reply,
                    int n, long long deadline)
{
    if (ftdi_write_data(f, cmd, len) != len)
        return -1;
    int got = 0;
    while (got < n) {
        int r = ftdi_read_data(f, reply + got, n - got);
        if (r < 0 || now_ms() > deadline)
            return -1;
        got += r;
    }
    return 0;
}

static int fail(struct ftdi_context *f, const char *what)
{
    fprintf(stderr, "ftdi_probe: %s: %s\n", what, ftdi_get_error_string(f));
    ftdi_free(f);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ftdi_probe SERIAL\n");
        return 2;
    }
    long long deadline = now_ms() + DEADLINE_MS;
    struct ftdi_context *f = ftdi_new();
    if (f == NULL)
        return 1;
    if (ftdi_set_interface(f, INTERFACE_A) < 0 ||
        ftdi_usb_open_desc(f, 0x0403, 0x6010, NULL, argv[1]) < 0)
        return fail(f, "open");
    f->usb_read_timeout = 1000;
    f->usb_write_timeout = 1000;
    if (ftdi_set_bitmode(f, 0, BITMODE_RESET) < 0 || ftdi_set_bitmode(f, 0, BITMODE_MPSSE) < 0 ||
        ftdi_tcioflush(f) < 0)
        return fail(f, "MPSSE mode");
    const unsigned char sync[] = {0xaa, 0x87};
    unsigned char reply[2];
    if (exchange(f, sync, sizeof sync, reply, 2, deadline) != 0 || reply[0] != 0xfa ||
        reply[1] != 0xaa)
        return fail(f, "sync");
    /* CS low, 9F out, 4 bytes in, CS high: the 0x7F continuation codes, then the maker. */
    const unsigned char jedec[] = {0x80, 0x00, 0x0b, 0x11, 0x00, 0x00, 0x9f,
                                   0x20, 0x03, 0x00, 0x80, 0x08, 0x0b, 0x87};
    unsigned char id[4];
    if (exchange(f, jedec, sizeof jedec, id, sizeof id, deadline) != 0)
        return fail(f, "JEDEC ID");
    if (id[0] == 0xff) {
        fprintf(stderr, "ftdi_probe: JEDEC ID %02x %02x %02x %02x: no chip on channel A\n", id[0],
                id[1], id[2], id[3]);
        ftdi_free(f);
        return 1;
    }
    /* RESET_N (ACBUS0) driven low, then the low byte: TX_READY must read low. */
    const unsigned char reset[] = {0x82, 0x00, 0x01, 0x81, 0x87};
    if (exchange(f, reset, sizeof reset, reply, 1, deadline) != 0)
        return fail(f, "reset");
    if (reply[0] & TX_READY_BIT) {
        fprintf(stderr, "ftdi_probe: TX_READY high with the chip in reset (0x%02x)\n", reply[0]);
        ftdi_free(f);
        return 1;
    }
    const unsigned char release[] = {0x82, 0x01, 0x01};
    if (ftdi_write_data(f, release, sizeof release) != (int)sizeof release)
        return fail(f, "release reset");
    const unsigned char read_low[] = {0x81, 0x87};
    unsigned long polls = 0;
    for (;;) {
        polls++;
        if (exchange(f, read_low, sizeof read_low, reply, 1, deadline) != 0)
            return fail(f, "read pins");
        if (reply[0] & TX_READY_BIT)
            break;
        if (now_ms() > deadline) {
            fprintf(stderr, "ftdi_probe: TX_READY stayed low (pins 0x%02x)\n", reply[0]);
            ftdi_free(f);
            return 1;
        }
    }
    printf("ftdi_probe: %s: MPSSE sync ok, JEDEC %02x %02x %02x %02x, reset seen, TX_READY high "
           "after %lu polls\n",
           argv[1], id[0], id[1], id[2], id[3], polls);
    ftdi_usb_close(f);
    ftdi_free(f);
    return 0;
}
