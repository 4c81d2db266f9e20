#include "common/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void strbuf_init(struct strbuf *sb, char *data, size_t cap)
{
    sb->data = data;
    sb->cap = cap;
    sb->len = 0;
    sb->overflow = cap == 0;
    if (cap > 0)
        data[0] = '\0';
}

static bool strbuf_room(struct strbuf *sb, size_t extra)
{
    if (sb->overflow || extra >= sb->cap - sb->len) {
        sb->overflow = true;
        return false;
    }
    return true;
}

void strbuf_append(struct strbuf *sb, const char *text, size_t len)
{
    if (!strbuf_room(sb, len))
        return;
    memcpy(sb->data + sb->len, text, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *text)
{
    strbuf_append(sb, text, strlen(text));
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
    if (sb->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sb->cap - sb->len) {
        sb->data[sb->len] = '\0';
        sb->overflow = true;
        return;
    }
    sb->len += (size_t)n;
}

void strbuf_insert_fill(struct strbuf *sb, size_t pos, char c, size_t count)
{
    if (pos > sb->len || !strbuf_room(sb, count))
        return;
    memmove(sb->data + pos + count, sb->data + pos, sb->len - pos + 1);
    memset(sb->data + pos, c, count);
    sb->len += count;
}
