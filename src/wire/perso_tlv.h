/* The OpenTitan perso TLV blob body: back-to-back objects with big-endian headers.
 *
 * V0: 16-bit object header  (type:4 | size:12), cert sub-header (name_len:4 | wrapped:12).
 * V1: 32-bit object header  (type:8 | size:24), cert sub-header (name_len:8 | wrapped:24),
 *     and the body starts with the version object F0 04 00 01 (always V0-encoded), which
 *     counts as an object.
 * `size` includes the object header; `wrapped` = cert sub-header + name + cert.
 * Facts: reference/opentitan-ft-flow.md §4. Every rule enforced here is listed, with its
 * origin, in docs/wire-formats.md. */
#ifndef FTHARNESS_WIRE_PERSO_TLV_H
#define FTHARNESS_WIRE_PERSO_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* perso_blob_t.body size in the perso firmware (both blob versions). */
#define PERSO_BLOB_BODY_MAX 5120u
/* Longest cert name per version: the V0 name field has 4 bits, the V1 field 8 bits
 * (earlgrey_1.0.0 host and device accept 255; master's device firmware still stops at
 * 15, so SKU configs should keep names <= 15 characters). */
#define PERSO_CERT_NAME_MAX_V0 15u
#define PERSO_CERT_NAME_MAX_V1 255u
/* Size of WasTbsHmac, DeviceId and PersoSha256Hash payloads. */
#define PERSO_DIGEST_SIZE 32u
/* DevSeed payload: 2 x {key u32[8], context u32[8]}. */
#define PERSO_DEV_SEED_SIZE 128u
/* GenericSeed payloads longer than this do not fit the ATE's seed buffer. */
#define PERSO_GENERIC_SEED_MAX 128u
/* The V1 version object: type 15, size 4, version 1, always with a V0 header. */
#define PERSO_VERSION_OBJ_SIZE 4u

enum perso_blob_version {
    PERSO_BLOB_V0 = 0,
    PERSO_BLOB_V1 = 1,
};

enum perso_obj_type {
    PERSO_OBJ_X509_TBS = 0,
    PERSO_OBJ_X509_CERT = 1,
    PERSO_OBJ_DEV_SEED = 2,
    PERSO_OBJ_CWT_CERT = 3,
    PERSO_OBJ_WAS_TBS_HMAC = 4,
    PERSO_OBJ_DEVICE_ID = 5,
    PERSO_OBJ_GENERIC_SEED = 6,
    PERSO_OBJ_PERSO_SHA256_HASH = 7,
    PERSO_OBJ_BLOB_VERSION = 15,
};

/* One decoded object. Pointers borrow from the body passed to the iterator. */
struct perso_obj {
    enum perso_obj_type type;
    size_t index;           /* position in the blob, counting the V1 version object as 0 */
    size_t offset;          /* offset of the object header in the body */
    size_t size;            /* total size, headers included */
    const uint8_t *payload; /* bytes after the object header */
    size_t payload_len;
    /* Cert objects (X509_TBS, X509_CERT, CWT_CERT) only: */
    char name[PERSO_CERT_NAME_MAX_V1 + 1]; /* NUL-terminated */
    size_t name_len;
    const uint8_t *cert;
    size_t cert_len;
    /* The header encoding the object carried: the blob's version, or V0 for an object a
     * firmware wrote with a V0 header inside a V1 body (perso_tlv_iter_allow_v0). */
    enum perso_blob_version header_version;
};

/* Iterates a body; does not own it. */
struct perso_tlv_iter {
    const uint8_t *body;
    size_t len;
    size_t pos;
    size_t index;
    enum perso_blob_version version;
    unsigned v0_types; /* V1 only: types that may carry a V0 header (a bit per type) */
};

bool perso_obj_type_is_cert(enum perso_obj_type type);

/* "X509Tbs", "DeviceId", ...; "unknown" for values outside the enum. */
const char *perso_obj_type_name(enum perso_obj_type type);

/* Object/cert header length of a blob version: 2 for V0, 4 for V1. */
size_t perso_tlv_header_len(enum perso_blob_version version);

/* Reads the header at `p` as `version` encodes it, as (high field, size field): type and
 * size for an object header, name length and wrapped size for a cert sub-header. No
 * checks: `p` must hold perso_tlv_header_len(version) bytes. */
void perso_tlv_read_header(const uint8_t *p, enum perso_blob_version version, unsigned *high,
                           size_t *low);

/* Longest cert name a blob version can carry. */
size_t perso_tlv_name_max(enum perso_blob_version version);

/* Starts iterating `len` bytes of `body`. For V1 it checks and consumes the version
 * object, so the first object returned has index 1. */
int perso_tlv_iter_init(struct perso_tlv_iter *it, const uint8_t *body, size_t len,
                        enum perso_blob_version version, struct ft_error *err);

/* Starts iterating objects laid out without a version object, whatever the version (for
 * example the certificate TLVs of a flash info page). */
int perso_tlv_iter_init_bare(struct perso_tlv_iter *it, const uint8_t *body, size_t len,
                             enum perso_blob_version version, struct ft_error *err);

/* V1 bodies only: lets objects of the types in `types_mask` (a bit per perso_obj_type)
 * carry a V0 header, as some firmware writes them (wire/fw_gen.h). Each object is then
 * read both ways and taken only when exactly one reading is a whole valid object under
 * every decoder rule; when both are, the object is refused as ambiguous. */
void perso_tlv_iter_allow_v0(struct perso_tlv_iter *it, unsigned types_mask);

/* Decodes the next object into *obj. Returns 1 for an object, 0 at the end of the body,
 * -1 on a malformed object (the message names its index, offset and the rule). */
int perso_tlv_iter_next(struct perso_tlv_iter *it, struct perso_obj *obj, struct ft_error *err);

/* Validates a whole body and counts its objects (the V1 version object included, as in
 * perso_blob_t.num_objs). */
int perso_tlv_count(const uint8_t *body, size_t len, enum perso_blob_version version,
                    size_t *num_objs, struct ft_error *err);

/* As perso_tlv_count, with perso_tlv_iter_allow_v0(`v0_types`). */
int perso_tlv_count_mixed(const uint8_t *body, size_t len, enum perso_blob_version version,
                          unsigned v0_types, size_t *num_objs, struct ft_error *err);

/* Builds a body in a caller-owned buffer. */
struct perso_tlv_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;      /* == perso_blob_t.next_free */
    size_t num_objs; /* == perso_blob_t.num_objs */
    enum perso_blob_version version;
};

/* Starts an empty body; for V1 writes the version object. */
int perso_tlv_writer_init(struct perso_tlv_writer *w, uint8_t *buf, size_t cap,
                          enum perso_blob_version version, struct ft_error *err);

/* Starts a writer for objects only, without the V1 version object (flash info pages). */
int perso_tlv_writer_init_bare(struct perso_tlv_writer *w, uint8_t *buf, size_t cap,
                               enum perso_blob_version version, struct ft_error *err);

/* Appends a cert object (X509_TBS, X509_CERT or CWT_CERT) named `name`. The same rules
 * as the decoder apply, so whatever is appended decodes back unchanged. On failure the
 * body is left as it was. */
int perso_tlv_append_cert(struct perso_tlv_writer *w, enum perso_obj_type type, const char *name,
                          const uint8_t *cert, size_t cert_len, struct ft_error *err);

/* Appends a non-cert object (DevSeed, WasTbsHmac, DeviceId, GenericSeed, PersoSha256Hash). */
int perso_tlv_append_data(struct perso_tlv_writer *w, enum perso_obj_type type,
                          const uint8_t *payload, size_t payload_len, struct ft_error *err);

/* As perso_tlv_append_cert and perso_tlv_append_data, with the object's headers in
 * `header` rather than the writer's version: what firmware with a mixed-header defect
 * emits (ftsim's profiles, tests). */
int perso_tlv_append_cert_as(struct perso_tlv_writer *w, enum perso_blob_version header,
                             enum perso_obj_type type, const char *name, const uint8_t *cert,
                             size_t cert_len, struct ft_error *err);
int perso_tlv_append_data_as(struct perso_tlv_writer *w, enum perso_blob_version header,
                             enum perso_obj_type type, const uint8_t *payload, size_t payload_len,
                             struct ft_error *err);

/* Appends a decoded object (from any blob version) in the writer's version. */
int perso_tlv_append_obj(struct perso_tlv_writer *w, const struct perso_obj *obj,
                         struct ft_error *err);

#endif
