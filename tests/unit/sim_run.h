/* One simulated chip driven in process by the test host (tests/sim/simflow), for the
 * device-model suites: the test CAs, a configuration with test defaults, a run, its perso
 * steps, and the ROM bootstrap as a host drives it. Header-only (static inline) so each
 * suite keeps its own CAs and only what it uses is compiled in. */
#ifndef FTHARNESS_TESTS_UNIT_SIM_RUN_H
#define FTHARNESS_TESTS_UNIT_SIM_RUN_H

#include <stdio.h>
#include <string.h>

#include "simflow.h"
#include "testutil.h"
#include "wire/spi_flash.h"

#define DICE_DN "/C=US/O=OpenTitan/CN=Test DICE ICA"
#define EXT_DN "/C=US/O=OpenTitan/CN=Test EXT ICA"

static struct test_ca dice_ca, ext_ca;

static inline void setup_cas(void)
{
    ck_assert(test_ca_init(&dice_ca, DICE_DN));
    ck_assert(test_ca_init(&ext_ca, EXT_DN));
}

static inline void teardown_cas(void)
{
    test_ca_free(&dice_ca);
    test_ca_free(&ext_ca);
}

/* `sku` on the default firmware generation, no step delays, the test CAs' names and a
 * fixed WAS seed. */
static inline void test_config(struct sim_config *cfg, const char *sku)
{
    sim_config_defaults(cfg);
    ck_assert_int_eq(sim_config_set_sku(cfg, sku, NULL), 0);
    sim_config_set_timing(cfg, "zero", NULL);
    snprintf(cfg->dice_ca_subject, sizeof(cfg->dice_ca_subject), "%s", DICE_DN);
    snprintf(cfg->ext_ca_subject, sizeof(cfg->ext_ca_subject), "%s", EXT_DN);
    for (int i = 0; i < 32; i++)
        cfg->was_seed[i] = (uint8_t)(0x50 + i);
}

struct run {
    struct sim_device dev;
    struct simflow flow;
};

static inline struct run *run_start(const struct sim_config *cfg)
{
    struct run *r = calloc(1, sizeof(*r));
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(sim_device_init(&r->dev, cfg, NULL), 0);
    simflow_init(&r->flow, &r->dev, &dice_ca, &ext_ca, cfg->sku.blob_version);
    ck_assert_int_eq(sim_device_start(&r->dev, NULL), 0);
    return r;
}

static inline void run_free(struct run *r)
{
    sim_device_stop(&r->dev);
    sim_device_fini(&r->dev);
    free(r);
}

#define STEP(r, step) ck_assert_msg(simflow_##step(&(r)->flow), "%s", (r)->flow.why)

static inline void run_to_export(struct run *r)
{
    STEP(r, rma);
    STEP(r, certgen);
    STEP(r, export);
}

static inline void run_full(struct run *r)
{
    run_to_export(r);
    STEP(r, import);
    STEP(r, hash);
    STEP(r, done);
}

/* ---- the ROM bootstrap from the host's side ------------------------------------------ */

static inline void wren(struct run *r)
{
    uint8_t op = SPI_FLASH_WRITE_ENABLE;
    simhost_xfer(&r->flow.host, &op, NULL, 1);
}

/* READ_STATUS until BUSY clears, as a host polls after each erase and program. */
static inline void wait_idle(struct run *r)
{
    for (int i = 0; i < 1000000; i++) {
        uint8_t mosi[2] = {SPI_FLASH_READ_STATUS, 0}, miso[2];
        simhost_xfer(&r->flow.host, mosi, miso, 2);
        if (!(miso[1] & SPI_FLASH_STATUS_BUSY))
            return;
    }
    ck_abort_msg("BUSY never cleared");
}

/* With the chip in ROM bootstrap: chip erase, a 256-byte program of every chunk that is
 * not all 0xFF, then RESET (the chip reboots with the straps still applied). */
static inline void program_image(struct run *r, const uint8_t *image, size_t len)
{
    wren(r);
    uint8_t erase = SPI_FLASH_CHIP_ERASE;
    simhost_xfer(&r->flow.host, &erase, NULL, 1);
    wait_idle(r);
    static uint8_t mosi[SPI_FLASH_CMD_SIZE + 256];
    for (size_t off = 0; off < len; off += 256) {
        size_t n = len - off < 256 ? len - off : 256;
        if (spi_flash_erased(image + off, n))
            continue;
        wren(r);
        spi_flash_put_command(mosi, SPI_FLASH_PAGE_PROGRAM, (uint32_t)off);
        memcpy(mosi + SPI_FLASH_CMD_SIZE, image + off, n);
        simhost_xfer(&r->flow.host, mosi, NULL, SPI_FLASH_CMD_SIZE + n);
        wait_idle(r);
    }
    uint8_t reset = SPI_FLASH_RESET;
    simhost_xfer(&r->flow.host, &reset, NULL, 1);
}

#endif
