/* The gRPC-over-HTTP/2 wire pieces the PA client needs to speak to an unmodified upstream
 * provisioning appliance (grpc/grpc doc/PROTOCOL-HTTP2.md; docs/pa-api.md "gRPC"):
 *
 *   request and response bodies: Length-Prefixed-Message = compressed flag (1 byte, 0:
 *     we never compress and advertise `grpc-accept-encoding: identity`) + message length
 *     (4 bytes, big-endian) + the protobuf message; a unary call carries exactly one;
 *   `grpc-timeout`: at most 8 digits and a unit ("10000m");
 *   `grpc-message`: percent-encoded UTF-8;
 *   `grpc-status`: a decimal gRPC code in the trailers (or the headers of a
 *     Trailers-Only answer);
 *   an HTTP status other than 200: the code grpc's http-grpc-status-mapping.md gives it.
 *
 * The client hands callers JSON on both transports, so a call over gRPC converts the
 * caller's proto3 JSON into the message protoc-c generated (pa_pbjson.h) and the answer
 * back. */
#ifndef FTHARNESS_PA_PA_GRPC_H
#define FTHARNESS_PA_PA_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pa/pa_msg.h"

#define PA_GRPC_PREFIX_LEN 5u
#define PA_GRPC_TIMEOUT_HEADER_MAX 40u /* "grpc-timeout: " + any long + unit */

/* The request `json` (`len` bytes, the RPC's request message) as one Length-Prefixed-
 * Message: *out (heap, free() it) of *out_len bytes. Errors name the message and field. */
int pa_grpc_request_body(const struct pa_rpc_desc *rpc, const char *json, size_t len, uint8_t **out,
                         size_t *out_len, struct ft_error *err);

/* The response body of a unary call (`len` bytes of outside data) as the RPC's response
 * message in compact proto3 JSON: *out (heap, NUL-terminated, free() it), *out_len.
 * Fails on anything but exactly one uncompressed message that decodes. */
int pa_grpc_response_json(const struct pa_rpc_desc *rpc, const uint8_t *body, size_t len,
                          char **out, size_t *out_len, struct ft_error *err);

/* "grpc-timeout: <n>m" for a deadline of `ms` (> 0) milliseconds, coarser units when the
 * value needs more than 8 digits. */
void pa_grpc_timeout_header(long ms, char out[PA_GRPC_TIMEOUT_HEADER_MAX]);

/* A `grpc-status` header value (`len` bytes, surrounding blanks and CRLF allowed): the
 * code 0..16, or -1 when it is not one. */
int pa_grpc_parse_status(const char *value, size_t len);

/* Percent-decodes a `grpc-message` value into `out` (cap >= 1 bytes, NUL-terminated,
 * cut to fit); control characters become '?', a malformed escape is kept as is. */
void pa_grpc_decode_message(const char *value, size_t len, char *out, size_t cap);

/* The gRPC code of an HTTP status other than 200 on a gRPC call (no grpc-status given). */
int pa_grpc_code_from_http_status(long http_status);

/* Whether a call that ended with gRPC `code` may be tried again when idempotent: the
 * server did not run it (UNAVAILABLE, RESOURCE_EXHAUSTED) or ran out of time before
 * answering (DEADLINE_EXCEEDED), as HTTP 503, 429 and 504 on the JSON transport. */
bool pa_grpc_code_transient(int code);

#endif
