#include "flow/flow_journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/fdio.h"
#include "common/trust.h"
#include "flow/flow.h"
#include "wire/device_id.h"

#define RECORD_MAX (1u << 20) /* a record is a few tens of KiB */

int flow_journal_open(struct flow_journal *j, const char *dir, struct ft_error *err)
{
    memset(j, 0, sizeof(*j));
    j->dirfd = -1;
    char label[PATH_MAX + 32];
    snprintf(label, sizeof(label), "record dir %s", dir);
    if (trust_check_path(label, dir, j->dir, FT_E_INVALID, err) != 0)
        return -1;
    j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dirfd < 0 || faccessat(j->dirfd, ".", W_OK, AT_EACCESS) != 0) {
        int e = errno;
        flow_journal_close(j);
        return ft_fail(err, FT_E_INVALID, "record dir %s: %s", dir, strerror(e));
    }
    return 0;
}

void flow_journal_close(struct flow_journal *j)
{
    if (j->dirfd >= 0)
        close(j->dirfd);
    j->dirfd = -1;
}

int flow_journal_persist(void *arg, const struct flow_record *rec, struct ft_error *err)
{
    struct flow_journal *j = arg;
    if (j->name[0] == '\0')
        snprintf(j->name, sizeof(j->name), "%lld-%ld.json", (long long)rec->start_ms,
                 (long)getpid());
    char *text = flow_record_json(rec, true);
    if (text == NULL)
        return ft_fail(err, FT_E_NOMEM, "cannot encode the device record");
    char tmp[sizeof(j->name) + 8];
    snprintf(tmp, sizeof(tmp), ".%s.tmp", j->name);
    /* 0600: the record holds the wrapped RMA seed. */
    int fd = openat(j->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd >= 0 && fd_write_all(fd, text, strlen(text)) == 0 &&
                     fd_write_all(fd, "\n", 1) == 0 && fsync(fd) == 0
                 ? 0
                 : -1;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && (renameat(j->dirfd, tmp, j->dirfd, j->name) != 0 || fsync(j->dirfd) != 0)) {
        rc = -1;
        e = errno;
    }
    free(text);
    if (rc != 0) {
        unlinkat(j->dirfd, tmp, 0);
        return ft_fail(err, FT_E_INVALID, "cannot write %s/%s: %s", j->dir, j->name, strerror(e));
    }
    return 0;
}

char *flow_journal_read(const char *path, struct ft_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        ft_fail(err, FT_E_INVALID, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(RECORD_MAX + 1);
    size_t n = text ? fread(text, 1, RECORD_MAX + 1, f) : 0;
    fclose(f);
    if (text == NULL || n > RECORD_MAX) {
        ft_fail(err, FT_E_INVALID, "%s: larger than %u bytes", path, RECORD_MAX);
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* A record names the chip of this run: by device ID, or, for a run stopped before the
 * chip sent its ID (killed right after the RMA token hash), by the tester's DIN and SKU. */
static bool same_chip(json_t *doc, const char *want, const struct flow_record *rec)
{
    const char *id = json_string_value(json_object_get(doc, "device_id"));
    if (id != NULL && id[0] != '\0')
        return strcmp(id, want) == 0;
    const char *din = json_string_value(json_object_get(doc, "din"));
    const char *sku = json_string_value(json_object_get(doc, "sku"));
    return rec->din[0] != '\0' && din != NULL && sku != NULL && strcmp(din, rec->din) == 0 &&
           strcmp(sku, rec->sku) == 0;
}

/* The wrapped seed of the record at `name` when it is of this chip; 1 found, 0 not. */
static int seed_of(struct flow_journal *j, const char *name, const char *want,
                   const struct flow_record *rec, int64_t *start, uint8_t **seed, size_t *seed_len)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof(path), "%s/%s", j->dir, name);
    struct ft_error ignored = {0};
    char *text = flow_journal_read(path, &ignored);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    const char *b64 = json_string_value(json_object_get(doc, "rma_unlock_token"));
    int found = 0;
    if (b64 != NULL && same_chip(doc, want, rec)) {
        size_t len = strlen(b64);
        uint8_t *buf = malloc(len);
        size_t n = 0;
        if (buf != NULL && base64_decode(b64, len, buf, len, &n, &ignored) == 0 && n > 0) {
            *start = json_integer_value(json_object_get(doc, "start_time_ms"));
            *seed = buf;
            *seed_len = n;
            found = 1;
        } else {
            free(buf);
        }
    }
    json_decref(doc);
    return found;
}

int flow_journal_find(void *arg, const uint8_t device_id[32], struct flow_record *into,
                      struct ft_error *err)
{
    struct flow_journal *j = arg;
    char want[DEVICE_ID_STRING_LEN + 1];
    device_id_to_string(device_id, want);
    DIR *d = opendir(j->dir);
    if (d == NULL)
        return ft_fail(err, FT_E_INVALID, "record dir %s: %s", j->dir, strerror(errno));
    int64_t best = -1;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 ||
            strcmp(e->d_name, j->name) == 0)
            continue;
        int64_t start = 0;
        uint8_t *seed = NULL;
        size_t len = 0;
        if (seed_of(j, e->d_name, want, into, &start, &seed, &len) != 1)
            continue;
        if (start > best) {
            best = start;
            free(into->wrapped_rma_seed);
            into->wrapped_rma_seed = seed;
            into->wrapped_rma_seed_len = len;
            snprintf(into->earlier_record, sizeof(into->earlier_record), "%.200s", e->d_name);
        } else {
            free(seed);
        }
    }
    closedir(d);
    return best >= 0 ? 1 : 0;
}
