/* Host side of SKU plugins (include/ftharness/ft_ext.h): finds a plugin in the configured
 * directory, checks who may have put it there, and runs one entry point in a sandboxed
 * child process (ftharness-plugin-runner). This process never dlopens a plugin.
 *
 * Trust: a plugin directory and the plugin files in it must be owned by root, or by the
 * effective user when the harness does not run as root (a developer's build tree), and
 * must not be group- or world-writable; the same holds for every ancestor directory,
 * except that a world-writable ancestor with the sticky bit (like /tmp) is accepted,
 * because nobody else can rename or replace what it holds.
 *
 * Every failure, of the plugin or of its configuration, is FT_E_PLUGIN with a message that
 * names the plugin and the cause: "plugin crash: killed by signal 11 (Segmentation
 * fault)", "plugin hang: no answer within 2000 ms", "plugin baderr: returned -22 (Invalid
 * argument)", "plugin garbage: output is not a valid TLV body: object 1 at offset 4: ...",
 * "plugin dir /x is world-writable (mode 0777)", ... (docs/plugins.md lists them all). */
#ifndef FTHARNESS_PLUGIN_PLUGIN_H
#define FTHARNESS_PLUGIN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <ftharness/ft_ext.h>

#include "common/error.h"
#include "plugin/plugin_proto.h"
#include "wire/perso_tlv.h"

#define PLUGIN_NAME_MAX 64u /* plugin names: [A-Za-z0-9_-], 1..64 characters */
#define PLUGIN_DEFAULT_MEM_LIMIT (256u * 1024u * 1024u)
#define PLUGIN_MIN_MEM_LIMIT (16u * 1024u * 1024u)
#define PLUGIN_DEADLINE_MAX_MS 600000u

/* Called for each line the plugin logs, in order, on the calling thread, while plugin_run
 * waits. `line` is borrowed (valid during the call), at most FT_EXT_LOG_LINE_MAX - 1
 * bytes, control characters replaced by '?'; `level` is 0..7 (FT_EXT_LOG_*). After
 * FT_EXT_LOG_LINES_MAX lines, one last line says that further lines were dropped. */
typedef void (*plugin_log_fn)(void *user, int level, const char *line);

/* One named input for the plugin (ctx->inputs). Give either `data`/`len` (borrowed) or
 * `path`: plugin_run then reads that file (a regular file of at most PLUGIN_INPUT_MAX
 * bytes) itself, because the plugin may not open files. */
struct plugin_input {
    const char *name; /* 1..63 printable ASCII, unique within the request */
    const char *path; /* used when data is NULL: trusted like a plugin file */
    const char *root; /* NULL, or the directory `path` must resolve beneath */
    const uint8_t *data;
    size_t len;
};

/* Everything plugin_run needs; all pointers are borrowed for the duration of the call. */
struct plugin_request {
    const char *dir;       /* plugin directory: absolute, canonical (no symlinks) */
    const char *name;      /* plugin name; the file is <dir>/<name>.so */
    const char *runner;    /* absolute path of ftharness-plugin-runner */
    enum plugin_call call; /* PLUGIN_CALL_FT_EXT, _POST_BOOT or _CHECK (load only) */

    const char *sku; /* 1..63 printable ASCII */
    uint8_t device_id[FT_EXT_DEVICE_ID_SIZE];
    enum perso_blob_version blob_version;

    /* The body: a valid TLV body of blob_version holding exactly num_objs objects, with
     * len <= capacity. For PLUGIN_CALL_POST_BOOT, the body that was sent to the chip. */
    const uint8_t *body;
    size_t len;
    size_t num_objs;
    size_t capacity; /* 0 means FT_EXT_BODY_CAPACITY, the only value upstream uses */

    const char *config; /* NULL or at most PLUGIN_CONFIG_MAX bytes; ctx->config */
    const struct plugin_input *inputs;
    size_t num_inputs; /* <= PLUGIN_INPUTS_MAX */

    unsigned deadline_ms; /* wall clock from start to exit, 1..PLUGIN_DEADLINE_MAX_MS */
    size_t mem_limit;     /* address space of the runner; 0 = PLUGIN_DEFAULT_MEM_LIMIT */

    plugin_log_fn log; /* may be NULL: lines are dropped */
    void *log_user;
};

/* What plugin_run returns; caller-owned. */
struct plugin_result {
    /* PLUGIN_CALL_FT_EXT: the validated new body (len <= the request's capacity). */
    size_t len;
    size_t num_objs;
    uint8_t body[FT_EXT_BODY_CAPACITY];
    /* PLUGIN_CALL_POST_BOOT: extra boot text, "" for none (printable ASCII, \t \r \n). */
    char text[FT_EXT_POST_BOOT_TEXT_MAX];
    /* From the descriptor, for the device record; "" when the plugin never got that far
     * (also filled on failure when known). */
    char plugin_name[PLUGIN_DESC_STR_MAX + 1];
    char plugin_version[PLUGIN_DESC_STR_MAX + 1];
    uint64_t elapsed_us; /* runner start to exit */
};

/* Checks that `dir` may hold plugins (see "Trust" above). Messages: "plugin dir /x is
 * world-writable (mode 0777)", "plugin dir /x is owned by uid 1000, expected root",
 * "plugin dir /x: ancestor /a is group-writable (mode 0775)", "plugin dir x is not an
 * absolute path", "plugin dir /x resolves to /y (symlink): configure /y", ... */
int plugin_check_dir(const char *dir, struct ft_error *err);

/* Checks `name` and `dir`, then writes "<dir>/<name>.so" to path[0 .. cap). The file must
 * be a regular file owned by a trusted user and not group/world-writable; a symlink is
 * accepted only if it resolves to a file in the same directory. Messages name the path:
 * "plugin foo: /x/foo.so not found". */
int plugin_resolve(const char *dir, const char *name, char *path, size_t cap, struct ft_error *err);

/* Runs one entry point of plugin req->name in a new runner process and waits for it (at
 * most req->deadline_ms, then SIGKILL). On success fills *res and returns 0. On any
 * failure returns -1 with err set (FT_E_PLUGIN, message naming the plugin and the cause);
 * res->plugin_name/plugin_version/elapsed_us are still filled when known. The runner is
 * always reaped; no signal handler is installed and SIGPIPE is never raised. Safe to call
 * from several threads at once (no shared state). The caller must not reap children it
 * did not start (waitpid(-1, ...), SIGCHLD set to SIG_IGN): the runner's exit status would
 * be lost, and the call fails saying so. */
int plugin_run(const struct plugin_request *req, struct plugin_result *res, struct ft_error *err);

#endif
