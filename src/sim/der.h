/* der: a tiny DER writer for the ftsim certificate generator.
 *
 * Constructed elements are opened with der_begin() and closed with der_end(); the writer
 * writes a 1-byte length when opening and widens it to the minimal DER form when closing
 * (moving the content up), so callers never compute lengths by hand and the buffer never
 * needs more room than the finished output. The writer keeps counting bytes after
 * the buffer is full (writing nothing more), so der_finish() can report the exact size the
 * output needs. Errors are sticky: after the first one every call is a no-op. */
#ifndef FTHARNESS_SIM_DER_H
#define FTHARNESS_SIM_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum {
    DER_BOOLEAN = 0x01,
    DER_INTEGER = 0x02,
    DER_BIT_STRING = 0x03,
    DER_OCTET_STRING = 0x04,
    DER_OID = 0x06,
    DER_UTF8_STRING = 0x0C,
    DER_PRINTABLE_STRING = 0x13,
    DER_GENERALIZED_TIME = 0x18,
    DER_SEQUENCE = 0x30,
    DER_SET = 0x31,
};

/* Context-specific tags: [n] IMPLICIT primitive, and [n] constructed. */
#define DER_CONTEXT(n) ((uint8_t)(0x80u | (n)))
#define DER_CONTEXT_CONS(n) ((uint8_t)(0xA0u | (n)))

/* Deepest nesting the writer supports; an X.509 TBS needs about 10. */
#define DER_MAX_DEPTH 16
/* Largest element content the writer encodes (2-byte long-form length). */
#define DER_MAX_CONTENT 0xFFFFu

struct der_writer {
    uint8_t *buf;               /* borrowed output buffer */
    size_t cap;                 /* its capacity */
    size_t pos;                 /* bytes emitted so far, counted past `cap` too */
    size_t open[DER_MAX_DEPTH]; /* content start offset of each open element */
    size_t depth;               /* number of open elements */
    bool overflow;              /* some byte did not fit in `cap` */
    const char *misuse;         /* first structural error (static text), or NULL */
    enum ft_code misuse_code;   /* its code: FT_E_RANGE or FT_E_INVALID */
};

/* Starts writing into `buf` (capacity `cap`, may be 0 to measure only). */
void der_init(struct der_writer *w, uint8_t *buf, size_t cap);

/* Appends `len` raw bytes (pre-encoded content). */
void der_raw(struct der_writer *w, const void *data, size_t len);

/* Appends one byte. */
void der_byte(struct der_writer *w, uint8_t byte);

/* Appends a complete primitive element: tag, minimal length, `len` content bytes. */
void der_tlv(struct der_writer *w, uint8_t tag, const void *data, size_t len);

/* Opens a constructed element (or a primitive one whose content is written piecewise,
 * such as an OCTET STRING wrapping an extension value). Must be paired with der_end(). */
void der_begin(struct der_writer *w, uint8_t tag);

/* Closes the innermost open element and fixes its length. */
void der_end(struct der_writer *w);

/* Appends an INTEGER (or an IMPLICIT-tagged one) holding the unsigned big-endian number
 * `be[0..len)`: leading zero bytes are dropped and a 0x00 is prepended when the top bit
 * is set, as DER requires for a non-negative value. `len` 0 encodes zero. */
void der_unsigned(struct der_writer *w, uint8_t tag, const uint8_t *be, size_t len);

/* Appends a BOOLEAN with the DER values FF / 00. */
void der_boolean(struct der_writer *w, bool value);

/* Current output offset; with der_at() it lets a caller find an element it just wrote
 * (for instance the TBS that must be signed). */
size_t der_offset(const struct der_writer *w);

/* Pointer to offset `at` of the output, or NULL when the bytes there were not stored
 * (buffer overflow or an earlier error). */
const uint8_t *der_at(const struct der_writer *w, size_t at, size_t len);

/* Completes the output: fails with FT_E_CAPACITY naming the size needed when the buffer
 * was too small, FT_E_RANGE when an element grew past DER_MAX_CONTENT, FT_E_INVALID on
 * unbalanced begin/end. `what` names the output in the message. On success stores the
 * total length in *len. */
int der_finish(struct der_writer *w, const char *what, size_t *len, struct ft_error *err);

#endif
