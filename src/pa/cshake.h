/* Keccak-f[1600], SHAKE and cSHAKE (FIPS 202, NIST SP 800-185), written out because no
 * library on Debian 12 offers cSHAKE: OpenSSL 3.0's SHAKE appends the SHAKE domain bits
 * (1111) and has no way to take the cSHAKE prefix and domain bits (00).
 *
 * The one user that matters is the OpenTitan life-cycle token hash: cSHAKE128 with N = ""
 * and S = "LC_CTRL" over the raw token bytes (lc_token_hash below). */
#ifndef FTHARNESS_PA_CSHAKE_H
#define FTHARNESS_PA_CSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define KECCAK_LANES 25
#define CSHAKE128_RATE 168    /* bytes absorbed per permutation: (1600 - 2*128) / 8 */
#define CSHAKE256_RATE 136    /* (1600 - 2*256) / 8 */
#define SP800185_ENCODE_MAX 9 /* left_encode/right_encode of a 64-bit value: 1 + 8 bytes */

#define LC_TOKEN_LEN 16
#define LC_TOKEN_CUSTOMIZATION "LC_CTRL"

/* Applies the 24-round Keccak-f[1600] permutation to `lanes` in place. Lane i holds the
 * state bytes 8i..8i+7 little-endian, as in FIPS 202 §B.1. */
void keccak_f1600(uint64_t lanes[KECCAK_LANES]);

/* A sponge over Keccak-f[1600] with a byte-aligned rate and a domain-separation suffix
 * (the suffix bits plus the first bit of pad10*1, e.g. 0x1F for SHAKE, 0x04 for cSHAKE).
 * Lives on the caller's stack; holds no pointers, so it can be copied to fork a state. */
struct keccak_sponge {
    uint64_t lanes[KECCAK_LANES];
    size_t rate;    /* bytes per block; 0 marks a sponge that was never set up */
    size_t pos;     /* absorbing: bytes XORed into the current block; squeezing: read */
    uint8_t suffix; /* domain bits and first padding bit, LSB first */
    bool squeezing;
};

/* Sets up an empty sponge. `rate` must be a multiple of 8 between 8 and 192 bytes and
 * `suffix` non-zero below 0x80 (so the domain bits and the final pad bit never share a bit);
 * otherwise FT_E_INVALID. */
int keccak_sponge_init(struct keccak_sponge *sponge, size_t rate, uint8_t suffix,
                       struct ft_error *err);

/* XORs `len` bytes into the sponge, permuting at each block boundary, so a message may be
 * fed in any number of pieces. Fails with FT_E_INVALID once squeezing has begun. */
int keccak_sponge_absorb(struct keccak_sponge *sponge, const uint8_t *data, size_t len,
                         struct ft_error *err);

/* Reads `len` output bytes. The first call pads and finishes absorbing; later calls
 * continue the same output stream (XOF). */
int keccak_sponge_squeeze(struct keccak_sponge *sponge, uint8_t *out, size_t len,
                          struct ft_error *err);

/* Overwrites the whole sponge (the state holds secrets when the input was a token). */
void keccak_sponge_wipe(struct keccak_sponge *sponge);

/* SP 800-185 §2.3.1 integer encodings. Write the encoding of `value` into `out` and return
 * its length (2..9 bytes). left_encode puts the length byte first, right_encode last. */
size_t sp800185_left_encode(uint64_t value, uint8_t out[SP800185_ENCODE_MAX]);
size_t sp800185_right_encode(uint64_t value, uint8_t out[SP800185_ENCODE_MAX]);

/* SP 800-185 §2.3.2 encode_string(S) = left_encode(bit length of S) || S, written into `out`
 * (capacity `cap`) with its length in *out_len. FT_E_RANGE if the bit length overflows 64
 * bits, FT_E_CAPACITY if it does not fit. */
int sp800185_encode_string(const uint8_t *s, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                           struct ft_error *err);

/* SP 800-185 §2.3.3 bytepad(X, w) = left_encode(w) || X || zero bytes up to a multiple of
 * w, written into `out` (capacity `cap`). `w` must be non-zero. */
int sp800185_bytepad(const uint8_t *x, size_t x_len, size_t w, uint8_t *out, size_t cap,
                     size_t *out_len, struct ft_error *err);

/* The cSHAKE variants by security strength; the value is the sponge rate in bytes. */
enum cshake_strength {
    CSHAKE_128 = CSHAKE128_RATE,
    CSHAKE_256 = CSHAKE256_RATE,
};

/* Starts cSHAKE with function name N and customization S (either may be NULL when its
 * length is 0). It absorbs bytepad(encode_string(N) || encode_string(S), rate) and selects
 * the cSHAKE domain bits; when N and S are both empty it is plain SHAKE instead, as
 * SP 800-185 §3.3 requires. Continue with keccak_sponge_absorb/_squeeze. */
int cshake_init(struct keccak_sponge *sponge, enum cshake_strength strength, const uint8_t *name,
                size_t name_len, const uint8_t *custom, size_t custom_len, struct ft_error *err);

/* One-shot cSHAKE128 / cSHAKE256: `out_len` bytes of cSHAKE(X, L = 8*out_len, N, S). */
int cshake128(const uint8_t *x, size_t x_len, const uint8_t *name, size_t name_len,
              const uint8_t *custom, size_t custom_len, uint8_t *out, size_t out_len,
              struct ft_error *err);
int cshake256(const uint8_t *x, size_t x_len, const uint8_t *name, size_t name_len,
              const uint8_t *custom, size_t custom_len, uint8_t *out, size_t out_len,
              struct ft_error *err);

/* OpenTitan life-cycle token hash: the 16 bytes of cSHAKE128(token, N = "", S = "LC_CTRL").
 * `token` is the byte string the device's LC controller sees, i.e. the little-endian bytes
 * of its u32 words. Returns 0, or -1 if a pointer is NULL. */
int lc_token_hash(const uint8_t token[LC_TOKEN_LEN], uint8_t out[LC_TOKEN_LEN]);

/* Splits a 16-byte hash into the two u64 values of the device's `LcTokenHash.hash[2]`:
 * words[0] = bytes 0..7 and words[1] = bytes 8..15, each read little-endian. This is what
 * the upstream host does (lowRISC/opentitan sw/host/provisioning/util_lib/src/lib.rs,
 * hash_lc_token: chunks_exact(8) then u64::from_le_bytes), so words[0] is the low half of
 * the hash read as one 128-bit little-endian number. */
void lc_token_hash_words(const uint8_t hash[LC_TOKEN_LEN], uint64_t words[2]);

#endif
