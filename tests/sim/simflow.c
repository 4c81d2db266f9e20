#include "simflow.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "wire/devmsg.h"
#include "wire/resp.h"
#include "wire/ujson.h"

static bool failed(struct simflow *f, const char *step, const char *why)
{
    snprintf(f->why, sizeof(f->why), "%s: %s", step, why);
    return false;
}

void simflow_init(struct simflow *f, struct sim_device *dev, const struct test_ca *dice_ca,
                  const struct test_ca *ext_ca, enum perso_blob_version version)
{
    memset(f, 0, sizeof(*f));
    simhost_init(&f->host, dev);
    f->dice_ca = dice_ca;
    f->ext_ca = ext_ca;
    f->version = version;
    f->gen = fw_gen_info(dev->cfg.firmware);
    f->v0_types = f->gen->v0_headed_in_v1; /* iterators apply it to V1 bodies only */
}

void simflow_next_chip(struct simflow *f)
{
    static struct simhost host;
    host = f->host;
    simflow_init(f, host.dev, f->dice_ca, f->ext_ca, f->version);
    f->host = host;
    simhost_reset_frames(&f->host);
}

bool simflow_rma(struct simflow *f)
{
    if (!simhost_wait_for(&f->host, "Waiting For RMA Unlock Token Hash ...\n", NULL, 0))
        return failed(f, "rma", "no prompt");
    char buf[128];
    struct strbuf sb;
    strbuf_init(&sb, buf, sizeof(buf));
    const uint64_t hash[2] = {0x1122334455667788ull, 0x99aabbccddeeff00ull};
    if (ujson_lc_token_hash(&sb, hash, NULL) != 0 || !simhost_write(&f->host, buf, 52) ||
        !simhost_write(&f->host, buf + 52, 18))
        return failed(f, "rma", "sending the token hash");
    simhost_reset_frames(&f->host); /* the chip resets itself after SECRET2 */
    return true;
}

bool simflow_certgen(struct simflow *f)
{
    if (!simhost_wait_for(&f->host, "Waiting for certificate inputs ...\n", NULL, 0))
        return failed(f, "certgen", "no prompt");
    struct certgen_inputs in = {.dice_auth_key_key_id_len = 20,
                                .ext_auth_key_key_id_len = 20,
                                .has_blob_version = f->gen->certgen_blob_version,
                                .blob_version = (uint16_t)f->version,
                                .padded_size = f->gen->certgen_size};
    memcpy(in.dice_auth_key_key_id, f->dice_ca->key_id, 20);
    memcpy(in.ext_auth_key_key_id, f->ext_ca->key_id, 20);
    char buf[256];
    struct strbuf sb;
    strbuf_init(&sb, buf, sizeof(buf));
    if (ujson_certgen_inputs(&sb, &in, NULL) != 0 || !simhost_write(&f->host, buf, sb.len))
        return failed(f, "certgen", "sending the inputs");
    char line[32];
    snprintf(line, sizeof(line), "Blob version: %u\n", (unsigned)f->version);
    if (f->gen->prints_blob_version && !simhost_wait_for(&f->host, line, NULL, 0))
        return failed(f, "certgen", "no \"Blob version\" line");
    return true;
}

bool simflow_export(struct simflow *f)
{
    if (!simhost_wait_for(&f->host, "Exporting TBS certificates ...\n", NULL, 0))
        return failed(f, "export", "no prompt");
    if (!simhost_read_line(&f->host, f->line, sizeof(f->line)))
        return failed(f, "export", "no response line");
    struct resp_line resp;
    struct ft_error err = {0};
    if (resp_parse_line(f->line, strlen(f->line) - 1, RESP_CRC_NONE, &resp, &err) != 1 ||
        devmsg_decode_perso_blob(resp.json, resp.json_len, &f->blob, &err) != 0 ||
        perso_blob_validate_mixed(&f->blob, f->version, f->v0_types, &err) != 0)
        return failed(f, "export", err.message[0] ? err.message : "not a RESP_OK line");
    if (resp.json_len != UJSON_PERSO_BLOB_SIZE)
        return failed(f, "export", "blob JSON is not padded to 20535");
    return true;
}

static void keep_cert(struct simflow *f, const char *name, const uint8_t *der, size_t len)
{
    if (f->n_certs == SIMFLOW_CERTS_MAX || len > sizeof(f->certs[0]))
        return;
    snprintf(f->names[f->n_certs], sizeof(f->names[0]), "%s", name);
    memcpy(f->certs[f->n_certs], der, len);
    f->cert_len[f->n_certs++] = len;
}

bool simflow_import(struct simflow *f)
{
    static struct perso_blob out;
    struct perso_tlv_writer w;
    struct perso_tlv_iter it;
    struct perso_obj obj;
    perso_tlv_writer_init(&w, out.body, sizeof(out.body), f->version, NULL);
    perso_tlv_iter_init(&it, f->blob.body, f->blob.next_free, f->version, NULL);
    perso_tlv_iter_allow_v0(&it, f->v0_types);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    f->n_certs = 0;
    f->dev_seeds = 0;
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1) {
        if (obj.type == PERSO_OBJ_X509_TBS) {
            uint8_t cert[4096];
            const struct test_ca *ca = strcmp(obj.name, "UDS") == 0 ? f->dice_ca : f->ext_ca;
            size_t n = test_ca_endorse(ca, obj.cert, obj.cert_len, cert, sizeof(cert));
            if (n == 0 ||
                perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, obj.name, cert, n, NULL) != 0) {
                EVP_MD_CTX_free(md);
                return failed(f, "import", "endorsing a TBS");
            }
            EVP_DigestUpdate(md, cert, n);
            keep_cert(f, obj.name, cert, n);
        } else if (obj.type == PERSO_OBJ_X509_CERT) {
            EVP_DigestUpdate(md, obj.cert, obj.cert_len);
            keep_cert(f, obj.name, obj.cert, obj.cert_len);
        } else if (obj.type == PERSO_OBJ_DEV_SEED) {
            /* upstream ft_lib process_dev_seeds: the payload joins the certs hash */
            EVP_DigestUpdate(md, obj.payload, obj.payload_len);
            f->dev_seeds++;
        }
    }
    unsigned int dlen = 32;
    EVP_DigestFinal_ex(md, f->host_digest, &dlen);
    EVP_MD_CTX_free(md);
    perso_blob_from_writer(&out, &w, NULL);

    if (!simhost_wait_for(&f->host, "Importing endorsed certificates ...\n", NULL, 0))
        return failed(f, "import", "no prompt");
    static char json[UJSON_PERSO_BLOB_SIZE + 1];
    struct strbuf sb;
    strbuf_init(&sb, json, sizeof(json));
    if (ujson_perso_blob(&sb, &out, UJSON_HOST_FORM, NULL) != 0 ||
        !simhost_write(&f->host, json, sb.len))
        return failed(f, "import", "sending the endorsed blob");
    return true;
}

bool simflow_hash(struct simflow *f)
{
    if (!simhost_wait_for(&f->host, "Finished importing certificates.\n", f->text, sizeof(f->text)))
        return failed(f, "hash", "no \"Finished importing certificates.\"");
    if (!simhost_read_line(&f->host, f->line, sizeof(f->line)))
        return failed(f, "hash", "no response line");
    struct resp_line resp;
    struct ft_error err = {0};
    if (resp_parse_line(f->line, strlen(f->line) - 1, RESP_CRC_NONE, &resp, &err) != 1 ||
        devmsg_decode_sha256_hash(resp.json, resp.json_len, f->device_digest, &err) != 0)
        return failed(f, "hash", err.message[0] ? err.message : "not a RESP_OK line");
    return true;
}

bool simflow_done(struct simflow *f)
{
    if (!simhost_wait_for(&f->host, "Personalization done.\n", NULL, 0))
        return failed(f, "done", "no \"Personalization done.\"");
    return true;
}

bool simflow_run(struct simflow *f)
{
    return simflow_rma(f) && simflow_certgen(f) && simflow_export(f) && simflow_import(f) &&
           simflow_hash(f) && simflow_done(f);
}
