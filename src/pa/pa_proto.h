/* Protobuf binary encoding of the PA message structs, and the OpenTitan device-ID strings.
 *
 * Upstream's RegisterDevice signs `proto.Marshal(DeviceData)` and stores those bytes in
 * RegistryRecord.data, so a registry record is only verifiable when our bytes equal Go's.
 * The bytes are protobuf-c's, packing the message generated from proto/ (pa_pb): fields
 * in field-number order (DeviceData's field 8 after 7 although declared before it),
 * default values omitted, present sub-messages always written (an empty one as tag +
 * length 0), minimal varints, negative enums as 10-byte varints, as Go's proto.Marshal
 * writes proto3 (test_pa_proto_schema holds them against Python's protobuf and protoc).
 * The struct is copied into the generated message (pa_msg_pb.h, which checks lengths,
 * counts, UTF-8 and oneof rules).
 *
 * The decoder is strict and canonical: bytes protobuf-c parses must pack back to the very
 * same bytes, so decode(x) succeeding implies encode(decode(x)) == x. It refuses unknown
 * fields, wrong wire types, fields out of number order or repeated when singular,
 * explicitly encoded default values, non-minimal varints, strings that are not UTF-8 or
 * hold NUL, and anything over the limits of pa_msg.h. (Go's proto.Unmarshal is more
 * lenient; this decoder reads our own records back.)
 *
 * Works for any descriptor of pa_msg.h; DeviceData and RegistryRecord have typed
 * wrappers. Ownership as in pa_msg.h: `out` buffers are NEW, free(out->data). */
#ifndef FTHARNESS_PA_PA_PROTO_H
#define FTHARNESS_PA_PA_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pa/pa_msg.h"

/* Encodes `msg` into a new heap buffer: out->data (free() it; NULL when the encoding is
 * empty) and out->len. Checks lengths, counts, UTF-8 and oneof rules first. */
int pa_proto_encode(const struct pa_msg_desc *desc, const void *msg, struct pa_bytes *out,
                    struct ft_error *err);

/* Decodes `len` bytes into `out` (overwritten; zeroed and owning nothing on failure). */
int pa_proto_decode(const struct pa_msg_desc *desc, const uint8_t *data, size_t len, void *out,
                    struct ft_error *err);

int pa_device_data_to_proto(const struct pa_device_data *msg, struct pa_bytes *out,
                            struct ft_error *err);
int pa_device_data_from_proto(const uint8_t *data, size_t len, struct pa_device_data *out,
                              struct ft_error *err);
int pa_registry_record_to_proto(const struct pa_registry_record *msg, struct pa_bytes *out,
                                struct ft_error *err);
int pa_registry_record_from_proto(const uint8_t *data, size_t len, struct pa_registry_record *out,
                                  struct ft_error *err);

/* ---- Device IDs (upstream src/proto/device_id_utils.go, src/utils/devid.go) ----------- */

#define PA_DEVICE_ID_RAW_SIZE 32u
#define PA_DEVICE_ID_HEX_STRING_LEN 66u /* "0x" + 64 hex digits */
#define PA_DEVICE_ID_RAW_HEX_LEN 64u

/* DeviceIdToHexString: the RegistryRecord.device_id and registry primary key,
 *   "0x" + sku_specific (bytes in order, left zero-padded to 32 digits)
 *        + "00000000" (cp_reserved is always written as 0)
 *        + device_identification_number (16 digits) + product_id (4) + silicon_creator_id (4)
 * lower case, 66 characters plus NUL. Enum values are cut to 16 bits as upstream does.
 * No validation (upstream has none here); fails only without hardware_origin, where
 * upstream dereferences nil. */
int pa_device_id_to_hex_string(const struct pa_device_id *id,
                               char out[PA_DEVICE_ID_HEX_STRING_LEN + 1], struct ft_error *err);

/* ValidateDeviceId: hardware_origin present; silicon_creator_id one of OPENSOURCE, NUVOTON,
 * FPGA and product_id one of EARLGREY_Z1/A1/A2, FPGA (both within 16 bits); sku_specific
 * 0 or 16 bytes. */
int pa_device_id_validate(const struct pa_device_id *id, struct ft_error *err);

/* DeviceIDToRawBytes: the 32-byte little-endian form the device reports (perso TLV
 * DeviceId object): creator u16, product u16, DIN u64, cp_reserved u32, sku_specific[16].
 * Validates first. */
int pa_device_id_to_raw(const struct pa_device_id *id, uint8_t out[PA_DEVICE_ID_RAW_SIZE],
                        struct ft_error *err);

/* FromRawBytes: the inverse (sku_specific is always 16 bytes), validated. */
int pa_device_id_from_raw(const uint8_t raw[PA_DEVICE_ID_RAW_SIZE], struct pa_device_id *out,
                          struct ft_error *err);

/* DeviceIDToHex: the raw form byte-reversed, as 64 lower-case hex digits without "0x"
 * (includes cp_reserved; sku_specific appears byte-reversed). Validates first. */
int pa_device_id_to_raw_hex(const struct pa_device_id *id, char out[PA_DEVICE_ID_RAW_HEX_LEN + 1],
                            struct ft_error *err);

#endif
