#define _GNU_SOURCE
#include "daemon/dut_marker.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdio.h"

static int open_subdir(int dirfd, const char *subdir, bool create, struct ft_error *err)
{
    if (create && mkdirat(dirfd, subdir, 0700) != 0 && errno != EEXIST)
        return ft_fail(err, FT_E_INVALID, "record directory: cannot create %s/: %s", subdir,
                       strerror(errno));
    int fd = openat(dirfd, subdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && (create || errno != ENOENT))
        ft_fail(err, FT_E_INVALID, "record directory: %s/: %s", subdir, strerror(errno));
    return fd;
}

int dut_marker_write(int dirfd, const char *subdir, const char *name, const json_t *obj,
                     struct ft_error *err)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    if (text == NULL)
        return ft_fail(err, FT_E_NOMEM, "out of memory");
    int sub = open_subdir(dirfd, subdir, true, err);
    char tmp[DUT_MARKER_NAME_MAX + 8];
    snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
    int fd = sub >= 0 ? openat(sub, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    int rc = 0;
    if (sub >= 0 && (fd < 0 || fd_write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0 ||
                     renameat(sub, tmp, sub, name) != 0 || fsync(sub) != 0))
        rc = ft_fail(err, FT_E_INVALID, "record directory: cannot write %s/%s: %s", subdir, name,
                     strerror(errno));
    if (fd >= 0)
        close(fd);
    if (sub >= 0)
        close(sub);
    free(text);
    return sub < 0 ? -1 : rc;
}

json_t *dut_marker_read(int dirfd, const char *subdir, const char *name, struct ft_error *err)
{
    ft_error_clear(err);
    int sub = open_subdir(dirfd, subdir, false, err);
    if (sub < 0)
        return NULL;
    int fd = openat(sub, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    close(sub);
    if (fd < 0) {
        if (errno != ENOENT)
            ft_fail(err, FT_E_INVALID, "%s/%s: %s", subdir, name, strerror(errno));
        return NULL;
    }
    char buf[DUT_MARKER_MAX + 1];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) &&
           ((n = read(fd, buf + len, sizeof(buf) - len)) > 0 || (n < 0 && errno == EINTR)))
        len += n > 0 ? (size_t)n : 0;
    close(fd);
    json_t *obj = len <= DUT_MARKER_MAX ? json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!json_is_object(obj)) {
        json_decref(obj);
        ft_fail(err, FT_E_INVALID, "%s/%s: not a marker (a JSON object of at most %u bytes)",
                subdir, name, DUT_MARKER_MAX);
        return NULL;
    }
    return obj;
}

int dut_marker_remove(int dirfd, const char *subdir, const char *name, struct ft_error *err)
{
    int sub = open_subdir(dirfd, subdir, false, err);
    if (sub < 0)
        return err != NULL && err->code != FT_OK ? -1 : 0;
    int rc = 0;
    if ((unlinkat(sub, name, 0) != 0 && errno != ENOENT) || fsync(sub) != 0)
        rc = ft_fail(err, FT_E_INVALID, "record directory: cannot remove %s/%s: %s", subdir, name,
                     strerror(errno));
    close(sub);
    return rc;
}

void dut_marker_request_name(const char *request_id, char name[DUT_MARKER_NAME_MAX])
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)request_id, strlen(request_id), digest);
    for (size_t i = 0; i < sizeof(digest); i++)
        snprintf(name + 2 * i, 3, "%02x", digest[i]);
    memcpy(name + 64, ".json", 6);
}
