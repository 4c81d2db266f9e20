/* MPSSE command encoding (no I/O); see ftdi_mpsse.h. */
#include "link/ftdi_mpsse.h"

#include <string.h>

#include "wire/spi_flash.h"

/* ---- the command buffer ---------------------------------------------------------------- */

void ftdi_mpsse_buf_init(struct ftdi_mpsse_buf *b, uint8_t *data, size_t cap)
{
    *b = (struct ftdi_mpsse_buf){.data = data, .cap = cap};
}

int ftdi_mpsse_buf_check(const struct ftdi_mpsse_buf *b, struct ft_error *err)
{
    if (b->overflow)
        return ft_fail(err, FT_E_CAPACITY, "MPSSE commands do not fit the %zu-byte buffer", b->cap);
    return 0;
}

/* Reserves `n` bytes at the end, or marks the buffer overflowed and returns NULL. */
static uint8_t *reserve(struct ftdi_mpsse_buf *b, size_t n)
{
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = true;
        return NULL;
    }
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

static void append3(struct ftdi_mpsse_buf *b, uint8_t op, uint8_t a, uint8_t c)
{
    uint8_t *p = reserve(b, 3);
    if (p == NULL)
        return;
    p[0] = op;
    p[1] = a;
    p[2] = c;
}

static void append1(struct ftdi_mpsse_buf *b, uint8_t op)
{
    uint8_t *p = reserve(b, 1);
    if (p != NULL)
        p[0] = op;
}

/* ---- builders -------------------------------------------------------------------------- */

void ftdi_mpsse_set_low(struct ftdi_mpsse_buf *b, uint8_t value, uint8_t direction)
{
    append3(b, MPSSE_SET_LOW, value, direction);
}

void ftdi_mpsse_set_high(struct ftdi_mpsse_buf *b, uint8_t value, uint8_t direction)
{
    append3(b, MPSSE_SET_HIGH, value, direction);
}

static void read_port(struct ftdi_mpsse_buf *b, uint8_t op)
{
    if (reserve(b, 1) == NULL)
        return;
    b->data[b->len - 1] = op;
    b->reply_len += 1;
}

void ftdi_mpsse_read_low(struct ftdi_mpsse_buf *b)
{
    read_port(b, MPSSE_READ_LOW);
}

void ftdi_mpsse_read_high(struct ftdi_mpsse_buf *b)
{
    read_port(b, MPSSE_READ_HIGH);
}

static void set_spi_pins(struct ftdi_mpsse_buf *b, uint8_t spi_value, uint8_t gpio_value,
                         uint8_t gpio_direction)
{
    uint8_t value = (uint8_t)((gpio_value & ~MPSSE_SPI_PINS) | spi_value);
    uint8_t direction = (uint8_t)((gpio_direction & ~MPSSE_SPI_PINS) | MPSSE_SPI_DIRECTION);
    ftdi_mpsse_set_low(b, value, direction);
}

void ftdi_mpsse_cs_assert(struct ftdi_mpsse_buf *b, uint8_t gpio_value, uint8_t gpio_direction)
{
    set_spi_pins(b, 0, gpio_value, gpio_direction);
}

void ftdi_mpsse_cs_deassert(struct ftdi_mpsse_buf *b, uint8_t gpio_value, uint8_t gpio_direction)
{
    set_spi_pins(b, MPSSE_PIN_CS, gpio_value, gpio_direction);
}

/* One clock command per MPSSE_CLOCK_MAX bytes: opcode, (n - 1) little-endian, and the
 * data when `data` is not NULL. All or nothing: a partial command would desynchronise the
 * engine. */
static void clock_bytes(struct ftdi_mpsse_buf *b, uint8_t op, const uint8_t *data, size_t len,
                        bool replies)
{
    while (len > 0 && !b->overflow) {
        size_t n = len < MPSSE_CLOCK_MAX ? len : MPSSE_CLOCK_MAX;
        uint8_t *p = reserve(b, 3 + (data != NULL ? n : 0));
        if (p == NULL)
            return;
        p[0] = op;
        p[1] = (uint8_t)((n - 1) & 0xff);
        p[2] = (uint8_t)((n - 1) >> 8);
        if (data != NULL) {
            memcpy(p + 3, data, n);
            data += n;
        }
        if (replies)
            b->reply_len += n;
        len -= n;
    }
}

void ftdi_mpsse_clock_out(struct ftdi_mpsse_buf *b, const uint8_t *data, size_t len)
{
    clock_bytes(b, MPSSE_CLOCK_BYTES_OUT, data, len, false);
}

void ftdi_mpsse_clock_in(struct ftdi_mpsse_buf *b, size_t len)
{
    clock_bytes(b, MPSSE_CLOCK_BYTES_IN, NULL, len, true);
}

void ftdi_mpsse_clock_duplex(struct ftdi_mpsse_buf *b, const uint8_t *data, size_t len)
{
    clock_bytes(b, MPSSE_CLOCK_BYTES_DUPLEX, data, len, true);
}

void ftdi_mpsse_idle_clocks(struct ftdi_mpsse_buf *b, size_t len)
{
    clock_bytes(b, MPSSE_CLOCK_BYTES_IDLE, NULL, len, false);
}

void ftdi_mpsse_send_immediate(struct ftdi_mpsse_buf *b)
{
    append1(b, MPSSE_SEND_IMMEDIATE);
}

void ftdi_mpsse_wait_gpiol1(struct ftdi_mpsse_buf *b, bool high)
{
    append1(b, high ? MPSSE_WAIT_HIGH : MPSSE_WAIT_LOW);
}

void ftdi_mpsse_sync(struct ftdi_mpsse_buf *b)
{
    append1(b, MPSSE_SYNC_OPCODE);
    ftdi_mpsse_send_immediate(b);
    if (!b->overflow)
        b->reply_len += 2;
}

bool ftdi_mpsse_sync_reply_ok(const uint8_t *reply, size_t len)
{
    return len == 2 && reply[0] == MPSSE_BAD_COMMAND_REPLY && reply[1] == MPSSE_SYNC_OPCODE;
}

void ftdi_mpsse_init(struct ftdi_mpsse_buf *b, uint16_t divisor, uint8_t gpio_value,
                     uint8_t gpio_direction)
{
    append1(b, MPSSE_DIV5_OFF);
    append1(b, MPSSE_ADAPTIVE_OFF);
    append1(b, MPSSE_3PHASE_OFF);
    append3(b, MPSSE_SET_DIVISOR, (uint8_t)(divisor & 0xff), (uint8_t)(divisor >> 8));
    append1(b, MPSSE_LOOPBACK_OFF);
    ftdi_mpsse_cs_deassert(b, gpio_value, gpio_direction);
}

/* ---- clock ----------------------------------------------------------------------------- */

int ftdi_mpsse_divisor_for(uint32_t hz, uint16_t *divisor, uint32_t *actual_hz,
                           struct ft_error *err)
{
    if (hz < MPSSE_SCK_MIN_HZ)
        return ft_fail(err, FT_E_RANGE, "SPI clock %u Hz is below the slowest MPSSE clock (%u Hz)",
                       (unsigned)hz, (unsigned)MPSSE_SCK_MIN_HZ);
    /* SCK = 30 MHz / (div + 1): the smallest div + 1 that brings SCK down to `hz`. */
    uint32_t steps = (uint32_t)(((uint64_t)MPSSE_SCK_MAX_HZ + hz - 1) / hz);
    *divisor = (uint16_t)(steps - 1);
    *actual_hz = MPSSE_SCK_MAX_HZ / steps;
    return 0;
}

/* ---- SPI transactions ------------------------------------------------------------------ */

/* Bytes of command (opcode, address, dummy) before the data of a flash read opcode, or
 * 0 when `op` is not one. */
static size_t flash_read_command_len(uint8_t op)
{
    switch (op) {
    case SPI_FLASH_READ_STATUS:
    case SPI_FLASH_READ_STATUS2:
    case SPI_FLASH_READ_STATUS3:
    case SPI_FLASH_JEDEC_ID:
        return 1;
    case SPI_FLASH_READ: /* 3-byte address */
        return SPI_FLASH_CMD_SIZE;
    case SPI_FLASH_FAST_READ: /* 3-byte address, one dummy byte */
    case SPI_FLASH_READ_SFDP:
        return SPI_FLASH_CMD_SIZE + 1;
    default:
        return 0;
    }
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != 0)
            return false;
    return true;
}

struct ftdi_mpsse_xfer_plan ftdi_mpsse_xfer_plan(const uint8_t *mosi, size_t len, bool want_miso)
{
    if (!want_miso)
        return (struct ftdi_mpsse_xfer_plan){.out_len = len};
    size_t command = len > 0 ? flash_read_command_len(mosi[0]) : 0;
    if (command > 0 && command < len && all_zero(mosi + command, len - command))
        return (struct ftdi_mpsse_xfer_plan){.out_len = command, .in_len = len - command};
    return (struct ftdi_mpsse_xfer_plan){.duplex_len = len};
}

void ftdi_mpsse_xfer(struct ftdi_mpsse_buf *b, const struct ftdi_mpsse_xfer_plan *plan,
                     const uint8_t *mosi, uint8_t gpio_value, uint8_t gpio_direction)
{
    ftdi_mpsse_cs_assert(b, gpio_value, gpio_direction);
    ftdi_mpsse_clock_out(b, mosi, plan->out_len);
    ftdi_mpsse_clock_in(b, plan->in_len);
    ftdi_mpsse_clock_duplex(b, mosi + plan->out_len, plan->duplex_len);
    ftdi_mpsse_cs_deassert(b, gpio_value, gpio_direction);
}

void ftdi_mpsse_xfer_reply(const struct ftdi_mpsse_xfer_plan *plan, const uint8_t *reply,
                           uint8_t *miso, size_t len)
{
    size_t unsampled = plan->out_len < len ? plan->out_len : len;
    memset(miso, 0xff, unsampled);
    memcpy(miso + unsampled, reply, len - unsampled);
}

/* ---- GPIO pin map ---------------------------------------------------------------------- */

static const char *const pin_names[FTDI_PIN_MAP_SIZE] = {
    "TEST_ERROR", "TEST_DONE", "TEST_START", "TX_READY", "RX_READY", "bit5",
    "bit6",       "bit7",      "RESET_N",    "STRAP0",   "STRAP1",   "STRAP2",
};

_Static_assert(SPI_BUS_PIN_TEST_ERROR == 1u << 0, "pin_names order");
_Static_assert(SPI_BUS_PIN_TEST_DONE == 1u << 1, "pin_names order");
_Static_assert(SPI_BUS_PIN_TEST_START == 1u << 2, "pin_names order");
_Static_assert(SPI_BUS_PIN_TX_READY == 1u << 3, "pin_names order");
_Static_assert(SPI_BUS_PIN_RX_READY == 1u << 4, "pin_names order");
_Static_assert(SPI_BUS_PIN_RESET_N == 1u << 8, "pin_names order");
_Static_assert(SPI_BUS_PIN_STRAP0 == 1u << 9, "pin_names order");
_Static_assert(SPI_BUS_PIN_STRAP2 == 1u << 11, "map size");

const char *ftdi_pin_map_pin_name(unsigned n)
{
    return n < FTDI_PIN_MAP_SIZE ? pin_names[n] : "pin";
}

static struct ftdi_pin low_pin(uint8_t bit)
{
    return (struct ftdi_pin){.port = FTDI_PORT_LOW, .bit = bit};
}

static struct ftdi_pin high_pin(uint8_t bit)
{
    return (struct ftdi_pin){.port = FTDI_PORT_HIGH, .bit = bit};
}

void ftdi_pin_map_default(struct ftdi_pin_map *map)
{
    *map = (struct ftdi_pin_map){0};
    map->pin[0] = low_pin(7);  /* TEST_ERROR */
    map->pin[1] = low_pin(6);  /* TEST_DONE */
    map->pin[2] = high_pin(4); /* TEST_START */
    map->pin[3] = low_pin(5);  /* TX_READY on GPIOL1 */
    map->pin[4] = low_pin(4);  /* RX_READY */
    map->pin[8] = high_pin(0); /* RESET_N */
    map->pin[9] = high_pin(1); /* STRAP0..2 */
    map->pin[10] = high_pin(2);
    map->pin[11] = high_pin(3);
}

static const char *port_name(uint8_t port)
{
    return port == FTDI_PORT_LOW ? "ADBUS" : "ACBUS";
}

static int check_pin(const struct ftdi_pin_map *map, unsigned n, bool has_high_byte,
                     struct ft_error *err)
{
    const struct ftdi_pin *p = &map->pin[n];
    if (p->port == FTDI_PORT_NONE)
        return 0;
    if (p->port != FTDI_PORT_LOW && p->port != FTDI_PORT_HIGH)
        return ft_fail(err, FT_E_INVALID, "FTDI pin map: %s has unknown port %u", pin_names[n],
                       (unsigned)p->port);
    if (p->bit > 7)
        return ft_fail(err, FT_E_INVALID, "FTDI pin map: %s on %s%u (bits are 0..7)", pin_names[n],
                       port_name(p->port), (unsigned)p->bit);
    if (p->port == FTDI_PORT_LOW && p->bit < 4)
        return ft_fail(err, FT_E_INVALID,
                       "FTDI pin map: %s on ADBUS%u, which carries SPI (ADBUS0..3)", pin_names[n],
                       (unsigned)p->bit);
    if (p->port == FTDI_PORT_HIGH && !has_high_byte)
        return ft_fail(err, FT_E_INVALID,
                       "FTDI pin map: %s on ACBUS%u, but this chip has no ACBUS (an FT4232H "
                       "has 8 MPSSE pins per channel); map it to ADBUS4..7 or leave it unwired",
                       pin_names[n], (unsigned)p->bit);
    for (unsigned m = 0; m < n; m++)
        if (map->pin[m].port == p->port && map->pin[m].bit == p->bit)
            return ft_fail(err, FT_E_INVALID, "FTDI pin map: %s and %s both on %s%u", pin_names[m],
                           pin_names[n], port_name(p->port), (unsigned)p->bit);
    return 0;
}

int ftdi_pin_map_check(const struct ftdi_pin_map *map, bool has_high_byte, struct ft_error *err)
{
    for (unsigned n = 0; n < FTDI_PIN_MAP_SIZE; n++) {
        bool is_bus_pin = ((SPI_BUS_PIN_OUTPUTS | SPI_BUS_PIN_INPUTS) & (1u << n)) != 0;
        if (!is_bus_pin && map->pin[n].port != FTDI_PORT_NONE)
            return ft_fail(err, FT_E_INVALID, "FTDI pin map: bit %u is not a bus pin", n);
        if (check_pin(map, n, has_high_byte, err) != 0)
            return -1;
    }
    return 0;
}

uint32_t ftdi_pin_map_unwired(const struct ftdi_pin_map *map)
{
    uint32_t unwired = 0;
    for (unsigned n = 0; n < FTDI_PIN_MAP_SIZE; n++)
        if (((SPI_BUS_PIN_OUTPUTS | SPI_BUS_PIN_INPUTS) & (1u << n)) != 0 &&
            map->pin[n].port == FTDI_PORT_NONE)
            unwired |= 1u << n;
    return unwired;
}

bool ftdi_pin_map_uses_high(const struct ftdi_pin_map *map)
{
    for (unsigned n = 0; n < FTDI_PIN_MAP_SIZE; n++)
        if (map->pin[n].port == FTDI_PORT_HIGH)
            return true;
    return false;
}

uint32_t ftdi_pin_map_decode(const struct ftdi_pin_map *map, uint8_t low, uint8_t high)
{
    uint32_t pins = 0;
    for (unsigned n = 0; n < FTDI_PIN_MAP_SIZE; n++) {
        const struct ftdi_pin *p = &map->pin[n];
        uint8_t levels = p->port == FTDI_PORT_LOW ? low : p->port == FTDI_PORT_HIGH ? high : 0;
        if (p->port != FTDI_PORT_NONE && (levels >> (p->bit & 7)) & 1u)
            pins |= 1u << n;
    }
    return pins;
}

int ftdi_pin_map_drive(const struct ftdi_pin_map *map, uint32_t mask, uint32_t value,
                       struct ftdi_gpio_state *state, struct ft_error *err)
{
    for (unsigned n = 0; n < 32; n++) {
        if (!(mask & (1u << n)))
            continue;
        if (n >= FTDI_PIN_MAP_SIZE || map->pin[n].port == FTDI_PORT_NONE)
            return ft_fail(err, FT_E_INVALID, "FTDI pin map: %s is not wired",
                           n < FTDI_PIN_MAP_SIZE ? pin_names[n] : "pin");
    }
    for (unsigned n = 0; n < FTDI_PIN_MAP_SIZE; n++) {
        if (!(mask & (1u << n)))
            continue;
        const struct ftdi_pin *p = &map->pin[n];
        uint8_t bit = (uint8_t)(1u << (p->bit & 7));
        uint8_t *val = p->port == FTDI_PORT_LOW ? &state->low_value : &state->high_value;
        uint8_t *dir = p->port == FTDI_PORT_LOW ? &state->low_direction : &state->high_direction;
        *dir |= bit;
        if (value & (1u << n))
            *val |= bit;
        else
            *val &= (uint8_t)~bit;
    }
    return 0;
}
