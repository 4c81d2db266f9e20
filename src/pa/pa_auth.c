#include "pa/pa_auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "pa/cshake.h"

#define BCRYPT_SALT_RANDOM_BYTES 16 /* bcrypt's salt is 128 bits */
#define BCRYPT_COST_MIN 4
#define BCRYPT_COST_MAX 31
#define BCRYPT_TAIL_LEN 53 /* 22 salt + 31 hash characters after "$2b$NN$" */
#define SHA256_LEN 32
#define OAEP_OVERHEAD (2 * SHA256_LEN + 2) /* RFC 8017 §7.1.1: mLen <= k - 2hLen - 2 */
#define TOKEN_RANDOM_BATCH 64

/* Records `what` plus OpenSSL's most recent error, and empties OpenSSL's error queue so a
 * stale entry never shows up in a later, unrelated message. */
static int openssl_fail(struct ft_error *err, const char *what)
{
    char reason[160] = "no OpenSSL error recorded";
    unsigned long code = ERR_peek_last_error();
    if (code != 0)
        ERR_error_string_n(code, reason, sizeof(reason));
    ERR_clear_error();
    return ft_fail(err, FT_E_INVALID, "%s: %s", what, reason);
}

bool pa_ct_equal(const void *a, const void *b, size_t len)
{
    /* volatile keeps the compiler from turning the loop into an early-exit memcmp. */
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (uint8_t)(x[i] ^ y[i]);
    return diff == 0;
}

/* ---- bcrypt ---------------------------------------------------------------------------- */

static bool is_bcrypt_base64(char c)
{
    return c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9');
}

static int bcrypt_check_cost(const char *hash, struct ft_error *err)
{
    if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' || hash[6] != '$')
        return ft_fail(err, FT_E_INVALID, "bcrypt hash: cost at characters 4-6 is not \"NN$\"");
    int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    if (cost < BCRYPT_COST_MIN || cost > BCRYPT_COST_MAX)
        return ft_fail(err, FT_E_INVALID, "bcrypt hash: cost %d is outside %d..%d", cost,
                       BCRYPT_COST_MIN, BCRYPT_COST_MAX);
    return 0;
}

int pa_bcrypt_hash_validate(const char *hash, struct ft_error *err)
{
    if (hash == NULL)
        return ft_fail(err, FT_E_INVALID, "bcrypt hash: none given");
    size_t len = strnlen(hash, PA_BCRYPT_HASH_LEN + 1);
    /* Only the variants libxcrypt and Go's x/crypto/bcrypt both verify the same way. */
    if (len < 4 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' ||
        (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y'))
        return ft_fail(err, FT_E_INVALID, "not a bcrypt hash: prefix is not $2a$, $2b$ or $2y$");
    if (len > PA_BCRYPT_HASH_LEN)
        return ft_fail(err, FT_E_INVALID, "bcrypt hash: more than %d characters",
                       PA_BCRYPT_HASH_LEN);
    if (len < PA_BCRYPT_HASH_LEN)
        return ft_fail(err, FT_E_INVALID, "bcrypt hash: %zu characters, expected %d", len,
                       PA_BCRYPT_HASH_LEN);
    if (bcrypt_check_cost(hash, err) != 0)
        return -1;
    for (size_t i = PA_BCRYPT_HASH_LEN - BCRYPT_TAIL_LEN; i < PA_BCRYPT_HASH_LEN; i++)
        if (!is_bcrypt_base64(hash[i]))
            return ft_fail(err, FT_E_INVALID,
                           "bcrypt hash: character 0x%02x at position %zu is not bcrypt base64",
                           (unsigned char)hash[i], i);
    return 0;
}

static int password_length(const char *password, bool allow_empty, struct ft_error *err)
{
    if (password == NULL)
        return ft_fail(err, FT_E_INVALID, "password: none given");
    size_t len = strnlen(password, PA_PASSWORD_MAX + 1);
    if (len > PA_PASSWORD_MAX)
        return ft_fail(err, FT_E_RANGE, "password: longer than %d bytes, which bcrypt ignores",
                       PA_PASSWORD_MAX);
    if (len == 0 && !allow_empty)
        return ft_fail(err, FT_E_INVALID, "password: empty");
    return 0;
}

/* Runs crypt_rn and copies the result, which must itself be a bcrypt hash, into `out`.
 * struct crypt_data is 32 KiB, so it lives on the heap rather than a worker's stack. */
static int bcrypt_run(const char *password, const char *setting, char out[PA_BCRYPT_HASH_SIZE],
                      struct ft_error *err)
{
    struct crypt_data *data = calloc(1, sizeof(*data));
    if (data == NULL)
        return ft_fail(err, FT_E_NOMEM, "bcrypt: no memory for crypt_data");
    int rc = 0;
    errno = 0;
    const char *result = crypt_rn(password, setting, data, (int)sizeof(*data));
    if (result == NULL)
        rc = ft_fail(err, FT_E_INVALID, "bcrypt: crypt_rn refused the setting: %s",
                     strerror(errno != 0 ? errno : EINVAL));
    else if (pa_bcrypt_hash_validate(result, err) != 0)
        rc = ft_error_prefix(err, "bcrypt: crypt_rn output");
    else
        memcpy(out, result, PA_BCRYPT_HASH_SIZE);
    OPENSSL_cleanse(data, sizeof(*data)); /* holds key schedule material of the password */
    free(data);
    return rc;
}

int pa_password_check(const char *password, const char *bcrypt_hash, struct ft_error *err)
{
    if (pa_bcrypt_hash_validate(bcrypt_hash, err) != 0)
        return -1;
    if (password_length(password, true, err) != 0)
        return -1;
    char computed[PA_BCRYPT_HASH_SIZE];
    if (bcrypt_run(password, bcrypt_hash, computed, err) != 0)
        return -1;
    /* Both strings are exactly PA_BCRYPT_HASH_LEN long (validated), so only the contents
     * decide, and they are compared without an early exit. */
    bool match = pa_ct_equal(computed, bcrypt_hash, PA_BCRYPT_HASH_LEN);
    OPENSSL_cleanse(computed, sizeof(computed));
    return match ? 1 : 0;
}

int pa_password_hash(const char *password, char *out, size_t cap, struct ft_error *err)
{
    if (out == NULL || cap < PA_BCRYPT_HASH_SIZE)
        return ft_fail(err, FT_E_CAPACITY, "bcrypt: hash needs %d bytes, buffer holds %zu",
                       PA_BCRYPT_HASH_SIZE, out == NULL ? (size_t)0 : cap);
    if (password_length(password, false, err) != 0)
        return -1;
    uint8_t salt_bytes[BCRYPT_SALT_RANDOM_BYTES];
    if (RAND_bytes(salt_bytes, (int)sizeof(salt_bytes)) != 1)
        return openssl_fail(err, "bcrypt: RAND_bytes for the salt");
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    errno = 0;
    if (crypt_gensalt_rn(PA_BCRYPT_PREFIX, PA_BCRYPT_COST, (const char *)salt_bytes,
                         (int)sizeof(salt_bytes), setting, (int)sizeof(setting)) == NULL)
        return ft_fail(err, FT_E_INVALID, "bcrypt: crypt_gensalt_rn(%s, cost %d) failed: %s",
                       PA_BCRYPT_PREFIX, PA_BCRYPT_COST, strerror(errno != 0 ? errno : EINVAL));
    return bcrypt_run(password, setting, out, err);
}

/* ---- session tokens -------------------------------------------------------------------- */

int pa_session_token(char *out, size_t cap, struct ft_error *err)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const unsigned radix = sizeof(alphabet) - 1; /* 62 */
    /* Bytes at or above 248 = 4 * 62 are thrown away so that every character keeps
     * exactly 4/248 probability: a plain `byte % 62` would favour the first 8. */
    const unsigned limit = 256 - 256 % radix;
    if (out == NULL || cap < PA_SESSION_TOKEN_SIZE)
        return ft_fail(err, FT_E_CAPACITY, "session token: needs %d bytes, buffer holds %zu",
                       PA_SESSION_TOKEN_SIZE, out == NULL ? (size_t)0 : cap);
    uint8_t random[TOKEN_RANDOM_BATCH];
    size_t filled = 0;
    while (filled < PA_SESSION_TOKEN_LEN) {
        if (RAND_priv_bytes(random, (int)sizeof(random)) != 1) {
            OPENSSL_cleanse(out, cap);
            return openssl_fail(err, "session token: RAND_priv_bytes");
        }
        for (size_t i = 0; i < sizeof(random) && filled < PA_SESSION_TOKEN_LEN; i++)
            if (random[i] < limit)
                out[filled++] = alphabet[random[i] % radix];
    }
    out[PA_SESSION_TOKEN_LEN] = '\0';
    OPENSSL_cleanse(random, sizeof(random));
    return 0;
}

/* ---- token derivation ------------------------------------------------------------------ */

int pa_diversifier_pad(const void *label, size_t len, uint8_t out[PA_DIVERSIFIER_LEN],
                       struct ft_error *err)
{
    if (len > PA_DIVERSIFIER_LEN)
        return ft_fail(err, FT_E_RANGE, "diversifier: label of %zu bytes exceeds %d", len,
                       PA_DIVERSIFIER_LEN);
    if (label == NULL && len > 0)
        return ft_fail(err, FT_E_INVALID, "diversifier: label of %zu bytes from NULL", len);
    memset(out, 0, PA_DIVERSIFIER_LEN);
    if (len > 0)
        memcpy(out, label, len);
    return 0;
}

static int token_check_args(const uint8_t *seed, size_t seed_len, const uint8_t *diversifier,
                            size_t div_len, size_t size, const uint8_t *out, size_t cap,
                            struct ft_error *err)
{
    if (seed == NULL || seed_len == 0 || seed_len > PA_SEED_MAX_LEN)
        return ft_fail(err, FT_E_RANGE, "token: seed of %zu bytes, expected 1..%d",
                       seed == NULL ? (size_t)0 : seed_len, PA_SEED_MAX_LEN);
    /* se_pk11.go GenerateTokens: "invalid diversifier length: 0, expected > 0". */
    if (diversifier == NULL || div_len == 0)
        return ft_fail(err, FT_E_INVALID, "token: diversifier is empty, expected > 0 bytes");
    /* spm.go DeriveTokens accepts only TOKEN_SIZE_128_BITS and TOKEN_SIZE_256_BITS. */
    if (size != PA_TOKEN_128_LEN && size != PA_TOKEN_256_LEN)
        return ft_fail(err, FT_E_INVALID, "token: size %zu bytes, expected %d or %d", size,
                       PA_TOKEN_128_LEN, PA_TOKEN_256_LEN);
    if (out == NULL || cap < size)
        return ft_fail(err, FT_E_CAPACITY, "token: %zu bytes do not fit in %zu", size,
                       out == NULL ? (size_t)0 : cap);
    return 0;
}

int pa_token_derive(const uint8_t *seed, size_t seed_len, const uint8_t *diversifier,
                    size_t div_len, size_t size, bool hashed, uint8_t *out, size_t cap,
                    struct ft_error *err)
{
    if (token_check_args(seed, seed_len, diversifier, div_len, size, out, cap, err) != 0)
        return -1;
    uint8_t mac[SHA256_LEN];
    size_t mac_len = 0;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, seed, seed_len, diversifier, div_len, mac,
                  sizeof(mac), &mac_len) == NULL ||
        mac_len != sizeof(mac)) {
        OPENSSL_cleanse(mac, sizeof(mac));
        return openssl_fail(err, "token: HMAC-SHA256");
    }
    int rc = 0;
    if (!hashed) {
        memcpy(out, mac, size); /* the first `size` bytes: upstream's tBytes[:16] */
    } else {
        /* Upstream hashes the already-cut token and reads back as many bytes as it had. */
        static const char custom[] = LC_TOKEN_CUSTOMIZATION;
        rc = cshake128(mac, size, NULL, 0, (const uint8_t *)custom, sizeof(custom) - 1, out, size,
                       err);
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return rc;
}

int pa_keygen_seed(uint8_t *seed, size_t len, struct ft_error *err)
{
    if (seed == NULL || len == 0 || len > PA_SEED_MAX_LEN)
        return ft_fail(err, FT_E_RANGE, "keygen seed: %zu bytes, expected 1..%d",
                       seed == NULL ? (size_t)0 : len, PA_SEED_MAX_LEN);
    if (RAND_priv_bytes(seed, (int)len) != 1)
        return openssl_fail(err, "keygen seed: RAND_priv_bytes");
    return 0;
}

/* ---- seed wrapping --------------------------------------------------------------------- */

static int wrap_check_key(EVP_PKEY *rsa_pub, size_t len, size_t cap, struct ft_error *err)
{
    if (rsa_pub == NULL || !EVP_PKEY_is_a(rsa_pub, "RSA"))
        return ft_fail(err, FT_E_INVALID, "wrap seed: the wrapping key is not an RSA key");
    int bits = EVP_PKEY_get_bits(rsa_pub);
    int modulus_len = EVP_PKEY_get_size(rsa_pub);
    if (bits < PA_WRAP_RSA_MIN_BITS || modulus_len <= OAEP_OVERHEAD)
        return ft_fail(err, FT_E_RANGE, "wrap seed: RSA key of %d bits, expected >= %d", bits,
                       PA_WRAP_RSA_MIN_BITS);
    size_t max_seed = (size_t)modulus_len - OAEP_OVERHEAD;
    if (len == 0 || len > max_seed)
        return ft_fail(err, FT_E_RANGE, "wrap seed: seed of %zu bytes, RSA-%d OAEP takes 1..%zu",
                       len, bits, max_seed);
    if (cap < (size_t)modulus_len)
        return ft_fail(err, FT_E_CAPACITY, "wrap seed: ciphertext needs %d bytes, buffer holds %zu",
                       modulus_len, cap);
    return 0;
}

/* OAEP parameters of upstream's CKM_RSA_PKCS_OAEP (src/pk11/gensec.go): SHA-256, MGF1 with
 * SHA-256, no label. */
static int wrap_set_oaep(EVP_PKEY_CTX *ctx)
{
    return EVP_PKEY_encrypt_init(ctx) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1;
}

int pa_wrap_seed(EVP_PKEY *rsa_pub, const uint8_t *seed, size_t len, uint8_t *out, size_t cap,
                 size_t *out_len, struct ft_error *err)
{
    if (seed == NULL || out == NULL || out_len == NULL)
        return ft_fail(err, FT_E_INVALID, "wrap seed: NULL seed, output or length");
    if (wrap_check_key(rsa_pub, len, cap, err) != 0)
        return -1;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, rsa_pub, NULL);
    if (ctx == NULL)
        return openssl_fail(err, "wrap seed: EVP_PKEY_CTX_new_from_pkey");
    int rc = 0;
    size_t written = cap;
    if (!wrap_set_oaep(ctx))
        rc = openssl_fail(err, "wrap seed: setting up RSA-OAEP(SHA-256)");
    else if (EVP_PKEY_encrypt(ctx, out, &written, seed, len) != 1)
        rc = openssl_fail(err, "wrap seed: EVP_PKEY_encrypt");
    else
        *out_len = written;
    EVP_PKEY_CTX_free(ctx);
    return rc;
}
