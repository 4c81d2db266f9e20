/* The endorsement service's RPC logic, independent of HTTP: sessions, SKUs, the
 * upstream checks and the registry. pa_http puts it on the network; tests call it
 * directly too. Thread-safe: calls may run concurrently. */
#ifndef FTHARNESS_PA_PA_SERVICE_H
#define FTHARNESS_PA_PA_SERVICE_H

#include <stddef.h>
#include <stdio.h>

#include "common/error.h"

struct pa_service_options {
    const char *config_dir; /* sku_<name>.json and sku_auth.json */
    const char *db_path;    /* SQLite registry */
    FILE *log;              /* one line per call; never secrets. NULL: no log */
};

struct pa_service;

int pa_service_new(const struct pa_service_options *o, struct pa_service **out,
                   struct ft_error *err);
void pa_service_free(struct pa_service *svc);

/* Who is calling: the `user_id` and `authorization` headers and the peer address. */
struct pa_caller {
    const char *user_id;       /* NULL: use the peer address */
    const char *authorization; /* NULL when absent */
    const char *peer;          /* e.g. "127.0.0.1" */
};

struct pa_response {
    int http_status;
    int grpc_code;
    char *body; /* NEW JSON text: the response message or {"code","message"} */
    size_t len;
};

/* Runs RPC `rpc` ("EndorseCerts", ...) on a JSON request body. Always fills *out. */
void pa_service_call(struct pa_service *svc, const char *rpc, const char *body, size_t len,
                     const struct pa_caller *caller, struct pa_response *out);

/* GET /ftpa/v1/devices/<device_id>: {"device_id","registered","created_ms","record"}. */
void pa_service_device_status(struct pa_service *svc, const char *device_id,
                              struct pa_response *out);

/* Writes every RegistryRecord as JSON lines. */
int pa_service_export(struct pa_service *svc, FILE *out, size_t *count, struct ft_error *err);

void pa_response_free(struct pa_response *r);

#endif
