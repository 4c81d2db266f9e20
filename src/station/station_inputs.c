#define _GNU_SOURCE
#include "station/station_inputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "console/bootstrap.h"

enum station_exit station_exit_for(const struct flow_record *rec)
{
    switch (rec->blame) {
    case FLOW_BLAME_CHIP:
        return STATION_EXIT_DEVICE;
    case FLOW_BLAME_SERVICE:
        return STATION_EXIT_PA;
    case FLOW_BLAME_PLUGIN:
        return STATION_EXIT_PLUGIN;
    case FLOW_BLAME_CHECK:
        return STATION_EXIT_VALIDATION;
    case FLOW_BLAME_LOCAL:
        return STATION_EXIT_USAGE;
    case FLOW_BLAME_ABORT:
        return STATION_EXIT_ABORTED;
    case FLOW_BLAME_NONE:
        break;
    }
    return rec->pass ? STATION_EXIT_PASS : STATION_EXIT_INTERNAL;
}

const char *station_exit_name(enum station_exit status)
{
    static const char *const names[] = {"pass",    "internal", "config",     "device",
                                        "service", "plugin",   "validation", "aborted"};
    return (unsigned)status < sizeof(names) / sizeof(names[0]) ? names[status] : "internal";
}

char *station_read_password(const char *what, const char *path, struct ft_error *err)
{
    if (path == NULL) {
        const char *env = getenv("FTHARNESS_SKU_PASSWORD");
        if (env == NULL)
            ft_fail(err, FT_E_INVALID,
                    "no SKU password: give --password-file or set FTHARNESS_SKU_PASSWORD");
        return env ? strdup(env) : NULL;
    }
    FILE *f = fopen(path, "r");
    struct stat st;
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    if (f == NULL || fstat(fileno(f), &st) != 0)
        rc = ft_fail(err, FT_E_INVALID, "%s %s: %s", what, path, strerror(errno));
    else if (st.st_mode & S_IRWXO)
        rc = ft_fail(err, FT_E_INVALID,
                     "%s %s is open to others (mode %04o): make it 0600, or 0640 for a group", what,
                     path, (unsigned)(st.st_mode & 07777));
    else if (getline(&line, &cap, f) <= 0)
        rc = ft_fail(err, FT_E_INVALID, "%s %s is empty", what, path);
    if (f != NULL)
        fclose(f);
    if (rc != 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

int station_read_image(const char *path, uint8_t **data, size_t *len, struct ft_error *err)
{
    *data = NULL;
    *len = 0;
    if (path[0] == '\0')
        return 0;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f != NULL)
            fclose(f);
        return ft_fail(err, FT_E_INVALID, "bootstrap image %s: %s", path,
                       f == NULL ? strerror(errno) : "not a regular file");
    }
    int rc = 0;
    if (st.st_size <= 0 || (uint64_t)st.st_size > BOOTSTRAP_IMAGE_MAX)
        rc = ft_fail(err, FT_E_INVALID, "bootstrap image %s: %lld bytes (1..%u allowed)", path,
                     (long long)st.st_size, BOOTSTRAP_IMAGE_MAX);
    else if ((*data = malloc((size_t)st.st_size)) == NULL)
        rc = ft_fail(err, FT_E_NOMEM, "out of memory");
    else if (fread(*data, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        rc = ft_fail(err, FT_E_INVALID, "bootstrap image %s: short read", path);
    else
        *len = (size_t)st.st_size;
    fclose(f);
    if (rc != 0) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

int station_read_sku_images(const struct flow_sku *sku, uint8_t **image, size_t *image_len,
                            uint8_t **second, size_t *second_len, struct ft_error *err)
{
    *second = NULL;
    *second_len = 0;
    if (station_read_image(sku->bootstrap_image, image, image_len, err) != 0)
        return -1;
    if (station_read_image(sku->bootstrap_second_image, second, second_len, err) == 0 &&
        (*image_len == 0 || fw_gen_check_image(sku->firmware, sku->bootstrap_image, *image,
                                               *image_len, false, err) == 0) &&
        (*second_len == 0 || fw_gen_check_image(sku->firmware, sku->bootstrap_second_image, *second,
                                                *second_len, true, err) == 0))
        return 0;
    free(*image);
    free(*second);
    *image = *second = NULL;
    *image_len = *second_len = 0;
    return -1;
}
