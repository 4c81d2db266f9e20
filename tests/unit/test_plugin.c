/* plugin: plugin_run() with the real runner and real plugins (the examples and the
 * misbehaving test plugins in tests/plugins), directory trust checks, and the runner
 * protocol's encoder/decoder. */
#define _GNU_SOURCE /* nftw flags */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugin/plugin.h"
#include "plugin/plugin_proto.h"
#include "testutil.h"
#include "wire/perso_tlv.h"

#define DEADLINE_MS 5000u
#define HANG_DEADLINE_MS 1000u
/* How late the hang verdict may come: fork/exec, reap, a loaded CI machine. */
#define HANG_SLACK_MS 1500u

/* ---- Fixtures ---------------------------------------------------------------------- */

/* A DER SEQUENCE of `total` bytes in the 30 82 HH LL form the device reads. */
static void make_cert(uint8_t *out, size_t total, unsigned seed)
{
    size_t content = total - 4;
    out[0] = 0x30;
    out[1] = 0x82;
    out[2] = (uint8_t)(content >> 8);
    out[3] = (uint8_t)content;
    for (size_t i = 4; i < total; i++)
        out[i] = (uint8_t)(i * 13 + seed);
}

/* The body the harness hands to ft_ext: endorsed UDS, CDI_0, CDI_1. */
static void make_body(enum perso_blob_version v, uint8_t *body, size_t *len, size_t *num_objs)
{
    static const char *const names[] = {"UDS", "CDI_0", "CDI_1"};
    static const size_t sizes[] = {761, 640, 700};
    struct perso_tlv_writer w;
    ck_assert_int_eq(perso_tlv_writer_init(&w, body, FT_EXT_BODY_CAPACITY, v, NULL), 0);
    for (size_t i = 0; i < 3; i++) {
        uint8_t cert[800];
        make_cert(cert, sizes[i], (unsigned)i);
        ck_assert_int_eq(
            perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, names[i], cert, sizes[i], NULL), 0);
    }
    *len = w.len;
    *num_objs = w.num_objs;
}

struct log_capture {
    unsigned count;
    int first_level;
    char first[FT_EXT_LOG_LINE_MAX];
    char last[FT_EXT_LOG_LINE_MAX];
    int min_level;
    size_t longest;
    bool control_seen;
};

static void capture_log(void *user, int level, const char *line)
{
    struct log_capture *c = user;
    if (c->count == 0) {
        c->first_level = level;
        snprintf(c->first, sizeof(c->first), "%s", line);
        c->min_level = level;
    }
    c->count++;
    snprintf(c->last, sizeof(c->last), "%s", line);
    if (level < c->min_level)
        c->min_level = level;
    if (strlen(line) > c->longest)
        c->longest = strlen(line);
    for (const char *p = line; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7E)
            c->control_seen = true;
}

/* One request with a fresh V0/V1 body; the body lives in the struct. */
struct fixture {
    uint8_t body[FT_EXT_BODY_CAPACITY];
    struct plugin_request req;
    struct plugin_result res;
    struct ft_error err;
    struct log_capture log;
};

static void fixture_init(struct fixture *f, const char *dir, const char *name,
                         enum perso_blob_version v)
{
    memset(f, 0, sizeof(*f));
    size_t len, num_objs;
    make_body(v, f->body, &len, &num_objs);
    f->req = (struct plugin_request){
        .dir = dir,
        .name = name,
        .runner = PLUGIN_TEST_RUNNER,
        .call = PLUGIN_CALL_FT_EXT,
        .sku = "sival",
        .blob_version = v,
        .body = f->body,
        .len = len,
        .num_objs = num_objs,
        .deadline_ms = DEADLINE_MS,
        .log = capture_log,
        .log_user = &f->log,
    };
    for (size_t i = 0; i < sizeof(f->req.device_id); i++)
        f->req.device_id[i] = (uint8_t)i;
}

static int fixture_run(struct fixture *f)
{
    return plugin_run(&f->req, &f->res, &f->err);
}

/* Runs a test plugin that must fail and checks the message names it and the cause. */
static void expect_failure(const char *name, const char *cause)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_BAD_DIR, name, PERSO_BLOB_V0);
    ck_assert_int_eq(fixture_run(&f), -1);
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "plugin %s: ", name);
    ck_assert_error(f.err, FT_E_PLUGIN, prefix);
    ck_assert_error(f.err, FT_E_PLUGIN, cause);
    ck_assert_uint_eq(f.res.len, 0);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    unsigned n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void assert_no_children(void)
{
    errno = 0;
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}

/* ---- Temporary plugin directories (inside the build tree) -------------------------- */

static void write_file(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
}

static void copy_file(const char *src, const char *dst, mode_t mode)
{
    static uint8_t buf[1 << 20];
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    ck_assert_int_gt(n, 0);
    write_file(dst, buf, (size_t)n, mode);
}

/* Makes a fresh 0755 directory under PLUGIN_TEST_TMP holding a copy of noop.so. */
static void make_plugin_dir(char *dir, size_t cap)
{
    mkdir(PLUGIN_TEST_TMP, 0755);
    ck_assert_int_eq(chmod(PLUGIN_TEST_TMP, 0755), 0);
    snprintf(dir, cap, "%s/dirXXXXXX", PLUGIN_TEST_TMP);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0755), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/noop.so", dir);
    copy_file(PLUGIN_TEST_DIR "/noop.so", path, 0644);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    chmod(dir, 0755);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int run_noop_in(const char *dir, struct ft_error *err)
{
    struct fixture f;
    fixture_init(&f, dir, "noop", PERSO_BLOB_V0);
    int rc = fixture_run(&f);
    *err = f.err;
    return rc;
}

/* ---- Working plugins --------------------------------------------------------------- */

START_TEST(noop_round_trip)
{
    enum perso_blob_version v = _i == 0 ? PERSO_BLOB_V0 : PERSO_BLOB_V1;
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_DIR, "noop", v);
    ck_assert_msg(fixture_run(&f) == 0, "%s", f.err.message);
    ck_assert_uint_eq(f.res.len, f.req.len);
    ck_assert_uint_eq(f.res.num_objs, v == PERSO_BLOB_V0 ? 3 : 4);
    ck_assert_mem_eq(f.res.body, f.body, f.req.len);
    ck_assert_str_eq(f.res.plugin_name, "noop");
    ck_assert_str_eq(f.res.plugin_version, "1.0.0");
    ck_assert_uint_gt(f.res.elapsed_us, 0);
    /* Its debug line came through the log service. */
    ck_assert_uint_eq(f.log.count, 1);
    ck_assert_int_eq(f.log.first_level, FT_EXT_LOG_DEBUG);
    ck_assert_msg(strstr(f.log.first, "noop: SKU sival") != NULL, "%s", f.log.first);
}
END_TEST

/* Decodes the result body and checks it is the input plus one EndorsedX509Cert. */
static void check_injected(const struct fixture *f, const char *name, const uint8_t *cert,
                           size_t cert_len)
{
    size_t count;
    struct ft_error e;
    ck_assert_msg(perso_tlv_count(f->res.body, f->res.len, f->req.blob_version, &count, &e) == 0,
                  "%s", e.message);
    ck_assert_uint_eq(count, f->req.num_objs + 1);
    ck_assert_uint_eq(f->res.num_objs, f->req.num_objs + 1);
    ck_assert_mem_eq(f->res.body, f->body, f->req.len); /* the old objects are untouched */
    struct perso_tlv_iter it;
    struct perso_obj obj;
    ck_assert_int_eq(perso_tlv_iter_init(&it, f->res.body, f->res.len, f->req.blob_version, NULL),
                     0);
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1 && obj.index + 1 < count)
        ;
    ck_assert_uint_eq(obj.index, count - 1);
    ck_assert_int_eq(obj.type, PERSO_OBJ_X509_CERT);
    ck_assert_str_eq(obj.name, name);
    ck_assert_uint_eq(obj.cert_len, cert_len);
    ck_assert_mem_eq(obj.cert, cert, cert_len);
}

START_TEST(inject_adds_cert_from_file)
{
    enum perso_blob_version v = _i == 0 ? PERSO_BLOB_V0 : PERSO_BLOB_V1;
    uint8_t cert[512];
    make_cert(cert, sizeof(cert), 7);
    char dir[256];
    make_plugin_dir(dir, sizeof(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/extra.der", dir);
    write_file(path, cert, sizeof(cert), 0644);

    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_DIR, "inject", v);
    struct plugin_input in = {.name = "cert", .path = path};
    f.req.inputs = &in;
    f.req.num_inputs = 1;
    int rc = fixture_run(&f);
    remove_tree(dir);
    ck_assert_msg(rc == 0, "%s", f.err.message);
    check_injected(&f, "EXTRA", cert, sizeof(cert));
    ck_assert_str_eq(f.res.plugin_name, "inject");
    ck_assert_msg(strstr(f.log.last, "inject: added EXTRA (512 bytes)") != NULL, "%s", f.log.last);
}
END_TEST

START_TEST(inject_named_input_from_memory)
{
    uint8_t cert[300];
    make_cert(cert, sizeof(cert), 9);
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_DIR, "inject", PERSO_BLOB_V1);
    struct plugin_input in[2] = {{.name = "other", .data = cert, .len = 10},
                                 {.name = "owner", .data = cert, .len = sizeof(cert)}};
    f.req.inputs = in;
    f.req.num_inputs = 2;
    f.req.config = "input=owner name=OWNER_EXT";
    ck_assert_msg(fixture_run(&f) == 0, "%s", f.err.message);
    check_injected(&f, "OWNER_EXT", cert, sizeof(cert));
}
END_TEST

START_TEST(inject_refusals)
{
    uint8_t cert[300];
    make_cert(cert, sizeof(cert), 9);
    struct plugin_input in = {.name = "cert", .data = cert, .len = sizeof(cert)};
    struct fixture f;

    fixture_init(&f, PLUGIN_TEST_DIR, "inject", PERSO_BLOB_V0); /* no input at all */
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin inject: returned -2 (No such file or directory)");
    ck_assert_msg(strstr(f.log.first, "gives no input named cert") != NULL, "%s", f.log.first);

    fixture_init(&f, PLUGIN_TEST_DIR, "inject", PERSO_BLOB_V0); /* name already present */
    f.req.inputs = &in;
    f.req.num_inputs = 1;
    f.req.config = "name=CDI_0";
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin inject: returned -17 (File exists)");

    fixture_init(&f, PLUGIN_TEST_DIR, "inject", PERSO_BLOB_V0); /* V0 names stop at 15 */
    f.req.inputs = &in;
    f.req.num_inputs = 1;
    f.req.config = "name=NAME_OF_20_CHARACTER";
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "returned -22 (Invalid argument)");
    ck_assert_msg(strstr(f.log.last, "push_endorsed_cert: object 3: cert name length 20") != NULL,
                  "%s", f.log.last);
}
END_TEST

START_TEST(inject_no_space)
{
    /* A body 20 bytes short of full: the extra cert cannot fit. */
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_DIR, "inject", PERSO_BLOB_V0);
    struct perso_tlv_writer w;
    ck_assert_int_eq(perso_tlv_writer_init(&w, f.body, FT_EXT_BODY_CAPACITY, PERSO_BLOB_V0, NULL),
                     0);
    uint8_t big[4000];
    make_cert(big, sizeof(big), 1);
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, "BIG", big, 4000, NULL), 0);
    make_cert(big, FT_EXT_BODY_CAPACITY - 20 - w.len - 8, 2);
    ck_assert_int_eq(perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, "FILL", big,
                                           FT_EXT_BODY_CAPACITY - 20 - w.len - 8, NULL),
                     0);
    f.req.len = w.len;
    f.req.num_objs = w.num_objs;
    ck_assert_uint_eq(w.len, FT_EXT_BODY_CAPACITY - 20);
    struct plugin_input in = {.name = "cert", .data = big, .len = 300};
    make_cert(big, 300, 3); /* X509Cert needs 30 82 HH LL, so at least 260 bytes */
    f.req.inputs = &in;
    f.req.num_inputs = 1;
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin inject: returned -28 (No space left on device)");
    ck_assert_msg(strstr(f.log.last, "do not fit, 20 of 5120 bytes left") != NULL, "%s",
                  f.log.last);
}
END_TEST

START_TEST(post_boot_text)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_DIR, "inject", PERSO_BLOB_V0);
    f.req.call = PLUGIN_CALL_POST_BOOT;
    f.req.config = "boot_text=ext-cert-ok";
    ck_assert_msg(fixture_run(&f) == 0, "%s", f.err.message);
    ck_assert_str_eq(f.res.text, "ext-cert-ok");
    ck_assert_uint_eq(f.res.len, 0);

    /* No ft_post_boot_ext: no extra text, not an error. */
    fixture_init(&f, PLUGIN_TEST_DIR, "noop", PERSO_BLOB_V0);
    f.req.call = PLUGIN_CALL_POST_BOOT;
    ck_assert_msg(fixture_run(&f) == 0, "%s", f.err.message);
    ck_assert_str_eq(f.res.text, "");
}
END_TEST

START_TEST(log_flood_is_limited_and_cleaned)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_BAD_DIR, "chatty", PERSO_BLOB_V0);
    ck_assert_msg(fixture_run(&f) == 0, "%s", f.err.message);
    ck_assert_uint_eq(f.log.count, FT_EXT_LOG_LINES_MAX + 1);
    ck_assert_str_eq(f.log.first, "line with?newline and ?[31mescape");
    ck_assert_msg(strstr(f.log.last, "further log lines dropped") != NULL, "%s", f.log.last);
    ck_assert_int_eq(f.log.min_level, FT_EXT_LOG_ERR); /* level 0 was clamped */
    ck_assert_uint_eq(f.log.longest, FT_EXT_LOG_LINE_MAX - 1);
    ck_assert(!f.log.control_seen);
}
END_TEST

/* ---- Misbehaving plugins ----------------------------------------------------------- */

START_TEST(crash_is_reported)
{
    expect_failure("crash", "killed by signal 11 (Segmentation fault)");
}
END_TEST

START_TEST(hang_is_killed_at_deadline)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_BAD_DIR, "hang", PERSO_BLOB_V0);
    f.req.deadline_ms = HANG_DEADLINE_MS;
    uint64_t start = now_ms();
    ck_assert_int_eq(fixture_run(&f), -1);
    uint64_t took = now_ms() - start;
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin hang: no answer within 1000 ms");
    ck_assert_msg(took >= HANG_DEADLINE_MS && took <= HANG_DEADLINE_MS + HANG_SLACK_MS,
                  "verdict after %llu ms", (unsigned long long)took);
    ck_assert_uint_ge(f.res.elapsed_us, HANG_DEADLINE_MS * 1000u);
    fprintf(stderr, "hang: deadline %u ms, verdict after %llu ms\n", HANG_DEADLINE_MS,
            (unsigned long long)took);
    assert_no_children();
}
END_TEST

START_TEST(garbage_is_rejected)
{
    enum perso_blob_version v = _i == 0 ? PERSO_BLOB_V0 : PERSO_BLOB_V1;
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_BAD_DIR, "garbage", v);
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin garbage: output is not a valid TLV body: ");
    ck_assert_error(f.err, FT_E_PLUGIN,
                    v == PERSO_BLOB_V0 ? "object 0 at offset 0" : "object 1 at offset 4");
}
END_TEST

START_TEST(wrong_object_count_is_rejected)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_BAD_DIR, "garbage", PERSO_BLOB_V0);
    f.req.config = "count";
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin garbage: output holds 3 objects but num_objs is 4");
}
END_TEST

START_TEST(overflow_is_rejected)
{
    expect_failure("overflow", "output length 5220 exceeds the capacity 5120");
}
END_TEST

START_TEST(exit_is_reported)
{
    expect_failure("exit", "exited without answering (status 3)");
}
END_TEST

START_TEST(network_is_blocked)
{
    expect_failure("network", "sandbox violation: blocked system call socket");
}
END_TEST

START_TEST(file_write_is_blocked)
{
    char dir[256];
    make_plugin_dir(dir, sizeof(dir));
    char target[512];
    snprintf(target, sizeof(target), "%s/escaped.txt", dir);
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_BAD_DIR, "write", PERSO_BLOB_V0);
    f.req.config = target;
    ck_assert_int_eq(fixture_run(&f), -1);
    bool created = access(target, F_OK) == 0;
    remove_tree(dir);
    ck_assert_error(f.err, FT_E_PLUGIN,
                    "plugin write: sandbox violation: blocked system call open");
    ck_assert(!created);
}
END_TEST

START_TEST(abi_mismatch_is_refused)
{
    expect_failure("badabi", "ABI major 2, harness supports 1");
}
END_TEST

START_TEST(errno_return_is_reported)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_BAD_DIR, "baderr", PERSO_BLOB_V0);
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin baderr: returned -22 (Invalid argument)");
    ck_assert_str_eq(f.log.first, "baderr: refusing SKU sival");
    ck_assert_int_eq(f.log.first_level, FT_EXT_LOG_ERR);
    ck_assert_str_eq(f.res.plugin_name, "baderr"); /* known even on failure */
}
END_TEST

START_TEST(positive_return_is_reported)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_BAD_DIR, "baderr", PERSO_BLOB_V0);
    f.req.config = "rc=5";
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin baderr: returned 5, not 0 or a negative errno");
    f.req.config = "rc=-100000";
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin baderr: returned -100000 (not an errno)");
}
END_TEST

START_TEST(missing_entry_point_is_refused)
{
    expect_failure("nosym", "does not export ft_ext");
}
END_TEST

START_TEST(constructor_runs_sandboxed)
{
    expect_failure("ctor", "sandbox violation: blocked system call socket");
}
END_TEST

/* The whole filter is in force before a constructor runs: it cannot install a filter of
 * its own that would fake the runner's later ones. */
START_TEST(constructor_cannot_install_a_filter)
{
    expect_failure("ctorfilter", "sandbox violation: blocked system call seccomp");
}
END_TEST

/* A constructor sees no file but the plugin and the libraries, even with the runner as
 * root: Landlock answers EACCES. */
START_TEST(constructor_reads_nothing)
{
    expect_failure("ctorread", "returned -13 (Permission denied)");
}
END_TEST

START_TEST(write_past_capacity_faults)
{
    expect_failure("scribble", "killed by signal 11");
}
END_TEST

START_TEST(threads_are_refused)
{
    expect_failure("thread", "killed by signal 31 (Bad system call) (sandbox violation)");
}
END_TEST

START_TEST(forged_message_is_rejected_at_once)
{
    uint64_t start = now_ms();
    expect_failure("forge", "runner sent a malformed message: message type 4 announces 65535");
    ck_assert_uint_lt(now_ms() - start, DEADLINE_MS / 2);
    assert_no_children();
}
END_TEST

START_TEST(not_a_shared_object_is_refused)
{
    char dir[256], path[512];
    make_plugin_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/junk.so", dir);
    write_file(path, (const uint8_t *)"not an ELF file\n", 16, 0644);
    struct fixture f;
    fixture_init(&f, dir, "junk", PERSO_BLOB_V0);
    int rc = fixture_run(&f);
    remove_tree(dir);
    ck_assert_int_eq(rc, -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin junk: cannot load: ");
}
END_TEST

START_TEST(memory_limit_applies)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_BAD_DIR, "hog", PERSO_BLOB_V0);
    f.req.mem_limit = 64u << 20;
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin hog: returned -12 (Cannot allocate memory)");
}
END_TEST

START_TEST(missing_runner_is_reported)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_DIR, "noop", PERSO_BLOB_V0);
    f.req.runner = "/nonexistent/ftharness-plugin-runner";
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN,
                    "plugin noop: cannot start runner /nonexistent/ftharness-plugin-runner: No "
                    "such file or directory");
    assert_no_children();
}
END_TEST

START_TEST(parent_is_never_affected)
{
    static const char *const bad[] = {"crash",  "garbage", "overflow", "exit",   "network",
                                      "write",  "badabi",  "baderr",   "nosym",  "ctor",
                                      "thread", "forge",   "scribble", "nothere"};
    unsigned fds = count_open_fds();
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            struct fixture f;
            fixture_init(&f, PLUGIN_TEST_BAD_DIR, bad[i], PERSO_BLOB_V0);
            ck_assert_int_eq(fixture_run(&f), -1);
            assert_no_children();
            ck_assert_uint_eq(count_open_fds(), fds);
        }
    }
    struct ft_error err;
    ck_assert_msg(run_noop_in(PLUGIN_TEST_DIR, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(count_open_fds(), fds);
    assert_no_children();
}
END_TEST

START_TEST(request_is_checked_before_spawning)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_DIR, "noop", PERSO_BLOB_V0);
    f.req.num_objs = 2;
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "input num_objs is 2 but the body holds 3 objects");

    fixture_init(&f, PLUGIN_TEST_DIR, "noop", PERSO_BLOB_V0);
    f.req.capacity = 1000;
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "exceeds the capacity 1000");

    fixture_init(&f, PLUGIN_TEST_DIR, "noop", PERSO_BLOB_V1);
    f.req.blob_version = PERSO_BLOB_V0; /* a V1 body read as V0 */
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "input body is not a valid TLV body");

    fixture_init(&f, PLUGIN_TEST_DIR, "noop", PERSO_BLOB_V0);
    f.req.deadline_ms = 0;
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "deadline 0 ms is outside");

    fixture_init(&f, PLUGIN_TEST_DIR, "noop", PERSO_BLOB_V0);
    f.req.runner = "ftharness-plugin-runner";
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "is not absolute");

    fixture_init(&f, PLUGIN_TEST_DIR, "noop", PERSO_BLOB_V0);
    struct plugin_input in[2] = {{.name = "a", .path = "/nonexistent/a.der"},
                                 {.name = "a", .data = f.body, .len = 1}};
    f.req.inputs = in;
    f.req.num_inputs = 1;
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN,
                    "plugin noop: input a: /nonexistent/a.der: No such file or directory");
    in[0].path = NULL;
    in[0].data = f.body;
    f.req.num_inputs = 2;
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "input a is given twice");
    assert_no_children();
}
END_TEST

/* ---- Where plugin inputs may come from ---------------------------------------------- */

/* Runs noop with one input file `path` that must lie beneath `root`. */
static int run_with_input(const char *root, const char *path, struct ft_error *err)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_DIR, "noop", PERSO_BLOB_V0);
    struct plugin_input in = {.name = "cert", .path = path, .root = root};
    f.req.inputs = &in;
    f.req.num_inputs = 1;
    int rc = fixture_run(&f);
    *err = f.err;
    return rc;
}

/* A SKU file cannot hand a plugin a file outside its directory (/etc/shadow was read and
 * handed over), nor one that others could have written. */
START_TEST(inputs_are_confined_and_trusted)
{
    char root[256], input[512], outside[512], link[512], want[1200];
    make_plugin_dir(root, sizeof(root)); /* a trusted 0755 directory */
    snprintf(input, sizeof(input), "%s/extra.der", root);
    write_file(input, (const uint8_t *)"\x30\x00", 2, 0644);
    struct ft_error err;
    ck_assert_msg(run_with_input(root, input, &err) == 0, "%s", err.message);

    ck_assert_int_eq(run_with_input(root, "/etc/passwd", &err), -1);
    snprintf(want, sizeof(want),
             "/etc/passwd resolves to /etc/passwd, outside the SKU's directory %s", root);
    ck_assert_error(err, FT_E_PLUGIN, want);

    snprintf(link, sizeof(link), "%s/escape.der", root);
    ck_assert_int_eq(symlink("/etc/passwd", link), 0);
    ck_assert_int_eq(run_with_input(root, link, &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "resolves to /etc/passwd, outside the SKU's directory");

    ck_assert_int_eq(chmod(input, 0666), 0);
    ck_assert_int_eq(run_with_input(root, input, &err), -1);
    snprintf(want, sizeof(want), "plugin noop: input cert: %s is world-writable (mode 0666)",
             input);
    ck_assert_error(err, FT_E_PLUGIN, want);
    ck_assert_int_eq(chmod(input, 0644), 0);

    ck_assert_int_eq(chmod(root, 0777), 0);
    ck_assert_int_eq(run_with_input(root, input, &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "is world-writable (mode 0777)");
    ck_assert_int_eq(chmod(root, 0755), 0);

    snprintf(outside, sizeof(outside), "%s/../outside.der", root);
    write_file(outside, (const uint8_t *)"\x30\x00", 2, 0644);
    ck_assert_int_eq(run_with_input(root, outside, &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "outside the SKU's directory");
    unlink(outside);
    remove_tree(root);
    assert_no_children();
}
END_TEST

/* ---- Where plugins may come from --------------------------------------------------- */

START_TEST(dir_writable_by_others_is_refused)
{
    char dir[256];
    make_plugin_dir(dir, sizeof(dir));
    struct ft_error err;
    char want[512];

    ck_assert_int_eq(chmod(dir, 0777), 0);
    int world = run_noop_in(dir, &err);
    snprintf(want, sizeof(want), "plugin dir %s is world-writable (mode 0777)", dir);
    ck_assert_int_eq(world, -1);
    ck_assert_error(err, FT_E_PLUGIN, want);
    ck_assert_int_eq(plugin_check_dir(dir, NULL), -1);

    ck_assert_int_eq(chmod(dir, 0775), 0);
    ck_assert_int_eq(run_noop_in(dir, &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "is group-writable (mode 0775)");

    ck_assert_int_eq(chmod(dir, 0755), 0);
    ck_assert_msg(run_noop_in(dir, &err) == 0, "%s", err.message);
    ck_assert_int_eq(plugin_check_dir(dir, NULL), 0);
    remove_tree(dir);
}
END_TEST

START_TEST(file_writable_by_others_is_refused)
{
    char dir[256], path[512], want[600];
    make_plugin_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/noop.so", dir);
    struct ft_error err;
    ck_assert_int_eq(chmod(path, 0666), 0);
    ck_assert_int_eq(run_noop_in(dir, &err), -1);
    snprintf(want, sizeof(want), "plugin noop: %s is world-writable (mode 0666)", path);
    ck_assert_error(err, FT_E_PLUGIN, want);
    ck_assert_int_eq(chmod(path, 0620), 0);
    ck_assert_int_eq(run_noop_in(dir, &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "is group-writable (mode 0620)");
    remove_tree(dir);
}
END_TEST

START_TEST(foreign_owner_is_refused)
{
    if (geteuid() != 0)
        return; /* only root can give a file away; CI runs this as root */
    char dir[256], path[512];
    make_plugin_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/noop.so", dir);
    struct ft_error err;
    ck_assert_int_eq(chown(path, 4242, 4242), 0);
    ck_assert_int_eq(run_noop_in(dir, &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "noop.so is owned by uid 4242, expected root");
    ck_assert_int_eq(chown(path, 0, 0), 0);
    ck_assert_int_eq(chown(dir, 4242, 4242), 0);
    ck_assert_int_eq(run_noop_in(dir, &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "is owned by uid 4242, expected root");
    ck_assert_error(err, FT_E_PLUGIN, "plugin dir ");
    remove_tree(dir);
}
END_TEST

START_TEST(ancestors_are_checked)
{
    char dir[256], inner[300], path[400], want[700];
    make_plugin_dir(dir, sizeof(dir));
    snprintf(inner, sizeof(inner), "%s/inner", dir);
    ck_assert_int_eq(mkdir(inner, 0755), 0);
    ck_assert_int_eq(chmod(inner, 0755), 0);
    snprintf(path, sizeof(path), "%s/noop.so", inner);
    copy_file(PLUGIN_TEST_DIR "/noop.so", path, 0644);
    struct ft_error err;

    ck_assert_int_eq(chmod(dir, 0777), 0);
    ck_assert_int_eq(run_noop_in(inner, &err), -1);
    snprintf(want, sizeof(want), "plugin dir %s: ancestor %s is world-writable", inner, dir);
    ck_assert_error(err, FT_E_PLUGIN, want);

    /* Sticky like /tmp: nobody else can rename or remove what it holds. */
    ck_assert_int_eq(chmod(dir, 01777), 0);
    ck_assert_msg(run_noop_in(inner, &err) == 0, "%s", err.message);
    remove_tree(dir);
}
END_TEST

START_TEST(missing_plugin_names_path)
{
    struct fixture f;
    fixture_init(&f, PLUGIN_TEST_DIR, "nothere", PERSO_BLOB_V0);
    ck_assert_int_eq(fixture_run(&f), -1);
    ck_assert_error(f.err, FT_E_PLUGIN, "plugin nothere: " PLUGIN_TEST_DIR "/nothere.so not found");
}
END_TEST

START_TEST(bad_names_and_paths_are_refused)
{
    static const char *const names[] = {"../noop", "a/b", "noop.so", "", "sp ace"};
    char path[512];
    struct ft_error err;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ck_assert_int_eq(plugin_resolve(PLUGIN_TEST_DIR, names[i], path, sizeof(path), &err), -1);
        ck_assert_int_eq(err.code, FT_E_PLUGIN);
    }
    char longname[80];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ck_assert_int_eq(plugin_resolve(PLUGIN_TEST_DIR, longname, path, sizeof(path), &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "longer than 64");

    ck_assert_int_eq(plugin_check_dir("build/plugins", &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "plugin dir build/plugins is not an absolute path");
    ck_assert_int_eq(plugin_check_dir(PLUGIN_TEST_DIR "/../plugins", &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "resolves to " PLUGIN_TEST_DIR);
    ck_assert_int_eq(plugin_check_dir(PLUGIN_TEST_DIR "/", &err), 0); /* trailing / is fine */
    ck_assert_int_eq(plugin_check_dir("/nonexistent/plugins", &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "plugin dir /nonexistent/plugins: No such file");
    ck_assert_int_eq(plugin_check_dir(PLUGIN_TEST_DIR "/noop.so", &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "is not a directory");

    ck_assert_int_eq(plugin_resolve(PLUGIN_TEST_DIR, "noop", path, sizeof(path), &err), 0);
    ck_assert_str_eq(path, PLUGIN_TEST_DIR "/noop.so");
}
END_TEST

START_TEST(symlinks_stay_inside)
{
    char dir[256], link[400], sub[400], want[900];
    make_plugin_dir(dir, sizeof(dir));
    struct ft_error err;
    char path[512];

    /* alias.so -> noop.so in the same directory: fine. */
    snprintf(link, sizeof(link), "%s/alias.so", dir);
    ck_assert_int_eq(symlink("noop.so", link), 0);
    ck_assert_msg(plugin_resolve(dir, "alias", path, sizeof(path), &err) == 0, "%s", err.message);

    /* outside.so -> the build tree's noop.so: refused. */
    snprintf(link, sizeof(link), "%s/outside.so", dir);
    ck_assert_int_eq(symlink(PLUGIN_TEST_DIR "/noop.so", link), 0);
    ck_assert_int_eq(plugin_resolve(dir, "outside", path, sizeof(path), &err), -1);
    snprintf(want, sizeof(want), "%s is a symlink to %s/noop.so, outside the plugin dir", link,
             PLUGIN_TEST_DIR);
    ck_assert_error(err, FT_E_PLUGIN, want);

    /* A directory named like a plugin. */
    snprintf(sub, sizeof(sub), "%s/sub.so", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_assert_int_eq(plugin_resolve(dir, "sub", path, sizeof(path), &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "is not a regular file");
    remove_tree(dir);
}
END_TEST

/* ---- The runner protocol ----------------------------------------------------------- */

static size_t encode_sample(uint8_t *buf, size_t cap, struct plugin_wire_request *rq)
{
    static const uint8_t body[] = {0x10, 0x0A, 0x20, 0x08, 'A', 'B', 0x30, 0x82, 0x00, 0x00};
    memset(rq, 0, sizeof(*rq));
    rq->call = PLUGIN_CALL_FT_EXT;
    rq->blob_version = 0;
    rq->capacity = FT_EXT_BODY_CAPACITY;
    rq->deadline_ms = 1234;
    rq->mem_limit = 99u << 20;
    rq->device_id[31] = 0xAA;
    rq->sku = "sival";
    rq->config = "name=X";
    rq->body = body;
    rq->body_len = sizeof(body);
    rq->num_objs = 1;
    rq->num_inputs = 1;
    rq->inputs[0] = (struct ft_ext_input){"cert", body, 4};
    struct pp_writer w;
    pp_writer_init(&w, buf, cap);
    plugin_request_encode(&w, rq);
    ck_assert(!w.overflow);
    return w.len;
}

START_TEST(proto_request_round_trip)
{
    uint8_t buf[512];
    struct plugin_wire_request in, out;
    size_t len = encode_sample(buf, sizeof(buf), &in);
    uint32_t type;
    const uint8_t *payload;
    size_t payload_len, used;
    ck_assert_int_eq(
        pp_frame_parse(buf, len, PLUGIN_REQUEST_MAX, &type, &payload, &payload_len, &used, NULL),
        1);
    ck_assert_uint_eq(type, PLUGIN_MSG_REQUEST);
    ck_assert_uint_eq(used, len);
    struct ft_error err;
    ck_assert_msg(plugin_request_decode(payload, payload_len, &out, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(out.deadline_ms, 1234);
    ck_assert_uint_eq(out.mem_limit, 99u << 20);
    ck_assert_uint_eq(out.device_id[31], 0xAA);
    ck_assert_str_eq(out.sku, "sival");
    ck_assert_str_eq(out.config, "name=X");
    ck_assert_uint_eq(out.body_len, in.body_len);
    ck_assert_mem_eq(out.body, in.body, in.body_len);
    ck_assert_uint_eq(out.num_inputs, 1);
    ck_assert_str_eq(out.inputs[0].name, "cert");
    ck_assert_uint_eq(out.inputs[0].len, 4);
}
END_TEST

START_TEST(proto_rejects_truncation_and_excess)
{
    uint8_t buf[512];
    struct plugin_wire_request rq;
    size_t len = encode_sample(buf, sizeof(buf), &rq);
    const uint8_t *payload = buf + PLUGIN_FRAME_HEADER;
    size_t payload_len = len - PLUGIN_FRAME_HEADER;
    struct ft_error err;
    /* Every strict prefix fails cleanly (ASan watches the reads). */
    for (size_t n = 0; n < payload_len; n++) {
        uint8_t *copy = malloc(n + 1);
        memcpy(copy, payload, n);
        ck_assert_int_eq(plugin_request_decode(copy, n, &rq, &err), -1);
        free(copy);
    }
    /* A trailing byte, a string without its NUL, an oversized frame. */
    uint8_t longer[513];
    memcpy(longer, payload, payload_len);
    longer[payload_len] = 0;
    ck_assert_int_eq(plugin_request_decode(longer, payload_len + 1, &rq, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "unexpected bytes at the end");
    uint32_t type;
    const uint8_t *p;
    size_t plen, used;
    uint32_t huge[2] = {PLUGIN_MSG_LOG, PLUGIN_REPLY_MAX + 1};
    ck_assert_int_eq(
        pp_frame_parse((const uint8_t *)huge, 8, PLUGIN_REPLY_MAX, &type, &p, &plen, &used, &err),
        -1);
    ck_assert_error(err, FT_E_RANGE, "announces");
    ck_assert_int_eq(pp_frame_parse(buf, 7, PLUGIN_REQUEST_MAX, &type, &p, &plen, &used, &err), 0);
}
END_TEST

START_TEST(proto_abi_rules)
{
    struct ft_error err;
    ck_assert_int_eq(plugin_check_abi(1, sizeof(struct ft_ext_descriptor), &err), 0);
    ck_assert_int_eq(plugin_check_abi(1, 64, &err), 0); /* a later minor's bigger struct */
    ck_assert_int_eq(plugin_check_abi(2, sizeof(struct ft_ext_descriptor), &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "ABI major 2, harness supports 1");
    ck_assert_int_eq(plugin_check_abi(1, 8, &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "descriptor struct_size 8 is smaller");
    ck_assert_int_eq(plugin_check_desc_str("name", "", 0, false, &err), -1);
    ck_assert_int_eq(plugin_check_desc_str("name", "a\nb", 3, false, &err), -1);
    ck_assert_error(err, FT_E_PLUGIN, "descriptor name byte 1 is 0x0a");
    ck_assert_int_eq(plugin_check_desc_str("version", "", 0, true, &err), 0);
}
END_TEST

static Suite *plugin_suite(void)
{
    Suite *s = suite_create("plugin");

    TCase *ok = tcase_create("working");
    tcase_add_loop_test(ok, noop_round_trip, 0, 2);
    tcase_add_loop_test(ok, inject_adds_cert_from_file, 0, 2);
    tcase_add_test(ok, inject_named_input_from_memory);
    tcase_add_test(ok, inject_refusals);
    tcase_add_test(ok, inject_no_space);
    tcase_add_test(ok, post_boot_text);
    tcase_add_test(ok, log_flood_is_limited_and_cleaned);
    tcase_set_timeout(ok, 60);
    suite_add_tcase(s, ok);

    TCase *bad = tcase_create("misbehaving");
    tcase_add_test(bad, crash_is_reported);
    tcase_add_test(bad, hang_is_killed_at_deadline);
    tcase_add_loop_test(bad, garbage_is_rejected, 0, 2);
    tcase_add_test(bad, wrong_object_count_is_rejected);
    tcase_add_test(bad, overflow_is_rejected);
    tcase_add_test(bad, exit_is_reported);
    tcase_add_test(bad, network_is_blocked);
    tcase_add_test(bad, file_write_is_blocked);
    tcase_add_test(bad, abi_mismatch_is_refused);
    tcase_add_test(bad, errno_return_is_reported);
    tcase_add_test(bad, positive_return_is_reported);
    tcase_add_test(bad, missing_entry_point_is_refused);
    tcase_add_test(bad, constructor_runs_sandboxed);
    tcase_add_test(bad, write_past_capacity_faults);
    tcase_add_test(bad, threads_are_refused);
    tcase_add_test(bad, forged_message_is_rejected_at_once);
    tcase_add_test(bad, constructor_cannot_install_a_filter);
    tcase_add_test(bad, constructor_reads_nothing);
    tcase_add_test(bad, inputs_are_confined_and_trusted);
    tcase_add_test(bad, not_a_shared_object_is_refused);
    tcase_add_test(bad, memory_limit_applies);
    tcase_add_test(bad, missing_runner_is_reported);
    tcase_add_test(bad, parent_is_never_affected);
    tcase_add_test(bad, request_is_checked_before_spawning);
    tcase_set_timeout(bad, 60);
    suite_add_tcase(s, bad);

    TCase *trust = tcase_create("trust");
    tcase_add_test(trust, dir_writable_by_others_is_refused);
    tcase_add_test(trust, file_writable_by_others_is_refused);
    tcase_add_test(trust, foreign_owner_is_refused);
    tcase_add_test(trust, ancestors_are_checked);
    tcase_add_test(trust, missing_plugin_names_path);
    tcase_add_test(trust, bad_names_and_paths_are_refused);
    tcase_add_test(trust, symlinks_stay_inside);
    tcase_set_timeout(trust, 60);
    suite_add_tcase(s, trust);

    TCase *proto = tcase_create("protocol");
    tcase_add_test(proto, proto_request_round_trip);
    tcase_add_test(proto, proto_rejects_truncation_and_excess);
    tcase_add_test(proto, proto_abi_rules);
    suite_add_tcase(s, proto);
    return s;
}

FT_TEST_MAIN(plugin_suite)
