#include "common/trust.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool uid_trusted(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

int trust_check_node(const char *label, const struct stat *st, bool sticky_ok, enum ft_code code,
                     struct ft_error *err)
{
    if (!uid_trusted(st->st_uid)) {
        if (geteuid() == 0)
            return ft_fail(err, code, "%s is owned by uid %u, expected root", label,
                           (unsigned)st->st_uid);
        return ft_fail(err, code, "%s is owned by uid %u, expected root or uid %u", label,
                       (unsigned)st->st_uid, (unsigned)geteuid());
    }
    bool sticky = sticky_ok && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX);
    unsigned mode = (unsigned)(st->st_mode & 07777);
    if ((st->st_mode & S_IWOTH) && !sticky)
        return ft_fail(err, code, "%s is world-writable (mode %04o)", label, mode);
    if ((st->st_mode & S_IWGRP) && !sticky)
        return ft_fail(err, code, "%s is group-writable (mode %04o)", label, mode);
    return 0;
}

int trust_check_ancestors(const char *label, const char *canon, enum ft_code code,
                          struct ft_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", canon);
    for (char *slash = strrchr(path, '/'); slash != NULL; slash = strrchr(path, '/')) {
        if (slash == path) {
            if (path[1] == '\0')
                break; /* "/" itself was checked last round */
            slash[1] = '\0';
        } else {
            *slash = '\0';
        }
        struct stat st;
        if (lstat(path, &st) != 0)
            return ft_fail(err, code, "%s: ancestor %s: %s", label, path, strerror(errno));
        char node[FT_ERROR_MESSAGE_MAX];
        /* A long label or path is cut; the error keeps its end (error.h). */
        if (snprintf(node, sizeof(node), "%s: ancestor %s", label, path) < 0)
            node[0] = '\0';
        if (trust_check_node(node, &st, true, code, err) != 0)
            return -1;
    }
    return 0;
}

int trust_check_path(const char *label, const char *path, char *canon, enum ft_code code,
                     struct ft_error *err)
{
    char resolved[PATH_MAX];
    struct stat st;
    if (realpath(path, resolved) == NULL || stat(resolved, &st) != 0)
        return ft_fail(err, code, "%s: %s", label, strerror(errno));
    if (canon != NULL)
        memcpy(canon, resolved, strlen(resolved) + 1);
    if (trust_check_node(label, &st, false, code, err) != 0)
        return -1;
    return trust_check_ancestors(label, resolved, code, err);
}
