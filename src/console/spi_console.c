/* The OTTF SPI console in TX-ready mode over an spi_bus (reference transport §1.5, §1.7).
 *
 * Device->host, per TX-ready pulse: READ 0x03 of the 12-byte header at 0, then READ of
 * the padded payload at 12 in ONE transaction. The firmware counts CSB edges: exactly two
 * transactions per frame, so the payload is never split and nothing else (no status
 * poll) is clocked between them. While a long message streams (console_expect_bulk), an
 * adapter that waits for TX-ready itself gets both reads in the same exchange, the
 * payload read at its largest size (the tail past the frame is ignored), with CS held
 * high between them long enough for the firmware's polling to see the edges. Otherwise
 * the header comes first and the payload read is sized by it: for a short frame, one
 * more round trip costs less than clocking 2 KiB. A header that is not a valid frame is
 * "junk": counted and dropped, and its payload read is still made (the largest one), so
 * the firmware sees the 4 edges it waits for whatever the host made of the header.
 *
 * Host->device: the message in <=256-byte page programs, each WREN 0x06, PAGE_PROGRAM
 * 0x02 (every chunk at 0x000 but the last, at 0x100), then READ_STATUS 0x05 until BUSY
 * clears: the firmware clears it once it has taken the chunk, which is the only flow
 * control the console has. With a batching bus the three go in one exchange, the status
 * read after an idle time the adapter keeps (clocks without data) that tracks how long
 * the firmware takes a chunk: BUSY is then clear at the first read, and only a chunk the
 * firmware was slow to take costs a second round trip.
 *
 * The last chunk gets no status read. Once the firmware has the whole message it may
 * answer at once, raising TX-ready; it counts every CSB edge from then on as the host
 * reading its frame (reference §1.5), so a status read clocked then would count as the
 * frame's header read and the frame would be lost. Its answer tells that the chunk was
 * taken; a write that comes before any answer first polls for it, as the next page
 * program must not overwrite a chunk the firmware has not taken. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console_priv.h"
#include "wire/spi_flash.h"
#include "wire/spi_frame.h"

/* One transaction's bytes: the largest is a payload READ of a padded maximal frame. */
#define SPI_CONSOLE_XFER_MAX (SPI_FLASH_CMD_SIZE + SPI_FRAME_READ_BUFFER_SIZE)
/* The largest payload READ: everything after the header in the 2 KiB buffer. */
#define SPI_CONSOLE_PAYLOAD_MAX (SPI_FRAME_READ_BUFFER_SIZE - SPI_FRAME_HEADER_SIZE)
/* CS high between a frame's two reads when they go in one exchange. The firmware sees
 * the edges by polling the CSB status in software (reference §1.5); on a real adapter
 * the gap would otherwise be a few hundred ns. A figure to check on hardware. */
#define SPI_CONSOLE_CS_GAP_NS 2000u
/* The idle time before an upload's status read tracks the 97.5th percentile of the
 * firmware's time to take a chunk: 4 us longer after a chunk it had not taken yet, 4/39 us
 * shorter after one it had (a quantile tracker: it settles where 1 read in 40 finds BUSY
 * set). A miss costs a round trip; waiting longer costs every chunk. */
#define SPI_CONSOLE_TAKE_NS_START 20000u
#define SPI_CONSOLE_TAKE_NS_MISS 4000u
#define SPI_CONSOLE_TAKE_NS_HIT (SPI_CONSOLE_TAKE_NS_MISS / 39u)
#define SPI_CONSOLE_TAKE_NS_MIN 1000u
#define SPI_CONSOLE_TAKE_NS_MAX 2000000u

_Static_assert(SPI_FLASH_CMD_SIZE + SPI_UPLOAD_CHUNK_MAX <= SPI_CONSOLE_XFER_MAX, "upload fits");
_Static_assert(SPI_CONSOLE_PAYLOAD_MAX >= SPI_FRAME_HOST_MAX_PAYLOAD, "a payload fits");

struct spi_console {
    struct spi_bus *bus; /* borrowed */
    uint32_t next_frame;
    bool bulk; /* console_expect_bulk: frames read whole in one exchange */
    /* The last chunk written, not confirmed by a status read or a frame since. */
    bool last_unconfirmed;
    struct spi_upload_chunk last_chunk;
    size_t last_total;
    uint32_t take_ns; /* the firmware's time to take an upload chunk, as last seen */
    uint64_t round_trips_at_open;
    uint8_t header_mosi[SPI_FLASH_CMD_SIZE + SPI_FRAME_HEADER_SIZE];
    uint8_t header_miso[SPI_FLASH_CMD_SIZE + SPI_FRAME_HEADER_SIZE];
    uint8_t mosi[SPI_CONSOLE_XFER_MAX];
    uint8_t miso[SPI_CONSOLE_XFER_MAX];
};

static struct spi_console *spi_of(const struct console *c)
{
    return c->link;
}

/* ---- reading frames ------------------------------------------------------------------- */

/* One READ of `len` bytes at `address`: the command in `mosi`, the data at
 * miso + SPI_FLASH_CMD_SIZE afterwards. */
static struct spi_bus_xfer read_at(uint8_t *mosi, uint8_t *miso, uint32_t address, size_t len)
{
    memset(mosi, 0, SPI_FLASH_CMD_SIZE + len);
    spi_flash_put_command(mosi, SPI_FLASH_READ, address);
    return (struct spi_bus_xfer){.mosi = mosi, .miso = miso, .len = SPI_FLASH_CMD_SIZE + len};
}

static void count_ignored(struct console *c, enum spi_frame_check check)
{
    if (check == SPI_FRAME_WRONG_NUMBER)
        c->stats.wrong_frame_numbers++;
    else
        c->stats.junk_frames++;
}

/* True when the adapter waits for TX-ready and reads in the same exchange: its wait
 * cannot be cut short without resetting the adapter, and it reports no pins. */
static bool waits_in_adapter(const struct spi_console *sc)
{
    return sc->bus->ops->xfer_when != NULL;
}

/* Waits for TX-ready and runs the `n` reads: in one exchange where the adapter can
 * (xfer_when); otherwise the wait (one exchange either way) hands its pins to the console,
 * which watches TestError with them at no extra cost. */
static int wait_and_read(struct console *c, const struct spi_bus_xfer *reads, size_t n,
                         uint64_t deadline_ns, struct ft_error *err)
{
    struct spi_console *sc = spi_of(c);
    if (waits_in_adapter(sc))
        return spi_bus_xfers_when(sc->bus, SPI_BUS_PIN_TX_READY, SPI_BUS_PIN_TX_READY, deadline_ns,
                                  reads, n, err);
    uint32_t pins = 0;
    struct ft_error local = {0};
    if (err == NULL)
        err = &local;
    int rc =
        spi_bus_wait(sc->bus, SPI_BUS_PIN_TX_READY, SPI_BUS_PIN_TX_READY, deadline_ns, &pins, err);
    if (rc == 0 || err->code == FT_E_TIMEOUT)
        console_saw_pins(c, pins);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (spi_bus_xfer(sc->bus, reads[i].mosi, reads[i].miso, reads[i].len, err) != 0)
            return -1;
    return 0;
}

/* A valid frame 0 where another number was due: the chip started over. The console
 * decides whether it is the new boot's first frame (a watched console) or junk. */
static bool restarted(struct console *c, const struct spi_frame_header *hdr)
{
    struct spi_console *sc = spi_of(c);
    if (hdr->frame_no != 0 || sc->next_frame == 0 || hdr->len > SPI_FRAME_HOST_MAX_PAYLOAD)
        return false;
    char what[96];
    snprintf(what, sizeof(what), "its SPI console restarted at frame 0 (frame %u was due)",
             (unsigned)sc->next_frame);
    return console_chip_restarted(c, what);
}

static enum spi_frame_check check_header(struct console *c, struct spi_frame_header *hdr)
{
    struct spi_console *sc = spi_of(c);
    enum spi_frame_check check =
        spi_frame_header_check(sc->header_miso + SPI_FLASH_CMD_SIZE, sc->next_frame, hdr);
    if (check == SPI_FRAME_WRONG_NUMBER && restarted(c, hdr))
        check = SPI_FRAME_VALID;
    if (check != SPI_FRAME_VALID)
        count_ignored(c, check);
    return check;
}

/* Reads one frame when TX-ready rises and appends its payload to the stream; appends
 * nothing for an ignored header. */
static int spi_fill(struct console *c, uint64_t deadline_ns, struct ft_error *err)
{
    struct spi_console *sc = spi_of(c);
    if (console_stream_room(c) < SPI_FRAME_HOST_MAX_PAYLOAD)
        return ft_fail(err, FT_E_CAPACITY, "%s: console buffer full", sc->bus->name);
    struct spi_bus_xfer reads[2] = {
        read_at(sc->header_mosi, sc->header_miso, 0, SPI_FRAME_HEADER_SIZE),
        read_at(sc->mosi, sc->miso, SPI_FRAME_HEADER_SIZE, SPI_CONSOLE_PAYLOAD_MAX),
    };
    reads[1].idle_ns_before = SPI_CONSOLE_CS_GAP_NS;
    bool whole = sc->bulk && waits_in_adapter(sc);
    if (wait_and_read(c, reads, whole ? 2 : 1, deadline_ns, err) != 0)
        return ft_error_prefix(err, "waiting for a console frame (TX-ready)");
    struct spi_frame_header hdr;
    bool valid = check_header(c, &hdr) == SPI_FRAME_VALID;
    if (!whole) {
        /* Even an empty frame gets its payload READ (of no data bytes): the firmware
         * waits for the second transaction before it writes the next frame. */
        reads[1] = read_at(sc->mosi, sc->miso, SPI_FRAME_HEADER_SIZE,
                           valid ? spi_frame_padded_len(hdr.len) : SPI_CONSOLE_PAYLOAD_MAX);
        if (spi_bus_xfer(sc->bus, reads[1].mosi, reads[1].miso, reads[1].len, err) != 0)
            return -1;
    }
    if (!valid)
        return 0;
    console_stream_append(c, sc->miso + SPI_FLASH_CMD_SIZE, hdr.len);
    sc->next_frame = hdr.frame_no + 1;
    sc->last_unconfirmed = false; /* the firmware answers once it has the message */
    c->stats.frames++;
    return 0;
}

/* ---- writing -------------------------------------------------------------------------- */

/* Sends WREN and the page program; with a batching bus and `poll` also the first status
 * poll, after the idle time the firmware takes a chunk in, all in one round trip. *busy
 * gets the status bit when it was read. */
static int send_chunk(struct console *c, const uint8_t *data, const struct spi_upload_chunk *ch,
                      bool poll, bool *busy, struct ft_error *err)
{
    struct spi_console *sc = spi_of(c);
    static const uint8_t wren = SPI_FLASH_WRITE_ENABLE;
    static const uint8_t rdsr[2] = {SPI_FLASH_READ_STATUS, 0x00};
    uint8_t status[2] = {0, 0};
    spi_flash_put_command(sc->mosi, SPI_FLASH_PAGE_PROGRAM, ch->address);
    memcpy(sc->mosi + SPI_FLASH_CMD_SIZE, data + ch->offset, ch->len);
    c->stats.upload_chunks++;
    *busy = true;
    if (spi_bus_has_batch(sc->bus)) {
        const struct spi_bus_xfer xfers[3] = {
            {.mosi = &wren, .len = 1},
            {.mosi = sc->mosi, .len = SPI_FLASH_CMD_SIZE + ch->len},
            {.mosi = rdsr, .miso = status, .len = sizeof(rdsr), .idle_ns_before = sc->take_ns}};
        if (sc->bus->ops->xfer_batch(sc->bus, xfers, poll ? 3 : 2, err) != 0)
            return -1;
        if (!poll)
            return 0;
        c->stats.status_polls++;
        *busy = (status[1] & SPI_FLASH_STATUS_BUSY) != 0;
        uint32_t next =
            *busy ? sc->take_ns + SPI_CONSOLE_TAKE_NS_MISS : sc->take_ns - SPI_CONSOLE_TAKE_NS_HIT;
        sc->take_ns = next < SPI_CONSOLE_TAKE_NS_MIN   ? SPI_CONSOLE_TAKE_NS_MIN
                      : next > SPI_CONSOLE_TAKE_NS_MAX ? SPI_CONSOLE_TAKE_NS_MAX
                                                       : next;
        return 0;
    }
    if (spi_bus_xfer(sc->bus, &wren, NULL, 1, err) != 0 ||
        spi_bus_xfer(sc->bus, sc->mosi, NULL, SPI_FLASH_CMD_SIZE + ch->len, err) != 0)
        return -1;
    return 0;
}

/* Polls READ_STATUS until BUSY clears, each poll after the firmware's usual time to take
 * a chunk where the bus can keep it; a passed deadline still polls once. */
static int wait_not_busy(struct console *c, const struct spi_upload_chunk *ch, size_t total,
                         uint64_t deadline_ns, struct ft_error *err)
{
    struct spi_console *sc = spi_of(c);
    static const uint8_t rdsr[2] = {SPI_FLASH_READ_STATUS, 0x00};
    uint8_t status[2];
    const struct spi_bus_xfer poll = {
        .mosi = rdsr, .miso = status, .len = sizeof(rdsr), .idle_ns_before = sc->take_ns};
    for (;;) {
        if ((spi_bus_has_batch(sc->bus)
                 ? sc->bus->ops->xfer_batch(sc->bus, &poll, 1, err)
                 : spi_bus_xfer(sc->bus, rdsr, status, sizeof(rdsr), err)) != 0)
            return -1;
        c->stats.status_polls++;
        if (!(status[1] & SPI_FLASH_STATUS_BUSY))
            return 0;
        if (link_now_ns() >= deadline_ns)
            return ft_fail(err, FT_E_TIMEOUT,
                           "%s: upload of %zu bytes: BUSY still set at the deadline after the "
                           "%zu-byte chunk at offset %zu (address 0x%03x): the firmware did not "
                           "take it",
                           sc->bus->name, total, ch->len, ch->offset, (unsigned)ch->address);
    }
}

static int spi_write(struct console *c, const uint8_t *data, size_t len, uint64_t deadline_ns,
                     struct ft_error *err)
{
    struct spi_console *sc = spi_of(c);
    if (sc->last_unconfirmed &&
        wait_not_busy(c, &sc->last_chunk, sc->last_total, deadline_ns, err) != 0)
        return -1;
    sc->last_unconfirmed = false;
    struct spi_upload_iter it;
    struct spi_upload_chunk ch;
    spi_upload_iter_init(&it, len);
    while (spi_upload_next(&it, &ch)) {
        bool last = ch.offset + ch.len == len, busy;
        if (send_chunk(c, data, &ch, !last, &busy, err) != 0)
            return -1;
        if (last) {
            sc->last_unconfirmed = true;
            sc->last_chunk = ch;
            sc->last_total = len;
        } else if (busy && wait_not_busy(c, &ch, len, deadline_ns, err) != 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- the rest ------------------------------------------------------------------------- */

static struct spi_bus *spi_gpio(struct console *c)
{
    return spi_of(c)->bus;
}

static void spi_reset_frames(struct console *c)
{
    spi_of(c)->next_frame = 0;
    spi_of(c)->last_unconfirmed = false; /* a chip that restarted took no chunk of ours */
}

static void spi_expect_bulk(struct console *c, bool on)
{
    spi_of(c)->bulk = on;
}

static uint64_t spi_round_trips(const struct console *c)
{
    const struct spi_console *sc = spi_of(c);
    return sc->bus->round_trips - sc->round_trips_at_open;
}

static void spi_close(struct console *c)
{
    free(c->link); /* the bus is the caller's */
}

static bool spi_wait_cuttable(const struct console *c)
{
    /* A wait in the adapter is abandoned by resetting the channel, and one that timed out
     * may have read the header already (spi_bus.h): never cut short. The polled or
     * socket-side wait runs no transaction until TX-ready is seen (and reports the pins). */
    return !waits_in_adapter(spi_of(c));
}

static const struct console_link_ops spi_console_ops = {
    .kind = "spi",
    .fill = spi_fill,
    .write = spi_write,
    .gpio = spi_gpio,
    .reset_frames = spi_reset_frames,
    .expect_bulk = spi_expect_bulk,
    .round_trips = spi_round_trips,
    .close = spi_close,
    .wait_cuttable = spi_wait_cuttable,
};

struct console *console_open_spi(struct spi_bus *bus, struct ft_error *err)
{
    /* A payload must be read in one transaction; a bus that cannot carry one cannot host
     * the console (splitting it would desynchronise the firmware's edge count). */
    size_t need = SPI_FLASH_CMD_SIZE + spi_frame_padded_len(SPI_FRAME_HOST_MAX_PAYLOAD);
    if (bus->max_xfer < need) {
        ft_fail(err, FT_E_INVALID,
                "%s: transactions of at most %zu bytes; the SPI console "
                "needs %zu in one",
                bus->name, bus->max_xfer, need);
        return NULL;
    }
    if (bus->unwired & SPI_BUS_PIN_TX_READY) {
        ft_fail(err, FT_E_INVALID,
                "%s: TX_READY is not wired; the SPI console reads a frame only when the chip "
                "raises it (map tx_ready to a pin)",
                bus->name);
        return NULL;
    }
    struct spi_console *sc = calloc(1, sizeof(*sc));
    if (sc == NULL) {
        ft_fail(err, FT_E_NOMEM, "%s: out of memory", bus->name);
        return NULL;
    }
    sc->bus = bus;
    sc->take_ns = SPI_CONSOLE_TAKE_NS_START;
    sc->round_trips_at_open = bus->round_trips;
    struct console *c = console_new(&spi_console_ops, sc, err);
    if (c == NULL)
        free(sc);
    return c;
}
