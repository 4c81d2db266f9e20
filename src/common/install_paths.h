/* Where an installed ftharness finds its parts: the plugin directory, the plugin runner
 * and the SKU directory. The defaults are the places `make install` puts them (CMake's
 * GNUInstallDirs under CMAKE_INSTALL_PREFIX); a tree installed elsewhere (DESTDIR, a
 * moved prefix) is found relative to the running executable first, and a binary run
 * from the build tree finds the runner beside it. */
#ifndef FTHARNESS_COMMON_INSTALL_PATHS_H
#define FTHARNESS_COMMON_INSTALL_PATHS_H

#include <stddef.h>

enum install_path {
    INSTALL_PLUGIN_DIR, /* <libdir>/ftharness/plugins */
    INSTALL_RUNNER,     /* <libexecdir>/ftharness/ftharness-plugin-runner */
    INSTALL_SKU_DIR,    /* <sysconfdir>/ftharness/skus */
    INSTALL_RECORD_DIR, /* <localstatedir>/lib/ftharness/records */
};

/* Writes the path of `what` to out[cap] (cut to fit, always terminated). */
void install_path(enum install_path what, char *out, size_t cap);

#endif
