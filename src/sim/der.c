#include "sim/der.h"

#include <string.h>

/* Longest length field the writer produces: 0x82 HH LL. */
#define DER_LEN_MAX 3

void der_init(struct der_writer *w, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = buf == NULL ? 0 : cap;
}

static bool der_failed(const struct der_writer *w)
{
    return w->misuse != NULL;
}

/* Bytes are stored only while everything so far has fit; once one byte is lost the
 * output is useless, so the writer merely keeps counting. */
static bool der_storing(const struct der_writer *w)
{
    return !w->overflow && !der_failed(w);
}

static void der_set_misuse(struct der_writer *w, enum ft_code code, const char *what)
{
    if (w->misuse == NULL) {
        w->misuse = what;
        w->misuse_code = code;
    }
}

void der_raw(struct der_writer *w, const void *data, size_t len)
{
    if (der_failed(w))
        return;
    if (der_storing(w) && len <= w->cap - w->pos) {
        if (len > 0)
            memcpy(w->buf + w->pos, data, len);
    } else {
        w->overflow = true;
    }
    w->pos += len;
}

void der_byte(struct der_writer *w, uint8_t byte)
{
    der_raw(w, &byte, 1);
}

/* Minimal DER length octets for `len` into `out` (at most 3); returns their count. */
static size_t der_length_octets(size_t len, uint8_t out[DER_LEN_MAX])
{
    if (len < 0x80) {
        out[0] = (uint8_t)len;
        return 1;
    }
    if (len <= 0xFF) {
        out[0] = 0x81;
        out[1] = (uint8_t)len;
        return 2;
    }
    out[0] = 0x82;
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    return 3;
}

void der_tlv(struct der_writer *w, uint8_t tag, const void *data, size_t len)
{
    if (len > DER_MAX_CONTENT) {
        der_set_misuse(w, FT_E_RANGE, "a primitive element is longer than 65535 bytes");
        return;
    }
    uint8_t length[DER_LEN_MAX];
    size_t length_len = der_length_octets(len, length);
    der_byte(w, tag);
    der_raw(w, length, length_len);
    der_raw(w, data, len);
}

void der_begin(struct der_writer *w, uint8_t tag)
{
    if (der_failed(w))
        return;
    if (w->depth == DER_MAX_DEPTH) {
        der_set_misuse(w, FT_E_INVALID, "elements nested deeper than DER_MAX_DEPTH");
        return;
    }
    der_byte(w, tag);
    der_byte(w, 0x00); /* one length octet; der_end() widens it if needed */
    w->open[w->depth++] = w->pos;
}

void der_end(struct der_writer *w)
{
    if (der_failed(w))
        return;
    if (w->depth == 0) {
        der_set_misuse(w, FT_E_INVALID, "der_end() without a matching der_begin()");
        return;
    }
    size_t start = w->open[--w->depth];
    size_t content = w->pos - start;
    if (content > DER_MAX_CONTENT) {
        der_set_misuse(w, FT_E_RANGE, "a constructed element is longer than 65535 bytes");
        return;
    }
    uint8_t length[DER_LEN_MAX];
    size_t length_len = der_length_octets(content, length);
    size_t extra = length_len - 1;
    /* Widening moves the content up; since every header is at most its final size, the
     * buffer never holds more than the finished output, so `cap` is an exact bound. */
    if (der_storing(w) && extra > w->cap - w->pos)
        w->overflow = true;
    if (der_storing(w)) {
        memmove(w->buf + start + extra, w->buf + start, content);
        memcpy(w->buf + start - 1, length, length_len);
    }
    w->pos += extra;
}

void der_unsigned(struct der_writer *w, uint8_t tag, const uint8_t *be, size_t len)
{
    while (len > 0 && be[0] == 0) {
        be++;
        len--;
    }
    bool pad = len == 0 || (be[0] & 0x80) != 0;
    if (len + pad > DER_MAX_CONTENT) {
        der_set_misuse(w, FT_E_RANGE, "an INTEGER is longer than 65535 bytes");
        return;
    }
    uint8_t length[DER_LEN_MAX];
    size_t length_len = der_length_octets(len + pad, length);
    der_byte(w, tag);
    der_raw(w, length, length_len);
    if (pad)
        der_byte(w, 0x00);
    der_raw(w, be, len);
}

void der_boolean(struct der_writer *w, bool value)
{
    uint8_t octet = value ? 0xFF : 0x00;
    der_tlv(w, DER_BOOLEAN, &octet, 1);
}

size_t der_offset(const struct der_writer *w)
{
    return w->pos;
}

const uint8_t *der_at(const struct der_writer *w, size_t at, size_t len)
{
    if (!der_storing(w) || at > w->pos || len > w->pos - at)
        return NULL;
    return w->buf + at;
}

int der_finish(struct der_writer *w, const char *what, size_t *len, struct ft_error *err)
{
    if (der_failed(w))
        return ft_fail(err, w->misuse_code, "%s: %s", what, w->misuse);
    if (w->depth != 0)
        return ft_fail(err, FT_E_INVALID, "%s: %zu element(s) left open", what, w->depth);
    if (w->overflow)
        return ft_fail(err, FT_E_CAPACITY, "%s needs %zu bytes, buffer holds %zu", what, w->pos,
                       w->cap);
    *len = w->pos;
    return 0;
}
