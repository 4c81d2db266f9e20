/* The messages between plugin_run() (the parent) and ftharness-plugin-runner (the child),
 * over a SOCK_STREAM socketpair that is fd 3 in the runner.
 *
 * Frame: u32 type, u32 payload length, payload; integers in host byte order (both ends
 * are the same machine). Every length is checked before use: the parent treats whatever
 * the runner sends as untrusted, since the plugin shares the runner's address space and
 * can write to the socket itself.
 *
 * parent -> runner: REQUEST (once).
 * runner -> parent: HELLO (plugin loaded, descriptor accepted), LOG*, then one of RESULT
 * (the entry point returned), FAILURE (the runner refused or could not run the plugin) or
 * VIOLATION (the seccomp filter trapped a forbidden system call). */
#ifndef FTHARNESS_PLUGIN_PROTO_H
#define FTHARNESS_PLUGIN_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ftharness/ft_ext.h>

#include "common/error.h"

#define PLUGIN_PROTO_FD 3 /* the channel's fd number in the runner */
#define PLUGIN_FRAME_HEADER 8u
/* Largest REQUEST payload: body, inputs, config and SKU with their length fields. */
#define PLUGIN_REQUEST_MAX (2u * 1024u * 1024u)
/* Largest payload of a runner -> parent frame (RESULT: body + text + fields). */
#define PLUGIN_REPLY_MAX 8192u

#define PLUGIN_INPUTS_MAX 16u
#define PLUGIN_INPUT_NAME_MAX 63u
#define PLUGIN_INPUT_MAX (64u * 1024u) /* bytes per input */
#define PLUGIN_CONFIG_MAX 4095u
#define PLUGIN_SKU_MAX 63u
#define PLUGIN_DESC_STR_MAX 63u /* descriptor name and version */

/* Runner exit codes; only 0 means it answered normally. */
#define PLUGIN_RUNNER_EXIT_OK 0
#define PLUGIN_RUNNER_EXIT_FAILURE 2   /* after a FAILURE frame */
#define PLUGIN_RUNNER_EXIT_VIOLATION 4 /* after a VIOLATION frame */
#define PLUGIN_RUNNER_EXIT_USAGE 64

enum plugin_msg_type {
    PLUGIN_MSG_REQUEST = 1,
    PLUGIN_MSG_HELLO = 2,
    PLUGIN_MSG_LOG = 3,
    PLUGIN_MSG_RESULT = 4,
    PLUGIN_MSG_FAILURE = 5,
    PLUGIN_MSG_VIOLATION = 6,
};

/* Which entry point a request calls. */
enum plugin_call {
    PLUGIN_CALL_FT_EXT = 0,
    PLUGIN_CALL_POST_BOOT = 1,
    /* Load, check the descriptor and that ft_ext is exported, answer without calling
     * anything: the check before a chip is touched. */
    PLUGIN_CALL_CHECK = 2,
};

/* A decoded REQUEST. Strings and byte arrays borrow from the decoded payload; strings are
 * NUL-terminated there (the encoding carries the NUL). */
struct plugin_wire_request {
    uint32_t call;         /* enum plugin_call */
    uint32_t blob_version; /* 0 or 1 */
    uint32_t capacity;     /* <= FT_EXT_BODY_CAPACITY */
    uint32_t deadline_ms;  /* for the runner's CPU-time limit */
    uint64_t mem_limit;    /* address-space limit in bytes */
    uint8_t device_id[FT_EXT_DEVICE_ID_SIZE];
    const char *sku;
    const char *config;
    const uint8_t *body;
    size_t body_len; /* <= capacity */
    uint32_t num_objs;
    size_t num_inputs;
    struct ft_ext_input inputs[PLUGIN_INPUTS_MAX];
};

/* Bounded writer over a caller buffer: a failed put sets `overflow` and writes nothing, so
 * a sequence of puts is checked once at the end. */
struct pp_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
};

/* Bounded reader; every get checks the bytes left and fails naming the field. */
struct pp_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
};

void pp_writer_init(struct pp_writer *w, uint8_t *buf, size_t cap);
void pp_put_u32(struct pp_writer *w, uint32_t v);
void pp_put_u64(struct pp_writer *w, uint64_t v);
/* u32 length + bytes. */
void pp_put_bytes(struct pp_writer *w, const void *data, size_t len);
/* u32 length (NUL included) + the string and its NUL. NULL is written as "". */
void pp_put_str(struct pp_writer *w, const char *s);
/* Starts a frame of `type`; pp_frame_end() fills in its length. Returns the offset of the
 * frame header for pp_frame_end. */
size_t pp_frame_begin(struct pp_writer *w, enum plugin_msg_type type);
void pp_frame_end(struct pp_writer *w, size_t frame_start);

void pp_reader_init(struct pp_reader *r, const uint8_t *buf, size_t len);
int pp_get_u32(struct pp_reader *r, const char *what, uint32_t *v, struct ft_error *err);
int pp_get_u64(struct pp_reader *r, const char *what, uint64_t *v, struct ft_error *err);
/* Borrows `*len` (<= max) bytes. */
int pp_get_bytes(struct pp_reader *r, const char *what, size_t max, const uint8_t **data,
                 size_t *len, struct ft_error *err);
/* Borrows a string of at most `max` characters that ends in its NUL and holds no other. */
int pp_get_str(struct pp_reader *r, const char *what, size_t max, const char **s,
               struct ft_error *err);
/* Fails unless every byte was read. */
int pp_get_end(const struct pp_reader *r, const char *what, struct ft_error *err);

/* Looks for one complete frame at the start of buf[0 .. avail). Returns 1 with its type,
 * payload and total size (header included) in *consumed, 0 if more bytes are needed, -1
 * if the header announces a payload larger than `max`. */
int pp_frame_parse(const uint8_t *buf, size_t avail, size_t max, uint32_t *type,
                   const uint8_t **payload, size_t *payload_len, size_t *consumed,
                   struct ft_error *err);

/* Encodes a REQUEST frame into w. */
void plugin_request_encode(struct pp_writer *w, const struct plugin_wire_request *rq);
/* Decodes a REQUEST payload and checks every limit above. */
int plugin_request_decode(const uint8_t *payload, size_t len, struct plugin_wire_request *rq,
                          struct ft_error *err);

/* The descriptor rules, applied by the runner before it calls the plugin and again by the
 * parent to the HELLO it receives: abi_major == FT_EXT_ABI_MAJOR, struct_size at least the
 * ABI 1.0 descriptor. Messages: "ABI major 2, harness supports 1", ... */
int plugin_check_abi(uint32_t abi_major, uint32_t struct_size, struct ft_error *err);
/* Name: 1..63 printable ASCII; version: 0..63 printable ASCII (what = "name"/"version"). */
int plugin_check_desc_str(const char *what, const char *s, size_t len, bool may_be_empty,
                          struct ft_error *err);

#endif
