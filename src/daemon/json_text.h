/* Outside text in error messages, which reach the client, logs and the journal: quoted
 * printable and bounded, and the JSON type a value had instead of the one it needed. Shared
 * by the parsers of the station configuration and the control requests. */
#ifndef FTHARNESS_DAEMON_JSON_TEXT_H
#define FTHARNESS_DAEMON_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

/* Room for `max` bytes escaped to \xNN each, two delimiters, "..." and the NUL. */
#define JSON_TEXT_QUOTED_SIZE(max) ((max)*4u + 8u)

/* Writes `s` (n bytes, at most `max` of them) into out[JSON_TEXT_QUOTED_SIZE(max)], with
 * "..." after when cut. Non-printable bytes become \xNN so the message stays printable
 * ASCII. Between `delim`s (when not NUL) the delimiter and backslash are escaped too, so
 * quoted text cannot be mistaken for the message around it. */
void json_text_quote(char *out, const char *s, size_t n, size_t max, char delim);

/* "an object", "a string", "an integer", "a real number", "a boolean", "null", ... */
const char *json_text_kind(const json_t *v);

#endif
