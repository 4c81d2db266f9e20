/* The Wafer Authentication Secret and the TBS HMAC it keys (reference/opentitan-ft-flow.md
 * §8.2, reference/opentitan-provisioning.md §3.2 and §3.3).
 *
 * The endorsement service derives a chip's WAS as HMAC-SHA256(seed, diversifier exactly as
 * it received it; se_pk11.go:609-626) and byte-swaps each 32-bit word, because the chip
 * loads the key as little-endian words. The ATE always sends the diversifier zero-padded
 * to 48 bytes ("was" + 45 zeros, src/ate/test_programs/ft.cc:123-130), and the chip's WAS was made
 * from that form, so a 3-byte "was" derives another key. The chip then signs its TBS certificates
 * with HMAC-SHA256(WAS, concatenated TBS DER bodies in blob order). */
#ifndef FTHARNESS_CERT_WAS_H
#define FTHARNESS_CERT_WAS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define WAS_SIZE 32u
#define WAS_DIVERSIFIER_SIZE 48u

/* Derives the WAS the chip holds from the diversifier's ATE form: `diversifier` (e.g.
 * "was", at most 48 bytes) zero-padded to 48. */
int was_derive(const uint8_t *seed, size_t seed_len, const uint8_t *diversifier,
               size_t diversifier_len, uint8_t was[WAS_SIZE], struct ft_error *err);

/* As the service derives it: from the diversifier bytes exactly as received (1..48). */
int was_derive_exact(const uint8_t *seed, size_t seed_len, const uint8_t *diversifier,
                     size_t diversifier_len, uint8_t was[WAS_SIZE], struct ft_error *err);

/* Incremental HMAC over TBS bodies. */
struct was_hmac;
struct was_hmac *was_hmac_new(const uint8_t was[WAS_SIZE], struct ft_error *err);
int was_hmac_update(struct was_hmac *h, const uint8_t *tbs, size_t len, struct ft_error *err);
/* Writes the 32-byte tag and frees `h`. */
int was_hmac_final(struct was_hmac *h, uint8_t tag[32], struct ft_error *err);
void was_hmac_free(struct was_hmac *h);

#endif
