/* ftharness-plugin-runner: runs one entry point of one SKU plugin in a sandbox.
 *
 *   ftharness-plugin-runner <plugin.so>     (started by plugin_run(); fd 3 is the channel)
 *
 * Order matters; everything that confines the plugin is in force before its first
 * instruction (its constructors run inside dlopen):
 *   1. read the whole REQUEST (so nothing the plugin does can influence what it is given);
 *   2. resource limits (address space, CPU, no core, no file writes, 8 fds, no
 *      processes, no locked memory), not dumpable, PR_SET_NO_NEW_PRIVS;
 *   3. Landlock, stage "load": the only files that can be opened are the plugin itself
 *      and the system's shared libraries (read-only); nothing else, whatever the runner's
 *      uid (root included): no /etc/shadow, no SKU password, no keys;
 *   4. the seccomp filter, the only one: it forbids installing another (a constructor
 *      could otherwise install a filter that fakes the runner's later ones);
 *   5. dlopen(RTLD_NOW | RTLD_LOCAL), descriptor check, HELLO;
 *   6. Landlock, stage "call": no file can be opened at all; then the call;
 *   7. RESULT, then _exit(0) so no plugin destructor runs after the answer.
 * Without Landlock (Linux before 5.13, or not in the kernel's LSM list) the runner
 * refuses to run: the plugin would see every file the harness's user can read.
 *
 * Seccomp policy:
 *   - allowed: the system calls listed in allowed_always[] and the argument-checked
 *     rules below (write only to fds 1-3, signals only to itself, read-only opens, which
 *     Landlock confines, executable mappings only of files, ...);
 *   - violations, SECCOMP_RET_TRAP: network, processes and threads, exec, writable
 *     opens, file system changes, signals to others, ptrace, privilege, namespace,
 *     module, kernel-keyring and seccomp calls (violation_syscalls[]), anonymous
 *     executable mappings and mprotect to executable. The SIGSYS handler reports the call
 *     by name ("blocked system call socket") and exits; the system call never runs. If a
 *     plugin blocks SIGSYS the kernel kills the process with it, reported as "killed by
 *     signal 31";
 *   - everything else fails with EPERM, so incidental probes in libc (ioctl(TCGETS) in
 *     stdio, ...) degrade instead of killing a plugin;
 *   - a system call of another architecture's ABI kills the process.
 * This binary is built without sanitizers: their runtimes need system calls (and
 * executable mappings, and ptrace for leak checks) that the filter forbids, and they
 * would turn a plugin's SIGSEGV into an exit status. */
#define _GNU_SOURCE /* RTLD_*, sigaltstack, MAP_ANONYMOUS */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ftharness/ft_ext.h>

#include "common/fdio.h"
#include "plugin/plugin_proto.h"
#include "wire/perso_tlv.h"

#define CHAN PLUGIN_PROTO_FD
#define FAILURE_TEXT_MAX 200 /* the parent accepts 200 characters */

/* ---- Talking to the parent --------------------------------------------------------- */

/* Writes a whole buffer; the parent drains the channel while it waits. */
static int write_all(const uint8_t *buf, size_t len)
{
    return fd_write_all(CHAN, buf, len);
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

/* Allowed with any arguments: memory, time, own identity, own signal state, exit; the
 * loader's read-only look-ups (Landlock decides which files); Landlock itself, which can
 * only ever take rights away. */
static const char *const allowed_always[] = {
    "close",
    "lseek",
    "fstat",
    "brk",
    "munmap",
    "mremap",
    "madvise",
    "futex",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "nanosleep",
    "clock_nanosleep",
    "sched_yield",
    "getpid",
    "gettid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getrandom",
    "rt_sigreturn",
    "rt_sigprocmask",
    "sigaltstack",
    "exit",
    "exit_group",
    "restart_syscall",
    "uname",
    "sysinfo",
    "getrlimit",
    "read",
    "pread64",
    "newfstatat",
    "stat",
    "lstat",
    "access",
    "faccessat",
    "readlink",
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
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
    /* another filter: a constructor could fake the runner's own with it */
    "seccomp",
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

/* open/openat: read-only opens are allowed (Landlock decides which files exist for the
 * plugin: its own file and the libraries while loading, none afterwards); any flag that
 * can write or create is a violation. */
static void add_open_rules(scmp_filter_ctx ctx)
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
        struct scmp_arg_cmp ro = {calls[c].arg, SCMP_CMP_MASKED_EQ, any_writing, 0};
        add_rule(ctx, SCMP_ACT_ALLOW, calls[c].name, 1, &ro);
    }
}

/* Executable memory only as mappings of files (the loader maps the plugin and its
 * libraries; Landlock leaves no file to map once loaded): anonymous executable mappings
 * and mprotect to executable (code written at run time) are violations. */
static void add_mapping_rules(scmp_filter_ctx ctx)
{
    struct scmp_arg_cmp exec = {2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC};
    struct scmp_arg_cmp noexec = {2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0};
    struct scmp_arg_cmp anon = {3, SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, MAP_ANONYMOUS};
    struct scmp_arg_cmp file = {3, SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, 0};
    add_rule(ctx, SCMP_ACT_ALLOW, "mmap", 1, &noexec);
    add_rule(ctx, SCMP_ACT_ALLOW, "mmap", 2, (struct scmp_arg_cmp[]){exec, file});
    add_rule(ctx, SCMP_ACT_TRAP, "mmap", 2, (struct scmp_arg_cmp[]){exec, anon});
    add_rule(ctx, SCMP_ACT_ALLOW, "mprotect", 1, &noexec);
    add_rule(ctx, SCMP_ACT_TRAP, "mprotect", 1, &exec);
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

static void add_argument_rules(scmp_filter_ctx ctx)
{
    /* Output only to /dev/null (1, 2) and the channel. */
    for (uint64_t fd = 1; fd <= CHAN; fd++) {
        struct scmp_arg_cmp cmp = {0, SCMP_CMP_EQ, fd, 0};
        add_rule(ctx, SCMP_ACT_ALLOW, "write", 1, &cmp);
        add_rule(ctx, SCMP_ACT_ALLOW, "writev", 1, &cmp);
    }
    add_signal_rules(ctx);
    /* Reading limits, not raising them (root could). */
    struct scmp_arg_cmp query = {2, SCMP_CMP_EQ, 0, 0};
    add_rule(ctx, SCMP_ACT_ALLOW, "prlimit64", 1, &query);
    add_open_rules(ctx);
    add_mapping_rules(ctx);
}

static scmp_filter_ctx build_filter(void)
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
    ADD_LIST(ctx, SCMP_ACT_TRAP, violation_syscalls);
    add_argument_rules(ctx);
    return ctx;
}

static void load_filter(scmp_filter_ctx ctx)
{
    int rc = seccomp_load(ctx);
    if (rc != 0)
        fail("cannot install the seccomp filter: %s", strerror(-rc));
    seccomp_release(ctx);
}

/* ---- Landlock ---------------------------------------------------------------------- */

/* The file system rights of each Landlock ABI; the ruleset handles all the kernel knows,
 * so whatever is not granted below is denied. */
#define LL_RIGHTS_ABI1 ((1ull << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_RIGHT_REFER (1ull << 13)       /* ABI 2 */
#define LL_RIGHT_TRUNCATE (1ull << 14)    /* ABI 3 */
#define LL_READ_FILE (1ull << 2)
#define LL_READ_DIR (1ull << 3)
#define LL_EXECUTE (1ull << 0)

/* Where the loader finds a plugin's dependencies: shared libraries, no secrets. */
static const char *const library_paths[] = {"/usr/lib", "/lib", "/lib64", "/usr/lib64",
                                            "/etc/ld.so.cache"};

static uint64_t landlock_rights(void)
{
    long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1)
        fail("the plugin sandbox needs Landlock (Linux 5.13 or later with landlock in the "
             "kernel's LSM list), which this kernel does not offer: %s",
             strerror(errno));
    return LL_RIGHTS_ABI1 | (abi >= 2 ? LL_RIGHT_REFER : 0) | (abi >= 3 ? LL_RIGHT_TRUNCATE : 0);
}

/* Grants `rights` (limited to those a regular file takes, when `path` is one) beneath
 * `path`; a path that does not exist is skipped. */
static void landlock_allow(int ruleset, const char *path, uint64_t rights, bool required)
{
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (required)
            fail("cannot open %s for the sandbox: %s", path, strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
        rights &= LL_READ_FILE | LL_EXECUTE;
    struct landlock_path_beneath_attr rule = {.allowed_access = rights, .parent_fd = fd};
    if (syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
        fail("cannot add the sandbox rule for %s: %s", path, strerror(errno));
    close(fd);
}

/* Restricts this process's file system view for good. With `plugin` NULL, to nothing. */
static void landlock_confine(uint64_t handled, const char *plugin)
{
    struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
    int ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0);
    if (ruleset < 0)
        fail("cannot create the sandbox's Landlock ruleset: %s", strerror(errno));
    if (plugin != NULL) {
        landlock_allow(ruleset, plugin, LL_READ_FILE | LL_EXECUTE, true);
        for (size_t i = 0; i < sizeof(library_paths) / sizeof(library_paths[0]); i++)
            landlock_allow(ruleset, library_paths[i], LL_READ_FILE | LL_READ_DIR | LL_EXECUTE,
                           false);
    }
    if (syscall(__NR_landlock_restrict_self, ruleset, 0) != 0)
        fail("cannot confine the sandbox with Landlock: %s", strerror(errno));
    close(ruleset);
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
    if ((call == PLUGIN_CALL_FT_EXT || call == PLUGIN_CALL_CHECK) && p->ft_ext == NULL)
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

    if (rq->call == PLUGIN_CALL_CHECK) {
        send_result(0, NULL, 0, 0, "");
        return;
    }
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

    /* The filter is built before it is installed: libseccomp may probe the kernel, and
     * its allocations are best done unconfined. */
    uint64_t fs_rights = landlock_rights();
    scmp_filter_ctx filter = build_filter();
    install_sigsys_handler();
    struct call_buffers bufs = {guarded_buffer(rq.capacity),
                                (char *)guarded_buffer(FT_EXT_POST_BOOT_TEXT_MAX)};

    landlock_confine(fs_rights, argv[1]);
    load_filter(filter);
    struct plugin p;
    memset(&p, 0, sizeof(p));
    load_plugin(argv[1], &p);
    send_hello(&p);
    check_entry_point(&p, (enum plugin_call)rq.call);

    landlock_confine(fs_rights, NULL);
    call_plugin(&rq, &p, &bufs);
    _exit(PLUGIN_RUNNER_EXIT_OK);
}
