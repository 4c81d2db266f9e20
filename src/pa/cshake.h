/* cSHAKE128/256 (NIST SP 800-185) computed by OpenSSL 3.0, and the OpenTitan life-cycle
 * token hash built on it: cSHAKE128 with N = "" and S = "LC_CTRL" over the raw token bytes
 * (lc_token_hash below).
 *
 * How: OpenSSL 3.0 has no cSHAKE digest and no parameter that takes N or S, but its default
 * provider offers the EVP digests "KECCAK-KMAC-128" / "KECCAK-KMAC-256" that its KMAC is
 * built on. They are the Keccak sponge with capacity 256 / 512 bits (rate 168 / 136 bytes),
 * the domain byte 0x04 (cSHAKE's suffix bits 00, then the first bit of pad10*1) and XOF output
 * through EVP_DigestFinalXOF; OpenSSL's manual page EVP_MD-KECCAK-KMAC(7) defines them as
 * KECCAK[256](M || 00, d) and KECCAK[512](M || 00, d). SP 800-185 §3.3 defines
 *   cSHAKE128(X, L, N, S) = KECCAK[256](bytepad(encode_string(N) || encode_string(S), 168)
 *                                       || X || 00, L),
 * so this file absorbs the bytepad prefix itself, then X, into KECCAK-KMAC and reads L bits.
 * With N and S both empty, cSHAKE is SHAKE (§3.3): the EVP digests "SHAKE128" / "SHAKE256".
 * The digests are fetched once per process and released by OPENSSL_cleanup. The OpenSSL
 * source lines this relies on are cited in docs/dependencies.md.
 *
 * Why: one Keccak in the process, OpenSSL's, instead of a second, hand-written one; the
 * NIST cSHAKE samples, the OpenTitan LC token hashes and the hand-written implementation this
 * replaced (on random N, S, X and lengths) all give the same bytes.
 *
 * Limit: OpenSSL 3.0 squeezes once (EVP_DigestSqueeze only came in 3.3), so the output is
 * produced by one call; there is no incremental cSHAKE interface. */
#ifndef FTHARNESS_PA_CSHAKE_H
#define FTHARNESS_PA_CSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define CSHAKE128_RATE 168    /* bytes absorbed per permutation: (1600 - 2*128) / 8 */
#define CSHAKE256_RATE 136    /* (1600 - 2*256) / 8 */
#define SP800185_ENCODE_MAX 9 /* left_encode/right_encode of a 64-bit value: 1 + 8 bytes */

#define LC_TOKEN_LEN 16
#define LC_TOKEN_CUSTOMIZATION "LC_CTRL"

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

/* One-shot cSHAKE128 / cSHAKE256: `out_len` bytes of cSHAKE(X, L = 8*out_len, N, S), with
 * function name N and customization S of any length (each may be NULL when its length is
 * 0). FT_E_INVALID for a NULL buffer of non-zero length or when OpenSSL fails (its reason in
 * the message, e.g. a digest the loaded providers do not offer). */
int cshake128(const uint8_t *x, size_t x_len, const uint8_t *name, size_t name_len,
              const uint8_t *custom, size_t custom_len, uint8_t *out, size_t out_len,
              struct ft_error *err);
int cshake256(const uint8_t *x, size_t x_len, const uint8_t *name, size_t name_len,
              const uint8_t *custom, size_t custom_len, uint8_t *out, size_t out_len,
              struct ft_error *err);

/* OpenTitan life-cycle token hash: the 16 bytes of cSHAKE128(token, N = "", S = "LC_CTRL").
 * `token` is the byte string the device's LC controller sees, i.e. the little-endian bytes
 * of its u32 words. Returns 0, or -1 if a pointer is NULL or OpenSSL fails. */
int lc_token_hash(const uint8_t token[LC_TOKEN_LEN], uint8_t out[LC_TOKEN_LEN]);

/* Splits a 16-byte hash into the two u64 values of the device's `LcTokenHash.hash[2]`:
 * words[0] = bytes 0..7 and words[1] = bytes 8..15, each read little-endian. This is what
 * the upstream host does (lowRISC/opentitan sw/host/provisioning/util_lib/src/lib.rs,
 * hash_lc_token: chunks_exact(8) then u64::from_le_bytes), so words[0] is the low half of
 * the hash read as one 128-bit little-endian number. */
void lc_token_hash_words(const uint8_t hash[LC_TOKEN_LEN], uint64_t words[2]);

#endif
