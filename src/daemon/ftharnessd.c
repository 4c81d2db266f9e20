/* ftharnessd: the tester-floor daemon (ftharnessd(8), docs/ftharnessd.md). Started as
 * `ftharnessd --config FILE` it is the supervisor; it starts itself again with --site or
 * --uploader for its child processes, the channel on fd 3. */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/version.h"
#include "daemon/station_config.h"
#include "daemon/supervisor.h"
#include "daemon/worker.h"

#define DEFAULT_CONFIG "/etc/ftharness/ftharnessd.json"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ftharnessd [--config FILE] [--check-config]\n"
            "       ftharnessd --version\n"
            "\n"
            "The multi-site personalization daemon: one worker process per configured site,\n"
            "driven through the control socket (docs/control-api.md; `ftharness provision`).\n"
            "Runs in the foreground and logs to stderr with journald priorities.\n"
            "\n"
            "  --config FILE    station configuration (default %s)\n"
            "  --check-config   validate the configuration, print a summary, exit 0 or 2\n"
            "\n"
            "Signals: SIGTERM/SIGINT drain (DUTs in flight finish; a second one aborts them),\n"
            "SIGHUP reloads the configuration (each site at its next DUT).\n",
            DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
    enum { O_CONFIG = 256, O_CHECK, O_SITE, O_UPLOADER, O_VERSION, O_HELP };
    static const struct option opts[] = {{"config", required_argument, NULL, O_CONFIG},
                                         {"check-config", no_argument, NULL, O_CHECK},
                                         {"site", required_argument, NULL, O_SITE},
                                         {"uploader", no_argument, NULL, O_UPLOADER},
                                         {"version", no_argument, NULL, O_VERSION},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    const char *config = DEFAULT_CONFIG, *site = NULL;
    bool check = false, uploader = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case O_CONFIG:
            config = optarg;
            break;
        case O_CHECK:
            check = true;
            break;
        case O_SITE:
            site = optarg;
            break;
        case O_UPLOADER:
            uploader = true;
            break;
        case O_VERSION:
            printf("ftharnessd %s\n", FTHARNESS_VERSION);
            return 0;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    static struct station_config cfg;
    struct ft_error err = {0};
    if (station_config_load(config, &cfg, &err) != 0) {
        fprintf(stderr, "<3>ftharnessd: %s\n", err.message);
        return 2;
    }
    if (check) {
        printf("%s: ok: %zu site%s, service %s, records %s, control socket %s\n", config,
               cfg.n_sites, cfg.n_sites == 1 ? "" : "s", cfg.service.url, cfg.record_dir,
               cfg.control_socket);
        return 0;
    }
    if (uploader)
        return uploader_main(&cfg, 3);
    if (site != NULL) {
        int index = station_config_find_site(&cfg, site);
        if (index < 0) {
            fprintf(stderr, "<3>ftharnessd: %s: no site \"%s\"\n", config, site);
            return 2;
        }
        return worker_main(&cfg, index, 3);
    }
    char config_abs[PATH_MAX], self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (realpath(config, config_abs) == NULL || n <= 0) {
        fprintf(stderr, "<3>ftharnessd: cannot resolve %s or this program's path\n", config);
        return 1;
    }
    self[n] = '\0';
    return supervisor_main(config_abs, self, &cfg);
}
