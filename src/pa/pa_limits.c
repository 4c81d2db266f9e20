#include "pa/pa_limits.h"

#include <string.h>

static const struct pa_field_limit limits[] = {
    /* crypto.* */
    {"crypto.cert.SigningKeyParams", "key_label", PA_KEY_LABEL_MAX},
    {"crypto.cert.Certificate", "blob", PA_CERT_MAX},
    /* ot.* */
    {"ot.DeviceId", "sku_specific", PA_SKU_SPECIFIC_MAX},
    {"ot.Metadata", "ate_id", PA_ATE_ID_MAX},
    {"ot.Metadata", "ate_raw", PA_ATE_RAW_MAX},
    {"ot.DeviceData", "sku", PA_SKU_MAX},
    {"ot.DeviceData", "wrapped_rma_unlock_token", PA_WRAPPED_SEED_MAX},
    {"ot.DeviceData", "perso_tlv_data", PA_PERSO_TLV_MAX},
    {"ot.DeviceData", "perso_fw_sha256_hash", PA_HASH_MAX},
    {"ot.RegistryRecord", "device_id", PA_RECORD_DEVICE_ID_MAX},
    {"ot.RegistryRecord", "sku", PA_SKU_MAX},
    {"ot.RegistryRecord", "data", PA_RECORD_DATA_MAX},
    {"ot.RegistryRecord", "auth_pubkey", PA_AUTH_PUBKEY_MAX},
    {"ot.RegistryRecord", "auth_signature", PA_AUTH_SIGNATURE_MAX},
    /* pa.* */
    {"pa.InitSessionRequest", "sku", PA_SKU_MAX},
    {"pa.InitSessionRequest", "sku_auth", PA_SKU_AUTH_MAX},
    {"pa.InitSessionResponse", "sku_session_token", PA_SESSION_TOKEN_MAX},
    {"pa.InitSessionResponse", "pa_endpoint", PA_ENDPOINT_MAX},
    {"pa.InitSessionResponse", "auth_methods", PA_METHOD_NAME_MAX},
    {"pa.EndorseCertBundle", "tbs", PA_TBS_MAX},
    {"pa.EndorseCertsRequest", "sku", PA_SKU_MAX},
    {"pa.EndorseCertsRequest", "diversifier", PA_DIVERSIFIER_MAX},
    {"pa.EndorseCertsRequest", "signature", PA_MAC_MAX},
    {"pa.CertBundle", "key_label", PA_KEY_LABEL_MAX},
    {"pa.TokenParams", "diversifier", PA_DIVERSIFIER_MAX},
    {"pa.DeriveTokensRequest", "sku", PA_SKU_MAX},
    {"pa.Token", "token", PA_TOKEN_MAX},
    {"pa.Token", "wrapped_seed", PA_WRAPPED_SEED_MAX},
    {"pa.GetStoredTokensRequest", "sku", PA_SKU_MAX},
    {"pa.GetStoredTokensRequest", "tokens", PA_TOKEN_NAME_MAX},
    {"pa.GetStoredTokensResponse", "tokens", PA_TOKEN_MAX},
    {"pa.GetCaSubjectKeysRequest", "sku", PA_SKU_MAX},
    {"pa.GetCaSubjectKeysRequest", "cert_labels", PA_CERT_LABEL_MAX},
    {"pa.GetCaSubjectKeysResponse", "key_ids", PA_KEY_ID_MAX},
    {"pa.GetCaCertsRequest", "sku", PA_SKU_MAX},
    {"pa.GetCaCertsRequest", "cert_labels", PA_CERT_LABEL_MAX},
    {"pa.GetOwnerFwBootMessageRequest", "sku", PA_SKU_MAX},
    {"pa.GetOwnerFwBootMessageResponse", "boot_message", PA_BOOT_MESSAGE_MAX},
    {"pa.RegistrationRequest", "certs_hash", PA_HASH_MAX},
};

const struct pa_field_limit *pa_field_limit_find(const char *message, const char *field)
{
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        if (strcmp(limits[i].message, message) == 0 && strcmp(limits[i].field, field) == 0)
            return &limits[i];
    }
    return NULL;
}

const struct pa_field_limit *pa_field_limit_list(size_t *count)
{
    *count = sizeof(limits) / sizeof(limits[0]);
    return limits;
}
