/* Fuzz target: the station configuration parser (ftharnessd.json is written by people and
 * tools). An accepted file must respect every rule the daemon relies on without checking
 * again; a refusal must carry a bounded, printable message. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/station_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* buf[cap] holds a terminated string of min or more characters. */
static bool terminated(const char *buf, size_t cap, size_t min)
{
    const char *end = memchr(buf, '\0', cap);
    return end != NULL && (size_t)(end - buf) >= min;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void check_accepted(const struct station_config *cfg)
{
    if (cfg->n_sites < 1 || cfg->n_sites > STATION_SITES_MAX)
        abort();
    for (size_t i = 0; i < cfg->n_sites; i++) {
        const struct station_site *s = &cfg->sites[i];
        if (!terminated(s->name, sizeof(s->name), 1) ||
            !terminated(s->console, sizeof(s->console), 1) ||
            !terminated(s->boot_uart, sizeof(s->boot_uart), 0) ||
            !terminated(s->user_id, sizeof(s->user_id), 0))
            abort();
        if (strspn(s->name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(s->name))
            abort();
        if (station_config_find_site(cfg, s->name) != (int)i)
            abort();
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->sites[j].console, s->console) == 0)
                abort();
        }
    }
    const struct station_service *svc = &cfg->service;
    if (!terminated(svc->url, sizeof(svc->url), 8) ||
        !terminated(svc->password_file, sizeof(svc->password_file), 1) ||
        (svc->cert_file[0] == '\0') != (svc->key_file[0] == '\0'))
        abort();
    bool tls = has_prefix(svc->url, "https://") || has_prefix(svc->url, "grpcs://");
    bool plain = has_prefix(svc->url, "http://") || has_prefix(svc->url, "grpc://");
    if (!tls && (!plain || svc->ca_file[0] || svc->cert_file[0] || svc->pin[0]))
        abort();
    if (!terminated(cfg->record_dir, sizeof(cfg->record_dir), 1) || cfg->record_dir[0] != '/' ||
        !terminated(cfg->spool_dir, sizeof(cfg->spool_dir), 1) || cfg->spool_dir[0] != '/' ||
        !terminated(cfg->control_socket, 108, 1) || cfg->control_socket[0] != '/' ||
        !terminated(cfg->control_group, sizeof(cfg->control_group), 0) ||
        !terminated(cfg->metrics_listen, sizeof(cfg->metrics_listen), 0))
        abort();
    if (cfg->dut_deadline_s < 1 || cfg->dut_deadline_s > 86400 || cfg->plugin_deadline_ms < 1 ||
        cfg->plugin_deadline_ms > 600000 || !(cfg->timeout_scale > 0.0) ||
        !(cfg->timeout_scale <= 100.0))
        abort();
    if (station_config_find_site(cfg, "") != -1)
        abort();
}

static void check_refused(const struct ft_error *err)
{
    if (err->code != FT_E_INVALID)
        abort();
    const char *end = memchr(err->message, '\0', sizeof(err->message));
    if (end == NULL || strncmp(err->message, "fuzz.json: ", 11) != 0)
        abort();
    for (const char *p = err->message; p < end; p++) {
        if (*p < 0x20 || *p > 0x7e)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct station_config cfg;
    struct ft_error err = {0};
    if (station_config_parse("fuzz.json", (const char *)data, size, &cfg, &err) == 0)
        check_accepted(&cfg);
    else
        check_refused(&err);
    return 0;
}
