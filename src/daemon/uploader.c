/* The uploader: RegisterDevice for every record in the spool, oldest first, removing each
 * entry once the service has it. RegisterDevice is idempotent at the service (the same
 * record again succeeds), so an entry registered but not yet removed when the process died
 * is simply sent again. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/rpc_log.h"
#include "daemon/site_msg.h"
#include "daemon/worker.h"
#include "flow/flow.h"
#include "flow/flow_journal.h"
#include "station/station_inputs.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

struct uploader {
    const struct station_config *cfg;
    int fd, dirfd;
    struct pa_client *pa;
    char *password;
    char session_sku[64]; /* the SKU of the open session, "" for none */
    struct rpc_log rpcs;  /* service calls since the last report (metrics) */
};

struct entry {
    char name[256];
    int64_t mtime_ms;
};

static int by_age(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return x->mtime_ms < y->mtime_ms ? -1 : x->mtime_ms > y->mtime_ms;
}

/* The spool's entries, oldest first (NEW array). */
static struct entry *scan(struct uploader *u, size_t *count)
{
    *count = 0;
    int fd = openat(u->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    struct entry *list = NULL;
    size_t cap = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        struct stat st;
        if (e->d_name[0] == '.' || n < 6 || n >= sizeof(list->name) ||
            strcmp(e->d_name + n - 5, ".json") != 0 ||
            fstatat(u->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (*count == cap) {
            struct entry *grown = realloc(list, (cap = cap ? cap * 2 : 64) * sizeof(*list));
            if (grown == NULL)
                break;
            list = grown;
        }
        memcpy(list[*count].name, e->d_name, n + 1);
        list[*count].mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        (*count)++;
    }
    closedir(d);
    if (list != NULL)
        qsort(list, *count, sizeof(*list), by_age);
    return list;
}

static int remove_entry(struct uploader *u, const char *name, struct ft_error *err);

static int register_entry(struct uploader *u, const char *name, struct ft_error *err)
{
    char path[4096 + 256];
    snprintf(path, sizeof(path), "%s/%s", u->cfg->spool_dir, name);
    char *text = flow_journal_read(path, err);
    struct flow_record rec = {0};
    int rc = text == NULL || flow_record_parse(text, strlen(text), &rec, err) != 0 ? -1 : 0;
    free(text);
    if (rc != 0)
        return ft_error_prefix(err, "spool entry %s", name);
    if (strcmp(u->session_sku, rec.sku) != 0) {
        u->session_sku[0] = '\0';
        rc = flow_session_init(u->pa, rec.sku, u->password, err);
        if (rc == 0)
            snprintf(u->session_sku, sizeof(u->session_sku), "%s", rec.sku);
    }
    if (rc == 0 && (rc = flow_register(u->pa, &rec, err)) != 0)
        u->session_sku[0] = '\0'; /* the session may be gone: open it again next time */
    flow_record_free(&rec);
    if (rc != 0)
        return ft_error_prefix(err, "register %s", name);
    return remove_entry(u, name, err);
}

/* A refusal no retry can change: the service holds other data for the device, or the
 * entry does not parse. It moves aside (spool/rejected/) so the entries behind it go on,
 * and stays there for a person: the chip is personalized but not registered. */
static bool permanent(const struct ft_error *err)
{
    return err->code == FT_E_INVALID || err->code == FT_E_TRUNCATED || err->code == FT_E_RANGE ||
           (err->code == FT_E_REMOTE && (strstr(err->message, "ALREADY_EXISTS") != NULL ||
                                         strstr(err->message, "INVALID_ARGUMENT") != NULL ||
                                         strstr(err->message, "FAILED_PRECONDITION") != NULL));
}

static int reject_entry(struct uploader *u, const char *name, const struct ft_error *why)
{
    fprintf(stderr, "<3>uploader: %s moved to %s/rejected: %s\n", name, u->cfg->spool_dir,
            why->message);
    if (mkdirat(u->dirfd, "rejected", 0700) != 0 && errno != EEXIST)
        return -1;
    int rejected = openat(u->dirfd, "rejected", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = rejected >= 0 && renameat(u->dirfd, name, rejected, name) == 0 &&
                     fsync(rejected) == 0 && fsync(u->dirfd) == 0
                 ? 0
                 : -1;
    if (rejected >= 0)
        close(rejected);
    return rc;
}

static int remove_entry(struct uploader *u, const char *name, struct ft_error *err)
{
    if (unlinkat(u->dirfd, name, 0) != 0 || fsync(u->dirfd) != 0)
        return ft_fail(err, FT_E_INVALID, "spool %s: cannot remove %s: %s", u->cfg->spool_dir, name,
                       strerror(errno));
    return 0;
}

/* One pass over the spool; returns the number of entries left. */
static size_t drain(struct uploader *u, struct ft_error *err)
{
    size_t count;
    struct entry *list = scan(u, &count);
    size_t i = 0;
    while (i < count && !stopping) {
        ft_error_clear(err);
        if (register_entry(u, list[i].name, err) != 0 &&
            !(permanent(err) && reject_entry(u, list[i].name, err) == 0))
            break; /* the service is away: back off, the order kept */
        i++;
    }
    json_t *msg = json_pack("{s:s, s:I, s:I, s:s}", "t", "spool", "depth", (json_int_t)(count - i),
                            "oldest_ms", (json_int_t)(i < count ? list[i].mtime_ms : 0), "error",
                            i < count ? err->message : "");
    if (msg != NULL)
        json_object_set_new(msg, "rpcs", rpc_log_take(&u->rpcs));
    site_msg_send(u->fd, msg, NULL);
    free(list);
    return count - i;
}

int uploader_main(const struct station_config *cfg, int fd)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    struct uploader u = {.cfg = cfg, .fd = fd, .dirfd = -1};
    struct ft_error err = {0};
    char host[64] = "localhost", user[128];
    gethostname(host, sizeof(host) - 1);
    snprintf(user, sizeof(user), "%.64s/uploader", host);
    rpc_log_init(&u.rpcs);
    struct pa_client_options po;
    worker_pa_options(cfg, user, &po);
    po.on_call = rpc_log_on_call;
    po.on_call_arg = &u.rpcs;
    int status = 0;
    if ((u.dirfd = open(cfg->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "<3>uploader: spool_dir %s: %s\n", cfg->spool_dir, strerror(errno));
        status = 2;
    } else if ((u.password = station_read_password("service.password_file",
                                                   cfg->service.password_file, &err)) == NULL ||
               pa_client_global_init(&err) != 0 || (u.pa = pa_client_new(&po, &err)) == NULL) {
        fprintf(stderr, "<3>uploader: %s\n", err.message);
        status = 2;
    }
    if (status == 0 && site_msg_send(fd, json_pack("{s:s}", "t", "ready"), &err) != 0)
        status = 1;
    long backoff = BACKOFF_MIN_MS;
    char buf[SITE_MSG_MAX + 1];
    bool kicked = true;
    while (status == 0 && !stopping) {
        int wait_ms = -1;
        if (kicked) {
            ft_error_clear(&err);
            size_t left = drain(&u, &err);
            if (left > 0) {
                wait_ms = (int)backoff;
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            } else {
                backoff = BACKOFF_MIN_MS;
            }
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, wait_ms);
        kicked = n == 0; /* the back-off ended: try again */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n > 0) {
            ssize_t got = recv(fd, buf, sizeof(buf), 0);
            if (got <= 0 && !(got < 0 && errno == EINTR))
                break; /* the supervisor is gone */
            kicked = got > 0;
        }
    }
    pa_client_free(u.pa);
    if (u.password != NULL)
        memset(u.password, 0, strlen(u.password));
    free(u.password);
    if (u.dirfd >= 0)
        close(u.dirfd);
    rpc_log_destroy(&u.rpcs);
    return status;
}
