#include "cert/was.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

struct was_hmac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

int was_derive(const uint8_t *seed, size_t seed_len, const uint8_t *diversifier,
               size_t diversifier_len, uint8_t was[WAS_SIZE], struct ft_error *err)
{
    if (diversifier_len > WAS_DIVERSIFIER_SIZE)
        return ft_fail(err, FT_E_RANGE, "WAS diversifier of %zu bytes exceeds %u", diversifier_len,
                       WAS_DIVERSIFIER_SIZE);
    uint8_t padded[WAS_DIVERSIFIER_SIZE] = {0};
    memcpy(padded, diversifier, diversifier_len);
    return was_derive_exact(seed, seed_len, padded, sizeof(padded), was, err);
}

int was_derive_exact(const uint8_t *seed, size_t seed_len, const uint8_t *diversifier,
                     size_t diversifier_len, uint8_t was[WAS_SIZE], struct ft_error *err)
{
    if (diversifier_len == 0 || diversifier_len > WAS_DIVERSIFIER_SIZE)
        return ft_fail(err, FT_E_RANGE, "WAS diversifier of %zu bytes (1..%u)", diversifier_len,
                       WAS_DIVERSIFIER_SIZE);
    uint8_t mac[WAS_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), seed, (int)seed_len, diversifier, diversifier_len, mac, &mac_len) ==
            NULL ||
        mac_len != WAS_SIZE)
        return ft_fail(err, FT_E_INVALID, "WAS derivation: HMAC-SHA256 failed");
    for (size_t w = 0; w < WAS_SIZE; w += 4) {
        was[w] = mac[w + 3];
        was[w + 1] = mac[w + 2];
        was[w + 2] = mac[w + 1];
        was[w + 3] = mac[w];
    }
    return 0;
}

struct was_hmac *was_hmac_new(const uint8_t was[WAS_SIZE], struct ft_error *err)
{
    struct was_hmac *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        ft_fail(err, FT_E_NOMEM, "WAS HMAC: out of memory");
        return NULL;
    }
    h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    h->ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (h->ctx == NULL || !EVP_MAC_init(h->ctx, was, WAS_SIZE, params)) {
        was_hmac_free(h);
        ft_fail(err, FT_E_INVALID, "WAS HMAC: cannot initialise HMAC-SHA256");
        return NULL;
    }
    return h;
}

int was_hmac_update(struct was_hmac *h, const uint8_t *tbs, size_t len, struct ft_error *err)
{
    if (!EVP_MAC_update(h->ctx, tbs, len))
        return ft_fail(err, FT_E_INVALID, "WAS HMAC: update failed");
    return 0;
}

int was_hmac_final(struct was_hmac *h, uint8_t tag[32], struct ft_error *err)
{
    size_t len = 0;
    int ok = EVP_MAC_final(h->ctx, tag, &len, 32) && len == 32;
    was_hmac_free(h);
    return ok ? 0 : ft_fail(err, FT_E_INVALID, "WAS HMAC: final failed");
}

void was_hmac_free(struct was_hmac *h)
{
    if (h == NULL)
        return;
    EVP_MAC_CTX_free(h->ctx);
    EVP_MAC_free(h->mac);
    free(h);
}
