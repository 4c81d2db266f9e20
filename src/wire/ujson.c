#include "wire/ujson.h"

#include <inttypes.h>
#include <string.h>

#include "common/crc32.h"

/* Undoes a partly written message so a failed encode leaves `out` as it was. */
static int rollback(struct strbuf *out, size_t start, const char *what, struct ft_error *err)
{
    out->len = start;
    out->overflow = false;
    if (out->cap > 0)
        out->data[start] = '\0';
    return ft_fail(err, FT_E_CAPACITY, "%s: message does not fit the %zu-byte buffer", what,
                   out->cap);
}

int ujson_pad(struct strbuf *out, size_t start, size_t size, struct ft_error *err)
{
    size_t len = out->len - start;
    if (len == 0 || out->data[out->len - 1] != '}')
        return ft_fail(err, FT_E_INVALID, "ujson pad: message does not end with '}'");
    if (len > size)
        return ft_fail(err, FT_E_RANGE, "ujson pad: message of %zu bytes exceeds the %zu-byte size",
                       len, size);
    strbuf_insert_fill(out, out->len - 1, ' ', size - len);
    if (out->overflow)
        return rollback(out, start, "ujson pad", err);
    return 0;
}

static void append_u8_array(struct strbuf *out, const uint8_t *v, size_t n)
{
    strbuf_puts(out, "[");
    for (size_t i = 0; i < n; i++)
        strbuf_printf(out, i == 0 ? "%u" : ",%u", v[i]);
    strbuf_puts(out, "]");
}

static void append_u32_array(struct strbuf *out, const uint32_t *v, size_t n)
{
    strbuf_puts(out, "[");
    for (size_t i = 0; i < n; i++)
        strbuf_printf(out, i == 0 ? "%" PRIu32 : ",%" PRIu32, v[i]);
    strbuf_puts(out, "]");
}

/* Pads the message started at `start`, or undoes it when it did not fit. */
static int finish(struct strbuf *out, size_t start, size_t size, const char *what,
                  struct ft_error *err)
{
    if (out->overflow)
        return rollback(out, start, what, err);
    if (size == 0)
        return 0;
    if (ujson_pad(out, start, size, err) != 0) {
        out->len = start;
        out->data[start] = '\0';
        return ft_error_prefix(err, "%s", what);
    }
    return 0;
}

int ujson_crc_object(struct strbuf *out, uint32_t crc, struct ft_error *err)
{
    size_t start = out->len;
    strbuf_printf(out, "{\"crc\":%" PRIu32 "}", crc);
    return finish(out, start, UJSON_CRC_OBJ_SIZE, "crc object", err);
}

int ujson_lc_token_hash(struct strbuf *out, const uint64_t hash[2], struct ft_error *err)
{
    size_t start = out->len;
    strbuf_printf(out, "{\"hash\":[%" PRIu64 ",%" PRIu64 "]}", hash[0], hash[1]);
    if (finish(out, start, UJSON_LC_TOKEN_HASH_SIZE, "LcTokenHash", err) != 0)
        return -1;
    /* The device checks the CRC over every byte it consumed, padding included. */
    uint32_t crc = crc32_iso_hdlc(out->data + start, out->len - start);
    if (ujson_crc_object(out, crc, err) != 0) {
        out->len = start;
        out->data[start] = '\0';
        return ft_error_prefix(err, "LcTokenHash");
    }
    return 0;
}

int ujson_certgen_inputs(struct strbuf *out, const struct certgen_inputs *in, struct ft_error *err)
{
    if ((in->dice_auth_key_key_id_len != 0 && in->dice_auth_key_key_id_len != UJSON_KEY_ID_SIZE) ||
        (in->ext_auth_key_key_id_len != 0 && in->ext_auth_key_key_id_len != UJSON_KEY_ID_SIZE))
        return ft_fail(err, FT_E_INVALID,
                       "ManufCertgenInputs: key IDs must be absent or %u bytes (dice %zu, ext %zu)",
                       UJSON_KEY_ID_SIZE, in->dice_auth_key_key_id_len,
                       in->ext_auth_key_key_id_len);
    size_t start = out->len;
    strbuf_puts(out, "{\"dice_auth_key_key_id\":");
    append_u8_array(out, in->dice_auth_key_key_id, in->dice_auth_key_key_id_len);
    strbuf_puts(out, ",\"ext_auth_key_key_id\":");
    append_u8_array(out, in->ext_auth_key_key_id, in->ext_auth_key_key_id_len);
    if (in->has_blob_version)
        strbuf_printf(out, ",\"blob_version\":%u", in->blob_version);
    strbuf_puts(out, "}");
    if (out->overflow)
        return rollback(out, start, "ManufCertgenInputs", err);
    size_t len = out->len - start;
    size_t size = len > in->padded_size ? len : in->padded_size;
    return finish(out, start, size, "ManufCertgenInputs", err);
}

int ujson_perso_blob(struct strbuf *out, const struct perso_blob *blob, enum ujson_array_form form,
                     struct ft_error *err)
{
    if (blob->next_free > PERSO_BLOB_BODY_MAX)
        return ft_fail(err, FT_E_RANGE, "PersoBlob: next_free %u exceeds the body size %u",
                       blob->next_free, PERSO_BLOB_BODY_MAX);
    size_t start = out->len;
    size_t body_len = form == UJSON_DEVICE_FORM ? PERSO_BLOB_BODY_MAX : blob->next_free;
    strbuf_printf(out,
                  "{\"num_objs\":%" PRIu32 ",\"next_free\":%" PRIu32 ",\"body\":", blob->num_objs,
                  blob->next_free);
    append_u8_array(out, blob->body, body_len);
    strbuf_puts(out, "}");
    return finish(out, start, UJSON_PERSO_BLOB_SIZE, "PersoBlob", err);
}

int ujson_ft_individualize(struct strbuf *out, const uint32_t ft_device_id[4], struct ft_error *err)
{
    size_t start = out->len;
    strbuf_puts(out, "{\"ft_device_id\":");
    append_u32_array(out, ft_device_id, 4);
    strbuf_puts(out, "}");
    return finish(out, start, 0, "ManufFtIndividualizeData", err);
}

int ujson_sha256_hash(struct strbuf *out, const uint32_t data[8], struct ft_error *err)
{
    size_t start = out->len;
    strbuf_puts(out, "{\"data\":");
    append_u32_array(out, data, 8);
    strbuf_puts(out, "}");
    return finish(out, start, UJSON_SHA256_HASH_SIZE, "SerdesSha256Hash", err);
}
