#include "daemon/rpc_log.h"

#include <stdio.h>
#include <string.h>

void rpc_log_init(struct rpc_log *l)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
}

void rpc_log_destroy(struct rpc_log *l)
{
    pthread_mutex_destroy(&l->lock);
}

void rpc_log_on_call(void *arg, const char *rpc, double seconds, bool ok)
{
    struct rpc_log *l = arg;
    pthread_mutex_lock(&l->lock);
    if (l->n < RPC_LOG_MAX) {
        snprintf(l->obs[l->n].rpc, sizeof(l->obs[l->n].rpc), "%s", rpc);
        l->obs[l->n].seconds = seconds;
        l->obs[l->n].ok = ok;
        l->n++;
    }
    pthread_mutex_unlock(&l->lock);
}

json_t *rpc_log_take(struct rpc_log *l)
{
    json_t *calls = json_array();
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(
            calls, json_pack("[s, f, b]", l->obs[i].rpc, l->obs[i].seconds, l->obs[i].ok));
    l->n = 0;
    pthread_mutex_unlock(&l->lock);
    return calls;
}

static bool rpc_name_ok(const char *s, size_t len)
{
    if (len == 0 || len >= RPC_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
            return false;
    return true;
}

int rpc_log_parse(const json_t *array, struct rpc_obs *obs, size_t *n)
{
    *n = 0;
    if (!json_is_array(array) || json_array_size(array) > RPC_LOG_MAX)
        return -1;
    for (size_t i = 0; i < json_array_size(array); i++) {
        json_t *c = json_array_get(array, i);
        json_t *name = json_array_get(c, 0), *seconds = json_array_get(c, 1),
               *ok = json_array_get(c, 2);
        if (!json_is_array(c) || json_array_size(c) != 3 || !json_is_string(name) ||
            !rpc_name_ok(json_string_value(name), json_string_length(name)) ||
            !json_is_number(seconds) || !(json_number_value(seconds) >= 0) ||
            json_number_value(seconds) > 1e6 || !json_is_boolean(ok))
            return -1;
        memcpy(obs[i].rpc, json_string_value(name), json_string_length(name) + 1);
        obs[i].seconds = json_number_value(seconds);
        obs[i].ok = json_is_true(ok);
        (*n)++;
    }
    return 0;
}
