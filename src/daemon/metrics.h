/* What the daemon shows on `metrics.listen`, served by libmicrohttpd from its own thread:
 * GET /metrics (Prometheus text format 0.0.4), GET /status.json and the status page at
 * GET / that draws it. The supervisor's loop records into them under a mutex; a request
 * renders them under the same mutex. docs/ftharnessd.md, "Metrics" and "Status page". */
#ifndef FTHARNESS_DAEMON_METRICS_H
#define FTHARNESS_DAEMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "daemon/station_config.h"

struct metrics;

/* Starts serving on cfg->metrics_listen ("HOST:PORT", HOST numeric, [v6] in brackets). */
struct metrics *metrics_start(const struct station_config *cfg, struct ft_error *err);
void metrics_stop(struct metrics *m);

/* A DUT's step ended on site `site` after `seconds`. */
void metrics_step(struct metrics *m, size_t site, const char *step, double seconds);
/* A DUT ended on `site` with `exit_class` (0..7); `device` is its ID or "". */
void metrics_result(struct metrics *m, size_t site, const char *sku, int exit_class, double seconds,
                    const char *device);
/* A site's state: up (its worker answers), busy (a DUT in flight), restarts so far. */
void metrics_site(struct metrics *m, size_t site, bool up, bool busy, unsigned restarts);
void metrics_spool(struct metrics *m, uint64_t depth, double oldest_age_s, uint64_t rejected);
/* A call to the endorsement service by a worker or the uploader, and the sessions a
 * site's worker opened. */
void metrics_rpc(struct metrics *m, const char *rpc, double seconds, bool ok);
void metrics_sessions(struct metrics *m, size_t site, uint64_t sessions);

#endif
