#include "wire/fw_gen.h"

#include <string.h>

#include "common/endian.h"
#include "wire/spi_flash.h"
#include "wire/ujson.h"

static const struct fw_gen_info generations[FW_GEN_COUNT] = {
    [FW_GEN_A2_RC17] =
        {
            .name = "a2-rc17",
            .certgen_blob_version = false,
            .certgen_size = UJSON_CERTGEN_INPUTS_SIZE_RC17,
            .has_v1 = false,
            .prints_blob_version = false,
            .v0_headed_in_v1 = 0,
            .nvm_size = 0x100000,
            .slot_b = 0x80000,
            .slot_reserved = 0,
            .owner_slot_b = 0x90000,
        },
    [FW_GEN_EARLGREY_1_0_0] =
        {
            .name = "earlgrey-1.0.0",
            .certgen_blob_version = true,
            .certgen_size = UJSON_CERTGEN_INPUTS_SIZE,
            .has_v1 = true,
            .prints_blob_version = true,
            /* tpm_personalize_ext.c writes the TPM EK TBS with a V0 header */
            .v0_headed_in_v1 = FW_GEN_BIT(PERSO_OBJ_X509_TBS),
            .nvm_size = 0x100000,
            .slot_b = 0x80000,
            .slot_reserved = 0,
            .owner_slot_b = 0x90000,
        },
    [FW_GEN_MASTER] =
        {
            .name = "master",
            .certgen_blob_version = true,
            .certgen_size = UJSON_CERTGEN_INPUTS_SIZE,
            .has_v1 = true,
            .prints_blob_version = false,
            /* the TPM EK TBS as above, and ft_personalize.c's PersoSha256Hash */
            .v0_headed_in_v1 =
                FW_GEN_BIT(PERSO_OBJ_X509_TBS) | FW_GEN_BIT(PERSO_OBJ_PERSO_SHA256_HASH),
            .nvm_size = 0x200000,
            .slot_b = 0x100000,
            .slot_reserved = 0x8000,
            .owner_slot_b = 0x110000,
        },
};

const struct fw_gen_info *fw_gen_info(enum fw_gen gen)
{
    return (unsigned)gen < FW_GEN_COUNT ? &generations[gen] : &generations[FW_GEN_DEFAULT];
}

const char *fw_gen_names(void)
{
    return "a2-rc17, earlgrey-1.0.0, master";
}

int fw_gen_parse(const char *name, enum fw_gen *gen, struct ft_error *err)
{
    for (unsigned g = 0; g < FW_GEN_COUNT; g++) {
        if (strcmp(name, generations[g].name) == 0) {
            *gen = (enum fw_gen)g;
            return 0;
        }
    }
    return ft_fail(err, FT_E_INVALID, "unknown firmware generation \"%.64s\" (known: %s)", name,
                   fw_gen_names());
}

bool fw_gen_bootstrap_addr_ok(enum fw_gen gen, size_t addr, size_t len)
{
    const struct fw_gen_info *g = fw_gen_info(gen);
    if (addr > g->nvm_size || len > g->nvm_size - addr)
        return false;
    if (g->slot_reserved == 0)
        return true;
    /* Each slot's last slot_reserved bytes are refused. */
    size_t slot = addr < g->slot_b ? 0 : g->slot_b;
    size_t slot_end = slot + g->slot_b - g->slot_reserved;
    return addr + len <= slot_end;
}

int fw_gen_check_image(enum fw_gen gen, const char *what, const uint8_t *image, size_t len,
                       bool bundle, struct ft_error *err)
{
    const struct fw_gen_info *g = fw_gen_info(gen);
    if (len == 0 || len > g->nvm_size)
        return ft_fail(err, FT_E_INVALID,
                       "%s: %zu bytes; %s firmware's Earlgrey bootstraps 1..%zu bytes", what, len,
                       g->name, g->nvm_size);
    for (size_t at = 0; at < len; at += 256) {
        size_t n = len - at < 256 ? len - at : 256;
        if (!spi_flash_erased(image + at, n) && !fw_gen_bootstrap_addr_ok(gen, at, n))
            return ft_fail(err, FT_E_INVALID,
                           "%s: data at 0x%zx, where the %s ROM refuses to program (the last "
                           "0x%zx bytes of each slot)",
                           what, at, g->name, g->slot_reserved);
    }
    if (!bundle)
        return 0;
    size_t at = g->slot_b + FW_MANIFEST_IDENTIFIER_OFFSET;
    if (len < at + 4 || load_le32(image + at) != FW_ROM_EXT_IDENTIFIER)
        return ft_fail(err, FT_E_INVALID,
                       "%s: no ROM_EXT manifest in slot B (identifier \"OTRE\" at 0x%zx): not an "
                       "FT bundle for %s firmware, whose slot B starts at 0x%zx",
                       what, at, g->name, g->slot_b);
    return 0;
}
