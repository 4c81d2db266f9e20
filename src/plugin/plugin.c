#define _GNU_SOURCE /* close_range, pipe2, dup3, strerrordesc_np, sigdescr_np, pidfd_open */
#include "plugin/plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/trust.h"

/* ---- Small helpers ---------------------------------------------------------------- */

/* Thread-safe descriptions (strerror/strsignal may use a static buffer). */
static const char *errno_text(int e)
{
    const char *s = strerrordesc_np(e);
    return s != NULL ? s : "unknown error";
}

static const char *signal_text(int sig)
{
    const char *s = sigdescr_np(sig);
    return s != NULL ? s : "unknown signal";
}

/* snprintf for text that may be cut: runner-supplied strings, paths in labels. Cutting
 * is intended there, so no caller needs to look at a return value. */
static void text_printf(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void text_printf(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool is_printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
            return false;
    return true;
}

/* Copies runner-supplied text into dst, replacing control and non-ASCII bytes, so nothing
 * a plugin says can forge log lines or terminal escapes. */
static void copy_sanitized(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c > 0x7E) ? '?' : (char)c;
    }
    dst[i] = '\0';
}

/* ---- Trust checks: who may have put a plugin where we load it from ------------------- */

/* Length of `dir` without trailing slashes ("/" keeps its one). */
static size_t trimmed_len(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return n;
}

int plugin_check_dir(const char *dir, struct ft_error *err)
{
    if (dir == NULL || dir[0] == '\0')
        return ft_fail(err, FT_E_PLUGIN, "plugin dir is not set");
    if (dir[0] != '/')
        return ft_fail(err, FT_E_PLUGIN, "plugin dir %s is not an absolute path", dir);
    char canon[PATH_MAX];
    if (realpath(dir, canon) == NULL)
        return ft_fail(err, FT_E_PLUGIN, "plugin dir %s: %s", dir, errno_text(errno));
    /* Checking the resolved path alone would miss who controls a symlink on the way, so
     * symlinks (and . or ..) are refused rather than followed. */
    size_t n = trimmed_len(dir);
    if (strlen(canon) != n || strncmp(canon, dir, n) != 0)
        return ft_fail(err, FT_E_PLUGIN,
                       "plugin dir %s resolves to %s (symlink, . or ..): "
                       "configure %s",
                       dir, canon, canon);
    struct stat st;
    if (lstat(canon, &st) != 0)
        return ft_fail(err, FT_E_PLUGIN, "plugin dir %s: %s", dir, errno_text(errno));
    if (!S_ISDIR(st.st_mode))
        return ft_fail(err, FT_E_PLUGIN, "plugin dir %s is not a directory", dir);
    char label[FT_ERROR_MESSAGE_MAX];
    text_printf(label, sizeof(label), "plugin dir %s", dir);
    if (trust_check_node(label, &st, false, FT_E_PLUGIN, err) != 0)
        return -1;
    return trust_check_ancestors(label, canon, FT_E_PLUGIN, err);
}

static int check_plugin_name(const char *name, struct ft_error *err)
{
    if (name == NULL || name[0] == '\0')
        return ft_fail(err, FT_E_PLUGIN, "plugin name is not set");
    size_t n = strnlen(name, PLUGIN_NAME_MAX + 1);
    if (n > PLUGIN_NAME_MAX)
        return ft_fail(err, FT_E_PLUGIN, "plugin name %.64s... is longer than %u characters", name,
                       PLUGIN_NAME_MAX);
    /* No '/', '.' or anything else that could leave the directory or hide a suffix. */
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok)
            return ft_fail(err, FT_E_PLUGIN,
                           "plugin name \"%.64s\" may only hold letters, digits, _ and -",
                           is_printable(name, n) ? name : "(unprintable)");
    }
    return 0;
}

/* A symlinked plugin file is accepted only when it stays in the plugin directory
 * (noop.so -> noop.so.1), since that directory is what was checked. */
static int check_symlink_target(const char *name, const char *dir, const char *path,
                                struct stat *st, struct ft_error *err)
{
    char target[PATH_MAX];
    if (realpath(path, target) == NULL)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: %s: %s", name, path, errno_text(errno));
    char *slash = strrchr(target, '/');
    size_t dir_len = trimmed_len(dir);
    if (slash == NULL || (size_t)(slash - target) != dir_len || strncmp(target, dir, dir_len) != 0)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: %s is a symlink to %s, outside the plugin dir",
                       name, path, target);
    if (stat(target, st) != 0)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: %s: %s", name, target, errno_text(errno));
    return 0;
}

int plugin_resolve(const char *dir, const char *name, char *path, size_t cap, struct ft_error *err)
{
    if (check_plugin_name(name, err) != 0)
        return -1;
    if (plugin_check_dir(dir, err) != 0)
        return ft_error_prefix(err, "plugin %s", name);
    int n = snprintf(path, cap, "%.*s/%s.so", (int)trimmed_len(dir), dir, name);
    if (n < 0 || (size_t)n >= cap)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: path in %s is too long", name, dir);
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return ft_fail(err, FT_E_PLUGIN, "plugin %s: %s not found", name, path);
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: %s: %s", name, path, errno_text(errno));
    }
    if (S_ISLNK(st.st_mode) && check_symlink_target(name, dir, path, &st, err) != 0)
        return -1;
    if (!S_ISREG(st.st_mode))
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: %s is not a regular file", name, path);
    char label[FT_ERROR_MESSAGE_MAX];
    text_printf(label, sizeof(label), "plugin %s: %s", name, path);
    return trust_check_node(label, &st, false, FT_E_PLUGIN, err);
}

/* ---- Request checks and encoding --------------------------------------------------- */

static int check_text_field(const char *name, const char *what, const char *s, size_t max,
                            bool may_be_empty, struct ft_error *err)
{
    if (s == NULL && may_be_empty)
        return 0;
    size_t n = s == NULL ? 0 : strnlen(s, max + 1);
    if (n > max || (n == 0 && !may_be_empty))
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: %s must have %d..%zu characters", name, what,
                       may_be_empty ? 0 : 1, max);
    return 0;
}

static int check_limits(const struct plugin_request *req, size_t capacity, struct ft_error *err)
{
    if (req->runner == NULL || req->runner[0] != '/')
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: runner path %s is not absolute", req->name,
                       req->runner != NULL ? req->runner : "(unset)");
    if (req->call != PLUGIN_CALL_FT_EXT && req->call != PLUGIN_CALL_POST_BOOT &&
        req->call != PLUGIN_CALL_CHECK)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: unknown entry point %d", req->name,
                       (int)req->call);
    if (req->deadline_ms == 0 || req->deadline_ms > PLUGIN_DEADLINE_MAX_MS)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: deadline %u ms is outside 1..%u", req->name,
                       req->deadline_ms, PLUGIN_DEADLINE_MAX_MS);
    if (req->mem_limit != 0 && req->mem_limit < PLUGIN_MIN_MEM_LIMIT)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: memory limit %zu is below %u bytes", req->name,
                       req->mem_limit, PLUGIN_MIN_MEM_LIMIT);
    if (capacity > FT_EXT_BODY_CAPACITY)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: capacity %zu exceeds the blob body size %u",
                       req->name, capacity, FT_EXT_BODY_CAPACITY);
    if (req->num_inputs > PLUGIN_INPUTS_MAX || (req->num_inputs > 0 && req->inputs == NULL))
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: %zu inputs, at most %u", req->name,
                       req->num_inputs, PLUGIN_INPUTS_MAX);
    return 0;
}

/* The harness's own body must already be right; a bad one is a harness bug, not the
 * plugin's, but it fails here before any process is started. */
static int check_input_body(const struct plugin_request *req, size_t capacity, struct ft_error *err)
{
    if (req->len > capacity || (req->len > 0 && req->body == NULL))
        return ft_fail(err, FT_E_PLUGIN,
                       "plugin %s: input body of %zu bytes exceeds the "
                       "capacity %zu",
                       req->name, req->len, capacity);
    size_t count;
    struct ft_error tlv;
    if (perso_tlv_count(req->body, req->len, req->blob_version, &count, &tlv) != 0)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: input body is not a valid TLV body: %s",
                       req->name, tlv.message);
    if (count != req->num_objs)
        return ft_fail(err, FT_E_PLUGIN,
                       "plugin %s: input num_objs is %zu but the body holds "
                       "%zu objects",
                       req->name, req->num_objs, count);
    return 0;
}

static int check_request(const struct plugin_request *req, size_t capacity, struct ft_error *err)
{
    const char *name = req->name;
    if (check_plugin_name(name, err) != 0 || check_limits(req, capacity, err) != 0 ||
        check_text_field(name, "SKU name", req->sku, PLUGIN_SKU_MAX, false, err) != 0 ||
        check_text_field(name, "config", req->config, PLUGIN_CONFIG_MAX, true, err) != 0)
        return -1;
    if (!is_printable(req->sku, strlen(req->sku)))
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: SKU name is not printable ASCII", name);
    return check_input_body(req, capacity, err);
}

/* Inputs as the wire carries them; files named by path are read into `owned`. */
struct loaded_inputs {
    struct ft_ext_input in[PLUGIN_INPUTS_MAX];
    uint8_t *owned[PLUGIN_INPUTS_MAX];
    size_t count;
};

static void free_inputs(struct loaded_inputs *li)
{
    for (size_t i = 0; i < li->count; i++)
        free(li->owned[i]);
}

static int read_fd_fully(int fd, uint8_t *buf, size_t want, size_t *got)
{
    *got = 0;
    while (*got < want) {
        ssize_t n = read(fd, buf + *got, want - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return 0;
}

/* Reads a regular file of at most PLUGIN_INPUT_MAX bytes (one more byte is asked for, so
 * a file that grew meanwhile is noticed). */
static int read_input_file(const char *label, const char *path, uint8_t **data, size_t *len,
                           struct ft_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return ft_fail(err, FT_E_PLUGIN, "%s: cannot open %s: %s", label, path, errno_text(errno));
    struct stat st;
    int rc = -1;
    uint8_t *buf = NULL;
    size_t got = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ft_fail(err, FT_E_PLUGIN, "%s: %s is not a regular file", label, path);
    } else if ((buf = malloc(PLUGIN_INPUT_MAX + 1)) == NULL) {
        ft_fail(err, FT_E_PLUGIN, "%s: out of memory", label);
    } else if (read_fd_fully(fd, buf, PLUGIN_INPUT_MAX + 1, &got) != 0) {
        ft_fail(err, FT_E_PLUGIN, "%s: cannot read %s: %s", label, path, errno_text(errno));
    } else if (got > PLUGIN_INPUT_MAX) {
        ft_fail(err, FT_E_PLUGIN, "%s: %s is larger than %u bytes", label, path, PLUGIN_INPUT_MAX);
    } else {
        *data = buf;
        *len = got;
        buf = NULL;
        rc = 0;
    }
    free(buf);
    close(fd);
    return rc;
}

static int check_input_name(const struct plugin_request *req, size_t i, struct ft_error *err)
{
    const char *name = req->inputs[i].name;
    size_t n = name == NULL ? 0 : strnlen(name, PLUGIN_INPUT_NAME_MAX + 1);
    if (n == 0 || n > PLUGIN_INPUT_NAME_MAX || !is_printable(name, n))
        return ft_fail(err, FT_E_PLUGIN,
                       "plugin %s: input %zu needs a name of 1..%u printable "
                       "characters",
                       req->name, i, PLUGIN_INPUT_NAME_MAX);
    for (size_t j = 0; j < i; j++)
        if (strcmp(req->inputs[j].name, name) == 0)
            return ft_fail(err, FT_E_PLUGIN, "plugin %s: input %s is given twice", req->name, name);
    return 0;
}

/* An input file is trusted like a plugin (owner, mode, every ancestor) and must resolve
 * beneath its root (the SKU's directory): a SKU file cannot hand a plugin /etc/shadow. */
static int check_input_place(const char *label, const struct plugin_input *src,
                             struct ft_error *err)
{
    char where[FT_ERROR_MESSAGE_MAX], canon[PATH_MAX], root[PATH_MAX];
    text_printf(where, sizeof(where), "%s: %s", label, src->path);
    if (trust_check_path(where, src->path, canon, FT_E_PLUGIN, err) != 0)
        return -1;
    if (src->root == NULL)
        return 0;
    if (realpath(src->root, root) == NULL)
        return ft_fail(err, FT_E_PLUGIN, "%s: its directory %s: %s", label, src->root,
                       errno_text(errno));
    size_t n = strlen(root);
    if (strncmp(canon, root, n) != 0 || (canon[n] != '/' && root[n - 1] != '/'))
        return ft_fail(err, FT_E_PLUGIN, "%s: %s resolves to %s, outside the SKU's directory %s",
                       label, src->path, canon, root);
    return 0;
}

static int load_one_input(const struct plugin_request *req, size_t i, struct loaded_inputs *li,
                          struct ft_error *err)
{
    const struct plugin_input *src = &req->inputs[i];
    struct ft_ext_input *dst = &li->in[i];
    char label[FT_ERROR_MESSAGE_MAX];
    text_printf(label, sizeof(label), "plugin %s: input %s", req->name, src->name);
    dst->name = src->name;
    if (src->data != NULL) {
        if (src->len > PLUGIN_INPUT_MAX)
            return ft_fail(err, FT_E_PLUGIN, "%s: %zu bytes, at most %u", label, src->len,
                           PLUGIN_INPUT_MAX);
        dst->data = src->data;
        dst->len = src->len;
        return 0;
    }
    if (src->path == NULL)
        return ft_fail(err, FT_E_PLUGIN, "%s: neither data nor a path", label);
    if (check_input_place(label, src, err) != 0)
        return -1;
    uint8_t *data = NULL;
    if (read_input_file(label, src->path, &data, &dst->len, err) != 0)
        return -1;
    li->owned[i] = data;
    dst->data = data;
    return 0;
}

static int load_inputs(const struct plugin_request *req, struct loaded_inputs *li,
                       struct ft_error *err)
{
    memset(li, 0, sizeof(*li));
    for (size_t i = 0; i < req->num_inputs; i++) {
        li->count = i + 1; /* so free_inputs sees what was allocated so far */
        if (check_input_name(req, i, err) != 0 || load_one_input(req, i, li, err) != 0)
            return -1;
    }
    return 0;
}

/* An upper bound of the encoded REQUEST frame; every part is already bounded by
 * check_request and load_inputs, so this cannot overflow. */
static size_t request_size(const struct plugin_wire_request *rq)
{
    size_t size = PLUGIN_FRAME_HEADER + 64 + sizeof(rq->device_id) + strlen(rq->sku) +
                  strlen(rq->config) + rq->body_len;
    for (size_t i = 0; i < rq->num_inputs; i++)
        size += 16 + strlen(rq->inputs[i].name) + rq->inputs[i].len;
    return size;
}

/* Encodes the REQUEST frame into a malloc'd buffer. */
static int encode_request(const struct plugin_request *req, size_t capacity,
                          const struct loaded_inputs *li, uint8_t **msg, size_t *msg_len,
                          struct ft_error *err)
{
    struct plugin_wire_request rq = {
        .call = (uint32_t)req->call,
        .blob_version = (uint32_t)req->blob_version,
        .capacity = (uint32_t)capacity,
        .deadline_ms = req->deadline_ms,
        .mem_limit = req->mem_limit != 0 ? req->mem_limit : PLUGIN_DEFAULT_MEM_LIMIT,
        .sku = req->sku,
        .config = req->config != NULL ? req->config : "",
        .body = req->body,
        .body_len = req->len,
        .num_objs = (uint32_t)req->num_objs,
        .num_inputs = li->count,
    };
    memcpy(rq.device_id, req->device_id, sizeof(rq.device_id));
    memcpy(rq.inputs, li->in, sizeof(rq.inputs));
    size_t cap = request_size(&rq);
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: out of memory", req->name);
    struct pp_writer w;
    pp_writer_init(&w, buf, cap);
    plugin_request_encode(&w, &rq);
    if (w.overflow || w.len - PLUGIN_FRAME_HEADER > PLUGIN_REQUEST_MAX) {
        free(buf);
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: request exceeds %u bytes", req->name,
                       PLUGIN_REQUEST_MAX);
    }
    *msg = buf;
    *msg_len = w.len;
    return 0;
}

/* ---- Starting the runner ----------------------------------------------------------- */

struct runner_proc {
    pid_t pid;
    int chan;  /* our end of the socketpair, non-blocking */
    int pidfd; /* -1 where pidfd_open is unavailable */
};

/* In the forked child: only async-signal-safe calls until execve. fds 0-2 become
 * /dev/null, the channel becomes fd 3, the exec-error pipe fd 4 (close-on-exec), all
 * others are closed. The runner gets an empty environment (no LD_PRELOAD or
 * LD_LIBRARY_PATH from the daemon) and dies with its parent. */
static void child_exec(int chan, int devnull, int errpipe, pid_t parent, char *const argv[])
{
    static char *const empty_env[] = {NULL};
    int ch = fcntl(chan, F_DUPFD, 10);
    int dn = fcntl(devnull, F_DUPFD, 10);
    int ef = fcntl(errpipe, F_DUPFD, 10);
    if (ch < 0 || dn < 0 || ef < 0 || dup2(dn, 0) < 0 || dup2(dn, 1) < 0 || dup2(dn, 2) < 0 ||
        dup2(ch, PLUGIN_PROTO_FD) < 0 || dup3(ef, PLUGIN_PROTO_FD + 1, O_CLOEXEC) < 0)
        goto fail;
    if (close_range(PLUGIN_PROTO_FD + 2, ~0u, 0) != 0)
        goto fail;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the daemon's threads may block signals */
    /* PDEATHSIG fires when the forking thread exits; the getppid check closes the race
     * with a parent that died before prctl. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);
    execve(argv[0], argv, empty_env);
fail:;
    int e = errno;
    ssize_t ignored = write(PLUGIN_PROTO_FD + 1, &e, sizeof(e));
    (void)ignored;
    _exit(127);
}

/* Waits for the exec-error pipe: EOF means execve succeeded (close-on-exec). */
static int exec_errno(int fd)
{
    int e = 0;
    ssize_t n;
    do
        n = read(fd, &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof(e) ? e : 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int spawn_fail(const char *name, const char *runner, int e, struct ft_error *err)
{
    return ft_fail(err, FT_E_PLUGIN, "plugin %s: cannot start runner %s: %s", name, runner,
                   errno_text(e));
}

static int fork_runner(const char *name, const char *runner, char *const argv[], int fds[4],
                       struct runner_proc *rp, struct ft_error *err)
{
    /* fds: 0 our channel end, 1 the runner's, 2 /dev/null, 3/4 exec-error pipe. */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return spawn_fail(name, runner, errno, err);
    if (pid == 0)
        child_exec(fds[1], fds[2], fds[4], parent, argv);
    close_fd(&fds[1]);
    close_fd(&fds[2]);
    close_fd(&fds[4]);
    int e = exec_errno(fds[3]);
    close_fd(&fds[3]);
    if (e != 0) {
        waitpid(pid, NULL, 0);
        return spawn_fail(name, runner, e, err);
    }
    rp->pid = pid;
    rp->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    rp->chan = fds[0];
    fds[0] = -1;
    return 0;
}

static int spawn_runner(const char *name, const char *runner, const char *plugin_path,
                        struct runner_proc *rp, struct ft_error *err)
{
    /* All close-on-exec, so a fork by another thread of the daemon does not inherit them. */
    int fds[5] = {-1, -1, -1, -1, -1};
    int sv[2];
    int pp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return spawn_fail(name, runner, errno, err);
    fds[0] = sv[0];
    fds[1] = sv[1];
    int rc = -1;
    if ((fds[2] = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 || pipe2(pp, O_CLOEXEC) != 0) {
        spawn_fail(name, runner, errno, err);
    } else {
        fds[3] = pp[0];
        fds[4] = pp[1];
        char *const argv[] = {(char *)runner, (char *)plugin_path, NULL};
        rc = fork_runner(name, runner, argv, fds, rp, err);
    }
    for (size_t i = 0; i < 5; i++)
        close_fd(&fds[i]);
    if (rc == 0 && fcntl(rp->chan, F_SETFL, O_NONBLOCK) != 0) {
        /* Cannot happen on a fresh socket; the caller's cleanup reaps the runner. */
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: fcntl: %s", name, errno_text(errno));
    }
    return rc;
}

/* ---- Talking to the runner --------------------------------------------------------- */

struct session {
    const struct plugin_request *req;
    struct plugin_result *res;
    size_t capacity;
    struct runner_proc proc;
    uint64_t start_ns;
    uint64_t deadline_ns;

    const uint8_t *out; /* the REQUEST frame */
    size_t out_len;
    size_t out_pos;

    uint8_t in[PLUGIN_FRAME_HEADER + PLUGIN_REPLY_MAX];
    size_t in_len;
    bool chan_eof;

    bool exited;
    int status;
    bool killed_on_deadline;
    bool status_lost;

    bool answered; /* RESULT seen */
    int32_t rc;
    bool failed; /* FAILURE seen */
    char failure[FT_ERROR_MESSAGE_MAX];
    bool violated; /* VIOLATION seen */
    char violation[FT_ERROR_MESSAGE_MAX];
    bool bad_message; /* the runner broke the protocol */
    char bad[FT_ERROR_MESSAGE_MAX];
    unsigned log_lines;
};

static void protocol_error(struct session *s, const char *what, const struct ft_error *e)
{
    if (s->bad_message)
        return;
    s->bad_message = true;
    text_printf(s->bad, sizeof(s->bad), "%s: %s", what, e->message);
}

static void deliver_log(struct session *s, uint32_t level, const char *text)
{
    s->log_lines++;
    if (s->req->log == NULL || s->log_lines > FT_EXT_LOG_LINES_MAX + 1)
        return;
    /* Plugins may not page anyone: levels more urgent than LOG_ERR (0-2) become LOG_ERR. */
    int lvl = level < FT_EXT_LOG_ERR ? FT_EXT_LOG_ERR : level > 7 ? 7 : (int)level;
    char line[FT_EXT_LOG_LINE_MAX];
    if (s->log_lines == FT_EXT_LOG_LINES_MAX + 1) {
        lvl = FT_EXT_LOG_WARNING;
        text_printf(line, sizeof(line), "further log lines dropped (limit %u per call)",
                    FT_EXT_LOG_LINES_MAX);
    } else {
        copy_sanitized(line, sizeof(line), text);
    }
    s->req->log(s->req->log_user, lvl, line);
}

static int handle_hello(struct session *s, struct pp_reader *r, struct ft_error *e)
{
    uint32_t major, minor, size;
    const char *name, *version;
    if (pp_get_u32(r, "abi major", &major, e) != 0 || pp_get_u32(r, "abi minor", &minor, e) != 0 ||
        pp_get_u32(r, "struct size", &size, e) != 0 ||
        pp_get_str(r, "name", PLUGIN_DESC_STR_MAX, &name, e) != 0 ||
        pp_get_str(r, "version", PLUGIN_DESC_STR_MAX, &version, e) != 0 ||
        pp_get_end(r, "hello", e) != 0 || plugin_check_abi(major, size, e) != 0 ||
        plugin_check_desc_str("name", name, strlen(name), false, e) != 0 ||
        plugin_check_desc_str("version", version, strlen(version), true, e) != 0)
        return -1;
    (void)minor; /* any minor of our major is accepted; see ft_ext.h */
    text_printf(s->res->plugin_name, sizeof(s->res->plugin_name), "%s", name);
    text_printf(s->res->plugin_version, sizeof(s->res->plugin_version), "%s", version);
    return 0;
}

static int handle_log(struct session *s, struct pp_reader *r, struct ft_error *e)
{
    uint32_t level;
    const char *text;
    if (pp_get_u32(r, "level", &level, e) != 0 ||
        pp_get_str(r, "text", FT_EXT_LOG_LINE_MAX - 1, &text, e) != 0 ||
        pp_get_end(r, "log", e) != 0)
        return -1;
    deliver_log(s, level, text);
    return 0;
}

static int handle_result(struct session *s, struct pp_reader *r, struct ft_error *e)
{
    uint32_t rc, num_objs;
    const uint8_t *body;
    size_t len;
    const char *text;
    if (pp_get_u32(r, "return value", &rc, e) != 0 ||
        pp_get_u32(r, "object count", &num_objs, e) != 0 ||
        pp_get_bytes(r, "body", s->capacity, &body, &len, e) != 0 ||
        pp_get_str(r, "text", FT_EXT_POST_BOOT_TEXT_MAX - 1, &text, e) != 0 ||
        pp_get_end(r, "result", e) != 0)
        return -1;
    if (s->answered || s->failed)
        return 0; /* only the first answer counts */
    s->answered = true;
    s->rc = (int32_t)rc;
    s->res->num_objs = num_objs;
    s->res->len = len;
    memcpy(s->res->body, body, len);
    text_printf(s->res->text, sizeof(s->res->text), "%s", text);
    return 0;
}

static int handle_text_msg(struct session *s, struct pp_reader *r, uint32_t type,
                           struct ft_error *e)
{
    uint32_t nr = 0;
    const char *text;
    if ((type == PLUGIN_MSG_VIOLATION && pp_get_u32(r, "syscall", &nr, e) != 0) ||
        pp_get_str(r, "text", 200, &text, e) != 0 || pp_get_end(r, "message", e) != 0)
        return -1;
    char clean[201];
    copy_sanitized(clean, sizeof(clean), text);
    if (type == PLUGIN_MSG_VIOLATION && !s->violated) {
        s->violated = true;
        text_printf(s->violation, sizeof(s->violation), "%s (%u)", clean, nr);
    } else if (type == PLUGIN_MSG_FAILURE && !s->answered && !s->failed) {
        s->failed = true;
        text_printf(s->failure, sizeof(s->failure), "%s", clean);
    }
    return 0;
}

static void handle_frame(struct session *s, uint32_t type, const uint8_t *payload, size_t len)
{
    struct pp_reader r;
    pp_reader_init(&r, payload, len);
    struct ft_error e;
    int rc;
    switch (type) {
    case PLUGIN_MSG_HELLO:
        rc = handle_hello(s, &r, &e);
        break;
    case PLUGIN_MSG_LOG:
        rc = handle_log(s, &r, &e);
        break;
    case PLUGIN_MSG_RESULT:
        rc = handle_result(s, &r, &e);
        break;
    case PLUGIN_MSG_FAILURE:
    case PLUGIN_MSG_VIOLATION:
        rc = handle_text_msg(s, &r, type, &e);
        break;
    default:
        rc = ft_fail(&e, FT_E_PLUGIN, "unknown message type %u", type);
        break;
    }
    if (rc != 0) {
        /* A bad HELLO is the plugin's descriptor, not a protocol slip. */
        if (type == PLUGIN_MSG_HELLO && e.code == FT_E_PLUGIN && !s->failed) {
            s->failed = true;
            text_printf(s->failure, sizeof(s->failure), "%s", e.message);
            return;
        }
        protocol_error(s, "malformed message", &e);
    }
}

/* Parses every complete frame in the input buffer and keeps the incomplete rest. */
static void parse_frames(struct session *s)
{
    size_t pos = 0;
    while (!s->bad_message) {
        uint32_t type;
        const uint8_t *payload;
        size_t len, used;
        struct ft_error e;
        int rc = pp_frame_parse(s->in + pos, s->in_len - pos, PLUGIN_REPLY_MAX, &type, &payload,
                                &len, &used, &e);
        if (rc < 0)
            protocol_error(s, "malformed message", &e);
        if (rc <= 0)
            break;
        handle_frame(s, type, payload, len);
        pos += used;
    }
    memmove(s->in, s->in + pos, s->in_len - pos);
    s->in_len -= pos;
}

/* Reads what is available; sets chan_eof at end of stream. */
static void receive(struct session *s)
{
    for (;;) {
        ssize_t n = read(s->proc.chan, s->in + s->in_len, sizeof(s->in) - s->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            s->chan_eof = true; /* EOF, or ECONNRESET from a runner that died */
            return;
        }
        s->in_len += (size_t)n;
        parse_frames(s);
        if (s->bad_message)
            return;
    }
}

static void send_pending(struct session *s)
{
    while (s->out_pos < s->out_len) {
        /* MSG_NOSIGNAL: a runner that died must not raise SIGPIPE in the daemon. */
        ssize_t n = send(s->proc.chan, s->out + s->out_pos, s->out_len - s->out_pos, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            s->out_pos = s->out_len; /* EPIPE: the runner is gone; its exit tells why */
            return;
        }
        s->out_pos += (size_t)n;
    }
}

static void reap(struct session *s, int options)
{
    if (s->exited)
        return;
    pid_t p;
    do
        p = waitpid(s->proc.pid, &s->status, options);
    while (p < 0 && errno == EINTR);
    if (p == s->proc.pid) {
        s->exited = true;
    } else if (p < 0 && errno == ECHILD) {
        /* Someone else reaped it (SIGCHLD set to SIG_IGN in the caller): it is gone, but
         * how it ended is unknown. */
        s->exited = true;
        s->status_lost = true;
    }
}

static void kill_runner(struct session *s)
{
    if (!s->exited) {
        kill(s->proc.pid, SIGKILL);
        reap(s, 0);
    }
}

static int ms_left(const struct session *s)
{
    uint64_t now = now_ns();
    if (now >= s->deadline_ns)
        return 0;
    uint64_t ms = (s->deadline_ns - now + 999999u) / 1000000u;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* One poll round over the channel and the pidfd (or, without a pidfd, a short sleep once
 * the channel is closed, then a WNOHANG check). */
static void poll_once(struct session *s, int timeout)
{
    struct pollfd pfd[2];
    nfds_t n = 0;
    int chan_slot = -1;
    if (!s->chan_eof) {
        short ev = POLLIN;
        if (s->out_pos < s->out_len)
            ev |= POLLOUT;
        pfd[n] = (struct pollfd){.fd = s->proc.chan, .events = ev};
        chan_slot = (int)n++;
    }
    if (s->proc.pidfd >= 0)
        pfd[n++] = (struct pollfd){.fd = s->proc.pidfd, .events = POLLIN};
    else if (timeout > 5)
        timeout = 5;
    if (poll(pfd, n, timeout) <= 0) {
        if (s->proc.pidfd < 0)
            reap(s, WNOHANG);
        return;
    }
    if (chan_slot >= 0 && (pfd[chan_slot].revents & POLLOUT))
        send_pending(s);
    if (chan_slot >= 0 && (pfd[chan_slot].revents & (POLLIN | POLLHUP | POLLERR)))
        receive(s);
    if (s->proc.pidfd >= 0 ? (pfd[n - 1].revents & POLLIN) != 0 : s->chan_eof)
        reap(s, s->proc.pidfd >= 0 ? 0 : WNOHANG);
}

/* Runs the exchange until the runner exits, breaks the protocol or the deadline passes;
 * the runner is reaped in every case. */
static void converse(struct session *s)
{
    while (!s->exited && !s->bad_message) {
        int left = ms_left(s);
        if (left == 0) {
            s->killed_on_deadline = true;
            break;
        }
        poll_once(s, left);
    }
    if (!s->exited)
        kill_runner(s);
    /* The runner is gone: whatever it wrote before exiting is still buffered. */
    if (!s->chan_eof && !s->bad_message)
        receive(s);
}

/* ---- Verdict ----------------------------------------------------------------------- */

static int verdict_exit(const struct session *s, struct ft_error *err)
{
    const char *name = s->req->name;
    bool sigkill = WIFSIGNALED(s->status) && WTERMSIG(s->status) == SIGKILL;
    if (s->killed_on_deadline && (sigkill || s->status_lost))
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: no answer within %u ms", name,
                       s->req->deadline_ms);
    if (s->status_lost)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: runner exit status lost (SIGCHLD ignored?)",
                       name);
    if (WIFSIGNALED(s->status)) {
        int sig = WTERMSIG(s->status);
        const char *why = sig == SIGSYS    ? " (sandbox violation)"
                          : sig == SIGXCPU ? " (CPU time limit)"
                                           : "";
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: killed by signal %d (%s)%s", name, sig,
                       signal_text(sig), why);
    }
    int code = WIFEXITED(s->status) ? WEXITSTATUS(s->status) : -1;
    if (s->failed)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: %s", name, s->failure);
    if (!s->answered)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: exited without answering (status %d)", name,
                       code);
    if (code != 0)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: exited with status %d after answering", name,
                       code);
    return 0;
}

static int verdict_return(const struct session *s, struct ft_error *err)
{
    const char *name = s->req->name;
    int32_t rc = s->rc;
    if (rc == 0)
        return 0;
    if (rc > 0)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: returned %d, not 0 or a negative errno", name,
                       rc);
    if (rc < -4095)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: returned %d (not an errno)", name, rc);
    return ft_fail(err, FT_E_PLUGIN, "plugin %s: returned %d (%s)", name, rc, errno_text(-rc));
}

static int verdict_body(const struct session *s, struct ft_error *err)
{
    const struct plugin_result *res = s->res;
    const char *name = s->req->name;
    if (res->len > s->capacity)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: output length %zu exceeds the capacity %zu",
                       name, res->len, s->capacity);
    size_t count;
    struct ft_error tlv;
    if (perso_tlv_count(res->body, res->len, s->req->blob_version, &count, &tlv) != 0)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: output is not a valid TLV body: %s", name,
                       tlv.message);
    if (count != res->num_objs)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: output holds %zu objects but num_objs is %zu",
                       name, count, res->num_objs);
    return 0;
}

static int verdict_text(const struct session *s, struct ft_error *err)
{
    const char *text = s->res->text;
    for (size_t i = 0; text[i] != '\0'; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c > 0x7E)
            return ft_fail(err, FT_E_PLUGIN, "plugin %s: post-boot text byte %zu is 0x%02x",
                           s->req->name, i, c);
    }
    return 0;
}

static int verdict(const struct session *s, struct ft_error *err)
{
    const char *name = s->req->name;
    if (s->violated)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: sandbox violation: blocked system call %s",
                       name, s->violation);
    if (s->bad_message)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: runner sent a %s", name, s->bad);
    if (verdict_exit(s, err) != 0 || verdict_return(s, err) != 0)
        return -1;
    if (s->req->call == PLUGIN_CALL_CHECK)
        return 0;
    if (s->req->call == PLUGIN_CALL_POST_BOOT)
        return verdict_text(s, err);
    return verdict_body(s, err);
}

/* ---- plugin_run -------------------------------------------------------------------- */

static int run_session(const struct plugin_request *req, size_t capacity, const char *path,
                       const uint8_t *msg, size_t msg_len, struct plugin_result *res,
                       struct ft_error *err)
{
    struct session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: out of memory", req->name);
    s->req = req;
    s->res = res;
    s->capacity = capacity;
    s->out = msg;
    s->out_len = msg_len;
    s->start_ns = now_ns();
    s->deadline_ns = s->start_ns + (uint64_t)req->deadline_ms * 1000000u;
    int rc = spawn_runner(req->name, req->runner, path, &s->proc, err);
    if (rc == 0) {
        converse(s);
        res->elapsed_us = (now_ns() - s->start_ns) / 1000u;
        close_fd(&s->proc.chan);
        close_fd(&s->proc.pidfd);
        rc = verdict(s, err);
    } else if (s->proc.pid > 0) {
        kill_runner(s); /* spawned, then failed to set up the channel */
        close_fd(&s->proc.chan);
        close_fd(&s->proc.pidfd);
    }
    free(s);
    return rc;
}

int plugin_run(const struct plugin_request *req, struct plugin_result *res, struct ft_error *err)
{
    memset(res, 0, sizeof(*res));
    size_t capacity = req->capacity != 0 ? req->capacity : FT_EXT_BODY_CAPACITY;
    char path[PATH_MAX];
    if (check_request(req, capacity, err) != 0 ||
        plugin_resolve(req->dir, req->name, path, sizeof(path), err) != 0)
        return -1;
    struct loaded_inputs li;
    if (load_inputs(req, &li, err) != 0) {
        free_inputs(&li);
        return -1;
    }
    uint8_t *msg = NULL;
    size_t msg_len = 0;
    int rc = encode_request(req, capacity, &li, &msg, &msg_len, err);
    if (rc == 0)
        rc = run_session(req, capacity, path, msg, msg_len, res, err);
    free(msg);
    free_inputs(&li);
    if (rc != 0) {
        res->len = 0;
        res->num_objs = 0;
        res->text[0] = '\0';
    }
    return rc;
}
