/* The endorsement service's device registry: one row per device ID holding the signed
 * RegistryRecord, in SQLite (WAL, synchronous=FULL: a record acknowledged to a tester is
 * on disk). Registering the same device with the same DeviceData bytes again succeeds (a
 * retry after a lost reply); different bytes are a conflict. */
#ifndef FTHARNESS_PA_PA_REGISTRY_H
#define FTHARNESS_PA_PA_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct pa_registry;

enum pa_registry_outcome {
    PA_REGISTRY_INSERTED,
    PA_REGISTRY_SAME,     /* already there with identical data: success */
    PA_REGISTRY_CONFLICT, /* already there with different data */
};

/* Opens (creating if needed) the database at `path`. */
int pa_registry_open(const char *path, struct pa_registry **out, struct ft_error *err);
void pa_registry_close(struct pa_registry *reg);

/* Stores a record unless the device is already registered. `data` is the marshalled
 * DeviceData the record signs; `record_json` the RegistryRecord as exported. */
int pa_registry_put(struct pa_registry *reg, const char *device_id, const char *sku,
                    const uint8_t *data, size_t data_len, const char *record_json,
                    enum pa_registry_outcome *outcome, struct ft_error *err);

/* Looks a device up: 1 and a NEW string in *record_json (free()) when found, 0 when not. */
int pa_registry_get(struct pa_registry *reg, const char *device_id, char **record_json,
                    int64_t *created_ms, struct ft_error *err);

/* One stored row, BORROWED for the duration of the callback. */
struct pa_registry_row {
    int64_t seq; /* registration order */
    const char *device_id;
    const char *sku;
    const char *record_json; /* the RegistryRecord as stored (proto3 JSON) */
    int64_t created_ms;
};

/* Returns 0 to go on, -1 (with *err filled) to stop the walk. */
typedef int (*pa_registry_row_fn)(void *arg, const struct pa_registry_row *row,
                                  struct ft_error *err);

/* Calls `fn` for every record in registration order; *count is the number of rows given
 * to it. A row SQLite cannot hand over whole (a NULL column) is an error naming its seq. */
int pa_registry_each(struct pa_registry *reg, pa_registry_row_fn fn, void *arg, size_t *count,
                     struct ft_error *err);

#endif
