/* Fuzz target: the device->host text decoders: RESP_OK/RESP_ERR lines, status_t, and the
 * strict PersoBlob and SerdesSha256Hash JSON decoders.
 *
 * Input: byte 0 says what the rest is. Its low bit: 0 a bare JSON message, 1 a console
 * line, parsed under both CRC policies, whose JSON then goes on. The other bits, modulo 3,
 * pick the one decoder that JSON goes to: PersoBlob, SerdesSha256Hash or status_t.
 * Each decoder parses the whole text with jansson (a long PersoBlob is thousands of
 * integers), so sending every input to all three decoders, and a line's JSON once per
 * policy, parsed the same text up to six times; one decoder per input makes each
 * execution several times cheaper, and every decoder still sees both lines and bare JSON. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/devmsg.h"
#include "wire/resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum decoder { DEC_PERSO_BLOB, DEC_SHA256_HASH, DEC_STATUS, DEC_COUNT };

/* The line's JSON, the same under both policies when both accept it; NULL for no
 * response. */
static const char *parse_line(const char *text, size_t size, size_t *json_len)
{
    const char *json = NULL;
    struct resp_line line;
    for (int policy = RESP_CRC_REQUIRED; policy <= RESP_CRC_NONE; policy++) {
        if (resp_parse_line(text, size, (enum resp_crc_policy)policy, &line, NULL) != 1)
            continue;
        if (line.json < text || line.json + line.json_len > text + size)
            abort();
        if (json != NULL && (line.json != json || line.json_len != *json_len))
            abort();
        json = line.json;
        *json_len = line.json_len;
    }
    return json;
}

static void decode(enum decoder which, const char *json, size_t len, bool from_line)
{
    static struct perso_blob blob;
    uint8_t digest[SHA256_DIGEST_SIZE];
    struct resp_status status;
    switch (which) {
    case DEC_PERSO_BLOB:
        if (devmsg_decode_perso_blob(json, len, &blob, NULL) == 0) {
            if (blob.next_free > PERSO_BLOB_BODY_MAX)
                abort();
            /* Lines as the V0 firmware sends them, bare blobs as V1 hosts build them. */
            perso_blob_validate(&blob, from_line ? PERSO_BLOB_V0 : PERSO_BLOB_V1, NULL);
        }
        break;
    case DEC_SHA256_HASH:
        devmsg_decode_sha256_hash(json, len, digest, NULL);
        break;
    default:
        resp_decode_status(json, len, &status, NULL);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool line = (data[0] & 1) != 0;
    enum decoder which = (enum decoder)((data[0] >> 1) % DEC_COUNT);
    data++;
    size--;

    /* An exact-size copy, so any over-read is caught. */
    char *text = malloc(size ? size : 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    if (line) {
        size_t json_len = 0;
        const char *json = parse_line(text, size, &json_len);
        if (json != NULL)
            decode(which, json, json_len, true);
    } else {
        decode(which, text, size, false);
    }
    free(text);
    return 0;
}
