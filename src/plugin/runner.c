/* ftharness-plugin-runner: runs one entry point of one SKU plugin in a sandbox.
 *
 *   ftharness-plugin-runner <plugin.so>     (started by plugin_run(); fd 3 is the channel)
 *
 * Order matters:
 *   1. read the whole REQUEST (so nothing the plugin does can influence what it is given);
 *   2. resource limits (address space, CPU, no core, no file writes, 8 fds, no
 *      processes, no locked memory), not dumpable, PR_SET_NO_NEW_PRIVS;
 *   3. seccomp stage "load": what the dynamic loader needs (read-only opens, executable
 *      mappings) and nothing hostile; the plugin's constructors run under it;
 *   4. dlopen(RTLD_NOW | RTLD_LOCAL), descriptor check, HELLO;
 *   5. seccomp stage "call": no opens at all, no executable mappings; then the call;
 *   6. RESULT, then _exit(0) so no plugin destructor runs after the answer.
 *
 * Seccomp policy (both stages; filters stack, and the kernel applies the strictest
 * action of all installed filters):
 *   - allowed: the system calls listed in allowed_always[] and the argument-checked
 *     rules below (write only to fds 1-3, signals only to itself, ...);
 *   - violations, SECCOMP_RET_TRAP: network, processes and threads, exec, writable
 *     opens, file system changes, signals to others, ptrace, privilege, namespace,
 *     module and kernel-keyring calls (violation_syscalls[]), and after loading
 *     executable mappings. The SIGSYS handler reports the call by name ("blocked system
 *     call socket") and exits; the system call never runs. If a plugin blocks SIGSYS the
 *     kernel kills the process with it, reported as "killed by signal 31";
 *   - everything else fails with EPERM, so incidental probes in libc (ioctl(TCGETS) in
 *     stdio, read-only opens of locale files, ...) degrade instead of killing a plugin;
 *   - a system call of another architecture's ABI kills the process.
 * This binary is built without sanitizers: their runtimes need system calls (and
 * executable mappings, and ptrace for leak checks) that the filter forbids, and they
 * would turn a plugin's SIGSEGV into an exit status. */
#define _GNU_SOURCE /* RTLD_*, sigaltstack, MAP_ANONYMOUS */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ftharness/ft_ext.h>

#include "plugin/plugin_proto.h"
#include "wire/perso_tlv.h"

#define CHAN PLUGIN_PROTO_FD
#define FAILURE_TEXT_MAX 200 /* the parent accepts 200 characters */

/* ---- Talking to the parent --------------------------------------------------------- */

/* Writes a whole buffer; the parent drains the channel while it waits. */
static int write_all(const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(CHAN, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void send_text_frame(enum plugin_msg_type type, uint32_t nr, bool with_nr, const char *text)
{
    uint8_t buf[PLUGIN_FRAME_HEADER + 16 + FAILURE_TEXT_MAX + 1];
    char cut[FAILURE_TEXT_MAX + 1];
    snprintf(cut, sizeof(cut), "%s", text);
    struct pp_writer w;
    pp_writer_init(&w, buf, sizeof(buf));
    size_t frame = pp_frame_begin(&w, type);
    if (with_nr)
        pp_put_u32(&w, nr);
    pp_put_str(&w, cut);
    pp_frame_end(&w, frame);
    if (!w.overflow)
        write_all(buf, w.len);
}

/* Reports why the plugin cannot be run and exits. */
static _Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void fail(const char *fmt, ...)
{
    char text[FAILURE_TEXT_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    send_text_frame(PLUGIN_MSG_FAILURE, 0, false, text);
    _exit(PLUGIN_RUNNER_EXIT_FAILURE);
}

static void read_exact(uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(CHAN, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail("bad request: channel closed after a partial message");
        buf += n;
        len -= (size_t)n;
    }
}

/* Reads and decodes the REQUEST; the buffer stays allocated for the life of the process
 * because the decoded request borrows from it. */
static void read_request(struct plugin_wire_request *rq)
{
    uint8_t header[PLUGIN_FRAME_HEADER];
    read_exact(header, sizeof(header));
    uint32_t type, len;
    memcpy(&type, header, 4);
    memcpy(&len, header + 4, 4);
    if (type != PLUGIN_MSG_REQUEST || len > PLUGIN_REQUEST_MAX)
        fail("bad request: message type %u of %u bytes", type, len);
    uint8_t *payload = malloc(len > 0 ? len : 1);
    if (payload == NULL)
        fail("bad request: cannot allocate %u bytes", len);
    read_exact(payload, len);
    struct ft_error err;
    if (plugin_request_decode(payload, len, rq, &err) != 0)
        fail("bad request: %s", err.message);
}

/* ---- Limits ------------------------------------------------------------------------ */

static void set_limit(int resource, const char *what, rlim_t soft, rlim_t hard)
{
    struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
    if (setrlimit(resource, &rl) != 0)
        fail("cannot set the %s limit: %s", what, strerror(errno));
}

static void apply_limits(const struct plugin_wire_request *rq)
{
    /* The parent's deadline is the real limit; CPU time backs it up should the parent
     * be stopped. A few fds are left for the loader; none after loading. */
    rlim_t cpu_s = rq->deadline_ms / 1000u + 2u;
    set_limit(RLIMIT_AS, "address space", rq->mem_limit, rq->mem_limit);
    set_limit(RLIMIT_CPU, "CPU time", cpu_s, cpu_s + 1);
    set_limit(RLIMIT_CORE, "core size", 0, 0);
    set_limit(RLIMIT_FSIZE, "file size", 0, 0);
    set_limit(RLIMIT_NPROC, "process", 0, 0);
    set_limit(RLIMIT_MEMLOCK, "locked memory", 0, 0);
    /* fds 0-3 plus a few for the loader, which opens one file at a time. After loading
     * the filter refuses every call that makes an fd (open, dup, fcntl, pipe, socket,
     * ...), so the limit need not (and, under the filter, cannot) be lowered again. */
    set_limit(RLIMIT_NOFILE, "open file", CHAN + 5, CHAN + 5);
    if (prctl(PR_SET_DUMPABLE, 0) != 0)
        fail("cannot clear the dumpable flag: %s", strerror(errno));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fail("cannot set no_new_privs: %s", strerror(errno));
}

/* ---- Seccomp ----------------------------------------------------------------------- */

/* The SIGSYS handler names the trapped call from this table, filled before any filter is
 * installed and only read afterwards (a signal handler can reach no other state). */
struct syscall_name {
    int nr;
    const char *name;
};
static struct syscall_name trapped_names[128];
static size_t trapped_count;

/* Allowed in both stages with any arguments: memory, time, own identity, own signal
 * state, exit. */
static const char *const allowed_always[] = {
    "close",           "lseek",           "fstat",        "brk",
    "munmap",          "mremap",          "madvise",      "futex",
    "clock_gettime",   "clock_getres",    "gettimeofday", "time",
    "nanosleep",       "clock_nanosleep", "sched_yield",  "getpid",
    "gettid",          "getppid",         "getuid",       "geteuid",
    "getgid",          "getegid",         "getrandom",    "rt_sigreturn",
    "rt_sigprocmask",  "sigaltstack",     "exit",         "exit_group",
    "restart_syscall", "uname",           "sysinfo",      "getrlimit",
};

/* Allowed only while the plugin is loaded (the loader's needs), EPERM afterwards. */
static const char *const allowed_for_load[] = {
    "pread64", "newfstatat", "stat", "lstat", "access", "faccessat", "readlink", "seccomp",
};

/* Never legitimate for a plugin: each is reported as a sandbox violation. */
/* clang-format off */
static const char *const violation_syscalls[] = {
    /* network */
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    /* processes, threads, other processes' memory and signals */
    "execve", "execveat", "fork", "vfork", "clone", "clone3", "ptrace", "process_vm_readv",
    "process_vm_writev", "kill", "tkill", "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
    /* creating, changing or removing files */
    "creat", "open_by_handle_at", "name_to_handle_at", "truncate", "unlink", "unlinkat",
    "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "link", "linkat",
    "symlink", "symlinkat", "chmod", "fchmodat", "chown", "lchown", "fchownat", "mknod",
    "mknodat",
    /* mounts and namespaces */
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "move_mount", "fsopen",
    "fsmount", "open_tree",
    /* identity and privilege */
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset", "personality",
    /* the kernel and the machine */
    "bpf", "perf_event_open", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "reboot", "keyctl", "add_key", "request_key", "userfaultfd",
    "io_uring_setup", "iopl", "ioperm", "swapon", "swapoff", "acct", "settimeofday",
    "clock_settime", "adjtimex", "clock_adjtime", "sethostname", "setdomainname",
    "fanotify_init",
};
/* clang-format on */

static void remember_trapped(int nr, const char *name)
{
    for (size_t i = 0; i < trapped_count; i++)
        if (trapped_names[i].nr == nr)
            return;
    if (trapped_count == sizeof(trapped_names) / sizeof(trapped_names[0]))
        fail("internal: more trapped system calls than trapped_names[] holds");
    trapped_names[trapped_count++] = (struct syscall_name){nr, name};
}

/* Adds one rule; system calls this architecture lacks are skipped. */
static void add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned argc,
                     const struct scmp_arg_cmp *args)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr < 0)
        return;
    int rc = seccomp_rule_add_array(ctx, action, nr, argc, args);
    if (rc != 0)
        fail("cannot add the seccomp rule for %s: %s", name, strerror(-rc));
    if (action == SCMP_ACT_TRAP)
        remember_trapped(nr, name);
}

static void add_list(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add_rule(ctx, action, names[i], 0, NULL);
}

#define ADD_LIST(ctx, action, list) add_list(ctx, action, list, sizeof(list) / sizeof(list[0]))

/* open/openat: read-only opens are allowed while loading (EPERM later); any flag that
 * can write or create is a violation. */
static void add_open_rules(scmp_filter_ctx ctx, bool load)
{
    static const struct {
        const char *name;
        unsigned arg;
    } calls[] = {{"open", 1}, {"openat", 2}};
    const uint64_t writing[] = {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND};
    const uint64_t any_writing = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND;
    for (size_t c = 0; c < 2; c++) {
        for (size_t i = 0; i < sizeof(writing) / sizeof(writing[0]); i++) {
            struct scmp_arg_cmp cmp = {calls[c].arg, SCMP_CMP_MASKED_EQ, writing[i], writing[i]};
            add_rule(ctx, SCMP_ACT_TRAP, calls[c].name, 1, &cmp);
        }
        /* After loading, read-only opens fall to the default action, EPERM (libseccomp
         * refuses a rule that repeats the default). */
        struct scmp_arg_cmp ro = {calls[c].arg, SCMP_CMP_MASKED_EQ, any_writing, 0};
        if (load)
            add_rule(ctx, SCMP_ACT_ALLOW, calls[c].name, 1, &ro);
    }
}

/* mmap/mprotect: executable mappings only while loading. */
static void add_mapping_rules(scmp_filter_ctx ctx, bool load)
{
    static const char *const calls[] = {"mmap", "mprotect"};
    for (size_t c = 0; c < 2; c++) {
        if (load) {
            add_rule(ctx, SCMP_ACT_ALLOW, calls[c], 0, NULL);
            continue;
        }
        struct scmp_arg_cmp exec = {2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC};
        struct scmp_arg_cmp noexec = {2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0};
        add_rule(ctx, SCMP_ACT_TRAP, calls[c], 1, &exec);
        add_rule(ctx, SCMP_ACT_ALLOW, calls[c], 1, &noexec);
    }
}

/* Signals to itself only (abort() and raise() use tgkill), and the SIGSYS handler stays
 * ours. Signal numbers are compared exactly: the kernel truncates the 64-bit argument to
 * an int, so "not SIGSYS" would let SIGSYS + 2^32 through. */
static void add_signal_rules(scmp_filter_ctx ctx)
{
    struct scmp_arg_cmp self = {0, SCMP_CMP_EQ, (uint64_t)getpid(), 0};
    struct scmp_arg_cmp other = {0, SCMP_CMP_NE, (uint64_t)getpid(), 0};
    add_rule(ctx, SCMP_ACT_ALLOW, "tgkill", 1, &self);
    add_rule(ctx, SCMP_ACT_TRAP, "tgkill", 1, &other);
    struct scmp_arg_cmp below = {0, SCMP_CMP_LT, SIGSYS, 0};
    add_rule(ctx, SCMP_ACT_ALLOW, "rt_sigaction", 1, &below);
    for (uint64_t sig = SIGSYS + 1; sig <= 64; sig++) {
        struct scmp_arg_cmp cmp = {0, SCMP_CMP_EQ, sig, 0};
        add_rule(ctx, SCMP_ACT_ALLOW, "rt_sigaction", 1, &cmp);
    }
}

static void add_argument_rules(scmp_filter_ctx ctx, bool load)
{
    /* Input only from /dev/null (0) and the channel once loaded (the loader reads the
     * plugin file); output only to /dev/null (1, 2) and the channel. */
    static const uint64_t readable[] = {0, CHAN};
    for (size_t i = 0; !load && i < 2; i++) {
        struct scmp_arg_cmp cmp = {0, SCMP_CMP_EQ, readable[i], 0};
        add_rule(ctx, SCMP_ACT_ALLOW, "read", 1, &cmp);
    }
    if (load)
        add_rule(ctx, SCMP_ACT_ALLOW, "read", 0, NULL);
    for (uint64_t fd = 1; fd <= CHAN; fd++) {
        struct scmp_arg_cmp cmp = {0, SCMP_CMP_EQ, fd, 0};
        add_rule(ctx, SCMP_ACT_ALLOW, "write", 1, &cmp);
        add_rule(ctx, SCMP_ACT_ALLOW, "writev", 1, &cmp);
    }
    add_signal_rules(ctx);
    /* Reading limits, not raising them (root could). */
    struct scmp_arg_cmp query = {2, SCMP_CMP_EQ, 0, 0};
    add_rule(ctx, SCMP_ACT_ALLOW, "prlimit64", 1, &query);
    /* fstat() is newfstatat(fd, "", AT_EMPTY_PATH). The flag does not prove the path is
     * empty, so a plugin can still learn a file's metadata (not its contents): no more
     * than its constructors could while loading. */
    struct scmp_arg_cmp empty_path = {3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH};
    if (!load)
        add_rule(ctx, SCMP_ACT_ALLOW, "newfstatat", 1, &empty_path);
    add_open_rules(ctx, load);
    add_mapping_rules(ctx, load);
}

static scmp_filter_ctx build_filter(bool load)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (ctx == NULL)
        fail("cannot create a seccomp filter");
    /* NO_NEW_PRIVS is already set (apply_limits); a foreign-ABI system call (int 0x80 on
     * x86_64) would bypass the per-name rules, so it kills. */
    if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0 ||
        seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0)
        fail("cannot set seccomp filter attributes");
    ADD_LIST(ctx, SCMP_ACT_ALLOW, allowed_always);
    if (load)
        ADD_LIST(ctx, SCMP_ACT_ALLOW, allowed_for_load);
    ADD_LIST(ctx, SCMP_ACT_TRAP, violation_syscalls);
    add_argument_rules(ctx, load);
    return ctx;
}

static void load_filter(scmp_filter_ctx ctx, const char *stage)
{
    int rc = seccomp_load(ctx);
    if (rc != 0)
        fail("cannot install the %s seccomp filter: %s", stage, strerror(-rc));
    seccomp_release(ctx);
}

/* Async-signal-safe: table lookup, plain memory writes, write(2), _exit(2). */
static void on_sigsys(int sig, siginfo_t *info, void *uctx)
{
    (void)sig;
    (void)uctx;
    int nr = info->si_syscall;
    const char *name = "unknown";
    for (size_t i = 0; i < trapped_count; i++)
        if (trapped_names[i].nr == nr)
            name = trapped_names[i].name;
    uint8_t buf[PLUGIN_FRAME_HEADER + 64];
    struct pp_writer w;
    pp_writer_init(&w, buf, sizeof(buf));
    size_t frame = pp_frame_begin(&w, PLUGIN_MSG_VIOLATION);
    pp_put_u32(&w, (uint32_t)nr);
    pp_put_str(&w, name);
    pp_frame_end(&w, frame);
    if (!w.overflow)
        write_all(buf, w.len);
    _exit(PLUGIN_RUNNER_EXIT_VIOLATION);
}

/* On its own stack, so a plugin that exhausted its stack is still reported. */
static void install_sigsys_handler(void)
{
    static uint8_t alt_stack[64 * 1024];
    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof(alt_stack)};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGSYS, &sa, NULL) != 0)
        fail("cannot install the SIGSYS handler: %s", strerror(errno));
}

/* ---- Loading ----------------------------------------------------------------------- */

struct plugin {
    const struct ft_ext_descriptor *desc;
    ft_ext_fn ft_ext;
    ft_post_boot_ext_fn post_boot;
    const char *version;
};

static const char *checked_desc_str(const char *what, const char *s, bool may_be_null)
{
    if (s == NULL) {
        if (!may_be_null)
            fail("descriptor %s is NULL", what);
        return "";
    }
    size_t len = strnlen(s, PLUGIN_DESC_STR_MAX + 1);
    struct ft_error err;
    if (plugin_check_desc_str(what, s, len, may_be_null, &err) != 0)
        fail("%s", err.message);
    return s;
}

static void send_hello(const struct plugin *p)
{
    uint8_t buf[PLUGIN_FRAME_HEADER + 32 + 2 * (PLUGIN_DESC_STR_MAX + 5)];
    struct pp_writer w;
    pp_writer_init(&w, buf, sizeof(buf));
    size_t frame = pp_frame_begin(&w, PLUGIN_MSG_HELLO);
    pp_put_u32(&w, p->desc->abi_major);
    pp_put_u32(&w, p->desc->abi_minor);
    pp_put_u32(&w, p->desc->struct_size);
    pp_put_str(&w, p->desc->name);
    pp_put_str(&w, p->version);
    pp_frame_end(&w, frame);
    if (w.overflow || write_all(buf, w.len) != 0)
        _exit(PLUGIN_RUNNER_EXIT_FAILURE);
}

static void load_plugin(const char *path, struct plugin *p)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL)
        fail("cannot load: %s", dlerror());
    p->desc = dlsym(handle, FT_EXT_DESCRIPTOR_SYMBOL);
    if (p->desc == NULL)
        fail("does not export " FT_EXT_DESCRIPTOR_SYMBOL " (use FT_EXT_DEFINE_DESCRIPTOR)");
    /* abi_major and struct_size come first in every ABI; read nothing else before they
     * are checked. */
    struct ft_error err;
    if (plugin_check_abi(p->desc->abi_major, p->desc->struct_size, &err) != 0)
        fail("%s", err.message);
    checked_desc_str("name", p->desc->name, false);
    p->version = checked_desc_str("version", p->desc->version, true);
    p->ft_ext = (ft_ext_fn)dlsym(handle, FT_EXT_SYMBOL);
    p->post_boot = (ft_post_boot_ext_fn)dlsym(handle, FT_EXT_POST_BOOT_SYMBOL);
    /* Never dlclose: the process ends right after the call. */
}

/* After HELLO, so the parent knows which plugin (name, version) lacks it. */
static void check_entry_point(const struct plugin *p, enum plugin_call call)
{
    if (call == PLUGIN_CALL_FT_EXT && p->ft_ext == NULL)
        fail("does not export " FT_EXT_SYMBOL);
}

/* ---- Host services (ctx->services) ------------------------------------------------- */

struct host {
    const struct plugin_wire_request *rq;
    uint8_t *body;
    size_t *len;
    size_t *num_objs;
    size_t capacity;
    bool writable; /* false in ft_post_boot_ext */
    unsigned log_lines;
};

static void host_log(void *hostp, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(void *hostp, int level, const char *fmt, ...)
{
    struct host *h = hostp;
    /* One line past the limit goes through, so the parent can say lines were dropped. */
    if (h == NULL || fmt == NULL || h->log_lines > FT_EXT_LOG_LINES_MAX)
        return;
    h->log_lines++;
    char line[FT_EXT_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    uint8_t buf[PLUGIN_FRAME_HEADER + 16 + FT_EXT_LOG_LINE_MAX];
    struct pp_writer w;
    pp_writer_init(&w, buf, sizeof(buf));
    size_t frame = pp_frame_begin(&w, PLUGIN_MSG_LOG);
    pp_put_u32(&w, (uint32_t)level);
    pp_put_str(&w, line);
    pp_frame_end(&w, frame);
    if (!w.overflow)
        write_all(buf, w.len);
}

static int host_obj_count(void *hostp, size_t *count)
{
    struct host *h = hostp;
    if (h == NULL || count == NULL)
        return -EINVAL;
    if (*h->len > h->capacity ||
        perso_tlv_count(h->body, *h->len, (enum perso_blob_version)h->rq->blob_version, count,
                        NULL) != 0)
        return -EBADMSG;
    return 0;
}

static void fill_obj(const struct perso_obj *o, struct ft_ext_obj *obj)
{
    memset(obj, 0, sizeof(*obj));
    obj->type = (uint32_t)o->type;
    if (perso_obj_type_is_cert(o->type)) {
        memcpy(obj->name, o->name, o->name_len + 1);
        obj->data = o->cert;
        obj->len = o->cert_len;
    } else {
        obj->data = o->payload;
        obj->len = o->payload_len;
    }
}

static int host_obj_get(void *hostp, size_t index, struct ft_ext_obj *obj)
{
    struct host *h = hostp;
    if (h == NULL || obj == NULL)
        return -EINVAL;
    enum perso_blob_version v = (enum perso_blob_version)h->rq->blob_version;
    struct perso_tlv_iter it;
    if (*h->len > h->capacity || perso_tlv_iter_init(&it, h->body, *h->len, v, NULL) != 0)
        return -EBADMSG;
    if (v == PERSO_BLOB_V1 && index == 0) {
        /* The iterator consumes the version object; it is object 0 all the same. */
        memset(obj, 0, sizeof(*obj));
        obj->type = FT_EXT_OBJ_BLOB_VERSION;
        obj->data = h->body + 2;
        obj->len = 2;
        return 0;
    }
    struct perso_obj o;
    int rc;
    while ((rc = perso_tlv_iter_next(&it, &o, NULL)) == 1) {
        if (o.index == index) {
            fill_obj(&o, obj);
            return 0;
        }
    }
    return rc < 0 ? -EBADMSG : -ERANGE;
}

static int push_errno(enum ft_code code)
{
    switch (code) {
    case FT_E_CAPACITY:
        return -ENOSPC;
    case FT_E_RANGE:
        return -EFBIG;
    default:
        return -EINVAL;
    }
}

static int host_push(void *hostp, const char *name, const uint8_t *der, size_t len)
{
    struct host *h = hostp;
    if (h == NULL || name == NULL || der == NULL)
        return -EINVAL;
    if (!h->writable)
        return -EPERM;
    if (*h->len > h->capacity)
        return -EBADMSG;
    struct perso_tlv_writer w = {
        .buf = h->body,
        .cap = h->capacity,
        .len = *h->len,
        .num_objs = *h->num_objs,
        .version = (enum perso_blob_version)h->rq->blob_version,
    };
    struct ft_error err;
    if (perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, name, der, len, &err) != 0) {
        host_log(h, FT_EXT_LOG_WARNING, "push_endorsed_cert: %s", err.message);
        return push_errno(err.code);
    }
    *h->len = w.len;
    *h->num_objs = w.num_objs;
    return 0;
}

/* ---- The call ---------------------------------------------------------------------- */

/* A buffer of exactly `size` bytes that ends at an inaccessible page (and starts after
 * one), so writing past ctx->capacity faults at once instead of corrupting the runner. */
static uint8_t *guarded_buffer(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (size + page - 1) / page * page;
    uint8_t *base = mmap(NULL, data + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        fail("cannot map a %zu-byte buffer: %s", size, strerror(errno));
    if (data > 0 && mprotect(base + page, data, PROT_READ | PROT_WRITE) != 0)
        fail("cannot map a %zu-byte buffer: %s", size, strerror(errno));
    return base + page + data - size;
}

static void send_result(int32_t rc, const uint8_t *body, size_t len, size_t num_objs,
                        const char *text)
{
    uint8_t buf[PLUGIN_FRAME_HEADER + PLUGIN_REPLY_MAX];
    struct pp_writer w;
    pp_writer_init(&w, buf, sizeof(buf));
    size_t frame = pp_frame_begin(&w, PLUGIN_MSG_RESULT);
    pp_put_u32(&w, (uint32_t)rc);
    pp_put_u32(&w, (uint32_t)num_objs);
    pp_put_bytes(&w, body, len);
    pp_put_str(&w, text);
    pp_frame_end(&w, frame);
    if (w.overflow || write_all(buf, w.len) != 0)
        _exit(PLUGIN_RUNNER_EXIT_FAILURE);
}

struct call_buffers {
    uint8_t *body; /* capacity bytes */
    char *text;    /* FT_EXT_POST_BOOT_TEXT_MAX bytes */
};

static void fill_ctx(const struct plugin_wire_request *rq, const struct ft_ext_services *svc,
                     struct host *h, struct ft_ext_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->struct_size = (uint32_t)sizeof(*ctx);
    ctx->blob_version = rq->blob_version;
    ctx->sku = rq->sku;
    memcpy(ctx->device_id, rq->device_id, sizeof(ctx->device_id));
    ctx->capacity = rq->capacity;
    ctx->config = rq->config;
    ctx->inputs = rq->num_inputs > 0 ? rq->inputs : NULL;
    ctx->num_inputs = rq->num_inputs;
    ctx->services = svc;
    ctx->host = h;
}

static void call_plugin(const struct plugin_wire_request *rq, const struct plugin *p,
                        const struct call_buffers *b)
{
    static const struct ft_ext_services services = {
        .struct_size = sizeof(struct ft_ext_services),
        .log = host_log,
        .obj_count = host_obj_count,
        .obj_get = host_obj_get,
        .push_endorsed_cert = host_push,
    };
    size_t len = rq->body_len;
    size_t num_objs = rq->num_objs;
    memcpy(b->body, rq->body, rq->body_len);
    struct host h = {rq, b->body, &len, &num_objs, rq->capacity, rq->call == PLUGIN_CALL_FT_EXT, 0};
    struct ft_ext_ctx ctx;
    fill_ctx(rq, &services, &h, &ctx);

    if (rq->call == PLUGIN_CALL_POST_BOOT) {
        int rc = p->post_boot != NULL ? p->post_boot(&ctx, b->text, FT_EXT_POST_BOOT_TEXT_MAX) : 0;
        if (strnlen(b->text, FT_EXT_POST_BOOT_TEXT_MAX) == FT_EXT_POST_BOOT_TEXT_MAX)
            fail("post-boot text is not NUL-terminated within %u bytes", FT_EXT_POST_BOOT_TEXT_MAX);
        send_result(rc, NULL, 0, 0, b->text);
        return;
    }
    int rc = p->ft_ext(&ctx, b->body, &len, &num_objs);
    if (rc == 0 && len > rq->capacity)
        fail("output length %zu exceeds the capacity %u", len, rq->capacity);
    if (rc == 0 && num_objs > UINT32_MAX)
        fail("num_objs %zu is out of range", num_objs);
    send_result(rc, b->body, rc == 0 ? len : 0, num_objs, "");
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return PLUGIN_RUNNER_EXIT_USAGE;
    struct plugin_wire_request rq;
    read_request(&rq);
    apply_limits(&rq);

    /* Both filters are built before either is installed: libseccomp may probe the
     * kernel, and its allocations are best done unconfined. */
    scmp_filter_ctx load_ctx = build_filter(true);
    scmp_filter_ctx call_ctx = build_filter(false);
    install_sigsys_handler();
    struct call_buffers bufs = {guarded_buffer(rq.capacity),
                                (char *)guarded_buffer(FT_EXT_POST_BOOT_TEXT_MAX)};

    load_filter(load_ctx, "load");
    struct plugin p;
    memset(&p, 0, sizeof(p));
    load_plugin(argv[1], &p);
    send_hello(&p);
    check_entry_point(&p, (enum plugin_call)rq.call);

    load_filter(call_ctx, "call");
    call_plugin(&rq, &p, &bufs);
    _exit(PLUGIN_RUNNER_EXIT_OK);
}
