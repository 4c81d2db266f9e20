/* ftharnessd.json, the station configuration (docs/ftharnessd.md): the sites with their
 * links, the endorsement service and its TLS, the directories, the control socket and
 * the metrics address. Parsed strictly: an unknown key, a wrong type or a value out of
 * range is an error naming its JSON path ("sites[2].console: ..."). */
#ifndef FTHARNESS_DAEMON_STATION_CONFIG_H
#define FTHARNESS_DAEMON_STATION_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define STATION_SITES_MAX 32u
#define STATION_NAME_MAX 32u  /* site names: 1..31 of [a-z0-9_-], unique */
#define STATION_SPEC_MAX 256u /* console and boot UART specs, as `ftharness run` takes them */
#define STATION_PATH_MAX 256u
#define STATION_CONFIG_MAX (1u << 20) /* bytes of ftharnessd.json */

struct station_site {
    char name[STATION_NAME_MAX];
    char console[STATION_SPEC_MAX];   /* required: uart:, spi-sim:, uart-sim:, ftdi:, ftdi-uart: */
    char boot_uart[STATION_SPEC_MAX]; /* "" when none; uart: or ftdi-uart: */
    char user_id[128];                /* the service's session key; "" = "<hostname>/<name>" */
    bool reset;                       /* pulse RESET_N before each DUT */
};

struct station_service {
    char url[STATION_PATH_MAX];       /* required: http:// or https:// */
    char ca_file[STATION_PATH_MAX];   /* "" = none; only with https */
    char cert_file[STATION_PATH_MAX]; /* client certificate; with key_file */
    char key_file[STATION_PATH_MAX];
    char pin[STATION_PATH_MAX];           /* "sha256//B64[;sha256//B64...]" or "" */
    char password_file[STATION_PATH_MAX]; /* required: the SKU password */
    bool register_sync;                   /* RegisterDevice before PASS instead of from the spool */
};

struct station_config {
    struct station_site sites[STATION_SITES_MAX];
    size_t n_sites; /* 1..STATION_SITES_MAX */
    struct station_service service;
    char sku_dir[STATION_PATH_MAX];        /* "" = the installed default */
    char plugin_dir[STATION_PATH_MAX];     /* "" = the installed default */
    char runner[STATION_PATH_MAX];         /* plugin runner; "" = the installed default */
    char record_dir[STATION_PATH_MAX];     /* required: device records (the journal) */
    char spool_dir[STATION_PATH_MAX];      /* "" = "<record_dir>/spool" */
    char control_socket[STATION_PATH_MAX]; /* required: absolute path */
    char control_group[64];                /* "" = the daemon's own group */
    char metrics_listen[64];               /* "ADDR:PORT" or "" for none */
    unsigned dut_deadline_s;     /* a DUT longer than this kills its worker; default 600 */
    unsigned plugin_deadline_ms; /* per plugin call; default 5000 */
    double timeout_scale;        /* multiplies every SKU deadline; default 1.0, (0, 100] */
};

/* Parses the JSON text (len bytes, no terminator needed). `where` names the file in
 * messages. On error *cfg is unspecified and err says what and where. */
int station_config_parse(const char *where, const char *text, size_t len,
                         struct station_config *cfg, struct ft_error *err);

/* Reads and parses the file at `path` (at most STATION_CONFIG_MAX bytes). */
int station_config_load(const char *path, struct station_config *cfg, struct ft_error *err);

/* The index of the site called `name`, or -1. */
int station_config_find_site(const struct station_config *cfg, const char *name);

#endif
