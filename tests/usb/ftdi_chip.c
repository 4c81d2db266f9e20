/* The bridge between an emulated FTDI channel and the chip model; see ftdi_chip.h. */
#include "ftdi_chip.h"

#include <string.h>

/* The SPI_BUS_PIN_* bits (same values as SIM_PIN_*) the chip drives and the host reads. */
#define CHIP_OUTPUTS 0x1Fu
/* The bits the host drives. */
#define CHIP_INPUTS 0xF00u

static uint8_t port_of(int byte_index)
{
    return byte_index == 0 ? FTDI_PORT_LOW : FTDI_PORT_HIGH;
}

static void chip_cs(void *ctx, bool asserted)
{
    struct ftdi_chip *chip = ctx;
    sim_device_spi_cs(&chip->dev, asserted);
}

static uint8_t chip_byte(void *ctx, uint8_t mosi)
{
    struct ftdi_chip *chip = ctx;
    uint8_t miso = 0xff;
    sim_device_spi_clock(&chip->dev, &mosi, &miso, 1);
    return miso;
}

/* The levels the chip drives on one port: its output pins at the map's bits. Other bits
 * read high, like the emulator's unconnected inputs (pull-ups on a real board). */
static uint8_t chip_pins_in(void *ctx, int byte_index)
{
    struct ftdi_chip *chip = ctx;
    uint32_t pins = sim_device_gpio_read(&chip->dev);
    uint8_t level = 0xff;
    for (unsigned n = 0; n < FTDI_PIN_MAP_SIZE; n++) {
        const struct ftdi_pin *p = &chip->map.pin[n];
        if (((CHIP_OUTPUTS >> n) & 1u) == 0 || p->port != port_of(byte_index))
            continue;
        if ((pins & (1u << n)) == 0)
            level &= (uint8_t) ~(1u << p->bit);
    }
    return level;
}

/* Applies the host-driven pins of one port, only those the host configured as outputs:
 * an undriven pin keeps what the chip last saw (the board's pull resistors are not
 * modelled). */
static void chip_pins_out(void *ctx, int byte_index, uint8_t value, uint8_t dir)
{
    struct ftdi_chip *chip = ctx;
    uint32_t mask = 0, bits = 0;
    for (unsigned n = 0; n < FTDI_PIN_MAP_SIZE; n++) {
        const struct ftdi_pin *p = &chip->map.pin[n];
        if (((CHIP_INPUTS >> n) & 1u) == 0 || p->port != port_of(byte_index) ||
            (dir & (1u << p->bit)) == 0)
            continue;
        mask |= 1u << n;
        if (value & (1u << p->bit))
            bits |= 1u << n;
    }
    if (mask == 0)
        return;
    /* Every 0x80 (each CS edge) rewrites the low byte: touch the model only on a change,
     * since a write wakes every waiter on the device. */
    uint32_t now = sim_device_gpio_read(&chip->dev);
    if ((now & mask) == bits)
        return;
    /* Counted here, where the edge happens, so a test sees the pulse even when the
     * firmware is already running again by the time it looks. */
    if ((mask & SIM_PIN_RESET_N) && (now & SIM_PIN_RESET_N) && !(bits & SIM_PIN_RESET_N))
        __atomic_fetch_add(&chip->resets, 1, __ATOMIC_SEQ_CST);
    sim_device_gpio_write(&chip->dev, mask, bits);
}

static const struct ftdi_emu_spi_target CHIP_OPS = {
    .cs = chip_cs,
    .byte = chip_byte,
    .pins_in = chip_pins_in,
    .pins_out = chip_pins_out,
};

/* Host -> chip: queued for the firmware's UART reads; never blocks. */
static void chip_uart_rx(void *ctx, const uint8_t *data, size_t len)
{
    struct ftdi_chip *chip = ctx;
    sim_device_uart_write(&chip->dev, data, len);
}

/* Chip -> host: what the UART queue holds now (timeout 0: the worker thread never waits). */
static size_t chip_uart_tx(void *ctx, uint8_t *buf, size_t cap)
{
    struct ftdi_chip *chip = ctx;
    return sim_device_uart_read(&chip->dev, buf, cap, 0);
}

static const struct ftdi_emu_uart_peer CHIP_UART = {
    .rx = chip_uart_rx,
    .tx = chip_uart_tx,
};

int ftdi_chip_attach(struct ftdi_chip *chip, struct ftdi_emu *emu, int channel,
                     const struct sim_config *cfg, const struct ftdi_pin_map *map,
                     struct ft_error *err)
{
    memset(chip, 0, sizeof(*chip));
    if (map != NULL)
        chip->map = *map;
    else
        ftdi_pin_map_default(&chip->map);
    if (ftdi_pin_map_check(&chip->map, true, err) != 0)
        return -1;
    if (sim_device_init(&chip->dev, cfg, err) != 0)
        return -1;
    if (sim_device_start(&chip->dev, err) != 0) {
        sim_device_fini(&chip->dev);
        return -1;
    }
    chip->started = true;
    chip->emu = emu;
    chip->channel = channel;
    ftdi_emu_attach_spi(emu, channel, &CHIP_OPS, chip);
    return 0;
}

void ftdi_chip_wire_uart(struct ftdi_chip *chip, struct ftdi_emu *emu, int channel)
{
    if (chip->uart_emu != NULL)
        ftdi_emu_attach_uart(chip->uart_emu, chip->uart_channel, NULL, NULL);
    chip->uart_emu = emu;
    chip->uart_channel = channel;
    ftdi_emu_attach_uart(emu, channel, &CHIP_UART, chip);
}

unsigned long ftdi_chip_resets(struct ftdi_chip *chip)
{
    return __atomic_load_n(&chip->resets, __ATOMIC_SEQ_CST);
}

void ftdi_chip_detach(struct ftdi_chip *chip)
{
    if (!chip->started)
        return;
    /* Detached first (under the adapter lock): no callback runs once this returns, so
     * the model can be stopped and freed. */
    if (chip->emu != NULL)
        ftdi_emu_attach_spi(chip->emu, chip->channel, NULL, NULL);
    if (chip->uart_emu != NULL)
        ftdi_emu_attach_uart(chip->uart_emu, chip->uart_channel, NULL, NULL);
    chip->uart_emu = NULL;
    chip->emu = NULL;
    sim_device_stop(&chip->dev);
    sim_device_fini(&chip->dev);
    chip->started = false;
}
