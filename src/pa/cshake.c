#include "pa/cshake.h"

#include <string.h>

#include <openssl/crypto.h>

/* Domain-separation suffixes, LSB first, each followed by the first bit of pad10*1:
 * SHAKE appends 1111 (FIPS 202 §6.2), cSHAKE appends 00 (SP 800-185 §3.3). */
#define SHAKE_SUFFIX 0x1F
#define CSHAKE_SUFFIX 0x04
#define KECCAK_STATE_BYTES (8 * KECCAK_LANES)

/* Round constants RC[i] of the iota step (FIPS 202 §3.2.5). */
static const uint64_t keccak_round_constants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Rotation offsets of the rho step for lane x + 5y (FIPS 202 §3.2.2, table 2). */
static const unsigned keccak_rho_offsets[KECCAK_LANES] = {
    0,  1,  62, 28, 27, /* y = 0 */
    36, 44, 6,  55, 20, /* y = 1 */
    3,  10, 43, 25, 39, /* y = 2 */
    41, 45, 15, 21, 8,  /* y = 3 */
    18, 2,  61, 56, 14, /* y = 4 */
};

static uint64_t rotl64(uint64_t v, unsigned n)
{
    /* n is 0..63; masking the right shift keeps n = 0 defined. */
    return (v << n) | (v >> ((64 - n) & 63));
}

static void keccak_theta(uint64_t a[KECCAK_LANES])
{
    uint64_t column[5];
    for (unsigned x = 0; x < 5; x++)
        column[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (unsigned x = 0; x < 5; x++) {
        uint64_t d = column[(x + 4) % 5] ^ rotl64(column[(x + 1) % 5], 1);
        for (unsigned y = 0; y < 5; y++)
            a[x + 5 * y] ^= d;
    }
}

/* rho and pi together: lane (x, y) is rotated and moved to (y, 2x + 3y). */
static void keccak_rho_pi(const uint64_t a[KECCAK_LANES], uint64_t b[KECCAK_LANES])
{
    for (unsigned y = 0; y < 5; y++)
        for (unsigned x = 0; x < 5; x++)
            b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl64(a[x + 5 * y], keccak_rho_offsets[x + 5 * y]);
}

static void keccak_chi(const uint64_t b[KECCAK_LANES], uint64_t a[KECCAK_LANES])
{
    for (unsigned y = 0; y < 5; y++)
        for (unsigned x = 0; x < 5; x++)
            a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
}

void keccak_f1600(uint64_t lanes[KECCAK_LANES])
{
    uint64_t scratch[KECCAK_LANES];
    for (unsigned round = 0; round < 24; round++) {
        keccak_theta(lanes);
        keccak_rho_pi(lanes, scratch);
        keccak_chi(scratch, lanes);
        lanes[0] ^= keccak_round_constants[round];
    }
    OPENSSL_cleanse(scratch, sizeof(scratch));
}

/* The state is addressed as bytes little-endian within each lane, independent of the host
 * byte order. */
static void sponge_xor_byte(struct keccak_sponge *sponge, size_t index, uint8_t value)
{
    sponge->lanes[index / 8] ^= (uint64_t)value << (8 * (index % 8));
}

static uint8_t sponge_get_byte(const struct keccak_sponge *sponge, size_t index)
{
    return (uint8_t)(sponge->lanes[index / 8] >> (8 * (index % 8)));
}

int keccak_sponge_init(struct keccak_sponge *sponge, size_t rate, uint8_t suffix,
                       struct ft_error *err)
{
    if (sponge == NULL)
        return ft_fail(err, FT_E_INVALID, "keccak: no sponge given");
    /* The capacity (200 - rate bytes) must stay non-zero or the sponge has no security. */
    if (rate < 8 || rate >= KECCAK_STATE_BYTES || rate % 8 != 0)
        return ft_fail(err, FT_E_INVALID,
                       "keccak: rate %zu bytes is not a multiple of 8 between 8 and %d", rate,
                       KECCAK_STATE_BYTES - 8);
    if (suffix == 0 || suffix >= 0x80)
        return ft_fail(err, FT_E_INVALID, "keccak: domain suffix 0x%02x is not in 0x01..0x7f",
                       suffix);
    memset(sponge, 0, sizeof(*sponge));
    sponge->rate = rate;
    sponge->suffix = suffix;
    return 0;
}

static int sponge_check_ready(const struct keccak_sponge *sponge, struct ft_error *err)
{
    if (sponge == NULL || sponge->rate == 0)
        return ft_fail(err, FT_E_INVALID, "keccak: sponge used before keccak_sponge_init");
    return 0;
}

int keccak_sponge_absorb(struct keccak_sponge *sponge, const uint8_t *data, size_t len,
                         struct ft_error *err)
{
    if (sponge_check_ready(sponge, err) != 0)
        return -1;
    if (sponge->squeezing)
        return ft_fail(err, FT_E_INVALID, "keccak: absorb of %zu bytes after squeezing began", len);
    if (data == NULL && len > 0)
        return ft_fail(err, FT_E_INVALID, "keccak: absorb of %zu bytes from NULL", len);
    for (size_t i = 0; i < len; i++) {
        sponge_xor_byte(sponge, sponge->pos, data[i]);
        if (++sponge->pos == sponge->rate) {
            keccak_f1600(sponge->lanes);
            sponge->pos = 0;
        }
    }
    return 0;
}

/* Absorbs zero bytes up to the next block boundary. XORing zeros changes nothing, so only
 * the permutation is needed, and only if the current block is partly filled. */
static void sponge_zero_fill_block(struct keccak_sponge *sponge)
{
    if (sponge->pos != 0) {
        keccak_f1600(sponge->lanes);
        sponge->pos = 0;
    }
}

/* pad10*1 with the domain bits in front: the suffix byte at the current position and the
 * final 1 bit in the last byte of the block (both may land in the same byte). */
static void sponge_finish_absorbing(struct keccak_sponge *sponge)
{
    sponge_xor_byte(sponge, sponge->pos, sponge->suffix);
    sponge_xor_byte(sponge, sponge->rate - 1, 0x80);
    keccak_f1600(sponge->lanes);
    sponge->pos = 0;
    sponge->squeezing = true;
}

int keccak_sponge_squeeze(struct keccak_sponge *sponge, uint8_t *out, size_t len,
                          struct ft_error *err)
{
    if (sponge_check_ready(sponge, err) != 0)
        return -1;
    if (out == NULL && len > 0)
        return ft_fail(err, FT_E_INVALID, "keccak: squeeze of %zu bytes into NULL", len);
    if (!sponge->squeezing)
        sponge_finish_absorbing(sponge);
    for (size_t i = 0; i < len; i++) {
        if (sponge->pos == sponge->rate) {
            keccak_f1600(sponge->lanes);
            sponge->pos = 0;
        }
        out[i] = sponge_get_byte(sponge, sponge->pos++);
    }
    return 0;
}

void keccak_sponge_wipe(struct keccak_sponge *sponge)
{
    if (sponge != NULL)
        OPENSSL_cleanse(sponge, sizeof(*sponge));
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

/* Feeds encode_string(s) into the sponge without building it in memory, so N and S may be
 * of any length. */
static int sponge_absorb_encoded_string(struct keccak_sponge *sponge, const uint8_t *s, size_t len,
                                        const char *what, struct ft_error *err)
{
    uint64_t bits = 0;
    if (bit_length(len, &bits, what, err) != 0)
        return -1;
    if (s == NULL && len > 0)
        return ft_fail(err, FT_E_INVALID, "cshake: %s of %zu bytes from NULL", what, len);
    uint8_t prefix[SP800185_ENCODE_MAX];
    size_t prefix_len = sp800185_left_encode(bits, prefix);
    if (keccak_sponge_absorb(sponge, prefix, prefix_len, err) != 0)
        return -1;
    return keccak_sponge_absorb(sponge, s, len, err);
}

int cshake_init(struct keccak_sponge *sponge, enum cshake_strength strength, const uint8_t *name,
                size_t name_len, const uint8_t *custom, size_t custom_len, struct ft_error *err)
{
    if (strength != CSHAKE_128 && strength != CSHAKE_256)
        return ft_fail(err, FT_E_INVALID, "cshake: unknown strength (rate %d)", (int)strength);
    size_t rate = (size_t)strength;
    /* SP 800-185 §3.3: with N and S both empty, cSHAKE(X, L, "", "") = SHAKE(X, L). */
    if (name_len == 0 && custom_len == 0)
        return keccak_sponge_init(sponge, rate, SHAKE_SUFFIX, err);
    if (keccak_sponge_init(sponge, rate, CSHAKE_SUFFIX, err) != 0)
        return -1;
    /* bytepad(encode_string(N) || encode_string(S), rate), streamed. */
    uint8_t width[SP800185_ENCODE_MAX];
    size_t width_len = sp800185_left_encode((uint64_t)rate, width);
    if (keccak_sponge_absorb(sponge, width, width_len, err) != 0 ||
        sponge_absorb_encoded_string(sponge, name, name_len, "function name", err) != 0 ||
        sponge_absorb_encoded_string(sponge, custom, custom_len, "customization", err) != 0) {
        keccak_sponge_wipe(sponge);
        return -1;
    }
    sponge_zero_fill_block(sponge);
    return 0;
}

static int cshake_oneshot(enum cshake_strength strength, const uint8_t *x, size_t x_len,
                          const uint8_t *name, size_t name_len, const uint8_t *custom,
                          size_t custom_len, uint8_t *out, size_t out_len, struct ft_error *err)
{
    struct keccak_sponge sponge;
    int rc = -1;
    if (cshake_init(&sponge, strength, name, name_len, custom, custom_len, err) == 0 &&
        keccak_sponge_absorb(&sponge, x, x_len, err) == 0 &&
        keccak_sponge_squeeze(&sponge, out, out_len, err) == 0)
        rc = 0;
    keccak_sponge_wipe(&sponge);
    return rc;
}

int cshake128(const uint8_t *x, size_t x_len, const uint8_t *name, size_t name_len,
              const uint8_t *custom, size_t custom_len, uint8_t *out, size_t out_len,
              struct ft_error *err)
{
    return cshake_oneshot(CSHAKE_128, x, x_len, name, name_len, custom, custom_len, out, out_len,
                          err);
}

int cshake256(const uint8_t *x, size_t x_len, const uint8_t *name, size_t name_len,
              const uint8_t *custom, size_t custom_len, uint8_t *out, size_t out_len,
              struct ft_error *err)
{
    return cshake_oneshot(CSHAKE_256, x, x_len, name, name_len, custom, custom_len, out, out_len,
                          err);
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
