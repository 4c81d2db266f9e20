/* Fuzz target: the device->host text decoders: RESP_OK/RESP_ERR lines, status_t, and the
 * strict PersoBlob and SerdesSha256Hash JSON decoders. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/devmsg.h"
#include "wire/resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);

    static struct perso_blob blob;
    uint8_t digest[SHA256_DIGEST_SIZE];
    struct resp_status status;

    /* The input as a whole line, then as a bare JSON message. */
    struct resp_line line;
    for (int policy = RESP_CRC_REQUIRED; policy <= RESP_CRC_NONE; policy++) {
        if (resp_parse_line(text, size, (enum resp_crc_policy)policy, &line, NULL) == 1) {
            if (line.json < text || line.json + line.json_len > text + size)
                abort();
            if (devmsg_decode_perso_blob(line.json, line.json_len, &blob, NULL) == 0)
                perso_blob_validate(&blob, PERSO_BLOB_V0, NULL);
            devmsg_decode_sha256_hash(line.json, line.json_len, digest, NULL);
            resp_decode_status(line.json, line.json_len, &status, NULL);
        }
    }
    if (devmsg_decode_perso_blob(text, size, &blob, NULL) == 0) {
        if (blob.next_free > PERSO_BLOB_BODY_MAX)
            abort();
        perso_blob_validate(&blob, PERSO_BLOB_V1, NULL);
    }
    devmsg_decode_sha256_hash(text, size, digest, NULL);
    resp_decode_status(text, size, &status, NULL);
    free(text);
    return 0;
}
