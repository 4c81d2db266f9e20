/* The control protocol's requests (docs/control-api.md): one JSON object per line on the
 * daemon's Unix socket. Parsed strictly: an unknown key, a wrong type or a value out of
 * range is an error naming its JSON path; the daemon answers it with an "error" event and
 * carries on. */
#ifndef FTHARNESS_DAEMON_CONTROL_PROTO_H
#define FTHARNESS_DAEMON_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define CONTROL_LINE_MAX 65536u /* bytes of one request line, newline excluded */
#define CONTROL_ID_MAX 64u      /* "id" and "request_id": 1..64 printable ASCII characters */
#define CONTROL_RECORDS_MAX 1000u

enum control_cmd {
    CONTROL_PROVISION, /* personalize the DUT in a site */
    CONTROL_ABORT,     /* end a site's DUT at its next wait */
    CONTROL_STATUS,    /* the daemon, its sites and spool */
    CONTROL_SITES,     /* the configured sites */
    CONTROL_SKUS,      /* the SKUs in the SKU directory */
    CONTROL_RELOAD,    /* read the configuration, SKUs and plugins again */
    CONTROL_RECORDS,   /* recent results */
};

/* The DIN ("Y<year>W<week>L<lot>F<wafer>X<x>Y<y>") of a provision request. */
struct control_din {
    unsigned year;  /* 0..9 */
    unsigned week;  /* 0..51 */
    unsigned lot;   /* 0..999 */
    unsigned wafer; /* 0..99 */
    unsigned x, y;  /* 0..999 */
};

struct control_request {
    enum control_cmd cmd;
    char id[CONTROL_ID_MAX + 1]; /* echoed in every reply to it; "" when absent */
    /* provision, abort */
    char site[32];
    /* provision */
    char sku[64];
    char request_id[CONTROL_ID_MAX + 1]; /* "" when absent; makes provision idempotent */
    struct control_din din;              /* all 0 when absent */
    bool benchtop;
    /* records */
    char device_id[80]; /* "" = any; else the registry's form 0x + 64 hex digits */
    unsigned limit;     /* 1..CONTROL_RECORDS_MAX, default 20 */
};

/* Parses one request line (len bytes, no newline). On error *req->id is still filled when
 * the line had a usable "id", so the error can be addressed. */
int control_request_parse(const char *line, size_t len, struct control_request *req,
                          struct ft_error *err);

/* The request's command name as on the wire ("provision", ...). */
const char *control_cmd_name(enum control_cmd cmd);

#endif
