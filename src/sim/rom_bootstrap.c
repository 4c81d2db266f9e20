#include "sim/rom_bootstrap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wire/spi_flash.h"

/* ---- Data NVM ------------------------------------------------------------------------------ */

/* The geometry of `gen`, from fw_gen_info. */
static void rom_nvm_for(enum fw_gen gen, struct rom_nvm *out)
{
    const struct fw_gen_info *g = fw_gen_info(gen);
    bool rram = g->slot_reserved != 0; /* only master's RRAM reserves slot tails */
    *out = (struct rom_nvm){
        .size = g->nvm_size,
        .slot_size = g->slot_b,
        .reserved = g->slot_reserved,
        .prog_page = rram ? 512u : ROM_SPI_PROGRAM_PAGE,
        .overwrite = rram,
    };
}

static void flash_erase(uint8_t *flash, uint32_t addr, size_t len)
{
    memset(flash + addr, ROM_FLASH_ERASED, len);
}

/* Whether `addr` lies in one of the slots' reserved tails. */
static bool in_reserved(const struct rom_nvm *nvm, uint32_t addr)
{
    if (nvm->reserved == 0)
        return false;
    size_t in_slot = addr % nvm->slot_size;
    return in_slot >= nvm->slot_size - nvm->reserved;
}

/* flash_ctrl_data_erase_verify over both banks (a no-op on RRAM, master nvm_ctrl.c). */
static bool flash_all_erased(const struct rom_bootstrap *bs)
{
    return bs->nvm.overwrite || spi_flash_erased(bs->flash, bs->nvm.size);
}

/* Programming can only clear bits on flash: the macro writes `new & old`. RRAM stores the
 * bytes. */
static void flash_program(const struct rom_bootstrap *bs, uint32_t addr, const uint8_t *data,
                          size_t len)
{
    for (size_t i = 0; i < len; i++)
        bs->flash[addr + i] =
            bs->nvm.overwrite ? data[i] : (uint8_t)(bs->flash[addr + i] & data[i]);
}

/* ---- Results ------------------------------------------------------------------------------ */

static void clear_result(struct rom_bootstrap_result *r)
{
    *r = (struct rom_bootstrap_result){.rom_error = ROM_ERROR_OK};
}

/* The ROM returns `code` out of its loop: shutdown_finalize prints the BFV and resets. */
static int shut_down(struct rom_bootstrap_result *r, enum rom_error code, struct ft_error *err,
                     enum ft_code ft_code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int shut_down(struct rom_bootstrap_result *r, enum rom_error code, struct ft_error *err,
                     enum ft_code ft_code, const char *fmt, ...)
{
    r->handled = true;
    r->shutdown = true;
    r->rom_error = code;
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return ft_fail(err, ft_code, "ROM bootstrap: %s; ROM shuts down with BFV:%08x", what,
                   (unsigned)code);
}

/* ---- Commands -------------------------------------------------------------------------- */

static uint32_t command_address(const struct spi_flash_cmd *cmd)
{
    return cmd->has_address ? cmd->address : ROM_SPI_NO_ADDRESS;
}

/* The bound both erase and program check: below slot B's usable end and outside slot A's
 * reserved tail (empty on flash, where the bound is the end of bank 1). */
static bool address_usable(const struct rom_nvm *nvm, uint32_t addr)
{
    if (addr >= nvm->size - nvm->reserved)
        return false;
    return !in_reserved(nvm, addr);
}

/* Both banks (flash), or every page below slot B's usable end but slot A's reserved tail
 * (RRAM). */
/* The ROM's answer to an address outside the usable NVM. */
static int refuse_address(const struct rom_bootstrap *bs, struct rom_bootstrap_result *r,
                          enum rom_error code, const char *op, uint32_t addr, struct ft_error *err)
{
    const struct rom_nvm *nvm = &bs->nvm;
    size_t end = nvm->size - nvm->reserved;
    if (addr >= end)
        return shut_down(r, code, err, FT_E_RANGE,
                         "%s address 0x%08x is at or above the usable end 0x%06zx", op,
                         (unsigned)addr, end);
    return shut_down(r, code, err, FT_E_RANGE,
                     "%s address 0x%08x is in slot A's reserved tail [0x%06zx, 0x%06zx)", op,
                     (unsigned)addr, nvm->slot_size - nvm->reserved, nvm->slot_size);
}

static void chip_erase(struct rom_bootstrap *bs)
{
    const struct rom_nvm *nvm = &bs->nvm;
    flash_erase(bs->flash, 0, nvm->slot_size - nvm->reserved);
    flash_erase(bs->flash, (uint32_t)nvm->slot_size, nvm->slot_size - nvm->reserved);
}

/* bootstrap_sector_erase: the 4 KiB region holding `addr`, as two 2 KiB page erases. */
static int sector_erase(struct rom_bootstrap *bs, uint32_t addr, struct rom_bootstrap_result *r,
                        struct ft_error *err)
{
    if (!address_usable(&bs->nvm, addr))
        return refuse_address(bs, r, ROM_ERROR_BOOTSTRAP_ERASE_ADDRESS, "SECTOR_ERASE", addr, err);
    uint32_t base = addr & ~(uint32_t)(ROM_SPI_SECTOR_SIZE - 1);
    flash_erase(bs->flash, base, ROM_SPI_SECTOR_SIZE);
    return 0;
}

/* bootstrap_page_program: payload rounded up to a flash word with 0xff, written from
 * `addr` to the end of its 256-byte program page, the rest wrapped to the page start. */
static int page_program(struct rom_bootstrap *bs, uint32_t addr, const struct spi_flash_cmd *cmd,
                        struct rom_bootstrap_result *r, struct ft_error *err)
{
    if (addr % ROM_FLASH_WORD_SIZE != 0)
        return shut_down(r, ROM_ERROR_BOOTSTRAP_PROGRAM_ADDRESS, err, FT_E_INVALID,
                         "PAGE_PROGRAM address 0x%08x is not 8-byte aligned", (unsigned)addr);
    if (!address_usable(&bs->nvm, addr))
        return refuse_address(bs, r, ROM_ERROR_BOOTSTRAP_PROGRAM_ADDRESS, "PAGE_PROGRAM", addr,
                              err);

    uint8_t data[ROM_SPI_PAYLOAD_MAX];
    size_t len = cmd->len; /* <= ROM_SPI_PAYLOAD_MAX, checked by the caller */
    if (len > 0)
        memcpy(data, cmd->payload, len);
    while (len % ROM_FLASH_WORD_SIZE != 0)
        data[len++] = 0xff;

    uint32_t page_base = addr & ~(uint32_t)(bs->nvm.prog_page - 1);
    size_t first = bs->nvm.prog_page - (addr - page_base);
    if (first > len)
        first = len;
    flash_program(bs, addr, data, first);
    flash_program(bs, page_base, data + first, len - first);
    return 0;
}

/* State Erase: waits for the first erase; everything else is acknowledged and ignored. */
static int handle_erase_state(struct rom_bootstrap *bs, const struct spi_flash_cmd *cmd,
                              struct rom_bootstrap_result *r, struct ft_error *err)
{
    r->handled = true;
    if (cmd->opcode != ROM_OP_CHIP_ERASE && cmd->opcode != ROM_OP_SECTOR_ERASE) {
        r->clear_status = true;
        return 0;
    }
    /* Either erase opcode erases both banks, whatever the address. */
    chip_erase(bs);
    bs->state = ROM_BOOTSTRAP_ERASE_VERIFY;
    if (!flash_all_erased(bs))
        return shut_down(r, ROM_ERROR_FLASH_CTRL_DATA_ERASE_VERIFY, err, FT_E_DEVICE,
                         "flash not blank after the erase of opcode 0x%02x", cmd->opcode);
    /* WIP and WEL are cleared only once the erase is verified. */
    r->clear_status = true;
    bs->state = ROM_BOOTSTRAP_PROGRAM;
    return 0;
}

/* State Program: the erase/program/reset loop. */
static int handle_program_state(struct rom_bootstrap *bs, const struct spi_flash_cmd *cmd,
                                struct rom_bootstrap_result *r, struct ft_error *err)
{
    uint32_t addr = command_address(cmd);
    int rc = 0;
    r->handled = true;
    switch (cmd->opcode) {
    case ROM_OP_CHIP_ERASE:
        chip_erase(bs);
        break;
    case ROM_OP_SECTOR_ERASE:
        rc = sector_erase(bs, addr, r, err);
        break;
    case ROM_OP_PAGE_PROGRAM:
        rc = page_program(bs, addr, cmd, r, err);
        break;
    case ROM_OP_RESET:
        /* rstmgr_reset() does not return: the status is never cleared. */
        r->chip_reset = true;
        return 0;
    default:
        /* A glitched opcode (0x00) is tolerated: status cleared, nothing else. */
        break;
    }
    if (rc == 0)
        r->clear_status = true;
    return rc;
}

/* Whether the ROM looks at this command: erase and program need WREN; RESET in state
 * Program does not. State Erase requires WEL for every opcode. */
static bool write_enabled(const struct rom_bootstrap *bs, const struct spi_flash_cmd *cmd,
                          uint8_t status)
{
    if (status & ROM_SPI_STATUS_WEL)
        return true;
    return bs->state == ROM_BOOTSTRAP_PROGRAM && cmd->opcode == ROM_OP_RESET;
}

int rom_bootstrap_init(struct rom_bootstrap *bs, uint8_t *flash, size_t flash_size, enum fw_gen gen,
                       struct ft_error *err)
{
    struct rom_nvm nvm;
    rom_nvm_for(gen, &nvm);
    if (flash == NULL || flash_size != nvm.size)
        return ft_fail(err, FT_E_INVALID, "ROM bootstrap: data NVM of %zu bytes, %s has %zu",
                       flash == NULL ? (size_t)0 : flash_size, fw_gen_info(gen)->name, nvm.size);
    bs->flash = flash;
    bs->nvm = nvm;
    bs->state = ROM_BOOTSTRAP_ERASE;
    return 0;
}

/* One command in a running ROM: overflow check, WEL gate, then the state's handler. */
static int dispatch(struct rom_bootstrap *bs, const struct spi_flash_cmd *cmd, uint8_t status,
                    struct rom_bootstrap_result *result, struct ft_error *err)
{
    /* spi_device_cmd_get sees the overflow interrupt before it reads the command. */
    if (cmd->len > ROM_SPI_PAYLOAD_MAX)
        return shut_down(result, ROM_ERROR_SPI_DEVICE_PAYLOAD_OVERFLOW, err, FT_E_CAPACITY,
                         "opcode 0x%02x uploaded %zu payload bytes, the payload area holds %u",
                         cmd->opcode, cmd->len, ROM_SPI_PAYLOAD_MAX);
    if (!write_enabled(bs, cmd, status))
        return 0; /* dropped: BUSY stays set */
    if (bs->state == ROM_BOOTSTRAP_ERASE)
        return handle_erase_state(bs, cmd, result, err);
    return handle_program_state(bs, cmd, result, err);
}

int rom_bootstrap_handle(struct rom_bootstrap *bs, const struct spi_flash_cmd *cmd, uint8_t status,
                         struct rom_bootstrap_result *result, struct ft_error *err)
{
    clear_result(result);
    if (bs->flash == NULL ||
        (bs->state != ROM_BOOTSTRAP_ERASE && bs->state != ROM_BOOTSTRAP_PROGRAM))
        return ft_fail(err, FT_E_INVALID,
                       "ROM bootstrap: not running (state 0x%08x); rom_bootstrap_init after a "
                       "reset or shutdown",
                       (unsigned)bs->state);
    if (cmd->len > 0 && cmd->payload == NULL)
        return ft_fail(err, FT_E_INVALID,
                       "ROM bootstrap: opcode 0x%02x has %zu payload bytes but no buffer",
                       cmd->opcode, cmd->len);
    int rc = dispatch(bs, cmd, status, result, err);
    /* The ROM has left its loop: nothing more is handled until the chip boots again. */
    if (result->shutdown || result->chip_reset)
        bs->state = ROM_BOOTSTRAP_STOPPED;
    return rc;
}

/* ---- SFDP table (JESD216F; values from lib/drivers/spi_device.c) ------------------------- */

enum {
    SFDP_SIGNATURE = 0x50444653, /* "SFDP" */
    SFDP_MINOR = 0x0a,
    SFDP_MAJOR = 0x01,
    SFDP_PARAM_COUNT = 0, /* zero-based: one parameter header */
    SFDP_ACCESS = 0xff,   /* 3-byte address, 8 wait states */
    BFPT_ID_LSB = 0x00,
    BFPT_MINOR = 0x07,
    BFPT_MAJOR = 0x01,
    BFPT_WORDS = 23,
    BFPT_OFFSET = 16, /* right after the two 8-byte headers */
    BFPT_ID_MSB = 0xff,
};

/* One BFPT field: bits hi..lo of word `word` (1-based as in JESD216F). Bits of a word that
 * no field names stay 1, as JESD216F wants for unused and reserved bits. */
struct bfpt_field {
    uint8_t word;
    uint8_t hi;
    uint8_t lo;
    uint32_t value;
};

static const struct bfpt_field bfpt_fields[] = {
    /* 1: no DTR/quad/dual, 3-byte addresses, 4 KiB erase 0x20, WREN 0x06, volatile
     * block protect, write buffer >= 64 B, uniform 4 KiB erase. */
    {1, 22, 19, 0},
    {1, 18, 17, 0},
    {1, 16, 16, 0},
    {1, 15, 8, ROM_OP_SECTOR_ERASE},
    {1, 4, 4, 1},
    {1, 3, 3, 1},
    {1, 2, 2, 1},
    {1, 1, 0, 1},
    /* 2: density in bits, zero-based. */
    {2, 31, 31, 0},
    {2, 30, 0, 0}, /* the NVM's density in bits, zero-based: filled in by bfpt_words */
    /* 3-7: no fast read modes. */
    {3, 31, 0, 0},
    {4, 31, 0, 0},
    {5, 4, 4, 0},
    {5, 0, 0, 0},
    {6, 31, 16, 0},
    {7, 31, 16, 0},
    /* 8: erase type 1 = 0x20, 2^12 bytes; no type 2. 9: no types 3 and 4. */
    {8, 31, 16, 0},
    {8, 15, 8, ROM_OP_SECTOR_ERASE},
    {8, 7, 0, 0x0c},
    {9, 31, 0, 0},
    /* 10: erase type 1 time (8+1) x 16 ms, multiplier 0. */
    {10, 31, 11, 0},
    {10, 10, 9, 0x1},
    {10, 8, 4, 0x8},
    {10, 3, 0, 0x0},
    /* 11: chip erase 12 x 16 ms, byte program 6 x 8 us, page program 12 x 64 us,
     * page 2^8 bytes. */
    {11, 30, 29, 0x0},
    {11, 28, 24, 0xb},
    {11, 23, 23, 0x1},
    {11, 22, 19, 0x5},
    {11, 18, 18, 0x1},
    {11, 17, 14, 0x5},
    {11, 13, 13, 0x1},
    {11, 12, 8, 0xb},
    {11, 7, 4, 0x8},
    {11, 3, 0, 0x0},
    /* 12-13: no suspend/resume. 14: no deep power-down, busy = bit 0 of 0x05. */
    {12, 31, 31, 0x1},
    {12, 30, 9, 0},
    {12, 7, 0, 0},
    {13, 31, 0, 0},
    {14, 31, 31, 0x1},
    {14, 30, 8, 0},
    {14, 7, 2, 0x1},
    /* 15: no hold/QE/4-4-4. 16: soft reset 0x66/0x99, no 4-byte mode, read-only
     * status register. */
    {15, 23, 0, 0},
    {16, 31, 14, 0},
    {16, 13, 8, 0x10},
    {16, 6, 0, 0x0},
    /* 17-23: no octal/DTR modes; word 20 "not supported" is all ones. */
    {17, 31, 0, 0},
    {18, 31, 0, 0},
    {19, 31, 0, 0},
    {20, 31, 0, UINT32_MAX},
    {21, 31, 0, 0},
    {22, 31, 0, 0},
    {23, 31, 0, 0},
};

static void put_le32(uint8_t *out, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

static void bfpt_words(uint32_t words[BFPT_WORDS], size_t nvm_size)
{
    for (size_t i = 0; i < BFPT_WORDS; i++)
        words[i] = UINT32_MAX;
    for (size_t i = 0; i < sizeof(bfpt_fields) / sizeof(bfpt_fields[0]); i++) {
        const struct bfpt_field *f = &bfpt_fields[i];
        unsigned width = (unsigned)(f->hi - f->lo + 1);
        uint32_t mask = (uint32_t)(((UINT64_C(1) << width) - 1) << f->lo);
        uint32_t value = f->word == 2 && f->lo == 0 ? (uint32_t)(nvm_size * 8u - 1u) : f->value;
        words[f->word - 1] &= ~mask | ((value << f->lo) & mask);
    }
}

void rom_sfdp_table(uint8_t out[ROM_SFDP_SIZE], size_t nvm_size)
{
    memset(out, 0xff, ROM_SFDP_SIZE);
    put_le32(out, SFDP_SIGNATURE);
    out[4] = SFDP_MINOR;
    out[5] = SFDP_MAJOR;
    out[6] = SFDP_PARAM_COUNT;
    out[7] = SFDP_ACCESS;
    /* Parameter header: id LSB, minor, major, length in words, 24-bit pointer, id MSB. */
    out[8] = BFPT_ID_LSB;
    out[9] = BFPT_MINOR;
    out[10] = BFPT_MAJOR;
    out[11] = BFPT_WORDS;
    out[12] = BFPT_OFFSET;
    out[13] = 0;
    out[14] = 0;
    out[15] = BFPT_ID_MSB;
    uint32_t words[BFPT_WORDS];
    bfpt_words(words, nvm_size);
    for (size_t i = 0; i < BFPT_WORDS; i++)
        put_le32(out + BFPT_OFFSET + 4 * i, words[i]);
}

/* ---- JEDEC ID ------------------------------------------------------------------------------ */

uint16_t rom_jedec_device_id(size_t nvm_size)
{
    unsigned density = 0;
    while (((size_t)1 << (density + 1)) <= nvm_size)
        density++;
    return (uint16_t)((ROM_JEDEC_CHIP_REVISION & 0x7u) | (1u << 3) |
                      ((ROM_JEDEC_CHIP_GENERATION & 0xfu) << 4) | (density << 8));
}

size_t rom_jedec_id(uint8_t *out, size_t cap, size_t nvm_size)
{
    uint16_t device_id = rom_jedec_device_id(nvm_size);
    for (size_t i = 0; i < cap; i++) {
        if (i < ROM_JEDEC_CONT_COUNT)
            out[i] = ROM_JEDEC_CONT_CODE;
        else if (i == ROM_JEDEC_CONT_COUNT)
            out[i] = ROM_JEDEC_MANUF_ID;
        else if (i == ROM_JEDEC_CONT_COUNT + 1)
            out[i] = (uint8_t)device_id;
        else if (i == ROM_JEDEC_CONT_COUNT + 2)
            out[i] = (uint8_t)(device_id >> 8);
        else
            out[i] = 0x00; /* the spi_device pads with zeros after the ID */
    }
    return ROM_JEDEC_ID_SIZE;
}
