#include "sim/sim_certs.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "common/endian.h"

void sim_chip_secret(const struct sim_config *cfg, unsigned chip_index, const char *label,
                     uint8_t out[32])
{
    uint8_t input[64];
    size_t n = 0;
    memcpy(input, "ftsim", 5);
    n += 5;
    store_be32(input + n, (uint32_t)(cfg->seed >> 32));
    store_be32(input + n + 4, (uint32_t)cfg->seed);
    store_be32(input + n + 8, chip_index);
    n += 12;
    size_t label_len = strnlen(label, sizeof(input) - n);
    memcpy(input + n, label, label_len);
    n += label_len;
    unsigned int len = 32;
    EVP_Digest(input, n, out, &len, EVP_sha256(), NULL);
}

/* Fills `ids` with `count` measurement digests named after `label`. */
static void measurements(const struct sim_config *cfg, unsigned chip, const char *label,
                         uint8_t ids[][DICE_DIGEST_SIZE], size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char name[48];
        snprintf(name, sizeof(name), "%s-%zu", label, i);
        sim_chip_secret(cfg, chip, name, ids[i]);
    }
}

static int build(const struct sim_config *cfg, struct sim_cert *cert, const char *name,
                 enum perso_obj_type type, struct dice_cert_params *p, struct ft_error *err)
{
    /* Upstream templates write `critical FALSE` and `cA FALSE` explicitly, which DER
     * forbids and strict parsers (pyca/cryptography) reject; strict DER is the default. */
    p->strict_der = !cfg->upstream_der;
    snprintf(cert->name, sizeof(cert->name), "%s", name);
    cert->type = type;
    if (dice_cert_build(p, cert->der, sizeof(cert->der), &cert->len, err) != 0)
        return ft_error_prefix(err, "%s cert", name);
    return 0;
}

int sim_certs_generate(const struct sim_config *cfg, unsigned chip_index,
                       const uint8_t dice_aki[DICE_KEY_ID_SIZE],
                       const uint8_t ext_aki[DICE_KEY_ID_SIZE], const uint8_t rom_ext_hash[32],
                       struct sim_cert_set *out, struct ft_error *err)
{
    uint8_t seed[32];
    sim_chip_secret(cfg, chip_index, "keys", seed);
    struct dice_key uds = {0}, cdi0 = {0}, cdi1 = {0}, ext = {0};
    uint8_t uds_ids[DICE_UDS_FW_IDS][DICE_DIGEST_SIZE];
    uint8_t cdi1_ids[DICE_CDI_1_FW_IDS][DICE_DIGEST_SIZE];
    measurements(cfg, chip_index, "otp", uds_ids, DICE_UDS_FW_IDS);
    measurements(cfg, chip_index, "owner", cdi1_ids, DICE_CDI_1_FW_IDS);
    int rc = -1;
    memset(out, 0, sizeof(*out));

    if (dice_key_derive(&uds, seed, "uds", err) != 0 ||
        dice_key_derive(&cdi0, seed, "cdi_0", err) != 0 ||
        dice_key_derive(&cdi1, seed, "cdi_1", err) != 0)
        goto done;

    struct dice_cert_params p = {.kind = DICE_CERT_UDS,
                                 .subject_key = &uds,
                                 .issuer_dn = cfg->dice_ca_subject,
                                 .fw_ids = uds_ids,
                                 .fw_id_count = DICE_UDS_FW_IDS};
    memcpy(p.auth_key_id, dice_aki, DICE_KEY_ID_SIZE);
    if (build(cfg, &out->certs[0], "UDS", PERSO_OBJ_X509_TBS, &p, err) != 0)
        goto done;

    p = (struct dice_cert_params){.kind = DICE_CERT_CDI_0,
                                  .subject_key = &cdi0,
                                  .issuer_key = &uds,
                                  .fw_ids = (const uint8_t(*)[32])rom_ext_hash,
                                  .fw_id_count = DICE_CDI_0_FW_IDS};
    memcpy(p.auth_key_id, uds.key_id, DICE_KEY_ID_SIZE);
    if (build(cfg, &out->certs[1], "CDI_0", PERSO_OBJ_X509_CERT, &p, err) != 0)
        goto done;

    p = (struct dice_cert_params){.kind = DICE_CERT_CDI_1,
                                  .subject_key = &cdi1,
                                  .issuer_key = &cdi0,
                                  .fw_ids = cdi1_ids,
                                  .fw_id_count = DICE_CDI_1_FW_IDS};
    memcpy(p.auth_key_id, cdi0.key_id, DICE_KEY_ID_SIZE);
    if (build(cfg, &out->certs[2], "CDI_1", PERSO_OBJ_X509_CERT, &p, err) != 0)
        goto done;
    out->count = 3;

    for (unsigned i = 0; i < cfg->sku.n_ext; i++) {
        char label[48];
        snprintf(label, sizeof(label), "ext-%s", cfg->sku.ext[i].name);
        dice_key_free(&ext);
        if (dice_key_derive(&ext, seed, label, err) != 0)
            goto done;
        p = (struct dice_cert_params){
            .kind = DICE_CERT_TPM_EK, .subject_key = &ext, .issuer_dn = cfg->ext_ca_subject};
        memcpy(p.auth_key_id, ext_aki, DICE_KEY_ID_SIZE);
        if (build(cfg, &out->certs[out->count], cfg->sku.ext[i].name, PERSO_OBJ_X509_TBS, &p,
                  err) != 0)
            goto done;
        out->count++;
    }
    rc = 0;
done:
    dice_key_free(&uds);
    dice_key_free(&cdi0);
    dice_key_free(&cdi1);
    dice_key_free(&ext);
    return rc;
}
