/* The endorsement-service (PA) messages as C structs, and their proto3 JSON mapping.
 *
 * The messages are those of upstream lowRISC/opentitan-provisioning
 * src/pa/proto/pa.proto (package pa) and its imports src/proto/crypto/{cert,common,
 * ecdsa,mldsa}.proto and src/proto/{device_id,registry_record}.proto (package ot): same
 * field names, numbers, types and enum value names. The JSON is what a stock gRPC-JSON
 * transcoder (Envoy grpc_json_transcoder with preserve_proto_field_names, or Go protojson
 * with UseProtoNames) reads and writes, so the same bytes go to `ftpa` and to a real PA
 * behind a transcoder. docs/pa-api.md writes the mapping down; in short:
 *
 *   output: snake_case names in field-number order; default values omitted (0, false, "",
 *           empty bytes, empty lists, absent messages); bytes as padded standard base64;
 *           enums by name (a value without a name as its number); uint64/fixed64 as
 *           decimal strings; uint32/fixed32 as numbers.
 *   input:  one JSON object (len 0 counts as `{}`), duplicate keys rejected, unknown
 *           fields rejected naming the field, lowerCamelCase names accepted like
 *           protojson (the same field twice under both names is a duplicate), null means
 *           "not set"; bytes in standard or URL-safe base64, padded or not; enums by name
 *           or by any int32 number (proto3 enums are open); integers as numbers or
 *           decimal strings (exponent forms allowed when integral, as protojson does);
 *           every length and count checked against the limits below.
 *
 * Errors name the message, the field path and why, e.g.
 *   "pa.EndorseCertsRequest: bundles[2].key_params.key_label: 40 characters, limit 31".
 *
 * Structs: every message is a plain struct with fixed-capacity fields. Large byte
 * fields are `struct pa_bytes` (heap, owned by the struct); a message holding any of
 * them has a *_free() function. Structs must start zeroed (`= {0}` or a decoder), and a
 * decoder's `out` must not hold heap data yet (free it first): decoders overwrite it.
 *
 * Ownership in jansson's words: *_to_json returns a NEW reference in *out; the message
 * passed in is BORROWED. *_from_json fills the caller's `out`, which then OWNS any heap
 * buffers; on failure `out` is left zeroed and owns nothing.
 *
 * Thread safety: no state; every table here is const. */
#ifndef FTHARNESS_PA_PA_MSG_H
#define FTHARNESS_PA_PA_MSG_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "crypto/cert.pb-c.h"
#include "crypto/common.pb-c.h"
#include "crypto/ecdsa.pb-c.h"
#include "crypto/mldsa.pb-c.h"
#include "ot/device_id.pb-c.h"
#include "pa.pb-c.h"
#include "pa/pa_limits.h"

/* ---- Byte fields ---------------------------------------------------------------------- */

/* A large byte field: `data` is a heap buffer of `len` bytes OWNED by the message (NULL
 * when len is 0), released by the message's *_free(). */
struct pa_bytes {
    uint8_t *data;
    size_t len;
};

/* A small byte field stored inline; the field's own limit (<= PA_SMALL_BYTES_CAP) is
 * enforced by the codecs. */
struct pa_small_bytes {
    uint8_t data[PA_SMALL_BYTES_CAP];
    size_t len;
};

/* ---- Enums -----------------------------------------------------------------------------
 * One C enum per proto enum, enumerators named PA_<proto value name>, their numbers those
 * protoc-c generated from proto/ (a name proto/ lacks does not compile). Proto3 enums are
 * open: a struct field holding one is an int32_t and may carry a number without a name
 * (kept and re-emitted as a number); the service decides what it accepts. */

/* pa.TokenSeed */
enum pa_token_seed {
    PA_TOKEN_SEED_UNSPECIFIED = PA__TOKEN_SEED__TOKEN_SEED_UNSPECIFIED,
    PA_TOKEN_SEED_LOW_SECURITY = PA__TOKEN_SEED__TOKEN_SEED_LOW_SECURITY,
    PA_TOKEN_SEED_HIGH_SECURITY = PA__TOKEN_SEED__TOKEN_SEED_HIGH_SECURITY,
    PA_TOKEN_SEED_KEYGEN = PA__TOKEN_SEED__TOKEN_SEED_KEYGEN,
};

/* pa.TokenType */
enum pa_token_type {
    PA_TOKEN_TYPE_UNSPECIFIED = PA__TOKEN_TYPE__TOKEN_TYPE_UNSPECIFIED,
    PA_TOKEN_TYPE_RAW = PA__TOKEN_TYPE__TOKEN_TYPE_RAW,
    PA_TOKEN_TYPE_HASHED_OT_LC_TOKEN = PA__TOKEN_TYPE__TOKEN_TYPE_HASHED_OT_LC_TOKEN,
};

/* pa.TokenSize */
enum pa_token_size {
    PA_TOKEN_SIZE_UNSPECIFIED = PA__TOKEN_SIZE__TOKEN_SIZE_UNSPECIFIED,
    PA_TOKEN_SIZE_128_BITS = PA__TOKEN_SIZE__TOKEN_SIZE_128_BITS,
    PA_TOKEN_SIZE_256_BITS = PA__TOKEN_SIZE__TOKEN_SIZE_256_BITS,
};

/* crypto.common.HashType; there is no 1 (Tink legacy) */
enum pa_hash_type {
    PA_HASH_TYPE_UNSPECIFIED = CRYPTO__COMMON__HASH_TYPE__HASH_TYPE_UNSPECIFIED,
    PA_HASH_TYPE_SHA384 = CRYPTO__COMMON__HASH_TYPE__HASH_TYPE_SHA384,
    PA_HASH_TYPE_SHA256 = CRYPTO__COMMON__HASH_TYPE__HASH_TYPE_SHA256,
    PA_HASH_TYPE_SHA512 = CRYPTO__COMMON__HASH_TYPE__HASH_TYPE_SHA512,
    PA_HASH_TYPE_SHA224 = CRYPTO__COMMON__HASH_TYPE__HASH_TYPE_SHA224,
};

/* crypto.common.EllipticCurveType; no 1 either */
enum pa_elliptic_curve_type {
    PA_ELLIPTIC_CURVE_TYPE_UNSPECIFIED =
        CRYPTO__COMMON__ELLIPTIC_CURVE_TYPE__ELLIPTIC_CURVE_TYPE_UNSPECIFIED,
    PA_ELLIPTIC_CURVE_TYPE_NIST_P256 =
        CRYPTO__COMMON__ELLIPTIC_CURVE_TYPE__ELLIPTIC_CURVE_TYPE_NIST_P256,
    PA_ELLIPTIC_CURVE_TYPE_NIST_P384 =
        CRYPTO__COMMON__ELLIPTIC_CURVE_TYPE__ELLIPTIC_CURVE_TYPE_NIST_P384,
    PA_ELLIPTIC_CURVE_TYPE_NIST_P521 =
        CRYPTO__COMMON__ELLIPTIC_CURVE_TYPE__ELLIPTIC_CURVE_TYPE_NIST_P521,
    PA_ELLIPTIC_CURVE_TYPE_CURVE25519 =
        CRYPTO__COMMON__ELLIPTIC_CURVE_TYPE__ELLIPTIC_CURVE_TYPE_CURVE25519,
};

/* crypto.common.EcPointFormat (no PA message uses it) */
enum pa_ec_point_format {
    PA_EC_POINT_FORMAT_UNSPECIFIED = CRYPTO__COMMON__EC_POINT_FORMAT__EC_POINT_FORMAT_UNSPECIFIED,
    PA_EC_POINT_FORMAT_UNCOMPRESSED = CRYPTO__COMMON__EC_POINT_FORMAT__EC_POINT_FORMAT_UNCOMPRESSED,
};

/* crypto.ecdsa.EcdsaSignatureEncoding */
enum pa_ecdsa_signature_encoding {
    PA_ECDSA_SIGNATURE_ENCODING_UNSPECIFIED =
        CRYPTO__ECDSA__ECDSA_SIGNATURE_ENCODING__ECDSA_SIGNATURE_ENCODING_UNSPECIFIED,
    PA_ECDSA_SIGNATURE_ENCODING_IEEE_P1363 =
        CRYPTO__ECDSA__ECDSA_SIGNATURE_ENCODING__ECDSA_SIGNATURE_ENCODING_IEEE_P1363,
    PA_ECDSA_SIGNATURE_ENCODING_DER =
        CRYPTO__ECDSA__ECDSA_SIGNATURE_ENCODING__ECDSA_SIGNATURE_ENCODING_DER,
};

/* crypto.mldsa.MldsaParameterSets; note "MLDSA_UNSPECIFIED" */
enum pa_mldsa_parameter_sets {
    PA_MLDSA_PARAMETER_SETS_MLDSA_UNSPECIFIED =
        CRYPTO__MLDSA__MLDSA_PARAMETER_SETS__MLDSA_PARAMETER_SETS_MLDSA_UNSPECIFIED,
    PA_MLDSA_PARAMETER_SETS_MLDSA_44 =
        CRYPTO__MLDSA__MLDSA_PARAMETER_SETS__MLDSA_PARAMETER_SETS_MLDSA_44,
    PA_MLDSA_PARAMETER_SETS_MLDSA_65 =
        CRYPTO__MLDSA__MLDSA_PARAMETER_SETS__MLDSA_PARAMETER_SETS_MLDSA_65,
    PA_MLDSA_PARAMETER_SETS_MLDSA_87 =
        CRYPTO__MLDSA__MLDSA_PARAMETER_SETS__MLDSA_PARAMETER_SETS_MLDSA_87,
};

/* ot.SiliconCreatorId */
enum pa_silicon_creator_id {
    PA_SILICON_CREATOR_ID_UNSPECIFIED = OT__SILICON_CREATOR_ID__SILICON_CREATOR_ID_UNSPECIFIED,
    PA_SILICON_CREATOR_ID_OPENSOURCE = OT__SILICON_CREATOR_ID__SILICON_CREATOR_ID_OPENSOURCE,
    PA_SILICON_CREATOR_ID_NUVOTON = OT__SILICON_CREATOR_ID__SILICON_CREATOR_ID_NUVOTON,
    PA_SILICON_CREATOR_ID_FPGA = OT__SILICON_CREATOR_ID__SILICON_CREATOR_ID_FPGA,
};

/* ot.ProductId */
enum pa_product_id {
    PA_PRODUCT_ID_UNSPECIFIED = OT__PRODUCT_ID__PRODUCT_ID_UNSPECIFIED,
    PA_PRODUCT_ID_EARLGREY_Z1 = OT__PRODUCT_ID__PRODUCT_ID_EARLGREY_Z1,
    PA_PRODUCT_ID_EARLGREY_A1 = OT__PRODUCT_ID__PRODUCT_ID_EARLGREY_A1,
    PA_PRODUCT_ID_EARLGREY_A2 = OT__PRODUCT_ID__PRODUCT_ID_EARLGREY_A2,
    PA_PRODUCT_ID_FPGA = OT__PRODUCT_ID__PRODUCT_ID_FPGA,
};

/* ot.DeviceRegistrationState */
enum pa_device_registration_state {
    PA_DEVICE_REGISTRATION_STATE_UNSPECIFIED =
        OT__DEVICE_REGISTRATION_STATE__DEVICE_REGISTRATION_STATE_UNSPECIFIED,
    PA_DEVICE_REGISTRATION_STATE_PROVISIONED =
        OT__DEVICE_REGISTRATION_STATE__DEVICE_REGISTRATION_STATE_PROVISIONED,
    PA_DEVICE_REGISTRATION_STATE_PROV_READ =
        OT__DEVICE_REGISTRATION_STATE__DEVICE_REGISTRATION_STATE_PROV_READ,
    PA_DEVICE_REGISTRATION_STATE_PROV_REPORT =
        OT__DEVICE_REGISTRATION_STATE__DEVICE_REGISTRATION_STATE_PROV_REPORT,
    PA_DEVICE_REGISTRATION_STATE_INVALID =
        OT__DEVICE_REGISTRATION_STATE__DEVICE_REGISTRATION_STATE_INVALID,
    PA_DEVICE_REGISTRATION_STATE_REVOKED =
        OT__DEVICE_REGISTRATION_STATE__DEVICE_REGISTRATION_STATE_REVOKED,
};

/* ot.DeviceLifeCycle */
enum pa_device_life_cycle {
    PA_DEVICE_LIFE_CYCLE_UNSPECIFIED = OT__DEVICE_LIFE_CYCLE__DEVICE_LIFE_CYCLE_UNSPECIFIED,
    PA_DEVICE_LIFE_CYCLE_RAW = OT__DEVICE_LIFE_CYCLE__DEVICE_LIFE_CYCLE_RAW,
    PA_DEVICE_LIFE_CYCLE_TEST_LOCKED = OT__DEVICE_LIFE_CYCLE__DEVICE_LIFE_CYCLE_TEST_LOCKED,
    PA_DEVICE_LIFE_CYCLE_TEST_UNLOCKED = OT__DEVICE_LIFE_CYCLE__DEVICE_LIFE_CYCLE_TEST_UNLOCKED,
    PA_DEVICE_LIFE_CYCLE_DEV = OT__DEVICE_LIFE_CYCLE__DEVICE_LIFE_CYCLE_DEV,
    PA_DEVICE_LIFE_CYCLE_PROD = OT__DEVICE_LIFE_CYCLE__DEVICE_LIFE_CYCLE_PROD,
    PA_DEVICE_LIFE_CYCLE_PROD_END = OT__DEVICE_LIFE_CYCLE__DEVICE_LIFE_CYCLE_PROD_END,
    PA_DEVICE_LIFE_CYCLE_RMA = OT__DEVICE_LIFE_CYCLE__DEVICE_LIFE_CYCLE_RMA,
    PA_DEVICE_LIFE_CYCLE_SCRAP = OT__DEVICE_LIFE_CYCLE__DEVICE_LIFE_CYCLE_SCRAP,
};

/* One proto enum: the descriptor protoc-c generated from proto/ (its full name, e.g.
 * "crypto.common.HashType", and its values' names and numbers). test_pa_msg checks the
 * C enums above against it. */
struct pa_enum_desc {
    const ProtobufCEnumDescriptor *generated;
};

extern const struct pa_enum_desc pa_token_seed_enum;
extern const struct pa_enum_desc pa_token_type_enum;
extern const struct pa_enum_desc pa_token_size_enum;
extern const struct pa_enum_desc pa_hash_type_enum;
extern const struct pa_enum_desc pa_elliptic_curve_type_enum;
extern const struct pa_enum_desc pa_ec_point_format_enum;
extern const struct pa_enum_desc pa_ecdsa_signature_encoding_enum;
extern const struct pa_enum_desc pa_mldsa_parameter_sets_enum;
extern const struct pa_enum_desc pa_silicon_creator_id_enum;
extern const struct pa_enum_desc pa_product_id_enum;
extern const struct pa_enum_desc pa_device_registration_state_enum;
extern const struct pa_enum_desc pa_device_life_cycle_enum;

/* Which member of SigningKeyParams' `oneof key` is set: the member's field number. The
 * codecs require exactly one (stricter than protojson, which allows none; upstream's SPM
 * fails such a bundle later with UNIMPLEMENTED). */
enum pa_signing_key_case {
    PA_SIGNING_KEY_NOT_SET = CRYPTO__CERT__SIGNING_KEY_PARAMS__KEY__NOT_SET,
    PA_SIGNING_KEY_ECDSA_PARAMS = CRYPTO__CERT__SIGNING_KEY_PARAMS__KEY_ECDSA_PARAMS,
    PA_SIGNING_KEY_MLDSA_PARAMS = CRYPTO__CERT__SIGNING_KEY_PARAMS__KEY_MLDSA_PARAMS,
};

/* ---- Messages --------------------------------------------------------------------------
 * pa_msg_gen.h, written at build time by pa_msggen from proto/ and pa_limits.c: for each
 * message of the schema (pa_schema.h) `struct pa_<snake_case name>` ("struct
 * pa_endorse_certs_request", "struct pa_device_data"), its members the proto fields in
 * field-number order under their proto names:
 *   string          char name[limit + 1], NUL-terminated UTF-8
 *   bytes           struct pa_small_bytes when the limit is <= PA_SMALL_BYTES_CAP, else
 *                   struct pa_bytes (heap, owned by the message)
 *   bool, uint32, fixed32, uint64, fixed64: bool, uint32_t, uint64_t
 *   enum            int32_t (open: a number without a name is kept)
 *   message         struct pa_<name> name, with `bool has_name` before it
 *   repeated        name[PA_REPEATED_MAX] and `size_t name_count` after it
 *   oneof           `uint32_t <oneof>_case` (the set member's field number, 0: none)
 *                   before its members
 * an empty message one `uint8_t unused`; and its descriptor pa_<name>_desc, its codecs
 * pa_<name>_to_json / _from_json and, when it holds heap bytes, pa_<name>_free. */
#include "pa_msg_gen.h"

/* ---- Codecs, one pair per message ----------------------------------------------------
 * Each copies the struct to and from the message protoc-c generated (pa_msg_pb.h), whose
 * proto3 JSON is pa_pbjson.h's: one mapping for every message and both transports.
 * int pa_X_to_json(const struct pa_X *msg, json_t **out, struct ft_error *err);
 *   Checks every length, count and oneof rule, then sets *out to a NEW JSON object.
 *   Returns 0, or -1 with `err` set and *out NULL.
 * int pa_X_from_json(const char *text, size_t len, struct pa_X *out, struct ft_error *err);
 *   Strict decode of `len` bytes of `text` (need not be NUL-terminated) into `out`.
 *   Returns 0, or -1 with `err` set and `out` zeroed.
 * void pa_X_free(struct pa_X *msg);   (messages with heap fields only)
 *   Frees the heap buffers and zeroes them; safe on a zeroed struct, idempotent. */

/* Appends the bundle for one TBS certificate as the FT flow has it signed (ECDSA P-256,
 * SHA-256, DER signature), labelled with the certificate's name, the TBS copied (freed
 * by pa_endorse_certs_request_free). FT_E_CAPACITY past PA_REPEATED_MAX bundles or
 * PA_TBS_MAX bytes, FT_E_NOMEM. */
int pa_endorse_certs_request_add_tbs(struct pa_endorse_certs_request *msg, const char *label,
                                     const uint8_t *tbs, size_t len, struct ft_error *err);

/* ---- google.rpc.Status error bodies and gRPC codes ------------------------------------ */

enum pa_grpc_code {
    PA_GRPC_OK = 0,
    PA_GRPC_CANCELLED = 1,
    PA_GRPC_UNKNOWN = 2,
    PA_GRPC_INVALID_ARGUMENT = 3,
    PA_GRPC_DEADLINE_EXCEEDED = 4,
    PA_GRPC_NOT_FOUND = 5,
    PA_GRPC_ALREADY_EXISTS = 6,
    PA_GRPC_PERMISSION_DENIED = 7,
    PA_GRPC_RESOURCE_EXHAUSTED = 8,
    PA_GRPC_FAILED_PRECONDITION = 9,
    PA_GRPC_ABORTED = 10,
    PA_GRPC_OUT_OF_RANGE = 11,
    PA_GRPC_UNIMPLEMENTED = 12,
    PA_GRPC_INTERNAL = 13,
    PA_GRPC_UNAVAILABLE = 14,
    PA_GRPC_DATA_LOSS = 15,
    PA_GRPC_UNAUTHENTICATED = 16,
};

/* "INVALID_ARGUMENT" for 3, ...; NULL outside 0..16. */
const char *pa_status_code_name(int code);

/* The HTTP status a gRPC-JSON transcoder answers with (grpc-gateway's table): OK 200,
 * INVALID_ARGUMENT/FAILED_PRECONDITION/OUT_OF_RANGE 400, UNAUTHENTICATED 401,
 * PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS/ABORTED 409, RESOURCE_EXHAUSTED
 * 429, CANCELLED 499, UNKNOWN/INTERNAL/DATA_LOSS 500, UNIMPLEMENTED 501, UNAVAILABLE 503,
 * DEADLINE_EXCEEDED 504; any other code 500. */
int pa_status_http_status(int code);

#define PA_STATUS_MESSAGE_MAX 1023u

/* A decoded google.rpc.Status body. */
struct pa_status {
    int32_t code;
    char message[PA_STATUS_MESSAGE_MAX + 1]; /* cut at a UTF-8 boundary when longer */
    bool truncated;                          /* the message was longer than that */
};

/* NEW `{"code":N,"message":"…"}` (both keys always present), or NULL when out of memory.
 * `message` (NULL = "") is copied; bytes that are not valid UTF-8 become '?', so any C
 * string can be sent. */
json_t *pa_status_to_json(int code, const char *message);

/* Decodes a google.rpc.Status body: `code` (int32, number or string), `message`,
 * `details` (array of objects, accepted and ignored); other fields are rejected. */
int pa_status_from_json(const char *text, size_t len, struct pa_status *out, struct ft_error *err);

/* ---- RPCs ---------------------------------------------------------------------------- */

#define PA_SERVICE_NAME "pa.ProvisioningApplianceService"
#define PA_RPC_PATH_PREFIX "/" PA_SERVICE_NAME "/"

struct pa_msg_desc;

struct pa_rpc_desc {
    const char *name; /* "EndorseCerts" */
    const char *path; /* "/pa.ProvisioningApplianceService/EndorseCerts" */
    const struct pa_msg_desc *request;
    const struct pa_msg_desc *response;
    bool needs_session; /* false for InitSession and CloseSession (upstream's interceptor) */
};

/* All nine RPCs of the service, in pa.proto order. */
const struct pa_rpc_desc *pa_rpc_list(size_t *count);

/* The RPC named `name` (first `len` bytes) or whose URL path is `name`; NULL if none. */
const struct pa_rpc_desc *pa_rpc_find(const char *name, size_t len);

/* ---- Generic message interface ---------------------------------------------------------
 * Every typed function above is one of these with its descriptor. Useful to dispatch by
 * RPC (pa_rpc_desc.request->size bytes, zeroed, hold a request) and in tests. */

enum pa_field_kind {
    PA_FIELD_STRING,     /* char[cap + 1], NUL-terminated UTF-8 */
    PA_FIELD_BYTES,      /* struct pa_small_bytes, len <= cap */
    PA_FIELD_HEAP_BYTES, /* struct pa_bytes, len <= cap */
    PA_FIELD_BOOL,       /* bool */
    PA_FIELD_UINT32,     /* uint32_t, protobuf varint */
    PA_FIELD_FIXED32,    /* uint32_t, protobuf fixed32 */
    PA_FIELD_UINT64,     /* uint64_t, protobuf varint; JSON string */
    PA_FIELD_FIXED64,    /* uint64_t, protobuf fixed64; JSON string */
    PA_FIELD_ENUM,       /* int32_t */
    PA_FIELD_MESSAGE,    /* nested struct */
};

enum pa_presence {
    PA_PRESENCE_NONE,  /* scalars: set when not the default value */
    PA_PRESENCE_FLAG,  /* message: bool at presence_offset */
    PA_PRESENCE_ONEOF, /* oneof member: uint32_t case at presence_offset == number */
};

/* One field. Offsets are into the containing struct; for a repeated field `offset` is
 * the first element, elements are `stride` bytes apart and the size_t count sits at
 * count_offset. */
struct pa_field_desc {
    const char *name; /* proto field name = JSON key */
    uint32_t number;  /* proto field number */
    enum pa_field_kind kind;
    size_t offset;
    size_t cap;       /* STRING: characters; BYTES/HEAP_BYTES: bytes */
    size_t max_count; /* 0: singular; else repeated with at most this many elements */
    size_t count_offset;
    size_t stride;
    enum pa_presence presence;
    size_t presence_offset;
    const char *oneof; /* oneof name, or NULL */
    const struct pa_enum_desc *enum_desc;
    const struct pa_msg_desc *msg_desc;
};

struct pa_msg_desc {
    const char *name;                   /* full proto name: "pa.EndorseCertsRequest" */
    size_t size;                        /* sizeof the C struct */
    const struct pa_field_desc *fields; /* in field-number order */
    size_t field_count;
    /* protoc-c's message: its fields are these, one for one in the same order */
    const ProtobufCMessageDescriptor *generated;
};

extern const struct pa_msg_desc pa_init_session_request_desc;
extern const struct pa_msg_desc pa_init_session_response_desc;
extern const struct pa_msg_desc pa_close_session_request_desc;
extern const struct pa_msg_desc pa_close_session_response_desc;
extern const struct pa_msg_desc pa_endorse_cert_bundle_desc;
extern const struct pa_msg_desc pa_endorse_certs_request_desc;
extern const struct pa_msg_desc pa_cert_bundle_desc;
extern const struct pa_msg_desc pa_endorse_certs_response_desc;
extern const struct pa_msg_desc pa_token_params_desc;
extern const struct pa_msg_desc pa_derive_tokens_request_desc;
extern const struct pa_msg_desc pa_token_desc;
extern const struct pa_msg_desc pa_derive_tokens_response_desc;
extern const struct pa_msg_desc pa_get_stored_tokens_request_desc;
extern const struct pa_msg_desc pa_get_stored_tokens_response_desc;
extern const struct pa_msg_desc pa_get_ca_subject_keys_request_desc;
extern const struct pa_msg_desc pa_get_ca_subject_keys_response_desc;
extern const struct pa_msg_desc pa_get_ca_certs_request_desc;
extern const struct pa_msg_desc pa_get_ca_certs_response_desc;
extern const struct pa_msg_desc pa_get_owner_fw_boot_message_request_desc;
extern const struct pa_msg_desc pa_get_owner_fw_boot_message_response_desc;
extern const struct pa_msg_desc pa_registration_request_desc;
extern const struct pa_msg_desc pa_registration_response_desc;
extern const struct pa_msg_desc pa_signing_key_params_desc;
extern const struct pa_msg_desc pa_ecdsa_params_desc;
extern const struct pa_msg_desc pa_mldsa_params_desc;
extern const struct pa_msg_desc pa_certificate_desc;
extern const struct pa_msg_desc pa_device_data_desc;
extern const struct pa_msg_desc pa_device_id_desc;
extern const struct pa_msg_desc pa_hardware_origin_desc;
extern const struct pa_msg_desc pa_metadata_desc;
extern const struct pa_msg_desc pa_registry_record_desc;

/* Every message descriptor above. */
const struct pa_msg_desc *const *pa_msg_desc_list(size_t *count);

/* Every enum table above (EcPointFormat included, though no message uses it). */
const struct pa_enum_desc *const *pa_enum_desc_list(size_t *count);

/* The descriptor of the full proto name ("ot.DeviceData"), or NULL. */
const struct pa_msg_desc *pa_msg_desc_find(const char *name);

int pa_msg_to_json(const struct pa_msg_desc *desc, const void *msg, json_t **out,
                   struct ft_error *err);
int pa_msg_from_json(const struct pa_msg_desc *desc, const char *text, size_t len, void *out,
                     struct ft_error *err);
/* As pa_msg_from_json, from an already parsed value (BORROWED). Duplicate keys can only
 * be caught when the caller parsed with JSON_REJECT_DUPLICATES. */
int pa_msg_from_json_value(const struct pa_msg_desc *desc, const json_t *value, void *out,
                           struct ft_error *err);
void pa_msg_free(const struct pa_msg_desc *desc, void *msg);

/* True when `a` and `b` hold the same message: same values of the same fields, present
 * messages alike, elements up to the counts; bytes beyond lengths do not matter. */
bool pa_msg_equal(const struct pa_msg_desc *desc, const void *a, const void *b);

/* Table access for pa_msg_pb.c and the tests. Element `i` (0 for a singular field) of `f`. */
static inline void *pa_field_ptr(const struct pa_field_desc *f, void *msg, size_t i)
{
    return (char *)msg + f->offset + i * f->stride;
}
static inline const void *pa_field_cptr(const struct pa_field_desc *f, const void *msg, size_t i)
{
    return (const char *)msg + f->offset + i * f->stride;
}

/* Element count of a repeated field as stored (may exceed max_count in a bad struct). */
static inline size_t pa_field_count(const struct pa_field_desc *f, const void *msg)
{
    return *(const size_t *)(const void *)((const char *)msg + f->count_offset);
}

/* Whether a singular message field is present (its flag, or its oneof case); true for
 * any other field. */
bool pa_field_present(const struct pa_field_desc *f, const void *msg);

/* Marks a singular message field present (its flag, or its oneof case). */
void pa_field_set_present(const struct pa_field_desc *f, void *msg);

/* True when the `n` bytes at `s` are UTF-8 as proto3 strings and jansson require it:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
bool pa_utf8_valid(const char *s, size_t n);

#endif
