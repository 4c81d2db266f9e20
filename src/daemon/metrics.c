#define _GNU_SOURCE
#include "daemon/metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/version.h"
#include "flow/flow.h"
#include "station/station_inputs.h"

/* Upper bounds (seconds) of the step and DUT duration histograms: a millisecond step to a
 * bootstrap or a plugin at its deadline. */
static const double buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                 0.5,   1,     2.5,  5,     10,   30,  60};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))
#define N_CLASSES 8
#define SKUS_MAX 64 /* distinct SKUs counted per site; more are counted as "other" */
#define LAST_MAX 20 /* results on the status page */
#define RPCS_MAX 16 /* distinct RPC names counted; the API has fewer */

struct histogram {
    uint64_t counts[N_BUCKETS]; /* per bucket, not cumulative */
    uint64_t count;
    double sum;
};

struct site_metrics {
    char name[STATION_NAME_MAX];
    struct histogram steps[FLOW_STEP_COUNT];
    struct histogram dut;
    char skus[SKUS_MAX][64];
    uint64_t results[SKUS_MAX][N_CLASSES];
    size_t n_skus;
    bool up, busy;
    unsigned restarts;
    uint64_t sessions;
};

struct rpc_metrics {
    char name[32];
    struct histogram seconds;
    uint64_t errors;
};

/* A result as the status page lists it. */
struct last_result {
    char site[STATION_NAME_MAX];
    char sku[64];
    char device[80];
    int exit_class;
    double seconds;
    int64_t unix_ms;
};

struct metrics {
    pthread_mutex_t lock;
    struct last_result last[LAST_MAX]; /* a ring, newest at last_next - 1 */
    size_t last_next, last_count;
    struct MHD_Daemon *http;
    struct site_metrics sites[STATION_SITES_MAX];
    size_t n_sites;
    uint64_t spool_depth, spool_rejected;
    double spool_oldest_age_s;
    struct rpc_metrics rpcs[RPCS_MAX];
    size_t n_rpcs;
};

static void observe(struct histogram *h, double seconds)
{
    size_t i = 0;
    while (i < N_BUCKETS && seconds > buckets[i])
        i++;
    if (i < N_BUCKETS)
        h->counts[i]++;
    h->count++;
    h->sum += seconds;
}

void metrics_step(struct metrics *m, size_t site, const char *step, double seconds)
{
    if (m == NULL || site >= m->n_sites)
        return;
    for (int s = 0; s < FLOW_STEP_COUNT; s++) {
        if (strcmp(flow_step_name((enum flow_step)s), step) == 0) {
            pthread_mutex_lock(&m->lock);
            observe(&m->sites[site].steps[s], seconds);
            pthread_mutex_unlock(&m->lock);
            return;
        }
    }
}

void metrics_result(struct metrics *m, size_t site, const char *sku, int exit_class, double seconds,
                    const char *device)
{
    if (m == NULL || site >= m->n_sites || exit_class < 0 || exit_class >= N_CLASSES)
        return;
    pthread_mutex_lock(&m->lock);
    struct site_metrics *s = &m->sites[site];
    size_t i = 0;
    while (i < s->n_skus && strcmp(s->skus[i], sku) != 0)
        i++;
    if (i == s->n_skus && s->n_skus < SKUS_MAX)
        snprintf(s->skus[s->n_skus++], sizeof(s->skus[0]), "%s", sku);
    else if (i == s->n_skus)
        i = SKUS_MAX - 1; /* the last slot takes every SKU past the limit */
    s->results[i][exit_class]++;
    observe(&s->dut, seconds);
    struct last_result *l = &m->last[m->last_next];
    memcpy(l->site, s->name, sizeof(l->site)); /* both STATION_NAME_MAX, terminated */
    snprintf(l->sku, sizeof(l->sku), "%s", sku);
    snprintf(l->device, sizeof(l->device), "%s", device);
    l->exit_class = exit_class;
    l->seconds = seconds;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    l->unix_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    m->last_next = (m->last_next + 1) % LAST_MAX;
    if (m->last_count < LAST_MAX)
        m->last_count++;
    pthread_mutex_unlock(&m->lock);
}

void metrics_site(struct metrics *m, size_t site, bool up, bool busy, unsigned restarts)
{
    if (m == NULL || site >= m->n_sites)
        return;
    pthread_mutex_lock(&m->lock);
    m->sites[site].up = up;
    m->sites[site].busy = busy;
    m->sites[site].restarts = restarts;
    pthread_mutex_unlock(&m->lock);
}

void metrics_spool(struct metrics *m, uint64_t depth, double oldest_age_s, uint64_t rejected)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->spool_depth = depth;
    m->spool_oldest_age_s = oldest_age_s;
    m->spool_rejected = rejected;
    pthread_mutex_unlock(&m->lock);
}

void metrics_rpc(struct metrics *m, const char *rpc, double seconds, bool ok)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    size_t i = 0;
    while (i < m->n_rpcs && strcmp(m->rpcs[i].name, rpc) != 0)
        i++;
    if (i == m->n_rpcs && m->n_rpcs < RPCS_MAX)
        snprintf(m->rpcs[m->n_rpcs++].name, sizeof(m->rpcs[0].name), "%s", rpc);
    if (i < m->n_rpcs) {
        observe(&m->rpcs[i].seconds, seconds);
        m->rpcs[i].errors += !ok;
    }
    pthread_mutex_unlock(&m->lock);
}

void metrics_sessions(struct metrics *m, size_t site, uint64_t sessions)
{
    if (m == NULL || site >= m->n_sites)
        return;
    pthread_mutex_lock(&m->lock);
    m->sites[site].sessions += sessions;
    pthread_mutex_unlock(&m->lock);
}

static void histogram_text(FILE *out, const char *name, const char *labels,
                           const struct histogram *h)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        cumulative += h->counts[i];
        fprintf(out, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, buckets[i],
                (unsigned long long)cumulative);
    }
    fprintf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long)h->count);
    fprintf(out, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels, h->sum, name, labels,
            (unsigned long long)h->count);
}

/* The exposition, NEW text (*len bytes). Site and SKU names are [a-z0-9_-]: no escaping. */
static char *render(struct metrics *m, size_t *len)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    if (out == NULL)
        return NULL;
    pthread_mutex_lock(&m->lock);
    fprintf(out,
            "# HELP ftharness_build_info The daemon's version.\n"
            "# TYPE ftharness_build_info gauge\n"
            "ftharness_build_info{version=\"%s\"} 1\n",
            FTHARNESS_VERSION);
    fprintf(out, "# HELP ftharness_site_up Whether the site's worker is running and answers.\n"
                 "# TYPE ftharness_site_up gauge\n");
    for (size_t i = 0; i < m->n_sites; i++)
        fprintf(out, "ftharness_site_up{site=\"%s\"} %d\n", m->sites[i].name, m->sites[i].up);
    fprintf(out, "# HELP ftharness_duts_in_flight DUTs being personalized now.\n"
                 "# TYPE ftharness_duts_in_flight gauge\n");
    for (size_t i = 0; i < m->n_sites; i++)
        fprintf(out, "ftharness_duts_in_flight{site=\"%s\"} %d\n", m->sites[i].name,
                m->sites[i].busy);
    fprintf(out, "# HELP ftharness_worker_restarts_total Site workers started again after "
                 "ending.\n# TYPE ftharness_worker_restarts_total counter\n");
    for (size_t i = 0; i < m->n_sites; i++)
        fprintf(out, "ftharness_worker_restarts_total{site=\"%s\"} %u\n", m->sites[i].name,
                m->sites[i].restarts);
    fprintf(out, "# HELP ftharness_dut_results_total DUTs ended, by exit class.\n"
                 "# TYPE ftharness_dut_results_total counter\n");
    for (size_t i = 0; i < m->n_sites; i++)
        for (size_t k = 0; k < m->sites[i].n_skus; k++)
            for (int c = 0; c < N_CLASSES; c++)
                fprintf(
                    out, "ftharness_dut_results_total{site=\"%s\",sku=\"%s\",class=\"%s\"} %llu\n",
                    m->sites[i].name, m->sites[i].skus[k], station_exit_name((enum station_exit)c),
                    (unsigned long long)m->sites[i].results[k][c]);
    fprintf(out, "# HELP ftharness_dut_duration_seconds A DUT from accepted to its result.\n"
                 "# TYPE ftharness_dut_duration_seconds histogram\n");
    char labels[128];
    for (size_t i = 0; i < m->n_sites; i++) {
        snprintf(labels, sizeof(labels), "site=\"%s\"", m->sites[i].name);
        histogram_text(out, "ftharness_dut_duration_seconds", labels, &m->sites[i].dut);
    }
    fprintf(out, "# HELP ftharness_step_duration_seconds One step of a DUT (upstream's step "
                 "names).\n# TYPE ftharness_step_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n_sites; i++)
        for (int s = 0; s < FLOW_STEP_COUNT; s++) {
            if (m->sites[i].steps[s].count == 0)
                continue;
            snprintf(labels, sizeof(labels), "site=\"%s\",step=\"%s\"", m->sites[i].name,
                     flow_step_name((enum flow_step)s));
            histogram_text(out, "ftharness_step_duration_seconds", labels, &m->sites[i].steps[s]);
        }
    fprintf(out, "# HELP ftharness_service_call_seconds Calls to the endorsement service, "
                 "all attempts.\n# TYPE ftharness_service_call_seconds histogram\n");
    for (size_t i = 0; i < m->n_rpcs; i++) {
        snprintf(labels, sizeof(labels), "rpc=\"%s\"", m->rpcs[i].name);
        histogram_text(out, "ftharness_service_call_seconds", labels, &m->rpcs[i].seconds);
    }
    fprintf(out, "# HELP ftharness_service_errors_total Calls to the endorsement service that "
                 "failed.\n# TYPE ftharness_service_errors_total counter\n");
    for (size_t i = 0; i < m->n_rpcs; i++)
        fprintf(out, "ftharness_service_errors_total{rpc=\"%s\"} %llu\n", m->rpcs[i].name,
                (unsigned long long)m->rpcs[i].errors);
    fprintf(out, "# HELP ftharness_service_sessions_total Service sessions opened (the first "
                 "per SKU, then each re-open).\n# TYPE ftharness_service_sessions_total counter\n");
    for (size_t i = 0; i < m->n_sites; i++)
        fprintf(out, "ftharness_service_sessions_total{site=\"%s\"} %llu\n", m->sites[i].name,
                (unsigned long long)m->sites[i].sessions);
    fprintf(out,
            "# HELP ftharness_spool_depth Passed devices waiting for RegisterDevice.\n"
            "# TYPE ftharness_spool_depth gauge\nftharness_spool_depth %llu\n"
            "# HELP ftharness_spool_oldest_age_seconds Age of the oldest spool entry.\n"
            "# TYPE ftharness_spool_oldest_age_seconds gauge\n"
            "ftharness_spool_oldest_age_seconds %.3f\n"
            "# HELP ftharness_spool_rejected Spool entries the service refused for good.\n"
            "# TYPE ftharness_spool_rejected gauge\nftharness_spool_rejected %llu\n",
            (unsigned long long)m->spool_depth, m->spool_oldest_age_s,
            (unsigned long long)m->spool_rejected);
    pthread_mutex_unlock(&m->lock);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* /status.json: the sites, the last results, the yield per SKU and the mean time of each
 * step over all sites (NEW text). */
static char *render_status(struct metrics *m, size_t *len)
{
    json_t *sites = json_array(), *last = json_array(), *yield = json_object(),
           *steps = json_array();
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_sites; i++) {
        const struct site_metrics *s = &m->sites[i];
        uint64_t pass = 0, fail = 0;
        for (size_t k = 0; k < s->n_skus; k++) {
            json_t *y = json_object_get(yield, s->skus[k]);
            if (y == NULL)
                json_object_set_new(
                    yield, s->skus[k],
                    y = json_pack("{s:I, s:I}", "pass", (json_int_t)0, "fail", (json_int_t)0));
            uint64_t p = s->results[k][0], f = 0;
            for (int c = 1; c < N_CLASSES; c++)
                f += s->results[k][c];
            json_object_set_new(
                y, "pass",
                json_integer(json_integer_value(json_object_get(y, "pass")) + (json_int_t)p));
            json_object_set_new(
                y, "fail",
                json_integer(json_integer_value(json_object_get(y, "fail")) + (json_int_t)f));
            pass += p;
            fail += f;
        }
        json_array_append_new(sites,
                              json_pack("{s:s, s:s, s:I, s:I, s:i}", "name", s->name, "state",
                                        !s->up    ? "degraded"
                                        : s->busy ? "busy"
                                                  : "idle",
                                        "pass", (json_int_t)pass, "fail", (json_int_t)fail,
                                        "restarts", (int)s->restarts));
    }
    for (size_t k = 0; k < m->last_count; k++) {
        const struct last_result *l = &m->last[(m->last_next + LAST_MAX - 1 - k) % LAST_MAX];
        json_array_append_new(last,
                              json_pack("{s:s, s:s, s:s, s:s, s:f, s:I}", "site", l->site, "sku",
                                        l->sku, "device", l->device, "class",
                                        station_exit_name((enum station_exit)l->exit_class),
                                        "seconds", l->seconds, "unix_ms", (json_int_t)l->unix_ms));
    }
    for (int st = 0; st < FLOW_STEP_COUNT; st++) {
        uint64_t count = 0;
        double sum = 0;
        for (size_t i = 0; i < m->n_sites; i++) {
            count += m->sites[i].steps[st].count;
            sum += m->sites[i].steps[st].sum;
        }
        if (count > 0)
            json_array_append_new(steps, json_pack("{s:s, s:f, s:I}", "step",
                                                   flow_step_name((enum flow_step)st), "mean_ms",
                                                   1000.0 * sum / (double)count, "count",
                                                   (json_int_t)count));
    }
    pthread_mutex_unlock(&m->lock);
    json_t *doc = json_pack("{s:s, s:o, s:o, s:o, s:o}", "version", FTHARNESS_VERSION, "sites",
                            sites, "last", last, "yield", yield, "steps", steps);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    *len = text ? strlen(text) : 0;
    return text;
}

/* The status page: no external assets; it draws /status.json every two seconds. */
static const char status_page[] =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ftharnessd</title><style>"
    "body{font:14px sans-serif;margin:1em 2em;color:#222}h1{font-size:20px}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #bbb;padding:3px 8px;text-align:left}"
    ".idle{background:#dfd}.busy{background:#ffd}.degraded{background:#fcc}"
    ".pass{color:#080}.fail{color:#c00}</style></head><body>"
    "<h1>ftharnessd <span id=\"version\"></span></h1>"
    "<h2>Sites</h2><table id=\"sites\"></table>"
    "<h2>Yield per SKU</h2><table id=\"yield\"></table>"
    "<h2>Mean step time</h2><canvas id=\"plot\" width=\"760\" height=\"40\"></canvas>"
    "<h2>Last results</h2><table id=\"last\"></table>"
    "<script>\n"
    "function cell(tag,text,cls){var c=document.createElement(tag);c.textContent=text;"
    "if(cls)c.className=cls;return c;}\n"
    "function table(id,head,rows){var t=document.getElementById(id);t.textContent='';"
    "var h=document.createElement('tr');head.forEach(function(x){h.appendChild(cell('th',x));});"
    "t.appendChild(h);rows.forEach(function(r){var tr=document.createElement('tr');"
    "r.forEach(function(x){tr.appendChild(cell('td',x[0],x[1]));});t.appendChild(tr);});}\n"
    "function plot(steps){var c=document.getElementById('plot'),g=c.getContext('2d');"
    "c.height=20+20*steps.length;g.clearRect(0,0,c.width,c.height);var "
    "max=1;steps.forEach(function(s){max=Math.max(max,"
    "s.mean_ms);});g.font='11px sans-serif';"
    "steps.forEach(function(s,i){var y=10+i*20;var len=(c.width-260)*s.mean_ms/max;"
    "g.fillStyle='#48c';g.fillRect(190,y,len,14);g.fillStyle='#222';g.fillText(s.step,4,y+11);"
    "g.fillText(s.mean_ms.toFixed(1)+' ms',196+len,y+11);});"
    "c.setAttribute('data-bars',steps.length);}\n"
    "function draw(d){document.getElementById('version').textContent=d.version;"
    "table('sites',['site','state','pass','fail','restarts'],d.sites.map(function(s){"
    "return [[s.name],[s.state,s.state],[String(s.pass),'pass'],[String(s.fail),'fail'],"
    "[String(s.restarts)]];}));"
    "table('yield',['SKU','pass','fail','yield'],Object.keys(d.yield).map(function(k){"
    "var y=d.yield[k],n=y.pass+y.fail;return [[k],[String(y.pass),'pass'],[String(y.fail),'fail'],"
    "[n?(100*y.pass/n).toFixed(1)+' %':'-']];}));"
    "table('last',['site','SKU','device','class','seconds'],d.last.map(function(r){return "
    "[[r.site],[r.sku],[r.device||'-'],[r.class,r.class=='pass'?'pass':'fail'],"
    "[r.seconds.toFixed(2)]];}));plot(d.steps);}\n"
    "function load(){fetch('/status.json').then(function(r){return r.json();}).then(draw)"
    ".catch(function(){});}\nload();setInterval(load,2000);\n"
    "</script></body></html>\n";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
    (void)version;
    (void)upload;
    (void)state;
    struct metrics *m = cls;
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;
    size_t len = 0;
    char *text = NULL;
    if (*upload_len != 0 || strcmp(method, "GET") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/") == 0) {
        resp = MHD_create_response_from_buffer(sizeof(status_page) - 1, (void *)status_page,
                                               MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
        enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return rc;
    } else if (strcmp(url, "/status.json") != 0 && strcmp(url, "/metrics") != 0) {
        status = MHD_HTTP_NOT_FOUND;
    } else if ((text = strcmp(url, "/metrics") == 0 ? render(m, &len) : render_status(m, &len)) ==
               NULL) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (status == MHD_HTTP_OK) {
        resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, "Content-Type",
                                strcmp(url, "/metrics") == 0
                                    ? "text/plain; version=0.0.4; charset=utf-8"
                                    : "application/json");
    } else {
        static const char why[] = "GET /, /status.json or /metrics\n";
        resp =
            MHD_create_response_from_buffer(sizeof(why) - 1, (void *)why, MHD_RESPMEM_PERSISTENT);
    }
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

struct metrics *metrics_start(const struct station_config *cfg, struct ft_error *err)
{
    char host[64];
    snprintf(host, sizeof(host), "%s", cfg->metrics_listen);
    char *colon = strrchr(host, ':');
    if (colon == NULL) {
        ft_fail(err, FT_E_INVALID, "metrics.listen %s: expected HOST:PORT", cfg->metrics_listen);
        return NULL;
    }
    *colon = '\0';
    const char *port = colon + 1;
    char *name = host;
    if (name[0] == '[' && colon > host && colon[-1] == ']') {
        name++;
        colon[-1] = '\0';
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(name, port, &hints, &ai);
    if (gai != 0) {
        ft_fail(err, FT_E_INVALID, "metrics.listen %s: %s", cfg->metrics_listen, gai_strerror(gai));
        return NULL;
    }
    struct metrics *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        freeaddrinfo(ai);
        ft_fail(err, FT_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->n_sites = cfg->n_sites;
    for (size_t i = 0; i < cfg->n_sites; i++)
        snprintf(m->sites[i].name, sizeof(m->sites[i].name), "%s", cfg->sites[i].name);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    m->http = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
                               ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, 16u,
                               MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (m->http == NULL) {
        ft_fail(err, FT_E_INVALID, "metrics.listen %s: cannot listen there", cfg->metrics_listen);
        metrics_stop(m);
        return NULL;
    }
    return m;
}

void metrics_stop(struct metrics *m)
{
    if (m == NULL)
        return;
    if (m->http != NULL)
        MHD_stop_daemon(m->http);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
