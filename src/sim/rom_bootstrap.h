/* ROM SPI bootstrap of the ftsim model: the ROM's three-state loop over the SPI flash
 * commands the spi_device uploads to software, the embedded-flash data partition it
 * erases and programs, and the SFDP table and JEDEC ID the ROM loads into the spi_device
 * (earlgrey_1.0.0 sw/device/silicon_creator/lib/bootstrap.c, rom/bootstrap.c,
 * lib/drivers/spi_device.{c,h}; reference/transport-spi-uart-ftdi.md §3).
 *
 * Pure: no I/O, no threads, no globals. The hardware side stays with the caller's
 * spi_device model: it answers READ_STATUS 0x05, JEDEC 0x9f, SFDP 0x5a and READ 0x03
 * itself, sets WEL on WREN 0x06 and clears it on WRDI 0x04, sets BUSY when it uploads a
 * command (0xc7, 0x20, 0x02, 0x99), and passes the uploaded command here together with
 * the status register as it stands. This module says what the ROM then does.
 *
 * Flash program semantics: NOR-like AND (bits only go 1 -> 0), as the flash macro does
 * (hw/ip/prim_generic/rtl/prim_generic_flash_bank.sv programs `prog_data & current`);
 * flash_ctrl reports no error for programming a word twice. The model keeps logical
 * bytes: ECC and scrambling are not modelled. */
#ifndef FTHARNESS_SIM_ROM_BOOTSTRAP_H
#define FTHARNESS_SIM_ROM_BOOTSTRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "wire/fw_gen.h"

/* Earlgrey embedded flash, data partition (flash_ctrl.hjson: RegNumBanks 2,
 * RegPagesPerBank 256, BytesPerPage 2048, BytesPerWord 8; top_earlgrey.h
 * FLASH_CTRL_MEM_SIZE_BYTES 0x100000 at 0x20000000). */
#define ROM_FLASH_BANKS 2u
#define ROM_FLASH_PAGE_SIZE 2048u
#define ROM_FLASH_BANK_SIZE (256u * ROM_FLASH_PAGE_SIZE)
#define ROM_FLASH_DATA_SIZE (ROM_FLASH_BANKS * ROM_FLASH_BANK_SIZE) /* 1 MiB */
#define ROM_FLASH_WORD_SIZE 8u
#define ROM_FLASH_ERASED 0xffu

/* Boot slots (master nvm_ctrl.h): two halves of the data partition. The reserved tail of
 * slot A exists only for RRAM parts; on flash NVM_SLOT_USABLE_SIZE_BYTES is the whole
 * slot, so the tail [SLOT_A_END, SLOT_B_START) is empty and the highest address the ROM
 * accepts is SLOT_B_END = 1 MiB, the same bound earlgrey_1.0.0 checks. */
#define ROM_FLASH_SLOT_SIZE (ROM_FLASH_DATA_SIZE / 2u)
#define ROM_FLASH_SLOT_A_END ROM_FLASH_SLOT_SIZE
#define ROM_FLASH_SLOT_B_START ROM_FLASH_SLOT_SIZE
#define ROM_FLASH_SLOT_B_END (ROM_FLASH_SLOT_B_START + ROM_FLASH_SLOT_SIZE)

/* The data NVM of a firmware generation (wire/fw_gen.h, docs/ftsim.md "Firmware profiles"):
 *  - a2-rc17, earlgrey-1.0.0: the 1 MiB two-bank eflash above (top_earlgrey.h:942,947);
 *    programming ANDs, the program page is 256 bytes, nothing is reserved;
 *  - master: 2 MiB of RRAM (master top_earlgrey.h:875,880), two slots of 1 MiB whose last
 *    32 KiB the ROM refuses (master lib/bootstrap.c:20-34, rram_ctrl.h:69); a program
 *    writes the bytes as given (RRAM has no erase-before-write, master nvm_ctrl.c:351-400)
 *    and wraps inside a 512-byte program page (master nvm_ctrl.h:170-174); a chip erase
 *    skips the reserved tails (master nvm_ctrl.c:320-345). */
#define ROM_NVM_MAX_SIZE 0x200000u
struct rom_nvm {
    size_t size;      /* data partition bytes */
    size_t slot_size; /* size / 2: slot B starts here */
    size_t reserved;  /* bytes at the end of each slot the ROM refuses */
    size_t prog_page; /* PAGE_PROGRAM wraps inside this */
    bool overwrite;   /* true: a program writes the bytes (RRAM); false: ANDs (flash) */
};

/* SPI flash protocol as the ROM sets up the spi_device. */
#define ROM_SPI_STATUS_BUSY 0x01u     /* bit 0, WIP: set by hardware on upload */
#define ROM_SPI_STATUS_WEL 0x02u      /* bit 1: set by WREN, cleared by WRDI */
#define ROM_SPI_PAYLOAD_MAX 256u      /* spi_device payload area; more sets overflow */
#define ROM_SPI_PROGRAM_PAGE 256u     /* PAGE_PROGRAM wraps inside a 256-byte page */
#define ROM_SPI_SECTOR_SIZE 4096u     /* SECTOR_ERASE = two flash pages */
#define ROM_SPI_NO_ADDRESS UINT32_MAX /* kSpiDeviceNoAddress */

enum rom_spi_opcode {
    ROM_OP_PAGE_PROGRAM = 0x02,
    ROM_OP_READ = 0x03,
    ROM_OP_WRITE_DISABLE = 0x04,
    ROM_OP_READ_STATUS = 0x05,
    ROM_OP_WRITE_ENABLE = 0x06,
    ROM_OP_SECTOR_ERASE = 0x20,
    ROM_OP_READ_SFDP = 0x5a,
    ROM_OP_RESET_ENABLE = 0x66, /* not uploaded by the ROM's spi_device setup */
    ROM_OP_RESET = 0x99,
    ROM_OP_READ_JEDEC_ID = 0x9f,
    ROM_OP_CHIP_ERASE = 0xc7,
};

/* ROM error codes (rom_error_t, lib/error.h: error << 24 | module << 8 | absl status);
 * printed by the ROM as "BFV:%08x" (possibly redacted by life cycle state). */
enum rom_error {
    ROM_ERROR_OK = 0x739,
    ROM_ERROR_BOOTSTRAP_ERASE_ADDRESS = 0x01425303,      /* 'BS', InvalidArgument */
    ROM_ERROR_BOOTSTRAP_PROGRAM_ADDRESS = 0x02425303,    /* 'BS', InvalidArgument */
    ROM_ERROR_SPI_DEVICE_PAYLOAD_OVERFLOW = 0x0153500d,  /* 'SP', Internal */
    ROM_ERROR_FLASH_CTRL_DATA_ERASE_VERIFY = 0x0746430d, /* 'FC', Internal */
};

/* Sparse state encodings of the ROM (bootstrap_state_t). */
enum rom_bootstrap_state {
    ROM_BOOTSTRAP_ERASE = 0xd4576543,        /* waiting for the first erase */
    ROM_BOOTSTRAP_ERASE_VERIFY = 0xf3c71bac, /* passed through within one command */
    ROM_BOOTSTRAP_PROGRAM = 0xbdd8ca60,      /* erase / program / reset loop */
    ROM_BOOTSTRAP_STOPPED = 0,               /* model only: reset or shut down */
};

/* One command as the spi_device uploads it. `address` is used only when has_address
 * (3-byte address phase); `payload` is borrowed for the call and may be NULL when len
 * is 0. len may exceed ROM_SPI_PAYLOAD_MAX: that is the hardware overflow case. */
struct spi_flash_cmd {
    uint8_t opcode;
    bool has_address;
    uint32_t address;
    const uint8_t *payload;
    size_t len;
};

struct rom_bootstrap {
    enum rom_bootstrap_state state;
    uint8_t *flash; /* borrowed: nvm.size bytes, the data partition */
    struct rom_nvm nvm;
};

/* What the ROM did with one command. */
struct rom_bootstrap_result {
    bool handled;             /* false: dropped because WEL was clear (status left as it was) */
    bool clear_status;        /* the ROM wrote 0 to FLASH_STATUS: BUSY and WEL both clear */
    bool chip_reset;          /* RESET 0x99 handled: rstmgr_reset(), the chip reboots */
    bool shutdown;            /* the ROM failed: BFV `rom_error` on the UART, then chip reset */
    enum rom_error rom_error; /* ROM_ERROR_OK unless shutdown */
};

/* Enters bootstrap (spi_device_init_bootstrap + state Erase) over `flash`, the data NVM
 * of firmware generation `gen` (its size, address rules, erase, program page and program
 * semantics), which keeps its contents (NVM is non-volatile). The caller's spi_device
 * model must also set its FLASH_STATUS to 0 here, as the ROM does. Fails with
 * FT_E_INVALID when `flash` is NULL or `flash_size` is not the generation's NVM size. */
int rom_bootstrap_init(struct rom_bootstrap *bs, uint8_t *flash, size_t flash_size, enum fw_gen gen,
                       struct ft_error *err);

/* The ROM's reaction to one uploaded command, given the status register `status` as the
 * hardware left it (BUSY set by the upload, WEL from WREN/WRDI):
 *  - len > ROM_SPI_PAYLOAD_MAX: payload overflow, shutdown before the opcode is looked at;
 *  - WEL clear (RESET 0x99 in state Program excepted): dropped, status NOT cleared, so
 *    BUSY stays set until a later command is handled (bootstrap_unittest IgnoredCommands);
 *  - state Erase: 0xc7 or 0x20 (any address) erase the whole data partition, verify it,
 *    clear status and move to Program; any other opcode, RESET included, only clears
 *    status;
 *  - state Program: 0xc7 erases everything; 0x20 erases the 4 KiB sector holding the
 *    address (rejected at or above SLOT_B_END or in slot A's reserved tail); 0x02
 *    programs at an 8-byte aligned address (else rejected, as above the bound), the
 *    payload rounded up to 8 bytes with 0xff and wrapped inside its 256-byte page; 0x99
 *    resets the chip; any other opcode (a glitched 0x00) is ignored; status is cleared
 *    after each command handled without error.
 * A rejected address or an overflow shuts the ROM down (shutdown_finalize): status is
 * not cleared, so the host sees BUSY stuck until the chip resets; with the straps still
 * applied the ROM enters bootstrap again in state Erase. After a shutdown or a chip reset
 * the state is ROM_BOOTSTRAP_STOPPED and rom_bootstrap_init must run again.
 * Returns 0 when the ROM carried on (including a dropped command or a chip reset); -1
 * when it shut down (result->shutdown, `err` says what and where: FT_E_RANGE for an
 * address beyond the bound, FT_E_INVALID for a misaligned one, FT_E_CAPACITY for an
 * overflow), or FT_E_INVALID with result->shutdown false when the call itself is wrong:
 * payload NULL with len > 0, or `bs` not (re-)entered with rom_bootstrap_init. */
int rom_bootstrap_handle(struct rom_bootstrap *bs, const struct spi_flash_cmd *cmd, uint8_t status,
                         struct rom_bootstrap_result *result, struct ft_error *err);

/* The 256-byte SFDP area the ROM loads into the spi_device (kSpiDeviceSfdpTable, 108
 * bytes: SFDP header, one BFPT parameter header, 23 BFPT words; the rest 0xff). */
#define ROM_SFDP_SIZE 256u
/* For a data NVM of `nvm_size` bytes: BFPT word 2 is its density in bits
 * (spi_device.c kFlashBitCount, master kNvmBitCount). */
void rom_sfdp_table(uint8_t out[ROM_SFDP_SIZE], size_t nvm_size);

/* JEDEC ID fields the ROM writes (spi_device_init): 12 continuation codes 0x7f,
 * manufacturer 0xef (lowRISC, JEP106), then the 16-bit device ID LSB first:
 *   bits 2:0 chip revision = LC_CTRL revision_id (1, earlgrey_1.0.0 top_earlgrey.hjson),
 *   bit 3 ROM bootstrap = 1,
 *   bits 7:4 chip generation = LC_CTRL product_id (2, "Earlgrey PROD"),
 *   bits 15:8 density = log2(data NVM size): 20 for 1 MiB.
 * So the bytes are 7f x12, ef, 29, 14 on a 1 MiB part. */
#define ROM_JEDEC_CONT_CODE 0x7fu
#define ROM_JEDEC_CONT_COUNT 12u
#define ROM_JEDEC_MANUF_ID 0xefu
#define ROM_JEDEC_CHIP_REVISION 1u
#define ROM_JEDEC_CHIP_GENERATION 2u
#define ROM_JEDEC_ID_SIZE 15u

/* Fills out[0..cap) with what the spi_device clocks out for a JEDEC ID read of `cap`
 * bytes on a chip with `nvm_size` bytes of data NVM (a power of two): the 15 ID bytes,
 * then 0x00 (hw/ip/spi_device/rtl/spid_jedec.sv). Returns ROM_JEDEC_ID_SIZE, the number
 * of meaningful bytes. */
size_t rom_jedec_id(uint8_t *out, size_t cap, size_t nvm_size);

/* The 16-bit device ID alone: density log2(nvm_size), so 0x1429 for 1 MiB of eflash and
 * 0x1529 for master's 2 MiB of RRAM (master spi_device.c kSpiDeviceJedecDensity). */
uint16_t rom_jedec_device_id(size_t nvm_size);

#endif
