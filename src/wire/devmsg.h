/* Strict decoders for the JSON the perso firmware sends (the part of a RESP_OK line
 * between the prefix and " CRC:"). Strict means: one JSON object, exactly the expected
 * keys (none missing, none unknown, none repeated), integers only, each within its C
 * type, arrays no longer than their C size, and the text no longer than the padded
 * maximum. Every rejection names the field and the reason. */
#ifndef FTHARNESS_WIRE_DEVMSG_H
#define FTHARNESS_WIRE_DEVMSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "wire/perso_blob.h"

#define SHA256_DIGEST_SIZE 32u

/* perso_blob_t: num_objs (u32), next_free (<= 5120), body (<= 5120 bytes, >= next_free
 * elements; bytes past the array are zero). The TLV content is not checked here: use
 * perso_blob_validate() with the blob version in use. */
int devmsg_decode_perso_blob(const char *json, size_t len, struct perso_blob *out,
                             struct ft_error *err);

/* serdes_sha256_hash_t: exactly 8 u32 words, returned as the SHA-256 digest they encode.
 * Upstream word order: data[k] holds digest bytes 28-4k..31-4k, big-endian, so data[7]
 * carries the first four digest bytes. */
int devmsg_decode_sha256_hash(const char *json, size_t len, uint8_t digest[SHA256_DIGEST_SIZE],
                              struct ft_error *err);

/* The inverse mapping, digest -> data[8], for the device model and tests. */
void sha256_digest_to_words(const uint8_t digest[SHA256_DIGEST_SIZE], uint32_t data[8]);

#endif
