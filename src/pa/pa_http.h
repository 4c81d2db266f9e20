/* ftpa's HTTP(S) front: libmicrohttpd, a thread pool, request size limits, required
 * client certificates when TLS is on, connection limits and timeouts, graceful stop.
 * Routes:
 *   POST /pa.ProvisioningApplianceService/<Rpc>   the PA API (docs/pa-api.md)
 *   GET  /ftpa/v1/devices/<device_id>             a device's registration status
 *   GET  /ftpa/v1/registry                        every RegistryRecord, JSON lines */
#ifndef FTHARNESS_PA_PA_HTTP_H
#define FTHARNESS_PA_PA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pa/pa_service.h"

struct pa_http_options {
    const char *address;  /* IPv4 address to bind, e.g. "127.0.0.1" */
    uint16_t port;        /* 0: any free port (see *bound_port) */
    const char *tls_cert; /* PEM files; all three or none */
    const char *tls_key;
    const char *client_ca; /* client certificates must chain to this CA */
    /* With TLS, every RPC comes from the host its client certificate names (pa_endpoint.h)
     * unless this is set: for test setups behind NAT, where the peer address is not the
     * tester's. A mismatch is answered with UNKNOWN, as upstream. */
    bool no_endpoint_check;
    /* Added before answering every RPC, to model a service far away (benchmarks, tests);
     * it holds one of the `threads`. 0: none. */
    unsigned latency_ms;
    /* Faults a test plants for one caller's next call of one RPC (--fault-dir): a file
     * named USER_ID.RPC, taken (read and removed) by that call. NULL: none. */
    const char *fault_dir;
    size_t max_body; /* larger requests get 413 */
    unsigned threads;
    /* The read-only credential of GET /ftpa/v1/registry and /ftpa/v1/devices/<id>
     * ("authorization: Bearer <token>"); NULL: those reads are refused (403). */
    const char *reader_token;
    /* Connection limits; a connection over one gets 503 UNAVAILABLE naming the limit.
     * 0: the default. Connections beyond twice the per-peer limit, or more than 64 beyond
     * the global one, are closed at accept without an answer. */
    unsigned max_connections;          /* all clients together (default 512) */
    unsigned max_connections_per_peer; /* one client IP address (default 32) */
    /* Timeouts in seconds; 0: the default. A connection that sends and receives nothing
     * for idle_timeout_s is closed (default 10). A request (headers and body) not received
     * within request_timeout_s of the connection's accept, or of the end of the previous
     * response on a kept-alive connection, is closed (default 30). */
    unsigned idle_timeout_s;
    unsigned request_timeout_s;
};

struct pa_http;

int pa_http_start(struct pa_service *svc, const struct pa_http_options *o, struct pa_http **out,
                  uint16_t *bound_port, struct ft_error *err);
/* Stops accepting, lets requests in flight finish, frees everything. */
void pa_http_stop(struct pa_http *http);

#endif
