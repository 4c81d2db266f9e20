/* ftharness: the tester-floor command line. `ftharness run` personalizes one DUT in the
 * foreground (no daemon needed); see ftharness(1) and `ftharness run --help`. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/control_client.h"
#include "common/install_paths.h"
#include "common/version.h"
#include "console/console.h"
#include "flow/flow.h"
#include "flow/flow_journal.h"
#include "pa/pa_client.h"
#include "station/links.h"
#include "station/plugin_flow.h"
#include "station/station_inputs.h"
#include "wire/device_id.h"

struct options {
    const char *sku;
    const char *sku_dir;
    const char *console;
    const char *boot_uart;
    const char *pa_url;
    const char *user_id;
    const char *password_file;
    const char *ca_file, *cert_file, *key_file, *pin;
    const char *plugin_dir;
    const char *record_dir;
    const char *record; /* register: the record file */
    unsigned lot, wafer, x, y, year, week;
    bool json, benchtop, no_register, reset;
    double timeout_scale;
};

static void usage(FILE *out)
{
    char plugins[PATH_MAX], skus[PATH_MAX], records[PATH_MAX];
    install_path(INSTALL_PLUGIN_DIR, plugins, sizeof(plugins));
    install_path(INSTALL_RECORD_DIR, records, sizeof(records));
    install_path(INSTALL_SKU_DIR, skus, sizeof(skus));
    fprintf(out,
            "usage: ftharness run --sku NAME|PATH --console uart:TTY|ftdi:ADAPTER|spi-sim:SOCKET\n"
            "                     --pa URL [--password-file F] [--user-id ID] [--lot N --wafer N\n"
            "                     --x N --y N] [--json] [--timeout-scale F] [options]\n"
            "       ftharness check OPTIONS   (the same checks as run, up to the chip)\n"
            "       ftharness register --record FILE --pa URL [--password-file F] [TLS]\n"
            "       ftharness provision|status|sites|skus|abort|reload|records ...  (the\n"
            "                     daemon's client: ftharness provision --help)\n"
            "       ftharness --version\n"
            "\n"
            "Personalizes one DUT: RMA token hash, certificate inputs, TBS export, checks,\n"
            "endorsement, SKU plugin, import, certs hash, chain validation, registration.\n"
            "Before the first byte goes to the chip it checks the SKU, the password, the\n"
            "service (session, CA certificates), the SKU plugin (loaded in its sandbox) and\n"
            "the console link; a failure there says \"chip untouched\". `check` runs only\n"
            "these checks and reports each.\n"
            "\n"
            "  --sku NAME|PATH       SKU configuration (NAME looks in --sku-dir DIR, default\n"
            "                        %s)\n"
            "  --console KIND:WHERE  uart:/dev/ttyUSB0 (kernel tty), ftdi:ADAPTER (SPI console\n"
            "                        on an FT2232H/FT4232H MPSSE channel), ftdi-uart:ADAPTER\n"
            "                        (UART console on an FTDI channel), spi-sim:PATH (ftsim\n"
            "                        socket, SPI console), uart-sim:PATH (same, UART console)\n"
            "                        ADAPTER: SERIAL[:CHANNEL] or KEY=VALUE,... with serial,\n"
            "                        desc, bus=BUS:DEV, index, channel, clock=15M (SPI),\n"
            "                        baud, xonxoff=on|off (UART), and the pin map (SPI):\n"
            "                        tx_ready=ADBUS5, reset_n=ACBUS0, strap0..2, rx_ready,\n"
            "                        test_done, test_error, test_start (=ADBUSn|ACBUSn|none)\n"
            "  --pa URL              endorsement service: https://pa.fab:8443 (HTTP/JSON) or\n"
            "                        grpcs://pa.fab:5001 (native gRPC); http://, grpc:// in clear\n"
            "  --password-file F     SKU password (first line); default $FTHARNESS_SKU_PASSWORD\n"
            "  --user-id ID          <host>/<site> for the service (default <hostname>/run-<pid>)\n"
            "  --ca F --cert F --key F --pin sha256//B64   TLS: server CA, client cert, key, pin\n"
            "  --lot N --wafer N --x N --y N --year N --week N   DIN for the registry record\n"
            "  --timeout-scale F     multiply every SKU deadline by F (e.g. 0.1 for a fast model)\n"
            "  --reset               pulse the chip's reset pin first (SPI/socket links)\n"
            "  --benchtop            make the RMA token here instead of asking the service\n"
            "  --no-register         skip RegisterDevice\n"
            "  --boot-uart KIND:WHERE  the chip's UART for the post-perso boot check when the\n"
            "                        console is SPI: uart:TTY or ftdi-uart:ADAPTER\n"
            "  --plugin-dir DIR      where SKU plugins live (default %s)\n"
            "  --record-dir DIR      device records, written at every state change (default\n"
            "                        $FTHARNESS_RECORD_DIR, else %s)\n"
            "  --json                print the device record as JSON on stdout\n"
            "\n"
            "Exit status: 0 PASS; 1 internal error; 2 usage; 3 device or link; 4 endorsement\n"
            "service; 5 SKU plugin; 6 validation (TBS, certificates, hashes).\n",
            skus, plugins, records);
}

static int parse_uint(const char *opt, const char *arg, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || v > max) {
        fprintf(stderr, "ftharness: %s: \"%s\" is not a number in 0..%u\n", opt, arg, max);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* An FTDI adapter text is checked here, so a typo is a usage error before the service
 * or the chip is touched; the links parse it again when they open. */
static int check_link_spec(const char *opt, const char *spec, bool console)
{
    struct ft_error err = {0};
    if (strncmp(spec, "ftdi", 4) != 0 || station_links_check_spec(opt, spec, console, &err) == 0)
        return 0;
    fprintf(stderr, "ftharness: %s\n", err.message);
    return -1;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    enum {
        O_SKU = 256,
        O_SKU_DIR,
        O_CONSOLE,
        O_BOOT_UART,
        O_PA,
        O_USER,
        O_PW,
        O_CA,
        O_CERT,
        O_KEY,
        O_PIN,
        O_PLUGIN_DIR,
        O_RECORD_DIR,
        O_RECORD,
        O_LOT,
        O_WAFER,
        O_X,
        O_Y,
        O_YEAR,
        O_WEEK,
        O_JSON,
        O_BENCH,
        O_NOREG,
        O_RESET,
        O_SCALE,
        O_HELP
    };
    static const struct option opts[] = {{"sku", required_argument, NULL, O_SKU},
                                         {"sku-dir", required_argument, NULL, O_SKU_DIR},
                                         {"console", required_argument, NULL, O_CONSOLE},
                                         {"boot-uart", required_argument, NULL, O_BOOT_UART},
                                         {"pa", required_argument, NULL, O_PA},
                                         {"user-id", required_argument, NULL, O_USER},
                                         {"password-file", required_argument, NULL, O_PW},
                                         {"ca", required_argument, NULL, O_CA},
                                         {"cert", required_argument, NULL, O_CERT},
                                         {"key", required_argument, NULL, O_KEY},
                                         {"pin", required_argument, NULL, O_PIN},
                                         {"plugin-dir", required_argument, NULL, O_PLUGIN_DIR},
                                         {"record-dir", required_argument, NULL, O_RECORD_DIR},
                                         {"record", required_argument, NULL, O_RECORD},
                                         {"lot", required_argument, NULL, O_LOT},
                                         {"wafer", required_argument, NULL, O_WAFER},
                                         {"x", required_argument, NULL, O_X},
                                         {"y", required_argument, NULL, O_Y},
                                         {"year", required_argument, NULL, O_YEAR},
                                         {"week", required_argument, NULL, O_WEEK},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"benchtop", no_argument, NULL, O_BENCH},
                                         {"no-register", no_argument, NULL, O_NOREG},
                                         {"reset", no_argument, NULL, O_RESET},
                                         {"timeout-scale", required_argument, NULL, O_SCALE},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    int opt, rc = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case O_SKU:
            o->sku = optarg;
            break;
        case O_SKU_DIR:
            o->sku_dir = optarg;
            break;
        case O_CONSOLE:
            o->console = optarg;
            rc = check_link_spec("--console", optarg, true);
            break;
        case O_BOOT_UART:
            o->boot_uart = optarg;
            rc = check_link_spec("--boot-uart", optarg, false);
            break;
        case O_PA:
            o->pa_url = optarg;
            break;
        case O_USER:
            o->user_id = optarg;
            break;
        case O_PW:
            o->password_file = optarg;
            break;
        case O_CA:
            o->ca_file = optarg;
            break;
        case O_CERT:
            o->cert_file = optarg;
            break;
        case O_KEY:
            o->key_file = optarg;
            break;
        case O_PIN:
            o->pin = optarg;
            break;
        case O_RECORD:
            o->record = optarg;
            break;
        case O_RECORD_DIR:
            o->record_dir = optarg;
            break;
        case O_PLUGIN_DIR:
            o->plugin_dir = optarg;
            break;
        case O_LOT:
            rc = parse_uint("--lot", optarg, 999, &o->lot);
            break;
        case O_WAFER:
            rc = parse_uint("--wafer", optarg, 99, &o->wafer);
            break;
        case O_X:
            rc = parse_uint("--x", optarg, 999, &o->x);
            break;
        case O_Y:
            rc = parse_uint("--y", optarg, 999, &o->y);
            break;
        case O_YEAR:
            rc = parse_uint("--year", optarg, 9, &o->year);
            break;
        case O_WEEK:
            rc = parse_uint("--week", optarg, 51, &o->week);
            break;
        case O_JSON:
            o->json = true;
            break;
        case O_BENCH:
            o->benchtop = true;
            break;
        case O_NOREG:
            o->no_register = true;
            break;
        case O_RESET:
            o->reset = true;
            break;
        case O_SCALE: {
            char *end;
            o->timeout_scale = strtod(optarg, &end);
            if (*end != '\0' || !(o->timeout_scale > 0 && o->timeout_scale <= 100)) {
                fprintf(stderr, "ftharness: --timeout-scale: \"%s\" is not in (0, 100]\n", optarg);
                rc = -1;
            }
            break;
        }
        case O_HELP:
            usage(stdout);
            exit(STATION_EXIT_PASS);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (rc != 0)
        return -1;
    bool registering = o->record != NULL;
    if (optind != argc || o->pa_url == NULL ||
        (!registering && (o->sku == NULL || o->console == NULL))) {
        fprintf(stderr, registering ? "ftharness register: --record and --pa are required\n"
                                    : "ftharness run: --sku, --console and --pa are required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* One progress line per step on a terminal. */
static void progress(void *arg, enum flow_step step, bool done, uint64_t us)
{
    (void)arg;
    if (done)
        fprintf(stderr, "  %-24s %9.1f ms\n", flow_step_name(step), us / 1000.0);
}

/* A bar for the bootstrap upload, redrawn in place; the step's line follows it. */
static void upload_progress(void *arg, size_t done, size_t total)
{
    (void)arg;
    enum { WIDTH = 40 };
    size_t filled = total ? done * WIDTH / total : WIDTH;
    char bar[WIDTH + 1];
    for (size_t i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r  bootstrap [%s] %3zu%% %zu/%zu bytes%s", bar,
            total ? done * 100 / total : 100, done, total, done == total ? "\n" : "");
}

/* After a SKU name that was not found: what the SKU directory offers. */
static void list_skus(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "ftharness: SKU directory %s: %s (give --sku-dir or a path)\n", dir,
                strerror(errno));
        return;
    }
    char names[1024] = "";
    size_t used = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0 && used + n < sizeof(names))
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%.*s", used ? ", " : "",
                                     (int)(n - 5), e->d_name);
    }
    closedir(d);
    fprintf(stderr, "ftharness: SKUs in %s: %s\n", dir, used ? names : "none");
}

/* SIGTERM and SIGINT end the run at its next wait (flow_env.abort_requested), so the
 * record says what the chip holds. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: a blocked wait returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* Everything a run prepares before the first byte goes to the chip (DESIGN §4, "check
 * before touching the chip"); `ftharness check` stops after it. */
struct station {
    struct options o;
    char default_skus[PATH_MAX], default_plugins[PATH_MAX], runner[PATH_MAX];
    char user[128];
    struct flow_sku sku;
    uint8_t *image, *second_image;
    size_t image_len, second_image_len;
    char *password;
    struct pa_client *pa;
    struct pa_client_options po;
    struct flow_ca ca;
    struct station_links links;
    struct plugin_flow_ctx plugin;
    char default_records[PATH_MAX];
    struct flow_journal journal;
    bool report; /* `check`: say "ok" for every step on stdout */
};

/* One preflight step's outcome: on failure the class's exit status and the reason,
 * always "chip untouched" (nothing was sent to it yet). */
static int step_result(const struct station *st, const char *step, int rc, int status,
                       const struct ft_error *err, const char *detail)
{
    if (rc != 0) {
        fprintf(stderr, "ftharness: %s: %s (chip untouched)\n", step, err->message);
        return status;
    }
    if (st->report)
        printf("ok   %s%s%s\n", step, detail ? ": " : "", detail ? detail : "");
    return STATION_EXIT_PASS;
}

static int check_sku(struct station *st, struct ft_error *err)
{
    int rc = flow_sku_load(st->o.sku_dir, st->o.sku, &st->sku, err);
    if (rc != 0) {
        fprintf(stderr, "ftharness: SKU: %s (chip untouched)\n", err->message);
        if (strchr(st->o.sku, '/') == NULL && strstr(st->o.sku, ".json") == NULL)
            list_skus(st->o.sku_dir);
        return STATION_EXIT_USAGE;
    }
    /* Each image against its generation's ROM: size, programmable addresses and, for the
     * FT bundle, a ROM_EXT in slot B (item 1 of docs/wire-formats.md's generation table). */
    const struct flow_sku *sku = &st->sku;
    rc = station_read_sku_images(sku, &st->image, &st->image_len, &st->second_image,
                                 &st->second_image_len, err);
    return step_result(st, "SKU", rc, STATION_EXIT_USAGE, err, st->sku.name);
}

static int check_service_session(struct station *st, struct ft_error *err)
{
    st->password = station_read_password("--password-file", st->o.password_file, err);
    int status =
        step_result(st, "SKU password", st->password ? 0 : -1, STATION_EXIT_USAGE, err, NULL);
    if (status != STATION_EXIT_PASS)
        return status;
    char host[64];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    /* The service keys sessions by user_id: two runs sharing one would replace each
     * other's token mid-DUT. Without --user-id each process is a site of its own. */
    snprintf(st->user, sizeof(st->user), "%s/run-%ld", host, (long)getpid());
    st->po = (struct pa_client_options){.base_url = st->o.pa_url,
                                        .user_id = st->o.user_id ? st->o.user_id : st->user,
                                        .ca_file = st->o.ca_file,
                                        .cert_file = st->o.cert_file,
                                        .key_file = st->o.key_file,
                                        .pinned_pubkey = st->o.pin};
    /* A URL, TLS file or pin that cannot work is local configuration (exit 2); only a
     * service that does not answer as it should is the service's class (exit 4). */
    int rc = pa_client_global_init(err) != 0 || (st->pa = pa_client_new(&st->po, err)) == NULL;
    status = step_result(st, "--pa and its TLS options", rc ? -1 : 0, STATION_EXIT_USAGE, err,
                         st->o.pa_url);
    if (status != STATION_EXIT_PASS)
        return status;
    rc = st->sku.n_certs > 0 ? flow_session_open(st->pa, &st->sku, st->password, &st->ca, err)
                             : flow_session_init(st->pa, st->sku.name, st->password, err);
    return step_result(st, "endorsement service", rc, STATION_EXIT_PA, err,
                       st->sku.n_certs > 0
                           ? "session open, CA certificates and subject keys fetched"
                           : "session open");
}

static int check_console_texts(struct station *st, struct ft_error *err)
{
    int rc = station_links_check_spec("--console", st->o.console, true, err);
    if (rc == 0 && st->o.boot_uart != NULL)
        rc = station_links_check_spec("--boot-uart", st->o.boot_uart, false, err);
    return step_result(st, "console text", rc, STATION_EXIT_USAGE, err, st->o.console);
}

static int check_records(struct station *st, struct ft_error *err)
{
    const char *dir = st->o.record_dir ? st->o.record_dir : getenv("FTHARNESS_RECORD_DIR");
    if (dir == NULL) {
        install_path(INSTALL_RECORD_DIR, st->default_records, sizeof(st->default_records));
        dir = st->default_records;
    }
    int rc = flow_journal_open(&st->journal, dir, err);
    return step_result(st, "record directory", rc, STATION_EXIT_USAGE, err, st->journal.dir);
}

static int check_plugin(struct station *st, struct ft_error *err)
{
    install_path(INSTALL_RUNNER, st->runner, sizeof(st->runner));
    st->plugin = (struct plugin_flow_ctx){
        .dir = st->o.plugin_dir, .runner = st->runner, .deadline_ms = 5000};
    char detail[FLOW_SKU_NAME_MAX + 64];
    snprintf(detail, sizeof(detail), "%s loads in the sandbox", st->sku.plugin);
    int rc = plugin_flow_check(&st->plugin, &st->sku, err);
    return step_result(st, "SKU plugin", rc, STATION_EXIT_PLUGIN, err, detail);
}

static int check_links(struct station *st, struct ft_error *err)
{
    int rc = station_links_open(&st->links, st->o.console, st->o.boot_uart, err);
    int status = step_result(st, "console", rc, STATION_EXIT_DEVICE, err, st->o.console);
    if (status != STATION_EXIT_PASS)
        return status;
    /* What the options and the SKU ask of the link. */
    const char *lacking = station_links_lacking(&st->links, st->image_len > 0, st->o.reset);
    if (lacking != NULL) {
        fprintf(stderr, "ftharness: %s: --console %s %s (chip untouched)\n", lacking, st->o.console,
                st->links.bus == NULL ? "has no SPI bus or GPIO" : "does not wire them");
        return STATION_EXIT_USAGE;
    }
    return STATION_EXIT_PASS;
}

/* Parses the options and runs every check that needs no chip, in order. */
static int prepare(struct station *st, int argc, char **argv, struct ft_error *err)
{
    st->o.timeout_scale = 1.0;
    install_path(INSTALL_SKU_DIR, st->default_skus, sizeof(st->default_skus));
    install_path(INSTALL_PLUGIN_DIR, st->default_plugins, sizeof(st->default_plugins));
    st->o.sku_dir = st->default_skus;
    st->o.plugin_dir = st->default_plugins;
    if (parse_options(argc, argv, &st->o) != 0)
        return STATION_EXIT_USAGE;
    int status;
    st->journal.dirfd = -1;
    if ((status = check_sku(st, err)) != STATION_EXIT_PASS ||
        (status = check_console_texts(st, err)) != STATION_EXIT_PASS ||
        (status = check_records(st, err)) != STATION_EXIT_PASS ||
        (status = check_service_session(st, err)) != STATION_EXIT_PASS ||
        (status = check_plugin(st, err)) != STATION_EXIT_PASS ||
        (status = check_links(st, err)) != STATION_EXIT_PASS)
        return status;
    return STATION_EXIT_PASS;
}

static void release(struct station *st)
{
    flow_journal_close(&st->journal);
    station_links_close(&st->links);
    flow_ca_free(&st->ca);
    pa_client_free(st->pa);
    if (st->password)
        memset(st->password, 0, strlen(st->password));
    free(st->password);
    free(st->image);
    free(st->second_image);
}

static int personalize(struct station *st, struct ft_error *err)
{
    const struct options *o = &st->o;
    if (o->reset && console_chip_reset(st->links.console, false, err) != 0) {
        fprintf(stderr, "ftharness: console: %s\n", err->message);
        return STATION_EXIT_DEVICE;
    }
    struct flow_env env = {
        .console = st->links.console,
        .boot_console = st->links.boot,
        .bootstrap_bus = st->links.bus,
        .bootstrap_image = st->image,
        .bootstrap_image_len = st->image_len,
        .bootstrap_second_image = st->second_image,
        .bootstrap_second_image_len = st->second_image_len,
        .pa = st->pa,
        .sku = &st->sku,
        .ca = &st->ca,
        .benchtop = o->benchtop,
        .register_device = !o->no_register,
        .timeout_scale = o->timeout_scale,
        .site = st->po.user_id,
        .year = o->year,
        .week = o->week,
        .lot = o->lot,
        .wafer = o->wafer,
        .x = o->x,
        .y = o->y,
        .progress = isatty(STDERR_FILENO) ? progress : NULL,
        .upload_progress = isatty(STDERR_FILENO) ? upload_progress : NULL,
        .plugin = plugin_flow_run,
        .post_boot = plugin_flow_post_boot,
        .plugin_arg = &st->plugin,
        .persist = flow_journal_persist,
        .find_earlier = flow_journal_find,
        .persist_arg = &st->journal,
        .abort_requested = &stop_requested,
    };
    struct flow_record rec;
    int status;
    int rc = flow_run(&env, &rec, err);
    /* The device as the registry names it, and where its record is, on the result line. */
    char device[DEVICE_ID_STRING_LEN + 1] = "unknown device";
    if (rec.has_device_id)
        device_id_to_string(rec.device_id, device);
    if (rc == 0) {
        status = STATION_EXIT_PASS;
        fprintf(stderr, "ftharness: PASS (%s, %s, record %s/%s)\n", st->sku.name, device,
                st->journal.dir, st->journal.name);
    } else {
        status = (int)station_exit_for(&rec);
        fprintf(stderr, "ftharness: FAIL (%s, %s, record %s/%s): %s\nftharness: DUT state: %s\n",
                st->sku.name, device, st->journal.dir, st->journal.name, err->message,
                rec.dut_state ? rec.dut_state : "unknown");
    }
    if (o->json) {
        char *json = flow_record_json(&rec, true);
        if (json)
            printf("%s\n", json);
        free(json);
    }
    flow_record_free(&rec);
    return status;
}

static int cmd_run(int argc, char **argv)
{
    struct station *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return STATION_EXIT_INTERNAL;
    catch_stop_signals();
    struct ft_error err = {0};
    int status = prepare(st, argc, argv, &err);
    if (status == STATION_EXIT_PASS)
        status = personalize(st, &err);
    release(st);
    free(st);
    return status;
}

/* `ftharness register`: RegisterDevice for a personalized but unregistered chip, from its
 * record (the run stopped at or before register-device, e.g. the service was down).
 * Idempotent at the service: the same record again succeeds; different data for the same
 * device is refused (409). */
static int cmd_register(int argc, char **argv)
{
    struct station *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return STATION_EXIT_INTERNAL;
    struct ft_error err = {0};
    struct flow_record rec = {0};
    int status = parse_options(argc, argv, &st->o) != 0 ? STATION_EXIT_USAGE : STATION_EXIT_PASS;
    char *text = status == STATION_EXIT_PASS ? flow_journal_read(st->o.record, &err) : NULL;
    if (status == STATION_EXIT_PASS &&
        (text == NULL || flow_record_parse(text, strlen(text), &rec, &err) != 0)) {
        fprintf(stderr, "ftharness register: %s: %s\n", st->o.record, err.message);
        status = STATION_EXIT_USAGE;
    } else if (status == STATION_EXIT_PASS && !rec.pass && rec.failed_step != FLOW_STEP_REGISTER) {
        fprintf(stderr,
                "ftharness register: %s: the run failed at %s, before the chip was "
                "personalized: there is nothing to register\n",
                st->o.record,
                rec.failed_step < FLOW_STEP_COUNT ? flow_step_name(rec.failed_step) : "its start");
        status = STATION_EXIT_USAGE;
    }
    free(text);
    if (status == STATION_EXIT_PASS) {
        snprintf(st->sku.name, sizeof(st->sku.name), "%s", rec.sku);
        status = check_service_session(st, &err);
    }
    if (status == STATION_EXIT_PASS && flow_register(st->pa, &rec, &err) != 0) {
        fprintf(stderr, "ftharness register: %s%s\n", err.message,
                strstr(err.message, "ALREADY_EXISTS") != NULL
                    ? " (409: the registry holds this device with other data: it was "
                      "registered from another record; compare them before anything else)"
                    : "");
        status = STATION_EXIT_PA;
    }
    if (status == STATION_EXIT_PASS)
        printf("ftharness register: %s registered (%s)\n", rec.sku, st->o.record);
    flow_record_free(&rec);
    release(st);
    free(st);
    return status;
}

/* `ftharness check`: the checks of `run` up to the chip, each reported, for station
 * bring-up; the chip is never touched. */
static int cmd_check(int argc, char **argv)
{
    struct station *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return STATION_EXIT_INTERNAL;
    st->report = true;
    struct ft_error err = {0};
    int status = prepare(st, argc, argv, &err);
    printf("%s\n", status == STATION_EXIT_PASS ? "check: ready (chip untouched)"
                                               : "check: not ready (chip untouched)");
    release(st);
    free(st);
    return status;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "register") == 0)
        return cmd_register(argc - 1, argv + 1);
    if (argc >= 2 && control_client_verb(argv[1]))
        return control_client_main(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return STATION_EXIT_PASS;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("ftharness %s\n", FTHARNESS_VERSION);
        return STATION_EXIT_PASS;
    }
    fprintf(stderr, "ftharness: unknown command (try: ftharness run --help)\n");
    return STATION_EXIT_USAGE;
}
