/* perso_blob_t, the ujson message that carries a perso TLV body in both directions. */
#ifndef FTHARNESS_WIRE_PERSO_BLOB_H
#define FTHARNESS_WIRE_PERSO_BLOB_H

#include <stdint.h>

#include "common/error.h"
#include "wire/perso_tlv.h"

struct perso_blob {
    uint32_t num_objs;  /* size_t on the 32-bit device */
    uint32_t next_free; /* bytes of body in use */
    uint8_t body[PERSO_BLOB_BODY_MAX];
};

/* Checks that body[0..next_free) is a valid TLV body of `version` holding exactly
 * num_objs objects. */
int perso_blob_validate(const struct perso_blob *blob, enum perso_blob_version version,
                        struct ft_error *err);

/* As perso_blob_validate, for a body whose objects of `v0_types` may carry V0 headers in
 * a V1 body (perso_tlv_iter_allow_v0). */
int perso_blob_validate_mixed(const struct perso_blob *blob, enum perso_blob_version version,
                              unsigned v0_types, struct ft_error *err);

/* Fills `blob` from a finished writer (num_objs, next_free and body); fails when the
 * writer holds more than a blob body. */
int perso_blob_from_writer(struct perso_blob *blob, const struct perso_tlv_writer *w,
                           struct ft_error *err);

#endif
