/* The record directory: where each run's device record lives from before the first byte
 * goes to the chip until long after (DESIGN §4). One file per run,
 * "<start ms>-<pid>.json", rewritten atomically at every change of what the chip holds
 * (a temporary file, fsync, rename, fsync of the directory), so a run killed at any
 * instant leaves its last state and, once the RMA token hash was about to go out, the
 * wrapped RMA seed. A later run on a chip whose SECRET2 is already written finds that
 * seed here by device ID. */
#ifndef FTHARNESS_FLOW_FLOW_JOURNAL_H
#define FTHARNESS_FLOW_FLOW_JOURNAL_H

#include <limits.h>
#include <stdint.h>

#include "common/error.h"

struct flow_record;

struct flow_journal {
    char dir[PATH_MAX];
    char name[64]; /* this run's file; "" until the first write */
    int dirfd;
};

/* Opens `dir`: an existing directory this process can write, trusted like a plugin
 * directory (common/trust.h): it holds wrapped RMA seeds. */
int flow_journal_open(struct flow_journal *j, const char *dir, struct ft_error *err);
void flow_journal_close(struct flow_journal *j);

/* flow_env.persist: writes the record (arg: struct flow_journal). */
int flow_journal_persist(void *arg, const struct flow_record *rec, struct ft_error *err);

/* flow_env.find_earlier: the newest record of this chip holding a wrapped RMA seed: the
 * same device ID, or, for a run stopped before the chip sent its ID, the same DIN (as the
 * tester gave it) and SKU. Its seed goes into `into`, the record's file name into
 * into->earlier_record. */
int flow_journal_find(void *arg, const uint8_t device_id[32], struct flow_record *into,
                      struct ft_error *err);

/* Reads one record file (e.g. for `ftharness register`): NEW JSON text, or NULL. */
char *flow_journal_read(const char *path, struct ft_error *err);

#endif
