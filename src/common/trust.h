/* Who may have written a file the harness acts on (SKU plugins, their inputs, SKU files):
 * root, or the harness's own effective user (a developer's build tree), and nobody else
 * through group or world write bits, on the file and on every directory above it. */
#ifndef FTHARNESS_COMMON_TRUST_H
#define FTHARNESS_COMMON_TRUST_H

#include <stdbool.h>
#include <sys/stat.h>

#include "common/error.h"

/* Checks owner and mode of one node; `label` starts the message, `code` is the error's:
 * "<label> is owned by uid 1000, expected root", "<label> is world-writable (mode 0666)",
 * "<label> is group-writable (mode 0664)". A sticky group/world-writable directory is
 * accepted where `sticky_ok` (ancestors like /tmp: others can add entries but not rename
 * or remove ours). */
int trust_check_node(const char *label, const struct stat *st, bool sticky_ok, enum ft_code code,
                     struct ft_error *err);

/* Checks every ancestor directory of the canonical path `canon`, up to "/", with
 * sticky_ok: "<label>: ancestor /a is group-writable (mode 0775)". */
int trust_check_ancestors(const char *label, const char *canon, enum ft_code code,
                          struct ft_error *err);

/* realpath(path), then the node and its ancestors. The canonical path is written to
 * canon[PATH_MAX] when not NULL. */
int trust_check_path(const char *label, const char *path, char *canon, enum ft_code code,
                     struct ft_error *err);

#endif
