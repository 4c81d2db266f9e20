#include "pa/pa_registry.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct pa_registry {
    sqlite3 *db;
    pthread_mutex_t lock; /* one writer at a time; SQLite serializes too, this keeps the
                             read-compare-insert of pa_registry_put atomic */
};

static int db_fail(struct pa_registry *reg, const char *what, struct ft_error *err)
{
    return ft_fail(err, FT_E_INVALID, "registry: %s: %s", what, sqlite3_errmsg(reg->db));
}

static int exec(struct pa_registry *reg, const char *sql, struct ft_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(reg->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ft_fail(err, FT_E_INVALID, "registry: %s: %s", sql, msg ? msg : "failed");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int pa_registry_open(const char *path, struct pa_registry **out, struct ft_error *err)
{
    struct pa_registry *reg = calloc(1, sizeof(*reg));
    if (reg == NULL)
        return ft_fail(err, FT_E_NOMEM, "registry: out of memory");
    pthread_mutex_init(&reg->lock, NULL);
    /* Records name devices and hold wrapped RMA seeds: 0600 whatever the umask. SQLite
     * gives the -wal and -shm files the mode of the database file. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        ft_fail(err, FT_E_INVALID, "registry: cannot create %s with mode 0600: %s", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        pa_registry_close(reg);
        return -1;
    }
    close(fd);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &reg->db, flags, NULL) != SQLITE_OK) {
        ft_fail(err, FT_E_INVALID, "registry: cannot open %s: %s", path,
                reg->db ? sqlite3_errmsg(reg->db) : "out of memory");
        pa_registry_close(reg);
        return -1;
    }
    sqlite3_busy_timeout(reg->db, 5000);
    if (exec(reg, "PRAGMA journal_mode=WAL", err) != 0 ||
        exec(reg, "PRAGMA synchronous=FULL", err) != 0 ||
        exec(reg,
             "CREATE TABLE IF NOT EXISTS registry ("
             " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
             " device_id TEXT NOT NULL UNIQUE,"
             " sku TEXT NOT NULL,"
             " data BLOB NOT NULL,"
             " record TEXT NOT NULL,"
             " created_ms INTEGER NOT NULL)",
             err) != 0) {
        ft_error_prefix(err, "%s", path);
        pa_registry_close(reg);
        return -1;
    }
    *out = reg;
    return 0;
}

void pa_registry_close(struct pa_registry *reg)
{
    if (reg == NULL)
        return;
    sqlite3_close(reg->db);
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 and the stored data compared with `data` when the device exists, 0 when not. */
static int find_existing(struct pa_registry *reg, const char *device_id, const uint8_t *data,
                         size_t data_len, bool *same, struct ft_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(reg->db, "SELECT data FROM registry WHERE device_id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(reg, "lookup", err);
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int found = 0;
    if (rc == SQLITE_ROW) {
        const void *stored = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        *same = n == data_len && (n == 0 || memcmp(stored, data, n) == 0);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = db_fail(reg, "lookup", err);
    }
    sqlite3_finalize(st);
    return found;
}

int pa_registry_put(struct pa_registry *reg, const char *device_id, const char *sku,
                    const uint8_t *data, size_t data_len, const char *record_json,
                    enum pa_registry_outcome *outcome, struct ft_error *err)
{
    pthread_mutex_lock(&reg->lock);
    bool same = false;
    int rc = find_existing(reg, device_id, data, data_len, &same, err);
    if (rc == 1) {
        *outcome = same ? PA_REGISTRY_SAME : PA_REGISTRY_CONFLICT;
        rc = 0;
        goto done;
    }
    if (rc < 0)
        goto done;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(reg->db,
                           "INSERT INTO registry (device_id, sku, data, record, created_ms)"
                           " VALUES (?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(reg, "insert", err);
        goto done;
    }
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sku, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, data, (int)data_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, record_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now_ms());
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(reg, "insert", err);
    sqlite3_finalize(st);
    if (rc == 0)
        *outcome = PA_REGISTRY_INSERTED;
done:
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

int pa_registry_get(struct pa_registry *reg, const char *device_id, char **record_json,
                    int64_t *created_ms, struct ft_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(reg->db, "SELECT record, created_ms FROM registry WHERE device_id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(reg, "lookup", err);
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int found = 0;
    if (rc == SQLITE_ROW) {
        *record_json = strdup((const char *)sqlite3_column_text(st, 0));
        *created_ms = sqlite3_column_int64(st, 1);
        found = *record_json ? 1 : ft_fail(err, FT_E_NOMEM, "registry: out of memory");
    } else if (rc != SQLITE_DONE) {
        found = db_fail(reg, "lookup", err);
    }
    sqlite3_finalize(st);
    return found;
}

int pa_registry_each(struct pa_registry *reg, pa_registry_row_fn fn, void *arg, size_t *count,
                     struct ft_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(reg->db,
                           "SELECT seq, device_id, sku, record, created_ms FROM registry"
                           " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(reg, "export", err);
    *count = 0;
    int rc = SQLITE_DONE, status = 0;
    while (status == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct pa_registry_row row = {
            .seq = sqlite3_column_int64(st, 0),
            .device_id = (const char *)sqlite3_column_text(st, 1),
            .sku = (const char *)sqlite3_column_text(st, 2),
            .record_json = (const char *)sqlite3_column_text(st, 3),
            .created_ms = sqlite3_column_int64(st, 4),
        };
        /* NOT NULL columns come back NULL only when SQLite runs out of memory. */
        if (row.device_id == NULL || row.sku == NULL || row.record_json == NULL)
            status = ft_fail(err, FT_E_NOMEM, "registry export: row %lld: cannot read it",
                             (long long)row.seq);
        else if ((status = fn(arg, &row, err)) == 0)
            (*count)++;
    }
    if (status == 0 && rc != SQLITE_DONE)
        status = db_fail(reg, "export", err);
    sqlite3_finalize(st);
    return status;
}
