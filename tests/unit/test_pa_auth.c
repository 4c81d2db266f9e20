/* pa/pa_auth: SKU passwords (bcrypt), session tokens, token derivation, seed wrapping and
 * the constant-time compare.
 *
 * Known answers:
 *  - "$2a$10$7ZjR5zTQ..." is the bcrypt hash of "test_password" that every shipped SKU of
 *    lowRISC/opentitan-provisioning uses (config/spm/sku_auth.yml.tmpl), made by Go's
 *    x/crypto/bcrypt: a cross-implementation check of libxcrypt.
 *  - The HMAC golden values were computed with Python's hmac/hashlib, and are recomputed
 *    here with OpenSSL's one-shot HMAC(); the hashed-token values with the cSHAKE128 that
 *    test_pa_cshake checks against the NIST samples. */
#include <ctype.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/hex.h"
#include "pa/cshake.h"
#include "pa/pa_auth.h"
#include "testutil.h"

#define UPSTREAM_TEST_HASH "$2a$10$7ZjR5zTQpig.aomnunzte.Ve1eW4GT2ACx1iy4fxtfzysprfrNMfG"
#define SESSION_TOKENS 10000
#define RSA_TEST_BITS 3072

static size_t from_hex(const char *text, uint8_t *out, size_t cap)
{
    size_t n = 0;
    struct ft_error err = {0};
    ck_assert_msg(hex_decode(text, strlen(text), out, cap, &n, &err) == 0, "%s", err.message);
    return n;
}

/* ---- bcrypt ---------------------------------------------------------------------------- */

START_TEST(bcrypt_upstream_hash_verifies)
{
    struct ft_error err = {0};
    ck_assert_int_eq(pa_password_check("test_password", UPSTREAM_TEST_HASH, &err), 1);
    ck_assert_int_eq(pa_password_check("test_passwore", UPSTREAM_TEST_HASH, &err), 0);
    ck_assert_int_eq(pa_password_check("", UPSTREAM_TEST_HASH, &err), 0);
}
END_TEST

START_TEST(bcrypt_round_trip)
{
    char hash[PA_BCRYPT_HASH_SIZE];
    char again[PA_BCRYPT_HASH_SIZE];
    struct ft_error err = {0};
    ck_assert_msg(pa_password_hash("correct horse", hash, sizeof(hash), &err) == 0, "%s",
                  err.message);
    ck_assert_uint_eq(strlen(hash), PA_BCRYPT_HASH_LEN);
    ck_assert_int_eq(strncmp(hash, "$2b$10$", 7), 0);
    ck_assert_int_eq(pa_bcrypt_hash_validate(hash, &err), 0);
    ck_assert_int_eq(pa_password_check("correct horse", hash, &err), 1);
    ck_assert_int_eq(pa_password_check("correct horsf", hash, &err), 0);
    ck_assert_int_eq(pa_password_check("correct horse ", hash, &err), 0);
    /* A fresh salt each time: different strings, both verify. */
    ck_assert_int_eq(pa_password_hash("correct horse", again, sizeof(again), &err), 0);
    ck_assert_str_ne(hash, again);
    ck_assert_int_eq(pa_password_check("correct horse", again, &err), 1);
}
END_TEST

START_TEST(bcrypt_password_length_limits)
{
    char password[PA_PASSWORD_MAX + 2];
    memset(password, 'p', PA_PASSWORD_MAX);
    password[PA_PASSWORD_MAX] = '\0';
    char hash[PA_BCRYPT_HASH_SIZE];
    struct ft_error err = {0};
    ck_assert_int_eq(pa_password_hash(password, hash, sizeof(hash), &err), 0);
    ck_assert_int_eq(pa_password_check(password, hash, &err), 1);
    /* 73 bytes: bcrypt would ignore the last one, so it is refused, not matched. */
    password[PA_PASSWORD_MAX] = 'q';
    password[PA_PASSWORD_MAX + 1] = '\0';
    ck_assert_int_eq(pa_password_check(password, hash, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "longer than 72");
    ck_assert_int_eq(pa_password_hash(password, hash, sizeof(hash), &err), -1);
    ck_assert_error(err, FT_E_RANGE, "longer than 72");
    ck_assert_int_eq(pa_password_hash("", hash, sizeof(hash), &err), -1);
    ck_assert_error(err, FT_E_INVALID, "empty");
    ck_assert_int_eq(pa_password_hash("x", hash, PA_BCRYPT_HASH_LEN, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "buffer holds 60");
    ck_assert_int_eq(pa_password_check(NULL, UPSTREAM_TEST_HASH, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "none given");
}
END_TEST

static void check_rejected_hash(const char *hash, const char *needle)
{
    struct ft_error err = {0};
    ck_assert_msg(pa_password_check("test_password", hash, &err) == -1, "accepted %s", hash);
    ck_assert_error(err, FT_E_INVALID, needle);
}

START_TEST(bcrypt_rejects_other_hashes)
{
    /* SHA-512 crypt, MD5 crypt, yescrypt, plain text: all real crypt(3) formats or not. */
    check_rejected_hash("$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8w"
                        "v6NKaPKGdQpFyBNfIVmbZnBb6CK4/",
                        "not a bcrypt hash");
    check_rejected_hash("$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0", "not a bcrypt hash");
    check_rejected_hash("$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd."
                        "RhAtQ7",
                        "not a bcrypt hash");
    check_rejected_hash("test_password", "not a bcrypt hash");
    check_rejected_hash("", "not a bcrypt hash");
    check_rejected_hash(NULL, "none given");
    /* Broken-bug variant $2x$ and unknown minors. */
    check_rejected_hash("$2x$10$7ZjR5zTQpig.aomnunzte.Ve1eW4GT2ACx1iy4fxtfzysprfrNMfG",
                        "not a bcrypt hash");
    check_rejected_hash("$3a$10$7ZjR5zTQpig.aomnunzte.Ve1eW4GT2ACx1iy4fxtfzysprfrNMfG",
                        "not a bcrypt hash");
    /* Right prefix, wrong shape. */
    check_rejected_hash("$2a$10$7ZjR5zTQpig.aomnunzte.Ve1eW4GT2ACx1iy4fxtfzysprfrNMf",
                        "59 characters");
    check_rejected_hash("$2a$10$7ZjR5zTQpig.aomnunzte.Ve1eW4GT2ACx1iy4fxtfzysprfrNMfGG",
                        "more than 60");
    check_rejected_hash("$2a$03$7ZjR5zTQpig.aomnunzte.Ve1eW4GT2ACx1iy4fxtfzysprfrNMfG", "cost 3");
    check_rejected_hash("$2a$32$7ZjR5zTQpig.aomnunzte.Ve1eW4GT2ACx1iy4fxtfzysprfrNMfG", "cost 32");
    check_rejected_hash("$2a$1a$7ZjR5zTQpig.aomnunzte.Ve1eW4GT2ACx1iy4fxtfzysprfrNMfG",
                        "cost at characters");
    check_rejected_hash("$2a$10$7ZjR5zTQpig.aomnunzte.Ve1eW4GT2ACx1iy4fxtfzysprfrNM+G",
                        "position 58");
}
END_TEST

/* ---- session tokens -------------------------------------------------------------------- */

static int compare_tokens(const void *a, const void *b)
{
    return memcmp(a, b, PA_SESSION_TOKEN_SIZE);
}

START_TEST(session_tokens_alphabet_length_uniqueness)
{
    char(*tokens)[PA_SESSION_TOKEN_SIZE] = calloc(SESSION_TOKENS, PA_SESSION_TOKEN_SIZE);
    ck_assert_ptr_nonnull(tokens);
    unsigned counts[256] = {0};
    struct ft_error err = {0};
    for (size_t i = 0; i < SESSION_TOKENS; i++) {
        ck_assert_msg(pa_session_token(tokens[i], PA_SESSION_TOKEN_SIZE, &err) == 0, "%s",
                      err.message);
        ck_assert_uint_eq(strlen(tokens[i]), PA_SESSION_TOKEN_LEN);
        for (size_t j = 0; j < PA_SESSION_TOKEN_LEN; j++) {
            unsigned char c = (unsigned char)tokens[i][j];
            ck_assert_msg(isascii(c) && isalnum(c), "character 0x%02x in %s", c, tokens[i]);
            counts[c]++;
        }
    }
    qsort(tokens, SESSION_TOKENS, PA_SESSION_TOKEN_SIZE, compare_tokens);
    for (size_t i = 1; i < SESSION_TOKENS; i++)
        ck_assert_str_ne(tokens[i - 1], tokens[i]);
    free(tokens);

    /* 320 000 characters, about 5161 per symbol (sd ~72). A `byte % 62` bias would give
     * A..H 25% more than the rest; allow 12% between the rarest and the most common. */
    unsigned lo = UINT32_MAX;
    unsigned hi = 0;
    unsigned used = 0;
    for (int c = 0; c < 256; c++) {
        if (counts[c] == 0)
            continue;
        used++;
        lo = counts[c] < lo ? counts[c] : lo;
        hi = counts[c] > hi ? counts[c] : hi;
    }
    ck_assert_uint_eq(used, 62);
    ck_assert_msg(hi * 100 < lo * 112, "symbol counts from %u to %u", lo, hi);
}
END_TEST

START_TEST(session_token_capacity)
{
    char small[PA_SESSION_TOKEN_LEN];
    struct ft_error err = {0};
    ck_assert_int_eq(pa_session_token(small, sizeof(small), &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "needs 33 bytes");
}
END_TEST

/* ---- token derivation ------------------------------------------------------------------ */

static void test_seed(uint8_t seed[32])
{
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
}

static void reference_hmac(const uint8_t *seed, size_t seed_len, const uint8_t *div, size_t div_len,
                           uint8_t mac[32])
{
    unsigned int len = 0;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), seed, (int)seed_len, div, div_len, mac, &len));
    ck_assert_uint_eq(len, 32);
}

static void reference_lc_hash(const uint8_t *token, size_t len, uint8_t *out)
{
    struct ft_error err = {0};
    ck_assert_int_eq(cshake128(token, len, NULL, 0, (const uint8_t *)"LC_CTRL", 7, out, len, &err),
                     0);
}

/* Python: hmac.new(bytes(range(32)), b"rma" + bytes(45), sha256). */
START_TEST(token_derive_golden_rma)
{
    uint8_t seed[32];
    uint8_t div[PA_DIVERSIFIER_LEN];
    uint8_t want[32];
    uint8_t got[32];
    struct ft_error err = {0};
    test_seed(seed);
    ck_assert_int_eq(pa_diversifier_pad("rma", 3, div, &err), 0);
    from_hex("a0854b1ab0b7449edb259ac5bb518651d622c1bfdf0e4398a26a77f32e281007", want,
             sizeof(want));
    ck_assert_int_eq(pa_token_derive(seed, 32, div, sizeof(div), 32, false, got, 32, &err), 0);
    ck_assert_mem_eq(got, want, 32);
    ck_assert_int_eq(pa_token_derive(seed, 32, div, sizeof(div), 16, false, got, 32, &err), 0);
    ck_assert_mem_eq(got, want, 16);

    /* HASHED_OT_LC_TOKEN: cSHAKE128 of the cut token, as many bytes out as in. */
    uint8_t hashed[32];
    reference_lc_hash(want, 16, hashed);
    ck_assert_int_eq(pa_token_derive(seed, 32, div, sizeof(div), 16, true, got, 16, &err), 0);
    ck_assert_mem_eq(got, hashed, 16);
    uint8_t via_lc[LC_TOKEN_LEN];
    ck_assert_int_eq(lc_token_hash(want, via_lc), 0);
    ck_assert_mem_eq(got, via_lc, 16);
    reference_lc_hash(want, 32, hashed);
    ck_assert_int_eq(pa_token_derive(seed, 32, div, sizeof(div), 32, true, got, 32, &err), 0);
    ck_assert_mem_eq(got, hashed, 32);
}
END_TEST

/* Upstream hashes the diversifier as received: the padded 48-byte field and the bare label
 * (as src/pa/loadtest.go sends "test_unlock") give different tokens. */
START_TEST(token_derive_uses_diversifier_as_given)
{
    uint8_t seed[32];
    uint8_t div[PA_DIVERSIFIER_LEN];
    uint8_t want[32];
    uint8_t got[32];
    struct ft_error err = {0};
    test_seed(seed);
    ck_assert_int_eq(pa_diversifier_pad("test_unlock", 11, div, &err), 0);
    from_hex("5d2598017a48e9d7a3055c863d924512f44e2ef28319bf49514f4e5b1bf1360c", want,
             sizeof(want));
    ck_assert_int_eq(pa_token_derive(seed, 32, div, sizeof(div), 32, false, got, 32, &err), 0);
    ck_assert_mem_eq(got, want, 32);
    from_hex("be72feadf0ea82435214d3b828f3731ff5962eb7b44e1c31a171e92cdc8a81d2", want,
             sizeof(want));
    ck_assert_int_eq(
        pa_token_derive(seed, 32, (const uint8_t *)"test_unlock", 11, 32, false, got, 32, &err), 0);
    ck_assert_mem_eq(got, want, 32);
}
END_TEST

/* Random seeds, diversifiers and sizes against OpenSSL's one-shot HMAC(). */
START_TEST(token_derive_matches_reference)
{
    uint64_t prng = 0xD1CE;
    struct ft_error err = {0};
    for (int round = 0; round < 300; round++) {
        uint8_t seed[PA_SEED_MAX_LEN];
        uint8_t div[100];
        size_t seed_len = 1 + test_rand(&prng) % sizeof(seed);
        size_t div_len = 1 + test_rand(&prng) % sizeof(div);
        for (size_t i = 0; i < sizeof(seed); i++)
            seed[i] = (uint8_t)test_rand(&prng);
        for (size_t i = 0; i < sizeof(div); i++)
            div[i] = (uint8_t)test_rand(&prng);
        size_t size = round % 2 ? PA_TOKEN_256_LEN : PA_TOKEN_128_LEN;
        bool hashed = round % 4 >= 2;
        uint8_t mac[32];
        uint8_t want[32];
        uint8_t got[32];
        reference_hmac(seed, seed_len, div, div_len, mac);
        if (hashed)
            reference_lc_hash(mac, size, want);
        else
            memcpy(want, mac, size);
        ck_assert_msg(pa_token_derive(seed, seed_len, div, div_len, size, hashed, got, sizeof(got),
                                      &err) == 0,
                      "%s", err.message);
        ck_assert_msg(memcmp(got, want, size) == 0, "round %d", round);
    }
}
END_TEST

START_TEST(token_derive_rejections)
{
    uint8_t seed[PA_SEED_MAX_LEN + 1] = {1};
    uint8_t div[PA_DIVERSIFIER_LEN + 1] = {'r', 'm', 'a'};
    uint8_t out[32];
    struct ft_error err = {0};
    /* Diversifier: se_pk11.go refuses only the empty one. */
    ck_assert_int_eq(pa_token_derive(seed, 32, div, 0, 16, false, out, 32, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "diversifier is empty");
    ck_assert_int_eq(pa_token_derive(seed, 32, NULL, 48, 16, false, out, 32, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "diversifier is empty");
    /* Padding: the ATE field is 48 bytes, a longer label does not fit. */
    uint8_t padded[PA_DIVERSIFIER_LEN];
    ck_assert_int_eq(pa_diversifier_pad(div, PA_DIVERSIFIER_LEN + 1, padded, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "49 bytes exceeds 48");
    ck_assert_int_eq(pa_diversifier_pad(NULL, 3, padded, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "from NULL");
    ck_assert_int_eq(pa_diversifier_pad(div, PA_DIVERSIFIER_LEN, padded, &err), 0);
    ck_assert_mem_eq(padded, div, PA_DIVERSIFIER_LEN);
    ck_assert_int_eq(pa_diversifier_pad(NULL, 0, padded, &err), 0);
    ck_assert_uint_eq(padded[0] | padded[47], 0);
    /* Sizes: only 128 and 256 bits. */
    ck_assert_int_eq(pa_token_derive(seed, 32, div, 48, 24, false, out, 32, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "size 24 bytes");
    ck_assert_int_eq(pa_token_derive(seed, 32, div, 48, 0, false, out, 32, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "size 0 bytes");
    ck_assert_int_eq(pa_token_derive(seed, 32, div, 48, 32, true, out, 16, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "32 bytes do not fit in 16");
    /* Seeds. */
    ck_assert_int_eq(pa_token_derive(seed, 0, div, 48, 16, false, out, 32, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "seed of 0 bytes");
    ck_assert_int_eq(pa_token_derive(seed, sizeof(seed), div, 48, 16, false, out, 32, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "seed of 65 bytes");
    ck_assert_int_eq(pa_token_derive(NULL, 32, div, 48, 16, false, out, 32, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "seed of 0 bytes");
}
END_TEST

START_TEST(keygen_seeds_are_fresh)
{
    uint8_t a[PA_KEYGEN_SEED_LEN];
    uint8_t b[PA_KEYGEN_SEED_LEN];
    struct ft_error err = {0};
    ck_assert_int_eq(pa_keygen_seed(a, sizeof(a), &err), 0);
    ck_assert_int_eq(pa_keygen_seed(b, sizeof(b), &err), 0);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
    ck_assert_int_eq(pa_keygen_seed(a, 0, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "0 bytes");
    ck_assert_int_eq(pa_keygen_seed(NULL, 32, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "expected 1..64");
}
END_TEST

/* ---- seed wrapping --------------------------------------------------------------------- */

/* The caller of pa_wrap_seed loads a public key from PEM; do the same from a fresh pair. */
static EVP_PKEY *public_half(EVP_PKEY *pair)
{
    BIO *bio = BIO_new(BIO_s_mem());
    ck_assert_ptr_nonnull(bio);
    ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pair), 1);
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(pub);
    BIO_free(bio);
    return pub;
}

static int oaep_decrypt(EVP_PKEY *priv, const EVP_MD *md, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t *out_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    ck_assert_ptr_nonnull(ctx);
    int ok = EVP_PKEY_decrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1 &&
             EVP_PKEY_decrypt(ctx, out, out_len, in, in_len) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok ? 0 : -1;
}

START_TEST(wrap_seed_round_trip)
{
    EVP_PKEY *pair = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_TEST_BITS);
    ck_assert_ptr_nonnull(pair);
    EVP_PKEY *pub = public_half(pair);
    uint8_t seed[PA_KEYGEN_SEED_LEN];
    uint8_t wrapped[RSA_TEST_BITS / 8];
    uint8_t second[RSA_TEST_BITS / 8];
    size_t wrapped_len = 0;
    size_t second_len = 0;
    struct ft_error err = {0};
    ck_assert_int_eq(pa_keygen_seed(seed, sizeof(seed), &err), 0);
    ck_assert_msg(
        pa_wrap_seed(pub, seed, sizeof(seed), wrapped, sizeof(wrapped), &wrapped_len, &err) == 0,
        "%s", err.message);
    ck_assert_uint_eq(wrapped_len, 384);

    uint8_t back[RSA_TEST_BITS / 8];
    size_t back_len = sizeof(back);
    ck_assert_int_eq(oaep_decrypt(pair, EVP_sha256(), wrapped, wrapped_len, back, &back_len), 0);
    ck_assert_uint_eq(back_len, sizeof(seed));
    ck_assert_mem_eq(back, seed, sizeof(seed));
    /* OAEP with SHA-1 (OpenSSL's default) must not open it: the parameters are SHA-256. */
    back_len = sizeof(back);
    ck_assert_int_eq(oaep_decrypt(pair, EVP_sha1(), wrapped, wrapped_len, back, &back_len), -1);
    /* OAEP is randomised: the same seed wraps differently each time. */
    ck_assert_int_eq(
        pa_wrap_seed(pub, seed, sizeof(seed), second, sizeof(second), &second_len, &err), 0);
    ck_assert_int_ne(memcmp(wrapped, second, sizeof(wrapped)), 0);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pair);
}
END_TEST

START_TEST(wrap_seed_rejections)
{
    EVP_PKEY *pair = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert_ptr_nonnull(pair);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(ec);
    uint8_t seed[256] = {0};
    uint8_t out[256];
    size_t out_len = 0;
    struct ft_error err = {0};
    ck_assert_int_eq(pa_wrap_seed(ec, seed, 32, out, sizeof(out), &out_len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "not an RSA key");
    ck_assert_int_eq(pa_wrap_seed(NULL, seed, 32, out, sizeof(out), &out_len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "not an RSA key");
    ck_assert_int_eq(pa_wrap_seed(small, seed, 32, out, sizeof(out), &out_len, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "1024 bits");
    /* RSA-2048 OAEP(SHA-256) carries at most 256 - 66 = 190 bytes. */
    ck_assert_int_eq(pa_wrap_seed(pair, seed, 190, out, sizeof(out), &out_len, &err), 0);
    ck_assert_int_eq(pa_wrap_seed(pair, seed, 191, out, sizeof(out), &out_len, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "takes 1..190");
    ck_assert_int_eq(pa_wrap_seed(pair, seed, 0, out, sizeof(out), &out_len, &err), -1);
    ck_assert_error(err, FT_E_RANGE, "seed of 0 bytes");
    ck_assert_int_eq(pa_wrap_seed(pair, seed, 32, out, 255, &out_len, &err), -1);
    ck_assert_error(err, FT_E_CAPACITY, "needs 256 bytes");
    ck_assert_int_eq(pa_wrap_seed(pair, NULL, 32, out, sizeof(out), &out_len, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "NULL seed");
    EVP_PKEY_free(ec);
    EVP_PKEY_free(small);
    EVP_PKEY_free(pair);
}
END_TEST

/* ---- constant-time compare ------------------------------------------------------------- */

START_TEST(ct_equal)
{
    uint8_t a[64];
    uint8_t b[64];
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (uint8_t)(i * 7);
    ck_assert(pa_ct_equal(a, b, sizeof(a)));
    ck_assert(pa_ct_equal(a, b, 0));
    for (size_t i = 0; i < sizeof(a); i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            ck_assert_msg(!pa_ct_equal(a, b, sizeof(a)), "byte %zu bit %u", i, bit);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
}
END_TEST

static Suite *auth_suite(void)
{
    Suite *s = suite_create("pa_auth");
    TCase *bcrypt = tcase_create("bcrypt");
    tcase_set_timeout(bcrypt, 60);
    tcase_add_test(bcrypt, bcrypt_upstream_hash_verifies);
    tcase_add_test(bcrypt, bcrypt_round_trip);
    tcase_add_test(bcrypt, bcrypt_password_length_limits);
    tcase_add_test(bcrypt, bcrypt_rejects_other_hashes);
    suite_add_tcase(s, bcrypt);
    TCase *session = tcase_create("session_token");
    tcase_set_timeout(session, 60);
    tcase_add_test(session, session_tokens_alphabet_length_uniqueness);
    tcase_add_test(session, session_token_capacity);
    suite_add_tcase(s, session);
    TCase *derive = tcase_create("derive");
    tcase_add_test(derive, token_derive_golden_rma);
    tcase_add_test(derive, token_derive_uses_diversifier_as_given);
    tcase_add_test(derive, token_derive_matches_reference);
    tcase_add_test(derive, token_derive_rejections);
    tcase_add_test(derive, keygen_seeds_are_fresh);
    suite_add_tcase(s, derive);
    TCase *wrap = tcase_create("wrap");
    tcase_set_timeout(wrap, 120);
    tcase_add_test(wrap, wrap_seed_round_trip);
    tcase_add_test(wrap, wrap_seed_rejections);
    suite_add_tcase(s, wrap);
    TCase *ct = tcase_create("ct_equal");
    tcase_add_test(ct, ct_equal);
    suite_add_tcase(s, ct);
    return s;
}

FT_TEST_MAIN(auth_suite)
