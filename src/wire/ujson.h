/* Encoders for the ujson messages exchanged with the perso firmware, byte-exact with
 * upstream (reference/opentitan-ft-flow.md §5):
 *  - compact JSON, fields in C declaration order, decimal integers;
 *  - "padding" = spaces inserted before the final '}' up to a fixed size;
 *  - host form of arrays: only the elements in use (serde ArrayVec); device form: the
 *    whole C array (ujson_derive).
 * Host->device messages are raw JSON: no newline, no RESP_OK prefix. Every function
 * appends to `out` and fails with FT_E_CAPACITY, leaving out->len unchanged, when the
 * message does not fit. */
#ifndef FTHARNESS_WIRE_UJSON_H
#define FTHARNESS_WIRE_UJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "wire/perso_blob.h"

/* Padded sizes from provisioning_data.h and ottf.h. */
#define UJSON_LC_TOKEN_HASH_SIZE 52u
#define UJSON_CRC_OBJ_SIZE 18u              /* strlen("{\"crc\":4294967295}") */
#define UJSON_CERTGEN_INPUTS_SIZE 215u      /* upstream constant; see ujson_certgen_inputs */
#define UJSON_CERTGEN_INPUTS_SIZE_RC17 210u /* a2-rc17: no blob_version field */
#define UJSON_CERTGEN_INPUTS_MAX 227u       /* true maximum with all-255 key IDs */
#define UJSON_PERSO_BLOB_SIZE 20535u
#define UJSON_SHA256_HASH_SIZE 98u
#define UJSON_FT_INDIVIDUALIZE_MAX 62u /* not padded; the longest possible message */
#define UJSON_KEY_ID_SIZE 20u

enum ujson_array_form {
    UJSON_HOST_FORM,   /* arrays hold only the elements in use */
    UJSON_DEVICE_FORM, /* fixed arrays emitted in full */
};

/* manuf_certgen_inputs_t. A key ID is either absent (len 0, sent as []) or 20 bytes.
 * Firmware before earlgrey-1.0.0 has no blob_version field and refuses it. */
struct certgen_inputs {
    uint8_t dice_auth_key_key_id[UJSON_KEY_ID_SIZE];
    size_t dice_auth_key_key_id_len;
    uint8_t ext_auth_key_key_id[UJSON_KEY_ID_SIZE];
    size_t ext_auth_key_key_id_len;
    bool has_blob_version;
    uint16_t blob_version;
    size_t padded_size; /* the generation's: 215, or 210 without blob_version */
};

/* Inserts spaces before the final '}' of the JSON object that starts at `start` in `out`
 * so it is `size` bytes long. Fails when it is already longer or does not end in '}'. */
int ujson_pad(struct strbuf *out, size_t start, size_t size, struct ft_error *err);

/* `{"crc":N}` padded to 18 bytes, N = CRC-32/ISO-HDLC of the preceding message bytes. */
int ujson_crc_object(struct strbuf *out, uint32_t crc, struct ft_error *err);

/* lc_token_hash_t padded to 52, then its CRC object padded to 18 (70 bytes in all): the
 * RMA token hash step's send_with_padding_and_crc. */
int ujson_lc_token_hash(struct strbuf *out, const uint64_t hash[2], struct ft_error *err);

/* manuf_certgen_inputs_t padded to max(padded_size, length). Upstream pads to 215, which
 * is less than the longest possible message with blob_version (227); padding to the larger
 * of the two keeps every message that fits upstream byte-identical and never truncates
 * one that does not. Without blob_version the longest message is exactly 210. */
int ujson_certgen_inputs(struct strbuf *out, const struct certgen_inputs *in, struct ft_error *err);

/* perso_blob_t padded to 20535. Host form emits body[0..next_free). */
int ujson_perso_blob(struct strbuf *out, const struct perso_blob *blob, enum ujson_array_form form,
                     struct ft_error *err);

/* manuf_ft_individualize_data_t, not padded, no CRC. Words in device order (w0 = least
 * significant 32 bits of the FT device ID). */
int ujson_ft_individualize(struct strbuf *out, const uint32_t ft_device_id[4],
                           struct ft_error *err);

/* serdes_sha256_hash_t padded to 98 (device form: always 8 words). */
int ujson_sha256_hash(struct strbuf *out, const uint32_t data[8], struct ft_error *err);

#endif
