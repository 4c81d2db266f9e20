/* What the supervisor and a site worker say to each other: one JSON object per
 * SOCK_SEQPACKET datagram of at most SITE_MSG_MAX bytes, checked on receipt like any
 * outside input (a worker runs plugins and talks to the chip and the network).
 *
 *   supervisor -> worker  {"t":"provision","sku":S,"request_id":S,"din":[6 ints],"benchtop":B}
 *                         {"t":"kick"}   (uploader: the spool has a new entry)
 *   worker -> supervisor  {"t":"ready"}
 *                         {"t":"step","step":S,"us":N}      (a step ended)
 *                         {"t":"result","pass":B,"class":N,"error":S,"dut_state":S,
 *                          "device_id":S,"record_file":S,"record":{...},
 *                          "rpcs":[[S,F,B]...],"sessions":N}
 *                         {"t":"spool","depth":N,"oldest_ms":N,"error":S,"rpcs":[...]}
 *                         (uploader)
 * "rpcs" (optional): the service calls made since the last report (daemon/rpc_log.h);
 * "sessions" (optional): service sessions opened since then.
 */
#ifndef FTHARNESS_DAEMON_SITE_MSG_H
#define FTHARNESS_DAEMON_SITE_MSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "daemon/control_proto.h"
#include "daemon/rpc_log.h"

#define SITE_MSG_MAX 65536u

enum site_msg_type {
    SITE_MSG_PROVISION,
    SITE_MSG_KICK,
    SITE_MSG_READY,
    SITE_MSG_STEP,
    SITE_MSG_RESULT,
    SITE_MSG_SPOOL,
};

struct site_msg {
    enum site_msg_type type;
    /* provision */
    char sku[64];
    char request_id[CONTROL_ID_MAX + 1];
    struct control_din din;
    bool benchtop;
    /* step */
    char step[32];
    uint64_t us;
    /* result */
    bool pass;
    int exit_class; /* 0..7, station_exit */
    char error[512];
    char dut_state[512]; /* the flow's longest state texts (flow.c) are over 200 bytes */
    char device_id[80];  /* "" when the chip never named itself */
    char record_file[128];
    json_t *record; /* NEW reference or NULL: the device record */
    /* result, spool */
    struct rpc_obs rpcs[RPC_LOG_MAX];
    size_t n_rpcs;
    uint64_t sessions;
    /* spool */
    uint64_t spool_depth;
    int64_t spool_oldest_ms; /* 0 when empty */
};

/* Parses one datagram. On success the caller frees msg->record (json_decref). */
int site_msg_parse(const void *buf, size_t len, struct site_msg *msg, struct ft_error *err);

/* Sends a message object (stolen) as one datagram; fails when it would exceed SITE_MSG_MAX. */
int site_msg_send(int fd, json_t *msg, struct ft_error *err);

#endif
