#include "sim/perso_fw.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert/was.h"
#include "common/endian.h"
#include "common/strbuf.h"
#include "sim/sim_boot.h"
#include "sim/sim_certs.h"
#include "sim/ujson_de.h"
#include "wire/device_id.h"
#include "wire/devmsg.h"
#include "wire/perso_blob.h"
#include "wire/resp.h"
#include "wire/ujson.h"

#define INFO_PAGE_SIZE 2048u
#define PAGE_DIGEST_SIZE 32u
#define CERT_READBACK_MAX 1024u /* ft_personalize.c cert_buffer */
#define RESP_BUF_SIZE (UJSON_PERSO_BLOB_SIZE + 64u)

/* State of one run of the firmware, from boot to reset. */
struct perso {
    struct fw_ctx *fw;
    const struct sim_config *cfg;
    const struct fw_gen_info *gen; /* the firmware generation the chip runs */
    struct sim_chip *chip;
    struct dev_certgen_inputs inputs;
    enum perso_blob_version version;
    struct sim_cert_set certs;
    uint8_t dev_seeds[SIM_DEV_SEEDS_MAX][PERSO_DEV_SEED_SIZE]; /* the extension's DevSeeds */
    unsigned n_dev_seeds;
    struct perso_blob out_blob;
    struct dev_perso_blob in_blob;
    char resp[RESP_BUF_SIZE];
};

/* A flash info page of certificates: 8-byte aligned TLVs (after the V1 version object,
 * itself padded to 8), the page digest in the last 32 bytes. */
#define PAGE_CERTS_MAX 8u
struct cert_page {
    const char *group;
    bool digest;
    uint8_t data[INFO_PAGE_SIZE];
    size_t used;
    size_t offsets[PAGE_CERTS_MAX];
    size_t n;
};

static void sim_log(const struct perso *p, const char *what)
{
    if (p->cfg->verbose)
        fprintf(stderr, "ftsim: chip %u: %s\n", p->chip->index, what);
}

/* A device-side failure: upstream never answers RESP_ERR; it raises TestError and still
 * prints "Personalization done." before stopping. */
static int fail(struct perso *p, const char *why)
{
    sim_log(p, why);
    fw_set_pins(p->fw, SIM_PIN_TEST_ERROR, true);
    if (fw_print(p->fw, "Personalization done.\n") != 0)
        return FW_ABORT;
    return fw_halt(p->fw);
}

/* One OTTF log line (reference transport §2.3: "%s%05d %s:%d] ", the message, "\r\n"),
 * each piece its own print as base_printf sends it, so it may span frames. */
static int log_line(struct perso *p, char severity, unsigned counter, const char *file,
                    unsigned line, const char *message)
{
    char head[64];
    snprintf(head, sizeof(head), "%c%05u %s:%u] ", severity, counter, file, line);
    if (fw_print(p->fw, head) != 0 || fw_print(p->fw, message) != 0 || fw_print(p->fw, "\r\n") != 0)
        return FW_ABORT;
    return 0;
}

/* A failed CHECK as OTTF reports it (check.h CHECK_STATUS_OK, then status.c): the error
 * log line, "FAIL!", and the chip stops; no GPIO, no closing line. Firmware that wraps
 * each perso step in a CHECK ends a device-side failure this way. */
static int check_fail(struct perso *p, enum sim_step step)
{
    unsigned line = 900u + (unsigned)step; /* a line of ft_personalize.c, one per step */
    char message[64];
    snprintf(message, sizeof(message), "CHECK-STATUS-fail: Internal:[\"FTP\",%u]", line);
    sim_log(p, "failed CHECK (check-fail fault)");
    if (log_line(p, 'E', 0, "ft_personalize.c", line, message) != 0 ||
        log_line(p, 'I', 1, "status.c", 43, "FAIL!") != 0)
        return FW_ABORT;
    return fw_halt(p->fw);
}

/* Enters a step: records it and applies the faults placed there. Returns 0 to go on,
 * FW_ABORT to stop, SIM_BOOT_SW_RESET to reset. */
static int begin_step(struct perso *p, enum sim_step step)
{
    const struct sim_faults *f = &p->cfg->faults;
    fw_set_step(p->fw, step);
    if (f->stall_at == step)
        return fw_halt(p->fw);
    if (f->reset_at == step && !p->chip->fault_reset_done) {
        p->chip->fault_reset_done = true;
        return SIM_BOOT_SW_RESET;
    }
    if (f->check_fail_at == step)
        return check_fail(p, step);
    if (f->wrong_frame_at == step)
        fw_skip_frame_number(p->fw);
    unsigned delay = p->cfg->step_delay_ms[step];
    if (f->slow_factor > 1)
        delay *= f->slow_factor;
    return fw_delay_ms(p->fw, delay);
}

static int read_status(struct perso *p, enum ujson_de_status st, const struct ft_error *err)
{
    if (st == UJSON_DE_OK)
        return 0;
    if (st == UJSON_DE_SOURCE_CLOSED)
        return FW_ABORT;
    char why[FT_ERROR_MESSAGE_MAX + 32];
    snprintf(why, sizeof(why), "%s: %s", ujson_de_status_name(st), err->message);
    return fail(p, why);
}

/* --- RMA token hash (SECRET2) ------------------------------------------------------- */

static int step_rma(struct perso *p)
{
    int rc = begin_step(p, SIM_STEP_RMA);
    if (rc != 0)
        return rc;
    if (fw_print(p->fw, "Waiting For RMA Unlock Token Hash ...\n") != 0)
        return FW_ABORT;
    struct ujson_de de;
    struct dev_lc_token_hash hash = {{0}};
    struct ft_error err = {0};
    ujson_de_init(&de, fw_getc, p->fw);
    fw_set_pins(p->fw, SIM_PIN_RX_READY, true);
    enum ujson_de_status st = ujson_de_lc_token_hash_with_crc(&de, &hash, &err);
    fw_set_pins(p->fw, SIM_PIN_RX_READY, false);
    if ((rc = read_status(p, st, &err)) != 0)
        return rc;
    memcpy(p->chip->rma_token_hash, hash.hash, sizeof(hash.hash));
    p->chip->secret2_done = true;
    sim_chip_otp_save(p->fw->dev);
    sim_log(p, "SECRET2 written, software reset");
    return SIM_BOOT_SW_RESET;
}

/* --- certificate generation and export ---------------------------------------------- */

static int read_certgen_inputs(struct perso *p)
{
    if (fw_print(p->fw, "Waiting for certificate inputs ...\n") != 0)
        return FW_ABORT;
    struct ujson_de de;
    struct ft_error err = {0};
    memset(&p->inputs, 0, sizeof(p->inputs));
    ujson_de_init(&de, fw_getc, p->fw);
    fw_set_pins(p->fw, SIM_PIN_RX_READY, true);
    /* a2-rc17's struct has no blob_version: the key is unknown there (INVALID_ARGUMENT)
     * and the blob is always V0. */
    enum ujson_de_status st =
        ujson_de_certgen_inputs(&de, p->gen->certgen_blob_version, &p->inputs, &err);
    fw_set_pins(p->fw, SIM_PIN_RX_READY, false);
    int rc = read_status(p, st, &err);
    if (rc != 0)
        return rc;
    if (p->gen->prints_blob_version) {
        /* earlgrey_1.0.0 ft_personalize.c:563, before the version is checked. */
        char line[32];
        snprintf(line, sizeof(line), "Blob version: %u\n", (unsigned)p->inputs.blob_version);
        if (fw_print(p->fw, line) != 0)
            return FW_ABORT;
    }
    unsigned max = p->gen->has_v1 ? PERSO_BLOB_V1 : PERSO_BLOB_V0;
    if (p->inputs.blob_version > max)
        return fail(p, "certgen inputs: unknown blob version");
    p->version = (enum perso_blob_version)p->inputs.blob_version;
    return 0;
}

static int device_id(const struct perso *p, uint8_t id[DEVICE_ID_SIZE], struct ft_error *err)
{
    const struct sim_config *cfg = p->cfg;
    /* A row's chips go down the wafer's column (y), then to the next column (x): a row of
     * a million chips has a million DINs, each its own device ID. */
    unsigned long step = (unsigned long)cfg->y + p->chip->index;
    struct device_id_fields f = {
        .si_creator_id = cfg->sku.si_creator_id,
        .product_id = cfg->sku.product_id,
        .year = cfg->year,
        .week = cfg->week,
        .lot = cfg->lot,
        .wafer = cfg->wafer,
        .x = (unsigned)((cfg->x + step / 1000) % 1000),
        .y = (unsigned)(step % 1000),
        .package_id = cfg->sku.package_id,
        .ast_cfg_version = cfg->sku.ast_cfg_version,
        .otp = cfg->sku.otp,
        .sku = cfg->sku.name,
    };
    return device_id_encode(&f, id, err);
}

/* compute_tbs_was_hmac (E1 ft_personalize.c:688, loop :722-730; M:706, loop :737-745):
 * walks the num_objs objects built so far with the blob's one header version, HMACs the
 * body of each object whose type reads X509Tbs and steps by the size it read. An object
 * written with a V0 header inside a V1 blob (the extension's TPM EK TBS on E1 and master)
 * is misread: its type reads as size>>8 of the V0 header (1..15 for any TBS of 256 bytes
 * or more, never X509Tbs) and its size as a 24-bit value far past the blob, so it is left
 * out. Upstream then steps past the blob; when it was the last object (the only upstream
 * extension has one) nothing more is read. ftsim stops the walk there, so anything after a
 * misread object (a second ext cert, DevSeeds) is left out too, where upstream would read
 * past the 5120-byte body (docs/ftsim.md). Keyed by this chip's WAS. */
static int was_tag(const struct perso *p, const struct perso_tlv_writer *w, uint8_t tag[32],
                   struct ft_error *err)
{
    uint8_t was[WAS_SIZE];
    const struct sim_config *cfg = p->cfg;
    if (was_derive(cfg->was_seed, sizeof(cfg->was_seed), (const uint8_t *)cfg->was_diversifier,
                   strlen(cfg->was_diversifier), was, err) != 0)
        return -1;
    struct was_hmac *h = was_hmac_new(was, err);
    if (h == NULL)
        return -1;
    enum perso_blob_version v = w->version;
    size_t hlen = perso_tlv_header_len(v);
    size_t off = v == PERSO_BLOB_V1 ? PERSO_VERSION_OBJ_SIZE : 0;
    size_t n = w->num_objs - (off > 0 ? 1 : 0);
    for (size_t i = 0; i < n && off + hlen <= w->len; i++) {
        unsigned type;
        size_t size;
        perso_tlv_read_header(w->buf + off, v, &type, &size); /* whatever it was written as */
        if (size < hlen || size > w->len - off)
            break; /* upstream reads on past the blob here */
        if (type == PERSO_OBJ_X509_TBS) {
            struct perso_tlv_iter it;
            struct perso_obj obj;
            if (perso_tlv_iter_init_bare(&it, w->buf + off, size, v, err) != 0 ||
                perso_tlv_iter_next(&it, &obj, err) != 1 ||
                was_hmac_update(h, obj.cert, obj.cert_len, err) != 0) {
                was_hmac_free(h);
                return -1;
            }
        }
        off += size;
    }
    if (was_hmac_final(h, tag, err) != 0)
        return -1;
    if (cfg->faults.bad_was_hmac)
        tag[0] ^= 0x01;
    return 0;
}

/* The extension's DevSeed payloads (2 x {key u32[8], context u32[8]}, perso_tlv_data.h
 * perso_tlv_dev_seed_set_t), from --seed and the chip's index. */
static void make_dev_seeds(struct perso *p)
{
    p->n_dev_seeds = p->cfg->sku.dev_seeds;
    for (unsigned k = 0; k < p->n_dev_seeds; k++) {
        for (unsigned j = 0; j < PERSO_DEV_SEED_SIZE / 32; j++) {
            char label[32];
            snprintf(label, sizeof(label), "dev-seed-%u-%u", k, j);
            sim_chip_secret(p->cfg, p->chip->index, label, p->dev_seeds[k] + 32 * j);
        }
    }
}

/* A DER SEQUENCE of `len` bytes standing for a certificate far larger than any the SKU
 * expects (oversize-object fault). */
static void bloated_der(uint8_t *der, size_t len)
{
    memset(der, 0xA5, len);
    der[0] = 0x30;
    der[1] = 0x82;
    der[2] = (uint8_t)((len - 4) >> 8);
    der[3] = (uint8_t)(len - 4);
}

/* The header an object of `type` gets: a V0 one inside a V1 blob where the generation
 * writes it so (wire/fw_gen.h v0_headed_in_v1), else the blob's. */
static enum perso_blob_version header_of(const struct perso *p, enum perso_obj_type type)
{
    bool v0 = p->version == PERSO_BLOB_V1 && (p->gen->v0_headed_in_v1 & FW_GEN_BIT(type)) != 0;
    return v0 ? PERSO_BLOB_V0 : p->version;
}

static int build_blob(struct perso *p, struct ft_error *err)
{
    struct perso_tlv_writer w;
    struct perso_blob *blob = &p->out_blob;
    if (perso_tlv_writer_init(&w, blob->body, sizeof(blob->body), p->version, err) != 0)
        return -1;
    /* The extension's TBS certs (after UDS, CDI_0, CDI_1) carry a V0 header inside a V1
     * blob on E1 and master (tpm_personalize_ext.c: E1:82-84, M:62-64); never the UDS. */
    for (size_t i = 0; i < p->certs.count; i++) {
        const struct sim_cert *c = &p->certs.certs[i];
        enum perso_blob_version header = i >= 3 ? header_of(p, c->type) : p->version;
        if (perso_tlv_append_cert_as(&w, header, c->type, c->name, c->der, c->len, err) != 0)
            return -1;
    }
    if (p->cfg->faults.oversize_object) {
        /* As large as the body still allows next to the three 32-byte objects. */
        static uint8_t big[3900];
        size_t room = w.cap - w.len - 3 * (perso_tlv_header_len(p->version) + 32) -
                      2 * perso_tlv_header_len(p->version) - 3;
        size_t len = room < sizeof(big) ? room : sizeof(big);
        bloated_der(big, len);
        if (perso_tlv_append_cert(&w, PERSO_OBJ_X509_TBS, "UDS", big, len, err) != 0)
            return -1;
    }
    /* The extension's pre-endorse objects end with its DevSeeds, after every cert. */
    make_dev_seeds(p);
    for (unsigned k = 0; k < p->n_dev_seeds; k++)
        if (perso_tlv_append_data(&w, PERSO_OBJ_DEV_SEED, p->dev_seeds[k], PERSO_DEV_SEED_SIZE,
                                  err) != 0)
            return -1;
    /* master writes PersoSha256Hash with a hard-coded V0 header (M ft_personalize.c:236-242);
     * E1 with the blob's version (E1:214-224). */
    enum perso_blob_version hash_header = header_of(p, PERSO_OBJ_PERSO_SHA256_HASH);
    uint8_t tag[32];
    uint8_t id[DEVICE_ID_SIZE];
    if (was_tag(p, &w, tag, err) != 0 || device_id(p, id, err) != 0 ||
        perso_tlv_append_data(&w, PERSO_OBJ_WAS_TBS_HMAC, tag, sizeof(tag), err) != 0 ||
        perso_tlv_append_data(&w, PERSO_OBJ_DEVICE_ID, id, sizeof(id), err) != 0 ||
        perso_tlv_append_data_as(&w, hash_header, PERSO_OBJ_PERSO_SHA256_HASH, p->chip->perso_hash,
                                 sizeof(p->chip->perso_hash), err) != 0)
        return -1;
    if (perso_blob_from_writer(blob, &w, err) != 0)
        return -1;
    if (p->cfg->faults.corrupt_tlv) {
        size_t first = p->version == PERSO_BLOB_V1 ? PERSO_VERSION_OBJ_SIZE + 3 : 1;
        blob->body[first] ^= 0x01; /* the size field of the first certificate object */
    }
    return 0;
}

/* Sends `RESP_OK:<json> CRC:0\n` through the buffered console, with the response faults
 * of `step` applied. */
static int send_response(struct perso *p, enum sim_step step, const char *json, size_t len)
{
    const struct sim_faults *f = &p->cfg->faults;
    struct strbuf sb;
    strbuf_init(&sb, p->resp, sizeof(p->resp));
    if (resp_format_ok(&sb, json, len, RESP_CRC_NONE, NULL) != 0)
        return fail(p, "response does not fit");
    if (f->bad_crc_at == step) {
        sb.len -= strlen("0\n");
        strbuf_puts(&sb, "305419896\n");
    }
    size_t out = sb.len;
    if (f->truncate_at == step || f->disconnect_at == step)
        out = sb.len / 2;
    if (fw_write_buffered(p->fw, p->resp, out) != 0 || fw_flush(p->fw) != 0)
        return FW_ABORT;
    if (f->disconnect_at == step) {
        fw_drop_link(p->fw);
        return fw_halt(p->fw);
    }
    if (f->truncate_at == step && fw_print(p->fw, "\n") != 0)
        return FW_ABORT;
    return 0;
}

static int step_certgen_and_export(struct perso *p)
{
    int rc = begin_step(p, SIM_STEP_CERTGEN);
    if (rc != 0 || (rc = read_certgen_inputs(p)) != 0)
        return rc;
    struct ft_error err = {0};
    if (sim_certs_generate(p->cfg, p->chip->index, p->inputs.dice_auth_key_key_id,
                           p->inputs.ext_auth_key_key_id, p->chip->perso_hash, &p->certs,
                           &err) != 0 ||
        build_blob(p, &err) != 0)
        return fail(p, err.message);

    if ((rc = begin_step(p, SIM_STEP_EXPORT)) != 0)
        return rc;
    if (fw_print(p->fw, "Exporting TBS certificates ...\n") != 0)
        return FW_ABORT;
    static char json[UJSON_PERSO_BLOB_SIZE + 1];
    struct strbuf sb;
    strbuf_init(&sb, json, sizeof(json));
    if (ujson_perso_blob(&sb, &p->out_blob, UJSON_DEVICE_FORM, &err) != 0)
        return fail(p, err.message);
    return send_response(p, SIM_STEP_EXPORT, sb.data, sb.len);
}

/* --- import ------------------------------------------------------------------------- */

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Erased flash reads 0xFF: what is not written stays so. */
static void page_init(struct cert_page *page, const char *group, bool digest,
                      enum perso_blob_version v)
{
    page->group = group;
    page->digest = digest;
    memset(page->data, 0xFF, sizeof(page->data));
    page->used = 0;
    page->n = 0;
    if (v == PERSO_BLOB_V1) {
        struct perso_tlv_writer w;
        perso_tlv_writer_init(&w, page->data, sizeof(page->data), v, NULL);
        page->used = align8(w.len);
    }
}

static int page_add(struct cert_page *page, enum perso_blob_version v, const char *name,
                    const uint8_t *der, size_t len, struct ft_error *err)
{
    size_t limit = INFO_PAGE_SIZE - (page->digest ? PAGE_DIGEST_SIZE : 0);
    if (page->n == PAGE_CERTS_MAX)
        return ft_fail(err, FT_E_CAPACITY, "%s page holds at most %u certs", page->group,
                       PAGE_CERTS_MAX);
    struct perso_tlv_writer w;
    perso_tlv_writer_init_bare(&w, page->data + page->used, limit - page->used, v, NULL);
    if (perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, name, der, len, err) != 0)
        return ft_error_prefix(err, "%s page", page->group);
    if (w.len > CERT_READBACK_MAX)
        return ft_fail(err, FT_E_RANGE, "%s cert of %zu bytes exceeds the %u-byte read-back buffer",
                       name, w.len, CERT_READBACK_MAX);
    page->offsets[page->n++] = page->used;
    page->used += align8(w.len);
    return 0;
}

/* Reads the k-th certificate object of a page back. */
static int page_read(const struct cert_page *page, size_t k, enum perso_blob_version v,
                     struct perso_obj *obj, struct ft_error *err)
{
    struct perso_tlv_iter it;
    size_t off = page->offsets[k];
    perso_tlv_iter_init_bare(&it, page->data + off, page->used - off, v, NULL);
    if (perso_tlv_iter_next(&it, obj, err) != 1)
        return ft_error_prefix(err, "%s page read-back", page->group);
    return 0;
}

static void page_seal(struct cert_page *page)
{
    if (!page->digest)
        return;
    unsigned int len = PAGE_DIGEST_SIZE;
    EVP_Digest(page->data, INFO_PAGE_SIZE - PAGE_DIGEST_SIZE,
               page->data + INFO_PAGE_SIZE - PAGE_DIGEST_SIZE, &len, EVP_sha256(), NULL);
}

/* hash_all_certs: reads every TLV back from the pages, in layout order, and hashes the
 * certificate bodies; then the extension's post-endorse step feeds its DevSeed payloads
 * into the same stream, in blob order (A.md §6). */
static int hash_pages(const struct cert_page *pages, size_t n, enum perso_blob_version v,
                      const struct perso *p, uint8_t digest[32], struct ft_error *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        return ft_fail(err, FT_E_NOMEM, "hash: cannot start SHA-256");
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < pages[i].n; k++) {
            struct perso_obj obj;
            if (page_read(&pages[i], k, v, &obj, err) != 0) {
                EVP_MD_CTX_free(md);
                return -1;
            }
            EVP_DigestUpdate(md, obj.cert, obj.cert_len);
        }
    }
    for (unsigned k = 0; k < p->n_dev_seeds; k++)
        EVP_DigestUpdate(md, p->dev_seeds[k], PERSO_DEV_SEED_SIZE);
    unsigned int len = 32;
    int ok = EVP_DigestFinal_ex(md, digest, &len);
    EVP_MD_CTX_free(md);
    return ok ? 0 : ft_fail(err, FT_E_INVALID, "hash: SHA-256 failed");
}

static int read_endorsed_blob(struct perso *p)
{
    if (fw_print(p->fw, "Importing endorsed certificates ...\n") != 0)
        return FW_ABORT;
    struct ujson_de de;
    struct ft_error err = {0};
    memset(&p->in_blob, 0, sizeof(p->in_blob));
    ujson_de_init(&de, fw_getc, p->fw);
    fw_set_pins(p->fw, SIM_PIN_RX_READY, true);
    enum ujson_de_status st = ujson_de_perso_blob(&de, &p->in_blob, &err);
    fw_set_pins(p->fw, SIM_PIN_RX_READY, false);
    if (st == UJSON_DE_OK)
        p->chip->certs_received = true;
    return read_status(p, st, &err);
}

/* Layouts: FACTORY (UDS), DICE (CDI_0, CDI_1), Ext0 (the SKU's ext certs) and Ext1 (certs a
 * host plugin injects; this SKU's device extension keeps them out of hash_all_certs,
 * as the host leaves them out of its hash). */
enum { PAGE_FACTORY, PAGE_DICE, PAGE_EXT0, PAGE_EXT1, PAGE_COUNT };

static int import_certs(struct perso *p, struct cert_page pages[PAGE_COUNT], struct ft_error *err)
{
    const struct dev_perso_blob *in = &p->in_blob;
    const struct sim_sku *sku = &p->cfg->sku;
    if (in->next_free > sizeof(in->body))
        return ft_fail(err, FT_E_RANGE, "host blob next_free %u exceeds the body", in->next_free);
    bool has_version = in->next_free >= 1 && (in->body[0] >> 4) == PERSO_OBJ_BLOB_VERSION;
    if (has_version != (p->version == PERSO_BLOB_V1))
        return ft_fail(err, FT_E_INVALID, "host blob version differs from the certgen inputs");

    struct perso_tlv_iter it;
    struct perso_obj obj;
    if (perso_tlv_iter_init(&it, in->body, in->next_free, p->version, err) != 0)
        return -1;
    page_init(&pages[PAGE_FACTORY], "FACTORY", true, p->version);
    page_init(&pages[PAGE_DICE], "DICE", true, p->version);
    page_init(&pages[PAGE_EXT0], sku->n_ext ? sku->ext[0].group : "Ext0", false, p->version);
    page_init(&pages[PAGE_EXT1], "Ext1", false, p->version);
    unsigned expected = 1 + sku->n_ext + sku->n_injected;
    unsigned certs = 0;
    int rc;
    while ((rc = perso_tlv_iter_next(&it, &obj, err)) == 1) {
        if (!perso_obj_type_is_cert(obj.type))
            continue; /* the device skips non-cert objects */
        if (certs == 0 && (strcmp(obj.name, "UDS") != 0 || obj.type != PERSO_OBJ_X509_CERT))
            return ft_fail(err, FT_E_INVALID, "first host cert is \"%s\", not the endorsed UDS",
                           obj.name);
        if (certs >= expected)
            return ft_fail(err, FT_E_INVALID, "host sent more than the %u certs the layouts hold",
                           expected);
        struct cert_page *page = certs == 0            ? &pages[PAGE_FACTORY]
                                 : certs <= sku->n_ext ? &pages[PAGE_EXT0]
                                                       : &pages[PAGE_EXT1];
        if (page_add(page, p->version, obj.name, obj.cert, obj.cert_len, err) != 0)
            return -1;
        if (certs == 0) {
            /* CDI_0 and CDI_1 come from the chip's own blob, into the DICE page. */
            for (size_t i = 1; i <= 2; i++) {
                const struct sim_cert *c = &p->certs.certs[i];
                if (page_add(&pages[PAGE_DICE], p->version, c->name, c->der, c->len, err) != 0)
                    return -1;
            }
        }
        certs++;
    }
    if (rc < 0)
        return -1;
    if (certs != expected)
        return ft_fail(err, FT_E_INVALID, "host sent %u certs, the layouts need %u", certs,
                       expected);
    return 0;
}

/* Prints the import lines in layout order and seals the pages. */
static int announce_pages(struct perso *p, struct cert_page *pages, size_t n, struct ft_error *err)
{
    char line[PERSO_CERT_NAME_MAX_V1 + 64];
    for (size_t i = 0; i < n; i++) {
        struct cert_page *page = &pages[i];
        for (size_t k = 0; k < page->n; k++) {
            struct perso_obj obj;
            if (page_read(page, k, p->version, &obj, err) != 0)
                return 1;
            snprintf(line, sizeof(line), "Importing %s cert to %s ...\n", obj.name, page->group);
            if (fw_print(p->fw, line) != 0)
                return FW_ABORT;
        }
        if (page->digest) {
            page_seal(page);
            snprintf(line, sizeof(line), "Digesting %s page ...\n", page->group);
            if (fw_print(p->fw, line) != 0)
                return FW_ABORT;
        }
    }
    return 0;
}

static int step_import_and_hash(struct perso *p)
{
    int rc = begin_step(p, SIM_STEP_IMPORT);
    if (rc != 0 || (rc = read_endorsed_blob(p)) != 0)
        return rc;
    if (p->cfg->faults.reject_import)
        return fail(p, "import: the certificates do not fit the layouts (reject-import fault)");
    struct cert_page *pages = calloc(PAGE_COUNT, sizeof(*pages));
    if (pages == NULL)
        return fail(p, "out of memory");
    struct ft_error err = {0};
    uint8_t digest[32];
    if (import_certs(p, pages, &err) != 0) {
        free(pages);
        return fail(p, err.message);
    }
    /* Only layouts holding certs are written; Ext1 stays out of the hash. */
    size_t used = p->cfg->sku.n_injected ? PAGE_COUNT : p->cfg->sku.n_ext ? PAGE_EXT1 : PAGE_EXT0;
    size_t hashed = used > PAGE_EXT1 ? PAGE_EXT1 : used;
    rc = announce_pages(p, pages, used, &err);
    if (rc == 0 && hash_pages(pages, hashed, p->version, p, digest, &err) != 0)
        rc = 1;
    free(pages);
    if (rc == 1)
        return fail(p, err.message);
    if (rc != 0 || fw_print(p->fw, "Finished importing certificates.\n") != 0)
        return FW_ABORT;

    if ((rc = begin_step(p, SIM_STEP_HASH)) != 0)
        return rc;
    if (p->cfg->faults.bad_hash)
        digest[31] ^= 0x01;
    uint32_t words[8];
    sha256_digest_to_words(digest, words);
    char json[UJSON_SHA256_HASH_SIZE + 1];
    struct strbuf sb;
    strbuf_init(&sb, json, sizeof(json));
    if (ujson_sha256_hash(&sb, words, &err) != 0)
        return fail(p, err.message);
    return send_response(p, SIM_STEP_HASH, sb.data, sb.len);
}

static int step_done(struct perso *p)
{
    int rc = begin_step(p, SIM_STEP_DONE);
    if (rc != 0)
        return rc;
    /* finalize_otp_partitions starts with check_next_slot_bootable (RC17 ft_personalize.c
     * :1058, E1:1125, M:1132): slot B must hold a ROM_EXT manifest. ftsim checks it on
     * chips that take the FT bundle as their second image (--two-stage); other chips have
     * no real image in slot B to check (docs/ftsim.md). */
    if (p->cfg->sku.two_stage_bootstrap) {
        /* manifest_t.identifier (lib/manifest.h: E1:373, M:343, RC17:343) must read
         * CHIP_ROM_EXT_IDENTIFIER (lib/base/chip.h:67 in all three). */
        const uint8_t *at = p->chip->flash + p->gen->slot_b + FW_MANIFEST_IDENTIFIER_OFFSET;
        if (load_le32(at) != FW_ROM_EXT_IDENTIFIER)
            return fail(p, "OTP finalization: slot B holds no ROM_EXT manifest");
    }
    if (p->cfg->faults.test_error)
        return fail(p, "OTP finalization failed (test-error fault)");
    p->chip->perso_done = true;
    fw_set_pins(p->fw, SIM_PIN_TEST_DONE, true);
    if (fw_print(p->fw, "Personalization done.\n") != 0)
        return FW_ABORT;
    /* With no one to swap chips (cfg.handler), the next one of the row is put in at
     * once, and its prompt follows this chip's output. */
    if (sim_chip_completed(p->fw) && p->cfg->console == SIM_CONSOLE_UART && !p->cfg->handler)
        return SIM_BOOT_NEXT_CHIP;
    return fw_halt(p->fw);
}

int perso_fw_run(struct fw_ctx *fw)
{
    struct perso *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return fw_halt(fw);
    p->fw = fw;
    p->cfg = &fw->dev->cfg;
    p->gen = fw_gen_info(p->cfg->firmware);
    p->chip = &fw->dev->chip;
    fw_set_pins(fw, SIM_PIN_TEST_START, true);

    int rc;
    if (p->cfg->sku.two_stage_bootstrap && !p->chip->secret1_done) {
        /* First stage: SECRET1 and flash scrambling, then ask for the second image. */
        p->chip->secret1_done = true;
        rc = fw_print(fw, "Bootstrap requested.\n");
        rc = rc != 0 ? rc : fw_halt(fw);
    } else if (!p->chip->secret2_done) {
        rc = step_rma(p);
    } else {
        rc = step_certgen_and_export(p);
        if (rc == 0)
            rc = step_import_and_hash(p);
        if (rc == 0)
            rc = step_done(p);
    }
    free(p);
    return rc;
}
