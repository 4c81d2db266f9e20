/* The limits of the PA schema: how long each string and byte field and how many elements
 * each repeated field may be. Upstream's protos bound almost nothing; these are ours,
 * taken from the ATE C API (src/ate/ate_api.h) where it has a constant (docs/pa-api.md
 * §7). Strings count bytes of UTF-8, without the NUL a C struct adds.
 *
 * Both the C structs (generated from proto/ by pa_msggen, their fixed capacities these
 * limits) and the JSON codec (pa_pbjson) read them from pa_field_limit_find():
 * a string or byte field of proto/ without a row there fails the build. */
#ifndef FTHARNESS_PA_PA_LIMITS_H
#define FTHARNESS_PA_PA_LIMITS_H

#include <stddef.h>

#define PA_REPEATED_MAX 16u          /* elements in any repeated field */
#define PA_SKU_MAX 63u               /* sku */
#define PA_SKU_AUTH_MAX 255u         /* InitSessionRequest.sku_auth */
#define PA_SESSION_TOKEN_MAX 255u    /* InitSessionResponse.sku_session_token (upstream: 16) */
#define PA_ENDPOINT_MAX 255u         /* InitSessionResponse.pa_endpoint (kEndpointAddressMaxSize) */
#define PA_METHOD_NAME_MAX 63u       /* InitSessionResponse.auth_methods[] */
#define PA_KEY_LABEL_MAX 31u         /* key_label (the ATE DLL allows 32) */
#define PA_CERT_LABEL_MAX 31u        /* cert_labels[] */
#define PA_TOKEN_NAME_MAX 63u        /* GetStoredTokensRequest.tokens[] */
#define PA_BOOT_MESSAGE_MAX 1023u    /* GetOwnerFwBootMessageResponse.boot_message */
#define PA_ATE_ID_MAX 255u           /* Metadata.ate_id */
#define PA_ATE_RAW_MAX 4095u         /* Metadata.ate_raw */
#define PA_RECORD_DEVICE_ID_MAX 127u /* RegistryRecord.device_id (ours are 66 characters) */

#define PA_TBS_MAX 8192u  /* EndorseCertBundle.tbs (kCertificateMaxSize) */
#define PA_CERT_MAX 8192u /* Certificate.blob (kCertificateMaxSize) */
/* diversifier (kDiversificationStringSize; the DLL always sends 48 zero-padded bytes) */
#define PA_DIVERSIFIER_MAX 48u
#define PA_MAC_MAX 64u          /* EndorseCertsRequest.signature (HMAC-SHA256: 32) */
#define PA_HASH_MAX 64u         /* certs_hash, perso_fw_sha256_hash (SHA-256: 32) */
#define PA_TOKEN_MAX 64u        /* Token.token, GetStoredTokensResponse.tokens[] */
#define PA_KEY_ID_MAX 64u       /* GetCaSubjectKeysResponse.key_ids[] (upstream: 20) */
#define PA_SKU_SPECIFIC_MAX 16u /* DeviceId.sku_specific (kSkuSpecificSize) */
/* Token.wrapped_seed, DeviceData.wrapped_rma_unlock_token (RSA-3072: 384 bytes; with
 * the HPKE layer about 1.5 KiB) */
#define PA_WRAPPED_SEED_MAX 4096u
#define PA_PERSO_TLV_MAX 65536u    /* DeviceData.perso_tlv_data (kPersoBlobMaxSize) */
#define PA_RECORD_DATA_MAX 131072u /* RegistryRecord.data (a marshalled DeviceData) */
#define PA_AUTH_PUBKEY_MAX 4096u   /* RegistryRecord.auth_pubkey (DER SPKI) */
/* RegistryRecord.auth_signature (ECDSA DER; ML-DSA-87 needs 4627) */
#define PA_AUTH_SIGNATURE_MAX 8192u
#define PA_JSON_TEXT_MAX (1u << 20) /* one JSON document given to a decoder */

/* A byte field of at most this many bytes is held inline in its struct, a larger one on
 * the heap (pa_msg.h). */
#define PA_SMALL_BYTES_CAP 64u

/* One string or byte field's limit: characters (strings) or bytes, of each element when
 * the field is repeated. */
struct pa_field_limit {
    const char *message; /* full proto name: "pa.EndorseCertsRequest" */
    const char *field;   /* proto field name: "sku" */
    size_t max;
};

/* The limit of `message`.`field`, or NULL when the table has none (scalars, messages,
 * and anything outside the PA schema). */
const struct pa_field_limit *pa_field_limit_find(const char *message, const char *field);

/* Every row: *count of them. */
const struct pa_field_limit *pa_field_limit_list(size_t *count);

#endif
