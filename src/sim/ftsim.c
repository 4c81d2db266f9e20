/* ftsim: a virtual Earlgrey chip running the perso firmware behaviour, reachable as a
 * pty (UART console) and/or a Unix socket (SPI bus + GPIO + UART, docs/ftsim.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/endian.h"
#include "common/hex.h"
#include "common/version.h"
#include "sim/sim_device.h"
#include "sim/sim_options.h"
#include "sim/sim_sku_file.h"
#include "wire/simlink.h"

static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    if (write(wake_pipe[1], "s", 1) < 0) {
        /* nothing to do: the pipe is full, a wake-up is already pending */
    }
    errno = saved;
}

struct options {
    struct sim_config cfg;
    const char *socket_path;
    bool pty;
    bool console_set;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ftsim [--socket PATH] [--pty] [options]\n"
        "\n"
        "A virtual OpenTitan Earlgrey chip running the FT personalization firmware.\n"
        "\n"
        "Transports (at least one):\n"
        "  --socket PATH          serve SPI transactions, GPIO and UART on a Unix socket\n"
        "  --pty                  expose the UART on a pseudo-terminal (path printed on stdout)\n"
        "  --console spi|uart     where the perso console runs (default: spi with --socket,\n"
        "                         uart with --pty alone)\n"
        "Chip:\n"
        "  --firmware NAME        the perso firmware and ROM generation the chip runs:\n"
        "                         a2-rc17, earlgrey-1.0.0 (default), master (2 MiB RRAM)\n"
        "                         (default with a SKU file: its \"firmware\")\n"
        "  --sku NAME|PATH        sival (default), emulation_tpm, sival_v1, emulation_tpm_v1,\n"
        "                         sival_inject (an Ext1 slot for one plugin-injected cert),\n"
        "                         sival_devseed (sival + one DevSeed object),\n"
        "                         or a harness SKU file (skus/*.json): its ext certificates,\n"
        "                         a slot per plugin.certs name, its dev_seeds\n"
        "  --dice-ca-subject DN   issuer of the UDS cert, e.g. /C=US/O=OpenTitan/CN=DICE ICA\n"
        "  --ext-ca-subject DN    issuer of SKU ext certs (TPM EK)\n"
        "  --was-seed HEX         32-byte WAS seed shared with the endorsement service\n"
        "  --was-diversifier TXT  WAS diversifier (default \"was\"), at most 48 bytes\n"
        "  --perso-hash HEX       PersoSha256Hash to report (default: derived, or the SHA-256\n"
        "                         of the bootstrapped image)\n"
        "  --seed N               all device randomness derives from N (default 1)\n"
        "  --duts N               chips served in a row, then exit (default 1, 0 = forever)\n"
        "  --year N --week N --lot N --wafer N --x N --y N   first chip's DIN\n"
        "                         (y grows per chip; past 999 it wraps and x grows)\n"
        "  --blank                flash starts empty: bootstrap the perso image first\n"
        "  --two-stage            the firmware asks for a second image (\"Bootstrap requested.\")\n"
        "Timing:\n"
        "  --timing upstream|zero per-step compute delays (upstream: about 375 ms per chip)\n"
        "  --step-delay STEP=MS   one step's delay; steps: rma certgen export import hash done\n"
        "Faults (repeatable --fault SPEC):\n"
        "  stall=STEP             stop responding at STEP\n"
        "  junk-frames=STEP       a junk SPI frame before every frame of STEP\n"
        "  wrong-frame-number=STEP  first frame of STEP skips a frame number\n"
        "  reset=STEP             spontaneous chip reset at STEP (once per chip)\n"
        "  disconnect=STEP        drop the link in the middle of STEP's output\n"
        "  truncated-response=STEP  cut STEP's RESP_OK line (export, hash) short\n"
        "  bad-crc=STEP           wrong CRC on STEP's RESP_OK line (export, hash)\n"
        "  check-fail=STEP        a failed CHECK at STEP: OTTF error log line, FAIL!, stop\n"
        "  corrupt-tlv            wrong size in the exported blob's first cert header\n"
        "  oversize-object        a bloated 3.9 KB UDS TBS in the exported blob\n"
        "  bad-was-hmac           flip a bit of the WAS HMAC\n"
        "  bad-hash               flip a bit of the final certs hash\n"
        "  test-error             OTP finalization fails: TestError GPIO, no TestDone\n"
        "  reject-import          refuse the imported certs: TestError, Personalization done.\n"
        "  bad-boot               after perso, the boot stops with a ROM_EXT fault (BFV)\n"
        "  slow=FACTOR            multiply every step delay by FACTOR\n"
        "Other:\n"
        "  --upstream-der         certs keep upstream's explicit DEFAULT FALSE encodings\n"
        "                         (critical FALSE, cA FALSE), which strict DER parsers reject\n"
        "  --verbose              log the model's decisions on stderr\n"
        "  --otp-state FILE       keep the first chip's OTP (SECRET2) in FILE across runs:\n"
        "                         such a chip skips the RMA step, as silicon does\n"
        "  --help                 this text\n"
        "  --version              print the version and exit\n");
}

enum {
    OPT_SOCKET = 256,
    OPT_PTY,
    OPT_CONSOLE,
    OPT_HELP,
    OPT_VERSION,
};

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"pty", no_argument, NULL, OPT_PTY},
        {"console", required_argument, NULL, OPT_CONSOLE},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        SIM_OPTIONS_GETOPT,
        {NULL, 0, NULL, 0},
    };
    struct sim_config *cfg = &o->cfg;
    struct ft_error err = {0};
    int opt, index;
    while ((opt = getopt_long(argc, argv, "", longopts, &index)) != -1) {
        switch (opt) {
        case OPT_SOCKET:
            o->socket_path = optarg;
            break;
        case OPT_PTY:
            o->pty = true;
            break;
        case OPT_CONSOLE:
            if (sim_options_set_console(cfg, optarg, &err) != 0) {
                fprintf(stderr, "ftsim: %s\n", err.message);
                return -1;
            }
            o->console_set = true;
            break;
        case SIM_OPTIONS_VAL:
            if (sim_options_set(cfg, longopts[index].name, optarg, &err) != 0) {
                fprintf(stderr, "ftsim: %s\n", err.message);
                return -1;
            }
            break;
        case OPT_HELP:
            usage(stdout);
            exit(0);
        case OPT_VERSION:
            printf("ftsim %s\n", FTHARNESS_VERSION);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "ftsim: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    if (o->socket_path == NULL && !o->pty) {
        fprintf(stderr, "ftsim: give --socket PATH, --pty, or both\n");
        return -1;
    }
    if (!o->console_set)
        cfg->console = o->socket_path ? SIM_CONSOLE_SPI : SIM_CONSOLE_UART;
    /* With a socket the handler swaps chips (NEXT_CHIP); on a pty alone, ftsim does
     * (pty_swap_on_release). */
    cfg->handler = true;
    if (cfg->console == SIM_CONSOLE_SPI && o->socket_path == NULL) {
        fprintf(stderr, "ftsim: --console spi needs --socket\n");
        return -1;
    }
    return 0;
}

/* ---- pty ------------------------------------------------------------------------------ */

struct pty_link {
    struct sim_device *dev;
    int master;
    /* Held around each write to the pty and by a NEXT_CHIP while it empties the pty: the
     * old chip's bytes never land after that. */
    pthread_mutex_t write_lock;
    char slave_path[64];
    int stop[2]; /* written to end pty_in */
    pthread_t out_thread;
    pthread_t in_thread;
    pthread_t swap_thread; /* pty alone: pty_swap_on_release */
};

static int open_pty(struct pty_link *pty)
{
    pty->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (pty->master < 0 || grantpt(pty->master) != 0 || unlockpt(pty->master) != 0) {
        perror("ftsim: pty");
        return -1;
    }
    if (ptsname_r(pty->master, pty->slave_path, sizeof(pty->slave_path)) != 0) {
        perror("ftsim: pty name");
        return -1;
    }
    pthread_mutex_init(&pty->write_lock, NULL);
    /* Raw mode on the slave side: bytes pass unchanged, as on a real UART. */
    int slave = open(pty->slave_path, O_RDWR | O_NOCTTY);
    struct termios tio;
    if (slave < 0 || tcgetattr(slave, &tio) != 0) {
        perror("ftsim: pty slave");
        return -1;
    }
    cfmakeraw(&tio);
    cfsetspeed(&tio, B115200);
    tcsetattr(slave, TCSANOW, &tio);
    close(slave);
    return 0;
}

static void *pty_out(void *arg)
{
    struct pty_link *pty = arg;
    uint8_t buf[4096];
    for (;;) {
        unsigned swaps;
        size_t n = sim_device_uart_read_swaps(pty->dev, buf, sizeof(buf), 1000, &swaps);
        pthread_mutex_lock(&pty->write_lock);
        if (sim_device_swaps(pty->dev) != swaps)
            n = 0; /* the old chip's, read before the handler swapped it out */
        bool gone = false;
        for (size_t off = 0; off < n && !gone;) {
            ssize_t w = write(pty->master, buf + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            gone = w < 0;
            off += gone ? 0 : (size_t)w;
        }
        pthread_mutex_unlock(&pty->write_lock);
        if (gone)
            return NULL; /* the pty is gone */
        if (sim_device_take_link_drop(pty->dev)) {
            /* Hang the pty up: replacing the master with /dev/null closes it while its
             * descriptor number stays valid for pty_in, whose next read sees EOF. */
            int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (null_fd >= 0) {
                dup2(null_fd, pty->master);
                close(null_fd);
            }
            /* pty_in's poll() still holds the old pty open: end it too. */
            if (write(pty->stop[1], "x", 1) < 0)
                perror("ftsim: stopping the pty reader");
            return NULL;
        }
        if (n == 0) {
            /* Nothing to send and no drop (which may come with nothing left to send). */
            pthread_mutex_lock(&pty->dev->lock);
            bool stop = pty->dev->shutdown;
            pthread_mutex_unlock(&pty->dev->lock);
            if (stop)
                return NULL;
        }
    }
}

static void *pty_in(void *arg)
{
    struct pty_link *pty = arg;
    uint8_t buf[4096];
    for (;;) {
        struct pollfd fds[2] = {{.fd = pty->master, .events = POLLIN},
                                {.fd = pty->stop[0], .events = POLLIN}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            return NULL;
        if (fds[1].revents & POLLIN)
            return NULL;
        if (!(fds[0].revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(pty->master, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EIO) {
            /* No slave side open (the host closed it): nothing signals its reopening, so
             * look again shortly, unless asked to stop. */
            if (poll(&fds[1], 1, 100) > 0)
                return NULL;
            continue;
        }
        if (n <= 0)
            return NULL;
        sim_device_uart_write(pty->dev, buf, (size_t)n);
    }
}

/* ---- socket --------------------------------------------------------------------------- */

static int read_full(int fd, uint8_t *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = read(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

static int reply(int fd, uint8_t status, const uint8_t *payload, size_t len)
{
    uint8_t header[SIMLINK_HEADER_SIZE];
    if (simlink_header_encode(header, status, len, NULL) != 0)
        return -1;
    return write_full(fd, header, sizeof(header)) == 0 && write_full(fd, payload, len) == 0 ? 0
                                                                                            : -1;
}

static int reply_pins(int fd, uint8_t status, uint32_t pins)
{
    uint8_t out[4];
    store_le32(out, pins);
    return reply(fd, status, out, sizeof(out));
}

/* The pty beside the socket, if any: a NEXT_CHIP empties it of the old chip's output. */
static struct pty_link *swapped_pty;

/* The handler puts the next chip in. What the old chip printed and the host never read
 * goes with it, from the model and from the pty's input queue, as a host that reopens a
 * tty finds it empty; the new chip's first byte comes after. */
static int swap_chip(struct sim_device *dev, const struct simlink_request *req,
                     struct ft_error *err)
{
    if (swapped_pty == NULL)
        return sim_device_next_chip(dev, (const char *)req->data, req->len, err);
    pthread_mutex_lock(&swapped_pty->write_lock);
    int rc = sim_device_next_chip(dev, (const char *)req->data, req->len, err);
    int slave = rc == 0 ? open(swapped_pty->slave_path, O_RDWR | O_NOCTTY | O_NONBLOCK) : -1;
    if (slave >= 0) {
        tcflush(slave, TCIFLUSH);
        close(slave);
    }
    pthread_mutex_unlock(&swapped_pty->write_lock);
    return rc;
}

/* The handler's part on a pty alone: the next chip goes in once the host has closed the
 * tty after a chip completed, as a handler takes a chip out when the tester lets go of it.
 * Put in at once, its first words would follow the old chip's last line and land in the
 * buffer of a host still reading that line, to be thrown away with it. */
static void *pty_swap_on_release(void *arg)
{
    struct pty_link *pty = arg;
    unsigned seen = 0;
    while (sim_device_wait_completed(pty->dev, &seen)) {
        /* The master reads POLLHUP while no slave is open; it stays a valid descriptor
         * (/dev/null after a link-drop fault, which never reads POLLHUP: stop then). */
        for (;;) {
            struct pollfd fd = {.fd = pty->master, .events = 0};
            int n = poll(&fd, 1, 200);
            if (n > 0 && (fd.revents & (POLLHUP | POLLNVAL)))
                break;
            if (sim_device_stopping(pty->dev))
                return NULL;
        }
        struct ft_error err = {0};
        struct simlink_request next = {.data = (const uint8_t *)"", .len = 0};
        if (swap_chip(pty->dev, &next, &err) != 0) {
            fprintf(stderr, "ftsim: next chip: %s\n", err.message);
            return NULL;
        }
    }
    return NULL;
}

/* Serves one request; -1 when the client is gone or broke the protocol. */
static int serve_request(struct sim_device *dev, int fd, uint8_t *payload, uint8_t *out)
{
    uint8_t header[SIMLINK_HEADER_SIZE];
    uint8_t op;
    size_t len;
    struct ft_error err = {0};
    if (read_full(fd, header, sizeof(header)) != 0)
        return -1;
    if (simlink_header_decode(header, &op, &len, &err) != 0) {
        fprintf(stderr, "ftsim: dropping client: %s\n", err.message);
        return -1;
    }
    if (read_full(fd, payload, len) != 0)
        return -1;
    struct simlink_request req;
    if (simlink_parse_request(op, payload, len, &req, &err) != 0) {
        return reply(fd, SIMLINK_BAD_REQUEST, (const uint8_t *)err.message, strlen(err.message));
    }
    uint32_t pins;
    switch (req.op) {
    case SIMLINK_SPI_XFER:
        sim_device_spi_xfer(dev, req.data, out, req.len);
        return reply(fd, SIMLINK_OK, out, req.len);
    case SIMLINK_GPIO_READ:
        return reply_pins(fd, SIMLINK_OK, sim_device_gpio_read(dev));
    case SIMLINK_GPIO_WRITE:
        return reply_pins(fd, SIMLINK_OK, sim_device_gpio_write(dev, req.mask, req.value));
    case SIMLINK_GPIO_WAIT: {
        bool ok = sim_device_gpio_wait(dev, req.mask, req.value, req.timeout_ms, &pins);
        if (sim_device_take_link_drop(dev))
            return -1; /* disconnect fault: the link goes down without a reply */
        return reply_pins(fd, ok ? SIMLINK_OK : SIMLINK_TIMEOUT, pins);
    }
    case SIMLINK_UART_READ: {
        size_t n = sim_device_uart_read(dev, out, req.max, req.timeout_ms);
        if (sim_device_take_link_drop(dev))
            return -1;
        return reply(fd, SIMLINK_OK, out, n);
    }
    case SIMLINK_UART_WRITE:
        sim_device_uart_write(dev, req.data, req.len);
        return reply(fd, SIMLINK_OK, NULL, 0);
    case SIMLINK_INFO:
        sim_device_info(dev, (char *)out, SIMLINK_PAYLOAD_MAX);
        return reply(fd, SIMLINK_OK, out, strlen((char *)out));
    case SIMLINK_NEXT_CHIP:
        if (swap_chip(dev, &req, &err) != 0)
            return reply(fd, SIMLINK_BAD_REQUEST, (const uint8_t *)err.message,
                         strlen(err.message));
        return reply(fd, SIMLINK_OK, NULL, 0);
    }
    return -1;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "ftsim: socket path longer than %zu bytes: %s\n", sizeof(addr.sun_path) - 1,
                path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct stat st;
    if (fd >= 0 && lstat(path, &st) == 0) {
        /* Replace only a stale socket: never another kind of file, never a live server. */
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "ftsim: %s exists and is not a socket; not replacing it\n", path);
            close(fd);
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
            fprintf(stderr, "ftsim: another server is listening on %s\n", path);
            close(fd);
            return -1;
        }
        close(fd);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        unlink(path);
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 4) != 0) {
        fprintf(stderr, "ftsim: cannot listen on %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void *watch_finished(void *arg)
{
    sim_device_wait_finished(arg);
    if (write(wake_pipe[1], "f", 1) < 0) {
        /* the main loop is already waking up */
    }
    return NULL;
}

/* Main loop: one socket client at a time, until a signal or the row of chips is done
 * and no client is connected. */
static int serve(struct sim_device *dev, int listen_fd)
{
    uint8_t *payload = malloc(SIMLINK_PAYLOAD_MAX);
    uint8_t *out = malloc(SIMLINK_PAYLOAD_MAX + 1);
    if (payload == NULL || out == NULL) {
        free(payload);
        free(out);
        return -1;
    }
    int client = -1;
    bool finished = false;
    for (;;) {
        struct pollfd fds[2] = {{.fd = wake_pipe[0], .events = POLLIN},
                                {.fd = client >= 0 ? client : listen_fd, .events = POLLIN}};
        int nfds = listen_fd >= 0 || client >= 0 ? 2 : 1;
        if (poll(fds, (nfds_t)nfds, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents & POLLIN) {
            char why;
            if (read(wake_pipe[0], &why, 1) == 1 && why == 's')
                break; /* signal */
            finished = true;
        }
        if (finished && client < 0)
            break;
        if (nfds < 2 || !(fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (client < 0) {
            client = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
            continue;
        }
        if (serve_request(dev, client, payload, out) != 0 || sim_device_take_link_drop(dev)) {
            close(client);
            client = -1;
            if (finished)
                break;
        }
    }
    if (client >= 0)
        close(client);
    free(payload);
    free(out);
    return finished ? 1 : 0;
}

/* After the last chip on a pty its output may still sit in the pty: wait until the host
 * has closed its side (or a signal), so ending here never cuts the host's last line. */
static void drain_pty(struct pty_link *pty)
{
    for (;;) {
        struct pollfd fds[2] = {{.fd = pty->master, .events = 0},
                                {.fd = wake_pipe[0], .events = POLLIN}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            return;
        if (fds[0].revents & (POLLHUP | POLLNVAL))
            return;
        char why;
        if ((fds[1].revents & POLLIN) && read(wake_pipe[0], &why, 1) == 1 && why == 's')
            return;
    }
}

int main(int argc, char **argv)
{
    struct options o = {0};
    sim_config_defaults(&o.cfg);
    if (parse_options(argc, argv, &o) != 0)
        return 2;

    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror("ftsim: pipe");
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    static struct sim_device dev;
    struct ft_error err = {0};
    if (sim_device_init(&dev, &o.cfg, &err) != 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    int listen_fd = -1;
    if (o.socket_path && (listen_fd = listen_unix(o.socket_path)) < 0)
        return 1;
    struct pty_link pty = {.dev = &dev, .master = -1};
    if (o.pty && (open_pty(&pty) != 0 || pipe2(pty.stop, O_CLOEXEC) != 0))
        return 1;
    if (sim_device_start(&dev, &err) != 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    if (o.pty) {
        swapped_pty = &pty;
        pthread_create(&pty.out_thread, NULL, pty_out, &pty);
        pthread_create(&pty.in_thread, NULL, pty_in, &pty);
        if (o.socket_path == NULL)
            pthread_create(&pty.swap_thread, NULL, pty_swap_on_release, &pty);
        printf("ftsim: pty %s\n", pty.slave_path);
    }
    if (o.socket_path)
        printf("ftsim: socket %s\n", o.socket_path);
    printf("ftsim: ready (sku %s, %s console, firmware %s)\n", o.cfg.sku.name,
           o.cfg.console == SIM_CONSOLE_SPI ? "spi" : "uart", fw_gen_info(o.cfg.firmware)->name);
    fflush(stdout);

    pthread_t watcher;
    pthread_create(&watcher, NULL, watch_finished, &dev);
    if (serve(&dev, listen_fd) == 1 && o.pty)
        drain_pty(&pty);

    sim_device_stop(&dev);
    pthread_join(watcher, NULL);
    if (o.pty) {
        pthread_join(pty.out_thread, NULL);
        if (write(pty.stop[1], "x", 1) < 0)
            perror("ftsim: stopping the pty reader");
        pthread_join(pty.in_thread, NULL);
        if (o.socket_path == NULL)
            pthread_join(pty.swap_thread, NULL);
        close(pty.master);
    }
    if (o.socket_path) {
        close(listen_fd);
        unlink(o.socket_path);
    }
    sim_device_fini(&dev);
    return 0;
}
