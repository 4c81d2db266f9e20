/* The generations of the FT perso firmware that exist in fabs, and what sets each one's
 * bytes apart (docs/wire-formats.md "Firmware generations", with the upstream file:line
 * of every fact). A SKU file names the generation it targets ("firmware"); the harness
 * builds its messages and decodes the chip's blobs for it, and ftsim --firmware emits it. */
#ifndef FTHARNESS_WIRE_FW_GEN_H
#define FTHARNESS_WIRE_FW_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "wire/perso_tlv.h"

enum fw_gen {
    FW_GEN_A2_RC17,        /* tag Earlgrey-A2-Provisioning-RC17 (and the RCs before it) */
    FW_GEN_EARLGREY_1_0_0, /* branch earlgrey_1.0.0 */
    FW_GEN_MASTER,         /* branch master (RRAM Earlgrey) */
    FW_GEN_COUNT,
};

struct fw_gen_info {
    const char *name; /* "a2-rc17", "earlgrey-1.0.0", "master" */
    /* ManufCertgenInputs: whether it has the blob_version field, and its padded size. */
    bool certgen_blob_version;
    size_t certgen_size;
    bool has_v1; /* V1 blobs exist (the version object, 32-bit headers) */
    /* "Blob version: %u\n" printed right after the certificate inputs, for every value. */
    bool prints_blob_version;
    /* Objects the firmware writes with a V0 header even inside a V1 blob: a bit per
     * perso_obj_type (upstream defects, docs/wire-formats.md). */
    unsigned v0_headed_in_v1;
    /* Non-volatile data memory and the ROM bootstrap's address rules: the data size, slot B
     * (half of it) and the bytes at the end of each slot the ROM refuses to program. */
    size_t nvm_size;
    size_t slot_b;
    size_t slot_reserved;
    size_t owner_slot_b; /* where the FT bundle puts the owner firmware */
};

#define FW_GEN_BIT(type) (1u << (unsigned)(type))

/* The generation a SKU targets when it names none in tools that need a default. */
#define FW_GEN_DEFAULT FW_GEN_EARLGREY_1_0_0

const struct fw_gen_info *fw_gen_info(enum fw_gen gen);

/* Parses a generation name; the error lists the known names. */
int fw_gen_parse(const char *name, enum fw_gen *gen, struct ft_error *err);

/* "a2-rc17, earlgrey-1.0.0, master" for messages and --help. */
const char *fw_gen_names(void);

/* Whether the ROM bootstrap of `gen` programs a 256-byte chunk at `addr` (chunks of all
 * 0xFF are never sent, so only chunks with data are asked about). */
bool fw_gen_bootstrap_addr_ok(enum fw_gen gen, size_t addr, size_t len);

/* The boot manifest's `identifier` (manifest.h: at byte 820 of an image) and the value a
 * ROM_EXT carries there (chip.h CHIP_ROM_EXT_IDENTIFIER, "OTRE" little-endian). The perso
 * firmware refuses to finish unless slot B holds a ROM_EXT. */
#define FW_MANIFEST_IDENTIFIER_OFFSET 820u
#define FW_ROM_EXT_IDENTIFIER 0x4552544fu

/* Checks a bootstrap image against what the ROM of `gen` accepts before anything touches
 * a chip: its size, every chunk holding data at an address the ROM programs, and, for
 * the FT bundle (`bundle`), a ROM_EXT manifest in slot B. `what` names the image. */
int fw_gen_check_image(enum fw_gen gen, const char *what, const uint8_t *image, size_t len,
                       bool bundle, struct ft_error *err);

#endif
