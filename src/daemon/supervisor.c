/* The supervisor does no chip, plugin or network work itself: it routes control requests
 * to site workers, watches them and answers. Everything runs in one poll loop (signals
 * through a signalfd), so no state is shared between threads. */
#define _GNU_SOURCE
#include "daemon/supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/version.h"
#include "daemon/control_proto.h"
#include "daemon/dut_marker.h"
#include "daemon/metrics.h"
#include "daemon/sd_notify.h"
#include "daemon/site_msg.h"
#include "daemon/worker.h"
#include "flow/flow_journal.h"
#include "station/station_inputs.h"

#define CLIENTS_MAX 64
#define CLIENT_OUT_MAX (8u << 20) /* a client that reads nothing is dropped past this */
#define RECENT_MAX 1000
#define REQUESTS_MAX 10000 /* request ids remembered for idempotency */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

/* A child process: a site worker or the uploader. */
struct child {
    pid_t pid; /* 0: not running */
    int fd;    /* the SOCK_SEQPACKET channel; -1 when closed */
    bool ready;
    unsigned restarts;
    unsigned backoff_ms;
    int64_t restart_at_ms;  /* 0: none scheduled */
    bool restart_when_idle; /* reload: a new worker after the DUT in flight */
    char why_down[256];     /* why the last one ended ("" if it never did) */
};

struct site {
    struct child child;
    bool busy;
    uint64_t client_serial; /* who asked for the DUT in flight (0: nobody listens) */
    char id[CONTROL_ID_MAX + 1], request_id[CONTROL_ID_MAX + 1], sku[64];
    int64_t started_ms;
    char last_step[32];
    bool deadline_killed, abort_sent;
    unsigned long passes, fails;
};

struct client {
    int fd;
    uint64_t serial;
    char *in;
    size_t in_len;
    bool discarding; /* the line in progress is over CONTROL_LINE_MAX: skip to its end */
    char *out;
    size_t out_len;
};

/* Requests with a request_id: running on a site, or done with their result. */
struct request {
    char request_id[CONTROL_ID_MAX + 1];
    int site; /* running there; -1 when done */
    json_t *result;
};

struct sup {
    const char *config_path, *self;
    struct station_config *cfg;
    struct site sites[STATION_SITES_MAX];
    struct child uploader;
    uint64_t spool_depth, spool_rejected;
    int64_t spool_oldest_ms;
    char spool_error[512];
    struct client clients[CLIENTS_MAX];
    uint64_t next_serial;
    int listen_fd, sig_fd;
    int record_dirfd;
    bool draining;
    int64_t started_ms;
    json_t *recent[RECENT_MAX]; /* results, oldest overwritten first */
    size_t recent_next, recent_count;
    struct request *requests;
    size_t n_requests, cap_requests;
    struct sd_notify notify;
    struct metrics *metrics; /* NULL without metrics.listen */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void spool_scan(struct sup *s);
static void recover_site(struct sup *s, int index);

/* ---- clients -------------------------------------------------------------------------- */

static struct client *client_by_serial(struct sup *s, uint64_t serial)
{
    for (size_t i = 0; serial != 0 && i < CLIENTS_MAX; i++)
        if (s->clients[i].fd >= 0 && s->clients[i].serial == serial)
            return &s->clients[i];
    return NULL;
}

static void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c->out);
    *c = (struct client){.fd = -1};
}

static void client_flush(struct client *c)
{
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            client_close(c);
            return;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
}

/* Queues one event line for the client (the object is stolen), with the request's id. */
static void send_event(struct client *c, const char *id, json_t *event)
{
    if (c == NULL || c->fd < 0 || event == NULL) {
        json_decref(event);
        return;
    }
    json_object_set_new(event, "id", json_string(id));
    char *text = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    size_t len = text ? strlen(text) : 0;
    if (text == NULL || c->out_len + len + 1 > CLIENT_OUT_MAX) {
        free(text);
        fprintf(stderr, "<4>control: dropping a client that does not read its replies\n");
        client_close(c);
        return;
    }
    char *grown = realloc(c->out, c->out_len + len + 1);
    if (grown == NULL) {
        free(text);
        client_close(c);
        return;
    }
    c->out = grown;
    memcpy(c->out + c->out_len, text, len);
    c->out[c->out_len + len] = '\n';
    c->out_len += len + 1;
    free(text);
    client_flush(c);
}

static void send_error(struct client *c, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void send_error(struct client *c, const char *id, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    send_event(c, id, json_pack("{s:s, s:s}", "event", "error", "error", msg));
}

/* ---- children ------------------------------------------------------------------------- */

static void notify_status(struct sup *s)
{
    size_t busy = 0, ready = 0;
    for (size_t i = 0; i < s->cfg->n_sites; i++) {
        busy += s->sites[i].busy;
        ready += s->sites[i].child.ready;
    }
    for (size_t i = 0; i < s->cfg->n_sites; i++)
        metrics_site(s->metrics, i, s->sites[i].child.ready, s->sites[i].busy,
                     s->sites[i].child.restarts);
    char text[160];
    snprintf(text, sizeof(text), "STATUS=%s: %zu of %zu sites ready, %zu busy, spool %llu",
             s->draining ? "draining" : "running", ready, s->cfg->n_sites, busy,
             (unsigned long long)s->spool_depth);
    sd_notify_send(&s->notify, text);
}

/* Starts `self` as a worker for `site` (or the uploader for -1) on a new channel. */
static int spawn(struct sup *s, struct child *ch, int site)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* fd 3 across the exec (dup2 onto itself would keep FD_CLOEXEC). */
        if ((sv[1] == 3 ? fcntl(3, F_SETFD, 0) : dup2(sv[1], 3)) < 0)
            _exit(127);
        char *argv[] = {(char *)"ftharnessd",
                        (char *)"--config",
                        (char *)s->config_path,
                        site >= 0 ? (char *)"--site" : (char *)"--uploader",
                        site >= 0 ? s->cfg->sites[site].name : NULL,
                        NULL};
        execv(s->self, argv);
        _exit(127);
    }
    close(sv[1]);
    ch->pid = pid;
    ch->fd = sv[0];
    ch->ready = false;
    ch->restart_at_ms = 0;
    return 0;
}

static void schedule_restart(struct child *ch, const char *why)
{
    snprintf(ch->why_down, sizeof(ch->why_down), "%s", why);
    ch->backoff_ms = ch->backoff_ms ? ch->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (ch->backoff_ms > BACKOFF_MAX_MS)
        ch->backoff_ms = BACKOFF_MAX_MS;
    ch->restart_at_ms = now_ms() + ch->backoff_ms;
}

static void close_channel(struct child *ch)
{
    if (ch->fd >= 0)
        close(ch->fd);
    ch->fd = -1;
    ch->ready = false;
}

/* What is kept of a result: all but the record itself, which its file holds (a few KB
 * each, times RECENT_MAX, would be most of the supervisor's memory). */
static json_t *kept(json_t *result)
{
    json_t *copy = json_copy(result);
    json_object_del(copy, "record");
    return copy;
}

static void remember(struct sup *s, json_t *result)
{
    json_decref(s->recent[s->recent_next]);
    s->recent[s->recent_next] = kept(result);
    s->recent_next = (s->recent_next + 1) % RECENT_MAX;
    if (s->recent_count < RECENT_MAX)
        s->recent_count++;
}

static struct request *find_request(struct sup *s, const char *request_id)
{
    for (size_t i = 0; request_id[0] != '\0' && i < s->n_requests; i++)
        if (strcmp(s->requests[i].request_id, request_id) == 0)
            return &s->requests[i];
    return NULL;
}

/* The end of a site's DUT: the result goes to whoever asked, to `records` and to the
 * request's idempotency entry; the site is free again. */
static void finish_dut(struct sup *s, int index, json_t *result)
{
    struct site *site = &s->sites[index];
    const char *status = json_string_value(json_object_get(result, "status"));
    bool pass = status != NULL && strcmp(status, "PASS") == 0;
    pass ? site->passes++ : site->fails++;
    const char *device = json_string_value(json_object_get(result, "device_id"));
    const char *error = json_string_value(json_object_get(result, "error"));
    fprintf(stderr, "<%d>site %s: %s %s, device %s%s%s\n", pass ? 6 : 4, s->cfg->sites[index].name,
            site->sku, status ? status : "?", device && device[0] ? device : "unknown",
            pass ? "" : ": ", pass ? "" : error);
    json_object_set_new(result, "end_unix_ms", json_integer(wall_ms()));
    remember(s, result);
    json_t *cls = json_object_get(result, "exit_class");
    metrics_result(s->metrics, (size_t)index, site->sku,
                   json_is_integer(cls) ? (int)json_integer_value(cls) : STATION_EXIT_INTERNAL,
                   (double)(now_ms() - site->started_ms) / 1000.0, device ? device : "");
    struct request *r = find_request(s, site->request_id);
    /* A DUT refused before the chip was touched did nothing: its request id may run again. */
    const char *record_file = json_string_value(json_object_get(result, "record_file"));
    if (r != NULL && (record_file == NULL || record_file[0] == '\0')) {
        r->site = -1;
        r->request_id[0] = '\0';
    } else if (r != NULL) {
        r->site = -1;
        r->result = kept(result);
    }
    /* A copy goes out: the event gets the asker's id, the kept result does not. */
    send_event(client_by_serial(s, site->client_serial), site->id, json_copy(result));
    site->busy = false;
    site->client_serial = 0;
    notify_status(s);
}

static json_t *result_event(struct sup *s, int index, bool pass, int cls, const char *error,
                            const char *dut_state)
{
    struct site *site = &s->sites[index];
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:I}", "event", "result",
                     "site", s->cfg->sites[index].name, "sku", site->sku, "request_id",
                     site->request_id, "status", pass ? "PASS" : "FAIL", "exit_class", cls, "class",
                     station_exit_name((enum station_exit)cls), "error", error, "dut_state",
                     dut_state, "elapsed_ms", (json_int_t)(now_ms() - site->started_ms));
}

/* A PASS was spooled: the uploader registers it now rather than at its next back-off. */
static void kick_uploader(struct sup *s)
{
    if (!s->cfg->service.register_sync && s->uploader.fd >= 0)
        site_msg_send(s->uploader.fd, json_pack("{s:s}", "t", "kick"), NULL);
    if (s->metrics != NULL)
        spool_scan(s);
}

static void on_worker_result(struct sup *s, int index, struct site_msg *msg)
{
    json_t *ev = result_event(s, index, msg->pass, msg->exit_class, msg->error, msg->dut_state);
    json_object_set_new(ev, "device_id", json_string(msg->device_id));
    json_object_set_new(ev, "record_file", json_string(msg->record_file));
    if (msg->record != NULL)
        json_object_set(ev, "record", msg->record);
    s->sites[index].child.backoff_ms = 0; /* a worker that finishes DUTs is healthy */
    finish_dut(s, index, ev);
    json_decref(ev);
    if (msg->pass)
        kick_uploader(s);
}

static const char *member(json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

/* The chip's last known state, from the record a marker names ("" when unreadable). A
 * record its worker left RUNNING (killed, or stopped with the daemon) is closed here when
 * `why` is given: FAIL, the error saying why, the chip's state kept as it was written,
 * so the journal never claims a run still going. */
static void settle_record(struct sup *s, const char *record_file, const char *step, const char *why,
                          char *state, size_t state_size, char *device, size_t device_size)
{
    state[0] = device[0] = '\0';
    size_t n = strlen(record_file);
    if (n < 6 || n > 64 || strchr(record_file, '/') != NULL ||
        strcmp(record_file + n - 5, ".json") != 0)
        return;
    char path[4096 + 128];
    snprintf(path, sizeof(path), "%s/%s", s->cfg->record_dir, record_file);
    struct ft_error err = {0};
    char *text = flow_journal_read(path, &err);
    json_t *rec = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    snprintf(state, state_size, "%s", member(rec, "dut_state"));
    snprintf(device, device_size, "%s", member(rec, "device_id"));
    if (why != NULL && strcmp(member(rec, "status"), "RUNNING") == 0) {
        json_object_set_new(rec, "status", json_string("FAIL"));
        json_object_set_new(rec, "end_time_ms", json_integer(wall_ms()));
        json_object_set_new(rec, "error",
                            json_pack("{s:s, s:s, s:s, s:s}", "step", step, "code", "internal",
                                      "message", why, "dut_state", state));
        if (dut_marker_write(s->record_dirfd, ".", record_file, rec, &err) != 0)
            fprintf(stderr, "<3>%s: cannot close the record: %s\n", record_file, err.message);
    }
    json_decref(rec);
}

/* Makes a DUT's outcome durable as a worker leaves it, in its in-flight marker `m`
 * (borrowed): a request id sent again after a restart gets this answer from the request's
 * marker, and the in-flight marker goes, so the DUT is not reported a second time. */
static void settle_markers(struct sup *s, int index, json_t *m, const char *status, int exit_class,
                           const char *error, const char *state, const char *device)
{
    json_t *outcome =
        json_pack("{s:s, s:i, s:s, s:s, s:s}", "status", status, "exit_class", exit_class, "error",
                  error, "dut_state", state, "device_id", device);
    json_object_update(m, outcome);
    json_decref(outcome);
    char name[STATION_NAME_MAX + 8], request[DUT_MARKER_NAME_MAX];
    snprintf(name, sizeof(name), "%s.json", s->cfg->sites[index].name);
    const char *request_id = member(m, "request_id");
    dut_marker_request_name(request_id, request);
    struct ft_error err = {0};
    if ((request_id[0] != '\0' &&
         dut_marker_write(s->record_dirfd, "requests", request, m, &err) != 0) ||
        dut_marker_remove(s->record_dirfd, "inflight", name, &err) != 0)
        fprintf(stderr, "<3>site %s: %s\n", s->cfg->sites[index].name, err.message);
}

/* The record of the DUT a killed worker was running, closed by settle_record; its file
 * name comes from the worker's in-flight marker, if that marker is this worker's. */
static void killed_dut_record(struct sup *s, int index, pid_t pid, const char *step,
                              const char *why, char *record_file, size_t record_file_size,
                              char *state, size_t state_size, char *device, size_t device_size)
{
    char name[STATION_NAME_MAX + 8];
    snprintf(name, sizeof(name), "%s.json", s->cfg->sites[index].name);
    struct ft_error err = {0};
    json_t *m = dut_marker_read(s->record_dirfd, "inflight", name, &err);
    json_t *marker_pid = json_object_get(m, "pid");
    bool ours = json_is_integer(marker_pid) && json_integer_value(marker_pid) == (json_int_t)pid;
    snprintf(record_file, record_file_size, "%s", ours ? member(m, "record_file") : "");
    settle_record(s, record_file, step, why, state, state_size, device, device_size);
    if (ours)
        settle_markers(s, index, m, "FAIL", STATION_EXIT_INTERNAL, why, state, device);
    json_decref(m);
}

/* A child ended (waitpid status): a site's DUT in flight fails with the reason, and the
 * child is started again after its back-off unless the daemon is stopping. */
static void on_child_exit(struct sup *s, pid_t pid, int wstatus)
{
    char why[200];
    if (WIFSIGNALED(wstatus))
        snprintf(why, sizeof(why), "killed by signal %d (%s)", WTERMSIG(wstatus),
                 strsignal(WTERMSIG(wstatus)));
    else
        snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(wstatus));
    if (s->uploader.pid == pid) {
        s->uploader.pid = 0;
        close_channel(&s->uploader);
        if (!s->draining) {
            fprintf(stderr, "<3>uploader %s: restarting\n", why);
            schedule_restart(&s->uploader, why);
        }
        return;
    }
    for (size_t i = 0; i < s->cfg->n_sites; i++) {
        struct site *site = &s->sites[i];
        if (site->child.pid != pid)
            continue;
        site->child.pid = 0;
        close_channel(&site->child);
        bool planned = site->child.restart_when_idle && !site->busy;
        if (site->busy) {
            char error[512];
            const char *step = site->last_step[0] ? site->last_step : "its start";
            if (site->deadline_killed)
                snprintf(error, sizeof(error),
                         "the DUT ran past dut_deadline_s (%u s) after %s: its worker was killed",
                         s->cfg->dut_deadline_s, step);
            else
                snprintf(error, sizeof(error), "the site worker %s after %s", why, step);
            char state[512], device[80], record_file[80];
            killed_dut_record(s, (int)i, pid, step, error, record_file, sizeof(record_file), state,
                              sizeof(state), device, sizeof(device));
            json_t *ev =
                result_event(s, (int)i, false, STATION_EXIT_INTERNAL, error,
                             state[0] ? state : "unknown: no record of this DUT was written");
            json_object_set_new(ev, "device_id", json_string(device));
            json_object_set_new(ev, "record_file", json_string(record_file));
            finish_dut(s, (int)i, ev);
            json_decref(ev);
        }
        site->deadline_killed = false;
        site->child.restart_when_idle = false;
        if (s->draining)
            return;
        if (planned) {
            site->child.restart_at_ms = now_ms(); /* reload: at once, not degraded */
            site->child.why_down[0] = '\0';
        } else {
            fprintf(stderr, "<3>site %s: worker %s; degraded until it is back\n",
                    s->cfg->sites[i].name, why);
            schedule_restart(&site->child, why);
        }
        notify_status(s);
        return;
    }
}

static void on_child_message(struct sup *s, int index, struct child *ch)
{
    char *buf = malloc(SITE_MSG_MAX + 1);
    ssize_t n = buf ? recv(ch->fd, buf, SITE_MSG_MAX + 1, MSG_DONTWAIT) : -1;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        free(buf);
        return;
    }
    struct site_msg msg;
    struct ft_error err = {0};
    if (n <= 0 || site_msg_parse(buf, (size_t)n, &msg, &err) != 0) {
        /* A channel that ends or says something malformed: the child is done for. */
        if (n > 0)
            fprintf(stderr, "<3>%s %s: %s\n", index >= 0 ? "site" : "uploader",
                    index >= 0 ? s->cfg->sites[index].name : "", err.message);
        close_channel(ch);
        if (ch->pid > 0)
            kill(ch->pid, SIGKILL);
        free(buf);
        return;
    }
    free(buf);
    /* Service calls come with results and spool reports, whatever else they say. They are
     * counted before the result goes to its client, so a scrape that follows the answer
     * sees them (the metrics endpoint runs on its own thread). */
    for (size_t i = 0; i < msg.n_rpcs; i++)
        metrics_rpc(s->metrics, msg.rpcs[i].rpc, msg.rpcs[i].seconds, msg.rpcs[i].ok);
    if (index >= 0)
        metrics_sessions(s->metrics, (size_t)index, msg.sessions);
    if (msg.type == SITE_MSG_READY) {
        ch->ready = true;
        ch->why_down[0] = '\0';
        if (index >= 0) {
            fprintf(stderr, "<6>site %s: ready\n", s->cfg->sites[index].name);
            recover_site(s, index);
        }
        notify_status(s);
    } else if (index < 0 && msg.type == SITE_MSG_SPOOL) {
        snprintf(s->spool_error, sizeof(s->spool_error), "%s", msg.error);
        if (s->metrics != NULL)
            spool_scan(s);
    } else if (index >= 0 && s->sites[index].busy && msg.type == SITE_MSG_STEP) {
        struct site *site = &s->sites[index];
        snprintf(site->last_step, sizeof(site->last_step), "%s", msg.step);
        metrics_step(s->metrics, (size_t)index, msg.step, (double)msg.us / 1e6);
        send_event(client_by_serial(s, site->client_serial), site->id,
                   json_pack("{s:s, s:s, s:s, s:f}", "event", "progress", "site",
                             s->cfg->sites[index].name, "step", msg.step, "ms", msg.us / 1000.0));
    } else if (index >= 0 && s->sites[index].busy && msg.type == SITE_MSG_RESULT) {
        on_worker_result(s, index, &msg);
        if (s->sites[index].child.restart_when_idle) {
            close_channel(ch); /* reload: the worker ends on EOF; a new one follows */
        }
    } else {
        fprintf(stderr, "<3>%s: unexpected message from a child: stopping it\n",
                index >= 0 ? s->cfg->sites[index].name : "uploader");
        close_channel(ch);
        if (ch->pid > 0)
            kill(ch->pid, SIGKILL);
    }
    json_decref(msg.record);
}

/* ---- requests ------------------------------------------------------------------------- */

static json_t *site_status(struct sup *s, size_t i)
{
    struct site *site = &s->sites[i];
    const char *state = site->busy                                        ? "busy"
                        : site->child.ready                               ? "idle"
                        : site->child.pid > 0 && !site->child.why_down[0] ? "starting"
                                                                          : "degraded";
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:i}", "name", s->cfg->sites[i].name, "state",
                          state, "passes", (json_int_t)site->passes, "fails",
                          (json_int_t)site->fails, "restarts", (int)site->child.restarts);
    if (site->child.why_down[0] != '\0')
        json_object_set_new(o, "why", json_string(site->child.why_down));
    if (site->busy)
        json_object_set_new(o, "dut",
                            json_pack("{s:s, s:s, s:s, s:I}", "sku", site->sku, "request_id",
                                      site->request_id, "step", site->last_step, "elapsed_ms",
                                      (json_int_t)(now_ms() - site->started_ms)));
    return o;
}

/* The spool as it is on disk: entries waiting for RegisterDevice and the oldest one's age. */
static void spool_scan(struct sup *s)
{
    s->spool_depth = 0;
    s->spool_oldest_ms = 0;
    DIR *d = s->cfg->service.register_sync ? NULL : opendir(s->cfg->spool_dir);
    if (d == NULL)
        return;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        struct stat st;
        if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        int64_t ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (s->spool_depth++ == 0 || ms < s->spool_oldest_ms)
            s->spool_oldest_ms = ms;
    }
    closedir(d);
    s->spool_rejected = 0;
    int fd = openat(AT_FDCWD, s->cfg->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rejected = fd >= 0 ? openat(fd, "rejected", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    DIR *r = rejected >= 0 ? fdopendir(rejected) : NULL;
    for (struct dirent *e = r ? readdir(r) : NULL; e != NULL; e = readdir(r))
        s->spool_rejected += e->d_name[0] != '.';
    if (r != NULL)
        closedir(r);
    else if (rejected >= 0)
        close(rejected);
    if (fd >= 0)
        close(fd);
    metrics_spool(s->metrics, s->spool_depth,
                  s->spool_depth > 0 ? (double)(wall_ms() - s->spool_oldest_ms) / 1000.0 : 0.0,
                  s->spool_rejected);
}

static void cmd_status(struct sup *s, struct client *c, const struct control_request *req)
{
    json_t *sites = json_array();
    for (size_t i = 0; i < s->cfg->n_sites; i++)
        json_array_append_new(sites, site_status(s, i));
    spool_scan(s);
    json_int_t oldest_age =
        s->spool_depth > 0 && s->spool_oldest_ms > 0 ? (wall_ms() - s->spool_oldest_ms) / 1000 : 0;
    json_t *spool = json_pack("{s:s, s:I, s:I, s:I, s:s, s:b}", "register",
                              s->cfg->service.register_sync ? "sync" : "spool", "depth",
                              (json_int_t)s->spool_depth, "oldest_age_s", oldest_age, "rejected",
                              (json_int_t)s->spool_rejected, "last_error", s->spool_error,
                              "uploader_running", s->uploader.ready);
    send_event(
        c, req->id,
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o}", "event", "reply", "cmd", "status", "state",
                  s->draining ? "draining" : "running", "version", FTHARNESS_VERSION, "uptime_s",
                  (json_int_t)((now_ms() - s->started_ms) / 1000), "sites", sites, "spool", spool));
}

static void cmd_sites(struct sup *s, struct client *c, const struct control_request *req)
{
    json_t *sites = json_array();
    for (size_t i = 0; i < s->cfg->n_sites; i++) {
        const struct station_site *site = &s->cfg->sites[i];
        json_array_append_new(sites,
                              json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", site->name, "console",
                                        site->console, "boot_uart", site->boot_uart, "user_id",
                                        site->user_id, "reset", site->reset));
    }
    send_event(c, req->id,
               json_pack("{s:s, s:s, s:o}", "event", "reply", "cmd", "sites", "sites", sites));
}

static void cmd_skus(struct sup *s, struct client *c, const struct control_request *req)
{
    char dir[4096], plugins[4096], runner[4096];
    worker_resolve_paths(s->cfg, dir, plugins, runner, sizeof(dir));
    DIR *d = opendir(dir);
    if (d == NULL) {
        send_error(c, req->id, "SKU directory %s: %s", dir, strerror(errno));
        return;
    }
    json_t *skus = json_array();
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0)
            json_array_append_new(skus, json_stringn(e->d_name, n - 5));
    }
    closedir(d);
    send_event(c, req->id,
               json_pack("{s:s, s:s, s:s, s:o}", "event", "reply", "cmd", "skus", "sku_dir", dir,
                         "skus", skus));
}

static void cmd_records(struct sup *s, struct client *c, const struct control_request *req)
{
    json_t *list = json_array();
    for (size_t k = 0; k < s->recent_count && json_array_size(list) < req->limit; k++) {
        json_t *r = s->recent[(s->recent_next + RECENT_MAX - 1 - k) % RECENT_MAX];
        const char *dev = json_string_value(json_object_get(r, "device_id"));
        if (req->device_id[0] == '\0' || (dev != NULL && strcasecmp(dev, req->device_id) == 0))
            json_array_append(list, r);
    }
    send_event(c, req->id,
               json_pack("{s:s, s:s, s:o}", "event", "reply", "cmd", "records", "records", list));
}

static void cmd_abort(struct sup *s, struct client *c, const struct control_request *req)
{
    int i = station_config_find_site(s->cfg, req->site);
    if (i < 0) {
        send_error(c, req->id, "abort: unknown site \"%s\"", req->site);
    } else if (!s->sites[i].busy) {
        send_error(c, req->id, "abort: site %s has no DUT in progress", req->site);
    } else {
        kill(s->sites[i].child.pid, SIGUSR1);
        s->sites[i].abort_sent = true;
        send_event(c, req->id,
                   json_pack("{s:s, s:s, s:s, s:s}", "event", "reply", "cmd", "abort", "site",
                             req->site, "state", "aborting at the DUT's next wait"));
    }
}

/* The new configuration applies to each site at its next DUT: an idle worker is replaced
 * now, a busy one after its result (its DUT keeps the old SKU, plugin and session). */
static int reload(struct sup *s, char *why, size_t why_size)
{
    struct station_config *next = malloc(sizeof(*next));
    struct ft_error err = {0};
    if (next == NULL || station_config_load(s->config_path, next, &err) != 0) {
        snprintf(why, why_size, "%s", next ? err.message : "out of memory");
        free(next);
        return -1;
    }
    bool same = next->n_sites == s->cfg->n_sites &&
                strcmp(next->control_socket, s->cfg->control_socket) == 0;
    for (size_t i = 0; same && i < next->n_sites; i++)
        same = strcmp(next->sites[i].name, s->cfg->sites[i].name) == 0;
    if (!same) {
        snprintf(why, why_size,
                 "%s: sites added, removed or renamed, or a new control socket: restart the "
                 "daemon for those",
                 s->config_path);
        free(next);
        return -1;
    }
    *s->cfg = *next;
    free(next);
    for (size_t i = 0; i < s->cfg->n_sites; i++) {
        struct child *ch = &s->sites[i].child;
        ch->restart_when_idle = true;
        if (!s->sites[i].busy)
            close_channel(ch); /* the worker ends on EOF; on_child_exit starts the new one */
        if (ch->pid == 0)
            ch->restart_at_ms = now_ms();
    }
    close_channel(&s->uploader);
    fprintf(stderr, "<5>reloaded %s\n", s->config_path);
    return 0;
}

static void cmd_reload(struct sup *s, struct client *c, const struct control_request *req)
{
    char why[FT_ERROR_MESSAGE_MAX + 128];
    if (reload(s, why, sizeof(why)) != 0)
        send_error(c, req->id, "reload refused, the running configuration stays: %s", why);
    else
        send_event(c, req->id,
                   json_pack("{s:s, s:s, s:s}", "event", "reply", "cmd", "reload", "state",
                             "sites take the new configuration at their "
                             "next DUT"));
}

/* The table of request ids is bounded: the oldest finished one goes first. */
static void forget_oldest_request(struct sup *s)
{
    for (size_t i = 0; i < s->n_requests; i++) {
        if (s->requests[i].site >= 0)
            continue;
        json_decref(s->requests[i].result);
        memmove(&s->requests[i], &s->requests[i + 1],
                (s->n_requests - i - 1) * sizeof(*s->requests));
        s->n_requests--;
        return;
    }
}

/* A result event from a DUT marker (daemon/dut_marker.h). A marker without an outcome is a
 * DUT that was running when the daemon stopped: interrupted, with the chip's last known
 * state from its record. */
static json_t *result_from_marker(struct sup *s, json_t *m)
{
    json_t *cls = json_object_get(m, "exit_class");
    bool ended = member(m, "status")[0] != '\0' && json_is_integer(cls) &&
                 json_integer_value(cls) >= 0 && json_integer_value(cls) <= 7;
    char state[512], device[80];
    settle_record(s, member(m, "record_file"), member(m, "step"),
                  ended ? NULL : "interrupted: ftharnessd stopped while this DUT ran", state,
                  sizeof(state), device, sizeof(device));
    int exit_class = ended ? (int)json_integer_value(cls) : STATION_EXIT_INTERNAL;
    json_t *ev = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:b}", "event", "result", "site",
        member(m, "site"), "sku", member(m, "sku"), "request_id", member(m, "request_id"), "status",
        ended ? member(m, "status") : "FAIL", "exit_class", exit_class, "class",
        station_exit_name((enum station_exit)exit_class), "error",
        ended ? member(m, "error")
              : "interrupted: ftharnessd stopped while this DUT ran; its record holds the "
                "chip's last known state",
        "dut_state",
        ended      ? member(m, "dut_state")
        : state[0] ? state
                   : "unknown",
        "device_id", ended ? member(m, "device_id") : device, "record_file",
        member(m, "record_file"), "recovered", 1);
    return ev;
}

/* A request id unknown in memory may be one from before a restart: its marker. One
 * without an outcome that its site's in-flight marker still names is not over: a worker
 * of the earlier daemon may still run it, and recovery settles it once the site's new
 * worker is ready. Its site is then copied into `pending`. */
static json_t *recovered_request(struct sup *s, const char *request_id, char *pending,
                                 size_t pending_size)
{
    pending[0] = '\0';
    char name[DUT_MARKER_NAME_MAX];
    dut_marker_request_name(request_id, name);
    struct ft_error err = {0};
    json_t *m = dut_marker_read(s->record_dirfd, "requests", name, &err);
    if (m == NULL || strcmp(member(m, "request_id"), request_id) != 0) {
        json_decref(m);
        return NULL;
    }
    json_t *ev = NULL;
    char site[STATION_NAME_MAX + 8];
    snprintf(site, sizeof(site), "%.*s.json", (int)STATION_NAME_MAX - 1, member(m, "site"));
    json_t *inflight = member(m, "status")[0] == '\0' && strchr(site, '/') == NULL
                           ? dut_marker_read(s->record_dirfd, "inflight", site, &err)
                           : NULL;
    if (inflight != NULL && strcmp(member(inflight, "request_id"), request_id) == 0)
        snprintf(pending, pending_size, "%s", member(m, "site"));
    else
        ev = result_from_marker(s, m);
    json_decref(inflight);
    json_decref(m);
    return ev;
}

/* Called when a site's worker is ready: it holds the site lock (worker.c), so a DUT an
 * earlier worker left in flight (the daemon, or the worker with it, killed) is over. It
 * is reported in `records` (recovered) with the outcome its worker wrote, or as
 * interrupted with the chip's last known state. */
static void recover_site(struct sup *s, int index)
{
    char name[STATION_NAME_MAX + 8];
    snprintf(name, sizeof(name), "%s.json", s->cfg->sites[index].name);
    struct ft_error err = {0};
    json_t *m = dut_marker_read(s->record_dirfd, "inflight", name, &err);
    if (m == NULL) {
        if (err.code != FT_OK)
            fprintf(stderr, "<3>recovery: %s\n", err.message);
        return;
    }
    json_t *ev = result_from_marker(s, m);
    json_object_set_new(ev, "end_unix_ms", json_integer(wall_ms()));
    fprintf(stderr,
            "<4>recovery: site %s was in a DUT when its worker or ftharnessd stopped: %s %s (%s)\n",
            s->cfg->sites[index].name, member(ev, "status"), member(ev, "error"),
            member(ev, "record_file"));
    remember(s, ev);
    if (strcmp(member(ev, "status"), "PASS") == 0)
        kick_uploader(s); /* the earlier worker spooled it */
    settle_markers(s, index, m, member(ev, "status"),
                   (int)json_integer_value(json_object_get(ev, "exit_class")), member(ev, "error"),
                   member(ev, "dut_state"), member(ev, "device_id"));
    json_decref(ev);
    json_decref(m);
}

static void cmd_provision(struct sup *s, struct client *c, const struct control_request *req)
{
    int i = station_config_find_site(s->cfg, req->site);
    struct request *r = find_request(s, req->request_id);
    json_t *replay = NULL;
    char pending[STATION_NAME_MAX] = "";
    if (s->draining) {
        send_error(c, req->id, "provision: the daemon is stopping; no new DUTs");
    } else if (r == NULL && req->request_id[0] != '\0' &&
               (replay = recovered_request(s, req->request_id, pending, sizeof(pending))) != NULL) {
        json_object_set_new(replay, "replayed", json_true());
        send_event(c, req->id, replay);
    } else if (pending[0] != '\0') {
        send_error(c, req->id,
                   "provision: request_id \"%s\" was in flight on site %s when ftharnessd "
                   "stopped; its outcome is known once the site's worker is ready: ask again",
                   req->request_id, pending);
    } else if (r != NULL && r->site < 0) {
        /* Idempotent: the result of the DUT this request_id already personalized. */
        json_t *ev = json_copy(r->result);
        json_object_set_new(ev, "replayed", json_true());
        send_event(c, req->id, ev);
    } else if (r != NULL) {
        send_error(c, req->id, "provision: request_id \"%s\" is in progress on site %s",
                   req->request_id, s->cfg->sites[r->site].name);
    } else if (i < 0) {
        send_error(c, req->id, "provision: unknown site \"%s\"", req->site);
    } else if (s->sites[i].busy) {
        send_error(c, req->id, "provision: site %s is busy with a DUT of SKU %s (request %s, %s)",
                   req->site, s->sites[i].sku, s->sites[i].id[0] ? s->sites[i].id : "without id",
                   s->sites[i].last_step[0] ? s->sites[i].last_step : "starting");
    } else if (!s->sites[i].child.ready) {
        send_error(c, req->id, "provision: site %s is not ready (%s)", req->site,
                   s->sites[i].child.why_down[0] ? s->sites[i].child.why_down
                                                 : "its worker is starting");
    } else {
        struct site *site = &s->sites[i];
        json_t *msg = json_pack("{s:s, s:s, s:s, s:[iiiiii], s:b}", "t", "provision", "sku",
                                req->sku, "request_id", req->request_id, "din", req->din.year,
                                req->din.week, req->din.lot, req->din.wafer, req->din.x, req->din.y,
                                "benchtop", req->benchtop);
        struct ft_error err = {0};
        if (site_msg_send(site->child.fd, msg, &err) != 0) {
            send_error(c, req->id, "provision: site %s: %s", req->site, err.message);
            return;
        }
        site->busy = true;
        site->client_serial = c->serial;
        site->started_ms = now_ms();
        site->last_step[0] = '\0';
        site->abort_sent = site->deadline_killed = false;
        snprintf(site->id, sizeof(site->id), "%s", req->id);
        snprintf(site->request_id, sizeof(site->request_id), "%s", req->request_id);
        snprintf(site->sku, sizeof(site->sku), "%s", req->sku);
        if (req->request_id[0] != '\0' && s->n_requests == REQUESTS_MAX)
            forget_oldest_request(s);
        if (req->request_id[0] != '\0' && s->n_requests < REQUESTS_MAX) {
            if (s->n_requests == s->cap_requests) {
                size_t cap = s->cap_requests ? s->cap_requests * 2 : 64;
                struct request *grown = realloc(s->requests, cap * sizeof(*grown));
                if (grown != NULL) {
                    s->requests = grown;
                    s->cap_requests = cap;
                }
            }
            if (s->n_requests < s->cap_requests) {
                r = &s->requests[s->n_requests++];
                *r = (struct request){.site = i};
                snprintf(r->request_id, sizeof(r->request_id), "%s", req->request_id);
            }
        }
        send_event(
            c, req->id,
            json_pack("{s:s, s:s, s:s}", "event", "accepted", "site", req->site, "sku", req->sku));
        notify_status(s);
    }
}

static void on_request_line(struct sup *s, struct client *c, const char *line, size_t len)
{
    struct control_request req;
    struct ft_error err = {0};
    if (control_request_parse(line, len, &req, &err) != 0) {
        send_error(c, req.id, "%s", err.message);
        return;
    }
    switch (req.cmd) {
    case CONTROL_PROVISION:
        cmd_provision(s, c, &req);
        break;
    case CONTROL_ABORT:
        cmd_abort(s, c, &req);
        break;
    case CONTROL_STATUS:
        cmd_status(s, c, &req);
        break;
    case CONTROL_SITES:
        cmd_sites(s, c, &req);
        break;
    case CONTROL_SKUS:
        cmd_skus(s, c, &req);
        break;
    case CONTROL_RELOAD:
        cmd_reload(s, c, &req);
        break;
    case CONTROL_RECORDS:
        cmd_records(s, c, &req);
        break;
    }
}

static void on_client_readable(struct sup *s, struct client *c)
{
    char buf[16384];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        client_close(c); /* its DUTs go on; their results land in `records` */
        return;
    }
    for (ssize_t k = 0; k < n && c->fd >= 0; k++) {
        if (buf[k] == '\n') {
            if (c->discarding)
                send_error(c, "", "request line longer than %u bytes", CONTROL_LINE_MAX);
            else
                on_request_line(s, c, c->in, c->in_len);
            c->in_len = 0;
            c->discarding = false;
        } else if (c->in_len < CONTROL_LINE_MAX) {
            c->in[c->in_len++] = buf[k];
        } else {
            c->discarding = true;
        }
    }
}

static void accept_client(struct sup *s)
{
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (size_t i = 0; i < CLIENTS_MAX; i++) {
        struct client *c = &s->clients[i];
        if (c->fd >= 0)
            continue;
        if ((c->in = malloc(CONTROL_LINE_MAX)) == NULL)
            break;
        c->fd = fd;
        c->serial = ++s->next_serial;
        return;
    }
    const char busy[] = "{\"event\":\"error\",\"id\":\"\",\"error\":\"too many control "
                        "clients\"}\n";
    send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

/* ---- setup and the loop --------------------------------------------------------------- */

static int listen_control(const struct station_config *cfg)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(cfg->control_socket);
    if (len >= sizeof(addr.sun_path)) { /* station_config refuses it; kept for safety */
        fprintf(stderr, "<3>control.socket %s: too long\n", cfg->control_socket);
        return -1;
    }
    memcpy(addr.sun_path, cfg->control_socket, len + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* A socket file left by a daemon that died is replaced; one that answers is not. */
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
        fprintf(stderr, "<3>control.socket %s: another ftharnessd answers there\n",
                cfg->control_socket);
        close(fd);
        return -1;
    }
    struct stat st;
    if (lstat(cfg->control_socket, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(cfg->control_socket);
    gid_t gid = (gid_t)-1;
    if (cfg->control_group[0] != '\0') {
        struct group *g = getgrnam(cfg->control_group);
        if (g == NULL) {
            fprintf(stderr, "<3>control.group %s: no such group\n", cfg->control_group);
            close(fd);
            return -1;
        }
        gid = g->gr_gid;
    }
    mode_t old = umask(0117); /* the socket is born 0660: no window with wider access */
    int rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old);
    if (rc != 0 || (gid != (gid_t)-1 && chown(cfg->control_socket, (uid_t)-1, gid) != 0) ||
        listen(fd, 16) != 0) {
        fprintf(stderr, "<3>control.socket %s: %s\n", cfg->control_socket, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void start_due_children(struct sup *s)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < s->cfg->n_sites; i++) {
        struct child *ch = &s->sites[i].child;
        if (ch->pid == 0 && ch->restart_at_ms != 0 && ch->restart_at_ms <= now) {
            if (ch->why_down[0] != '\0')
                ch->restarts++;
            if (spawn(s, ch, (int)i) != 0)
                schedule_restart(ch, strerror(errno));
        }
    }
    struct child *up = &s->uploader;
    if (!s->cfg->service.register_sync && up->pid == 0 && up->restart_at_ms != 0 &&
        up->restart_at_ms <= now && spawn(s, up, -1) != 0)
        schedule_restart(up, strerror(errno));
}

/* Kills the worker of a DUT past its deadline; its exit fails the DUT with the reason. */
static void enforce_deadlines(struct sup *s)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < s->cfg->n_sites; i++) {
        struct site *site = &s->sites[i];
        if (site->busy && !site->deadline_killed && site->child.pid > 0 &&
            now - site->started_ms > (int64_t)s->cfg->dut_deadline_s * 1000) {
            site->deadline_killed = true;
            kill(site->child.pid, SIGKILL);
        }
    }
}

/* How long the loop may sleep: until the next restart, deadline or watchdog ping. */
static int next_wait_ms(struct sup *s)
{
    int64_t now = now_ms(), next = now + 60000;
    for (size_t i = 0; i < s->cfg->n_sites; i++) {
        struct site *site = &s->sites[i];
        if (site->child.pid == 0 && site->child.restart_at_ms != 0 &&
            site->child.restart_at_ms < next)
            next = site->child.restart_at_ms;
        int64_t deadline = site->started_ms + (int64_t)s->cfg->dut_deadline_s * 1000 + 1;
        if (site->busy && !site->deadline_killed && deadline < next)
            next = deadline;
    }
    if (s->uploader.pid == 0 && s->uploader.restart_at_ms != 0 && s->uploader.restart_at_ms < next)
        next = s->uploader.restart_at_ms;
    int64_t ping = sd_notify_next_ping_ms(&s->notify);
    if (ping > 0 && ping < next)
        next = ping;
    return next <= now ? 0 : (int)(next - now);
}

static void on_signal(struct sup *s)
{
    struct signalfd_siginfo si;
    while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            int wstatus;
            pid_t pid;
            while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
                on_child_exit(s, pid, wstatus);
        } else if (si.ssi_signo == SIGHUP) {
            char why[FT_ERROR_MESSAGE_MAX + 128];
            if (reload(s, why, sizeof(why)) != 0)
                fprintf(stderr, "<3>SIGHUP: reload refused, the running configuration stays: %s\n",
                        why);
        } else if (!s->draining) {
            s->draining = true;
            fprintf(stderr, "<5>stopping: DUTs in flight finish, no new ones\n");
            sd_notify_send(&s->notify, "STOPPING=1");
            notify_status(s);
        } else {
            /* A second stop signal: DUTs in flight end at their next wait. */
            for (size_t i = 0; i < s->cfg->n_sites; i++)
                if (s->sites[i].busy && s->sites[i].child.pid > 0)
                    kill(s->sites[i].child.pid, SIGUSR1);
        }
    }
}

static bool any_busy(const struct sup *s)
{
    for (size_t i = 0; i < s->cfg->n_sites; i++)
        if (s->sites[i].busy)
            return true;
    return false;
}

static void stop_children(struct sup *s)
{
    for (size_t i = 0; i < s->cfg->n_sites; i++) {
        close_channel(&s->sites[i].child);
        if (s->sites[i].child.pid > 0)
            kill(s->sites[i].child.pid, SIGTERM);
    }
    close_channel(&s->uploader);
    if (s->uploader.pid > 0)
        kill(s->uploader.pid, SIGTERM);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
}

static void loop(struct sup *s)
{
    enum { FIXED = 2 };
    struct pollfd fds[FIXED + STATION_SITES_MAX + 1 + CLIENTS_MAX];
    int owner[FIXED + STATION_SITES_MAX + 1 + CLIENTS_MAX];
    while (!(s->draining && !any_busy(s))) {
        start_due_children(s);
        enforce_deadlines(s);
        sd_notify_ping(&s->notify);
        nfds_t n = 0;
        fds[n++] = (struct pollfd){.fd = s->sig_fd, .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = s->draining ? -1 : s->listen_fd, .events = POLLIN};
        for (size_t i = 0; i < s->cfg->n_sites; i++)
            if (s->sites[i].child.fd >= 0) {
                owner[n] = (int)i;
                fds[n++] = (struct pollfd){.fd = s->sites[i].child.fd, .events = POLLIN};
            }
        if (s->uploader.fd >= 0) {
            owner[n] = -1;
            fds[n++] = (struct pollfd){.fd = s->uploader.fd, .events = POLLIN};
        }
        nfds_t first_client = n;
        for (size_t i = 0; i < CLIENTS_MAX; i++)
            if (s->clients[i].fd >= 0) {
                owner[n] = (int)i;
                fds[n++] = (struct pollfd){
                    .fd = s->clients[i].fd,
                    .events = (short)(POLLIN | (s->clients[i].out_len ? POLLOUT : 0))};
            }
        if (poll(fds, n, next_wait_ms(s)) < 0 && errno != EINTR)
            break;
        if (fds[0].revents & POLLIN)
            on_signal(s);
        if (fds[1].revents & POLLIN)
            accept_client(s);
        for (nfds_t k = FIXED; k < first_client; k++) {
            struct child *ch = owner[k] >= 0 ? &s->sites[owner[k]].child : &s->uploader;
            if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) && ch->fd == fds[k].fd)
                on_child_message(s, owner[k], ch);
        }
        for (nfds_t k = first_client; k < n; k++) {
            struct client *c = &s->clients[owner[k]];
            if (c->fd != fds[k].fd)
                continue;
            if (fds[k].revents & POLLOUT)
                client_flush(c);
            if (c->fd >= 0 && (fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                on_client_readable(s, c);
        }
    }
    /* Replies still queued go out before the sockets close. */
    for (size_t i = 0; i < CLIENTS_MAX; i++)
        if (s->clients[i].fd >= 0) {
            int fl = fcntl(s->clients[i].fd, F_GETFL);
            fcntl(s->clients[i].fd, F_SETFL, fl & ~O_NONBLOCK);
            client_flush(&s->clients[i]);
        }
}

int supervisor_main(const char *config_path, const char *self, struct station_config *cfg)
{
    struct sup *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return 1;
    s->config_path = config_path;
    s->self = self;
    s->cfg = cfg;
    s->started_ms = now_ms();
    for (size_t i = 0; i < CLIENTS_MAX; i++)
        s->clients[i].fd = -1;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    sd_notify_init(&s->notify);
    s->record_dirfd = open(cfg->record_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->record_dirfd < 0)
        fprintf(stderr, "<3>record_dir %s: %s\n", cfg->record_dir, strerror(errno));
    if (s->sig_fd < 0 || s->record_dirfd < 0 || (s->listen_fd = listen_control(cfg)) < 0) {
        free(s);
        return 2;
    }
    struct ft_error err = {0};
    if (cfg->metrics_listen[0] != '\0' && (s->metrics = metrics_start(cfg, &err)) == NULL) {
        fprintf(stderr, "<3>%s\n", err.message);
        close(s->listen_fd);
        unlink(cfg->control_socket);
        free(s);
        return 2;
    }
    for (size_t i = 0; i < cfg->n_sites; i++) {
        s->sites[i].child = (struct child){.fd = -1, .restart_at_ms = now_ms()};
    }
    s->uploader = (struct child){.fd = -1, .restart_at_ms = now_ms()};
    fprintf(stderr, "<6>ftharnessd %s: %zu sites, control socket %s\n", FTHARNESS_VERSION,
            cfg->n_sites, cfg->control_socket);
    sd_notify_send(&s->notify, "READY=1");
    notify_status(s);
    loop(s);
    stop_children(s);
    for (size_t i = 0; i < CLIENTS_MAX; i++)
        client_close(&s->clients[i]);
    close(s->listen_fd);
    close(s->record_dirfd);
    metrics_stop(s->metrics);
    unlink(cfg->control_socket);
    for (size_t i = 0; i < RECENT_MAX; i++)
        json_decref(s->recent[i]);
    for (size_t i = 0; i < s->n_requests; i++)
        json_decref(s->requests[i].result);
    free(s->requests);
    fprintf(stderr, "<6>ftharnessd: stopped\n");
    free(s);
    return 0;
}
