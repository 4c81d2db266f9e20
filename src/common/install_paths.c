#include "common/install_paths.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Full paths from the build (src/CMakeLists.txt); each is under FTHARNESS_PREFIX unless
 * GNUInstallDirs put it elsewhere (/etc for the prefix /usr). */
static const char *const installed[] = {
    [INSTALL_PLUGIN_DIR] = FTHARNESS_PLUGIN_DIR,
    [INSTALL_RUNNER] = FTHARNESS_RUNNER,
    [INSTALL_SKU_DIR] = FTHARNESS_SKU_DIR,
    [INSTALL_RECORD_DIR] = FTHARNESS_RECORD_DIR,
};

/* The directory holding the running executable; "" when /proc cannot tell. */
static void exe_dir(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    out[0] = '\0';
    if (n <= 0)
        return;
    self[n] = '\0';
    snprintf(out, cap, "%s", dirname(self));
}

void install_path(enum install_path what, char *out, size_t cap)
{
    const char *full = installed[what];
    char bin[PATH_MAX], candidate[PATH_MAX + 64];
    exe_dir(bin, sizeof(bin));
    /* The build tree: the runner is built beside the programs that start it. */
    if (what == INSTALL_RUNNER && bin[0] != '\0') {
        snprintf(candidate, sizeof(candidate), "%s/ftharness-plugin-runner", bin);
        if (access(candidate, X_OK) == 0) {
            snprintf(out, cap, "%s", candidate);
            return;
        }
    }
    /* A relocated install: <exe>/../<the same path below the prefix>. */
    size_t prefix_len = strlen(FTHARNESS_PREFIX);
    if (bin[0] != '\0' && strncmp(full, FTHARNESS_PREFIX, prefix_len) == 0 &&
        full[prefix_len] == '/') {
        char top[PATH_MAX];
        snprintf(top, sizeof(top), "%s", bin);
        snprintf(candidate, sizeof(candidate), "%s%s", dirname(top), full + prefix_len);
        if (strcmp(candidate, full) != 0 && access(candidate, F_OK) == 0) {
            snprintf(out, cap, "%s", candidate);
            return;
        }
    }
    snprintf(out, cap, "%s", full);
}
