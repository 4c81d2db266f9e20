/* Transport-level client for the endorsement service (DESIGN.md §6): one
 * `POST <base_url>/pa.ProvisioningApplianceService/<Rpc>` per call, JSON in, JSON out,
 * errors as google.rpc.Status (`{"code":N,"message":"…"}`).
 *
 * One client per caller (per site), used by one thread at a time. It owns one libcurl
 * easy handle whose connection is kept alive and reused for every call, so a site pays
 * one TCP + TLS handshake per connection lifetime, not one per DUT. It knows nothing
 * about the messages: building and parsing request/response bodies is the caller's job.
 *
 * Secrets: the session token and the one-shot header are kept in memory only, wiped
 * when replaced or freed, and never written to a log or an error message. */
#ifndef FTHARNESS_PA_PA_CLIENT_H
#define FTHARNESS_PA_PA_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Values used when an option is left at 0. */
#define PA_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS 2000L
#define PA_CLIENT_DEFAULT_TOTAL_TIMEOUT_MS 10000L
#define PA_CLIENT_DEFAULT_MAX_ATTEMPTS 3u
#define PA_CLIENT_DEFAULT_BACKOFF_INITIAL_MS 100L
#define PA_CLIENT_DEFAULT_BACKOFF_MAX_MS 2000L
#define PA_CLIENT_DEFAULT_MAX_RESPONSE_BYTES ((size_t)1 << 20)

struct pa_client_options {
    const char *base_url;      /* "https://pa.example:8443" (no RPC path); required */
    const char *user_id;       /* "<host>/<site>", sent as `user_id` on every call; required */
    const char *ca_file;       /* PEM CA bundle that signs the server; NULL: system store */
    const char *cert_file;     /* PEM client certificate for mTLS; NULL: no client cert */
    const char *key_file;      /* PEM key of cert_file; set both or neither */
    const char *pinned_pubkey; /* "sha256//<base64>[;sha256//<backup>]" or NULL */
    long connect_timeout_ms;   /* TCP + TLS handshake; 0: default */
    long total_timeout_ms;     /* one attempt, request to last byte; 0: default */
    long low_speed_limit_bps;  /* abort an attempt slower than this ... */
    long low_speed_time_s;     /* ... for this long; either 0: no stall detection */
    unsigned max_attempts;     /* per call, including the first; 0: default */
    long backoff_initial_ms;   /* ceiling of the first backoff; 0: default */
    long backoff_max_ms;       /* longest wait between attempts, Retry-After included */
    size_t max_response_bytes; /* larger bodies fail the call; 0: default */
    /* Called after every call (all its attempts) with the RPC, its wall time and whether
     * it succeeded, e.g. for metrics; NULL: none. Runs on the calling thread. */
    void (*on_call)(void *arg, const char *rpc, double seconds, bool ok);
    void *on_call_arg;
};

/* Why a call failed. The distinction lives here because error.h has no transport codes
 * yet; err->code carries the nearest existing one (pa_failure_ft_code). */
enum pa_failure {
    PA_FAILURE_NONE = 0,
    PA_FAILURE_CONNECT,   /* refused, reset, closed without reply, name not resolved */
    PA_FAILURE_TLS,       /* handshake, certificate, pin, TLS alert from the peer */
    PA_FAILURE_TIMEOUT,   /* connect or total timeout, or a low-speed stall */
    PA_FAILURE_PROTOCOL,  /* malformed or unexpected HTTP, HTTP/2 stream errors */
    PA_FAILURE_HTTP,      /* the service answered with a non-2xx status */
    PA_FAILURE_TOO_LARGE, /* response body above max_response_bytes */
    PA_FAILURE_LOCAL,     /* bad arguments, out of memory, libcurl setup */
};

/* Counters since pa_client_new, for metrics and benchmarks. */
struct pa_client_stats {
    uint64_t calls;     /* pa_client_call invocations */
    uint64_t failures;  /* calls that returned -1 */
    uint64_t attempts;  /* HTTP exchanges tried, first tries plus retries */
    uint64_t retries;   /* attempts after the first, over all calls */
    uint64_t connects;  /* new connections (= TCP + TLS handshakes), CURLINFO_NUM_CONNECTS */
    uint64_t waited_ms; /* time slept in backoff and Retry-After waits */
};

#define PA_REPLY_MESSAGE_MAX 256

/* Result of one call. Zero-initialise before first use (`struct pa_reply r = {0};`);
 * pa_client_call releases what a previous call left in it, pa_reply_release frees it. */
struct pa_reply {
    long http_status; /* of the last attempt; 0 when no HTTP response arrived */
    int grpc_code;    /* 0 on 2xx; else from the body, or mapped from http_status when
                         the body is not a google.rpc.Status, or what a gRPC client
                         would report for a transport failure (14, 4, 8, 13) */
    enum pa_failure failure;
    unsigned attempts;                  /* attempts made by this call */
    char message[PA_REPLY_MESSAGE_MAX]; /* the server's status message, or why there is
                                           none; empty on success */
    char *body; /* owned: body of the last response, NUL-terminated; may be NULL */
    size_t body_len;
};

struct pa_client;

/* Initialises libcurl (and through it OpenSSL). Call exactly once, from main(), before
 * any thread is started and before the first pa_client_new; the daemon supervisor and
 * each site worker process do this at start, tests do it in main(). Fails when the
 * linked libcurl lacks TLS. */
int pa_client_global_init(struct ft_error *err);

/* Undoes pa_client_global_init, after the last pa_client_free, from main(). */
void pa_client_global_cleanup(void);

/* New client; copies every string in `opt` (the caller keeps ownership of `opt`).
 * Checks the options and that the TLS files are readable; connects lazily on the first
 * call. Returns NULL with `err` set on failure. */
struct pa_client *pa_client_new(const struct pa_client_options *opt, struct ft_error *err);

/* Closes the connection and frees the client, wiping the token. NULL is a no-op. */
void pa_client_free(struct pa_client *c);

/* Sets (copies) the session token sent as `authorization: <token>` on every later call;
 * NULL removes it (after CloseSession). The old token is wiped. */
/* The first DNS name of the mTLS client certificate (DeviceData.metadata.ate_id, as the
 * ATE fills it); NULL without a client certificate or a DNS name in it. */
const char *pa_client_ate_id(const struct pa_client *c);

int pa_client_set_token(struct pa_client *c, const char *token, struct ft_error *err);

/* Gives `dst` the session token of `src` (none when src has none): a second connection on
 * the same session, e.g. for calls made while another is in flight. */
int pa_client_copy_token(struct pa_client *dst, const struct pa_client *src, struct ft_error *err);

/* Sets one extra header (`name: value`, copied) sent on every attempt of the NEXT call
 * only, then forgotten, so an idempotency key cannot leak into an unrelated RPC. Another
 * call before that replaces it; value NULL removes it. Rejects names that are not HTTP
 * tokens or that the client sets itself (authorization, user_id, content-type, ...) and
 * values with control characters. */
int pa_client_set_next_header(struct pa_client *c, const char *name, const char *value,
                              struct ft_error *err);

/* Calls `rpc` ("EndorseCerts") with the `len`-byte JSON `request_json` (borrowed for the
 * call) and fills `reply`. Returns 0 on a 2xx answer; -1 otherwise with `err` naming the
 * RPC and the cause and with `reply` filled as far as known.
 *
 * Retries (bounded by max_attempts, full-jitter exponential backoff, Retry-After seconds
 * honoured up to backoff_max_ms) happen only when `idempotent` is true and only for
 * transient failures: connection refused/reset/closed or timeout before any response
 * byte, and HTTP 429, 503 and 504. Never 500, never other 4xx, never TLS failures. */
int pa_client_call(struct pa_client *c, const char *rpc, const char *request_json, size_t len,
                   bool idempotent, struct pa_reply *reply, struct ft_error *err);

/* Frees the body held by `reply` and zeroes it. NULL is a no-op. */
void pa_reply_release(struct pa_reply *reply);

/* Copy of the counters. */
struct pa_client_stats pa_client_stats(const struct pa_client *c);

/* "CONNECT", "TLS", ... for logs and records. */
const char *pa_failure_name(enum pa_failure failure);

/* The ft_error code pa_client_call uses for `failure`. */
enum ft_code pa_failure_ft_code(enum pa_failure failure);

/* The gRPC code for an HTTP error status, the inverse of the mapping the service (and a
 * stock gRPC-JSON transcoder) uses: 400→3, 401→16, 403→7, 404→5, 409→6, 429→8, 500→13,
 * 501→12, 503→14, 504→4, ... */
int pa_grpc_code_from_http(long http_status);

#endif
