/* ftharness SKU plugin ABI, version 1.0 (the only public header of ftharness).
 *
 * A SKU plugin is a shared object `<name>.so` in the harness's plugin directory. After the
 * chip's TBS certificates are endorsed, the harness builds the host->device perso TLV body
 * (one EndorsedX509Cert object per endorsed certificate, in TBS order) and hands it to the
 * plugin's ft_ext(), which may add, remove or reorder objects. The result goes to the chip.
 * This is upstream OpenTitan's `ft_inject_certs_ext` hook (reference: the perso TLV format
 * and ft_lib), loaded with dlopen instead of being linked into the host binary.
 *
 * Isolation: plugins never run inside the harness. Each call runs in a fresh, short-lived
 * process (`ftharness-plugin-runner`) that loads the plugin, calls one entry point and exits.
 * The process has a wall-clock deadline, an address-space limit, no core dumps, no new
 * privileges and a seccomp filter: no files may be opened after loading, and network, new
 * processes or threads, signals to other processes, writable opens and file system changes
 * kill it. Everything a plugin needs comes in through `struct ft_ext_ctx`: see
 * docs/plugins.md for the whole list of limits.
 *
 * Building: compile with -fvisibility=hidden -fPIC and link with -shared. This header marks
 * the entry points below and the descriptor (FT_EXT_DEFINE_DESCRIPTOR) with default
 * visibility, so they are the only exported symbols. `pkg-config --cflags ftharness-ext`
 * gives the include path. Plugins need not (and cannot) link against the harness: every
 * host service is a function pointer in the context.
 *
 * Ownership words (as in jansson): "borrowed" means the harness owns the memory and it is
 * valid only until the call returns; "plugin-owned" means the plugin provides it and must
 * keep it valid for the life of the process (string literals and static data).
 *
 * Compatibility: a host accepts a plugin whose abi_major equals its own. Minor versions
 * only append fields to the end of ft_ext_ctx and ft_ext_services; each struct starts with
 * its struct_size so a plugin built against a newer minor can test for a field with
 * FT_EXT_HAS() before using it. The first three fields of ft_ext_descriptor never change. */
#ifndef FTHARNESS_FT_EXT_H
#define FTHARNESS_FT_EXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FT_EXT_ABI_MAJOR 1
#define FT_EXT_ABI_MINOR 0

/* Capacity of the body buffer: the perso blob body of the perso firmware (both blob
 * versions). ctx->capacity holds the value in force; do not assume this constant. */
#define FT_EXT_BODY_CAPACITY 5120u
/* Size of ctx->device_id. */
#define FT_EXT_DEVICE_ID_SIZE 32u
/* Longest certificate name a TLV object can carry (V1; V0 allows 15, and the device
 * firmware on master also stops at 15, so keep names <= 15 characters). */
#define FT_EXT_CERT_NAME_MAX 255u
/* The `cap` given to ft_post_boot_ext(), NUL included. */
#define FT_EXT_POST_BOOT_TEXT_MAX 1024u
/* Log lines are cut to this many bytes (NUL included); at most FT_EXT_LOG_LINES_MAX lines
 * per call are forwarded, the rest are dropped. */
#define FT_EXT_LOG_LINE_MAX 512u
#define FT_EXT_LOG_LINES_MAX 256u

/* Perso blob versions (ctx->blob_version). */
#define FT_EXT_BLOB_V0 0u /* 16-bit headers, no version object */
#define FT_EXT_BLOB_V1 1u /* 32-bit headers, body starts with the version object F0 04 00 01 */

/* Perso TLV object types (struct ft_ext_obj.type), values as on the wire. */
#define FT_EXT_OBJ_X509_TBS 0u
#define FT_EXT_OBJ_X509_CERT 1u /* EndorsedX509Cert: what the harness passes in */
#define FT_EXT_OBJ_DEV_SEED 2u
#define FT_EXT_OBJ_CWT_CERT 3u
#define FT_EXT_OBJ_WAS_TBS_HMAC 4u
#define FT_EXT_OBJ_DEVICE_ID 5u
#define FT_EXT_OBJ_GENERIC_SEED 6u
#define FT_EXT_OBJ_PERSO_SHA256_HASH 7u
#define FT_EXT_OBJ_BLOB_VERSION 15u /* index 0 of a V1 body */

/* Log levels: syslog/journald priorities. */
#define FT_EXT_LOG_ERR 3
#define FT_EXT_LOG_WARNING 4
#define FT_EXT_LOG_NOTICE 5
#define FT_EXT_LOG_INFO 6
#define FT_EXT_LOG_DEBUG 7

#if defined(__GNUC__) || defined(__clang__)
#define FT_EXT_EXPORT __attribute__((visibility("default")))
#define FT_EXT_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define FT_EXT_EXPORT
#define FT_EXT_PRINTF(fmt_index, first_arg)
#endif

/* True when `ptr` (a pointer to a struct that starts with `uint32_t struct_size`, of type
 * `type`) is large enough to hold `member`; for fields added by later minor versions. */
#define FT_EXT_HAS(type, ptr, member)                                                              \
    ((ptr)->struct_size >= offsetof(type, member) + sizeof(((const type *)0)->member))

/* Identifies the plugin; exported under the name `ft_ext_descriptor`. Define it with
 * FT_EXT_DEFINE_DESCRIPTOR. The host refuses a plugin whose abi_major differs from its own,
 * whose struct_size is smaller than this ABI 1.0 struct, or whose name is NULL, empty,
 * longer than 63 characters or not printable ASCII. The name and version are recorded in
 * the device record next to the harness version. */
struct ft_ext_descriptor {
    uint16_t abi_major;   /* FT_EXT_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;   /* FT_EXT_ABI_MINOR the plugin was built against */
    uint32_t struct_size; /* sizeof(struct ft_ext_descriptor) as the plugin was built */
    const char *name;     /* plugin-owned, e.g. "acme-tpm"; 1..63 printable ASCII */
    const char *version;  /* plugin-owned, e.g. "1.4.2"; NULL or 0..63 printable ASCII */
};

/* One object of the current body, filled by ft_ext_services.obj_get. */
struct ft_ext_obj {
    uint32_t type;                       /* FT_EXT_OBJ_* */
    char name[FT_EXT_CERT_NAME_MAX + 1]; /* cert objects: NUL-terminated name; else "" */
    const uint8_t *data; /* borrowed from the body: the certificate (DER or CWT) for cert
                          * objects, the payload for the others; valid until the body is
                          * next changed (by the plugin or by push_endorsed_cert) */
    size_t len;          /* bytes at data */
};

/* A named input the SKU configuration gives the plugin (for example a certificate to
 * inject). The harness reads the files the SKU lists before the plugin runs, because the
 * plugin itself may not open files. */
struct ft_ext_input {
    const char *name;    /* borrowed, NUL-terminated, e.g. "cert" */
    const uint8_t *data; /* borrowed, `len` bytes (not NUL-terminated) */
    size_t len;
};

/* Host services. Every function takes ctx->host as its first argument. They work on the
 * body, len and num_objs of the current ft_ext() call and read *len afresh on every call,
 * so a plugin may mix its own edits of the body with service calls. Functions returning
 * int return 0 or a negative errno. */
struct ft_ext_services {
    uint32_t struct_size; /* sizeof(struct ft_ext_services) as the host built it */

    /* Logs one line (printf-style; cut to FT_EXT_LOG_LINE_MAX bytes) at `level`
     * (FT_EXT_LOG_*). The harness replaces control and non-ASCII bytes with '?' and
     * treats levels more urgent than FT_EXT_LOG_ERR as FT_EXT_LOG_ERR. Lines past
     * FT_EXT_LOG_LINES_MAX per call are dropped. */
    void (*log)(void *host, int level, const char *fmt, ...) FT_EXT_PRINTF(3, 4);

    /* Sets *count to the number of objects in the current body (the same number that
     * *num_objs must hold: on V1 it counts the version object). -EBADMSG: the body is not
     * a valid TLV body. */
    int (*obj_count)(void *host, size_t *count);

    /* Decodes object `index` (0-based; on V1 index 0 is the version object) into *obj.
     * -ERANGE: no such object; -EBADMSG: the body is not valid up to that object. */
    int (*obj_get)(void *host, size_t index, struct ft_ext_obj *obj);

    /* Appends an EndorsedX509Cert object named `name` (NUL-terminated, printable ASCII,
     * 1..15 characters on V0) holding `len` bytes of DER at `der` (both borrowed; copied),
     * encoded for ctx->blob_version, and adds `len` + headers to *len and 1 to *num_objs.
     * The DER must be one SEQUENCE with the 30 82 HH LL length form the device reads.
     * -EINVAL: bad name or DER; -ENOSPC: it does not fit the capacity; -EFBIG: the object
     * exceeds the header's size field (4095 bytes on V0); -EBADMSG: *len exceeds the
     * capacity; -EPERM: called from ft_post_boot_ext. On failure nothing changes. */
    int (*push_endorsed_cert)(void *host, const char *name, const uint8_t *der, size_t len);
};

/* Everything the harness tells the plugin. The struct and everything it points to are
 * borrowed: valid only during the call, never to be written. */
struct ft_ext_ctx {
    uint32_t struct_size;  /* sizeof(struct ft_ext_ctx) as the host built it */
    uint32_t blob_version; /* FT_EXT_BLOB_V0 or FT_EXT_BLOB_V1 */
    const char *sku;       /* SKU name, e.g. "sival" */
    /* The 256-bit device ID in TLV/OTP byte order (8 little-endian u32 words, as in the
     * DeviceId object); people read it as 64 big-endian hex digits. */
    uint8_t device_id[FT_EXT_DEVICE_ID_SIZE];
    size_t capacity;    /* bytes the plugin may write at `body` (FT_EXT_BODY_CAPACITY) */
    const char *config; /* the SKU's plugin config string (format up to the plugin), or "" */
    const struct ft_ext_input *inputs; /* num_inputs inputs named by the SKU; NULL when 0 */
    size_t num_inputs;
    const struct ft_ext_services *services; /* never NULL */
    void *host;                             /* first argument of every service */
};

/* Required. Edits the host->device perso TLV body in place (upstream
 * ft_inject_certs_ext semantics).
 *
 * On entry body[0 .. *len) holds the body: for blob version 0 one EndorsedX509Cert object
 * per endorsed certificate in TBS order (UDS first); for version 1 the same objects after
 * the version object F0 04 00 01. *num_objs is the number of objects, the version object
 * included (it becomes perso_blob_t.num_objs). `body` has ctx->capacity writable bytes;
 * body, len and num_objs are borrowed.
 *
 * The plugin may add, remove or reorder objects, by hand or with the services. On return
 * 0, body[0 .. *len) must be a valid TLV body of ctx->blob_version with *len <=
 * ctx->capacity and exactly *num_objs objects; it replaces the body sent to the chip.
 * Certificates the plugin adds are not endorsed, hashed or verified by the harness.
 *
 * Returns 0 or a negative errno. Any other return, a crash, an exit, a sandbox violation,
 * overrunning the deadline or an invalid body fails the DUT with the plugin named. Each
 * call runs in a new process: static data does not survive between DUTs. */
FT_EXT_EXPORT int ft_ext(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len,
                         size_t *num_objs);

/* Optional. Called, in its own process, when the harness checks the boot after
 * personalization (upstream ft_post_boot_ext). Writes to `text` (cap bytes,
 * FT_EXT_POST_BOOT_TEXT_MAX, borrowed) a NUL-terminated string that must appear in the
 * boot output before the owner success text, or leaves text[0] == '\0' for no extra text.
 * obj_count/obj_get see the body that was sent to the chip; push_endorsed_cert returns
 * -EPERM. Returns 0 or a negative errno. */
FT_EXT_EXPORT int ft_post_boot_ext(const struct ft_ext_ctx *ctx, char *text, size_t cap);

FT_EXT_EXPORT extern const struct ft_ext_descriptor ft_ext_descriptor;

/* Symbol names and types, for hosts that resolve them with dlsym. */
#define FT_EXT_SYMBOL "ft_ext"
#define FT_EXT_POST_BOOT_SYMBOL "ft_post_boot_ext"
#define FT_EXT_DESCRIPTOR_SYMBOL "ft_ext_descriptor"
typedef int (*ft_ext_fn)(const struct ft_ext_ctx *ctx, uint8_t *body, size_t *len,
                         size_t *num_objs);
typedef int (*ft_post_boot_ext_fn)(const struct ft_ext_ctx *ctx, char *text, size_t cap);

/* Returns the input called `name`, or NULL. */
static inline const struct ft_ext_input *ft_ext_find_input(const struct ft_ext_ctx *ctx,
                                                           const char *name)
{
    for (size_t i = 0; i < ctx->num_inputs; i++)
        if (strcmp(ctx->inputs[i].name, name) == 0)
            return &ctx->inputs[i];
    return NULL;
}

/* Logs through the host: FT_EXT_LOG(ctx, FT_EXT_LOG_INFO, "added %s", name). */
#define FT_EXT_LOG(ctx, level, ...) ((ctx)->services->log((ctx)->host, (level), __VA_ARGS__))

#ifdef __cplusplus
}
#define FT_EXT_DESCRIPTOR_LINKAGE extern "C" FT_EXT_EXPORT
#else
#define FT_EXT_DESCRIPTOR_LINKAGE FT_EXT_EXPORT
#endif

/* Defines the exported descriptor; use once, at file scope, in one source file:
 *     FT_EXT_DEFINE_DESCRIPTOR("acme-tpm", "1.4.2");                                     */
#define FT_EXT_DEFINE_DESCRIPTOR(plugin_name, plugin_version)                                      \
    FT_EXT_DESCRIPTOR_LINKAGE const struct ft_ext_descriptor ft_ext_descriptor = {                 \
        FT_EXT_ABI_MAJOR, FT_EXT_ABI_MINOR, (uint32_t)sizeof(struct ft_ext_descriptor),            \
        (plugin_name), (plugin_version)}

#endif
