#include "pa/pa_http.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pa/pa_auth.h"
#include "pa/pa_msg.h"

#define RPC_PREFIX "/pa.ProvisioningApplianceService/"
#define DEVICE_PREFIX "/ftpa/v1/devices/"
#define FILE_MAX (1u << 20)

struct pa_http {
    struct MHD_Daemon *daemon;
    struct pa_service *svc;
    size_t max_body;
    bool tls;
    char *tls_cert, *tls_key, *client_ca; /* PEM text; MHD keeps pointers to them */
    char *reader_token;                   /* NULL: registry reads are refused */
};

/* Per-request state: the body being received. */
struct request {
    char *body;
    size_t len;
    bool too_large;
};

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

static enum MHD_Result send_json(struct MHD_Connection *conn, int status, const char *body,
                                 size_t len, const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type ? type : "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, int code, const char *message)
{
    json_t *msg = pa_status_to_json(code, message);
    char *text = msg ? json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(msg);
    enum MHD_Result ret = send_json(conn, pa_status_http_status(code), text ? text : "{}",
                                    text ? strlen(text) : 2, NULL);
    free(text);
    return ret;
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

static void peer_address(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (info == NULL || info->client_addr == NULL)
        return;
    if (info->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)info->client_addr)->sin_addr, out,
                  (socklen_t)cap);
    else if (info->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)info->client_addr)->sin6_addr, out,
                  (socklen_t)cap);
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct pa_http *http = cls;
    struct request *req = *con_cls;
    if (req == NULL) {
        req = calloc(1, sizeof(*req));
        *con_cls = req;
        return req ? MHD_YES : MHD_NO;
    }
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
        json_t *msg = pa_status_to_json(PA_GRPC_RESOURCE_EXHAUSTED, message);
        char *text = json_dumps(msg, JSON_COMPACT);
        json_decref(msg);
        enum MHD_Result ret =
            send_json(conn, 413, text ? text : "{}", text ? strlen(text) : 2, NULL);
        free(text);
        return ret;
    }
    if (strcmp(method, "POST") == 0 && strncmp(url, RPC_PREFIX, strlen(RPC_PREFIX)) == 0)
        return handle_rpc(http, conn, url + strlen(RPC_PREFIX), req);
    if (strcmp(method, "GET") == 0)
        return handle_get(http, conn, url);
    return send_error(conn, PA_GRPC_UNIMPLEMENTED, "unsupported method or path");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct request *req = *con_cls;
    if (req != NULL) {
        free(req->body);
        free(req);
    }
    *con_cls = NULL;
}

/* libmicrohttpd only asks for a client certificate (GNUTLS_CERT_REQUEST); require and
 * verify it during the handshake, before the session carries any request. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)socket_context;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == NULL || info->tls_session == NULL)
        return;
    gnutls_session_t session = (gnutls_session_t)info->tls_session;
    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(session, NULL, 0);
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
    }
    unsigned threads = o->threads ? o->threads : 4;
    if (http->tls)
        http->daemon = MHD_start_daemon(
            flags, o->port, NULL, NULL, on_request, http, MHD_OPTION_SOCK_ADDR, &addr,
            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, http,
            MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_NOTIFY_CONNECTION, on_connection, http,
            MHD_OPTION_HTTPS_MEM_CERT, http->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, http->tls_key,
            MHD_OPTION_HTTPS_MEM_TRUST, http->client_ca, MHD_OPTION_END);
    else
        http->daemon = MHD_start_daemon(flags, o->port, NULL, NULL, on_request, http,
                                        MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE,
                                        threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, http,
                                        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
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
