/* ftdi_testbed: emulated FTDI adapters with a simulated chip, for a program that talks
 * to them through the real libusb + libftdi1 (the way umockdev-run runs a program):
 *
 *   ftdi_testbed [--adapter SERIAL[:2232h|4232h]]... [chip options] -- COMMAND ARGS...
 *
 * The testbed (sysfs tree, device nodes, ioctl sockets) lives in this process; COMMAND
 * runs as a child with UMOCKDEV_DIR pointing at it and umockdev's preload library in
 * LD_PRELOAD, so its opens and ioctls of /dev/bus/usb/... reach the emulator here over
 * umockdev's socket. The chip model sits on the first adapter's channel A.
 *
 * --deny-access opens the testbed up to any user (directories world-traversable, files
 * world-readable, ioctl sockets connectable, the root directory world-writable with the
 * sticky bit since the preload binds its uevent sockets there) except the adapters' USB
 * device nodes, which get mode 0000: umockdev's preload opens the node file in the testbed
 * before it connects the ioctl socket, so a COMMAND run as another user (or as the owner,
 * but not as root) gets EACCES, as from a /dev/bus/usb node without a udev rule. Exits with
 * COMMAND's status (128 + signal when it was killed), 2 on a usage error, 1 when the
 * testbed cannot be set up. */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ftdi_chip.h"
#include "ftdi_emu.h"
#include "link/ftdi_spec.h"
#include "sim/sim_options.h"
#include "wire/simlink.h"

enum { ADAPTERS_MAX = 8 };

/* --unplug-after-bulk-in: 0 = never (parse_options sets it, main applies it). */
static unsigned unplug_after;
/* --deny-access (parse_options sets it, main applies it). */
static bool deny_access;
/* --pins: how the chip is wired to the first adapter (default map when not given). */
static struct ftdi_spec chip_pins;
static bool chip_pins_given;
/* --handler-socket: where the test's handler puts the next chip in (NEXT_CHIP). */
static const char *handler_path;
/* --dump-read-buffer: where the chip's SPI read buffer goes when COMMAND ends. */
static const char *dump_path;
static struct ftdi_chip chip;            /* large (flash, UART queues): not on the stack */
static struct ftdi_emu *handler_adapter; /* the chip's adapter, which "unplug=N" unplugs */

struct adapter {
    const char *serial;
    enum ftdi_emu_chip chip;
    struct ftdi_emu *emu;
};

static volatile sig_atomic_t child_pid;

/* Passes SIGTERM / SIGINT on; the child decides how to end, and its status is ours. */
static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ftdi_testbed [--adapter SERIAL[:2232h|4232h]]... [chip options] -- COMMAND "
            "ARGS...\n"
            "\n"
            "Runs COMMAND against emulated FTDI adapters (default: one FT2232H \"FTA1\"); a\n"
            "simulated chip is wired to the first adapter's channel A (default pin map).\n"
            "--pins PIN=PLACE,... wires it as `ftharness --console ftdi:` would name it\n"
            "  (tx_ready=ADBUS5,reset_n=ADBUS4,strap0=none,...; unnamed pins as the default).\n"
            "Chip options: every one of ftsim's (see ftsim --help), e.g. --sku NAME --seed N\n"
            "  --blank --two-stage --fault SPEC --timing upstream|zero, and\n"
            "  --console spi|uart (where the perso console runs; default spi)\n"
            "The chip's UART is wired to the first adapter's channel B.\n"
            "--unplug-after-bulk-in N unplugs the first adapter after N bulk-IN transfers.\n"
            "--handler-socket PATH serves ftsim's NEXT_CHIP there: the next chip of the row\n"
            "  goes in (a handler's part, for more than one DUT on the adapter).\n"
            "--deny-access makes the testbed usable by any user except the adapters' USB\n"
            "  device nodes (mode 0000): COMMAND run as a user other than root gets EACCES\n"
            "  opening them, as without the udev rule.\n"
            "--dump-read-buffer FILE writes the chip's SPI read buffer (2 KiB: what its\n"
            "  firmware last wrote for the host to read) to FILE when COMMAND ends.\n"
            "Prints the adapters' USB counters on stderr when COMMAND ends.\n");
}

static int parse_uint(const char *opt, const char *arg, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno != 0 || *end != '\0' || v > max || arg[0] < '0' || arg[0] > '9') {
        fprintf(stderr, "ftdi_testbed: %s: \"%s\" is not a number in 0..%lu\n", opt, arg, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_adapter(char *arg, struct adapter *a)
{
    char *colon = strchr(arg, ':');
    a->chip = FTDI_EMU_FT2232H;
    if (colon != NULL) {
        *colon = '\0';
        if (strcmp(colon + 1, "4232h") == 0) {
            a->chip = FTDI_EMU_FT4232H;
        } else if (strcmp(colon + 1, "2232h") != 0) {
            fprintf(stderr, "ftdi_testbed: --adapter: chip \"%s\" is not 2232h or 4232h\n",
                    colon + 1);
            return -1;
        }
    }
    if (arg[0] == '\0' || strlen(arg) > 32) {
        fprintf(stderr, "ftdi_testbed: --adapter: serial of 1..32 characters expected\n");
        return -1;
    }
    a->serial = arg;
    return 0;
}

enum {
    OPT_ADAPTER = 256,
    OPT_CONSOLE,
    OPT_UNPLUG,
    OPT_DENY_ACCESS,
    OPT_PINS,
    OPT_HANDLER,
    OPT_DUMP,
    OPT_HELP,
};

/* Returns the index of COMMAND in argv, or -1 after printing why. */
static int parse_options(int argc, char **argv, struct adapter *ad, size_t *n_ad,
                         struct sim_config *cfg)
{
    static const struct option longopts[] = {
        {"adapter", required_argument, NULL, OPT_ADAPTER},
        {"console", required_argument, NULL, OPT_CONSOLE},
        {"unplug-after-bulk-in", required_argument, NULL, OPT_UNPLUG},
        {"deny-access", no_argument, NULL, OPT_DENY_ACCESS},
        {"pins", required_argument, NULL, OPT_PINS},
        {"handler-socket", required_argument, NULL, OPT_HANDLER},
        {"dump-read-buffer", required_argument, NULL, OPT_DUMP},
        {"help", no_argument, NULL, OPT_HELP},
        SIM_OPTIONS_GETOPT,
        {NULL, 0, NULL, 0},
    };
    struct ft_error err = {0};
    unsigned long v;
    int opt, index;
    /* "+": stop at the first non-option, so COMMAND's own options are left alone. */
    while ((opt = getopt_long(argc, argv, "+", longopts, &index)) != -1) {
        int rc = 0;
        switch (opt) {
        case OPT_ADAPTER:
            if (*n_ad == ADAPTERS_MAX) {
                fprintf(stderr, "ftdi_testbed: at most %d adapters\n", ADAPTERS_MAX);
                return -1;
            }
            if (parse_adapter(optarg, &ad[*n_ad]) != 0)
                return -1;
            (*n_ad)++;
            break;
        case SIM_OPTIONS_VAL:
            rc = sim_options_set(cfg, longopts[index].name, optarg, &err);
            break;
        case OPT_UNPLUG:
            if (parse_uint("--unplug-after-bulk-in", optarg, 1000000, &v) != 0)
                return -1;
            unplug_after = v;
            break;
        case OPT_DENY_ACCESS:
            deny_access = true;
            break;
        case OPT_PINS:
            rc = ftdi_spec_parse(optarg, FTDI_SPEC_SPI, &chip_pins, &err);
            chip_pins_given = true;
            break;
        case OPT_CONSOLE:
            rc = sim_options_set_console(cfg, optarg, &err);
            break;
        case OPT_DUMP:
            dump_path = optarg;
            break;
        case OPT_HANDLER:
            handler_path = optarg;
            cfg->handler = true;
            break;
        case OPT_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
        if (rc != 0) {
            fprintf(stderr, "ftdi_testbed: %s\n", err.message);
            return -1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "ftdi_testbed: no COMMAND after --\n");
        usage(stderr);
        return -1;
    }
    return optind;
}

static int find_preload(struct dl_phdr_info *info, size_t size, void *out)
{
    (void)size;
    if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libumockdev-preload") != NULL)
        *(const char **)out = info->dlpi_name;
    return 0;
}

/* LD_PRELOAD for the child: the preload library this process runs under, then whatever
 * the caller had. ASAN_OPTIONS: a sanitized COMMAND would refuse to start with a library
 * ahead of its runtime, which is harmless for umockdev's preload. */
static int child_environment(void)
{
    const char *preload = NULL;
    dl_iterate_phdr(find_preload, &preload);
    if (preload == NULL || preload[0] == '\0') {
        fprintf(stderr, "ftdi_testbed: cannot locate libumockdev-preload.so in this process\n");
        return -1;
    }
    const char *old = getenv("LD_PRELOAD");
    const char *asan = getenv("ASAN_OPTIONS");
    char *lp = NULL, *ao = NULL;
    if (asprintf(&lp, "%s%s%s", preload, old && *old ? ":" : "", old ? old : "") < 0 ||
        asprintf(&ao, "%s%sverify_asan_link_order=0", asan ? asan : "", asan && *asan ? ":" : "") <
            0)
        return -1;
    int rc = setenv("LD_PRELOAD", lp, 1) == 0 && setenv("ASAN_OPTIONS", ao, 1) == 0 ? 0 : -1;
    free(lp);
    free(ao);
    return rc;
}

/* Writes a message from the forked child, where stdio is off limits: another thread
 * (umockdev's, the chip's) may have held a stdio lock at the fork. */
static void child_say(const char *a, const char *b)
{
    const char *parts[3] = {"ftdi_testbed: cannot run ", a, b};
    for (int i = 0; i < 3; i++)
        if (write(STDERR_FILENO, parts[i], strlen(parts[i])) < 0)
            return;
}

static int run_child(char **argv)
{
    /* SIGTERM / SIGINT stay blocked from before the fork until child_pid is set, so none
     * is lost in between; the child unblocks them after restoring the defaults. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("ftdi_testbed: fork");
        sigprocmask(SIG_SETMASK, &old, NULL);
        return 1;
    }
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[0], argv);
        child_say(argv[0], errno == ENOENT ? ": not found\n" : ": exec failed\n");
        _exit(127);
    }
    child_pid = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("ftdi_testbed: waitpid");
            return 1;
        }
    }
    child_pid = 0;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* nftw callback for --deny-access: directories 0755, files readable by all, sockets
 * connectable by all (connect needs write permission); symbolic links have no mode. */
static int open_up(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    mode_t mode;
    if (type == FTW_D)
        mode = 0755;
    else if (type == FTW_F && S_ISSOCK(st->st_mode))
        mode = 0777;
    else if (type == FTW_F && S_ISREG(st->st_mode))
        mode = (st->st_mode & 07777) | 0444;
    else if (type == FTW_SL || type == FTW_F)
        return 0; /* a symbolic link, or a file no COMMAND opens directly */
    else {
        fprintf(stderr, "ftdi_testbed: --deny-access: cannot read %s\n", path);
        return -1;
    }
    if (chmod(path, mode) != 0) {
        fprintf(stderr, "ftdi_testbed: --deny-access: chmod %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* --deny-access: the testbed open to every user but the adapters' device nodes. */
static int deny_device_access(struct ftdi_emu_testbed *tb, const struct adapter *ad, size_t n)
{
    char root[PATH_MAX], node[PATH_MAX + 32];
    if (ftdi_emu_testbed_root_dir(tb, root, sizeof(root)) != 0) {
        fprintf(stderr, "ftdi_testbed: --deny-access: no testbed root directory\n");
        return -1;
    }
    if (nftw(root, open_up, 16, FTW_PHYS) != 0)
        return -1;
    /* The preload binds a socket per uevent monitor in the root directory. */
    if (chmod(root, 01777) != 0) {
        fprintf(stderr, "ftdi_testbed: --deny-access: chmod %s: %s\n", root, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(node, sizeof(node), "%s/dev/bus/usb/%03d/%03d", root, ftdi_emu_busnum(ad[i].emu),
                 ftdi_emu_devnum(ad[i].emu));
        if (chmod(node, 0) != 0) {
            fprintf(stderr, "ftdi_testbed: --deny-access: chmod %s: %s\n", node, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Sends one simlink reply; -1 when the handler is gone. */
static int handler_reply(int fd, uint8_t status, const void *payload, size_t len)
{
    uint8_t header[SIMLINK_HEADER_SIZE];
    if (simlink_header_encode(header, status, len, NULL) != 0 ||
        send(fd, header, sizeof(header), MSG_NOSIGNAL) != (ssize_t)sizeof(header))
        return -1;
    return len == 0 || send(fd, payload, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* One handler request: NEXT_CHIP (with that chip's faults, as ftsim takes them) or INFO;
 * -1 ends the connection. */
static int serve_handler_request(int fd)
{
    static uint8_t payload[SIMLINK_PAYLOAD_MAX];
    static char info[SIMLINK_PAYLOAD_MAX];
    uint8_t header[SIMLINK_HEADER_SIZE];
    uint8_t op;
    size_t len;
    struct ft_error err = {0};
    struct simlink_request req;
    if (recv(fd, header, sizeof(header), MSG_WAITALL) != (ssize_t)sizeof(header) ||
        simlink_header_decode(header, &op, &len, &err) != 0 ||
        (len > 0 && recv(fd, payload, len, MSG_WAITALL) != (ssize_t)len))
        return -1;
    if (simlink_parse_request(op, payload, len, &req, &err) != 0 ||
        (req.op != SIMLINK_NEXT_CHIP && req.op != SIMLINK_INFO)) {
        const char *why =
            err.message[0] ? err.message : "the handler socket serves NEXT_CHIP and INFO";
        handler_reply(fd, SIMLINK_BAD_REQUEST, why, strlen(why));
        return -1;
    }
    if (req.op == SIMLINK_INFO) {
        sim_device_info(&chip.dev, info, sizeof(info));
        return handler_reply(fd, SIMLINK_OK, info, strlen(info));
    }
    /* The adapter's own fault, "unplug=N" (the N-th bulk-IN from now), is the testbed's;
     * the rest are the chip's. A new chip comes with the adapter plugged back in. */
    char given[SIMLINK_NEXT_CHIP_FAULTS_MAX + 1], faults[SIMLINK_NEXT_CHIP_FAULTS_MAX + 1];
    memcpy(given, req.data, req.len);
    given[req.len] = '\0';
    size_t n = 0;
    unsigned long unplug = 0;
    char *save = NULL;
    for (char *tok = strtok_r(given, " ,", &save); tok != NULL; tok = strtok_r(NULL, " ,", &save)) {
        if (strncmp(tok, "unplug=", 7) == 0) {
            if (parse_uint("unplug", tok + 7, 1000000, &unplug) != 0 || unplug == 0) {
                const char *why = "unplug=N needs N in 1..1000000";
                return handler_reply(fd, SIMLINK_BAD_REQUEST, why, strlen(why));
            }
            continue;
        }
        n += (size_t)snprintf(faults + n, sizeof(faults) - n, "%s%s", n ? " " : "", tok);
    }
    if (sim_device_next_chip(&chip.dev, faults, n, &err) != 0)
        return handler_reply(fd, SIMLINK_BAD_REQUEST, err.message, strlen(err.message));
    ftdi_emu_replug(handler_adapter);
    if (unplug > 0)
        ftdi_emu_unplug_after_bulk_in(handler_adapter, (unsigned)unplug);
    return handler_reply(fd, SIMLINK_OK, NULL, 0);
}

/* The handler's socket: each connection may send requests (ftsim's simlink framing) until
 * it closes. One connection at a time: a handler has one hand. */
static void *serve_handler(void *arg)
{
    int listen_fd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        while (serve_handler_request(fd) == 0) {
        }
        close(fd);
    }
    return NULL;
}

static int start_handler(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "ftdi_testbed: --handler-socket: path too long\n");
        return -1;
    }
    strcpy(addr.sun_path, path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    pthread_t thread;
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 4) != 0 ||
        pthread_create(&thread, NULL, serve_handler, (void *)(intptr_t)fd) != 0) {
        fprintf(stderr, "ftdi_testbed: --handler-socket %s: %s\n", path, strerror(errno));
        return -1;
    }
    pthread_detach(thread);
    return 0;
}

static int dump_read_buffer(struct ftdi_chip *model, const char *path)
{
    uint8_t copy[SPI_DEVICE_READ_BUFFER_SIZE];
    pthread_mutex_lock(&model->dev.lock);
    memcpy(copy, model->dev.spi.read_buffer, sizeof(copy));
    pthread_mutex_unlock(&model->dev.lock);
    FILE *f = fopen(path, "wb");
    bool ok = f != NULL && fwrite(copy, 1, sizeof(copy), f) == sizeof(copy);
    if (f != NULL && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "ftdi_testbed: --dump-read-buffer %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

static void print_counters(const struct adapter *ad, size_t n)
{
    char line[1024];
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof(line); i++) {
        struct ftdi_emu_counters c;
        ftdi_emu_get_counters(ad[i].emu, &c);
        int w = snprintf(line + len, sizeof(line) - len,
                         "%s%s: %lu control, %lu bulk-out (%lu bytes), %lu bulk-in (%lu bytes, "
                         "%lu payload)",
                         i ? "; " : "", ad[i].serial, c.control, c.bulk_out, c.out_bytes, c.bulk_in,
                         c.in_bytes, c.in_payload_bytes);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    fprintf(stderr, "ftdi_testbed: USB %s\n", line);
}

int main(int argc, char **argv)
{
    struct adapter ad[ADAPTERS_MAX];
    size_t n_ad = 0;
    struct sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.console = SIM_CONSOLE_SPI;
    int cmd = parse_options(argc, argv, ad, &n_ad, &cfg);
    if (cmd < 0)
        return 2;
    if (n_ad == 0) {
        static char default_serial[] = "FTA1";
        ad[n_ad++] = (struct adapter){.serial = default_serial, .chip = FTDI_EMU_FT2232H};
    }
    const char *why;
    if (!ftdi_emu_available(&why)) {
        fprintf(stderr, "ftdi_testbed: %s\n", why);
        return 1;
    }
    if (child_environment() != 0)
        return 1;
    /* Sets UMOCKDEV_DIR in this process's environment, which the child inherits. */
    struct ftdi_emu_testbed *tb = ftdi_emu_testbed_new();
    if (tb == NULL) {
        fprintf(stderr, "ftdi_testbed: cannot create the umockdev testbed\n");
        return 1;
    }
    for (size_t i = 0; i < n_ad; i++) {
        ad[i].emu = ftdi_emu_add(tb, ad[i].chip, ad[i].serial);
        if (ad[i].emu == NULL) {
            fprintf(stderr, "ftdi_testbed: cannot add adapter \"%s\"\n", ad[i].serial);
            ftdi_emu_testbed_free(tb);
            return 1;
        }
    }
    struct ft_error err = {0};
    if (ftdi_chip_attach(&chip, ad[0].emu, 0, &cfg, chip_pins_given ? &chip_pins.pins : NULL,
                         &err) != 0) {
        fprintf(stderr, "ftdi_testbed: chip model: %s\n", err.message);
        ftdi_emu_testbed_free(tb);
        return 1;
    }
    ftdi_chip_wire_uart(&chip, ad[0].emu, 1);
    if (unplug_after > 0)
        ftdi_emu_unplug_after_bulk_in(ad[0].emu, unplug_after);
    if (deny_access && deny_device_access(tb, ad, n_ad) != 0) {
        ftdi_chip_detach(&chip);
        ftdi_emu_testbed_free(tb);
        return 1;
    }
    handler_adapter = ad[0].emu;
    if (handler_path != NULL && start_handler(handler_path) != 0) {
        ftdi_chip_detach(&chip);
        ftdi_emu_testbed_free(tb);
        return 1;
    }
    int status = run_child(argv + cmd);
    if (handler_path != NULL)
        unlink(handler_path);
    if (dump_path != NULL && dump_read_buffer(&chip, dump_path) != 0 && status == 0)
        status = 1;
    print_counters(ad, n_ad);
    ftdi_chip_detach(&chip);
    ftdi_emu_testbed_free(tb);
    return status;
}
