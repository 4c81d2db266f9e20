/* Device-side ujson deserializer of the ftsim model: reads host->device messages from a
 * blocking byte source exactly as the perso firmware's ujson does (earlgrey_1.0.0
 * sw/device/lib/ujson/ujson.c, ujson_derive.h, test_framework/ujson_ottf.h).
 *
 * Pure: no I/O of its own, no threads, no globals; all state is in struct ujson_de.
 *
 * Grammar accepted, as upstream (each rule is what the device does, quirks included):
 *  - whitespace (' ', '\t', '\n', '\v', '\f', '\r') is skipped before every token, never
 *    inside a quoted string or a quoted integer;
 *  - struct keys in any order, repeated keys allowed (the last write wins), `{}` accepted
 *    and leaves the destination untouched; an unknown key is INVALID_ARGUMENT;
 *  - keys are read into a 128-byte buffer: 127 characters are kept, the rest of a longer
 *    key is consumed and dropped; escapes \" \\ \/ \b \f \n \r \t \uXXXX are decoded, and
 *    \uXXXX keeps only the low 8 bits; a key is compared as a C string, so "\u0000" ends
 *    it; any other escape or a non-hex digit is OUT_OF_RANGE;
 *  - integers: optional '"' (then the closing '"' must follow the digits, else
 *    INVALID_ARGUMENT), optional '-', then at least one decimal digit (else NOT_FOUND);
 *    leading zeros allowed; the value is accumulated in 64 bits and OUT_OF_RANGE only past
 *    2^64-1 (or, negative, past 2^63). The 64-bit value is then TRUNCATED to the field
 *    width without any error: "256" into a uint8_t stores 0, "-1" stores 0xff;
 *  - arrays: fewer elements than the C array are accepted and the remaining elements are
 *    left untouched; one element too many is NOT_FOUND; once the C array is full, any
 *    run of extra commas before ']' is accepted ("[1,2,]" and "[1,2,,,]" decode into a
 *    2-element array);
 *  - every other syntax error (missing ':', ',', '{', '[', ']') is NOT_FOUND.
 * Exactly one JSON object is consumed: the number parser reads one byte past the digits
 * and pushes it back (one-byte pushback), but nothing past the closing '}' is ever read.
 * After an error, the context may still hold one pushed-back byte, as upstream.
 *
 * Divergence on purpose: upstream swallows a getc error that ends a number (and would
 * fail on the next read instead); here a closed source always returns
 * UJSON_DE_SOURCE_CLOSED at once, so the caller can unwind after a device reset. */
#ifndef FTHARNESS_SIM_UJSON_DE_H
#define FTHARNESS_SIM_UJSON_DE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Returns the next byte (0..255), blocking as long as it needs to, or -1 when the source
 * is closed (device reset, host gone). Any other value is treated as -1. */
typedef int (*ujson_getc_fn)(void *ctx);

/* Status codes, numerically equal to the absl/OpenTitan status_t codes the firmware
 * would report (sw/device/lib/base/internal/status.h), plus SOURCE_CLOSED for the model.
 * The deserializer never produces RESOURCE_EXHAUSTED (no length limit other than the
 * silent key truncation above), so it is not listed. */
enum ujson_de_status {
    UJSON_DE_OK = 0,
    UJSON_DE_INVALID_ARGUMENT = 3,    /* unknown key; quoted integer not closed by '"' */
    UJSON_DE_NOT_FOUND = 5,           /* expected token missing; array too long */
    UJSON_DE_FAILED_PRECONDITION = 9, /* second pushback (unreachable, kept for parity) */
    UJSON_DE_OUT_OF_RANGE = 11,       /* integer beyond 64 bits; bad string escape */
    UJSON_DE_DATA_LOSS = 15,          /* UJSON_WITH_CRC mismatch */
    UJSON_DE_SOURCE_CLOSED = 100,     /* getc returned -1: not an upstream code */
};

/* Reader state: the source, the one-byte pushback (ujson_t.buffer) and the running
 * CRC-32 of every byte taken from the source (ujson_t.crc32). */
struct ujson_de {
    ujson_getc_fn getc; /* borrowed */
    void *ctx;          /* borrowed, passed to getc */
    int pushback;       /* -1 or the pushed-back byte 0..255 */
    uint32_t crc;       /* CRC register (pre-inversion), reset by the CRC decoders */
    size_t consumed;    /* bytes taken from the source since ujson_de_init */
    size_t msg_start;   /* `consumed` when the current message started; for messages */
};

/* Structs as the firmware declares them (provisioning_data.h, ottf.h). size_t fields are
 * 32 bits wide on the device and are declared uint32_t here. */
struct dev_lc_token_hash {
    uint64_t hash[2];
};

struct dev_certgen_inputs {
    uint8_t dice_auth_key_key_id[20];
    uint8_t ext_auth_key_key_id[20];
    uint16_t blob_version;
};

#define DEV_PERSO_BLOB_BODY_SIZE 5120u

struct dev_perso_blob {
    uint32_t num_objs;
    uint32_t next_free;
    uint8_t body[DEV_PERSO_BLOB_BODY_SIZE];
};

struct dev_ft_individualize_data {
    uint32_t ft_device_id[4];
};

struct dev_ottf_crc {
    uint32_t crc;
};

/* Starts reading from `getc(ctx)` with an empty pushback. */
void ujson_de_init(struct ujson_de *de, ujson_getc_fn getc, void *ctx);

/* Each decoder reads one object into `out`, writing only the fields and array elements
 * present in the input (the caller decides what the rest holds, as the firmware does
 * with its static or stack variables). On failure it returns the status and, when `err`
 * is not NULL, fills it with the type, the key and array index being read, and the byte
 * offset within the message; `out` may then be partly written. */
enum ujson_de_status ujson_de_lc_token_hash(struct ujson_de *de, struct dev_lc_token_hash *out,
                                            struct ft_error *err);
/* manuf_certgen_inputs_t of a firmware generation: without blob_version (a2-rc17), a
 * "blob_version" key is an unknown key (INVALID_ARGUMENT) and out->blob_version is not
 * written. The padded size (210 or 215) plays no part: the device reads to the '}'. */
enum ujson_de_status ujson_de_certgen_inputs(struct ujson_de *de, bool with_blob_version,
                                             struct dev_certgen_inputs *out, struct ft_error *err);
enum ujson_de_status ujson_de_perso_blob(struct ujson_de *de, struct dev_perso_blob *out,
                                         struct ft_error *err);
enum ujson_de_status ujson_de_ft_individualize(struct ujson_de *de,
                                               struct dev_ft_individualize_data *out,
                                               struct ft_error *err);
enum ujson_de_status ujson_de_ottf_crc(struct ujson_de *de, struct dev_ottf_crc *out,
                                       struct ft_error *err);

/* UJSON_WITH_CRC(ujson_deserialize_lc_token_hash_t, ...), as the firmware reads the RMA
 * token hash: resets the CRC, reads the object (the CRC covers every byte taken from the
 * source for it, whitespace before '{' and padding included), then reads an ottf_crc_t
 * object and compares; DATA_LOSS on mismatch. The CRC object is not read when the first
 * object fails. A CRC object without a "crc" key compares an uninitialised variable
 * upstream; here it is always DATA_LOSS. */
enum ujson_de_status ujson_de_lc_token_hash_with_crc(struct ujson_de *de,
                                                     struct dev_lc_token_hash *out,
                                                     struct ft_error *err);

/* Upstream spelling of a status ("Ok", "InvalidArgument", ..., "SourceClosed"), as the
 * firmware prints it in a status_t JSON. */
const char *ujson_de_status_name(enum ujson_de_status status);

#endif
