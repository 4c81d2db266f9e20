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
struct pa_registry;

/* Reads sku_auth.json and every SKU file it names that exists (a name without a file is
 * a family entry: its SKUs load on first use); the first error, naming the file and the
 * key, fails. */
int pa_service_new(const struct pa_service_options *o, struct pa_service **out,
                   struct ft_error *err);
void pa_service_free(struct pa_service *svc);

/* Reads the configuration directory again as pa_service_new does, plus every SKU loaded
 * since that sku_auth.json still admits, and puts it in force only if all of it loads:
 * otherwise the configuration in force stays and the error says why (file and key).
 * Calls in flight finish with the configuration they started with; sessions carry over
 * (a session whose SKU left sku_auth.json fails its next call, saying so). Logs one line,
 * "configuration reloaded (generation N): SKUs ..." or "reload refused: <why>; ...".
 * Safe to call while requests run; not from a signal handler. */
int pa_service_reload(struct pa_service *svc, struct ft_error *err);

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

/* GET /ftpa/v1/devices/<device_id>, the ID in the registry's form (upstream's
 * DeviceIdToHexString: "0x" and 64 hex digits, as the device record shows it; upper-case
 * digits are taken too). 200 {"device_id","registered":true,"created_ms","record",
 * "device_data"} (the record as stored and its DeviceData decoded, as in an export line),
 * 404 {"device_id","registered":false}, 400 for an ID in any other form. */
void pa_service_device_status(struct pa_service *svc, const char *device_id,
                              struct pa_response *out);

/* What an export wrote. */
struct pa_export_counts {
    size_t records;
    size_t undecodable; /* lines with "decode_error" instead of "device_data" */
};

/* Writes every RegistryRecord of `reg` as one JSON line, in registration order: the
 * record's own fields as stored (device_id, sku, data, auth_pubkey, auth_signature: the
 * signature verifies over the base64-decoded `data`), "created_ms", and "device_data",
 * the DeviceData in `data` decoded (docs/ftpa.md, "Registry exports"). A record that does
 * not decode is still written, with "decode_error" naming what is wrong; the walk goes on.
 * Used by `ftpa export` (no service needed) and GET /ftpa/v1/registry. */
int pa_registry_export_decoded(struct pa_registry *reg, FILE *out, struct pa_export_counts *counts,
                               struct ft_error *err);

/* pa_registry_export_decoded on the service's registry; *count: the records written. */
int pa_service_export(struct pa_service *svc, FILE *out, size_t *count, struct ft_error *err);

void pa_response_free(struct pa_response *r);

#endif
