/* The processes the supervisor starts by exec: one site worker per site, which
 * personalizes that site's DUTs one at a time, and the uploader, which drains the
 * registration spool. Each talks to the supervisor over the SOCK_SEQPACKET `fd`
 * (daemon/site_msg.h) and ends when it closes. */
#ifndef FTHARNESS_DAEMON_WORKER_H
#define FTHARNESS_DAEMON_WORKER_H

#include "daemon/station_config.h"

/* Runs site `site` of `cfg` until the supervisor goes away or SIGTERM; SIGUSR1 aborts the
 * DUT in progress at its next wait. Returns the process exit status. */
int worker_main(const struct station_config *cfg, int site, int fd);

/* Registers the spooled records (one file per PASS, removed once registered) with back-off;
 * ends like a worker. */
int uploader_main(const struct station_config *cfg, int fd);

/* The default directories of an installed ftharness, where the configuration leaves them
 * out: SKU files, plugins, the plugin runner. */
void worker_resolve_paths(const struct station_config *cfg, char *sku_dir, char *plugin_dir,
                          char *runner, size_t size);

/* The service options of the configuration for `user_id`. */
struct pa_client_options;
void worker_pa_options(const struct station_config *cfg, const char *user_id,
                       struct pa_client_options *po);

#endif
