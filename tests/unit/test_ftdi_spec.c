/* The FTDI adapter text of the command line (link/ftdi_spec.h): both forms, every key,
 * the pin map it builds, and the message for each kind of mistake. */
#include "link/ftdi_spec.h"

#include <stdio.h>

#include "link/ftdi_spi.h"
#include "link/ftdi_uart.h"
#include "testutil.h"

static struct ftdi_spec parse_ok(const char *text, enum ftdi_spec_use use)
{
    struct ftdi_spec spec;
    struct ft_error err = {0};
    ck_assert_msg(ftdi_spec_parse(text, use, &spec, &err) == 0, "%s: %s", text, err.message);
    return spec;
}

static void parse_bad(const char *text, enum ftdi_spec_use use, const char *needle)
{
    struct ftdi_spec spec;
    struct ft_error err = {0};
    ck_assert_msg(ftdi_spec_parse(text, use, &spec, &err) == -1, "%s was accepted", text);
    ck_assert_error(err, FT_E_INVALID, needle);
}

START_TEST(short_form)
{
    struct ftdi_spec s = parse_ok("FTA1", FTDI_SPEC_SPI);
    ck_assert_str_eq(s.serial, "FTA1");
    ck_assert_int_eq(s.channel, 'A');
    s = parse_ok("FTA1:B", FTDI_SPEC_SPI);
    ck_assert_str_eq(s.serial, "FTA1");
    ck_assert_int_eq(s.channel, 'B');
    s = parse_ok("FT:X1:D", FTDI_SPEC_UART); /* the last colon separates the channel */
    ck_assert_str_eq(s.serial, "FT:X1");
    ck_assert_int_eq(s.channel, 'D');
    struct ftdi_pin_map def;
    ftdi_pin_map_default(&def);
    ck_assert_mem_eq(&s.pins, &def, sizeof(def));

    parse_bad("", FTDI_SPEC_SPI, "no adapter given");
    parse_bad(":A", FTDI_SPEC_SPI, "no adapter serial");
    parse_bad("FTA1:", FTDI_SPEC_SPI, "expected SERIAL[:CHANNEL]");
    parse_bad("FTA1:AB", FTDI_SPEC_SPI, "expected SERIAL[:CHANNEL]");
    parse_bad("FTA1:C", FTDI_SPEC_SPI, "only channels A and B have the MPSSE engine");
    parse_bad("FTA1:E", FTDI_SPEC_UART, "expected A..D");
}
END_TEST

START_TEST(long_form_selects_and_configures)
{
    struct ftdi_spec s = parse_ok("desc=Quad RS232-HS,index=1,channel=B,clock=15M", FTDI_SPEC_SPI);
    ck_assert_str_eq(s.serial, "");
    ck_assert_str_eq(s.description, "Quad RS232-HS");
    ck_assert_uint_eq(s.index, 1);
    ck_assert_int_eq(s.channel, 'B');
    ck_assert_uint_eq(s.clock_hz, 15000000);
    struct ftdi_spi_config spi;
    ftdi_spec_spi_config(&s, &spi);
    ck_assert_ptr_null(spi.serial);
    ck_assert_ptr_null(spi.bus_addr);
    ck_assert_str_eq(spi.description, "Quad RS232-HS");
    ck_assert_uint_eq(spi.clock_hz, 15000000);
    ck_assert_ptr_eq(spi.pins, &s.pins);

    s = parse_ok("bus=3:17,channel=D,baud=1000000,xonxoff=on", FTDI_SPEC_UART);
    struct ftdi_uart_config uart;
    ftdi_spec_uart_config(&s, &uart);
    ck_assert_str_eq(uart.bus_addr, "3:17");
    ck_assert_int_eq(uart.channel, 'D');
    ck_assert_uint_eq(uart.baud, 1000000);
    ck_assert(uart.xonxoff);
    s = parse_ok("serial=FTA1,clock=7500k", FTDI_SPEC_SPI);
    ck_assert_uint_eq(s.clock_hz, 7500000);
    ck_assert_uint_eq(parse_ok("serial=FTA1,clock=458", FTDI_SPEC_SPI).clock_hz, 458);
}
END_TEST

/* An FT4232H board: every pin on ADBUS4..7 or unwired. */
START_TEST(pin_map_keys)
{
    struct ftdi_spec s = parse_ok("serial=FTC3,tx_ready=ADBUS5,reset_n=adbus4,test_done=ADBUS6,"
                                  "test_error=BDBUS7,rx_ready=none,strap0=none,strap1=none,"
                                  "strap2=none,test_start=none",
                                  FTDI_SPEC_SPI);
    struct ft_error err = {0};
    ck_assert_msg(ftdi_pin_map_check(&s.pins, false, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(ftdi_pin_map_unwired(&s.pins),
                      SPI_BUS_PIN_RX_READY | SPI_BUS_PIN_STRAPS | SPI_BUS_PIN_TEST_START);
    ck_assert_uint_eq(s.pins.pin[8].port, FTDI_PORT_LOW); /* RESET_N */
    ck_assert_uint_eq(s.pins.pin[8].bit, 4);
    ck_assert_uint_eq(s.pins.pin[0].bit, 7); /* TEST_ERROR */

    /* One pin moved, the rest as the default map. */
    s = parse_ok("serial=FTA1,reset_n=ACBUS7", FTDI_SPEC_SPI);
    ck_assert_uint_eq(s.pins.pin[8].port, FTDI_PORT_HIGH);
    ck_assert_uint_eq(s.pins.pin[8].bit, 7);
    ck_assert_uint_eq(s.pins.pin[3].bit, 5); /* TX_READY where it was */

    parse_bad("serial=FTA1,tx_ready=ADBUS8", FTDI_SPEC_SPI, "tx_ready=ADBUS8: expected ADBUS4..7");
    parse_bad("serial=FTA1,tx_ready=GPIO5", FTDI_SPEC_SPI, "tx_ready=GPIO5");
    parse_bad("serial=FTA1,reset_n=ADBUS44", FTDI_SPEC_SPI, "reset_n=ADBUS44");
    parse_bad("serial=FTA1,tx_ready=ADBUS5", FTDI_SPEC_UART, "unknown key 'tx_ready'");
    ck_assert_int_eq(ftdi_spec_set_pin(&s.pins, "led", "ADBUS4", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "'led' is not a pin (tx_ready");
}
END_TEST

START_TEST(mistakes_are_named)
{
    parse_bad("serial=FTA1,speed=1M", FTDI_SPEC_SPI, "unknown key 'speed' (serial, desc");
    parse_bad("serial=FTA1,serial=FTA2", FTDI_SPEC_SPI, "'serial' given twice");
    parse_bad("serial=FTA1,,channel=A", FTDI_SPEC_SPI, "'': expected KEY=VALUE");
    parse_bad("serial=FTA1,=A", FTDI_SPEC_SPI, "'=A': expected KEY=VALUE");
    parse_bad("serial=", FTDI_SPEC_SPI, "serial: 0 bytes");
    parse_bad("serial=FTA1,channel=C", FTDI_SPEC_SPI, "only channels A and B");
    parse_bad("serial=FTA1,clock=fast", FTDI_SPEC_SPI, "clock=fast: expected a number");
    parse_bad("serial=FTA1,clock=0", FTDI_SPEC_SPI, "clock=0: must not be 0");
    parse_bad("serial=FTA1,clock=2000M", FTDI_SPEC_SPI, "clock=2000M: expected a number");
    parse_bad("serial=FTA1,clock=99999999999999999999", FTDI_SPEC_SPI, "expected a number");
    parse_bad("serial=FTA1,baud=9600", FTDI_SPEC_SPI, "'baud' does not apply to an SPI channel");
    parse_bad("serial=FTA1,clock=1M", FTDI_SPEC_UART, "'clock' does not apply to a UART");
    parse_bad("serial=FTA1,xonxoff=yes", FTDI_SPEC_UART, "xonxoff=yes: expected on or off");
    parse_bad("serial=FTA1,xonxoff=on", FTDI_SPEC_SPI, "'xonxoff' does not apply");
    parse_bad("index=256", FTDI_SPEC_SPI, "index=256: expected a number in 0..255");
    char long_serial[200];
    snprintf(long_serial, sizeof(long_serial), "serial=%0100d", 0);
    parse_bad(long_serial, FTDI_SPEC_SPI, "serial: 100 bytes (1..63 allowed)");
    char huge[FTDI_SPEC_MAX + 10];
    memset(huge, 'x', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    parse_bad(huge, FTDI_SPEC_SPI, "longer than 512 bytes");
}
END_TEST

static Suite *ftdi_spec_suite(void)
{
    Suite *s = suite_create("ftdi_spec");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, short_form);
    tcase_add_test(tc, long_form_selects_and_configures);
    tcase_add_test(tc, pin_map_keys);
    tcase_add_test(tc, mistakes_are_named);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(ftdi_spec_suite)
