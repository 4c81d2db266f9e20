#include "pa/cshake.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

/* The EVP digests used, fetched together once: Keccak with the cSHAKE domain byte 0x04, and
 * SHAKE for the N = S = "" case. */
enum cshake_digest { MD_KMAC128, MD_SHAKE128, MD_KMAC256, MD_SHAKE256, MD_COUNT };

static const char *const digest_names[MD_COUNT] = {
    [MD_KMAC128] = "KECCAK-KMAC-128",
    [MD_SHAKE128] = "SHAKE128",
    [MD_KMAC256] = "KECCAK-KMAC-256",
    [MD_SHAKE256] = "SHAKE256",
};

static EVP_MD *digests[MD_COUNT];
static CRYPTO_ONCE digests_once = CRYPTO_ONCE_STATIC_INIT;
/* Empty once every digest was fetched; otherwise why not, reported by every later call. */
static char fetch_error[FT_ERROR_MESSAGE_MAX / 2];

/* OpenSSL's most recent error as text, then an empty error queue, so a stale entry never shows
 * up in a later, unrelated message. */
static void openssl_reason(char *buf, size_t cap)
{
    unsigned long code = ERR_peek_last_error();
    if (code != 0)
        ERR_error_string_n(code, buf, cap);
    else
        snprintf(buf, cap, "no OpenSSL error recorded");
    ERR_clear_error();
}

static int openssl_fail(struct ft_error *err, const char *what, enum cshake_digest md)
{
    char reason[FT_ERROR_MESSAGE_MAX / 2];
    openssl_reason(reason, sizeof(reason));
    return ft_fail(err, FT_E_INVALID, "cshake: %s %s: %s", what, digest_names[md], reason);
}

static void free_digests(void)
{
    for (size_t i = 0; i < MD_COUNT; i++) {
        EVP_MD_free(digests[i]);
        digests[i] = NULL;
    }
}

/* Run once per process: an explicit fetch, so the per-hash EVP_DigestInit_ex2 does not look
 * the digest up by name again. The digests are freed by OPENSSL_cleanup (at exit). */
static void fetch_digests(void)
{
    for (size_t i = 0; i < MD_COUNT; i++) {
        digests[i] = EVP_MD_fetch(NULL, digest_names[i], NULL);
        if (digests[i] == NULL) {
            char reason[FT_ERROR_MESSAGE_MAX / 4];
            openssl_reason(reason, sizeof(reason));
            snprintf(fetch_error, sizeof(fetch_error), "EVP_MD_fetch %s: %s", digest_names[i],
                     reason);
            free_digests();
            return;
        }
    }
    (void)OPENSSL_atexit(free_digests); /* if it fails, they stay reachable until exit */
}

static int get_digest(enum cshake_digest which, const EVP_MD **md, struct ft_error *err)
{
    if (!CRYPTO_THREAD_run_once(&digests_once, fetch_digests))
        return ft_fail(err, FT_E_INVALID, "cshake: CRYPTO_THREAD_run_once failed");
    if (fetch_error[0] != '\0')
        return ft_fail(err, FT_E_INVALID, "cshake: %s", fetch_error);
    if (digests[which] == NULL)
        return ft_fail(err, FT_E_INVALID, "cshake: %s used after OPENSSL_cleanup",
                       digest_names[which]);
    *md = digests[which];
    return 0;
}

size_t sp800185_left_encode(uint64_t value, uint8_t out[SP800185_ENCODE_MAX])
{
    /* n = number of bytes in the big-endian form of value, at least 1 (so 0 -> 01 00). */
    size_t n = 1;
    while (n < 8 && (value >> (8 * n)) != 0)
        n++;
    out[0] = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        out[1 + i] = (uint8_t)(value >> (8 * (n - 1 - i)));
    return n + 1;
}

size_t sp800185_right_encode(uint64_t value, uint8_t out[SP800185_ENCODE_MAX])
{
    uint8_t left[SP800185_ENCODE_MAX];
    size_t total = sp800185_left_encode(value, left);
    size_t n = total - 1;
    memcpy(out, left + 1, n);
    out[n] = (uint8_t)n;
    return total;
}

/* Bit length of a byte string as encode_string needs it; fails if it overflows 64 bits. */
static int bit_length(size_t len, uint64_t *bits, const char *what, struct ft_error *err)
{
    if ((uint64_t)len > UINT64_MAX / 8)
        return ft_fail(err, FT_E_RANGE, "sp800-185: %s of %zu bytes is too long to encode", what,
                       len);
    *bits = (uint64_t)len * 8;
    return 0;
}

int sp800185_encode_string(const uint8_t *s, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                           struct ft_error *err)
{
    uint64_t bits = 0;
    if (bit_length(len, &bits, "string", err) != 0)
        return -1;
    if (s == NULL && len > 0)
        return ft_fail(err, FT_E_INVALID, "sp800-185: encode_string of %zu bytes from NULL", len);
    uint8_t prefix[SP800185_ENCODE_MAX];
    size_t prefix_len = sp800185_left_encode(bits, prefix);
    if (len > cap || prefix_len > cap - len)
        return ft_fail(err, FT_E_CAPACITY,
                       "sp800-185: encode_string needs %zu + %zu bytes, buffer holds %zu",
                       prefix_len, len, cap);
    memcpy(out, prefix, prefix_len);
    if (len > 0)
        memcpy(out + prefix_len, s, len);
    *out_len = prefix_len + len;
    return 0;
}

int sp800185_bytepad(const uint8_t *x, size_t x_len, size_t w, uint8_t *out, size_t cap,
                     size_t *out_len, struct ft_error *err)
{
    if (w == 0)
        return ft_fail(err, FT_E_INVALID, "sp800-185: bytepad width 0");
    if (x == NULL && x_len > 0)
        return ft_fail(err, FT_E_INVALID, "sp800-185: bytepad of %zu bytes from NULL", x_len);
    uint8_t prefix[SP800185_ENCODE_MAX];
    size_t prefix_len = sp800185_left_encode((uint64_t)w, prefix);
    if (x_len > SIZE_MAX - prefix_len)
        return ft_fail(err, FT_E_RANGE, "sp800-185: bytepad of %zu bytes overflows", x_len);
    size_t body = prefix_len + x_len;
    size_t pad = (w - body % w) % w;
    if (pad > SIZE_MAX - body)
        return ft_fail(err, FT_E_RANGE, "sp800-185: bytepad of %zu bytes to width %zu overflows",
                       x_len, w);
    size_t total = body + pad;
    if (total > cap)
        return ft_fail(err, FT_E_CAPACITY, "sp800-185: bytepad needs %zu bytes, buffer holds %zu",
                       total, cap);
    memcpy(out, prefix, prefix_len);
    if (x_len > 0)
        memcpy(out + prefix_len, x, x_len);
    memset(out + body, 0, total - body);
    *out_len = total;
    return 0;
}

/* EVP_DigestUpdate that also keeps the position within the current block (*pos < rate). */
static bool absorb(EVP_MD_CTX *ctx, size_t rate, size_t *pos, const void *data, size_t len)
{
    *pos = (*pos + len % rate) % rate;
    return len == 0 || EVP_DigestUpdate(ctx, data, len) == 1;
}

/* Absorbs bytepad(encode_string(N) || encode_string(S), rate) without building it in memory,
 * so N and S may be of any length. Bit lengths were checked by the caller. */
static bool absorb_prefix(EVP_MD_CTX *ctx, size_t rate, const uint8_t *name, size_t name_len,
                          const uint8_t *custom, size_t custom_len)
{
    static const uint8_t zeros[CSHAKE128_RATE];
    uint8_t width[SP800185_ENCODE_MAX];
    uint8_t name_bits[SP800185_ENCODE_MAX];
    uint8_t custom_bits[SP800185_ENCODE_MAX];
    size_t width_len = sp800185_left_encode((uint64_t)rate, width);
    size_t name_bits_len = sp800185_left_encode((uint64_t)name_len * 8, name_bits);
    size_t custom_bits_len = sp800185_left_encode((uint64_t)custom_len * 8, custom_bits);
    size_t pos = 0;
    return absorb(ctx, rate, &pos, width, width_len) &&
           absorb(ctx, rate, &pos, name_bits, name_bits_len) &&
           absorb(ctx, rate, &pos, name, name_len) &&
           absorb(ctx, rate, &pos, custom_bits, custom_bits_len) &&
           absorb(ctx, rate, &pos, custom, custom_len) &&
           absorb(ctx, rate, &pos, zeros, (rate - pos) % rate);
}

static int cshake(size_t rate, const uint8_t *x, size_t x_len, const uint8_t *name, size_t name_len,
                  const uint8_t *custom, size_t custom_len, uint8_t *out, size_t out_len,
                  struct ft_error *err)
{
    uint64_t bits = 0;
    if (x == NULL && x_len > 0)
        return ft_fail(err, FT_E_INVALID, "cshake: input of %zu bytes from NULL", x_len);
    if (name == NULL && name_len > 0)
        return ft_fail(err, FT_E_INVALID, "cshake: function name of %zu bytes from NULL", name_len);
    if (custom == NULL && custom_len > 0)
        return ft_fail(err, FT_E_INVALID, "cshake: customization of %zu bytes from NULL",
                       custom_len);
    if (out == NULL && out_len > 0)
        return ft_fail(err, FT_E_INVALID, "cshake: output of %zu bytes into NULL", out_len);
    if (bit_length(name_len, &bits, "function name", err) != 0 ||
        bit_length(custom_len, &bits, "customization", err) != 0)
        return -1;
    if (out_len == 0)
        return 0; /* L = 0: the empty string, whatever the input */

    /* SP 800-185 §3.3: with N and S both empty, cSHAKE(X, L, "", "") = SHAKE(X, L). */
    bool shake = name_len == 0 && custom_len == 0;
    enum cshake_digest which = rate == CSHAKE128_RATE ? (shake ? MD_SHAKE128 : MD_KMAC128)
                                                      : (shake ? MD_SHAKE256 : MD_KMAC256);
    const EVP_MD *md = NULL;
    if (get_digest(which, &md, err) != 0)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return openssl_fail(err, "EVP_MD_CTX_new for", which);
    int rc = 0;
    if (EVP_DigestInit_ex2(ctx, md, NULL) != 1)
        rc = openssl_fail(err, "EVP_DigestInit_ex2", which);
    else if (!shake && !absorb_prefix(ctx, rate, name, name_len, custom, custom_len))
        rc = openssl_fail(err, "absorbing the N and S prefix into", which);
    else if (x_len > 0 && EVP_DigestUpdate(ctx, x, x_len) != 1)
        rc = openssl_fail(err, "EVP_DigestUpdate", which);
    else if (EVP_DigestFinalXOF(ctx, out, out_len) != 1)
        rc = openssl_fail(err, "EVP_DigestFinalXOF", which);
    EVP_MD_CTX_free(ctx); /* the provider wipes the Keccak state (OPENSSL_clear_free) */
    return rc;
}

int cshake128(const uint8_t *x, size_t x_len, const uint8_t *name, size_t name_len,
              const uint8_t *custom, size_t custom_len, uint8_t *out, size_t out_len,
              struct ft_error *err)
{
    return cshake(CSHAKE128_RATE, x, x_len, name, name_len, custom, custom_len, out, out_len, err);
}

int cshake256(const uint8_t *x, size_t x_len, const uint8_t *name, size_t name_len,
              const uint8_t *custom, size_t custom_len, uint8_t *out, size_t out_len,
              struct ft_error *err)
{
    return cshake(CSHAKE256_RATE, x, x_len, name, name_len, custom, custom_len, out, out_len, err);
}

int lc_token_hash(const uint8_t token[LC_TOKEN_LEN], uint8_t out[LC_TOKEN_LEN])
{
    if (token == NULL || out == NULL)
        return -1;
    static const char custom[] = LC_TOKEN_CUSTOMIZATION;
    return cshake128(token, LC_TOKEN_LEN, NULL, 0, (const uint8_t *)custom, sizeof(custom) - 1, out,
                     LC_TOKEN_LEN, NULL);
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void lc_token_hash_words(const uint8_t hash[LC_TOKEN_LEN], uint64_t words[2])
{
    words[0] = load_le64(hash);
    words[1] = load_le64(hash + 8);
}
