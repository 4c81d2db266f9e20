#define _GNU_SOURCE
#include "cli/control_client.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/ftharness/control.sock"

static const char *const verbs[] = {"provision", "status", "sites",   "skus",
                                    "abort",     "reload", "records", NULL};

bool control_client_verb(const char *verb)
{
    for (size_t i = 0; verbs[i] != NULL; i++)
        if (strcmp(verb, verbs[i]) == 0)
            return true;
    return false;
}

struct client_opts {
    const char *socket, *site, *sku, *request_id, *device_id;
    long din[6]; /* year week lot wafer x y; -1 = not given */
    long limit;
    bool json, wait, benchtop;
    bool watch;         /* status: redraw every `interval_ms` */
    long interval_ms;   /* default 1000 */
    long count;         /* status --watch: stop after this many views; 0 = until ^C */
    long long since_ms; /* records: ended at or after (Unix ms); 0 = any */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ftharness provision --site S --sku X [--wait] [--request-id ID]\n"
            "                           [--year N --week N --lot N --wafer N --x N --y N]\n"
            "                           [--benchtop]\n"
            "       ftharness status [--watch [--interval SECONDS] [--count N]]\n"
            "       ftharness sites | skus | reload\n"
            "       ftharness abort --site S\n"
            "       ftharness records [--device-id 0x...] [--limit N] [--since WHEN]\n"
            "         WHEN: 30s, 15m, 2h, 1d ago, or YYYY-MM-DDTHH:MM[:SS] local time\n"
            "  common: [--socket PATH] (default $FTHARNESS_CONTROL_SOCKET, else %s)\n"
            "          [--json] (the daemon's replies as JSON lines)\n"
            "\n"
            "Talks to ftharnessd. provision returns once the daemon accepted the DUT; with\n"
            "--wait it prints each step and exits with the DUT's exit class (0 PASS, 3 device,\n"
            "4 service, 5 plugin, 6 validation, 7 aborted, 1 internal, 2 configuration).\n"
            "A request the daemon refuses exits 2; a daemon that cannot be reached exits 1.\n",
            DEFAULT_SOCKET);
}

/* --since: "30s", "15m", "2h", "1d" ago, or a local time "YYYY-MM-DDTHH:MM[:SS]". */
static int parse_since(const char *arg, long long *since_ms)
{
    char *end;
    long n = strtol(arg, &end, 10);
    static const char units[] = "smhd";
    static const long seconds[] = {1, 60, 3600, 86400};
    const char *unit =
        end != arg && n >= 0 && end[0] != '\0' && end[1] == '\0' ? strchr(units, end[0]) : NULL;
    time_t now = time(NULL), at;
    struct tm tm = {0};
    if (unit != NULL && n <= 3650L * 86400) {
        at = now - (time_t)(n * seconds[unit - units]);
    } else {
        const char *rest = strptime(arg, "%Y-%m-%dT%H:%M", &tm);
        if (rest != NULL && rest[0] == ':')
            rest = strptime(rest, ":%S", &tm);
        tm.tm_isdst = -1;
        if (rest == NULL || rest[0] != '\0' || (at = mktime(&tm)) == (time_t)-1) {
            fprintf(stderr,
                    "ftharness: --since \"%s\": expected 30s, 15m, 2h, 1d or "
                    "YYYY-MM-DDTHH:MM[:SS]\n",
                    arg);
            return -1;
        }
    }
    *since_ms = (long long)at * 1000;
    return 0;
}

static int parse(int argc, char **argv, struct client_opts *o)
{
    enum {
        O_SOCKET = 256,
        O_SITE,
        O_SKU,
        O_RID,
        O_DEV,
        O_LIMIT,
        O_JSON,
        O_WAIT,
        O_BENCH,
        O_HELP,
        O_WATCH,
        O_INTERVAL,
        O_COUNT,
        O_SINCE,
        O_DIN
    };
    static const struct option opts[] = {{"socket", required_argument, NULL, O_SOCKET},
                                         {"site", required_argument, NULL, O_SITE},
                                         {"sku", required_argument, NULL, O_SKU},
                                         {"request-id", required_argument, NULL, O_RID},
                                         {"device-id", required_argument, NULL, O_DEV},
                                         {"limit", required_argument, NULL, O_LIMIT},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"wait", no_argument, NULL, O_WAIT},
                                         {"benchtop", no_argument, NULL, O_BENCH},
                                         {"help", no_argument, NULL, O_HELP},
                                         {"watch", no_argument, NULL, O_WATCH},
                                         {"interval", required_argument, NULL, O_INTERVAL},
                                         {"count", required_argument, NULL, O_COUNT},
                                         {"since", required_argument, NULL, O_SINCE},
                                         {"year", required_argument, NULL, O_DIN + 0},
                                         {"week", required_argument, NULL, O_DIN + 1},
                                         {"lot", required_argument, NULL, O_DIN + 2},
                                         {"wafer", required_argument, NULL, O_DIN + 3},
                                         {"x", required_argument, NULL, O_DIN + 4},
                                         {"y", required_argument, NULL, O_DIN + 5},
                                         {NULL, 0, NULL, 0}};
    for (size_t i = 0; i < 6; i++)
        o->din[i] = -1;
    o->limit = -1;
    o->interval_ms = 1000;
    o->socket = getenv("FTHARNESS_CONTROL_SOCKET");
    if (o->socket == NULL)
        o->socket = DEFAULT_SOCKET;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case O_SOCKET:
            o->socket = optarg;
            break;
        case O_SITE:
            o->site = optarg;
            break;
        case O_SKU:
            o->sku = optarg;
            break;
        case O_RID:
            o->request_id = optarg;
            break;
        case O_DEV:
            o->device_id = optarg;
            break;
        case O_JSON:
            o->json = true;
            break;
        case O_WAIT:
            o->wait = true;
            break;
        case O_BENCH:
            o->benchtop = true;
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        case O_WATCH:
            o->watch = true;
            break;
        case O_INTERVAL: {
            double v = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(v >= 0.1 && v <= 3600)) {
                fprintf(stderr, "ftharness: --interval \"%s\": seconds in 0.1..3600\n", optarg);
                return -1;
            }
            o->interval_ms = (long)(v * 1000);
            break;
        }
        case O_SINCE:
            if (parse_since(optarg, &o->since_ms) != 0)
                return -1;
            break;
        case O_COUNT:
        case O_LIMIT:
        case O_DIN + 0:
        case O_DIN + 1:
        case O_DIN + 2:
        case O_DIN + 3:
        case O_DIN + 4:
        case O_DIN + 5: {
            long v = strtol(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || v > 1000000) {
                fprintf(stderr, "ftharness: \"%s\" is not a number\n", optarg);
                return -1;
            }
            if (opt == O_LIMIT)
                o->limit = v;
            else if (opt == O_COUNT)
                o->count = v;
            else
                o->din[opt - O_DIN] = v;
            break;
        }
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* The request line for the verb; the daemon checks every value (control_proto). */
static json_t *build_request(const char *verb, const struct client_opts *o)
{
    static const char *const din_keys[6] = {"year", "week", "lot", "wafer", "x", "y"};
    json_t *req = json_pack("{s:s, s:s}", "cmd", verb, "id", "cli");
    if (o->site)
        json_object_set_new(req, "site", json_string(o->site));
    if (o->sku)
        json_object_set_new(req, "sku", json_string(o->sku));
    if (o->request_id)
        json_object_set_new(req, "request_id", json_string(o->request_id));
    if (o->benchtop)
        json_object_set_new(req, "benchtop", json_true());
    json_t *din = json_object();
    for (size_t i = 0; i < 6; i++)
        if (o->din[i] >= 0)
            json_object_set_new(din, din_keys[i], json_integer(o->din[i]));
    if (json_object_size(din) > 0)
        json_object_set(req, "din", din);
    json_decref(din);
    if (o->device_id)
        json_object_set_new(req, "device_id", json_string(o->device_id));
    if (o->limit >= 0)
        json_object_set_new(req, "limit", json_integer(o->limit));
    return req;
}

static int connect_daemon(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "ftharness: control socket path too long: %s\n", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        fprintf(stderr, "ftharness: cannot reach ftharnessd at %s: %s (is it running? --socket)\n",
                path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static const char *str(json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

static long long num(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static void print_status(json_t *reply)
{
    printf("ftharnessd %s: %s, up %llds\n", str(reply, "version"), str(reply, "state"),
           num(reply, "uptime_s"));
    printf("%-16s %-9s %6s %6s %8s  %s\n", "site", "state", "pass", "fail", "restarts", "DUT");
    size_t i;
    json_t *site;
    json_array_foreach(json_object_get(reply, "sites"), i, site)
    {
        json_t *dut = json_object_get(site, "dut");
        char what[256] = "";
        if (dut != NULL)
            snprintf(what, sizeof(what), "%s at %s, %lld ms", str(dut, "sku"),
                     str(dut, "step")[0] ? str(dut, "step") : "start", num(dut, "elapsed_ms"));
        else if (str(site, "why")[0] != '\0')
            snprintf(what, sizeof(what), "(%s)", str(site, "why"));
        printf("%-16s %-9s %6lld %6lld %8lld  %s\n", str(site, "name"), str(site, "state"),
               num(site, "passes"), num(site, "fails"), num(site, "restarts"), what);
    }
    json_t *spool = json_object_get(reply, "spool");
    printf("registration: %s, spool depth %lld, oldest %lld s, refused %lld%s%s\n",
           str(spool, "register"), num(spool, "depth"), num(spool, "oldest_age_s"),
           num(spool, "rejected"), str(spool, "last_error")[0] ? ", last error: " : "",
           str(spool, "last_error"));
}

static void print_reply(const char *verb, json_t *reply)
{
    size_t i;
    json_t *item;
    if (strcmp(verb, "status") == 0) {
        print_status(reply);
    } else if (strcmp(verb, "sites") == 0) {
        json_array_foreach(json_object_get(reply, "sites"), i, item)
            printf("%-16s %s%s%s\n", str(item, "name"), str(item, "console"),
                   str(item, "boot_uart")[0] ? "  boot UART " : "", str(item, "boot_uart"));
    } else if (strcmp(verb, "skus") == 0) {
        json_array_foreach(json_object_get(reply, "skus"), i, item)
            printf("%s\n", json_string_value(item));
    } else if (strcmp(verb, "records") == 0) {
        json_array_foreach(json_object_get(reply, "records"), i, item)
        {
            time_t at = (time_t)(num(item, "end_unix_ms") / 1000);
            char when[32] = "-";
            struct tm tm;
            if (at > 0 && localtime_r(&at, &tm) != NULL)
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
            printf("%s %-8s %-4s %-12s %-16s %s %s\n", when, str(item, "site"), str(item, "status"),
                   str(item, "class"), str(item, "sku"),
                   str(item, "device_id")[0] ? str(item, "device_id") : "-", str(item, "error"));
        }
    } else {
        printf("%s: %s\n", verb, str(reply, "state"));
    }
}

/* records --since: the daemon keeps the last results; those older go. */
static void drop_older(json_t *records, long long since_ms)
{
    for (size_t i = json_array_size(records); i-- > 0;)
        if (json_integer_value(json_object_get(json_array_get(records, i), "end_unix_ms")) <
            since_ms)
            json_array_remove(records, i);
}

/* Reads reply lines until the one that ends this verb; returns the exit status. */
static int converse(int fd, const char *verb, const struct client_opts *o)
{
    FILE *in = fdopen(fd, "r");
    char *line = NULL;
    size_t cap = 0;
    int status = 1;
    bool provision = strcmp(verb, "provision") == 0;
    while (in != NULL && getline(&line, &cap, in) > 0) {
        json_t *ev = json_loads(line, 0, NULL);
        const char *event = str(ev, "event");
        if (o->since_ms > 0 && strcmp(event, "reply") == 0)
            drop_older(json_object_get(ev, "records"), o->since_ms);
        if (o->json) {
            char *text = json_dumps(ev, JSON_COMPACT);
            printf("%s\n", text ? text : line);
            free(text);
        }
        bool last = true;
        if (strcmp(event, "error") == 0) {
            fprintf(stderr, "ftharness %s: %s\n", verb, str(ev, "error"));
            status = 2;
        } else if (strcmp(event, "accepted") == 0) {
            if (!o->json)
                fprintf(stderr, "ftharness: site %s accepted the DUT (SKU %s)\n", str(ev, "site"),
                        str(ev, "sku"));
            status = 0;
            last = !o->wait;
        } else if (strcmp(event, "progress") == 0) {
            if (!o->json)
                fprintf(stderr, "  %-24s %9.1f ms\n", str(ev, "step"),
                        json_number_value(json_object_get(ev, "ms")));
            last = false;
        } else if (provision && strcmp(event, "result") == 0) {
            status = (int)num(ev, "exit_class");
            if (!o->json)
                fprintf(stderr, "ftharness: %s (site %s, %s, %s%s)%s%s\n", str(ev, "status"),
                        str(ev, "site"), str(ev, "sku"),
                        str(ev, "device_id")[0] ? str(ev, "device_id") : "unknown device",
                        json_is_true(json_object_get(ev, "replayed")) ? ", replayed" : "",
                        str(ev, "error")[0] ? ": " : "", str(ev, "error"));
        } else if (strcmp(event, "reply") == 0) {
            if (!o->json)
                print_reply(verb, ev);
            status = 0;
        } else {
            last = false;
        }
        json_decref(ev);
        if (last)
            break;
    }
    free(line);
    if (in != NULL)
        fclose(in);
    else
        close(fd);
    return status;
}

/* One request and its replies; returns the exit status. */
static int request(const char *verb, const struct client_opts *o)
{
    int fd = connect_daemon(o->socket);
    if (fd < 0)
        return 1;
    json_t *req = build_request(verb, o);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    size_t len = text ? strlen(text) : 0;
    bool sent = text != NULL && send(fd, text, len, MSG_NOSIGNAL) == (ssize_t)len &&
                send(fd, "\n", 1, MSG_NOSIGNAL) == 1;
    free(text);
    if (!sent) {
        fprintf(stderr, "ftharness: %s: %s\n", o->socket, strerror(errno));
        close(fd);
        return 1;
    }
    return converse(fd, verb, o);
}

/* status --watch: the view redrawn every interval (the screen cleared on a terminal). */
static int watch(const struct client_opts *o)
{
    bool tty = isatty(STDOUT_FILENO);
    for (long n = 0; o->count == 0 || n < o->count; n++) {
        if (n > 0) {
            struct timespec pause = {.tv_sec = o->interval_ms / 1000,
                                     .tv_nsec = (o->interval_ms % 1000) * 1000000L};
            nanosleep(&pause, NULL);
        }
        if (tty)
            fputs("\033[H\033[2J", stdout);
        int status = request("status", o);
        fflush(stdout);
        if (status != 0)
            return status;
    }
    return 0;
}

int control_client_main(int argc, char **argv)
{
    const char *verb = argv[0];
    struct client_opts o = {0};
    if (parse(argc, argv, &o) != 0)
        return 2;
    if (o.since_ms > 0 && o.limit < 0)
        o.limit = 1000; /* all the daemon keeps, then filtered here */
    if (o.watch && strcmp(verb, "status") == 0)
        return watch(&o);
    if ((strcmp(verb, "provision") == 0 && (o.site == NULL || o.sku == NULL)) ||
        (strcmp(verb, "abort") == 0 && o.site == NULL)) {
        fprintf(stderr, "ftharness %s: --site%s is required\n", verb,
                strcmp(verb, "provision") == 0 ? " and --sku are" : "");
        return 2;
    }
    return request(verb, &o);
}
