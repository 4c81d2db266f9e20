#include "wire/perso_tlv.h"

#include <string.h>

#include "common/endian.h"

/* Largest object size each header can express. */
#define V0_SIZE_MAX 0xFFFu
#define V1_SIZE_MAX 0xFFFFFFu

bool perso_obj_type_is_cert(enum perso_obj_type type)
{
    return type == PERSO_OBJ_X509_TBS || type == PERSO_OBJ_X509_CERT || type == PERSO_OBJ_CWT_CERT;
}

const char *perso_obj_type_name(enum perso_obj_type type)
{
    switch (type) {
    case PERSO_OBJ_X509_TBS:
        return "X509Tbs";
    case PERSO_OBJ_X509_CERT:
        return "X509Cert";
    case PERSO_OBJ_DEV_SEED:
        return "DevSeed";
    case PERSO_OBJ_CWT_CERT:
        return "CwtCert";
    case PERSO_OBJ_WAS_TBS_HMAC:
        return "WasTbsHmac";
    case PERSO_OBJ_DEVICE_ID:
        return "DeviceId";
    case PERSO_OBJ_GENERIC_SEED:
        return "GenericSeed";
    case PERSO_OBJ_PERSO_SHA256_HASH:
        return "PersoSha256Hash";
    case PERSO_OBJ_BLOB_VERSION:
        return "BlobVersion";
    }
    return "unknown";
}

static bool version_is_known(enum perso_blob_version version)
{
    return version == PERSO_BLOB_V0 || version == PERSO_BLOB_V1;
}

size_t perso_tlv_header_len(enum perso_blob_version version)
{
    return version == PERSO_BLOB_V1 ? 4 : 2;
}

size_t perso_tlv_name_max(enum perso_blob_version version)
{
    return version == PERSO_BLOB_V1 ? PERSO_CERT_NAME_MAX_V1 : PERSO_CERT_NAME_MAX_V0;
}

static size_t object_size_max(enum perso_blob_version version)
{
    return version == PERSO_BLOB_V1 ? V1_SIZE_MAX : V0_SIZE_MAX;
}

void perso_tlv_read_header(const uint8_t *p, enum perso_blob_version version, unsigned *high,
                           size_t *low)
{
    if (version == PERSO_BLOB_V1) {
        uint32_t h = load_be32(p);
        *high = h >> 24;
        *low = h & V1_SIZE_MAX;
    } else {
        uint16_t h = load_be16(p);
        *high = h >> 12;
        *low = h & V0_SIZE_MAX;
    }
}

static void write_header(uint8_t *p, enum perso_blob_version version, unsigned high, size_t low)
{
    if (version == PERSO_BLOB_V1)
        store_be32(p, (uint32_t)high << 24 | (uint32_t)low);
    else
        store_be16(p, (uint16_t)(high << 12 | low));
}

/* The rules below are shared by the decoder and the encoder, so anything the encoder
 * accepts decodes back unchanged. They return 0 or fail with a message that the caller
 * prefixes with the object's position. */

static int check_cert_name(const char *name, size_t len, enum perso_blob_version version,
                           struct ft_error *err)
{
    if (len == 0 || len > perso_tlv_name_max(version))
        return ft_fail(err, FT_E_INVALID, "cert name length %zu is outside 1..%zu", len,
                       perso_tlv_name_max(version));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c > 0x7E)
            return ft_fail(err, FT_E_INVALID, "cert name byte %zu is 0x%02x, not printable ASCII",
                           i, c);
    }
    return 0;
}

/* X.509 objects hold one DER SEQUENCE with a minimally encoded definite length that
 * covers the cert exactly. The device reads an endorsed cert's length as `30 82 HH LL`,
 * so X509Cert objects must use that form. */
static int check_der_sequence(enum perso_obj_type type, const uint8_t *der, size_t len,
                              struct ft_error *err)
{
    if (len < 2 || der[0] != 0x30)
        return ft_fail(err, FT_E_INVALID, "%s body is not a DER SEQUENCE",
                       perso_obj_type_name(type));
    size_t header;
    size_t content;
    if (der[1] < 0x80) {
        header = 2;
        content = der[1];
    } else if (der[1] == 0x81 && len >= 3 && der[2] >= 0x80) {
        header = 3;
        content = der[2];
    } else if (der[1] == 0x82 && len >= 4 && der[2] != 0) {
        header = 4;
        content = load_be16(der + 2);
    } else if (der[1] == 0x83 && len >= 5 && der[2] != 0) {
        header = 5;
        content = (size_t)der[2] << 16 | load_be16(der + 3);
    } else {
        return ft_fail(err, FT_E_INVALID, "%s body has a malformed DER length (0x%02x)",
                       perso_obj_type_name(type), der[1]);
    }
    if (type == PERSO_OBJ_X509_CERT && header != 4)
        return ft_fail(err, FT_E_INVALID,
                       "X509Cert body must start 30 82 HH LL (the device reads that form)");
    if (header + content != len)
        return ft_fail(err, FT_E_INVALID, "%s DER length %zu does not match the body size %zu",
                       perso_obj_type_name(type), header + content, len);
    return 0;
}

static int check_cert_body(enum perso_obj_type type, const uint8_t *cert, size_t len,
                           struct ft_error *err)
{
    if (type == PERSO_OBJ_CWT_CERT) {
        if (len == 0)
            return ft_fail(err, FT_E_INVALID, "CwtCert body is empty");
        return 0;
    }
    return check_der_sequence(type, cert, len, err);
}

static int check_data_payload(enum perso_obj_type type, size_t len, struct ft_error *err)
{
    size_t min;
    size_t max;
    switch (type) {
    case PERSO_OBJ_WAS_TBS_HMAC:
    case PERSO_OBJ_DEVICE_ID:
    case PERSO_OBJ_PERSO_SHA256_HASH:
        min = max = PERSO_DIGEST_SIZE;
        break;
    case PERSO_OBJ_DEV_SEED:
        min = max = PERSO_DEV_SEED_SIZE;
        break;
    case PERSO_OBJ_GENERIC_SEED:
        min = 1;
        max = PERSO_GENERIC_SEED_MAX;
        break;
    default:
        return ft_fail(err, FT_E_INVALID, "type %u is not a data object", (unsigned)type);
    }
    if (len < min || len > max) {
        if (min == max)
            return ft_fail(err, FT_E_INVALID, "%s payload is %zu bytes, must be %zu",
                           perso_obj_type_name(type), len, min);
        return ft_fail(err, FT_E_INVALID, "%s payload is %zu bytes, must be %zu..%zu",
                       perso_obj_type_name(type), len, min, max);
    }
    return 0;
}

static bool type_is_data(unsigned type)
{
    return type == PERSO_OBJ_DEV_SEED || type == PERSO_OBJ_WAS_TBS_HMAC ||
           type == PERSO_OBJ_DEVICE_ID || type == PERSO_OBJ_GENERIC_SEED ||
           type == PERSO_OBJ_PERSO_SHA256_HASH;
}

int perso_tlv_iter_init_bare(struct perso_tlv_iter *it, const uint8_t *body, size_t len,
                             enum perso_blob_version version, struct ft_error *err)
{
    if (!version_is_known(version))
        return ft_fail(err, FT_E_INVALID, "unknown perso blob version %d", (int)version);
    it->body = body;
    it->len = len;
    it->pos = 0;
    it->index = 0;
    it->version = version;
    it->v0_types = 0;
    return 0;
}

int perso_tlv_iter_init(struct perso_tlv_iter *it, const uint8_t *body, size_t len,
                        enum perso_blob_version version, struct ft_error *err)
{
    if (perso_tlv_iter_init_bare(it, body, len, version, err) != 0)
        return -1;
    if (version == PERSO_BLOB_V0)
        return 0;

    if (len < PERSO_VERSION_OBJ_SIZE)
        return ft_fail(err, FT_E_TRUNCATED,
                       "object 0 at offset 0: a V1 body must start with the 4-byte version "
                       "object, body has %zu bytes",
                       len);
    unsigned type;
    size_t size;
    perso_tlv_read_header(body, PERSO_BLOB_V0, &type, &size);
    if (type != PERSO_OBJ_BLOB_VERSION || size != PERSO_VERSION_OBJ_SIZE)
        return ft_fail(err, FT_E_INVALID,
                       "object 0 at offset 0: a V1 body must start with the version object "
                       "F0 04, found %02X %02X",
                       body[0], body[1]);
    uint16_t value = load_be16(body + 2);
    if (value != PERSO_BLOB_V1)
        return ft_fail(err, FT_E_INVALID,
                       "object 0 at offset 0: version object says version %u, expected 1", value);
    it->pos = PERSO_VERSION_OBJ_SIZE;
    it->index = 1;
    return 0;
}

static int decode_cert(enum perso_blob_version hv, struct perso_obj *obj, struct ft_error *err)
{
    size_t hl = perso_tlv_header_len(hv);
    if (obj->payload_len < hl)
        return ft_fail(err, FT_E_TRUNCATED, "%s object too small for its %zu-byte cert header",
                       perso_obj_type_name(obj->type), hl);
    unsigned name_len;
    size_t wrapped;
    perso_tlv_read_header(obj->payload, hv, &name_len, &wrapped);
    if (wrapped != obj->payload_len)
        return ft_fail(err, FT_E_INVALID,
                       "cert header wrapped size %zu does not match the %zu bytes after the "
                       "object header",
                       wrapped, obj->payload_len);
    if (hl + name_len > wrapped)
        return ft_fail(err, FT_E_TRUNCATED, "cert name of %u bytes runs past the object end",
                       name_len);
    const char *name = (const char *)obj->payload + hl;
    if (check_cert_name(name, name_len, hv, err) != 0)
        return -1;
    memcpy(obj->name, name, name_len);
    obj->name[name_len] = '\0';
    obj->name_len = name_len;
    obj->cert = obj->payload + hl + name_len;
    obj->cert_len = wrapped - hl - name_len;
    if (check_cert_body(obj->type, obj->cert, obj->cert_len, err) != 0)
        return ft_error_prefix(err, "cert \"%s\"", obj->name);
    return 0;
}

/* Decodes the object at it->pos with headers of version `hv`; names no position. */
static int decode_object(const struct perso_tlv_iter *it, enum perso_blob_version hv,
                         struct perso_obj *obj, struct ft_error *err)
{
    size_t remaining = it->len - it->pos;
    size_t hl = perso_tlv_header_len(hv);
    memset(obj, 0, sizeof(*obj));
    if (remaining < hl)
        return ft_fail(err, FT_E_TRUNCATED, "%zu bytes left, the header needs %zu", remaining, hl);
    unsigned type;
    size_t size;
    perso_tlv_read_header(it->body + it->pos, hv, &type, &size);
    if (size < hl)
        return ft_fail(err, FT_E_INVALID, "declared size %zu is smaller than its %zu-byte header",
                       size, hl);
    if (size > remaining)
        return ft_fail(err, FT_E_TRUNCATED, "declared size %zu exceeds the %zu bytes left", size,
                       remaining);
    if (type == PERSO_OBJ_BLOB_VERSION)
        return ft_fail(err, FT_E_INVALID, "a version object may only open a V1 body");
    if (!perso_obj_type_is_cert((enum perso_obj_type)type) && !type_is_data(type))
        return ft_fail(err, FT_E_INVALID, "unknown object type %u", type);

    obj->type = (enum perso_obj_type)type;
    obj->index = it->index;
    obj->offset = it->pos;
    obj->size = size;
    obj->payload = it->body + it->pos + hl;
    obj->payload_len = size - hl;
    obj->header_version = hv;
    return perso_obj_type_is_cert(obj->type) ? decode_cert(hv, obj, err)
                                             : check_data_payload(obj->type, obj->payload_len, err);
}

void perso_tlv_iter_allow_v0(struct perso_tlv_iter *it, unsigned types_mask)
{
    it->v0_types = it->version == PERSO_BLOB_V1 ? types_mask : 0;
}

int perso_tlv_iter_next(struct perso_tlv_iter *it, struct perso_obj *obj, struct ft_error *err)
{
    if (it->pos == it->len)
        return 0;
    int rc = decode_object(it, it->version, obj, err);
    if (it->v0_types != 0) {
        /* A V0 header is a different reading of the same bytes: take it only when it is
         * the one valid reading, for a type the firmware is known to write that way. */
        struct perso_obj alt;
        bool alt_ok = decode_object(it, PERSO_BLOB_V0, &alt, NULL) == 0 &&
                      (it->v0_types & (1u << (unsigned)alt.type)) != 0;
        if (rc == 0 && alt_ok)
            return ft_fail(err, FT_E_INVALID,
                           "object %zu at offset %zu: ambiguous header, valid both as a V1 %s "
                           "and as a V0 %s object",
                           it->index, it->pos, perso_obj_type_name(obj->type),
                           perso_obj_type_name(alt.type));
        if (rc != 0 && alt_ok) {
            *obj = alt;
            rc = 0;
        }
    }
    if (rc != 0)
        return ft_error_prefix(err, "object %zu at offset %zu", it->index, it->pos);
    it->pos += obj->size;
    it->index++;
    return 1;
}

int perso_tlv_count(const uint8_t *body, size_t len, enum perso_blob_version version,
                    size_t *num_objs, struct ft_error *err)
{
    return perso_tlv_count_mixed(body, len, version, 0, num_objs, err);
}

int perso_tlv_count_mixed(const uint8_t *body, size_t len, enum perso_blob_version version,
                          unsigned v0_types, size_t *num_objs, struct ft_error *err)
{
    struct perso_tlv_iter it;
    if (perso_tlv_iter_init(&it, body, len, version, err) != 0)
        return -1;
    perso_tlv_iter_allow_v0(&it, v0_types);
    struct perso_obj obj;
    int rc;
    while ((rc = perso_tlv_iter_next(&it, &obj, err)) == 1)
        ;
    if (rc < 0)
        return -1;
    *num_objs = it.index;
    return 0;
}

int perso_tlv_writer_init_bare(struct perso_tlv_writer *w, uint8_t *buf, size_t cap,
                               enum perso_blob_version version, struct ft_error *err)
{
    if (!version_is_known(version))
        return ft_fail(err, FT_E_INVALID, "unknown perso blob version %d", (int)version);
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->num_objs = 0;
    w->version = version;
    return 0;
}

int perso_tlv_writer_init(struct perso_tlv_writer *w, uint8_t *buf, size_t cap,
                          enum perso_blob_version version, struct ft_error *err)
{
    if (perso_tlv_writer_init_bare(w, buf, cap, version, err) != 0)
        return -1;
    if (version == PERSO_BLOB_V0)
        return 0;
    if (cap < PERSO_VERSION_OBJ_SIZE)
        return ft_fail(err, FT_E_CAPACITY, "a V1 body needs 4 bytes for its version object");
    write_header(buf, PERSO_BLOB_V0, PERSO_OBJ_BLOB_VERSION, PERSO_VERSION_OBJ_SIZE);
    store_be16(buf + 2, PERSO_BLOB_V1);
    w->len = PERSO_VERSION_OBJ_SIZE;
    w->num_objs = 1;
    return 0;
}

/* Checks that an object of `size` bytes can be expressed in `header` and fits. */
static int reserve(const struct perso_tlv_writer *w, enum perso_blob_version header,
                   const char *what, size_t size, struct ft_error *err)
{
    size_t max = object_size_max(header);
    if (size > max)
        return ft_fail(err, FT_E_RANGE, "object %zu (%s): size %zu exceeds the V%d limit of %zu",
                       w->num_objs, what, size, (int)header, max);
    if (size > w->cap - w->len)
        return ft_fail(err, FT_E_CAPACITY,
                       "object %zu (%s): %zu bytes do not fit, %zu of %zu bytes left", w->num_objs,
                       what, size, w->cap - w->len, w->cap);
    return 0;
}

/* A V0 header in a V1 body is a defect some firmware has; never anything else. */
static int check_header(const struct perso_tlv_writer *w, enum perso_blob_version header,
                        struct ft_error *err)
{
    if (header == w->version || (header == PERSO_BLOB_V0 && w->version == PERSO_BLOB_V1))
        return 0;
    return ft_fail(err, FT_E_INVALID, "object %zu: V%d headers in a V%d body", w->num_objs,
                   (int)header, (int)w->version);
}

int perso_tlv_append_cert(struct perso_tlv_writer *w, enum perso_obj_type type, const char *name,
                          const uint8_t *cert, size_t cert_len, struct ft_error *err)
{
    return perso_tlv_append_cert_as(w, w->version, type, name, cert, cert_len, err);
}

int perso_tlv_append_cert_as(struct perso_tlv_writer *w, enum perso_blob_version header,
                             enum perso_obj_type type, const char *name, const uint8_t *cert,
                             size_t cert_len, struct ft_error *err)
{
    if (check_header(w, header, err) != 0)
        return -1;
    if (!perso_obj_type_is_cert(type))
        return ft_fail(err, FT_E_INVALID, "object %zu: type %u is not a cert object", w->num_objs,
                       (unsigned)type);
    size_t name_len = strnlen(name, PERSO_CERT_NAME_MAX_V1 + 1);
    if (check_cert_name(name, name_len, header, err) != 0 ||
        check_cert_body(type, cert, cert_len, err) != 0)
        return ft_error_prefix(err, "object %zu", w->num_objs);

    size_t hl = perso_tlv_header_len(header);
    if (cert_len > SIZE_MAX / 2)
        return ft_fail(err, FT_E_RANGE, "object %zu: cert of %zu bytes", w->num_objs, cert_len);
    size_t wrapped = hl + name_len + cert_len;
    size_t size = hl + wrapped;
    if (reserve(w, header, name, size, err) != 0)
        return -1;

    uint8_t *p = w->buf + w->len;
    write_header(p, header, type, size);
    write_header(p + hl, header, (unsigned)name_len, wrapped);
    memcpy(p + 2 * hl, name, name_len);
    memcpy(p + 2 * hl + name_len, cert, cert_len);
    w->len += size;
    w->num_objs++;
    return 0;
}

int perso_tlv_append_data(struct perso_tlv_writer *w, enum perso_obj_type type,
                          const uint8_t *payload, size_t payload_len, struct ft_error *err)
{
    return perso_tlv_append_data_as(w, w->version, type, payload, payload_len, err);
}

int perso_tlv_append_data_as(struct perso_tlv_writer *w, enum perso_blob_version header,
                             enum perso_obj_type type, const uint8_t *payload, size_t payload_len,
                             struct ft_error *err)
{
    if (check_header(w, header, err) != 0)
        return -1;
    if (!type_is_data(type))
        return ft_fail(err, FT_E_INVALID, "object %zu: type %u is not a data object", w->num_objs,
                       (unsigned)type);
    if (check_data_payload(type, payload_len, err) != 0)
        return ft_error_prefix(err, "object %zu", w->num_objs);

    size_t hl = perso_tlv_header_len(header);
    size_t size = hl + payload_len;
    if (reserve(w, header, perso_obj_type_name(type), size, err) != 0)
        return -1;
    write_header(w->buf + w->len, header, type, size);
    memcpy(w->buf + w->len + hl, payload, payload_len);
    w->len += size;
    w->num_objs++;
    return 0;
}

int perso_tlv_append_obj(struct perso_tlv_writer *w, const struct perso_obj *obj,
                         struct ft_error *err)
{
    if (perso_obj_type_is_cert(obj->type))
        return perso_tlv_append_cert(w, obj->type, obj->name, obj->cert, obj->cert_len, err);
    return perso_tlv_append_data(w, obj->type, obj->payload, obj->payload_len, err);
}
