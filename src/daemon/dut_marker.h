/* Small durable files a site worker keeps in the record directory, so that a supervisor
 * started again after a crash knows which DUTs were in flight and what each request id
 * became (docs/ftharnessd.md, "Recovery"):
 *
 *   inflight/<site>.json            from a DUT's start until its result was sent
 *   requests/<sha256(request_id)>.json   every provision that carried a request id
 *
 * Both hold {"request_id", "site", "sku", "record_file", "pid"} from the DUT's start and,
 * once it ended, the result's members too ("status", "exit_class", "class", "error",
 * "dut_state", "device_id"). Each write is atomic (a temporary file, fsync, rename, fsync
 * of the directory). */
#ifndef FTHARNESS_DAEMON_DUT_MARKER_H
#define FTHARNESS_DAEMON_DUT_MARKER_H

#include <jansson.h>

#include "common/error.h"

#define DUT_MARKER_MAX 16384u /* bytes of one marker file */
#define DUT_MARKER_NAME_MAX 72u

/* Writes `obj` (borrowed) as <dirfd>/<subdir>/<name>, creating subdir (0700). */
int dut_marker_write(int dirfd, const char *subdir, const char *name, const json_t *obj,
                     struct ft_error *err);

/* The marker as a NEW object; NULL with err->code FT_OK when there is none, or with the
 * error when it cannot be read or is not a JSON object of at most DUT_MARKER_MAX bytes. */
json_t *dut_marker_read(int dirfd, const char *subdir, const char *name, struct ft_error *err);

/* Removes the marker (none is fine) and makes that durable. */
int dut_marker_remove(int dirfd, const char *subdir, const char *name, struct ft_error *err);

/* The file name of a request id's marker: 64 hex digits of its SHA-256 and ".json". */
void dut_marker_request_name(const char *request_id, char name[DUT_MARKER_NAME_MAX]);

#endif
