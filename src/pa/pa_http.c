#include "pa/pa_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pa/pa_auth.h"
#include "pa/pa_endpoint.h"
#include "pa/pa_msg.h"

#define RPC_PREFIX "/pa.ProvisioningApplianceService/"
#define DEVICE_PREFIX "/ftpa/v1/devices/"
#define FILE_MAX (1u << 20)

#define PEER_LIMIT_DEFAULT 32u
#define GLOBAL_LIMIT_DEFAULT 512u
#define IDLE_TIMEOUT_DEFAULT_S 10u
#define REQUEST_TIMEOUT_DEFAULT_S 30u
#define TIMEOUT_MAX_S 3600u
/* MHD closes a connection over its own limits without a word. ftpa counts connections
 * against lower limits of its own and answers the excess 503; MHD's limits sit above them
 * and bound what the excess can hold: twice the per-peer limit, GLOBAL_HEADROOM over the
 * global one. */
#define GLOBAL_HEADROOM 64u
/* MHD polls with select(), which refuses a descriptor at or above FD_SETSIZE: MHD's
 * connection limit plus the process's other descriptors (database, logs, the listening
 * socket, a wakeup pipe per thread) stay under it. */
#define FD_RESERVE 128u
#define GLOBAL_LIMIT_MAX ((unsigned)FD_SETSIZE - FD_RESERVE - GLOBAL_HEADROOM)
#define WATCHDOG_TICK_MS 200u
#define RETRY_AFTER_S "1"

/* A client's address, the unit of the per-peer limit. */
struct peer_key {
    sa_family_t family;
    unsigned char addr[16]; /* an IPv4 address in the first 4 bytes, the rest zero */
};

enum slot_phase {
    SLOT_RECEIVING, /* waiting for a request or receiving one: its deadline runs */
    SLOT_ANSWERING, /* the request is in; the handler and the response take their time */
    SLOT_CLOSING,   /* overdue or aborted: MHD is closing it */
};

enum slot_limit { LIMIT_NONE, LIMIT_PEER, LIMIT_GLOBAL };

/* One connection, from MHD's start notification to its close notification; the socket
 * stays open all that time, so the watchdog may shut it down. The first four fields are
 * set once at accept; the rest is guarded by conn_table.lock. */
struct conn_slot {
    int fd;
    struct peer_key peer;
    char peer_text[INET6_ADDRSTRLEN];
    enum slot_limit over; /* decided at accept: the limit this connection is beyond */
    struct conn_slot *prev, *next;
    enum slot_phase phase;
    uint64_t deadline_ms; /* CLOCK_MONOTONIC; enforced while SLOT_RECEIVING */
};

/* Every open connection, and the watchdog thread that enforces request deadlines. */
struct conn_table {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the watchdog's tick; signalled to stop it */
    struct conn_slot *head;
    unsigned count;
    bool stopping;
    bool watchdog_running;
    pthread_t watchdog;
};

struct pa_http {
    struct MHD_Daemon *daemon;
    struct pa_service *svc;
    size_t max_body;
    bool tls;
    bool endpoint_check;                  /* tls and not --no-endpoint-check */
    unsigned latency_ms;                  /* --latency-ms */
    const char *fault_dir;                /* --fault-dir */
    char *tls_cert, *tls_key, *client_ca; /* PEM text; MHD keeps pointers to them */
    char *reader_token;                   /* NULL: registry reads are refused */
    unsigned max_connections, max_per_peer, idle_timeout_s;
    uint64_t request_timeout_ms;
    bool conns_ready; /* conns.lock and conns.wake are initialized */
    struct conn_table conns;
};

/* Per-request state: the body being received. */
struct request {
    char *body;
    size_t len;
    bool too_large;
};

static uint64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

static char *read_file(const char *path, struct ft_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(FILE_MAX + 1) : NULL;
    size_t n = buf ? fread(buf, 1, FILE_MAX + 1, f) : 0;
    if (f)
        fclose(f);
    if (buf == NULL || n == 0 || n > FILE_MAX) {
        free(buf);
        ft_fail(err, FT_E_INVALID, "%s: cannot read a PEM file of at most 1 MiB", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* `close`: the connection ends after this response (MHD then drops any unread body). */
static enum MHD_Result send_body(struct MHD_Connection *conn, int status, const char *body,
                                 size_t len, const char *type, bool close)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type ? type : "application/json");
    if (close)
        MHD_add_response_header(r, "Connection", "close");
    if (status == 503)
        MHD_add_response_header(r, "Retry-After", RETRY_AFTER_S);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, int status, const char *body,
                                 size_t len, const char *type)
{
    return send_body(conn, status, body, len, type, false);
}

/* A google.rpc.Status body {code, message} under an explicit HTTP status. */
static enum MHD_Result send_status(struct MHD_Connection *conn, int http_status, int code,
                                   const char *message, bool close)
{
    json_t *msg = pa_status_to_json(code, message);
    char *text = msg ? json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(msg);
    enum MHD_Result ret =
        send_body(conn, http_status, text ? text : "{}", text ? strlen(text) : 2, NULL, close);
    free(text);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, int code, const char *message)
{
    return send_status(conn, pa_status_http_status(code), code, message, false);
}

/* With TLS on, the client certificate must be present and chain to the client CA. */
static bool client_verified(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == NULL || info->tls_session == NULL)
        return false;
    gnutls_session_t session = (gnutls_session_t)info->tls_session;
    unsigned int status = 0;
    unsigned int n = 0;
    if (gnutls_certificate_get_peers(session, &n) == NULL || n == 0)
        return false;
    return gnutls_certificate_verify_peers2(session, &status) == 0 && status == 0;
}

static const struct sockaddr *client_sockaddr(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info ? info->client_addr : NULL;
}

/* The verified client certificate (client_verified) names the peer it came from. */
static bool client_endpoint_matches(struct MHD_Connection *conn, char *why, size_t cap)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    unsigned int n = 0;
    const gnutls_datum_t *chain =
        info != NULL && info->tls_session != NULL
            ? gnutls_certificate_get_peers((gnutls_session_t)info->tls_session, &n)
            : NULL;
    if (chain == NULL || n == 0) {
        snprintf(why, cap, "no client certificate");
        return false;
    }
    return pa_endpoint_check_peer(chain[0].data, chain[0].size, client_sockaddr(conn), why, cap);
}

/* The key and printable form of a client address. Families other than IPv4 and IPv6
 * (none on an IPv4 listener) share one key with an empty text. */
static void peer_of(const struct sockaddr *sa, struct peer_key *key, char *text, size_t cap)
{
    memset(key, 0, sizeof(*key));
    text[0] = '\0';
    if (sa == NULL)
        return;
    key->family = sa->sa_family;
    if (sa->sa_family == AF_INET)
        memcpy(key->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (sa->sa_family == AF_INET6)
        memcpy(key->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    else
        return;
    if (inet_ntop(sa->sa_family, key->addr, text, (socklen_t)cap) == NULL)
        text[0] = '\0';
}

static void peer_address(struct MHD_Connection *conn, char *out, size_t cap)
{
    struct peer_key key;
    peer_of(client_sockaddr(conn), &key, out, cap);
}

/* ---- connection accounting and request deadlines ---------------------------------- */

static unsigned peer_connections(const struct conn_table *t, const struct peer_key *peer)
{
    unsigned n = 0;
    for (const struct conn_slot *s = t->head; s != NULL; s = s->next)
        n += memcmp(&s->peer, peer, sizeof(*peer)) == 0;
    return n;
}

/* Counts a new connection and decides, once, whether it is beyond a limit: such a
 * connection is answered 503 as soon as its request headers are in. */
static void slot_open(struct pa_http *http, struct MHD_Connection *conn, void **socket_context)
{
    struct conn_slot *slot = calloc(1, sizeof(*slot));
    *socket_context = slot;
    if (slot == NULL)
        return; /* on_request refuses a connection it cannot account for */
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    slot->fd = fd ? fd->connect_fd : -1;
    peer_of(client_sockaddr(conn), &slot->peer, slot->peer_text, sizeof(slot->peer_text));
    struct conn_table *t = &http->conns;
    pthread_mutex_lock(&t->lock);
    if (peer_connections(t, &slot->peer) >= http->max_per_peer)
        slot->over = LIMIT_PEER;
    else if (t->count >= http->max_connections)
        slot->over = LIMIT_GLOBAL;
    slot->phase = SLOT_RECEIVING;
    slot->deadline_ms = monotonic_ms() + http->request_timeout_ms;
    slot->next = t->head;
    if (t->head != NULL)
        t->head->prev = slot;
    t->head = slot;
    t->count++;
    pthread_mutex_unlock(&t->lock);
}

/* MHD notifies the close before it closes the socket: once the slot is unlinked here,
 * the watchdog no longer touches the descriptor. */
static void slot_close(struct pa_http *http, void **socket_context)
{
    struct conn_slot *slot = *socket_context;
    if (slot == NULL)
        return;
    struct conn_table *t = &http->conns;
    pthread_mutex_lock(&t->lock);
    if (slot->prev != NULL)
        slot->prev->next = slot->next;
    else
        t->head = slot->next;
    if (slot->next != NULL)
        slot->next->prev = slot->prev;
    t->count--;
    pthread_mutex_unlock(&t->lock);
    free(slot);
    *socket_context = NULL;
}

static struct conn_slot *slot_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* Moves a connection to `next`; entering SLOT_RECEIVING starts a new request deadline.
 * False, and no move, when the connection is already closing (the watchdog got there
 * first): the caller must not answer on it. */
static bool slot_enter(struct pa_http *http, struct conn_slot *slot, enum slot_phase next)
{
    pthread_mutex_lock(&http->conns.lock);
    bool open = slot->phase != SLOT_CLOSING;
    if (open) {
        slot->phase = next;
        if (next == SLOT_RECEIVING)
            slot->deadline_ms = monotonic_ms() + http->request_timeout_ms;
    }
    pthread_mutex_unlock(&http->conns.lock);
    return open;
}

static bool slot_closing(struct pa_http *http, struct conn_slot *slot)
{
    pthread_mutex_lock(&http->conns.lock);
    bool closing = slot->phase == SLOT_CLOSING;
    pthread_mutex_unlock(&http->conns.lock);
    return closing;
}

/* MHD owns the descriptors, so an overdue connection is shut down, not closed: MHD sees
 * end-of-file, closes it and notifies the close. Headers that never complete reach no
 * callback of ours, which is why a thread watches the clock. */
static void expire_overdue(struct conn_table *t, uint64_t now)
{
    for (struct conn_slot *s = t->head; s != NULL; s = s->next) {
        if (s->phase != SLOT_RECEIVING || now < s->deadline_ms)
            continue;
        s->phase = SLOT_CLOSING;
        if (s->fd >= 0)
            shutdown(s->fd, SHUT_RDWR);
    }
}

static void *watchdog_main(void *arg)
{
    struct conn_table *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        expire_overdue(t, monotonic_ms());
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)WATCHDOG_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&t->wake, &t->lock, &until);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

static int conns_init(struct pa_http *http, struct ft_error *err)
{
    struct conn_table *t = &http->conns;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return ft_fail(err, FT_E_NOMEM, "ftpa: cannot create the connection watchdog");
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0 && (rc = pthread_cond_init(&t->wake, &attr)) == 0 &&
        (rc = pthread_mutex_init(&t->lock, NULL)) != 0)
        pthread_cond_destroy(&t->wake);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return ft_fail(err, FT_E_NOMEM, "ftpa: cannot create the connection watchdog: %s",
                       strerror(rc));
    http->conns_ready = true;
    if ((rc = pthread_create(&t->watchdog, NULL, watchdog_main, t)) != 0)
        return ft_fail(err, FT_E_NOMEM, "ftpa: cannot start the connection watchdog: %s",
                       strerror(rc));
    t->watchdog_running = true;
    return 0;
}

/* After MHD has stopped: every connection has been notified closed. */
static void conns_fini(struct pa_http *http)
{
    struct conn_table *t = &http->conns;
    if (!http->conns_ready)
        return;
    if (t->watchdog_running) {
        pthread_mutex_lock(&t->lock);
        t->stopping = true;
        pthread_cond_signal(&t->wake);
        pthread_mutex_unlock(&t->lock);
        pthread_join(t->watchdog, NULL);
    }
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
}

/* The 503 for a connection beyond a limit, naming the limit. */
static enum MHD_Result refuse_over_limit(struct pa_http *http, struct MHD_Connection *conn,
                                         const struct conn_slot *slot)
{
    char message[160];
    if (slot == NULL)
        snprintf(message, sizeof(message), "out of memory accepting the connection");
    else if (slot->over == LIMIT_PEER)
        snprintf(message, sizeof(message), "too many connections from %s (limit %u)",
                 slot->peer_text[0] ? slot->peer_text : "this client", http->max_per_peer);
    else
        snprintf(message, sizeof(message), "too many connections to this server (limit %u)",
                 http->max_connections);
    return send_status(conn, 503, PA_GRPC_UNAVAILABLE, message, true);
}

/* "application/json", any case, optionally with parameters ("; charset=utf-8"); not
 * "application/jsonx" or "application/json-seq". */
static bool is_json_media_type(const char *type)
{
    static const char json[] = "application/json";
    if (type == NULL || strncasecmp(type, json, sizeof(json) - 1) != 0)
        return false;
    const char *rest = type + sizeof(json) - 1;
    rest += strspn(rest, " \t");
    return *rest == '\0' || *rest == ';';
}

static enum MHD_Result handle_rpc(struct pa_http *http, struct MHD_Connection *conn,
                                  const char *rpc, struct request *req)
{
    if (!is_json_media_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type")))
        return send_error(conn, PA_GRPC_INVALID_ARGUMENT, "Content-Type must be application/json");
    char peer[64];
    peer_address(conn, peer, sizeof(peer));
    struct pa_caller caller = {
        .user_id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "user_id"),
        .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "authorization"),
        .peer = peer,
    };
    struct pa_response resp;
    pa_service_call(http->svc, rpc, req->body ? req->body : "", req->len, &caller, &resp);
    enum MHD_Result ret = resp.body ? send_json(conn, resp.http_status, resp.body, resp.len, NULL)
                                    : send_error(conn, PA_GRPC_INTERNAL, "out of memory");
    pa_response_free(&resp);
    return ret;
}

/* The registry holds every device's certificates and wrapped RMA seed: reading it takes a
 * credential of its own, not an RPC session. */
static bool reader_authorized(struct pa_http *http, struct MHD_Connection *conn,
                              enum MHD_Result *refusal)
{
    static const char bearer[] = "Bearer ";
    if (http->reader_token == NULL) {
        *refusal = send_error(conn, PA_GRPC_PERMISSION_DENIED,
                              "registry reads are disabled: start ftpa serve with "
                              "--reader-token-file");
        return false;
    }
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "authorization");
    size_t want = strlen(http->reader_token);
    if (auth == NULL || strncmp(auth, bearer, sizeof(bearer) - 1) != 0 ||
        strlen(auth + sizeof(bearer) - 1) != want ||
        !pa_ct_equal(auth + sizeof(bearer) - 1, http->reader_token, want)) {
        *refusal = send_error(conn, PA_GRPC_UNAUTHENTICATED,
                              "registry reads need \"authorization: Bearer <reader token>\"");
        return false;
    }
    return true;
}

static enum MHD_Result handle_get(struct pa_http *http, struct MHD_Connection *conn,
                                  const char *url)
{
    enum MHD_Result refusal;
    bool registry_url = strncmp(url, DEVICE_PREFIX, strlen(DEVICE_PREFIX)) == 0 ||
                        strcmp(url, "/ftpa/v1/registry") == 0;
    if (registry_url && !reader_authorized(http, conn, &refusal))
        return refusal;
    if (strncmp(url, DEVICE_PREFIX, strlen(DEVICE_PREFIX)) == 0) {
        struct pa_response resp;
        pa_service_device_status(http->svc, url + strlen(DEVICE_PREFIX), &resp);
        enum MHD_Result ret = send_json(conn, resp.http_status, resp.body ? resp.body : "{}",
                                        resp.body ? resp.len : 2, NULL);
        pa_response_free(&resp);
        return ret;
    }
    if (strcmp(url, "/ftpa/v1/registry") == 0) {
        char *text = NULL;
        size_t len = 0, count = 0;
        FILE *mem = open_memstream(&text, &len);
        struct ft_error err = {0};
        int rc = mem ? pa_service_export(http->svc, mem, &count, &err) : -1;
        if (mem)
            fclose(mem);
        enum MHD_Result ret =
            rc == 0 ? send_json(conn, 200, text ? text : "", len, "application/x-ndjson")
                    : send_error(conn, PA_GRPC_INTERNAL, err.message);
        free(text);
        return ret;
    }
    return send_error(conn, PA_GRPC_NOT_FOUND, "no such resource");
}

/* --fault-dir: the fault planted for this caller's call of `rpc`, if any, taken so that it
 * fires once. "delay MS" holds the answer back; "status CODE" answers with that gRPC code;
 * "close" drops the connection unanswered. Returns true when the fault answered (or
 * dropped) the call, with *result set. */
static bool take_planted_fault(struct pa_http *http, struct MHD_Connection *conn, const char *rpc,
                               enum MHD_Result *result)
{
    const char *user = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "user_id");
    char path[PATH_MAX], name[192], text[64] = "";
    size_t n = 0;
    /* A user id may hold '/' (HOST/SITE): the file name has '_' there. */
    for (const char *p = user ? user : "-"; *p != '\0' && n + 1 < sizeof(name); p++)
        name[n++] = *p == '/' ? '_' : *p;
    name[n] = '\0';
    if (strchr(rpc, '/') != NULL ||
        snprintf(path, sizeof(path), "%s/%s.%s", http->fault_dir, name, rpc) >= (int)sizeof(path))
        return false;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t got = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (got < 0 || unlink(path) != 0)
        return false; /* another call took it */
    text[got] = '\0';
    unsigned long value;
    if (sscanf(text, "delay %lu", &value) == 1 && value <= 600000) {
        struct timespec delay = {.tv_sec = (time_t)(value / 1000),
                                 .tv_nsec = (long)(value % 1000) * 1000000L};
        while (nanosleep(&delay, &delay) != 0 && errno == EINTR)
            ;
        return false;
    }
    if (sscanf(text, "status %lu", &value) == 1 && value >= 1 && value <= 16) {
        fprintf(stderr, "ftpa: %s from %s: planted fault: status %lu\n", rpc, name, value);
        *result = send_error(conn, (int)value, "planted fault (--fault-dir)");
        return true;
    }
    if (strncmp(text, "close", 5) == 0) {
        fprintf(stderr, "ftpa: %s from %s: planted fault: connection dropped\n", rpc, name);
        *result = MHD_NO;
        return true;
    }
    fprintf(stderr, "ftpa: %s: not a fault (delay MS, status CODE, close); ignored\n", path);
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct pa_http *http = cls;
    struct request *req = *con_cls;
    struct conn_slot *slot = slot_of(conn);
    if (req == NULL) { /* the headers are in; nothing of the body has been read yet */
        if (slot == NULL || slot->over != LIMIT_NONE)
            return refuse_over_limit(http, conn, slot);
        req = calloc(1, sizeof(*req));
        *con_cls = req;
        return req ? MHD_YES : MHD_NO;
    }
    /* The watchdog shut the connection down: stop rather than answer into it. */
    if (slot == NULL || (*upload_data_size > 0 ? slot_closing(http, slot)
                                               : !slot_enter(http, slot, SLOT_ANSWERING)))
        return MHD_NO;
    if (*upload_data_size > 0) {
        /* Keep receiving but drop the bytes once the limit is passed, then answer 413. */
        if (!req->too_large && req->len + *upload_data_size <= http->max_body) {
            char *grown = realloc(req->body, req->len + *upload_data_size + 1);
            if (grown == NULL)
                return MHD_NO;
            req->body = grown;
            memcpy(req->body + req->len, upload_data, *upload_data_size);
            req->len += *upload_data_size;
            req->body[req->len] = '\0';
        } else {
            req->too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (http->tls && !client_verified(conn))
        return send_error(conn, PA_GRPC_UNAUTHENTICATED, "a valid client certificate is required");
    if (req->too_large) {
        char message[96];
        snprintf(message, sizeof(message), "request body larger than %zu bytes", http->max_body);
        return send_status(conn, 413, PA_GRPC_RESOURCE_EXHAUSTED, message, false);
    }
    if (strcmp(method, "POST") == 0 && strncmp(url, RPC_PREFIX, strlen(RPC_PREFIX)) == 0) {
        char why[256];
        if (http->endpoint_check && !client_endpoint_matches(conn, why, sizeof(why)))
            return send_error(conn, PA_GRPC_UNKNOWN, why);
        if (http->latency_ms > 0) {
            struct timespec delay = {.tv_sec = http->latency_ms / 1000,
                                     .tv_nsec = (long)(http->latency_ms % 1000) * 1000000L};
            while (nanosleep(&delay, &delay) != 0 && errno == EINTR)
                ;
        }
        enum MHD_Result planted;
        if (http->fault_dir != NULL &&
            take_planted_fault(http, conn, url + strlen(RPC_PREFIX), &planted))
            return planted;
        return handle_rpc(http, conn, url + strlen(RPC_PREFIX), req);
    }
    if (strcmp(method, "GET") == 0)
        return handle_get(http, conn, url);
    return send_error(conn, PA_GRPC_UNIMPLEMENTED, "unsupported method or path");
}

/* After a complete response the connection may carry another request: its deadline starts
 * now. After an abort MHD closes the connection. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct pa_http *http = cls;
    struct conn_slot *slot = slot_of(conn);
    if (slot != NULL)
        slot_enter(http, slot,
                   toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? SLOT_RECEIVING : SLOT_CLOSING);
    struct request *req = *con_cls;
    if (req != NULL) {
        free(req->body);
        free(req);
    }
    *con_cls = NULL;
}

/* libmicrohttpd only asks for a client certificate (GNUTLS_CERT_REQUEST); require and
 * verify it during the handshake, before the session carries any request. */
static void require_client_cert(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == NULL || info->tls_session == NULL)
        return;
    gnutls_session_t session = (gnutls_session_t)info->tls_session;
    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(session, NULL, 0);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct pa_http *http = cls;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        slot_close(http, socket_context);
        return;
    }
    if (http->tls)
        require_client_cert(conn);
    slot_open(http, conn, socket_context);
}

static unsigned or_default(unsigned value, unsigned fallback)
{
    return value != 0 ? value : fallback;
}

static int check_fd_limit(unsigned needed, struct ft_error *err)
{
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
        files.rlim_cur < needed)
        return ft_fail(err, FT_E_RANGE, "ftpa: the limits need %u descriptors, RLIMIT_NOFILE %llu",
                       needed, (unsigned long long)files.rlim_cur);
    return 0;
}

/* The limits and timeouts, defaults filled in, checked against what select() and the
 * descriptor limit allow. */
static int set_limits(struct pa_http *http, const struct pa_http_options *o, struct ft_error *err)
{
    http->max_connections = or_default(o->max_connections, GLOBAL_LIMIT_DEFAULT);
    /* The default per-peer limit never exceeds a lower global limit that was asked for. */
    http->max_per_peer = o->max_connections_per_peer;
    if (http->max_per_peer == 0)
        http->max_per_peer =
            http->max_connections < PEER_LIMIT_DEFAULT ? http->max_connections : PEER_LIMIT_DEFAULT;
    http->idle_timeout_s = or_default(o->idle_timeout_s, IDLE_TIMEOUT_DEFAULT_S);
    unsigned request_timeout_s = or_default(o->request_timeout_s, REQUEST_TIMEOUT_DEFAULT_S);
    http->request_timeout_ms = (uint64_t)request_timeout_s * 1000u;
    if (http->max_connections > GLOBAL_LIMIT_MAX)
        return ft_fail(err, FT_E_RANGE, "ftpa: max connections %u is over %u (select() limit)",
                       http->max_connections, GLOBAL_LIMIT_MAX);
    if (http->max_per_peer > http->max_connections)
        return ft_fail(err, FT_E_RANGE,
                       "ftpa: max connections per peer %u is over max connections %u",
                       http->max_per_peer, http->max_connections);
    if (http->idle_timeout_s > TIMEOUT_MAX_S)
        return ft_fail(err, FT_E_RANGE, "ftpa: idle timeout %u s is over %u s",
                       http->idle_timeout_s, TIMEOUT_MAX_S);
    if (request_timeout_s > TIMEOUT_MAX_S)
        return ft_fail(err, FT_E_RANGE, "ftpa: request timeout %u s is over %u s",
                       request_timeout_s, TIMEOUT_MAX_S);
    return check_fd_limit(http->max_connections + GLOBAL_HEADROOM + FD_RESERVE, err);
}

/* One option list for HTTP and HTTPS; `opts` has room for every item and the end. */
static void daemon_options(struct pa_http *http, const struct pa_http_options *o,
                           struct sockaddr_in *addr, struct MHD_OptionItem *opts)
{
    unsigned threads = o->threads ? o->threads : 4;
    size_t n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, addr};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, http};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, http};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, http->idle_timeout_s, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                        http->max_connections + GLOBAL_HEADROOM, NULL};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, 2 * http->max_per_peer, NULL};
    if (http->tls) {
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, http->tls_cert};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, http->tls_key};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, http->client_ca};
    }
    opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

int pa_http_start(struct pa_service *svc, const struct pa_http_options *o, struct pa_http **out,
                  uint16_t *bound_port, struct ft_error *err)
{
    struct pa_http *http = calloc(1, sizeof(*http));
    if (http == NULL)
        return ft_fail(err, FT_E_NOMEM, "ftpa: out of memory");
    http->svc = svc;
    http->max_body = o->max_body;
    if (o->reader_token != NULL && (http->reader_token = strdup(o->reader_token)) == NULL) {
        free(http);
        return ft_fail(err, FT_E_NOMEM, "ftpa: out of memory");
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(o->port)};
    if (inet_pton(AF_INET, o->address, &addr.sin_addr) != 1) {
        pa_http_stop(http);
        return ft_fail(err, FT_E_INVALID, "ftpa: \"%s\" is not an IPv4 address", o->address);
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    http->tls = o->tls_cert != NULL;
    if (http->tls) {
        if (o->tls_key == NULL || o->client_ca == NULL ||
            (http->tls_cert = read_file(o->tls_cert, err)) == NULL ||
            (http->tls_key = read_file(o->tls_key, err)) == NULL ||
            (http->client_ca = read_file(o->client_ca, err)) == NULL) {
            if (err && err->code == FT_OK)
                ft_fail(err, FT_E_INVALID, "ftpa: TLS needs a certificate, a key and a client CA");
            pa_http_stop(http);
            return -1;
        }
        flags |= MHD_USE_TLS;
        http->endpoint_check = !o->no_endpoint_check;
    }
    http->latency_ms = o->latency_ms;
    http->fault_dir = o->fault_dir;
    if (set_limits(http, o, err) != 0 || conns_init(http, err) != 0) {
        pa_http_stop(http);
        return -1;
    }
    struct MHD_OptionItem opts[11];
    daemon_options(http, o, &addr, opts);
    http->daemon = MHD_start_daemon(flags, o->port, NULL, NULL, on_request, http, MHD_OPTION_ARRAY,
                                    opts, MHD_OPTION_END);
    if (http->daemon == NULL) {
        pa_http_stop(http);
        return ft_fail(err, FT_E_INVALID, "ftpa: cannot listen on %s:%u", o->address, o->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : o->port;
    *out = http;
    return 0;
}

void pa_http_stop(struct pa_http *http)
{
    if (http == NULL)
        return;
    if (http->daemon != NULL) {
        MHD_quiesce_daemon(http->daemon);
        MHD_stop_daemon(http->daemon);
    }
    conns_fini(http);
    free(http->tls_cert);
    if (http->tls_key != NULL)
        memset(http->tls_key, 0, strlen(http->tls_key));
    free(http->tls_key);
    free(http->client_ca);
    if (http->reader_token != NULL)
        OPENSSL_cleanse(http->reader_token, strlen(http->reader_token));
    free(http->reader_token);
    free(http);
}
