#include "pa/pa_proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "pa/pa_msg_pb.h"
#include "pa/pa_schema.h"

/* ---- Protobuf through the generated code -------------------------------------------------
 * A struct becomes the generated message of the same name (pa_msg_pb.c, which checks its
 * lengths, counts, UTF-8 and oneof rules), which protobuf-c packs: fields in number order,
 * defaults omitted, minimal varints, as Go's proto.Marshal writes them. Decoding runs the
 * other way, and packs the message again first: bytes that do not come back identical were
 * not in that canonical form. */

int pa_proto_encode(const struct pa_msg_desc *desc, const void *msg, struct pa_bytes *out,
                    struct ft_error *err)
{
    out->data = NULL;
    out->len = 0;
    ProtobufCMessage *pb = NULL;
    if (pa_msg_to_pb(desc, msg, &pb, err) != 0)
        return -1;
    size_t len = 0;
    uint8_t *data = pa_schema_pack(pb, 0, &len);
    protobuf_c_message_free_unpacked(pb, NULL);
    if (data == NULL)
        return ft_fail(err, FT_E_NOMEM, "%s: out of memory", desc->name);
    if (len == 0) {
        free(data);
        data = NULL;
    }
    out->data = data;
    out->len = len;
    return 0;
}

/* Where `a` and `b` first differ (the shorter length when one is a prefix). */
static size_t first_difference(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    size_t i = 0;
    while (i < a_len && i < b_len && a[i] == b[i])
        i++;
    return i;
}

int pa_proto_decode(const struct pa_msg_desc *desc, const uint8_t *data, size_t len, void *out,
                    struct ft_error *err)
{
    memset(out, 0, desc->size);
    ProtobufCMessage *pb = protobuf_c_message_unpack(desc->generated, NULL, len, data);
    if (pb == NULL)
        return ft_fail(err, FT_E_INVALID,
                       "%s: %zu bytes that are not a valid message (cut short, a wrong wire "
                       "type or a malformed varint)",
                       desc->name, len);
    /* The struct's rules first (limits, UTF-8, fields outside the schema), then the form. */
    int rc = pa_msg_from_pb(desc, pb, out, err);
    size_t again_len = 0;
    uint8_t *again = rc == 0 ? pa_schema_pack(pb, 0, &again_len) : NULL;
    protobuf_c_message_free_unpacked(pb, NULL);
    if (rc == 0 && again == NULL)
        rc = ft_fail(err, FT_E_NOMEM, "%s: out of memory", desc->name);
    else if (rc == 0 && (again_len != len || (len > 0 && memcmp(again, data, len) != 0)))
        rc = ft_fail(err, FT_E_INVALID,
                     "%s: not in canonical form at byte %zu (a field out of number order or "
                     "given twice, a default value written, a non-minimal varint, a second "
                     "oneof member or a string holding NUL)",
                     desc->name, first_difference(again, again_len, data, len));
    free(again);
    if (rc != 0) {
        pa_msg_free(desc, out);
        memset(out, 0, desc->size);
    }
    return rc;
}

int pa_device_data_to_proto(const struct pa_device_data *msg, struct pa_bytes *out,
                            struct ft_error *err)
{
    return pa_proto_encode(&pa_device_data_desc, msg, out, err);
}

int pa_device_data_from_proto(const uint8_t *data, size_t len, struct pa_device_data *out,
                              struct ft_error *err)
{
    return pa_proto_decode(&pa_device_data_desc, data, len, out, err);
}

int pa_registry_record_to_proto(const struct pa_registry_record *msg, struct pa_bytes *out,
                                struct ft_error *err)
{
    return pa_proto_encode(&pa_registry_record_desc, msg, out, err);
}

int pa_registry_record_from_proto(const uint8_t *data, size_t len, struct pa_registry_record *out,
                                  struct ft_error *err)
{
    return pa_proto_decode(&pa_registry_record_desc, data, len, out, err);
}

/* ---- Device IDs ------------------------------------------------------------------------- */

int pa_device_id_to_hex_string(const struct pa_device_id *id,
                               char out[PA_DEVICE_ID_HEX_STRING_LEN + 1], struct ft_error *err)
{
    if (!id->has_hardware_origin)
        return ft_fail(err, FT_E_INVALID, "device ID: no hardware_origin");
    size_t n = id->sku_specific.len;
    if (n > PA_SKU_SPECIFIC_MAX)
        return ft_fail(err, FT_E_CAPACITY, "device ID: sku_specific of %zu bytes, limit %u", n,
                       PA_SKU_SPECIFIC_MAX);
    /* Go's "%032x" on a byte slice: the bytes in order, zero-padded on the left. */
    size_t pad = 2 * (PA_SKU_SPECIFIC_MAX - n);
    memcpy(out, "0x", 2);
    memset(out + 2, '0', pad);
    if (hex_encode(id->sku_specific.data, n, out + 2 + pad, 2 * n + 1, err) != 0)
        return -1;
    const struct pa_hardware_origin *ho = &id->hardware_origin;
    snprintf(out + 34, PA_DEVICE_ID_HEX_STRING_LEN + 1 - 34, "%08x%016" PRIx64 "%04x%04x", 0u,
             ho->device_identification_number, (unsigned)(uint16_t)ho->product_id,
             (unsigned)(uint16_t)ho->silicon_creator_id);
    return 0;
}

static bool known_silicon_creator(int32_t v)
{
    return v == PA_SILICON_CREATOR_ID_OPENSOURCE || v == PA_SILICON_CREATOR_ID_NUVOTON ||
           v == PA_SILICON_CREATOR_ID_FPGA;
}

static bool known_product(int32_t v)
{
    return v == PA_PRODUCT_ID_EARLGREY_Z1 || v == PA_PRODUCT_ID_EARLGREY_A1 ||
           v == PA_PRODUCT_ID_EARLGREY_A2 || v == PA_PRODUCT_ID_FPGA;
}

int pa_device_id_validate(const struct pa_device_id *id, struct ft_error *err)
{
    if (!id->has_hardware_origin)
        return ft_fail(err, FT_E_INVALID, "device ID: no hardware_origin");
    if (!known_silicon_creator(id->hardware_origin.silicon_creator_id))
        return ft_fail(err, FT_E_INVALID, "device ID: invalid silicon_creator_id %" PRId32,
                       id->hardware_origin.silicon_creator_id);
    if (!known_product(id->hardware_origin.product_id))
        return ft_fail(err, FT_E_INVALID, "device ID: invalid product_id %" PRId32,
                       id->hardware_origin.product_id);
    if (id->sku_specific.len != 0 && id->sku_specific.len != PA_SKU_SPECIFIC_MAX)
        return ft_fail(err, FT_E_INVALID, "device ID: sku_specific of %zu bytes (0 or %u)",
                       id->sku_specific.len, PA_SKU_SPECIFIC_MAX);
    return 0;
}

static void put_le(uint8_t *p, uint64_t v, size_t size)
{
    for (size_t i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int pa_device_id_to_raw(const struct pa_device_id *id, uint8_t out[PA_DEVICE_ID_RAW_SIZE],
                        struct ft_error *err)
{
    if (pa_device_id_validate(id, err) != 0)
        return -1;
    const struct pa_hardware_origin *ho = &id->hardware_origin;
    memset(out, 0, PA_DEVICE_ID_RAW_SIZE);
    put_le(out, (uint16_t)ho->silicon_creator_id, 2);
    put_le(out + 2, (uint16_t)ho->product_id, 2);
    put_le(out + 4, ho->device_identification_number, 8);
    put_le(out + 12, ho->cp_reserved, 4);
    memcpy(out + 16, id->sku_specific.data, id->sku_specific.len);
    return 0;
}

int pa_device_id_from_raw(const uint8_t raw[PA_DEVICE_ID_RAW_SIZE], struct pa_device_id *out,
                          struct ft_error *err)
{
    memset(out, 0, sizeof(*out));
    out->has_hardware_origin = true;
    out->hardware_origin.silicon_creator_id = (int32_t)get_le(raw, 2);
    out->hardware_origin.product_id = (int32_t)get_le(raw + 2, 2);
    out->hardware_origin.device_identification_number = get_le(raw + 4, 8);
    out->hardware_origin.cp_reserved = (uint32_t)get_le(raw + 12, 4);
    memcpy(out->sku_specific.data, raw + 16, PA_SKU_SPECIFIC_MAX);
    out->sku_specific.len = PA_SKU_SPECIFIC_MAX;
    if (pa_device_id_validate(out, err) != 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

int pa_device_id_to_raw_hex(const struct pa_device_id *id, char out[PA_DEVICE_ID_RAW_HEX_LEN + 1],
                            struct ft_error *err)
{
    uint8_t raw[PA_DEVICE_ID_RAW_SIZE], reversed[PA_DEVICE_ID_RAW_SIZE];
    if (pa_device_id_to_raw(id, raw, err) != 0)
        return -1;
    for (size_t i = 0; i < PA_DEVICE_ID_RAW_SIZE; i++)
        reversed[i] = raw[PA_DEVICE_ID_RAW_SIZE - 1 - i];
    return hex_encode(reversed, sizeof(reversed), out, PA_DEVICE_ID_RAW_HEX_LEN + 1, err);
}
