/* Fuzz target: the perso TLV decoder, both versions, and the writer's re-encoding of what
 * the decoder accepts (which must reproduce the input byte for byte). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/perso_blob.h"
#include "wire/perso_tlv.h"

/* With `v0_types`, V1 bodies may hold V0-headed objects of those types (as some firmware
 * writes them); each object re-encodes with the header it was read with. */
static void decode_and_reencode(const uint8_t *body, size_t len, enum perso_blob_version v,
                                unsigned v0_types)
{
    static uint8_t again[1 << 16];
    struct perso_tlv_iter it;
    if (perso_tlv_iter_init(&it, body, len, v, NULL) != 0)
        return;
    perso_tlv_iter_allow_v0(&it, v0_types);
    struct perso_tlv_writer w;
    if (perso_tlv_writer_init(&w, again, sizeof(again), v, NULL) != 0)
        abort();
    struct perso_obj obj;
    int rc;
    while ((rc = perso_tlv_iter_next(&it, &obj, NULL)) == 1) {
        if (obj.offset + obj.size > len || obj.payload + obj.payload_len > body + len)
            abort();
        int appended = perso_obj_type_is_cert(obj.type)
                           ? perso_tlv_append_cert_as(&w, obj.header_version, obj.type, obj.name,
                                                      obj.cert, obj.cert_len, NULL)
                           : perso_tlv_append_data_as(&w, obj.header_version, obj.type, obj.payload,
                                                      obj.payload_len, NULL);
        if (appended != 0)
            abort(); /* whatever decodes must encode */
    }
    if (rc == 0 && (w.len != len || memcmp(again, body, len) != 0))
        abort(); /* a valid body re-encodes to the same bytes */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copies so ASan sees any read past the body. */
    uint8_t *body = malloc(size ? size : 1);
    memcpy(body, data, size);
    decode_and_reencode(body, size, PERSO_BLOB_V0, 0);
    decode_and_reencode(body, size, PERSO_BLOB_V1, 0);
    decode_and_reencode(body, size, PERSO_BLOB_V1, ~0u);

    if (size <= PERSO_BLOB_BODY_MAX) {
        static struct perso_blob blob;
        memset(&blob, 0, sizeof(blob));
        memcpy(blob.body, body, size);
        blob.next_free = (uint32_t)size;
        blob.num_objs = size ? body[0] : 0;
        perso_blob_validate(&blob, PERSO_BLOB_V0, NULL);
        perso_blob_validate(&blob, PERSO_BLOB_V1, NULL);
        perso_blob_validate_mixed(&blob, PERSO_BLOB_V1, ~0u, NULL);
    }
    free(body);
    return 0;
}
