/* The FTDI adapter text of the command line; see ftdi_spec.h. */
#include "link/ftdi_spec.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "link/ftdi_spi.h"
#include "link/ftdi_uart.h"

/* The pin keys, in SPI_BUS_PIN_* bit order (pin[n] serves 1u << n). */
static const struct {
    const char *key;
    unsigned bit;
} PIN_KEYS[] = {
    {"test_error", 0}, {"test_done", 1}, {"test_start", 2}, {"tx_ready", 3}, {"rx_ready", 4},
    {"reset_n", 8},    {"strap0", 9},    {"strap1", 10},    {"strap2", 11},
};
#define N_PIN_KEYS (sizeof(PIN_KEYS) / sizeof(PIN_KEYS[0]))

#define KEYS_SPI "serial, desc, bus, index, channel, clock, or a pin"
#define KEYS_UART "serial, desc, bus, index, channel, baud, xonxoff"
#define PIN_LIST                                                                                   \
    "tx_ready, rx_ready, reset_n, strap0, strap1, strap2, test_done, test_error, test_start"

/* "ADBUS5" -> low byte bit 5; "none" -> not wired. Case does not matter. */
static int parse_place(const char *place, struct ftdi_pin *pin)
{
    if (strcasecmp(place, "none") == 0) {
        *pin = (struct ftdi_pin){FTDI_PORT_NONE, 0};
        return 0;
    }
    if (strlen(place) != 6 ||
        (strncasecmp(place, "ADBUS", 5) != 0 && strncasecmp(place, "BDBUS", 5) != 0 &&
         strncasecmp(place, "ACBUS", 5) != 0 && strncasecmp(place, "BCBUS", 5) != 0))
        return -1;
    if (place[5] < '0' || place[5] > '7')
        return -1;
    bool high = place[1] == 'C' || place[1] == 'c';
    *pin = (struct ftdi_pin){high ? FTDI_PORT_HIGH : FTDI_PORT_LOW, (uint8_t)(place[5] - '0')};
    return 0;
}

int ftdi_spec_set_pin(struct ftdi_pin_map *map, const char *name, const char *place,
                      struct ft_error *err)
{
    for (size_t i = 0; i < N_PIN_KEYS; i++) {
        if (strcmp(name, PIN_KEYS[i].key) != 0)
            continue;
        if (parse_place(place, &map->pin[PIN_KEYS[i].bit]) != 0)
            return ft_fail(err, FT_E_INVALID,
                           "%s=%s: expected ADBUS4..7, ACBUS0..7 (BDBUS/BCBUS on channel B) or "
                           "none",
                           name, place);
        return 0;
    }
    return ft_fail(err, FT_E_INVALID, "'%s' is not a pin (%s)", name, PIN_LIST);
}

/* A decimal number in 0..max, with an optional k (x1000) or M (x1000000) suffix when
 * `suffix` allows. */
static int parse_number(const char *key, const char *text, bool suffix, uint64_t max, uint64_t *out,
                        struct ft_error *err)
{
    uint64_t v = 0;
    const char *p = text;
    if (*p < '0' || *p > '9')
        goto bad;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10u + (uint64_t)(*p - '0');
        if (v > max)
            goto bad;
    }
    if (suffix && (*p == 'k' || *p == 'M')) {
        v *= *p == 'k' ? 1000u : 1000000u;
        p++;
    }
    if (*p != '\0' || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    return ft_fail(err, FT_E_INVALID, "%s=%s: expected a number in 0..%llu%s", key, text,
                   (unsigned long long)max, suffix ? " (k and M suffixes allowed)" : "");
}

static int copy_value(const char *key, const char *value, char *dst, size_t cap,
                      struct ft_error *err)
{
    size_t len = strlen(value);
    if (len == 0 || len >= cap)
        return ft_fail(err, FT_E_INVALID, "%s: %zu bytes (1..%zu allowed)", key, len, cap - 1);
    memcpy(dst, value, len + 1);
    return 0;
}

static int parse_channel(const char *value, enum ftdi_spec_use use, char *channel,
                         struct ft_error *err)
{
    char last = use == FTDI_SPEC_SPI ? 'B' : 'D';
    if (strlen(value) != 1 || value[0] < 'A' || value[0] > 'D')
        return ft_fail(err, FT_E_INVALID, "channel=%s: expected A..%c", value, last);
    if (value[0] > last)
        return ft_fail(err, FT_E_INVALID,
                       "channel=%s: only channels A and B have the MPSSE engine SPI needs", value);
    *channel = value[0];
    return 0;
}

static int parse_on_off(const char *key, const char *value, bool *out, struct ft_error *err)
{
    if (strcmp(value, "on") == 0 || strcmp(value, "off") == 0) {
        *out = value[1] == 'n';
        return 0;
    }
    return ft_fail(err, FT_E_INVALID, "%s=%s: expected on or off", key, value);
}

/* One KEY=VALUE. `seen` has a bit per key already given (index in KEY_NAMES, then the
 * pins from bit 16). */
static const char *const KEY_NAMES[] = {"serial",  "desc",  "bus",  "index",
                                        "channel", "clock", "baud", "xonxoff"};
#define N_KEYS (sizeof(KEY_NAMES) / sizeof(KEY_NAMES[0]))

static int parse_pair(char *pair, enum ftdi_spec_use use, struct ftdi_spec *s, uint32_t *seen,
                      struct ft_error *err)
{
    char *eq = strchr(pair, '=');
    if (eq == NULL || eq == pair)
        return ft_fail(err, FT_E_INVALID, "'%s': expected KEY=VALUE", pair);
    *eq = '\0';
    const char *key = pair, *value = eq + 1;
    size_t k = 0;
    while (k < N_KEYS && strcmp(key, KEY_NAMES[k]) != 0)
        k++;
    uint32_t bit;
    if (k < N_KEYS) {
        bit = 1u << k;
    } else {
        size_t p = 0;
        while (p < N_PIN_KEYS && strcmp(key, PIN_KEYS[p].key) != 0)
            p++;
        if (p == N_PIN_KEYS || use != FTDI_SPEC_SPI)
            return ft_fail(err, FT_E_INVALID, "unknown key '%s' (%s)", key,
                           use == FTDI_SPEC_SPI ? KEYS_SPI ": " PIN_LIST : KEYS_UART);
        bit = 1u << (16 + p);
    }
    if (*seen & bit)
        return ft_fail(err, FT_E_INVALID, "'%s' given twice", key);
    *seen |= bit;
    uint64_t n = 0;
    switch (k) {
    case 0:
        return copy_value(key, value, s->serial, sizeof(s->serial), err);
    case 1:
        return copy_value(key, value, s->description, sizeof(s->description), err);
    case 2:
        return copy_value(key, value, s->bus_addr, sizeof(s->bus_addr), err);
    case 3:
        if (parse_number(key, value, false, 255, &n, err) != 0)
            return -1;
        s->index = (unsigned)n;
        return 0;
    case 4:
        return parse_channel(value, use, &s->channel, err);
    case 5:
    case 6:
        if ((k == 5) != (use == FTDI_SPEC_SPI))
            return ft_fail(err, FT_E_INVALID, "'%s' does not apply to %s channel", key,
                           use == FTDI_SPEC_SPI ? "an SPI" : "a UART");
        if (parse_number(key, value, true, 1000000000u, &n, err) != 0)
            return -1;
        if (n == 0)
            return ft_fail(err, FT_E_INVALID, "%s=%s: must not be 0", key, value);
        *(k == 5 ? &s->clock_hz : &s->baud) = (uint32_t)n;
        return 0;
    case 7:
        if (use != FTDI_SPEC_UART)
            return ft_fail(err, FT_E_INVALID, "'xonxoff' does not apply to an SPI channel");
        return parse_on_off(key, value, &s->xonxoff, err);
    default:
        return ftdi_spec_set_pin(&s->pins, key, value, err);
    }
}

/* SERIAL or SERIAL:CHANNEL. */
static int parse_short(char *text, enum ftdi_spec_use use, struct ftdi_spec *s,
                       struct ft_error *err)
{
    char *colon = strrchr(text, ':');
    if (colon != NULL) {
        if (colon[1] == '\0' || colon[2] != '\0')
            return ft_fail(err, FT_E_INVALID,
                           "expected SERIAL[:CHANNEL] or KEY=VALUE,... (see ftharness(1))");
        if (parse_channel(colon + 1, use, &s->channel, err) != 0)
            return -1;
        *colon = '\0';
    }
    if (text[0] == '\0')
        return ft_fail(err, FT_E_INVALID, "no adapter serial");
    return copy_value("serial", text, s->serial, sizeof(s->serial), err);
}

int ftdi_spec_parse(const char *text, enum ftdi_spec_use use, struct ftdi_spec *s,
                    struct ft_error *err)
{
    *s = (struct ftdi_spec){.channel = 'A'};
    ftdi_pin_map_default(&s->pins);
    char buf[FTDI_SPEC_MAX + 1];
    size_t len = strnlen(text, sizeof(buf));
    if (len == 0)
        return ft_fail(err, FT_E_INVALID, "no adapter given");
    if (len > FTDI_SPEC_MAX)
        return ft_fail(err, FT_E_INVALID, "longer than %u bytes", FTDI_SPEC_MAX);
    memcpy(buf, text, len + 1);
    if (strchr(buf, '=') == NULL)
        return parse_short(buf, use, s, err);
    uint32_t seen = 0;
    char *save = NULL;
    for (char *pair = buf; pair != NULL; pair = save) {
        save = strchr(pair, ',');
        if (save != NULL)
            *save++ = '\0';
        if (parse_pair(pair, use, s, &seen, err) != 0)
            return -1;
    }
    return 0;
}

void ftdi_spec_spi_config(const struct ftdi_spec *s, struct ftdi_spi_config *cfg)
{
    *cfg = (struct ftdi_spi_config){
        .serial = s->serial[0] ? s->serial : NULL,
        .description = s->description[0] ? s->description : NULL,
        .bus_addr = s->bus_addr[0] ? s->bus_addr : NULL,
        .index = s->index,
        .channel = s->channel,
        .clock_hz = s->clock_hz,
        .pins = &s->pins,
    };
}

void ftdi_spec_uart_config(const struct ftdi_spec *s, struct ftdi_uart_config *cfg)
{
    *cfg = (struct ftdi_uart_config){
        .serial = s->serial[0] ? s->serial : NULL,
        .description = s->description[0] ? s->description : NULL,
        .bus_addr = s->bus_addr[0] ? s->bus_addr : NULL,
        .index = s->index,
        .channel = s->channel,
        .baud = s->baud,
        .xonxoff = s->xonxoff,
    };
}
