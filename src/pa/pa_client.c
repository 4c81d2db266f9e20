#include "pa/pa_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/base64.h"
#include "pa/pa_grpc.h"
#include "pa/pa_msg.h"

/* CURLOPT_PROTOCOLS_STR (7.85) replaces a deprecated option that -Werror rejects. */
#define PA_CURL_MIN_VERSION 0x075500
#if LIBCURL_VERSION_NUM < PA_CURL_MIN_VERSION
#error "pa_client needs libcurl 7.85 or newer"
#endif

#define RPC_PATH_PREFIX "/pa.ProvisioningApplianceService/"
#define RPC_NAME_MAX 64
#define BODY_EXCERPT_MAX 40
#define GRPC_CODE_MAX 16

enum {
    GRPC_CANCELLED = 1,
    GRPC_UNKNOWN = 2,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_NOT_FOUND = 5,
    GRPC_ALREADY_EXISTS = 6,
    GRPC_PERMISSION_DENIED = 7,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_FAILED_PRECONDITION = 9,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14,
    GRPC_UNAUTHENTICATED = 16,
};

/* State of one attempt, filled by the libcurl callbacks. */
struct transfer {
    char *buf; /* response body so far, NUL-terminated when not NULL */
    size_t len, cap;
    size_t limit;            /* max_response_bytes */
    bool got_response_bytes; /* after this, a retry could repeat a processed request */
    bool overflow, nomem;    /* why on_body stopped the transfer */
    long retry_after_s;      /* Retry-After of the final response; -1 when absent */
    /* gRPC: from the headers or trailers of the final response */
    int grpc_status;                         /* -1: no grpc-status seen */
    char grpc_message[PA_REPLY_MESSAGE_MAX]; /* percent-decoded grpc-message */
    bool grpc_content_type;                  /* content-type application/grpc[+proto] */
};

struct pa_client {
    CURL *curl;
    char *url;         /* base URL + RPC_PATH_PREFIX, room for an RPC name after it */
    size_t url_rpc_at; /* where the RPC name goes in `url` */
    char *endpoint;    /* "host:port", for messages (no credentials, no path) */
    bool https;        /* decides whether a drop after connecting can be a TLS refusal */
    bool grpc;         /* grpc:// or grpcs://: protobuf over HTTP/2, status in trailers */
    bool h2c_up;       /* grpc://: an HTTP/2 connection stands (see perform) */
    char timeout_line[PA_GRPC_TIMEOUT_HEADER_MAX]; /* "grpc-timeout: ..." */
    char *user_id_line;                            /* "user_id: <host>/<site>" */
    char *auth_line;                               /* "authorization: <token>"; secret */
    char *next_line;                               /* one-shot extra header; may be secret */
    char *ate_id; /* the client certificate's first DNS name; NULL without one */
    long connect_timeout_ms, total_timeout_ms, low_speed_limit_bps, low_speed_time_s;
    unsigned max_attempts;
    long backoff_initial_ms, backoff_max_ms;
    size_t max_response_bytes;
    void (*on_call)(void *arg, const char *rpc, double seconds, bool ok);
    void *on_call_arg;
    struct transfer xfer;
    struct pa_client_stats stats;
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's first message of the last attempt */
};

/* What one attempt came to. */
struct attempt {
    CURLcode rc;
    long http_status;
    long os_errno;
    bool got_response_bytes;
    bool new_connection; /* this attempt connected (and, for https, shook hands) */
    long retry_after_s;
    enum pa_failure failure;
    bool transient;  /* worth another attempt if the call is idempotent */
    int grpc_code;   /* gRPC transport: the call's status, 0 when OK */
    const char *why; /* PA_FAILURE_PROTOCOL without a libcurl error: what was wrong */
};

/* ---- small helpers ------------------------------------------------------------------ */

static long positive_or(long value, long fallback)
{
    return value > 0 ? value : fallback;
}

/* Wipes then frees a string that may hold a secret. */
static void free_secret(char **s)
{
    if (*s == NULL)
        return;
    OPENSSL_cleanse(*s, strlen(*s));
    free(*s);
    *s = NULL;
}

/* "<a><b>" in a new string, or NULL when out of memory. */
static char *join2(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/* HTTP field-name characters (RFC 9110 tchar). */
static bool header_name_ok(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return false;
    for (const char *p = name; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr("!#$%&'*+-.^_`|~", ch) != NULL))
            return false;
    }
    return true;
}

/* Headers the client writes itself; a second copy would confuse the service. */
static bool header_reserved(const char *name)
{
    static const char *const reserved[] = {
        "authorization",     "user_id", "content-type", "content-length", "accept", "expect",
        "transfer-encoding", "host",    "te",
    };
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return true;
    return strncasecmp(name, "grpc-", 5) == 0; /* gRPC's own, e.g. grpc-timeout */
}

/* No control characters: a CR or LF would let a value inject headers. */
static bool header_value_ok(const char *value)
{
    for (const char *p = value; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

/* RPC names are proto identifiers; anything else could walk the URL path. */
static bool rpc_name_ok(const char *rpc)
{
    if (rpc == NULL || rpc[0] == '\0' || strlen(rpc) > RPC_NAME_MAX)
        return false;
    for (const char *p = rpc; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return false;
    }
    return true;
}

/* Copies `text` (length `len`) into `out` for a one-line log: control bytes become '?'. */
static void copy_printable(char *out, size_t out_size, const char *text, size_t len)
{
    size_t n = len < out_size - 1 ? len : out_size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        out[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    out[n] = '\0';
}

static void sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    /* An absolute deadline, so a signal (EINTR) does not stretch or cut the wait. */
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
        ;
}

/* ---- names and code mappings -------------------------------------------------------- */

static const char *grpc_code_name(int code)
{
    const char *name = pa_status_code_name(code);
    return name != NULL ? name : "UNKNOWN";
}

int pa_grpc_code_from_http(long http_status)
{
    if (http_status >= 200 && http_status < 300)
        return 0;
    switch (http_status) {
    case 400:
        return GRPC_INVALID_ARGUMENT;
    case 401:
        return GRPC_UNAUTHENTICATED;
    case 403:
        return GRPC_PERMISSION_DENIED;
    case 404:
        return GRPC_NOT_FOUND;
    case 409:
        return GRPC_ALREADY_EXISTS;
    case 412:
        return GRPC_FAILED_PRECONDITION;
    case 429:
        return GRPC_RESOURCE_EXHAUSTED;
    case 499:
        return GRPC_CANCELLED;
    case 500:
        return GRPC_INTERNAL;
    case 501:
        return GRPC_UNIMPLEMENTED;
    case 502: /* a proxy in front of the service lost it: same as the service being down */
    case 503:
        return GRPC_UNAVAILABLE;
    case 504:
        return GRPC_DEADLINE_EXCEEDED;
    default:
        return GRPC_UNKNOWN;
    }
}

const char *pa_failure_name(enum pa_failure failure)
{
    switch (failure) {
    case PA_FAILURE_NONE:
        return "NONE";
    case PA_FAILURE_CONNECT:
        return "CONNECT";
    case PA_FAILURE_TLS:
        return "TLS";
    case PA_FAILURE_TIMEOUT:
        return "TIMEOUT";
    case PA_FAILURE_PROTOCOL:
        return "PROTOCOL";
    case PA_FAILURE_HTTP:
        return "HTTP";
    case PA_FAILURE_TOO_LARGE:
        return "TOO_LARGE";
    case PA_FAILURE_LOCAL:
        return "LOCAL";
    }
    return "UNKNOWN";
}

/* error.h has no transport codes yet. Until it does, everything the far end did (refused,
 * broke TLS, was too slow, answered an error) is FT_E_DEVICE, "the other side reported
 * or caused the failure", and reply->failure tells the classes apart. */
enum ft_code pa_failure_ft_code(enum pa_failure failure)
{
    switch (failure) {
    case PA_FAILURE_NONE:
        return FT_OK;
    case PA_FAILURE_CONNECT:
        return FT_E_CONNECT;
    case PA_FAILURE_TLS:
        return FT_E_TLS;
    case PA_FAILURE_TIMEOUT:
        return FT_E_TIMEOUT;
    case PA_FAILURE_HTTP:
        return FT_E_REMOTE;
    case PA_FAILURE_PROTOCOL:
        return FT_E_PROTOCOL;
    case PA_FAILURE_TOO_LARGE:
        return FT_E_CAPACITY;
    case PA_FAILURE_LOCAL:
        return FT_E_INVALID;
    }
    return FT_E_INVALID;
}

/* What a gRPC client would have reported for a failure without a usable status body. */
static int grpc_code_for_failure(enum pa_failure failure)
{
    switch (failure) {
    case PA_FAILURE_CONNECT:
    case PA_FAILURE_TLS:
        return GRPC_UNAVAILABLE;
    case PA_FAILURE_TIMEOUT:
        return GRPC_DEADLINE_EXCEEDED;
    case PA_FAILURE_TOO_LARGE:
        return GRPC_RESOURCE_EXHAUSTED;
    default:
        return GRPC_INTERNAL;
    }
}

/* ---- global init -------------------------------------------------------------------- */

int pa_client_global_init(struct ft_error *err)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        return ft_fail(err, FT_E_INVALID, "libcurl: global init failed: %s",
                       curl_easy_strerror(rc));
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if ((v->features & CURL_VERSION_SSL) == 0 || v->version_num < PA_CURL_MIN_VERSION) {
        curl_global_cleanup();
        return ft_fail(err, FT_E_INVALID, "libcurl %s: need 7.85 or newer with TLS support",
                       v->version);
    }
    return 0;
}

void pa_client_global_cleanup(void)
{
    curl_global_cleanup();
}

/* ---- libcurl callbacks -------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct transfer *t = userp;
    size_t n = size * nmemb;
    t->got_response_bytes = true;
    /* Refusing the bytes aborts the transfer; libcurl then closes the connection (a body
     * left unread cannot be skipped), so the next call starts on a clean one. */
    if (n > t->limit - t->len) {
        t->overflow = true;
        return 0;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->buf, cap);
        if (grown == NULL) {
            t->nomem = true;
            return 0;
        }
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, data, n);
    t->len += n;
    t->buf[t->len] = '\0';
    return n;
}

/* Only the delta-seconds form; an HTTP-date falls back to our own backoff. */
static long parse_retry_after(const char *value, size_t len)
{
    size_t i = 0;
    while (i < len && (value[i] == ' ' || value[i] == '\t'))
        i++;
    long seconds = 0;
    size_t digits = 0;
    for (; i < len && value[i] >= '0' && value[i] <= '9'; i++, digits++) {
        if (digits == 9)
            return -1; /* absurd; ignore rather than overflow */
        seconds = seconds * 10 + (value[i] - '0');
    }
    while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n'))
        i++;
    return digits > 0 && i == len ? seconds : -1;
}

/* The value of header line `data` (`n` bytes) when it is `name` (lower case, with the
 * colon); NULL otherwise. */
static const char *header_value(const char *data, size_t n, const char *name, size_t *len)
{
    size_t name_len = strlen(name);
    if (n < name_len || strncasecmp(data, name, name_len) != 0)
        return NULL;
    *len = n - name_len;
    return data + name_len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct transfer *t = userp;
    size_t n = size * nmemb;
    size_t len = 0;
    const char *value;
    t->got_response_bytes = true;
    /* A new status line starts a new response (after a 1xx); its headers replace. Trailers
     * (gRPC's grpc-status and grpc-message) come through here after the body. */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        t->retry_after_s = -1;
        t->grpc_status = -1;
        t->grpc_message[0] = '\0';
        t->grpc_content_type = false;
    } else if ((value = header_value(data, n, "retry-after:", &len)) != NULL) {
        t->retry_after_s = parse_retry_after(value, len);
    } else if ((value = header_value(data, n, "grpc-status:", &len)) != NULL) {
        int code = pa_grpc_parse_status(value, len);
        t->grpc_status = code >= 0 ? code : 2; /* malformed: UNKNOWN, as grpc clients do */
        if (code < 0)
            snprintf(t->grpc_message, sizeof(t->grpc_message), "grpc-status is not a code");
    } else if ((value = header_value(data, n, "grpc-message:", &len)) != NULL) {
        pa_grpc_decode_message(value, len, t->grpc_message, sizeof(t->grpc_message));
    } else if ((value = header_value(data, n, "content-type:", &len)) != NULL) {
        while (len > 0 && (*value == ' ' || *value == '\t')) {
            value++;
            len--;
        }
        /* "application/grpc", "application/grpc+proto", "application/grpc;..." */
        t->grpc_content_type = len >= 16 && strncasecmp(value, "application/grpc", 16) == 0 &&
                               (len == 16 || memchr("+;\r\n ", value[16], 5) != NULL);
    }
    return n;
}

/* ---- creating and freeing ----------------------------------------------------------- */

static int check_readable(const char *what, const char *path, struct ft_error *err)
{
    if (path != NULL && access(path, R_OK) != 0)
        return ft_fail(err, FT_E_INVALID, "pa_client: %s %s: %s", what, path, strerror(errno));
    return 0;
}

/* curl's pin list: "sha256//" + base64 of a 32-byte SHA-256, several joined by ';'. A
 * malformed pin is a mistake in the configuration, not a mismatch with the server. */
static int check_pins(const char *pins, struct ft_error *err)
{
    static const char prefix[] = "sha256//";
    const char *p = pins;
    do {
        size_t len = strcspn(p, ";");
        uint8_t digest[33];
        size_t n = 0;
        struct ft_error why = {0};
        if (len < sizeof(prefix) - 1 || strncmp(p, prefix, sizeof(prefix) - 1) != 0 ||
            base64_decode(p + sizeof(prefix) - 1, len - (sizeof(prefix) - 1), digest,
                          sizeof(digest), &n, &why) != 0 ||
            n != 32)
            return ft_fail(err, FT_E_INVALID,
                           "pa_client: pin \"%.*s\" is not sha256// and the base64 of a 32-byte "
                           "SHA-256 of the server's public key",
                           (int)(len < 80 ? len : 80), p);
        p += len;
    } while (*p++ == ';');
    return 0;
}

/* The transports a base URL can name: HTTP/JSON (a transcoder or ftpa) or native gRPC,
 * each in clear or over TLS. */
struct scheme {
    const char *prefix;
    bool tls, grpc;
};
static const struct scheme schemes[] = {
    {"http://", false, false},
    {"https://", true, false},
    {"grpc://", false, true},
    {"grpcs://", true, true},
};

static const struct scheme *scheme_of(const char *url)
{
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncasecmp(url, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
            return &schemes[i];
    return NULL;
}

static int check_options(const struct pa_client_options *opt, struct ft_error *err)
{
    if (opt == NULL || opt->base_url == NULL)
        return ft_fail(err, FT_E_INVALID, "pa_client: no base_url");
    const struct scheme *scheme = scheme_of(opt->base_url);
    if (scheme == NULL)
        return ft_fail(err, FT_E_INVALID,
                       "pa_client: base_url \"%.80s\" is not http://, https://, grpc:// or "
                       "grpcs://",
                       opt->base_url);
    if (opt->user_id == NULL || opt->user_id[0] == '\0' || !header_value_ok(opt->user_id))
        return ft_fail(err, FT_E_INVALID, "pa_client: user_id missing or not a header value");
    if ((opt->cert_file == NULL) != (opt->key_file == NULL))
        return ft_fail(err, FT_E_INVALID, "pa_client: cert_file and key_file go together");
    bool tls_options = opt->ca_file != NULL || opt->cert_file != NULL || opt->key_file != NULL ||
                       opt->pinned_pubkey != NULL;
    if (tls_options && !scheme->tls)
        return ft_fail(err, FT_E_INVALID,
                       "pa_client: TLS files or a pin given for \"%.80s\": this URL would reach "
                       "the service in clear; use %s",
                       opt->base_url, scheme->grpc ? "grpcs://" : "https://");
    if (opt->pinned_pubkey != NULL && check_pins(opt->pinned_pubkey, err) != 0)
        return -1;
    if (opt->connect_timeout_ms < 0 || opt->total_timeout_ms < 0 || opt->low_speed_limit_bps < 0 ||
        opt->low_speed_time_s < 0 || opt->backoff_initial_ms < 0 || opt->backoff_max_ms < 0)
        return ft_fail(err, FT_E_RANGE, "pa_client: negative timeout or backoff");
    if (positive_or(opt->backoff_initial_ms, PA_CLIENT_DEFAULT_BACKOFF_INITIAL_MS) >
        positive_or(opt->backoff_max_ms, PA_CLIENT_DEFAULT_BACKOFF_MAX_MS))
        return ft_fail(err, FT_E_RANGE, "pa_client: backoff_initial_ms above backoff_max_ms");
    if (check_readable("ca_file", opt->ca_file, err) != 0 ||
        check_readable("cert_file", opt->cert_file, err) != 0 ||
        check_readable("key_file", opt->key_file, err) != 0)
        return -1;
    return 0;
}

/* "host:port" of the base URL, for messages that say where a connection went. */
static int endpoint_of(const char *base_url, char **out, struct ft_error *err)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    int rc = -1;
    if (u == NULL) {
        ft_fail(err, FT_E_NOMEM, "pa_client: out of memory");
    } else if (curl_url_set(u, CURLUPART_URL, base_url, 0) != CURLUE_OK ||
               curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
               curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        ft_fail(err, FT_E_INVALID, "pa_client: base_url \"%.80s\" is not a valid URL", base_url);
    } else if ((*out = malloc(strlen(host) + strlen(port) + 2)) == NULL) {
        ft_fail(err, FT_E_NOMEM, "pa_client: out of memory");
    } else {
        sprintf(*out, "%s:%s", host, port);
        rc = 0;
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* Copies the strings and numbers the client keeps, with defaults applied. */
static int copy_options(struct pa_client *c, const struct pa_client_options *opt,
                        struct ft_error *err)
{
    const struct scheme *scheme = scheme_of(opt->base_url);
    /* libcurl speaks HTTP/2 under the http(s) names; grpc(s):// only chooses the framing. */
    const char *http_prefix = scheme->tls ? "https://" : "http://";
    const char *rest = opt->base_url + strlen(scheme->prefix);
    size_t rest_len = strlen(rest);
    while (rest_len > 0 && rest[rest_len - 1] == '/')
        rest_len--; /* "https://pa/" and "https://pa" name the same service */
    size_t base_len = strlen(http_prefix) + rest_len;
    c->url_rpc_at = base_len + strlen(RPC_PATH_PREFIX);
    c->url = malloc(c->url_rpc_at + RPC_NAME_MAX + 1);
    c->user_id_line = join2("user_id: ", opt->user_id);
    if (c->url == NULL || c->user_id_line == NULL)
        return ft_fail(err, FT_E_NOMEM, "pa_client: out of memory");
    memcpy(c->url, http_prefix, strlen(http_prefix));
    memcpy(c->url + strlen(http_prefix), rest, rest_len);
    memcpy(c->url + base_len, RPC_PATH_PREFIX, sizeof(RPC_PATH_PREFIX));

    c->connect_timeout_ms =
        positive_or(opt->connect_timeout_ms, PA_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS);
    c->total_timeout_ms = positive_or(opt->total_timeout_ms, PA_CLIENT_DEFAULT_TOTAL_TIMEOUT_MS);
    c->low_speed_limit_bps = opt->low_speed_limit_bps;
    c->low_speed_time_s = opt->low_speed_time_s;
    c->max_attempts = opt->max_attempts ? opt->max_attempts : PA_CLIENT_DEFAULT_MAX_ATTEMPTS;
    c->backoff_initial_ms =
        positive_or(opt->backoff_initial_ms, PA_CLIENT_DEFAULT_BACKOFF_INITIAL_MS);
    c->backoff_max_ms = positive_or(opt->backoff_max_ms, PA_CLIENT_DEFAULT_BACKOFF_MAX_MS);
    c->max_response_bytes =
        opt->max_response_bytes ? opt->max_response_bytes : PA_CLIENT_DEFAULT_MAX_RESPONSE_BYTES;
    c->xfer.limit = c->max_response_bytes;
    c->on_call = opt->on_call;
    c->on_call_arg = opt->on_call_arg;
    c->https = scheme->tls;
    c->grpc = scheme->grpc;
    pa_grpc_timeout_header(c->total_timeout_ms, c->timeout_line);
    c->url[base_len] = '\0';
    int rc = endpoint_of(c->url, &c->endpoint, err);
    c->url[base_len] = RPC_PATH_PREFIX[0];
    return rc;
}

#define SETOPT(c, option, value)                                                                   \
    do {                                                                                           \
        CURLcode setopt_rc_ = curl_easy_setopt((c)->curl, option, value);                          \
        if (setopt_rc_ != CURLE_OK)                                                                \
            return ft_fail(err, FT_E_INVALID, "pa_client: libcurl refused %s: %s", #option,        \
                           curl_easy_strerror(setopt_rc_));                                        \
    } while (0)

/* Options that hold for every call; the per-call ones are set in prepare_call. */
static int setup_transport(struct pa_client *c, struct ft_error *err)
{
    SETOPT(c, CURLOPT_NOSIGNAL, 1L); /* threaded daemon: no SIGALRM from the resolver */
    SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* gRPC needs HTTP/2: offered by ALPN over TLS, spoken from the first byte in clear
     * (h2c, as grpc-go and grpcio accept; see perform); an HTTP/1.x answer fails. */
    if (c->grpc)
        SETOPT(c, CURLOPT_HTTP_VERSION,
               (long)(c->https ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
    /* The endpoint is configured; an inherited http(s)_proxy must not reroute a daemon. */
    SETOPT(c, CURLOPT_PROXY, "");
    SETOPT(c, CURLOPT_POST, 1L);
    SETOPT(c, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SETOPT(c, CURLOPT_TIMEOUT_MS, c->total_timeout_ms);
    if (c->low_speed_limit_bps > 0 && c->low_speed_time_s > 0) {
        SETOPT(c, CURLOPT_LOW_SPEED_LIMIT, c->low_speed_limit_bps);
        SETOPT(c, CURLOPT_LOW_SPEED_TIME, c->low_speed_time_s);
    }
    /* Keeps NAT and firewall state of an idle site's connection between lots. */
    SETOPT(c, CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(c, CURLOPT_ERRORBUFFER, c->errbuf);
    SETOPT(c, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(c, CURLOPT_WRITEDATA, &c->xfer);
    SETOPT(c, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(c, CURLOPT_HEADERDATA, &c->xfer);
    /* Refuses an announced oversize body before reading it; on_body catches chunked. */
    SETOPT(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response_bytes);
    SETOPT(c, CURLOPT_USERAGENT, "ftharness-pa-client");
    return 0;
}

static int setup_tls(struct pa_client *c, const struct pa_client_options *opt, struct ft_error *err)
{
    /* Peer and host verification stay at libcurl's defaults (on); never turned off. */
    SETOPT(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (opt->ca_file != NULL)
        SETOPT(c, CURLOPT_CAINFO, opt->ca_file);
    if (opt->cert_file != NULL) {
        SETOPT(c, CURLOPT_SSLCERT, opt->cert_file);
        SETOPT(c, CURLOPT_SSLCERTTYPE, "PEM");
        SETOPT(c, CURLOPT_SSLKEY, opt->key_file);
        SETOPT(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (opt->pinned_pubkey != NULL)
        SETOPT(c, CURLOPT_PINNEDPUBLICKEY, opt->pinned_pubkey);
    return 0;
}

/* The first DNS subjectAltName of the PEM certificate at `path`, as the ATE names
 * itself in DeviceData.metadata.ate_id; NULL when it has none. */
static int first_dns_name(const char *path, char **out, struct ft_error *err)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    if (x == NULL)
        return ft_fail(err, FT_E_INVALID, "pa_client: cert_file %s holds no PEM certificate", path);
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    *out = NULL;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && *out == NULL; i++) {
        const GENERAL_NAME *n = sk_GENERAL_NAME_value(names, i);
        if (n->type != GEN_DNS)
            continue;
        const unsigned char *s = ASN1_STRING_get0_data(n->d.dNSName);
        int len = ASN1_STRING_length(n->d.dNSName);
        bool printable = len > 0 && len <= 253;
        for (int k = 0; printable && k < len; k++)
            printable = s[k] > 0x20 && s[k] < 0x7f;
        if (printable)
            *out = strndup((const char *)s, (size_t)len);
    }
    GENERAL_NAMES_free(names);
    X509_free(x);
    return 0;
}

const char *pa_client_ate_id(const struct pa_client *c)
{
    return c->ate_id;
}

struct pa_client *pa_client_new(const struct pa_client_options *opt, struct ft_error *err)
{
    if (check_options(opt, err) != 0)
        return NULL;
    struct pa_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        ft_fail(err, FT_E_NOMEM, "pa_client: out of memory");
        return NULL;
    }
    c->xfer.retry_after_s = -1;
    if (copy_options(c, opt, err) != 0)
        goto fail;
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        ft_fail(err, FT_E_NOMEM, "pa_client: libcurl: cannot create a handle");
        goto fail;
    }
    if (setup_transport(c, err) != 0 || setup_tls(c, opt, err) != 0 ||
        (opt->cert_file != NULL && first_dns_name(opt->cert_file, &c->ate_id, err) != 0))
        goto fail;
    return c;
fail:
    pa_client_free(c);
    return NULL;
}

void pa_client_free(struct pa_client *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    free_secret(&c->auth_line);
    free_secret(&c->next_line);
    free(c->url);
    free(c->endpoint);
    free(c->user_id_line);
    free(c->ate_id);
    free(c->xfer.buf);
    free(c);
}

int pa_client_set_token(struct pa_client *c, const char *token, struct ft_error *err)
{
    if (token != NULL && (token[0] == '\0' || !header_value_ok(token)))
        return ft_fail(err, FT_E_INVALID, "pa_client: token empty or not a header value");
    char *line = NULL;
    if (token != NULL && (line = join2("authorization: ", token)) == NULL)
        return ft_fail(err, FT_E_NOMEM, "pa_client: out of memory");
    free_secret(&c->auth_line);
    c->auth_line = line;
    return 0;
}

int pa_client_copy_token(struct pa_client *dst, const struct pa_client *src, struct ft_error *err)
{
    char *line = NULL;
    if (src->auth_line != NULL && (line = strdup(src->auth_line)) == NULL)
        return ft_fail(err, FT_E_NOMEM, "pa_client: out of memory");
    free_secret(&dst->auth_line);
    dst->auth_line = line;
    return 0;
}

int pa_client_set_next_header(struct pa_client *c, const char *name, const char *value,
                              struct ft_error *err)
{
    if (!header_name_ok(name))
        return ft_fail(err, FT_E_INVALID, "pa_client: header name \"%.40s\" is not a token",
                       name ? name : "(null)");
    if (header_reserved(name))
        return ft_fail(err, FT_E_INVALID, "pa_client: header %s is set by the client itself", name);
    if (value != NULL && !header_value_ok(value))
        return ft_fail(err, FT_E_INVALID, "pa_client: value of header %s has control characters",
                       name);
    char *line = NULL;
    if (value != NULL) {
        line = malloc(strlen(name) + strlen(value) + 3);
        if (line == NULL)
            return ft_fail(err, FT_E_NOMEM, "pa_client: out of memory");
        sprintf(line, "%s: %s", name, value);
    }
    free_secret(&c->next_line);
    c->next_line = line;
    return 0;
}

struct pa_client_stats pa_client_stats(const struct pa_client *c)
{
    return c->stats;
}

void pa_reply_release(struct pa_reply *reply)
{
    if (reply == NULL)
        return;
    free(reply->body);
    memset(reply, 0, sizeof(*reply));
}

/* ---- one call ----------------------------------------------------------------------- */

/* Wipes header lines (the token is among them) before freeing them. */
static void free_header_list(struct curl_slist *list)
{
    for (struct curl_slist *p = list; p != NULL; p = p->next)
        OPENSSL_cleanse(p->data, strlen(p->data));
    curl_slist_free_all(list);
}

/* The headers of this call; consumes the one-shot header. NULL when out of memory. */
static struct curl_slist *build_headers(struct pa_client *c)
{
    /* gRPC metadata are HTTP/2 headers: user_id and authorization travel alike. */
    const char *lines[] = {
        c->grpc ? "content-type: application/grpc" : "content-type: application/json",
        c->grpc ? "te: trailers" : "accept: application/json",
        c->grpc ? "grpc-accept-encoding: identity" : NULL,
        c->grpc ? c->timeout_line : NULL,
        "expect:", /* no 100-continue round trip, whatever the body size */
        c->user_id_line,
        c->auth_line,
        c->next_line,
    };
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (lines[i] == NULL)
            continue;
        struct curl_slist *grown = curl_slist_append(list, lines[i]);
        if (grown == NULL) {
            free_header_list(list);
            list = NULL;
            break;
        }
        list = grown;
    }
    free_secret(&c->next_line);
    return list;
}

static int prepare_call(struct pa_client *c, const char *rpc, const char *body, size_t len,
                        struct curl_slist *headers)
{
    struct ft_error *err = NULL;
    memcpy(c->url + c->url_rpc_at, rpc, strlen(rpc) + 1);
    SETOPT(c, CURLOPT_URL, c->url);
    /* Borrowed, not copied: the caller's buffer outlives the call. */
    SETOPT(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    SETOPT(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    SETOPT(c, CURLOPT_HTTPHEADER, headers);
    return 0;
}

/* Leaves no pointer to the caller's body or the freed header list in the handle. */
static void finish_call(struct pa_client *c)
{
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
}

/* The peer gave up on a connection whose TLS handshake had completed on our side. In TLS
 * 1.3 a server checks the client certificate only after the client has sent its Finished,
 * so a missing or rejected certificate reaches us after the "handshake", either as an
 * OpenSSL "... alert ..." on a read, or (when the server just closes, as GnuTLS servers
 * do) as a broken pipe, a reset or an empty reply on the first request of a fresh
 * connection. A plain network failure at that exact moment looks the same; it is taken as
 * a TLS refusal, and so not retried, because repeating a certificate error only delays
 * the DUT. */
static bool refused_after_handshake(const struct pa_client *c, const struct attempt *a)
{
    if (strstr(c->errbuf, " alert ") != NULL)
        return true;
    return c->https && a->new_connection && !a->got_response_bytes;
}

static void classify_curl_error(const struct pa_client *c, struct attempt *a)
{
    bool before_response = !a->got_response_bytes;
    a->transient = false;
    switch (a->rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        a->failure = PA_FAILURE_CONNECT;
        a->transient = true;
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        a->failure = refused_after_handshake(c, a) ? PA_FAILURE_TLS : PA_FAILURE_CONNECT;
        a->transient = a->failure == PA_FAILURE_CONNECT && before_response;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        a->failure = PA_FAILURE_TIMEOUT;
        a->transient = before_response;
        break;
    case CURLE_SSL_CONNECT_ERROR:
        /* A reset during the handshake is the network, not the certificates. */
        if (a->os_errno == ECONNRESET || a->os_errno == EPIPE) {
            a->failure = PA_FAILURE_CONNECT;
            a->transient = true;
        } else {
            a->failure = PA_FAILURE_TLS;
        }
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        a->failure = PA_FAILURE_TLS;
        break;
    case CURLE_FILESIZE_EXCEEDED:
        a->failure = PA_FAILURE_TOO_LARGE;
        break;
    case CURLE_WRITE_ERROR:
        a->failure = c->xfer.overflow ? PA_FAILURE_TOO_LARGE : PA_FAILURE_LOCAL;
        break;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_URL_MALFORMAT:
    case CURLE_FAILED_INIT:
        a->failure = PA_FAILURE_LOCAL;
        break;
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_PARTIAL_FILE:
        /* HTTP/2 ends a TLS 1.3 connection whose client certificate the server refused as
         * a stream cut short ("not closed cleanly"). Otherwise e.g. GOAWAY or
         * REFUSED_STREAM before any answer: the request was not served. */
        if (refused_after_handshake(c, a)) {
            a->failure = PA_FAILURE_TLS;
            break;
        }
        a->failure = PA_FAILURE_PROTOCOL;
        a->transient = before_response;
        break;
    default:
        a->failure = PA_FAILURE_PROTOCOL;
        break;
    }
}

static void classify_http_status(struct attempt *a)
{
    long s = a->http_status;
    if (s >= 200 && s < 300) {
        a->failure = PA_FAILURE_NONE;
        a->transient = false;
        return;
    }
    a->failure = PA_FAILURE_HTTP;
    /* 500 may mean the request half-ran; other 4xx will not change by asking again. */
    a->transient = s == 429 || s == 503 || s == 504;
}

/* A gRPC answer: HTTP/2, status 200, the outcome in grpc-status (trailers, or the headers
 * of a Trailers-Only answer), the message framed in the body. */
static void classify_grpc_answer(const struct pa_client *c, struct attempt *a)
{
    const struct transfer *t = &c->xfer;
    long version = 0;
    curl_easy_getinfo(c->curl, CURLINFO_HTTP_VERSION, &version);
    a->transient = false;
    a->failure = PA_FAILURE_PROTOCOL;
    if (version != CURL_HTTP_VERSION_2_0) {
        a->why = "the server answered in HTTP/1.x, not HTTP/2: no gRPC there";
    } else if (t->grpc_status < 0 && a->http_status != 200) {
        /* A proxy or a non-gRPC server: the status-code mapping of the gRPC spec. */
        a->failure = PA_FAILURE_HTTP;
        a->grpc_code = pa_grpc_code_from_http_status(a->http_status);
        a->transient = pa_grpc_code_transient(a->grpc_code);
    } else if (t->grpc_status < 0) {
        a->why = "the stream ended without grpc-status (server gone mid-call?)";
    } else if (t->grpc_status > 0) {
        a->failure = PA_FAILURE_HTTP;
        a->grpc_code = t->grpc_status;
        a->transient = pa_grpc_code_transient(a->grpc_code);
    } else if (!t->grpc_content_type) {
        a->why = "grpc-status 0 but the content-type is not application/grpc";
    } else {
        a->failure = PA_FAILURE_NONE;
    }
}

static void transfer_reset(struct transfer *t)
{
    t->len = 0;
    if (t->buf != NULL)
        t->buf[0] = '\0';
    t->got_response_bytes = false;
    t->overflow = false;
    t->nomem = false;
    t->retry_after_s = -1;
    t->grpc_status = -1;
    t->grpc_message[0] = '\0';
    t->grpc_content_type = false;
}

/* libcurl 7.88 (Debian 12) breaks an h2c connection it reuses under PRIOR_KNOWLEDGE: it
 * stacks a second HTTP/2 layer on it and fails with "Error in the HTTP2 framing layer"
 * (curl/curl#10634, fixed in 8.0.0 by #10643). So once an h2c connection stands, a grpc://
 * client asks for plain CURL_HTTP_VERSION_2_0, under which libcurl reuses it. Had the
 * server closed it meanwhile, libcurl would connect anew and offer HTTP/1.1 with an h2c
 * Upgrade, which a gRPC server cannot read (it never sees a request); such an attempt is
 * made again at once with prior knowledge. */
static CURLcode perform(struct pa_client *c)
{
    bool h2c = c->grpc && !c->https;
    if (h2c)
        curl_easy_setopt(
            c->curl, CURLOPT_HTTP_VERSION,
            (long)(c->h2c_up ? CURL_HTTP_VERSION_2_0 : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
    CURLcode rc = curl_easy_perform(c->curl);
    if (!h2c)
        return rc;
    long version = 0, connects = 0;
    curl_easy_getinfo(c->curl, CURLINFO_HTTP_VERSION, &version);
    curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects);
    bool was_up = c->h2c_up;
    c->h2c_up = rc == CURLE_OK && version == CURL_HTTP_VERSION_2_0;
    if (!was_up || c->h2c_up || connects == 0)
        return rc;
    transfer_reset(&c->xfer);
    c->errbuf[0] = '\0';
    c->stats.connects++; /* the refused one; the caller counts the next */
    curl_easy_setopt(c->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    rc = curl_easy_perform(c->curl);
    curl_easy_getinfo(c->curl, CURLINFO_HTTP_VERSION, &version);
    c->h2c_up = rc == CURLE_OK && version == CURL_HTTP_VERSION_2_0;
    return rc;
}

static void run_attempt(struct pa_client *c, struct attempt *a)
{
    transfer_reset(&c->xfer);
    c->errbuf[0] = '\0';
    memset(a, 0, sizeof(*a));
    a->rc = perform(c);

    long connects = 0;
    curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &a->http_status);
    curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &a->os_errno);
    c->stats.attempts++;
    c->stats.connects += connects > 0 ? (uint64_t)connects : 0;
    a->new_connection = connects > 0;
    a->got_response_bytes = c->xfer.got_response_bytes;
    a->retry_after_s = c->xfer.retry_after_s;
    if (a->rc == CURLE_OK && c->grpc)
        classify_grpc_answer(c, a);
    else if (a->rc == CURLE_OK)
        classify_http_status(a);
    else
        classify_curl_error(c, a);
}

/* Full jitter (uniform in [0, ceiling]) keeps sixteen sites that failed together from
 * retrying together; the ceiling doubles per failed attempt up to backoff_max_ms. */
static long backoff_ms(const struct pa_client *c, unsigned failed_attempts)
{
    long ceiling = c->backoff_initial_ms;
    for (unsigned i = 1; i < failed_attempts && ceiling < c->backoff_max_ms; i++)
        ceiling = ceiling > c->backoff_max_ms / 2 ? c->backoff_max_ms : ceiling * 2;
    uint64_t r;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        return ceiling; /* no randomness: the longest wait is the safe side */
    return (long)(r % ((uint64_t)ceiling + 1));
}

/* The server's Retry-After wins over our backoff, up to backoff_max_ms so one answer
 * cannot park a site past its DUT deadline. */
static long wait_before_retry_ms(const struct pa_client *c, const struct attempt *a,
                                 unsigned failed_attempts)
{
    if (a->retry_after_s >= 0) {
        if (a->retry_after_s > c->backoff_max_ms / 1000)
            return c->backoff_max_ms;
        return a->retry_after_s * 1000;
    }
    return backoff_ms(c, failed_attempts);
}

/* ---- reporting ---------------------------------------------------------------------- */

/* Fills grpc_code and message from an error body; `why` says what was wrong with it. */
static void read_status_body(struct pa_reply *reply, char *why, size_t why_size)
{
    json_error_t jerr;
    json_t *root = reply->body_len ? json_loadb(reply->body, reply->body_len, 0, &jerr) : NULL;
    json_t *code = json_object_get(root, "code"); /* NULL unless root is an object */
    json_t *msg = json_object_get(root, "message");
    bool is_status = json_is_integer(code) && json_integer_value(code) > 0 &&
                     json_integer_value(code) <= GRPC_CODE_MAX &&
                     (msg == NULL || json_is_string(msg));
    why[0] = '\0';
    if (is_status) {
        reply->grpc_code = (int)json_integer_value(code);
        const char *text = msg ? json_string_value(msg) : "";
        copy_printable(reply->message, sizeof(reply->message), text, strlen(text));
    } else {
        char excerpt[BODY_EXCERPT_MAX + 1];
        reply->grpc_code = pa_grpc_code_from_http(reply->http_status);
        copy_printable(excerpt, sizeof(excerpt), reply->body ? reply->body : "", reply->body_len);
        if (reply->body_len == 0)
            snprintf(why, why_size, "error body was empty");
        else if (root == NULL)
            snprintf(why, why_size, "error body was not JSON: \"%s\"", excerpt);
        else
            snprintf(why, why_size, "error body was not a google.rpc.Status: %s", excerpt);
        snprintf(reply->message, sizeof(reply->message), "%s", why);
    }
    json_decref(root);
}

static int report_http_error(struct pa_reply *reply, const char *rpc, const char *tries,
                             struct ft_error *err)
{
    char why[PA_REPLY_MESSAGE_MAX];
    read_status_body(reply, why, sizeof(why));
    if (why[0] != '\0')
        return ft_fail(err, pa_failure_ft_code(PA_FAILURE_HTTP), "%s: HTTP %ld%s (%s; taken as %s)",
                       rpc, reply->http_status, tries, why, grpc_code_name(reply->grpc_code));
    return ft_fail(err, pa_failure_ft_code(PA_FAILURE_HTTP), "%s: HTTP %ld%s (server said: %s: %s)",
                   rpc, reply->http_status, tries, grpc_code_name(reply->grpc_code),
                   reply->message);
}

/* The gRPC counterpart: the status from the trailers, or mapped from the HTTP status. */
static int report_grpc_error(const struct pa_client *c, const struct attempt *a,
                             struct pa_reply *reply, const char *rpc, const char *tries,
                             struct ft_error *err)
{
    reply->grpc_code = a->grpc_code;
    if (c->xfer.grpc_status < 0) {
        snprintf(reply->message, sizeof(reply->message), "HTTP %ld without grpc-status",
                 a->http_status);
        return ft_fail(err, pa_failure_ft_code(PA_FAILURE_HTTP),
                       "%s: HTTP %ld from %s%s (no grpc-status; taken as %s)", rpc, a->http_status,
                       c->endpoint, tries, grpc_code_name(reply->grpc_code));
    }
    snprintf(reply->message, sizeof(reply->message), "%s", c->xfer.grpc_message);
    return ft_fail(err, pa_failure_ft_code(PA_FAILURE_HTTP),
                   "%s: gRPC status %d%s (server said: %s: %s)", rpc, reply->grpc_code, tries,
                   grpc_code_name(reply->grpc_code), reply->message);
}

/* Why a send or receive failed. libcurl keeps only the FIRST message of a transfer in
 * the error buffer, and 7.88 may put a harmless one there first ("getpeername() failed"
 * when the peer has already closed), so a TLS alert or the errno says more. */
static const char *transfer_cause(const struct pa_client *c, const struct attempt *a)
{
    if (strstr(c->errbuf, " alert ") != NULL || a->os_errno == 0)
        return c->errbuf;
    return strerror((int)a->os_errno);
}

static void describe_connect_failure(const struct pa_client *c, const struct attempt *a, char *out,
                                     size_t size)
{
    if (a->rc == CURLE_COULDNT_CONNECT && a->os_errno == ECONNREFUSED)
        snprintf(out, size, "connection refused to %s", c->endpoint);
    else if (a->rc == CURLE_COULDNT_CONNECT)
        snprintf(out, size, "cannot connect to %s: %.120s", c->endpoint,
                 a->os_errno ? strerror((int)a->os_errno) : c->errbuf);
    else if (a->rc == CURLE_COULDNT_RESOLVE_HOST)
        snprintf(out, size, "cannot resolve the host of %s", c->endpoint);
    else if (a->rc == CURLE_GOT_NOTHING)
        snprintf(out, size, "%s closed the connection without a response", c->endpoint);
    else
        snprintf(out, size, "connection to %s broken (%.120s)", c->endpoint, transfer_cause(c, a));
}

static void describe_tls_failure(const struct pa_client *c, const struct attempt *a, char *out,
                                 size_t size)
{
    switch (a->rc) {
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        snprintf(out, size, "TLS: peer public key does not match the pin");
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        snprintf(out, size, "TLS: server certificate of %s not trusted (%.120s)", c->endpoint,
                 c->errbuf);
        break;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(out, size, "TLS: local certificate, key or CA file not usable (%.120s)",
                 c->errbuf);
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_PARTIAL_FILE:
        snprintf(out, size,
                 "TLS: %s dropped the connection after the handshake (client certificate "
                 "missing or rejected?): %.80s",
                 c->endpoint, transfer_cause(c, a));
        break;
    default:
        snprintf(out, size, "TLS: handshake with %s failed (%.120s)", c->endpoint, c->errbuf);
        break;
    }
}

static void describe_timeout(const struct pa_client *c, const struct attempt *a, char *out,
                             size_t size)
{
    if (strstr(c->errbuf, "too slow") != NULL)
        snprintf(out, size, "stalled: under %ld bytes/s for %ld s", c->low_speed_limit_bps,
                 c->low_speed_time_s);
    else if (strstr(c->errbuf, "SSL connection timeout") != NULL)
        snprintf(out, size, "TLS handshake with %s timed out", c->endpoint);
    else if (!a->got_response_bytes && strstr(c->errbuf, "onnection timed out") != NULL)
        snprintf(out, size, "connect to %s timed out after %ld ms", c->endpoint,
                 c->connect_timeout_ms);
    else if (a->got_response_bytes)
        snprintf(out, size, "timed out: response incomplete after %ld ms", c->total_timeout_ms);
    else
        snprintf(out, size, "timed out: no response within %ld ms", c->total_timeout_ms);
}

/* Sets err and the rest of reply for a failed call; returns -1. */
static int report_failure(const struct pa_client *c, const char *rpc, const struct attempt *a,
                          struct pa_reply *reply, struct ft_error *err)
{
    char tries[32] = "";
    char cause[FT_ERROR_MESSAGE_MAX];
    if (reply->attempts > 1)
        snprintf(tries, sizeof(tries), " after %u attempts", reply->attempts);
    if (a->failure == PA_FAILURE_HTTP && c->grpc)
        return report_grpc_error(c, a, reply, rpc, tries, err);
    if (a->failure == PA_FAILURE_HTTP)
        return report_http_error(reply, rpc, tries, err);

    reply->grpc_code = grpc_code_for_failure(a->failure);
    switch (a->failure) {
    case PA_FAILURE_CONNECT:
        describe_connect_failure(c, a, cause, sizeof(cause));
        break;
    case PA_FAILURE_TLS:
        describe_tls_failure(c, a, cause, sizeof(cause));
        break;
    case PA_FAILURE_TIMEOUT:
        describe_timeout(c, a, cause, sizeof(cause));
        break;
    case PA_FAILURE_TOO_LARGE:
        snprintf(cause, sizeof(cause), "response larger than %zu bytes", c->max_response_bytes);
        break;
    case PA_FAILURE_LOCAL:
        snprintf(cause, sizeof(cause), "%.120s",
                 c->xfer.nomem ? "out of memory for the response" : c->errbuf);
        break;
    default:
        if (a->why != NULL)
            snprintf(cause, sizeof(cause), "protocol error from %s: %s", c->endpoint, a->why);
        else
            snprintf(cause, sizeof(cause), "protocol error from %s (%.60s: %.120s)", c->endpoint,
                     curl_easy_strerror(a->rc), c->errbuf);
        break;
    }
    snprintf(reply->message, sizeof(reply->message), "%s", cause);
    return ft_fail(err, pa_failure_ft_code(a->failure), "%s: %s%s", rpc, cause, tries);
}

/* Gives the body of the last attempt to the reply (none for an oversize one). */
static void hand_over_body(struct pa_client *c, const struct attempt *a, struct pa_reply *reply)
{
    reply->http_status = a->http_status;
    reply->failure = a->failure;
    if (a->failure == PA_FAILURE_TOO_LARGE || c->xfer.buf == NULL)
        return;
    reply->body = c->xfer.buf;
    reply->body_len = c->xfer.len;
    c->xfer.buf = NULL;
    c->xfer.len = c->xfer.cap = 0;
}

/* Replaces the framed protobuf answer in `reply` with its proto3 JSON, so callers see the
 * same body on both transports. */
static int grpc_body_to_json(const struct pa_client *c, const struct pa_rpc_desc *desc,
                             struct pa_reply *reply, struct ft_error *err)
{
    struct ft_error why = {0};
    char *json = NULL;
    size_t json_len = 0;
    int rc = pa_grpc_response_json(desc, (const uint8_t *)reply->body, reply->body_len, &json,
                                   &json_len, &why);
    free(reply->body);
    reply->body = json;
    reply->body_len = json_len;
    if (rc == 0)
        return 0;
    reply->failure = PA_FAILURE_PROTOCOL;
    reply->grpc_code = GRPC_INTERNAL;
    snprintf(reply->message, sizeof(reply->message), "%s", why.message);
    return ft_fail(err, FT_E_PROTOCOL, "%s: bad gRPC answer from %s: %s", desc->name, c->endpoint,
                   why.message);
}

static int fail_before_sending(const char *rpc, struct pa_reply *reply, int grpc_code,
                               enum ft_code code, const char *why, struct ft_error *err)
{
    reply->failure = PA_FAILURE_LOCAL;
    reply->grpc_code = grpc_code;
    snprintf(reply->message, sizeof(reply->message), "%s", why);
    return ft_fail(err, code, "%.64s: %s", rpc ? rpc : "(null)", why);
}

int pa_client_call(struct pa_client *c, const char *rpc, const char *request_json, size_t len,
                   bool idempotent, struct pa_reply *reply, struct ft_error *err)
{
    if (reply == NULL)
        return ft_fail(err, FT_E_INVALID, "pa_client_call: no reply");
    pa_reply_release(reply);
    if (!rpc_name_ok(rpc))
        return fail_before_sending(rpc, reply, GRPC_INVALID_ARGUMENT, FT_E_INVALID,
                                   "RPC name is not an identifier", err);
    if (request_json == NULL && len > 0)
        return fail_before_sending(rpc, reply, GRPC_INVALID_ARGUMENT, FT_E_INVALID,
                                   "no request body", err);
    const struct pa_rpc_desc *desc = NULL;
    uint8_t *framed = NULL; /* gRPC: the request as a Length-Prefixed-Message */
    size_t framed_len = 0;
    if (c->grpc) {
        struct ft_error why = {0};
        if ((desc = pa_rpc_find(rpc, strlen(rpc))) == NULL)
            return fail_before_sending(rpc, reply, GRPC_UNIMPLEMENTED, FT_E_INVALID,
                                       "not an RPC of " PA_SERVICE_NAME, err);
        if (pa_grpc_request_body(desc, request_json ? request_json : "", len, &framed, &framed_len,
                                 &why) != 0)
            return fail_before_sending(rpc, reply, GRPC_INVALID_ARGUMENT, why.code, why.message,
                                       err);
    }
    c->stats.calls++;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct curl_slist *headers = build_headers(c);
    if (headers == NULL || prepare_call(c, rpc, framed ? (const char *)framed : request_json,
                                        framed ? framed_len : len, headers) != 0) {
        free_header_list(headers);
        finish_call(c);
        free(framed);
        c->stats.failures++;
        return fail_before_sending(rpc, reply, GRPC_INTERNAL, FT_E_NOMEM,
                                   "cannot set up the request", err);
    }

    struct attempt a;
    unsigned n = 0;
    for (;;) {
        run_attempt(c, &a);
        n++;
        if (a.failure == PA_FAILURE_NONE || !a.transient || !idempotent || n >= c->max_attempts)
            break;
        long wait = wait_before_retry_ms(c, &a, n);
        sleep_ms(wait);
        c->stats.waited_ms += (uint64_t)wait;
        c->stats.retries++;
    }
    finish_call(c);
    free_header_list(headers);
    free(framed);

    reply->attempts = n;
    hand_over_body(c, &a, reply);
    bool bad_answer =
        a.failure == PA_FAILURE_NONE && c->grpc && grpc_body_to_json(c, desc, reply, err) != 0;
    if (c->on_call != NULL) {
        struct timespec end;
        clock_gettime(CLOCK_MONOTONIC, &end);
        c->on_call(c->on_call_arg, rpc,
                   (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9,
                   a.failure == PA_FAILURE_NONE && !bad_answer);
    }
    if (bad_answer) {
        c->stats.failures++;
        return -1;
    }
    if (a.failure == PA_FAILURE_NONE)
        return 0;
    c->stats.failures++;
    return report_failure(c, rpc, &a, reply, err);
}
