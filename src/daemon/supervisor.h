/* The supervisor: the control socket, one worker process per site and the uploader,
 * restarts with back-off, the DUT deadline, reload, drain on SIGTERM and sd_notify. */
#ifndef FTHARNESS_DAEMON_SUPERVISOR_H
#define FTHARNESS_DAEMON_SUPERVISOR_H

#include "daemon/station_config.h"

/* Runs until SIGTERM or SIGINT and the drain that follows. `config_path` (absolute) is
 * what workers and reload read; `self` is this program, exec'd for each worker. */
int supervisor_main(const char *config_path, const char *self, struct station_config *cfg);

#endif
