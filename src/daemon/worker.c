/* A site worker: the station (service client, SKU session, plugin, journal) is prepared
 * once and kept across DUTs; each provision request opens the site's links, runs the flow
 * and answers with the result once the record is durable. */
#define _GNU_SOURCE
#include "daemon/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/install_paths.h"
#include "daemon/dut_marker.h"
#include "daemon/rpc_log.h"
#include "daemon/site_msg.h"
#include "flow/flow.h"
#include "flow/flow_journal.h"
#include "station/links.h"
#include "station/plugin_flow.h"
#include "station/station_inputs.h"
#include "wire/device_id.h"

static volatile sig_atomic_t abort_dut; /* SIGUSR1 (abort) or SIGTERM (stop) */
static volatile sig_atomic_t stopping;  /* SIGTERM: end after the DUT */
static unsigned orphan_deadline_s;      /* dut_deadline_s, for on_supervisor_death */

static void on_signal(int sig)
{
    abort_dut = 1;
    if (sig == SIGTERM)
        stopping = 1;
}

/* The supervisor died (kill -9): the DUT in flight goes on, since its chip is best finished,
 * but nothing enforces its deadline any more; SIGALRM's default action does, after one more
 * dut_deadline_s. The site lock keeps the next supervisor's worker waiting meanwhile. */
static void on_supervisor_death(int sig)
{
    (void)sig;
    alarm(orphan_deadline_s);
}

void worker_resolve_paths(const struct station_config *cfg, char *sku_dir, char *plugin_dir,
                          char *runner, size_t size)
{
    if (cfg->sku_dir[0] != '\0')
        snprintf(sku_dir, size, "%s", cfg->sku_dir);
    else
        install_path(INSTALL_SKU_DIR, sku_dir, size);
    if (cfg->plugin_dir[0] != '\0')
        snprintf(plugin_dir, size, "%s", cfg->plugin_dir);
    else
        install_path(INSTALL_PLUGIN_DIR, plugin_dir, size);
    if (cfg->runner[0] != '\0')
        snprintf(runner, size, "%s", cfg->runner);
    else
        install_path(INSTALL_RUNNER, runner, size);
}

void worker_pa_options(const struct station_config *cfg, const char *user_id,
                       struct pa_client_options *po)
{
    const struct station_service *s = &cfg->service;
    *po = (struct pa_client_options){
        .base_url = s->url,
        .user_id = user_id,
        .ca_file = s->ca_file[0] ? s->ca_file : NULL,
        .cert_file = s->cert_file[0] ? s->cert_file : NULL,
        .key_file = s->key_file[0] ? s->key_file : NULL,
        .pinned_pubkey = s->pin[0] ? s->pin : NULL,
    };
}

/* What a worker keeps across DUTs. The SKU, its images, plugin check and service session
 * stay until a DUT asks for another SKU or the service loses the session. */
struct worker {
    const struct station_config *cfg;
    const struct station_site *site;
    int fd;
    char user_id[160];
    char sku_dir[4096], plugin_dir[4096], runner[4096];
    char *password;
    struct pa_client *pa;
    struct flow_journal journal;
    struct plugin_flow_ctx plugin;
    bool have_sku;
    char sku_key[64]; /* the name it was asked for: <sku_dir>/<key>.json */
    struct flow_sku sku;
    uint8_t *image, *second_image;
    size_t image_len, second_image_len;
    struct flow_ca ca;
    int spool_dirfd;
    int lock_fd;      /* the site lock (take_site_lock) */
    pid_t supervisor; /* the parent this worker serves */
    /* DeriveTokens ahead: while a DUT runs, a thread fetches the next DUT's RMA token on a
     * second connection of the same session, so the next DUT's only critical-path call is
     * EndorseCerts. */
    struct pa_client *pa_ahead;
    struct flow_rma_token token; /* for the next DUT; empty when none */
    struct flow_rma_token fetched;
    struct ft_error fetch_err;
    pthread_t fetcher;
    bool fetching;
    struct rpc_log rpcs; /* service calls since the last result (metrics) */
    uint64_t sessions;   /* sessions opened since the last result */
};

static void drop_sku(struct worker *w)
{
    flow_rma_token_discard(&w->token);
    flow_ca_free(&w->ca);
    memset(&w->ca, 0, sizeof(w->ca));
    free(w->image);
    free(w->second_image);
    w->image = w->second_image = NULL;
    w->image_len = w->second_image_len = 0;
    w->have_sku = false;
}

/* Everything before the chip is touched for this SKU: the file, its images, its plugin in
 * the sandbox and the service session with the CA certificates. `cls` gets the exit class
 * of a failure. */
static int prepare_sku(struct worker *w, const char *name, int *cls, struct ft_error *err)
{
    if (w->have_sku && strcmp(w->sku_key, name) == 0)
        return 0;
    drop_sku(w);
    *cls = STATION_EXIT_USAGE;
    if (flow_sku_load(w->sku_dir, name, &w->sku, err) != 0 ||
        station_read_sku_images(&w->sku, &w->image, &w->image_len, &w->second_image,
                                &w->second_image_len, err) != 0)
        return ft_error_prefix(err, "SKU");
    *cls = STATION_EXIT_PLUGIN;
    if (plugin_flow_check(&w->plugin, &w->sku, err) != 0)
        return ft_error_prefix(err, "SKU plugin");
    *cls = STATION_EXIT_PA;
    w->sessions++;
    int rc = w->sku.n_certs > 0 ? flow_session_open(w->pa, &w->sku, w->password, &w->ca, err)
                                : flow_session_init(w->pa, w->sku.name, w->password, err);
    if (rc != 0 || pa_client_copy_token(w->pa_ahead, w->pa, err) != 0) {
        drop_sku(w);
        return ft_error_prefix(err, "endorsement service");
    }
    snprintf(w->sku_key, sizeof(w->sku_key), "%s", name);
    w->have_sku = true;
    return 0;
}

static void *fetch_token(void *arg)
{
    struct worker *w = arg;
    ft_error_clear(&w->fetch_err);
    flow_rma_token_fetch(w->pa_ahead, &w->sku, &w->fetched, &w->fetch_err);
    return NULL;
}

static void fetch_ahead_start(struct worker *w)
{
    w->fetching = pthread_create(&w->fetcher, NULL, fetch_token, w) == 0;
}

/* The token fetched during this DUT becomes the next DUT's; one left unused is discarded. */
static void fetch_ahead_finish(struct worker *w)
{
    if (!w->fetching)
        return;
    pthread_join(w->fetcher, NULL);
    w->fetching = false;
    flow_rma_token_discard(&w->token);
    w->token = w->fetched;
    memset(&w->fetched, 0, sizeof(w->fetched));
    if (w->token.wrapped_seed == NULL)
        fprintf(stderr, "<4>site %s: DeriveTokens ahead: %s\n", w->site->name,
                w->fetch_err.message);
}

/* A token for this DUT before the chip is touched: the one fetched ahead, else one now.
 * A failure may mean the session is gone: it is opened again once, transparently. */
static int ensure_token(struct worker *w, const char *sku, int *cls, struct ft_error *err)
{
    if (w->token.wrapped_seed != NULL && strcmp(w->token.sku, w->sku.name) == 0)
        return 0;
    flow_rma_token_discard(&w->token);
    if (flow_rma_token_fetch(w->pa, &w->sku, &w->token, err) == 0)
        return 0;
    drop_sku(w);
    if (prepare_sku(w, sku, cls, err) != 0)
        return -1;
    *cls = STATION_EXIT_PA;
    if (flow_rma_token_fetch(w->pa, &w->sku, &w->token, err) == 0)
        return 0;
    drop_sku(w);
    return ft_error_prefix(err, "endorsement service");
}

/* The service lost the DUT's session (it restarted): a new one on the DUT's connection.
 * The connection that fetches tokens ahead keeps the old one until its next fetch fails
 * and ensure_token opens another; it may be fetching right now. */
static int reopen_session(void *arg, struct ft_error *err)
{
    struct worker *w = arg;
    w->sessions++;
    fprintf(stderr, "<4>site %s: the service lost the session; opening a new one\n", w->site->name);
    return flow_session_init(w->pa, w->sku.name, w->password, err);
}

static void send_step(void *arg, enum flow_step step, bool done, uint64_t us)
{
    struct worker *w = arg;
    if (done)
        site_msg_send(w->fd,
                      json_pack("{s:s, s:s, s:I}", "t", "step", "step", flow_step_name(step), "us",
                                (json_int_t)us),
                      NULL);
}

/* The service calls and session opens since the last report go with this message. */
static json_t *add_service_calls(struct worker *w, json_t *msg)
{
    if (msg != NULL) {
        json_object_set_new(msg, "rpcs", rpc_log_take(&w->rpcs));
        json_object_set_new(msg, "sessions", json_integer((json_int_t)w->sessions));
    }
    w->sessions = 0;
    return msg;
}

/* A refusal before the chip was touched: no record, the chip waits for the next try. */
static int send_refusal(struct worker *w, int cls, const struct ft_error *err)
{
    char why[FT_ERROR_MESSAGE_MAX + 32];
    snprintf(why, sizeof(why), "%s (chip untouched)", err->message);
    json_t *msg = json_pack("{s:s, s:b, s:i, s:s, s:s}", "t", "result", "pass", 0, "class", cls,
                            "error", why, "dut_state", "untouched: nothing was sent to the chip");
    return site_msg_send(w->fd, add_service_calls(w, msg), NULL);
}

/* PASS without RegisterDevice on the critical path: the record file is linked into the
 * spool, which the uploader drains. The link is durable before the PASS is reported. */
static int spool_record(struct worker *w, struct ft_error *err)
{
    if (linkat(w->journal.dirfd, w->journal.name, w->spool_dirfd, w->journal.name, 0) != 0 &&
        errno != EEXIST)
        return ft_fail(err, FT_E_INVALID, "spool %s: cannot link %s: %s", w->cfg->spool_dir,
                       w->journal.name, strerror(errno));
    if (fsync(w->spool_dirfd) != 0)
        return ft_fail(err, FT_E_INVALID, "spool %s: %s", w->cfg->spool_dir, strerror(errno));
    return 0;
}

/* The result's members, as the supervisor reports them and the markers keep them. */
static json_t *result_summary(struct worker *w, const struct flow_record *rec, int cls,
                              const struct ft_error *err)
{
    char device[DEVICE_ID_STRING_LEN + 1] = "";
    if (rec->has_device_id)
        device_id_to_string(rec->device_id, device);
    return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "status", rec->pass ? "PASS" : "FAIL",
                     "exit_class", cls, "class", station_exit_name((enum station_exit)cls), "error",
                     rec->pass ? "" : err->message, "dut_state",
                     rec->dut_state ? rec->dut_state : "unknown", "device_id", device,
                     "record_file", w->journal.name);
}

static int send_result(struct worker *w, const struct flow_record *rec, int cls,
                       const json_t *summary)
{
    json_t *msg = json_pack("{s:s, s:b, s:i, s:O, s:O, s:O, s:O}", "t", "result", "pass", rec->pass,
                            "class", cls, "error", json_object_get(summary, "error"), "dut_state",
                            json_object_get(summary, "dut_state"), "device_id",
                            json_object_get(summary, "device_id"), "record_file",
                            json_object_get(summary, "record_file"));
    char *text = flow_record_json(rec, false);
    json_t *record = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    /* A record too large for one datagram stays in its file, named by record_file. */
    if (msg != NULL && record != NULL &&
        json_dumpb(record, NULL, 0, JSON_COMPACT) < SITE_MSG_MAX - 2048)
        json_object_set_new(msg, "record", record);
    else
        json_decref(record);
    return site_msg_send(w->fd, add_service_calls(w, msg), NULL);
}

/* The DUT's markers (daemon/dut_marker.h): in flight on this site and, with a request id,
 * the request's. */
static int write_markers(struct worker *w, const char *request_id, const json_t *marker,
                         struct ft_error *err)
{
    char site[STATION_NAME_MAX + 8], request[DUT_MARKER_NAME_MAX];
    snprintf(site, sizeof(site), "%s.json", w->site->name);
    if (dut_marker_write(w->journal.dirfd, "inflight", site, marker, err) != 0)
        return -1;
    if (request_id[0] == '\0')
        return 0;
    dut_marker_request_name(request_id, request);
    return dut_marker_write(w->journal.dirfd, "requests", request, marker, err);
}

static int run_dut(struct worker *w, const struct site_msg *req)
{
    struct ft_error err = {0};
    int cls = 0;
    abort_dut = stopping;
    if (prepare_sku(w, req->sku, &cls, &err) != 0 ||
        (!req->benchtop && ensure_token(w, req->sku, &cls, &err) != 0))
        return send_refusal(w, cls, &err);
    struct station_links links;
    if (station_links_open(&links, w->site->console,
                           w->site->boot_uart[0] ? w->site->boot_uart : NULL, &err) != 0) {
        ft_error_prefix(&err, "console");
        return send_refusal(w, STATION_EXIT_DEVICE, &err);
    }
    const char *lacking = station_links_lacking(&links, w->image_len > 0, w->site->reset);
    if (lacking != NULL) {
        station_links_close(&links);
        ft_fail(&err, FT_E_INVALID, "%s: site %s's console %s does not have it", lacking,
                w->site->name, w->site->console);
        return send_refusal(w, STATION_EXIT_USAGE, &err);
    }
    if (w->site->reset && console_chip_reset(links.console, false, &err) != 0) {
        station_links_close(&links);
        ft_error_prefix(&err, "reset");
        return send_refusal(w, STATION_EXIT_DEVICE, &err);
    }
    struct flow_env env = {
        .console = links.console,
        .boot_console = links.boot,
        .bootstrap_bus = links.bus,
        .bootstrap_image = w->image,
        .bootstrap_image_len = w->image_len,
        .bootstrap_second_image = w->second_image,
        .bootstrap_second_image_len = w->second_image_len,
        .pa = w->pa,
        .rma_token = &w->token,
        .sku = &w->sku,
        .ca = &w->ca,
        .benchtop = req->benchtop,
        .register_device = w->cfg->service.register_sync,
        .timeout_scale = w->cfg->timeout_scale,
        .site = w->user_id,
        .year = req->din.year,
        .week = req->din.week,
        .lot = req->din.lot,
        .wafer = req->din.wafer,
        .x = req->din.x,
        .y = req->din.y,
        .progress = send_step,
        .progress_arg = w,
        .plugin = plugin_flow_run,
        .post_boot = plugin_flow_post_boot,
        .plugin_arg = &w->plugin,
        .persist = flow_journal_persist,
        .find_earlier = flow_journal_find,
        .persist_arg = &w->journal,
        .reopen_session = reopen_session,
        .reopen_arg = w,
        .abort_requested = &abort_dut,
    };
    /* A record file per DUT, named before the flow writes it so the markers can name it. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(w->journal.name, sizeof(w->journal.name), "%lld-%ld.json",
             (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000, (long)getpid());
    json_t *marker =
        json_pack("{s:s, s:s, s:s, s:s, s:i}", "request_id", req->request_id, "site", w->site->name,
                  "sku", req->sku, "record_file", w->journal.name, "pid", (int)getpid());
    if (marker == NULL || write_markers(w, req->request_id, marker, &err) != 0) {
        json_decref(marker);
        station_links_close(&links);
        return send_refusal(w, STATION_EXIT_USAGE, &err);
    }
    struct flow_record rec;
    fetch_ahead_start(w);
    int rc = flow_run(&env, &rec, &err);
    fetch_ahead_finish(w);
    station_links_close(&links);
    if (rc == 0 && !w->cfg->service.register_sync && spool_record(w, &err) != 0) {
        rec.pass = false;
        rec.blame = FLOW_BLAME_LOCAL;
    }
    /* A service failure may mean the session is gone: the next DUT opens a new one. */
    if (rc != 0 && rec.blame == FLOW_BLAME_SERVICE)
        drop_sku(w);
    cls = (int)station_exit_for(&rec);
    json_t *summary = result_summary(w, &rec, cls, &err);
    struct ft_error marker_err = {0};
    /* The outcome is durable before it is reported: a supervisor that dies now finds it. */
    json_object_update(marker, summary);
    if (write_markers(w, req->request_id, marker, &marker_err) != 0)
        fprintf(stderr, "<3>site %s: %s\n", w->site->name, marker_err.message);
    rc = send_result(w, &rec, cls, summary);
    char site[STATION_NAME_MAX + 8];
    snprintf(site, sizeof(site), "%s.json", w->site->name);
    if (rc == 0 && dut_marker_remove(w->journal.dirfd, "inflight", site, &marker_err) != 0)
        fprintf(stderr, "<3>site %s: %s\n", w->site->name, marker_err.message);
    json_decref(summary);
    json_decref(marker);
    flow_record_free(&rec);
    return rc;
}

/* The site lock: an exclusive flock on record_dir/inflight/<site>.lock, held for the
 * worker's life, so two workers never drive one site. A worker of an earlier supervisor
 * killed with -9 may still be finishing its DUT; the new one waits for it to end. */
static int take_site_lock(struct worker *w, struct ft_error *err)
{
    char name[STATION_NAME_MAX + 16];
    snprintf(name, sizeof(name), "inflight/%s.lock", w->site->name);
    if (mkdirat(w->journal.dirfd, "inflight", 0700) != 0 && errno != EEXIST)
        return ft_fail(err, FT_E_INVALID, "%s/inflight: %s", w->cfg->record_dir, strerror(errno));
    w->lock_fd = openat(w->journal.dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (w->lock_fd < 0)
        return ft_fail(err, FT_E_INVALID, "%s/%s: %s", w->cfg->record_dir, name, strerror(errno));
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (errno != EWOULDBLOCK)
        return ft_fail(err, FT_E_INVALID, "%s/%s: flock: %s", w->cfg->record_dir, name,
                       strerror(errno));
    fprintf(stderr, "<5>site %s: waiting for the worker of the earlier daemon to end its DUT\n",
            w->site->name);
    while (flock(w->lock_fd, LOCK_EX) != 0) {
        /* SIGUSR2 (the supervisor died while this one waited) or SIGTERM end the wait. */
        if (stopping || getppid() != w->supervisor)
            return ft_fail(err, FT_E_ABORTED, "site %s: %s while waiting for its lock",
                           w->site->name, stopping ? "stopped" : "the supervisor died");
        if (errno != EINTR)
            return ft_fail(err, FT_E_INVALID, "%s/%s: flock: %s", w->cfg->record_dir, name,
                           strerror(errno));
    }
    return 0;
}

static int worker_init(struct worker *w, struct ft_error *err)
{
    worker_resolve_paths(w->cfg, w->sku_dir, w->plugin_dir, w->runner, sizeof(w->sku_dir));
    w->plugin = (struct plugin_flow_ctx){
        .dir = w->plugin_dir, .runner = w->runner, .deadline_ms = w->cfg->plugin_deadline_ms};
    if (w->site->user_id[0] != '\0') {
        snprintf(w->user_id, sizeof(w->user_id), "%s", w->site->user_id);
    } else {
        char host[64] = "localhost";
        gethostname(host, sizeof(host) - 1);
        snprintf(w->user_id, sizeof(w->user_id), "%.64s/%s", host, w->site->name);
    }
    struct pa_client_options po;
    worker_pa_options(w->cfg, w->user_id, &po);
    po.on_call = rpc_log_on_call;
    po.on_call_arg = &w->rpcs;
    w->journal.dirfd = -1;
    if ((w->password = station_read_password("service.password_file", w->cfg->service.password_file,
                                             err)) == NULL ||
        flow_journal_open(&w->journal, w->cfg->record_dir, err) != 0 ||
        take_site_lock(w, err) != 0 || pa_client_global_init(err) != 0 ||
        (w->pa = pa_client_new(&po, err)) == NULL ||
        (w->pa_ahead = pa_client_new(&po, err)) == NULL)
        return -1;
    if (!w->cfg->service.register_sync &&
        (w->spool_dirfd = open(w->cfg->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return ft_fail(err, FT_E_INVALID, "spool_dir %s: %s", w->cfg->spool_dir, strerror(errno));
    return 0;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked wait returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGINT, SIG_IGN); /* a terminal's ^C goes to the supervisor, which drains */
    signal(SIGPIPE, SIG_IGN);
    sa.sa_handler = on_supervisor_death;
    sigaction(SIGUSR2, &sa, NULL);
}

int worker_main(const struct station_config *cfg, int site, int fd)
{
    orphan_deadline_s = cfg->dut_deadline_s;
    catch_signals();
    pid_t supervisor = getppid();
    prctl(PR_SET_PDEATHSIG, SIGUSR2);
    if (getppid() != supervisor)
        return 1; /* it died before the line above */
    struct worker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return 1;
    w->cfg = cfg;
    w->site = &cfg->sites[site];
    w->fd = fd;
    w->spool_dirfd = -1;
    w->lock_fd = -1;
    w->supervisor = supervisor;
    rpc_log_init(&w->rpcs);
    struct ft_error err = {0};
    int status = 0;
    if (worker_init(w, &err) != 0) {
        fprintf(stderr, "<3>site %s: %s\n", w->site->name, err.message);
        status = 2;
    } else if (site_msg_send(fd, json_pack("{s:s}", "t", "ready"), &err) == 0) {
        char *buf = malloc(SITE_MSG_MAX + 1);
        while (buf != NULL && !stopping) {
            ssize_t n = recv(fd, buf, SITE_MSG_MAX + 1, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break; /* the supervisor is gone */
            struct site_msg msg;
            if (site_msg_parse(buf, (size_t)n, &msg, &err) != 0 || msg.type != SITE_MSG_PROVISION) {
                fprintf(stderr, "<3>site %s: %s\n", w->site->name,
                        err.message[0] ? err.message : "unexpected site message");
                status = 1;
                break;
            }
            /* A request the supervisor sent just before it died: no one waits for it, and
             * its request id is sent again to the next daemon. */
            if (getppid() != w->supervisor || run_dut(w, &msg) != 0)
                break;
        }
        free(buf);
    }
    drop_sku(w);
    flow_journal_close(&w->journal);
    pa_client_free(w->pa);
    pa_client_free(w->pa_ahead);
    if (w->password != NULL)
        memset(w->password, 0, strlen(w->password));
    free(w->password);
    if (w->spool_dirfd >= 0)
        close(w->spool_dirfd);
    if (w->lock_fd >= 0)
        close(w->lock_fd); /* last: every marker of this worker is written */
    rpc_log_destroy(&w->rpcs);
    free(w);
    return status;
}
