/* ftsim's firmware profiles (--firmware): the bytes each generation of the perso firmware
 * and ROM produces, pinned against values read from the upstream sources at
 * Earlgrey-A2-Provisioning-RC17, earlgrey_1.0.0 and master (docs/ftsim.md "Firmware
 * profiles"). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

#include "cert/was.h"
#include "common/endian.h"
#include "sim/rom_bootstrap.h"
#include "sim/sim_options.h"
#include "sim/ujson_de.h"
#include "sim_run.h"
#include "wire/perso_blob.h"
#include "wire/ujson.h"

#define CERTGEN_PROMPT "Waiting for certificate inputs ...\n"
#define EXPORT_PROMPT "Exporting TBS certificates ...\n"
#define DONE_LINE "Personalization done.\n"

/* The sim_run.h configuration on firmware generation `gen`. */
static void profile_config(struct sim_config *cfg, const char *sku, enum fw_gen gen)
{
    test_config(cfg, sku);
    cfg->firmware = gen;
}

/* ---- ManufCertgenInputs ------------------------------------------------------------ */

/* The host's message: the two key IDs (all 255: the longest), blob_version if >= 0,
 * padded with spaces before '}' to `size` (upstream send_with_padding). */
static size_t certgen_message(char *out, size_t cap, int blob_version, size_t size)
{
    struct strbuf sb;
    strbuf_init(&sb, out, cap);
    strbuf_puts(&sb, "{\"dice_auth_key_key_id\":[");
    for (int i = 0; i < 20; i++)
        strbuf_puts(&sb, i ? ",255" : "255");
    strbuf_puts(&sb, "],\"ext_auth_key_key_id\":[");
    for (int i = 0; i < 20; i++)
        strbuf_puts(&sb, i ? ",1" : "1");
    strbuf_puts(&sb, "]");
    if (blob_version >= 0) {
        char v[32];
        snprintf(v, sizeof(v), ",\"blob_version\":%d", blob_version);
        strbuf_puts(&sb, v);
    }
    while (sb.len + 1 < size)
        strbuf_puts(&sb, " ");
    strbuf_puts(&sb, "}");
    return sb.len;
}

struct text_src {
    const char *text;
    size_t len, pos;
};

static int text_getc(void *ctx)
{
    struct text_src *s = ctx;
    return s->pos < s->len ? (unsigned char)s->text[s->pos++] : -1;
}

static enum ujson_de_status decode_certgen(const char *msg, size_t len, bool with_version,
                                           struct dev_certgen_inputs *out)
{
    struct text_src src = {msg, len, 0};
    struct ujson_de de;
    ujson_de_init(&de, text_getc, &src);
    memset(out, 0, sizeof(*out));
    enum ujson_de_status st = ujson_de_certgen_inputs(&de, with_version, out, NULL);
    if (st == UJSON_DE_OK)
        ck_assert_uint_eq(src.pos, len); /* read to the '}', padding included */
    return st;
}

START_TEST(certgen_inputs_per_generation)
{
    char msg[300];
    struct dev_certgen_inputs in;
    /* The a2-rc17 message: exactly 210 bytes with all-255 DICE key IDs... */
    size_t n = certgen_message(msg, sizeof(msg), -1, 210);
    ck_assert_uint_eq(n, 210); /* RC17 provisioning_data.h:30 */
    /* ... accepted by a2-rc17 (two arrays only, RC17 provisioning_data.h:112-116) ... */
    ck_assert_int_eq(decode_certgen(msg, n, false, &in), UJSON_DE_OK);
    ck_assert_uint_eq(in.dice_auth_key_key_id[19], 255);
    /* ... and by earlgrey-1.0.0 / master as V0 (missing keys stay 0). */
    ck_assert_int_eq(decode_certgen(msg, n, true, &in), UJSON_DE_OK);
    ck_assert_uint_eq(in.blob_version, 0);
    /* An E1/master message (215 with blob_version; E1 provisioning_data.h:30): a2-rc17
     * refuses the unknown key (ujson_derive.h:234-235 INVALID_ARGUMENT). */
    n = certgen_message(msg, sizeof(msg), 1, 215);
    ck_assert_uint_ge(n, 215);
    ck_assert_int_eq(decode_certgen(msg, n, false, &in), UJSON_DE_INVALID_ARGUMENT);
    ck_assert_int_eq(decode_certgen(msg, n, true, &in), UJSON_DE_OK);
    ck_assert_uint_eq(in.blob_version, 1);
    /* blob_version 0 too is an unknown key to a2-rc17. */
    n = certgen_message(msg, sizeof(msg), 0, 215);
    ck_assert_int_eq(decode_certgen(msg, n, false, &in), UJSON_DE_INVALID_ARGUMENT);
}
END_TEST

/* After the RMA step, sends `msg` as the certificate inputs; returns the console lines
 * before "Exporting TBS certificates ...\n" or "Personalization done.\n", whichever comes
 * first. */
static void certgen_exchange(struct run *r, const char *msg, size_t len, char *text, size_t cap,
                             bool *exported)
{
    struct simhost *h = &r->flow.host;
    STEP(r, rma);
    ck_assert(simhost_wait_for(h, CERTGEN_PROMPT, NULL, 0));
    ck_assert(simhost_write(h, msg, len));
    size_t used = 0;
    char line[256];
    text[0] = '\0';
    for (;;) {
        ck_assert_msg(simhost_read_line(h, line, sizeof(line)),
                      "neither the export nor the closing line after \"%s\"", text);
        *exported = strcmp(line, EXPORT_PROMPT) == 0;
        if (*exported || strcmp(line, DONE_LINE) == 0)
            return;
        size_t n = strlen(line);
        ck_assert_uint_lt(used + n, cap);
        memcpy(text + used, line, n + 1);
        used += n;
    }
}

struct certgen_case {
    enum fw_gen gen;
    int blob_version; /* -1: key absent */
    size_t size;
    bool exported;
    const char *text; /* console text between the inputs and the export / closing line */
};

static const struct certgen_case certgen_cases[] = {
    /* a2-rc17: no print, blob_version unknown. */
    {FW_GEN_A2_RC17, -1, 210, true, ""},
    {FW_GEN_A2_RC17, 0, 215, false, ""},
    {FW_GEN_A2_RC17, 1, 215, false, ""},
    /* earlgrey-1.0.0: "Blob version: %u" for every value, before the check (E1 :563). */
    {FW_GEN_EARLGREY_1_0_0, -1, 210, true, "Blob version: 0\n"},
    {FW_GEN_EARLGREY_1_0_0, 0, 215, true, "Blob version: 0\n"},
    {FW_GEN_EARLGREY_1_0_0, 1, 215, true, "Blob version: 1\n"},
    {FW_GEN_EARLGREY_1_0_0, 2, 215, false, "Blob version: 2\n"},
    /* master: never prints it. */
    {FW_GEN_MASTER, -1, 210, true, ""},
    {FW_GEN_MASTER, 1, 215, true, ""},
    {FW_GEN_MASTER, 7, 215, false, ""},
};

START_TEST(certgen_console_per_generation)
{
    const struct certgen_case *c = &certgen_cases[_i];
    struct sim_config cfg;
    profile_config(&cfg, "sival", c->gen);
    struct run *r = run_start(&cfg);
    char msg[300], text[512];
    size_t n = certgen_message(msg, sizeof(msg), c->blob_version, c->size);
    bool exported = false;
    certgen_exchange(r, msg, n, text, sizeof(text), &exported);
    ck_assert_msg(exported == c->exported, "case %d: exported %d", _i, exported);
    ck_assert_str_eq(text, c->text);
    uint32_t pins = sim_device_gpio_read(&r->dev);
    if (!c->exported)
        ck_assert_msg(pins & SIM_PIN_TEST_ERROR, "case %d: no TestError", _i);
    else
        ck_assert(!(pins & SIM_PIN_TEST_ERROR));
    run_free(r);
}
END_TEST

/* ---- exported blob bytes ----------------------------------------------------------- */

/* The offset of the last object (PersoSha256Hash) in the exported blob. */
static const uint8_t *hash_object(struct run *r, size_t header_len)
{
    return r->flow.blob.body + r->flow.blob.next_free - (header_len + 32);
}

START_TEST(perso_hash_header_per_generation)
{
    struct sim_config cfg;
    /* master V1: a V0 header 70 22 (type 7, size 34; M ft_personalize.c:236-242). */
    profile_config(&cfg, "sival_v1", FW_GEN_MASTER);
    struct run *r = run_start(&cfg);
    run_to_export(r);
    const uint8_t *h = hash_object(r, 2);
    ck_assert_uint_eq(h[0], 0x70);
    ck_assert_uint_eq(h[1], 0x22);
    ck_assert_mem_eq(h + 2, r->dev.chip.perso_hash, 32);
    run_free(r);
    /* earlgrey-1.0.0 V1: the blob's V1 header 07 00 00 24 (E1 ft_personalize.c:214-224). */
    profile_config(&cfg, "sival_v1", FW_GEN_EARLGREY_1_0_0);
    r = run_start(&cfg);
    run_to_export(r);
    h = hash_object(r, 4);
    ck_assert_mem_eq(h, "\x07\x00\x00\x24", 4);
    ck_assert_mem_eq(h + 4, r->dev.chip.perso_hash, 32);
    run_free(r);
    /* master V0: a V0 blob throughout. */
    profile_config(&cfg, "sival", FW_GEN_MASTER);
    r = run_start(&cfg);
    run_to_export(r);
    h = hash_object(r, 2);
    ck_assert_mem_eq(h, "\x70\x22", 2);
    run_free(r);
}
END_TEST

/* Finds a cert object by name in the exported blob; returns its offset. */
static size_t find_named(const struct perso_blob *blob, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + n <= blob->next_free; i++)
        if (memcmp(blob->body + i, name, n) == 0)
            return i;
    ck_abort_msg("%s not in the blob", name);
    return 0;
}

/* The independent WAS HMAC (as was_hmac_and_device_id) over the given TBS bodies. */
static void was_hmac_over(const struct sim_config *cfg, const struct perso_obj *tbs, size_t n,
                          uint8_t out[32])
{
    uint8_t div[48] = "was";
    uint8_t mac[32], was[32];
    unsigned int len = 32;
    HMAC(EVP_sha256(), cfg->was_seed, 32, div, sizeof(div), mac, &len);
    for (int i = 0; i < 32; i++)
        was[i] = mac[(i & ~3) + 3 - (i & 3)];
    static uint8_t concat[8192];
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(concat + total, tbs[i].cert, tbs[i].cert_len);
        total += tbs[i].cert_len;
    }
    HMAC(EVP_sha256(), was, 32, concat, total, out, &len);
}

/* TPM EK in a V1 blob: a V0 header on E1 and master (tpm_personalize_ext.c E1:84, M:64),
 * so compute_tbs_was_hmac misreads it and leaves it out; the UDS keeps its V1 header. The
 * whole flow still completes (the device reads the host blob with V1 headers). */
START_TEST(tpm_ek_v0_header_and_was_coverage)
{
    static const enum fw_gen gens[] = {FW_GEN_EARLGREY_1_0_0, FW_GEN_MASTER};
    enum fw_gen gen = gens[_i];
    struct sim_config cfg;
    profile_config(&cfg, "emulation_tpm_v1", gen);
    struct run *r = run_start(&cfg);
    run_full(r);
    const struct perso_blob *b = &r->flow.blob;
    /* UDS: V1 object header 00 00 xx xx, cert header 03 00 xx xx, "UDS". */
    size_t uds = find_named(b, "UDS");
    ck_assert_uint_eq(uds, 4 + 8);
    ck_assert_mem_eq(b->body + 4, "\x00\x00", 2);
    ck_assert_uint_eq(b->body[8], 0x03);
    /* TPM EK: V0 object header 0s ss (type 0), cert header 6w ww, "TPM EK". */
    size_t ek = find_named(b, "TPM EK");
    const uint8_t *obj = b->body + ek - 4;
    size_t size = (size_t)(obj[0] & 0x0f) << 8 | obj[1];
    ck_assert_uint_eq(obj[0] >> 4, PERSO_OBJ_X509_TBS);
    ck_assert_uint_eq(obj[2] >> 4, 6);
    ck_assert_uint_eq((size_t)(obj[2] & 0x0f) << 8 | obj[3], size - 2);
    ck_assert_uint_ge(size, 256); /* so its V1 type (size >> 8) is never X509Tbs */
    /* The WAS HMAC covers the UDS TBS only. */
    struct perso_tlv_iter it;
    struct perso_obj o, tbs[4];
    size_t n_tbs = 0;
    uint8_t tag[32] = {0}, want[32];
    perso_tlv_iter_init(&it, b->body, b->next_free, PERSO_BLOB_V1, NULL);
    perso_tlv_iter_allow_v0(&it, r->flow.v0_types);
    while (perso_tlv_iter_next(&it, &o, NULL) == 1) {
        if (o.type == PERSO_OBJ_X509_TBS)
            tbs[n_tbs++] = o;
        else if (o.type == PERSO_OBJ_WAS_TBS_HMAC)
            memcpy(tag, o.payload, 32);
    }
    ck_assert_uint_eq(n_tbs, 2);
    ck_assert_str_eq(tbs[1].name, "TPM EK");
    ck_assert_int_eq(tbs[1].header_version, PERSO_BLOB_V0);
    was_hmac_over(&cfg, tbs, 1, want);
    ck_assert_mem_eq(tag, want, 32);
    was_hmac_over(&cfg, tbs, 2, want);
    ck_assert(memcmp(tag, want, 32) != 0);
    ck_assert_mem_eq(r->flow.device_digest, r->flow.host_digest, 32);
    run_free(r);
}
END_TEST

/* V0 blobs: every TBS is HMAC'd, on every generation. */
START_TEST(v0_was_covers_tpm_ek)
{
    struct sim_config cfg;
    profile_config(&cfg, "emulation_tpm", (enum fw_gen)_i);
    struct run *r = run_start(&cfg);
    run_full(r);
    struct perso_tlv_iter it;
    struct perso_obj o, tbs[4];
    size_t n_tbs = 0;
    uint8_t tag[32] = {0}, want[32];
    perso_tlv_iter_init(&it, r->flow.blob.body, r->flow.blob.next_free, PERSO_BLOB_V0, NULL);
    while (perso_tlv_iter_next(&it, &o, NULL) == 1) {
        if (o.type == PERSO_OBJ_X509_TBS)
            tbs[n_tbs++] = o;
        else if (o.type == PERSO_OBJ_WAS_TBS_HMAC)
            memcpy(tag, o.payload, 32);
    }
    ck_assert_uint_eq(n_tbs, 2);
    was_hmac_over(&cfg, tbs, 2, want);
    ck_assert_mem_eq(tag, want, 32);
    ck_assert_mem_eq(r->flow.device_digest, r->flow.host_digest, 32);
    run_free(r);
}
END_TEST

/* ---- DevSeed ----------------------------------------------------------------------- */

START_TEST(dev_seed_placement_and_hash)
{
    static const struct {
        const char *sku;
        enum fw_gen gen;
        unsigned seeds;
    } cases[] = {
        {"sival_devseed", FW_GEN_EARLGREY_1_0_0, 1},
        {"sival_devseed", FW_GEN_A2_RC17, 1},
        {"sival_v1", FW_GEN_MASTER, 2},
    };
    struct sim_config cfg;
    profile_config(&cfg, cases[_i].sku, cases[_i].gen);
    cfg.sku.dev_seeds = cases[_i].seeds;
    struct run *r = run_start(&cfg);
    run_full(r);
    /* Objects: certs, then the DevSeeds, then WasTbsHmac, DeviceId, PersoSha256Hash. */
    struct perso_tlv_iter it;
    struct perso_obj o;
    enum perso_obj_type types[12];
    size_t n = 0;
    perso_tlv_iter_init(&it, r->flow.blob.body, r->flow.blob.next_free, r->flow.version, NULL);
    perso_tlv_iter_allow_v0(&it, r->flow.v0_types);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    static uint8_t seeds[2][128];
    while (perso_tlv_iter_next(&it, &o, NULL) == 1 && n < 12) {
        types[n++] = o.type;
        if (o.type == PERSO_OBJ_DEV_SEED) {
            ck_assert_uint_eq(o.payload_len, PERSO_DEV_SEED_SIZE);
            memcpy(seeds[n - 4], o.payload, 128);
        }
    }
    ck_assert_uint_eq(n, 6 + cases[_i].seeds);
    for (size_t i = 0; i < cases[_i].seeds; i++)
        ck_assert_int_eq(types[3 + i], PERSO_OBJ_DEV_SEED);
    ck_assert_int_eq(types[3 + cases[_i].seeds], PERSO_OBJ_WAS_TBS_HMAC);
    if (cases[_i].seeds == 2)
        ck_assert(memcmp(seeds[0], seeds[1], 128) != 0);
    /* The device's hash: the final cert bodies in page order, then the seeds. */
    ck_assert_uint_eq(r->flow.dev_seeds, cases[_i].seeds);
    ck_assert_mem_eq(r->flow.device_digest, r->flow.host_digest, 32);
    uint8_t certs_only[32];
    unsigned int len = 32;
    for (size_t i = 0; i < r->flow.n_certs; i++)
        EVP_DigestUpdate(md, r->flow.certs[i], r->flow.cert_len[i]);
    EVP_DigestFinal_ex(md, certs_only, &len);
    EVP_MD_CTX_free(md);
    ck_assert(memcmp(certs_only, r->flow.device_digest, 32) != 0);
    run_free(r);
}
END_TEST

/* ---- ROM bootstrap ----------------------------------------------------------------- */

static int program_at(struct rom_bootstrap *bs, uint32_t addr)
{
    static const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct spi_flash_cmd cmd = {ROM_OP_PAGE_PROGRAM, true, addr, data, sizeof(data)};
    struct rom_bootstrap_result res;
    return rom_bootstrap_handle(bs, &cmd, ROM_SPI_STATUS_WEL | ROM_SPI_STATUS_BUSY, &res, NULL);
}

static int erase_at(struct rom_bootstrap *bs, uint32_t addr)
{
    struct spi_flash_cmd cmd = {ROM_OP_SECTOR_ERASE, true, addr, NULL, 0};
    struct rom_bootstrap_result res;
    return rom_bootstrap_handle(bs, &cmd, ROM_SPI_STATUS_WEL | ROM_SPI_STATUS_BUSY, &res, NULL);
}

/* Enters state Program (a first chip erase) over the generation's NVM. */
static void enter(struct rom_bootstrap *bs, uint8_t *nvm_buf, enum fw_gen gen)
{
    ck_assert_int_eq(rom_bootstrap_init(bs, nvm_buf, fw_gen_info(gen)->nvm_size, gen, NULL), 0);
    struct spi_flash_cmd cmd = {ROM_OP_CHIP_ERASE, false, 0, NULL, 0};
    struct rom_bootstrap_result res;
    ck_assert_int_eq(rom_bootstrap_handle(bs, &cmd, ROM_SPI_STATUS_WEL, &res, NULL), 0);
    ck_assert_int_eq(bs->state, ROM_BOOTSTRAP_PROGRAM);
}

START_TEST(bootstrap_address_rules)
{
    static uint8_t nvm[ROM_NVM_MAX_SIZE];
    struct rom_bootstrap bs;
    /* a2-rc17 / earlgrey-1.0.0: both banks, 0..0xFFFFF (lib/bootstrap.c:21-29). */
    for (enum fw_gen g = FW_GEN_A2_RC17; g <= FW_GEN_EARLGREY_1_0_0; g++) {
        static const uint32_t ok[] = {0, 0x7FFF8, 0x80000, 0xF8000, 0xFFFF8};
        for (size_t i = 0; i < 5; i++) {
            enter(&bs, nvm, g);
            ck_assert_int_eq(program_at(&bs, ok[i]), 0);
            ck_assert_int_eq(erase_at(&bs, ok[i]), 0);
        }
        enter(&bs, nvm, g);
        ck_assert_int_eq(program_at(&bs, 0x100000), -1);
        enter(&bs, nvm, g);
        ck_assert_int_eq(erase_at(&bs, 0x100000), -1);
    }
    /* master: 0..0xF7FFF and 0x100000..0x1F7FFF (M lib/bootstrap.c:20-34). */
    static const uint32_t ok[] = {0, 0xF7FF8, 0x100000, 0x110000, 0x1F7FF8};
    static const uint32_t refused[] = {0xF8000, 0xFFFF8, 0x1F8000, 0x1FFFF8, 0x200000};
    for (size_t i = 0; i < 5; i++) {
        enter(&bs, nvm, FW_GEN_MASTER);
        ck_assert_msg(program_at(&bs, ok[i]) == 0, "program 0x%x", ok[i]);
        ck_assert_msg(erase_at(&bs, ok[i]) == 0, "erase 0x%x", ok[i]);
        enter(&bs, nvm, FW_GEN_MASTER);
        struct ft_error err = {0};
        struct spi_flash_cmd cmd = {ROM_OP_PAGE_PROGRAM, true, refused[i],
                                    (const uint8_t *)"12345678", 8};
        struct rom_bootstrap_result res;
        ck_assert_int_eq(rom_bootstrap_handle(&bs, &cmd, ROM_SPI_STATUS_WEL, &res, &err), -1);
        ck_assert(res.shutdown);
        ck_assert_uint_eq(res.rom_error, ROM_ERROR_BOOTSTRAP_PROGRAM_ADDRESS);
        enter(&bs, nvm, FW_GEN_MASTER);
        ck_assert_msg(erase_at(&bs, refused[i]) == -1, "erase 0x%x", refused[i]);
    }
    /* RRAM stores bytes as given (no AND), and wraps in a 512-byte program page. */
    enter(&bs, nvm, FW_GEN_MASTER);
    nvm[0x100] = 0x0F;
    ck_assert_int_eq(program_at(&bs, 0x100), 0);
    ck_assert_uint_eq(nvm[0x100], 1);
}
END_TEST

START_TEST(sfdp_and_jedec_density)
{
    uint8_t t[ROM_SFDP_SIZE];
    /* BFPT word 2 (offset 16 + 4): density in bits, zero-based. */
    rom_sfdp_table(t, fw_gen_info(FW_GEN_MASTER)->nvm_size);
    ck_assert_uint_eq(load_le32(t + 20) & 0x7fffffffu, 0x200000u * 8 - 1);
    rom_sfdp_table(t, fw_gen_info(FW_GEN_A2_RC17)->nvm_size);
    ck_assert_uint_eq(load_le32(t + 20) & 0x7fffffffu, 0x100000u * 8 - 1);
    /* JEDEC device ID: density log2(NVM size) in the high byte. */
    ck_assert_uint_eq(rom_jedec_device_id(0x100000), 0x1429);
    ck_assert_uint_eq(rom_jedec_device_id(0x200000), 0x1529);
}
END_TEST

/* ---- two-stage bootstrap: the slot-B ROM_EXT check ---------------------------------- */

/* Bootstraps `image` as a host does, then boots the chip out of bootstrap. */
static void bootstrap(struct run *r, const uint8_t *image, size_t len)
{
    simhost_reset_chip(&r->flow.host, SIM_PIN_STRAPS);
    program_image(r, image, len);
    simhost_reset_chip(&r->flow.host, 0);
}

/* The bundle make_bundle.py writes: perso at 0, a manifest with (or without) the ROM_EXT
 * identifier at `manifest_at`, owner bytes at owner_slot_b. */
static size_t make_bundle(uint8_t *img, enum fw_gen gen, size_t manifest_at, bool rom_ext)
{
    const struct fw_gen_info *g = fw_gen_info(gen);
    size_t len = g->owner_slot_b + 256;
    memset(img, 0xFF, len);
    for (size_t i = 0; i < 3000; i++)
        img[i] = (uint8_t)(i * 13 + 5);
    memset(img + manifest_at, 0, 1024);
    if (rom_ext)
        memcpy(img + manifest_at + 820, "OTRE", 4); /* 0x4552544f little-endian */
    memset(img + g->owner_slot_b, 0x42, 256);
    return len;
}

static uint8_t bundle_img[ROM_NVM_MAX_SIZE];

static const struct {
    enum fw_gen gen;
    int where; /* 0: at slot B, 1: at the other generation's slot B, 2: no identifier */
    bool pass;
} slot_b_cases[] = {
    {FW_GEN_A2_RC17, 0, true}, {FW_GEN_EARLGREY_1_0_0, 0, true},
    {FW_GEN_MASTER, 0, true},  {FW_GEN_EARLGREY_1_0_0, 2, false},
    {FW_GEN_MASTER, 1, false}, {FW_GEN_EARLGREY_1_0_0, 1, false},
};

START_TEST(two_stage_slot_b_rom_ext_check)
{
    enum fw_gen gen = slot_b_cases[_i].gen;
    struct sim_config cfg;
    profile_config(&cfg, "sival", gen);
    cfg.blank = true;
    cfg.sku.two_stage_bootstrap = true;
    struct run *r = run_start(&cfg);
    /* First image: the perso firmware alone; it asks for the second. */
    size_t len = make_bundle(bundle_img, gen, fw_gen_info(gen)->slot_b, true);
    bootstrap(r, bundle_img, 3000);
    ck_assert(simhost_wait_for(&r->flow.host, "Bootstrap requested.\n", NULL, 0));
    size_t at = fw_gen_info(gen)->slot_b;
    if (slot_b_cases[_i].where == 1)
        at = gen == FW_GEN_MASTER ? 0x80000 : 0x100000 - 0x1000; /* elsewhere */
    len = make_bundle(bundle_img, gen, at, slot_b_cases[_i].where != 2);
    if (gen != FW_GEN_MASTER)
        ck_assert_uint_gt(len, 576 * 1024);
    else
        ck_assert_uint_gt(len, 1024 * 1024);
    bootstrap(r, bundle_img, len);
    run_to_export(r);
    STEP(r, import);
    STEP(r, hash); /* the hash goes out before OTP finalization */
    STEP(r, done);
    uint32_t pins = sim_device_gpio_read(&r->dev);
    if (slot_b_cases[_i].pass) {
        ck_assert(pins & SIM_PIN_TEST_DONE);
        ck_assert(!(pins & SIM_PIN_TEST_ERROR));
        /* PersoSha256Hash: slot A's image alone. */
        uint8_t want[32];
        unsigned int dl = 32;
        EVP_Digest(bundle_img, 3000, want, &dl, EVP_sha256(), NULL);
        ck_assert_mem_eq(r->dev.chip.perso_hash, want, 32);
        /* The next boot: ROM_EXT and the owner firmware. */
        simhost_reset_chip(&r->flow.host, 0);
        char text[512] = "";
        size_t got = 0;
        while (strstr(text, "Bare metal PASS!\r\n") == NULL && got < sizeof(text) - 1) {
            size_t n =
                sim_device_uart_read(&r->dev, (uint8_t *)text + got, sizeof(text) - 1 - got, 2000);
            ck_assert_msg(n > 0, "UART: %s", text);
            got += n;
            text[got] = '\0';
        }
        ck_assert(strstr(text, "ROM_EXT:0.4\r\nBare metal PASS!\r\n") != NULL);
    } else {
        ck_assert(pins & SIM_PIN_TEST_ERROR);
        ck_assert(!(pins & SIM_PIN_TEST_DONE));
        ck_assert(!r->dev.chip.perso_done);
    }
    run_free(r);
}
END_TEST

/* ---- options ---------------------------------------------------------------------- */

START_TEST(firmware_option)
{
    struct sim_config cfg;
    struct ft_error err = {0};
    sim_config_defaults(&cfg);
    ck_assert_int_eq(cfg.firmware, FW_GEN_EARLGREY_1_0_0);
    ck_assert(!cfg.firmware_set);
    ck_assert_int_eq(sim_options_set(&cfg, "firmware", "master", &err), 0);
    ck_assert_int_eq(cfg.firmware, FW_GEN_MASTER);
    ck_assert(cfg.firmware_set);
    ck_assert_int_eq(sim_options_set(&cfg, "firmware", "a2-rc18", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "a2-rc17, earlgrey-1.0.0, master");
    ck_assert_int_eq(sim_config_set_sku(&cfg, "sival_devseed", NULL), 0);
    ck_assert_uint_eq(cfg.sku.dev_seeds, 1);
    ck_assert_int_eq(cfg.sku.blob_version, PERSO_BLOB_V0);
}
END_TEST

static Suite *sim_profiles_suite(void)
{
    Suite *s = suite_create("sim_profiles");
    TCase *msg = tcase_create("certgen");
    tcase_add_unchecked_fixture(msg, setup_cas, teardown_cas);
    tcase_set_timeout(msg, 120);
    tcase_add_test(msg, certgen_inputs_per_generation);
    tcase_add_loop_test(msg, certgen_console_per_generation, 0,
                        (int)(sizeof(certgen_cases) / sizeof(certgen_cases[0])));
    tcase_add_test(msg, firmware_option);
    suite_add_tcase(s, msg);

    TCase *blob = tcase_create("blob");
    tcase_add_unchecked_fixture(blob, setup_cas, teardown_cas);
    tcase_set_timeout(blob, 120);
    tcase_add_test(blob, perso_hash_header_per_generation);
    tcase_add_loop_test(blob, tpm_ek_v0_header_and_was_coverage, 0, 2);
    tcase_add_loop_test(blob, v0_was_covers_tpm_ek, 0, FW_GEN_COUNT);
    tcase_add_loop_test(blob, dev_seed_placement_and_hash, 0, 3);
    suite_add_tcase(s, blob);

    TCase *nvm = tcase_create("nvm");
    tcase_add_unchecked_fixture(nvm, setup_cas, teardown_cas);
    tcase_set_timeout(nvm, 300);
    tcase_add_test(nvm, bootstrap_address_rules);
    tcase_add_test(nvm, sfdp_and_jedec_density);
    tcase_add_loop_test(nvm, two_stage_slot_b_rom_ext_check, 0,
                        (int)(sizeof(slot_b_cases) / sizeof(slot_b_cases[0])));
    suite_add_tcase(s, nvm);
    return s;
}

FT_TEST_MAIN(sim_profiles_suite)
