/* Where a PA message codec is: the message name and the path of the field at hand, so
 * every error reads "pa.EndorseCertsRequest: bundles[2].tbs: <why>". Shared by the
 * proto3 JSON codec (pa_pbjson.c) and the copies between the structs and protoc-c's messages
 * (pa_msg_pb.c). */
#ifndef FTHARNESS_PA_MSG_PATH_H
#define FTHARNESS_PA_MSG_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define MSG_PATH_CAP 160

struct msg_path {
    const char *root;        /* message name */
    char path[MSG_PATH_CAP]; /* "bundles[2].key_params"; cut when full, never overflowing */
    size_t path_len;
    struct ft_error *err;
};

void msg_path_init(struct msg_path *p, const char *root, struct ft_error *err);

/* Appends ".name", "name[index]" (indexed) or "[index]" (name ""); returns what
 * msg_path_pop needs to undo it. */
size_t msg_path_push(struct msg_path *p, const char *name, size_t index, bool indexed);

void msg_path_pop(struct msg_path *p, size_t saved);

/* Fails with "<root>: <path>: <why>" (no path part at the top level); returns -1. */
int msg_path_fail(struct msg_path *p, enum ft_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
