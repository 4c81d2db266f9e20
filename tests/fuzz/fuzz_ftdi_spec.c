/* Fuzz target: the FTDI adapter text of the command line (--console ftdi:..., ftdi-uart:...).
 * An accepted spec must respect what the links rely on: a channel they know, strings
 * that fit, pins on real places. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/ftdi_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[FTDI_SPEC_MAX + 2];
    if (size == 0 || size >= sizeof(text))
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    enum ftdi_spec_use use = (data[0] & 1) ? FTDI_SPEC_UART : FTDI_SPEC_SPI;
    struct ftdi_spec spec;
    struct ft_error err = {0};
    if (ftdi_spec_parse(text, use, &spec, &err) != 0) {
        if (err.code != FT_E_INVALID || err.message[0] == '\0')
            abort();
        return 0;
    }
    char last = use == FTDI_SPEC_SPI ? 'B' : 'D';
    if (spec.channel < 'A' || spec.channel > last || spec.index > 255 ||
        strlen(spec.serial) >= sizeof(spec.serial) ||
        strlen(spec.description) >= sizeof(spec.description) ||
        strlen(spec.bus_addr) >= sizeof(spec.bus_addr) ||
        (spec.serial[0] == '\0' && spec.description[0] == '\0' && spec.bus_addr[0] == '\0' &&
         strchr(text, '=') == NULL))
        abort();
    for (unsigned n = 0; n < FTDI_PIN_MAP_SIZE; n++)
        if (spec.pins.pin[n].port > FTDI_PORT_HIGH || spec.pins.pin[n].bit > 7)
            abort();
    return 0;
}
