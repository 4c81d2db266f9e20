/* One error type for the whole code base (curl-style): a code for programs and a
 * message for people. Functions take a `struct ft_error *` (may be NULL) and fill it on
 * failure; callers propagate it unchanged or prefix context with ft_error_prefix(). */
#ifndef FTHARNESS_COMMON_ERROR_H
#define FTHARNESS_COMMON_ERROR_H

#include <stddef.h>

enum ft_code {
    FT_OK = 0,
    FT_E_INVALID,   /* malformed input: bad syntax, bad field, rule violated */
    FT_E_TRUNCATED, /* input ends before a structure it announces */
    FT_E_RANGE,     /* a number outside what the field can hold */
    FT_E_CAPACITY,  /* output would not fit the caller's buffer or the format's limit */
    FT_E_CRC,       /* integrity check failed */
    FT_E_NOMEM,     /* allocation failed */
    FT_E_DEVICE,    /* the device reported an error (RESP_ERR, TestError) */
    FT_E_TIMEOUT,   /* a deadline passed */
    FT_E_CONNECT,   /* a peer could not be reached or the link went down */
    FT_E_TLS,       /* TLS handshake, certificate or pin failure */
    FT_E_PROTOCOL,  /* the peer broke its protocol */
    FT_E_REMOTE,    /* the peer answered with an error */
    FT_E_PLUGIN,    /* a SKU plugin failed */
    FT_E_ABORTED,   /* stopped on request (SIGTERM, SIGINT) */
};

#define FT_ERROR_MESSAGE_MAX 256

struct ft_error {
    enum ft_code code;
    char message[FT_ERROR_MESSAGE_MAX];
};

/* Records `code` and a printf-style message in `err` (if not NULL). Always returns -1 so
 * callers can write `return ft_fail(err, ...);`. */
int ft_fail(struct ft_error *err, enum ft_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<context>: " to the message already in `err` (if not NULL); returns -1. */
int ft_error_prefix(struct ft_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends formatted text to the message already in `err` (if not NULL), cut to fit;
 * returns -1. */
int ft_error_suffix(struct ft_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Resets `err` to FT_OK with an empty message. */
void ft_error_clear(struct ft_error *err);

/* Stable lower-case name of a code ("invalid", "crc", ...), for logs and records. */
const char *ft_code_name(enum ft_code code);

#endif
