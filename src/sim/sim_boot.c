#include "sim/sim_boot.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sim/perso_fw.h"
#include "sim/rom_bootstrap.h"
#include "sim/sim_certs.h"

/* The ROM_EXT banner and owner firmware text that follow a personalized chip's reset. */
static const char ROM_EXT_BANNER[] = "ROM_EXT:0.4\r\n";
static const char OWNER_SUCCESS[] = "Bare metal PASS!\r\n";
/* What the bad-boot fault prints instead: an owner-stage boot fault. */
static const char BOOT_FAULT[] = "BFV:0142500d\r\n";
/* The hardware revision the ROM banner shows. */
#define ROM_REVISION_ID 0x01u

void sim_chip_fresh(struct sim_device *dev, unsigned index)
{
    struct sim_chip *chip = &dev->chip;
    uint8_t *flash = chip->flash;
    /* The buffer holds ROM_NVM_MAX_SIZE bytes; the profile's NVM is what the chip has. */
    size_t flash_size = fw_gen_info(dev->cfg.firmware)->nvm_size;
    memset(chip, 0, sizeof(*chip));
    chip->flash = flash;
    chip->flash_size = flash_size;
    chip->index = index;
    memset(flash, ROM_FLASH_ERASED, flash_size);
    if (!dev->cfg.blank) {
        chip->perso_image = true;
        if (dev->cfg.perso_hash_set)
            memcpy(chip->perso_hash, dev->cfg.perso_hash, sizeof(chip->perso_hash));
        else
            sim_chip_secret(&dev->cfg, index, "perso-image", chip->perso_hash);
    }
    if (index == 0)
        sim_chip_otp_load(dev);
}

/* The state file: "secret2 <32 hex digits of the RMA token hash>\n" once SECRET2 is
 * written; absent or empty before. */
void sim_chip_otp_load(struct sim_device *dev)
{
    if (dev->cfg.otp_state[0] == '\0')
        return;
    FILE *f = fopen(dev->cfg.otp_state, "r");
    char hex[33] = "";
    if (f == NULL)
        return;
    if (fscanf(f, "secret2 %32s", hex) == 1 && strlen(hex) == 32) {
        for (size_t i = 0; i < 16; i++) {
            unsigned byte;
            if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
                break;
            dev->chip.rma_token_hash[i] = (uint8_t)byte;
        }
        dev->chip.secret2_done = true;
    }
    fclose(f);
}

void sim_chip_otp_save(struct sim_device *dev)
{
    if (dev->cfg.otp_state[0] == '\0' || dev->chip.index != 0)
        return;
    char tmp[sizeof(dev->cfg.otp_state) + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", dev->cfg.otp_state);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return;
    fprintf(f, "secret2 ");
    for (size_t i = 0; i < 16; i++)
        fprintf(f, "%02x", dev->chip.rma_token_hash[i]);
    fprintf(f, "\n");
    /* Durable before the chip answers, as OTP is. */
    bool written = fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) == 0 && written)
        rename(tmp, dev->cfg.otp_state);
}

static bool straps_request_bootstrap(const struct sim_device *dev)
{
    return (dev->pins & SIM_PIN_STRAPS) == SIM_PIN_STRAPS && !dev->chip.perso_done;
}

void sim_chip_power_on_reset(struct sim_device *dev)
{
    spi_device_reset(&dev->spi,
                     straps_request_bootstrap(dev) ? SPI_DEVICE_BOOTSTRAP : SPI_DEVICE_CONSOLE);
    /* Density of the profile's NVM: 1 MiB eflash, or master's 2 MiB RRAM. */
    size_t nvm_size = fw_gen_info(dev->cfg.firmware)->nvm_size;
    rom_sfdp_table(dev->spi.sfdp, nvm_size);
    dev->spi.jedec_len = rom_jedec_id(dev->spi.jedec, sizeof(dev->spi.jedec), nvm_size);
    dev->pins &= ~SIM_PIN_OUTPUTS;
    dev->frame_no = 0;
    dev->rx_len = 0;
    dev->rx_pos = 0;
    dev->staged_len = 0;
    dev->uart_rx.len = 0;
    dev->step = SIM_STEP_NONE;
    pthread_cond_broadcast(&dev->changed);
}

bool sim_chip_completed(struct fw_ctx *fw)
{
    struct sim_device *dev = fw->dev;
    pthread_mutex_lock(&dev->lock);
    dev->completed++;
    if (dev->cfg.duts != 0 && dev->completed >= dev->cfg.duts)
        dev->finished = true;
    bool more = !dev->finished;
    pthread_cond_broadcast(&dev->changed);
    pthread_mutex_unlock(&dev->lock);
    return more;
}

/* The measurement of the image in slot A: SHA-256 of its programmed extent (slot A's
 * usable part: a bundle's ROM_EXT and owner images lie in slot B). */
static void measure_image(const struct sim_config *cfg, struct sim_chip *chip)
{
    const struct fw_gen_info *g = fw_gen_info(cfg->firmware);
    size_t end = g->slot_b - g->slot_reserved;
    while (end > 0 && chip->flash[end - 1] == ROM_FLASH_ERASED)
        end--;
    chip->perso_image = end > 0;
    unsigned int len = sizeof(chip->perso_hash);
    EVP_Digest(chip->flash, end, chip->perso_hash, &len, EVP_sha256(), NULL);
}

static uint8_t spi_status(struct fw_ctx *fw)
{
    pthread_mutex_lock(&fw->dev->lock);
    uint8_t status = fw->dev->spi.status;
    pthread_mutex_unlock(&fw->dev->lock);
    return status;
}

/* The ROM's bootstrap loop: erase, program and reset commands until the chip resets. */
static int rom_bootstrap_run(struct fw_ctx *fw)
{
    struct sim_chip *chip = &fw->dev->chip;
    struct rom_bootstrap bs;
    struct ft_error err = {0};
    /* The spi_device came out of reset with status 0 (sim_chip_power_on_reset), so a
     * host that starts talking at once loses nothing. */
    if (rom_bootstrap_init(&bs, chip->flash, chip->flash_size, fw->dev->cfg.firmware, &err) != 0)
        return fw_halt(fw);
    for (;;) {
        struct spi_upload up;
        if (fw_wait_upload(fw, &up) != 0)
            return FW_ABORT;
        struct spi_flash_cmd cmd = {
            .opcode = up.opcode,
            .has_address = up.has_address,
            .address = up.address,
            .payload = up.payload,
            .len = up.payload_overflow ? ROM_SPI_PAYLOAD_MAX + 1 : up.len,
        };
        struct rom_bootstrap_result result;
        int rc = rom_bootstrap_handle(&bs, &cmd, spi_status(fw), &result, &err);
        if (result.handled && !result.shutdown &&
            (cmd.opcode == ROM_OP_PAGE_PROGRAM || cmd.opcode == ROM_OP_CHIP_ERASE ||
             cmd.opcode == ROM_OP_SECTOR_ERASE))
            chip->flash_written = true;
        if (result.clear_status)
            fw_clear_spi_status(fw);
        if (rc != 0 && result.shutdown) {
            char line[32];
            snprintf(line, sizeof(line), "BFV:%08x\r\n", (unsigned)result.rom_error);
            fw_print_uart(fw, line);
            return SIM_BOOT_SW_RESET;
        }
        if (result.chip_reset)
            return SIM_BOOT_SW_RESET;
    }
}

/* What the ROM prints on the UART at every boot (rom.c rom_banner: "OpenTitan:" and the
 * silicon creator, product and revision IDs in hex), and on entering the bootstrap. */
static int rom_banner(struct fw_ctx *fw, bool bootstrap)
{
    const struct sim_sku *sku = &fw->dev->cfg.sku;
    char line[48];
    snprintf(line, sizeof(line), "OpenTitan:%04x-%04x-%02x\r\n", (unsigned)sku->si_creator_id,
             (unsigned)sku->product_id, ROM_REVISION_ID);
    if (fw_print_uart(fw, line) != 0 || (bootstrap && fw_print_uart(fw, "bootstrap:1\r\n") != 0))
        return FW_ABORT;
    return 0;
}

int sim_boot(struct fw_ctx *fw)
{
    struct sim_device *dev = fw->dev;
    pthread_mutex_lock(&dev->lock);
    bool bootstrap = straps_request_bootstrap(dev);
    pthread_mutex_unlock(&dev->lock);
    if (rom_banner(fw, bootstrap) != 0)
        return FW_ABORT;
    if (bootstrap)
        return rom_bootstrap_run(fw);
    if (dev->chip.flash_written) {
        /* Flash keeps what the bootstrap wrote, however the bootstrap ended. */
        struct sim_chip *chip = &dev->chip;
        chip->flash_written = false;
        measure_image(&dev->cfg, chip);
        if (chip->secret1_done)
            chip->second_image = true;
    }
    if (dev->chip.perso_done) {
        /* ROM_EXT from slot B (a two-stage chip only got here with a ROM_EXT manifest
         * there), then the owner firmware. */
        const char *owner = fw->dev->cfg.faults.bad_boot ? BOOT_FAULT : OWNER_SUCCESS;
        if (fw_print_uart(fw, ROM_EXT_BANNER) != 0 || fw_print_uart(fw, owner) != 0)
            return FW_ABORT;
        return fw_halt(fw);
    }
    if (dev->chip.perso_image)
        return perso_fw_run(fw);
    return fw_halt(fw); /* blank flash: nothing to boot */
}
