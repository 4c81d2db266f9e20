/* ftpa: the reference endorsement service (the PA API over HTTP/JSON, docs/pa-api.md).
 *   ftpa init  --config-dir DIR --sku NAME [...]     development PKI and configuration
 *   ftpa serve --config-dir DIR --db FILE [...]      run the service
 *   ftpa export --db FILE                            RegistryRecords, decoded, as JSON lines */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/version.h"
#include "pa/pa_client.h"
#include "pa/pa_http.h"
#include "pa/pa_init.h"
#include "pa/pa_registry.h"
#include "pa/pa_service.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

/* Only flags: the main thread acts on them between signals. */
static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_requested = 1;
    else
        stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ftpa init  --config-dir DIR --sku NAME [--password-file F] [--dice-subject DN]\n"
        "                  [--ext-subject DN | --no-ext] [--root-subject DN] [--hash-order LIST]\n"
        "                  [--boot-message TEXT] [--force]\n"
        "       ftpa serve --config-dir DIR --db FILE [--listen ADDR:PORT] [--port-file F]\n"
        "                  [--tls-cert PEM --tls-key PEM --client-ca PEM] [--max-body BYTES]\n"
        "                  [--threads N] [--reader-token-file F] [--max-connections N]\n"
        "                  [--max-connections-per-peer N] [--idle-timeout-s S]\n"
        "                  [--request-timeout-s S] [--no-endpoint-check] [--latency-ms N]\n"
        "                  [--fault-dir DIR]\n"
        "       ftpa export --db FILE\n"
        "       ftpa --version\n"
        "       ftpa call  --url URL [--user-id ID] [--token T | --token-file F] [--ca PEM]\n"
        "                  [--cert PEM --key PEM] [--pin sha256//B64] [--timeout-ms N]\n"
        "                  [--repeat N [--interval-ms MS]] RPC JSON|@FILE\n"
        "\n"
        "init   writes DIR/sku_NAME.json, adds NAME to DIR/sku_auth.json and creates the\n"
        "       development PKI under DIR/NAME/ (root, DICE and ext ICAs, identity key, token\n"
        "       seeds, RMA wrapping key; was-seed.hex for ftsim --was-seed). Without\n"
        "       --password-file a random password is written to DIR/NAME/password (mode 0600).\n"
        "       --hash-order is the X.509 cert names in blob order, comma separated\n"
        "       (default UDS,CDI_0,CDI_1; add TPM EK for emulation_tpm). NAME is [a-z0-9_]+.\n"
        "       A SKU already configured is refused; --force replaces its CA, keys, seeds\n"
        "       and password (every station and chip using them must then change too).\n"
        "serve  runs the PA API until SIGINT/SIGTERM, then finishes requests in flight.\n"
        "       SIGHUP reloads sku_auth.json and the SKU files (new SKUs included): all of\n"
        "       them or, when one is bad, none (the log says which file and key).\n"
        "       Default --listen 127.0.0.1:0 (a free port: written to --port-file and stdout).\n"
        "       With --tls-* every client must present a certificate from --client-ca, and\n"
        "       an RPC is refused (UNKNOWN) unless the certificate's IP subjectAltName is the\n"
        "       client's address or a DNS one is the first label of its reverse-DNS name;\n"
        "       --no-endpoint-check turns that off (for clients behind NAT).\n"
        "       --latency-ms N delays every RPC's answer by N ms (a service far away, for\n"
        "       benchmarks and tests; give --threads for the calls in flight at once).\n"
        "       --fault-dir DIR: a test plants a fault for one caller's next call of one\n"
        "       RPC as the file DIR/USER_ID.RPC ('/' in the user id written '_'), e.g.\n"
        "       DIR/host_s1.EndorseCerts, holding \"status CODE\" (answer with that gRPC\n"
        "       code), \"delay MS\" (answer late) or \"close\" (drop the connection); the\n"
        "       call takes the file (removes it), so the fault fires once.\n"
        "       GET /ftpa/v1/registry and /ftpa/v1/devices/ID need \"authorization: Bearer\n"
        "       TOKEN\" with the token in --reader-token-file (16 characters or more);\n"
        "       without it they are refused.\n"
        "       Connections over --max-connections (default 512, at most 832) or from one\n"
        "       client address over --max-connections-per-peer (default 32) get 503\n"
        "       UNAVAILABLE; beyond 64 more, or twice the per-peer limit, they are closed\n"
        "       unanswered. A connection silent for --idle-timeout-s (default 10) is closed;\n"
        "       so is one whose request (headers and body) takes over --request-timeout-s\n"
        "       (default 30) from its accept or the end of the previous response.\n"
        "export prints every RegistryRecord, one JSON object per line: the record as stored\n"
        "       (its signature verifies over data) and device_data, its DeviceData decoded.\n"
        "call   sends one request with the harness's own client and prints the reply body;\n"
        "       exit 0 for a 2xx reply, 3 for an error reply, 1 for a transport failure.\n"
        "       @FILE (\"-\": stdin) reads the request from a file, so a password in it never\n"
        "       shows in ps(1). URL is http(s):// (HTTP/JSON) or grpc(s):// (native gRPC).\n"
        "       --repeat N makes the call N times with one client (the last reply printed)\n"
        "       and says on stderr how many connections that took: keep-alive through a\n"
        "       proxy or a gRPC server can be checked so; --interval-ms waits between calls\n"
        "       (past an idle timeout, say).\n");
}

#define READER_TOKEN_MIN 16u
#define BODY_MAX (1u << 20)

static char *read_password_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "ftpa: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n <= 0) {
        free(line);
        fprintf(stderr, "ftpa: %s: empty password file\n", path);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

static int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {{"config-dir", required_argument, NULL, 'd'},
                                         {"sku", required_argument, NULL, 's'},
                                         {"password-file", required_argument, NULL, 'p'},
                                         {"dice-subject", required_argument, NULL, 'D'},
                                         {"ext-subject", required_argument, NULL, 'E'},
                                         {"no-ext", no_argument, NULL, 'N'},
                                         {"root-subject", required_argument, NULL, 'R'},
                                         {"hash-order", required_argument, NULL, 'H'},
                                         {"boot-message", required_argument, NULL, 'B'},
                                         {"force", no_argument, NULL, 'F'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct pa_init_options o = {
        .root_subject = "/C=US/O=OpenTitan/CN=ftharness development root",
        .dice_subject = "/C=US/ST=CA/O=OpenTitan/CN=ftharness development DICE ICA",
        .ext_subject = "/C=US/ST=CA/O=OpenTitan/CN=ftharness development EXT ICA",
    };
    char order[512] = "UDS,CDI_0,CDI_1";
    char *password = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            o.dir = optarg;
            break;
        case 's':
            o.sku = optarg;
            break;
        case 'p':
            free(password);
            if ((password = read_password_file(optarg)) == NULL)
                return 2;
            break;
        case 'D':
            o.dice_subject = optarg;
            break;
        case 'E':
            o.ext_subject = optarg;
            break;
        case 'N':
            o.ext_subject = NULL;
            break;
        case 'R':
            o.root_subject = optarg;
            break;
        case 'H':
            snprintf(order, sizeof(order), "%s", optarg);
            break;
        case 'B':
            o.boot_message = optarg;
            break;
        case 'F':
            o.force = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (o.dir == NULL || o.sku == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    char *save = NULL;
    for (char *name = strtok_r(order, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        if (o.n_hash_order == PA_INIT_HASH_ORDER_MAX) {
            fprintf(stderr, "ftpa: --hash-order: more than %u names\n", PA_INIT_HASH_ORDER_MAX);
            return 2;
        }
        o.hash_order[o.n_hash_order++] = name;
    }
    o.password = password;
    struct ft_error err = {0};
    int rc = pa_init_sku(&o, &err);
    if (password)
        memset(password, 0, strlen(password));
    free(password);
    if (rc != 0) {
        fprintf(stderr, "ftpa init: %s\n", err.message);
        return 1;
    }
    printf("ftpa: SKU %s configured in %s\n", o.sku, o.dir);
    return 0;
}

static int parse_listen(const char *arg, char *addr, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(arg, ':');
    char *end;
    unsigned long p = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == arg || (size_t)(colon - arg) >= cap || *end != '\0' ||
        colon[1] == '\0' || p > 65535) {
        fprintf(stderr, "ftpa: --listen: expected ADDR:PORT, got \"%s\"\n", arg);
        return -1;
    }
    memcpy(addr, arg, (size_t)(colon - arg));
    addr[colon - arg] = '\0';
    *port = (uint16_t)p;
    return 0;
}

/* A count or a number of seconds for OPTION: decimal digits only, 1 to 100000. */
static int parse_positive(const char *option, const char *arg, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || v == 0 || v > 100000) {
        fprintf(stderr, "ftpa: %s: expected a number from 1 to 100000, got \"%s\"\n", option, arg);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"config-dir", required_argument, NULL, 'd'},
                                         {"db", required_argument, NULL, 'b'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"port-file", required_argument, NULL, 'P'},
                                         {"tls-cert", required_argument, NULL, 'c'},
                                         {"tls-key", required_argument, NULL, 'k'},
                                         {"client-ca", required_argument, NULL, 'a'},
                                         {"max-body", required_argument, NULL, 'm'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"reader-token-file", required_argument, NULL, 'r'},
                                         {"max-connections", required_argument, NULL, 'C'},
                                         {"max-connections-per-peer", required_argument, NULL, 'p'},
                                         {"idle-timeout-s", required_argument, NULL, 'I'},
                                         {"request-timeout-s", required_argument, NULL, 'R'},
                                         {"no-endpoint-check", no_argument, NULL, 'E'},
                                         {"latency-ms", required_argument, NULL, 'L'},
                                         {"fault-dir", required_argument, NULL, 'F'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct pa_service_options so = {.log = stderr};
    char address[64] = "127.0.0.1";
    struct pa_http_options ho = {.address = address, .max_body = 1u << 20, .threads = 4};
    const char *port_file = NULL;
    char *reader_token = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            so.config_dir = optarg;
            break;
        case 'b':
            so.db_path = optarg;
            break;
        case 'l':
            if (parse_listen(optarg, address, sizeof(address), &ho.port) != 0)
                return 2;
            break;
        case 'P':
            port_file = optarg;
            break;
        case 'c':
            ho.tls_cert = optarg;
            break;
        case 'k':
            ho.tls_key = optarg;
            break;
        case 'a':
            ho.client_ca = optarg;
            break;
        case 'm':
            ho.max_body = strtoul(optarg, NULL, 10);
            break;
        case 't':
            ho.threads = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            free(reader_token);
            if ((reader_token = read_password_file(optarg)) == NULL)
                return 2;
            if (strlen(reader_token) < READER_TOKEN_MIN) {
                fprintf(stderr, "ftpa: %s: a reader token has at least %u characters\n", optarg,
                        READER_TOKEN_MIN);
                free(reader_token);
                return 2;
            }
            ho.reader_token = reader_token;
            break;
        case 'E':
            ho.no_endpoint_check = true;
            break;
        case 'L':
            if (parse_positive("--latency-ms", optarg, &ho.latency_ms) != 0 ||
                ho.latency_ms > 60000) {
                fprintf(stderr, "ftpa: --latency-ms: at most 60000\n");
                return 2;
            }
            break;
        case 'F':
            ho.fault_dir = optarg;
            break;
        case 'C':
            if (parse_positive("--max-connections", optarg, &ho.max_connections) != 0)
                return 2;
            break;
        case 'p':
            if (parse_positive("--max-connections-per-peer", optarg,
                               &ho.max_connections_per_peer) != 0)
                return 2;
            break;
        case 'I':
            if (parse_positive("--idle-timeout-s", optarg, &ho.idle_timeout_s) != 0)
                return 2;
            break;
        case 'R':
            if (parse_positive("--request-timeout-s", optarg, &ho.request_timeout_s) != 0)
                return 2;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (so.config_dir == NULL || so.db_path == NULL || optind != argc || ho.max_body == 0 ||
        ho.threads == 0 || ho.threads > 64) {
        usage(stderr);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    /* Server threads inherit a blocked mask, so only this thread takes the signals. */
    pthread_sigmask(SIG_BLOCK, &block, &old);

    struct ft_error err = {0};
    struct pa_service *svc = NULL;
    struct pa_http *http = NULL;
    uint16_t port = 0;
    if (pa_service_new(&so, &svc, &err) != 0 || pa_http_start(svc, &ho, &http, &port, &err) != 0) {
        fprintf(stderr, "ftpa serve: %s\n", err.message);
        pa_service_free(svc);
        return 1;
    }
    if (port_file != NULL) {
        FILE *f = fopen(port_file, "w");
        if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) {
            fprintf(stderr, "ftpa serve: cannot write %s\n", port_file);
            pa_http_stop(http);
            pa_service_free(svc);
            return 1;
        }
    }
    printf("ftpa: listening on %s:%u (%s)\n", address, port, ho.tls_cert ? "https" : "http");
    fflush(stdout);
    /* The signals are blocked but inside sigsuspend, so a flag is never missed. The
     * reload runs here, not in the handler; it logs its own outcome. */
    while (!stop_requested) {
        sigsuspend(&old);
        if (reload_requested && !stop_requested) {
            reload_requested = 0;
            pa_service_reload(svc, NULL);
        }
    }
    fprintf(stderr, "<6>ftpa: stopping\n");
    pa_http_stop(http);
    pa_service_free(svc);
    free(reader_token);
    return 0;
}

static int cmd_export(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--db") != 0) {
        usage(stderr);
        return 2;
    }
    struct pa_registry *reg = NULL;
    struct ft_error err = {0};
    struct pa_export_counts counts = {0};
    if (pa_registry_open(argv[2], &reg, &err) != 0 ||
        pa_registry_export_decoded(reg, stdout, &counts, &err) != 0) {
        fprintf(stderr, "ftpa export: %s\n", err.message);
        pa_registry_close(reg);
        return 1;
    }
    pa_registry_close(reg);
    if (counts.undecodable > 0) {
        /* Every record was written; the ones that did not decode say why in the line. */
        fprintf(stderr, "ftpa: %zu records, %zu not decodable (see decode_error)\n", counts.records,
                counts.undecodable);
        return 1;
    }
    fprintf(stderr, "ftpa: %zu records\n", counts.records);
    return 0;
}

/* The request of `ftpa call @FILE` ("-": stdin), so a password never sits in argv where
 * ps(1) shows it. */
static char *read_body(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "ftpa call: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t cap = 0;
    FILE *mem = open_memstream(&text, &cap);
    char chunk[4096];
    size_t n, total = 0;
    while (mem != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0 && total <= BODY_MAX) {
        fwrite(chunk, 1, n, mem);
        total += n;
    }
    bool failed = ferror(f) || mem == NULL;
    if (f != stdin)
        fclose(f);
    if (mem != NULL)
        fclose(mem);
    if (failed || total > BODY_MAX) {
        fprintf(stderr, "ftpa call: %s: %s\n", path,
                failed ? "cannot read it" : "larger than 1 MiB");
        free(text);
        return NULL;
    }
    return text;
}

static int cmd_call(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},         {"user-id", required_argument, NULL, 'i'},
        {"token", required_argument, NULL, 't'},       {"token-file", required_argument, NULL, 'T'},
        {"ca", required_argument, NULL, 'a'},          {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},         {"pin", required_argument, NULL, 'p'},
        {"timeout-ms", required_argument, NULL, 'o'},  {"repeat", required_argument, NULL, 'r'},
        {"interval-ms", required_argument, NULL, 'w'}, {NULL, 0, NULL, 0}};
    unsigned long repeat = 1, interval_ms = 0;
    struct pa_client_options o = {.user_id = "ftpa-call/0", .max_attempts = 1};
    char *token = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'u':
            o.base_url = optarg;
            break;
        case 'i':
            o.user_id = optarg;
            break;
        case 't':
            free(token);
            token = strdup(optarg);
            break;
        case 'T':
            free(token);
            if ((token = read_password_file(optarg)) == NULL)
                return 2;
            break;
        case 'a':
            o.ca_file = optarg;
            break;
        case 'c':
            o.cert_file = optarg;
            break;
        case 'k':
            o.key_file = optarg;
            break;
        case 'p':
            o.pinned_pubkey = optarg;
            break;
        case 'o':
            o.total_timeout_ms = strtol(optarg, NULL, 10);
            break;
        case 'r': {
            char *end;
            repeat = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || repeat < 1 || repeat > 1000000) {
                fprintf(stderr, "ftpa call: --repeat %s: not a count from 1 to 1000000\n", optarg);
                return 2;
            }
            break;
        }
        case 'w': {
            char *end;
            interval_ms = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || interval_ms > 3600000) {
                fprintf(stderr, "ftpa call: --interval-ms %s: not 0 to 3600000\n", optarg);
                return 2;
            }
            break;
        }
        default:
            usage(stderr);
            return 2;
        }
    }
    if (o.base_url == NULL || optind + 2 != argc) {
        usage(stderr);
        return 2;
    }
    const char *rpc = argv[optind], *json = argv[optind + 1];
    char *body = NULL;
    if (json[0] == '@' && (body = read_body(json + 1)) == NULL)
        return 2;
    if (body != NULL)
        json = body;
    struct ft_error err = {0};
    struct pa_reply reply = {0};
    struct pa_client *c = NULL;
    int rc = 1;
    if (pa_client_global_init(&err) != 0 || (c = pa_client_new(&o, &err)) == NULL ||
        (token && pa_client_set_token(c, token, &err) != 0)) {
        fprintf(stderr, "ftpa call: %s\n", err.message);
        goto done;
    }
    for (unsigned long i = 0; i < repeat; i++) {
        if (i > 0 && interval_ms > 0)
            nanosleep(&(struct timespec){.tv_sec = (time_t)(interval_ms / 1000),
                                         .tv_nsec = (long)(interval_ms % 1000) * 1000000L},
                      NULL);
        if (pa_client_call(c, rpc, json, strlen(json), true, &reply, &err) == 0) {
            rc = 0;
        } else {
            fprintf(stderr, "ftpa call: %s\n", err.message);
            rc = reply.failure == PA_FAILURE_HTTP ? 3 : 1; /* the service said no : transport */
            break;
        }
    }
    if (repeat > 1)
        fprintf(stderr, "ftpa call: %llu calls, %llu connections\n",
                (unsigned long long)pa_client_stats(c).calls,
                (unsigned long long)pa_client_stats(c).connects);
    if (reply.body)
        printf("%s\n", reply.body);
done:
    pa_reply_release(&reply);
    pa_client_free(c);
    free(token);
    if (body != NULL) /* it may hold a SKU password */
        memset(body, 0, strlen(body));
    free(body);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "init") == 0)
        return cmd_init(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0)
        return cmd_export(argc - 1, argv + 1);
    if (strcmp(argv[1], "call") == 0)
        return cmd_call(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ftpa %s\n", FTHARNESS_VERSION);
        return 0;
    }
    fprintf(stderr, "ftpa: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
