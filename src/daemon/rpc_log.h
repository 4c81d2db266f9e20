/* The endorsement-service calls a worker or the uploader made since it last reported:
 * each RPC's name, wall time and outcome, collected by pa_client's on_call hook (from the
 * process's threads) and sent to the supervisor with the next result for the metrics. */
#ifndef FTHARNESS_DAEMON_RPC_LOG_H
#define FTHARNESS_DAEMON_RPC_LOG_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define RPC_LOG_MAX 32u  /* calls kept between two reports; more are dropped */
#define RPC_NAME_MAX 32u /* an RPC name: 1..31 letters */

struct rpc_obs {
    char rpc[RPC_NAME_MAX];
    double seconds;
    bool ok;
};

struct rpc_log {
    pthread_mutex_t lock;
    struct rpc_obs obs[RPC_LOG_MAX];
    size_t n;
};

void rpc_log_init(struct rpc_log *l);
void rpc_log_destroy(struct rpc_log *l);

/* pa_client_options.on_call, with `arg` the log. */
void rpc_log_on_call(void *arg, const char *rpc, double seconds, bool ok);

/* The calls so far as a NEW JSON array of [rpc, seconds, ok]; the log starts over. */
json_t *rpc_log_take(struct rpc_log *l);

/* Reads such an array (outside input: checked) into obs[RPC_LOG_MAX]; -1 when malformed. */
int rpc_log_parse(const json_t *array, struct rpc_obs *obs, size_t *n);

#endif
