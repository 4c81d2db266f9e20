/* FTDI MPSSE command encoding for SPI mode 0 and GPIO (reference transport §4.3-§4.5,
 * §7.3), with no I/O: builders append bytes to a caller's buffer, so the exact bytes an
 * adapter receives are unit-tested without hardware. ftdi_spi.c sends them over libftdi1.
 *
 * Pin roles on the MPSSE low byte are fixed by the chip: ADBUS0 SCK, ADBUS1 MOSI,
 * ADBUS2 MISO, ADBUS3 CS (a GPIO: MPSSE never toggles CS itself). SCK idles low and
 * MOSI changes on the falling edge (0x11 out, 0x20 in, 0x31 duplex), which is mode 0.
 * The other low-byte pins (ADBUS4..7) and the high byte (ACBUS0..7, FT2232H/FT232H
 * only) carry the harness's GPIOs through a pin map. */
#ifndef FTHARNESS_LINK_FTDI_MPSSE_H
#define FTHARNESS_LINK_FTDI_MPSSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "link/spi_bus.h"

/* ---- opcodes (FTDI AN_108 numbering) --------------------------------------------------- */

#define MPSSE_CLOCK_BYTES_OUT 0x11u    /* MSB first, out on the falling edge */
#define MPSSE_CLOCK_BYTES_IN 0x20u     /* MSB first, sampled on the rising edge */
#define MPSSE_CLOCK_BYTES_DUPLEX 0x31u /* both of the above at once */
#define MPSSE_CLOCK_BYTES_IDLE 0x8fu   /* clocks without data: (n + 1) x 8 SCK periods */
#define MPSSE_SET_LOW 0x80u            /* value, direction (1 = output) of ADBUS0..7 */
#define MPSSE_READ_LOW 0x81u
#define MPSSE_SET_HIGH 0x82u /* the same for ACBUS0..7 */
#define MPSSE_READ_HIGH 0x83u
#define MPSSE_LOOPBACK_OFF 0x85u
#define MPSSE_SET_DIVISOR 0x86u
#define MPSSE_SEND_IMMEDIATE 0x87u
#define MPSSE_WAIT_HIGH 0x88u /* hold the command stream until GPIOL1 is high */
#define MPSSE_WAIT_LOW 0x89u  /* ... until it is low */
#define MPSSE_DIV5_OFF 0x8au
#define MPSSE_3PHASE_OFF 0x8du
#define MPSSE_ADAPTIVE_OFF 0x97u
#define MPSSE_BAD_COMMAND_REPLY 0xfau /* the chip's answer to an unknown opcode: FA <op> */
#define MPSSE_SYNC_OPCODE 0xaau       /* an opcode the chip does not know, for the sync check */

/* Bytes one clock command carries: its length field holds n - 1 in 16 bits. */
#define MPSSE_CLOCK_MAX 65536u

/* SPI pins on the low byte, and the direction bits that make SCK, MOSI and CS outputs. */
#define MPSSE_PIN_SCK 0x01u
#define MPSSE_PIN_MOSI 0x02u
#define MPSSE_PIN_MISO 0x04u
#define MPSSE_PIN_CS 0x08u
#define MPSSE_PIN_GPIOL1 0x20u /* ADBUS5: the one pin the wait opcodes watch */
#define MPSSE_SPI_PINS 0x0fu
#define MPSSE_SPI_DIRECTION 0x0bu

/* The clock with the divide-by-5 prescaler off (H-series chips): SCK = 60 MHz / ((1 + div) * 2). */
#define MPSSE_CLOCK_BASE_HZ 60000000u
#define MPSSE_SCK_MAX_HZ 30000000u                       /* divisor 0 */
#define MPSSE_SCK_MIN_HZ (MPSSE_SCK_MAX_HZ / 65536u + 1) /* 458 Hz: divisor 0xffff, rounded up */

/* ---- the command buffer ---------------------------------------------------------------- */

/* A caller-owned byte buffer that builders append to. Overflow is sticky: a builder that
 * does not fit appends nothing and sets `overflow`, so a run of builders is checked once
 * with ftdi_mpsse_buf_check(). `reply_len` counts the bytes the chip will send back for
 * what was appended (clock-in and pin reads). */
struct ftdi_mpsse_buf {
    uint8_t *data; /* borrowed */
    size_t cap;
    size_t len;
    size_t reply_len;
    bool overflow;
};

void ftdi_mpsse_buf_init(struct ftdi_mpsse_buf *b, uint8_t *data, size_t cap);

/* 0, or -1 with FT_E_CAPACITY when something did not fit. */
int ftdi_mpsse_buf_check(const struct ftdi_mpsse_buf *b, struct ft_error *err);

/* ---- builders -------------------------------------------------------------------------- */

/* 80 value direction / 82 value direction. */
void ftdi_mpsse_set_low(struct ftdi_mpsse_buf *b, uint8_t value, uint8_t direction);
void ftdi_mpsse_set_high(struct ftdi_mpsse_buf *b, uint8_t value, uint8_t direction);

/* 81 / 83: one reply byte each, the pin levels. */
void ftdi_mpsse_read_low(struct ftdi_mpsse_buf *b);
void ftdi_mpsse_read_high(struct ftdi_mpsse_buf *b);

/* The low byte with the SPI pins idle (SCK low, MOSI low, CS high = deasserted) or with
 * CS asserted (low). `gpio_value` / `gpio_direction` are the current state of ADBUS4..7
 * (their SPI bits are ignored): every 0x80 rewrites all eight pins, so CS changes must
 * carry the GPIO outputs along. */
void ftdi_mpsse_cs_assert(struct ftdi_mpsse_buf *b, uint8_t gpio_value, uint8_t gpio_direction);
void ftdi_mpsse_cs_deassert(struct ftdi_mpsse_buf *b, uint8_t gpio_value, uint8_t gpio_direction);

/* Clock commands; any length (0 appends nothing), split into commands of at most
 * MPSSE_CLOCK_MAX bytes. */
void ftdi_mpsse_clock_out(struct ftdi_mpsse_buf *b, const uint8_t *data, size_t len);
void ftdi_mpsse_clock_in(struct ftdi_mpsse_buf *b, size_t len);
void ftdi_mpsse_clock_duplex(struct ftdi_mpsse_buf *b, const uint8_t *data, size_t len);

/* 8f: `len` bytes' worth of SCK periods with no data, to let time pass inside one
 * command stream (with CS high the target ignores them); split like the clock commands. */
void ftdi_mpsse_idle_clocks(struct ftdi_mpsse_buf *b, size_t len);

/* 87: the chip sends what it holds now instead of when its latency timer expires. */
void ftdi_mpsse_send_immediate(struct ftdi_mpsse_buf *b);

/* 88 / 89: the chip executes nothing after this until GPIOL1 (ADBUS5) is high / low.
 * There is no timeout in the chip: only leaving MPSSE mode (bitmode reset) ends a wait
 * that is never satisfied, so the host bounds it with its read deadline. */
void ftdi_mpsse_wait_gpiol1(struct ftdi_mpsse_buf *b, bool high);

/* The sync check after entering MPSSE mode: AA 87. A chip in MPSSE mode answers FA AA
 * (ftdi_mpsse_sync_reply_ok()); anything else means the channel is not executing MPSSE. */
void ftdi_mpsse_sync(struct ftdi_mpsse_buf *b);
bool ftdi_mpsse_sync_reply_ok(const uint8_t *reply, size_t len);

/* The engine set-up: 8a 97 8d (60 MHz base, adaptive and 3-phase clocking off), 86 divL
 * divH, 85 (loopback off), then the low byte idle with CS deasserted (as
 * ftdi_mpsse_cs_deassert()). */
void ftdi_mpsse_init(struct ftdi_mpsse_buf *b, uint16_t divisor, uint8_t gpio_value,
                     uint8_t gpio_direction);

/* ---- clock ----------------------------------------------------------------------------- */

/* The divisor for an SPI clock of at most `hz` (rounded down in speed, never faster than
 * asked): requests above 30 MHz get 30 MHz. *actual_hz gets the clock it gives, rounded
 * down to whole Hz. Fails with FT_E_RANGE below MPSSE_SCK_MIN_HZ (no divisor is slow
 * enough). */
int ftdi_mpsse_divisor_for(uint32_t hz, uint16_t *divisor, uint32_t *actual_hz,
                           struct ft_error *err);

/* ---- SPI transactions ------------------------------------------------------------------ */

/* How one transaction is clocked. SPI flash reads are a command that goes out and data
 * that comes in; sending the command with 0x11 and reading with 0x20 (instead of one
 * duplex 0x31) halves the bytes sent for a long READ and matches reference §7.3. */
struct ftdi_mpsse_xfer_plan {
    size_t out_len;    /* leading bytes clocked out only (0x11); their MISO is not sampled */
    size_t in_len;     /* then bytes clocked in only (0x20); MOSI holds its last level */
    size_t duplex_len; /* or bytes clocked both ways (0x31) */
};

/* The plan for `len` bytes of `mosi`, when `want_miso` says whether the caller reads
 * back. Without a reply everything goes out with 0x11. With one, a known flash read
 * opcode in mosi[0] (0x03 READ, 0x0b FAST_READ, 0x05/0x35/0x15 READ_STATUS, 0x9f JEDEC
 * ID, 0x5a SFDP) whose bytes after the command are all 0x00 (the caller's idle filler) is
 * split into command out + data in; anything else is clocked duplex so the caller gets
 * exactly the bytes it sent and every MISO byte. */
struct ftdi_mpsse_xfer_plan ftdi_mpsse_xfer_plan(const uint8_t *mosi, size_t len, bool want_miso);

/* One CS-framed transaction per `plan`: CS assert, the clock commands, CS deassert. No
 * 87: the caller adds one after the last command whose reply it waits for. */
void ftdi_mpsse_xfer(struct ftdi_mpsse_buf *b, const struct ftdi_mpsse_xfer_plan *plan,
                     const uint8_t *mosi, uint8_t gpio_value, uint8_t gpio_direction);

/* Fills `miso` (`len` bytes) from the `reply` of a transaction clocked per `plan`
 * (plan->in_len + plan->duplex_len bytes). MISO bytes that were not sampled (the out-only
 * command) read as 0xff, the level of an undriven MISO with a pull-up. */
void ftdi_mpsse_xfer_reply(const struct ftdi_mpsse_xfer_plan *plan, const uint8_t *reply,
                           uint8_t *miso, size_t len);

/* ---- GPIO pin map ---------------------------------------------------------------------- */

enum ftdi_port {
    FTDI_PORT_NONE = 0, /* not wired: reads as 0, cannot be driven */
    FTDI_PORT_LOW,      /* ADBUS (BDBUS on channel B), bits 4..7 */
    FTDI_PORT_HIGH,     /* ACBUS (BCBUS), bits 0..7; FT2232H and FT232H only */
};

struct ftdi_pin {
    uint8_t port; /* enum ftdi_port */
    uint8_t bit;  /* 0..7 within the port */
};

/* Where each SPI_BUS_PIN_* bit is wired: pin[n] serves the bus pin (1u << n). */
#define FTDI_PIN_MAP_SIZE 12u
struct ftdi_pin_map {
    struct ftdi_pin pin[FTDI_PIN_MAP_SIZE];
};

/* The default wiring (chip pad in brackets; host direction):
 *   ADBUS0 SCK, ADBUS1 MOSI, ADBUS2 MISO, ADBUS3 CS          SPI, fixed by MPSSE
 *   ADBUS4 RX_READY   (IOA6)  input
 *   ADBUS5 TX_READY   (IOA5)  input  - GPIOL1, the one pin MPSSE's wait opcodes
 *                                      (88/89) watch, so waiting for a console frame
 *                                      can later move into the adapter
 *   ADBUS6 TEST_DONE  (IOA1)  input
 *   ADBUS7 TEST_ERROR (IOA0)  input
 *   ACBUS0 RESET_N            output
 *   ACBUS1..3 STRAP0..2 (IOC0..2, SW_STRAP0..2) outputs
 *   ACBUS4 TEST_START (IOA4)  input
 * The ACBUS pins need an FT2232H (or FT232H); an FT4232H has no high byte, so a board
 * built on one passes its own map. */
void ftdi_pin_map_default(struct ftdi_pin_map *map);

/* "TX_READY", "RESET_N", ... for the bus pin (1u << n); "pin" past the map. */
const char *ftdi_pin_map_pin_name(unsigned n);

/* Checks a map: ports and bits in range, no pin used twice, nothing on ADBUS0..3 (the SPI
 * pins), nothing on the high byte when `has_high_byte` is false. FT_E_INVALID naming the
 * offending bus pin. */
int ftdi_pin_map_check(const struct ftdi_pin_map *map, bool has_high_byte, struct ft_error *err);

/* The SPI_BUS_PIN_* bits the map leaves unwired (FTDI_PORT_NONE). */
uint32_t ftdi_pin_map_unwired(const struct ftdi_pin_map *map);

/* Whether any pin is on the high byte (it then needs 0x82/0x83). */
bool ftdi_pin_map_uses_high(const struct ftdi_pin_map *map);

/* The SPI_BUS_PIN_* bits that are high, from the levels of both ports. */
uint32_t ftdi_pin_map_decode(const struct ftdi_pin_map *map, uint8_t low, uint8_t high);

/* The driven state of both ports (the backend's shadow: each 0x80/0x82 rewrites a whole
 * port, so the host keeps what it last wrote). */
struct ftdi_gpio_state {
    uint8_t low_value, low_direction;   /* ADBUS4..7 (SPI bits unused here) */
    uint8_t high_value, high_direction; /* ACBUS0..7 */
};

/* Drives the bus pins in `mask` to the levels in `value` (making them outputs). Fails
 * with FT_E_INVALID, changing nothing, if a pin in `mask` is not wired. */
int ftdi_pin_map_drive(const struct ftdi_pin_map *map, uint32_t mask, uint32_t value,
                       struct ftdi_gpio_state *state, struct ft_error *err);

#endif
