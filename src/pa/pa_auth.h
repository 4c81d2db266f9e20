/* ftpa secrets: the SKU password check (bcrypt), session tokens, token derivation as the
 * upstream SPM does it, RSA-OAEP wrapping of KEYGEN seeds, and a constant-time compare.
 *
 * Upstream behaviour mirrored here (lowRISC/opentitan-provisioning):
 *   - src/spm/services/spm.go InitSession + src/utils/utils.go CompareHashAndPassword:
 *     the SKU password is checked against a bcrypt hash from the SKU auth file.
 *   - src/spm/services/se_pk11.go HSM.GenerateTokens: token = HMAC-SHA256(seed,
 *     diversifier) over the diversifier bytes exactly as received (only an empty diversifier
 *     is refused), cut to 16 bytes for 128-bit tokens, then for HASHED_OT_LC_TOKEN replaced
 *     by the same number of bytes of cSHAKE128(token, N = "", S = "LC_CTRL").
 *   - src/ate/ate_api.h (kDiversificationStringSize = 48) and src/ate/ate_dll.cc: ATE
 *     clients always send the diversifier as a 48-byte field, the label zero-padded;
 *     src/ate/test_programs/{cp,ft}.cc refuse labels longer than 48 bytes. The padding is
 *     the client's job (pa_diversifier_pad); the service hashes what it is given.
 *   - src/pk11/gensec.go SecretKey.Wrap: RSA-OAEP wrapping uses SHA-256, MGF1-SHA-256 and
 *     an empty label.
 * Deliberate difference: session tokens come from a CSPRNG and are 32 characters (upstream:
 * 16 characters from math/rand seeded with the time, session_token.go). */
#ifndef FTHARNESS_PA_PA_AUTH_H
#define FTHARNESS_PA_PA_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/error.h"

#define PA_BCRYPT_PREFIX "$2b$"
#define PA_BCRYPT_COST 10
#define PA_BCRYPT_HASH_LEN 60 /* "$2b$10$" + 22 salt + 31 hash characters */
#define PA_BCRYPT_HASH_SIZE (PA_BCRYPT_HASH_LEN + 1)
#define PA_PASSWORD_MAX 72 /* bcrypt ignores every byte after the 72nd */

#define PA_SESSION_TOKEN_LEN 32
#define PA_SESSION_TOKEN_SIZE (PA_SESSION_TOKEN_LEN + 1)

#define PA_DIVERSIFIER_LEN 48
#define PA_TOKEN_128_LEN 16
#define PA_TOKEN_256_LEN 32
#define PA_SEED_MAX_LEN 64 /* HMAC-SHA256 block size; the SKU seeds are 32 bytes */
#define PA_KEYGEN_SEED_LEN 32
#define PA_WRAP_RSA_MIN_BITS 2048

/* Checks `password` (NUL-terminated) against `bcrypt_hash` ("$2a$", "$2b$" or "$2y$", cost
 * 04..31, 60 characters). Returns 1 if it matches, 0 if it does not, -1 on error:
 * FT_E_INVALID if the hash is not bcrypt or hashing fails, FT_E_RANGE if the password is
 * longer than PA_PASSWORD_MAX bytes (refused rather than silently cut), FT_E_NOMEM. */
int pa_password_check(const char *password, const char *bcrypt_hash, struct ft_error *err);

/* Writes a fresh "$2b$10$..." hash of `password` (1..PA_PASSWORD_MAX bytes) and a NUL into
 * `out` (capacity `cap` >= PA_BCRYPT_HASH_SIZE). The salt comes from RAND_bytes. */
int pa_password_hash(const char *password, char *out, size_t cap, struct ft_error *err);

/* Returns 0 if `hash` has the shape pa_password_check accepts, else -1 with FT_E_INVALID
 * naming what is wrong. For checking the SKU auth file when it is loaded. */
int pa_bcrypt_hash_validate(const char *hash, struct ft_error *err);

/* Writes PA_SESSION_TOKEN_LEN characters drawn uniformly from [A-Za-z0-9] and a NUL into
 * `out` (capacity `cap` >= PA_SESSION_TOKEN_SIZE), from OpenSSL's private CSPRNG. */
int pa_session_token(char *out, size_t cap, struct ft_error *err);

/* Builds the 48-byte diversifier field an ATE client sends: `label` followed by zero bytes.
 * FT_E_RANGE if the label is longer than PA_DIVERSIFIER_LEN. */
int pa_diversifier_pad(const void *label, size_t len, uint8_t out[PA_DIVERSIFIER_LEN],
                       struct ft_error *err);

/* Derives a token into `out` (capacity `cap`): HMAC-SHA256(seed, diversifier) cut to `size`
 * bytes (PA_TOKEN_128_LEN or PA_TOKEN_256_LEN); if `hashed`, the result is then replaced by
 * `size` bytes of cSHAKE128(result, N = "", S = "LC_CTRL"). `seed_len` must be
 * 1..PA_SEED_MAX_LEN and `div_len` at least 1 (the diversifier is used as given, so pass
 * the padded 48 bytes when mirroring an ATE request). Errors: FT_E_INVALID, FT_E_RANGE,
 * FT_E_CAPACITY. */
int pa_token_derive(const uint8_t *seed, size_t seed_len, const uint8_t *diversifier,
                    size_t div_len, size_t size, bool hashed, uint8_t *out, size_t cap,
                    struct ft_error *err);

/* Fills `seed` with `len` (1..PA_SEED_MAX_LEN) bytes from OpenSSL's private CSPRNG: the
 * fresh seed of a KEYGEN token (PA_KEYGEN_SEED_LEN bytes upstream). */
int pa_keygen_seed(uint8_t *seed, size_t len, struct ft_error *err);

/* Encrypts `seed` (`len` bytes) to `rsa_pub` (borrowed; an RSA key of at least
 * PA_WRAP_RSA_MIN_BITS bits) with RSA-OAEP, SHA-256, MGF1-SHA-256, empty label. Writes the
 * ciphertext (the modulus size, 384 bytes for RSA-3072) into `out` (capacity `cap`) and its
 * length into *out_len. */
int pa_wrap_seed(EVP_PKEY *rsa_pub, const uint8_t *seed, size_t len, uint8_t *out, size_t cap,
                 size_t *out_len, struct ft_error *err);

/* True if the `len` bytes at `a` and `b` are equal. The time taken depends only on `len`,
 * never on where the first difference is, so secrets can be compared with it. */
bool pa_ct_equal(const void *a, const void *b, size_t len);

#endif
