/* Append-only text builder over a caller-owned, fixed-capacity buffer. Appends past the
 * capacity set `overflow` instead of writing, so a sequence of appends is checked once at
 * the end. The text is always NUL-terminated when cap > 0. */
#ifndef FTHARNESS_COMMON_STRBUF_H
#define FTHARNESS_COMMON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *data;
    size_t cap; /* bytes at data, NUL included */
    size_t len;
    bool overflow;
};

void strbuf_init(struct strbuf *sb, char *data, size_t cap);
void strbuf_append(struct strbuf *sb, const char *text, size_t len);
void strbuf_puts(struct strbuf *sb, const char *text);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Inserts `count` copies of `c` at `pos` (<= len), moving the tail right. */
void strbuf_insert_fill(struct strbuf *sb, size_t pos, char c, size_t count);

#endif
