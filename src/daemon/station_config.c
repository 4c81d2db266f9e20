#include "daemon/station_config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/json_text.h"

/* The most bytes of a value or key one message quotes, so a message stays within
 * FT_ERROR_MESSAGE_MAX with the file name and the path around it. */
#define QUOTE_MAX 32u
#define QUOTED_SIZE JSON_TEXT_QUOTED_SIZE(QUOTE_MAX)
/* jansson's own text of a syntax error, which may quote a few bytes of the file. */
#define JSON_WHY_MAX 96u
/* "sites[31]." and an escaped unknown key. */
#define JPATH_SIZE (16u + QUOTED_SIZE)
/* sizeof(((struct sockaddr_un *)0)->sun_path) on Linux, less the terminator. */
#define SOCKET_PATH_MAX 107u

struct ctx {
    const char *where;
    struct ft_error *err;
    char path[JPATH_SIZE]; /* the JSON path the next message is about; "" = the document */
};

static int bad(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct ctx *c, const char *fmt, ...)
{
    char why[FT_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (c->path[0] == '\0')
        return ft_fail(c->err, FT_E_INVALID, "%s: %s", c->where, why);
    return ft_fail(c->err, FT_E_INVALID, "%s: %s: %s", c->where, c->path, why);
}

/* Points c->path at parent.key (key already safe to print). */
static void at(struct ctx *c, const char *parent, const char *key)
{
    int n = parent[0] != '\0' ? snprintf(c->path, sizeof(c->path), "%s.%s", parent, key)
                              : snprintf(c->path, sizeof(c->path), "%s", key);
    if (n < 0)
        c->path[0] = '\0';
}

static int check_keys(struct ctx *c, const json_t *obj, const char *parent,
                      const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
            i++;
        if (allowed[i] == NULL) {
            char q[QUOTED_SIZE];
            json_text_quote(q, key, strlen(key), QUOTE_MAX, '\0');
            at(c, parent, q);
            return bad(c, "unknown key");
        }
    }
    return 0;
}

/* obj.key, with c->path naming it; NULL when absent (an error when required). */
static const json_t *get(struct ctx *c, const json_t *obj, const char *parent, const char *key,
                         bool required, int *rc)
{
    const json_t *v = json_object_get(obj, key);
    at(c, parent, key);
    *rc = 0;
    if (v == NULL && required)
        *rc = bad(c, "required");
    return v;
}

/* 1 when stored, 0 when absent or "" (an optional "" means the default), -1 on error. */
static int take_string(struct ctx *c, const json_t *obj, const char *parent, const char *key,
                       char *out, size_t cap, bool required)
{
    int rc;
    const json_t *v = get(c, obj, parent, key, required, &rc);
    if (v == NULL)
        return rc;
    if (!json_is_string(v))
        return bad(c, "must be a string, not %s", json_text_kind(v));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0)
        return required ? bad(c, "must not be empty") : 0;
    if (n >= cap)
        return bad(c, "too long (max %zu bytes)", cap - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return bad(c, "control character at byte %zu", i);
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

static int take_path(struct ctx *c, const json_t *obj, const char *parent, const char *key,
                     char *out, size_t cap, bool required, bool absolute)
{
    int rc = take_string(c, obj, parent, key, out, cap, required);
    if (rc > 0 && absolute && out[0] != '/')
        return bad(c, "must be an absolute path");
    return rc;
}

static int take_uint(struct ctx *c, const json_t *obj, const char *key, unsigned lo, unsigned hi,
                     unsigned *out)
{
    int rc;
    const json_t *v = get(c, obj, "", key, false, &rc);
    if (v == NULL)
        return rc;
    if (!json_is_integer(v))
        return bad(c, "must be an integer in %u..%u, not %s", lo, hi, json_text_kind(v));
    json_int_t n = json_integer_value(v);
    if (n < (json_int_t)lo || n > (json_int_t)hi)
        return bad(c, "%" JSON_INTEGER_FORMAT " is out of range %u..%u", n, lo, hi);
    *out = (unsigned)n;
    return 1;
}

/* 1 with *out set, 0 when absent (an error when required), -1 on error. */
static int take_object(struct ctx *c, const json_t *obj, const char *key, bool required,
                       const char *const *allowed, const json_t **out)
{
    int rc;
    const json_t *v = get(c, obj, "", key, required, &rc);
    if (v == NULL)
        return rc;
    if (!json_is_object(v))
        return bad(c, "must be an object, not %s", json_text_kind(v));
    if (check_keys(c, v, key, allowed) < 0)
        return -1;
    *out = v;
    return 1;
}

static bool has_prefix(const char *s, const char *const *prefixes)
{
    for (size_t i = 0; prefixes[i] != NULL; i++) {
        if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    }
    return false;
}

static bool all_chars(const char *s, const char *extra, bool upper)
{
    for (; *s != '\0'; s++) {
        char ch = *s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  (upper && ch >= 'A' && ch <= 'Z') || strchr(extra, ch) != NULL;
        if (!ok)
            return false;
    }
    return true;
}

/* HOST:PORT, HOST a name or address without ':' or a bracketed IPv6 address. */
static bool listen_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return false;
    size_t host = (size_t)(colon - s);
    for (size_t i = 0; i < host; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool bracket = s[0] == '[' && (i == 0 || i == host - 1);
        if (ch <= 0x20 || ch > 0x7e || ((ch == '[' || ch == ']') && !bracket) ||
            (ch == ':' && s[0] != '['))
            return false;
    }
    if (s[0] == '[' && (host < 3 || s[host - 1] != ']'))
        return false;
    const char *p = colon + 1;
    size_t digits = strlen(p);
    if (digits == 0 || digits > 5 || strspn(p, "0123456789") != digits)
        return false;
    long port = strtol(p, NULL, 10);
    return port >= 1 && port <= 65535;
}

static const char *const console_prefixes[] = {
    "uart:", "uart-sim:", "spi-sim:", "ftdi:", "ftdi-uart:", NULL};
static const char *const boot_prefixes[] = {"uart:", "ftdi-uart:", NULL};

static int take_site(struct ctx *c, const json_t *v, size_t i, struct station_config *cfg)
{
    static const char *const keys[] = {"name", "console", "boot_uart", "user_id", "reset", NULL};
    struct station_site *s = &cfg->sites[i];
    char parent[24];
    int rc;
    if (snprintf(parent, sizeof(parent), "sites[%zu]", i) >= (int)sizeof(parent))
        parent[0] = '\0';
    if (!json_is_object(v)) {
        at(c, "", parent);
        return bad(c, "must be an object, not %s", json_text_kind(v));
    }
    if (check_keys(c, v, parent, keys) < 0)
        return -1;

    if (take_string(c, v, parent, "name", s->name, sizeof(s->name), true) < 0)
        return -1;
    if (!all_chars(s->name, "_-", false))
        return bad(c, "must be 1..%u characters of [a-z0-9_-]", STATION_NAME_MAX - 1);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(cfg->sites[j].name, s->name) == 0)
            return bad(c, "\"%s\" is also the name of sites[%zu]", s->name, j);
    }

    if (take_string(c, v, parent, "console", s->console, sizeof(s->console), true) < 0)
        return -1;
    if (!has_prefix(s->console, console_prefixes))
        return bad(c, "must start with uart:, uart-sim:, spi-sim:, ftdi: or ftdi-uart:");
    for (size_t j = 0; j < i; j++) {
        if (strcmp(cfg->sites[j].console, s->console) == 0) {
            char q[QUOTED_SIZE];
            json_text_quote(q, s->console, strlen(s->console), QUOTE_MAX, '"');
            return bad(c, "%s is also the console of sites[%zu]", q, j);
        }
    }

    rc = take_string(c, v, parent, "boot_uart", s->boot_uart, sizeof(s->boot_uart), false);
    if (rc < 0)
        return -1;
    if (rc > 0 && !has_prefix(s->boot_uart, boot_prefixes))
        return bad(c, "must start with uart: or ftdi-uart:");

    rc = take_string(c, v, parent, "user_id", s->user_id, sizeof(s->user_id), false);
    if (rc < 0)
        return -1;
    for (const char *p = s->user_id; *p != '\0'; p++) {
        if (*p <= ' ' || *p > '~')
            return bad(c, "must be printable ASCII without spaces");
    }

    const json_t *reset = get(c, v, parent, "reset", false, &rc);
    if (reset != NULL && !json_is_boolean(reset))
        return bad(c, "must be true or false, not %s", json_text_kind(reset));
    s->reset = json_is_true(reset);
    return 0;
}

static int take_sites(struct ctx *c, const json_t *root, struct station_config *cfg)
{
    int rc;
    const json_t *sites = get(c, root, "", "sites", true, &rc);
    if (sites == NULL)
        return -1;
    if (!json_is_array(sites))
        return bad(c, "must be an array, not %s", json_text_kind(sites));
    size_t n = json_array_size(sites);
    if (n == 0)
        return bad(c, "must list at least one site");
    if (n > STATION_SITES_MAX)
        return bad(c, "too many sites (%zu, max %u)", n, STATION_SITES_MAX);
    for (size_t i = 0; i < n; i++) {
        if (take_site(c, json_array_get(sites, i), i, cfg) < 0)
            return -1;
    }
    cfg->n_sites = n;
    return 0;
}

static int take_service(struct ctx *c, const json_t *root, struct station_service *svc)
{
    static const char *const keys[] = {"url", "ca_file",       "cert_file", "key_file",
                                       "pin", "password_file", "register",  NULL};
    /* HTTP/JSON (ftpa, or a PA behind a gRPC-JSON transcoder) or native gRPC. */
    static const char *const schemes[] = {"http://", "https://", "grpc://", "grpcs://", NULL};
    static const char *const tls_schemes[] = {"https://", "grpcs://", NULL};
    const char *p = "service";
    const json_t *obj;
    int rc;
    if (take_object(c, root, p, true, keys, &obj) < 0)
        return -1;

    if (take_string(c, obj, p, "url", svc->url, sizeof(svc->url), true) < 0)
        return -1;
    bool https = has_prefix(svc->url, tls_schemes);
    if (!has_prefix(svc->url, schemes) || strstr(svc->url, "://")[3] == '\0')
        return bad(c, "must start with http://, https://, grpc:// or grpcs:// and name a host");

    struct {
        const char *key;
        char *out;
    } tls[] = {{"ca_file", svc->ca_file},
               {"cert_file", svc->cert_file},
               {"key_file", svc->key_file},
               {"pin", svc->pin}};
    for (size_t i = 0; i < sizeof(tls) / sizeof(tls[0]); i++) {
        rc = take_string(c, obj, p, tls[i].key, tls[i].out, STATION_PATH_MAX, false);
        if (rc < 0)
            return -1;
        if (rc > 0 && !https)
            return bad(c, "only allowed with an https:// or grpcs:// url");
    }
    if ((svc->cert_file[0] != '\0') != (svc->key_file[0] != '\0')) {
        at(c, p, svc->cert_file[0] != '\0' ? "cert_file" : "key_file");
        return bad(c, "needs service.%s too", svc->cert_file[0] != '\0' ? "key_file" : "cert_file");
    }

    if (take_string(c, obj, p, "password_file", svc->password_file, sizeof(svc->password_file),
                    true) < 0)
        return -1;

    const json_t *reg = get(c, obj, p, "register", false, &rc);
    if (reg != NULL) {
        if (!json_is_string(reg))
            return bad(c, "must be a string, not %s", json_text_kind(reg));
        if (strcmp(json_string_value(reg), "sync") == 0)
            svc->register_sync = true;
        else if (strcmp(json_string_value(reg), "spool") != 0)
            return bad(c, "must be \"spool\" or \"sync\"");
    }
    return 0;
}

static int take_control_metrics(struct ctx *c, const json_t *root, struct station_config *cfg)
{
    static const char *const control_keys[] = {"socket", "group", NULL};
    static const char *const metrics_keys[] = {"listen", NULL};
    const json_t *obj;
    int rc;
    if (take_object(c, root, "control", true, control_keys, &obj) < 0)
        return -1;
    if (take_path(c, obj, "control", "socket", cfg->control_socket, sizeof(cfg->control_socket),
                  true, true) < 0)
        return -1;
    if (strlen(cfg->control_socket) > SOCKET_PATH_MAX)
        return bad(c, "too long for a Unix socket (max %u bytes)", SOCKET_PATH_MAX);
    if (take_string(c, obj, "control", "group", cfg->control_group, sizeof(cfg->control_group),
                    false) < 0)
        return -1;
    if (!all_chars(cfg->control_group, "_.-", true))
        return bad(c, "must be 1..%zu characters of [A-Za-z0-9_.-]",
                   sizeof(cfg->control_group) - 1);

    rc = take_object(c, root, "metrics", false, metrics_keys, &obj);
    if (rc <= 0)
        return rc;
    if (take_string(c, obj, "metrics", "listen", cfg->metrics_listen, sizeof(cfg->metrics_listen),
                    false) < 0)
        return -1;
    if (cfg->metrics_listen[0] != '\0' && !listen_ok(cfg->metrics_listen))
        return bad(c, "must be HOST:PORT with PORT in 1..65535 (an IPv6 HOST in brackets)");
    return 0;
}

static int take_config(struct ctx *c, const json_t *root, struct station_config *cfg)
{
    static const char *const keys[] = {"sites",
                                       "service",
                                       "sku_dir",
                                       "plugin_dir",
                                       "runner",
                                       "record_dir",
                                       "spool_dir",
                                       "control",
                                       "metrics",
                                       "dut_deadline_s",
                                       "plugin_deadline_ms",
                                       "timeout_scale",
                                       NULL};
    if (!json_is_object(root))
        return bad(c, "must be a JSON object, not %s", json_text_kind(root));
    if (check_keys(c, root, "", keys) < 0 || take_sites(c, root, cfg) < 0 ||
        take_service(c, root, &cfg->service) < 0)
        return -1;

    if (take_path(c, root, "", "sku_dir", cfg->sku_dir, STATION_PATH_MAX, false, false) < 0 ||
        take_path(c, root, "", "plugin_dir", cfg->plugin_dir, STATION_PATH_MAX, false, false) < 0 ||
        take_path(c, root, "", "runner", cfg->runner, STATION_PATH_MAX, false, false) < 0 ||
        take_path(c, root, "", "record_dir", cfg->record_dir, STATION_PATH_MAX, true, true) < 0)
        return -1;
    int rc = take_path(c, root, "", "spool_dir", cfg->spool_dir, STATION_PATH_MAX, false, true);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        size_t n = strlen(cfg->record_dir);
        const char *sep = cfg->record_dir[n - 1] == '/' ? "" : "/";
        int w = snprintf(cfg->spool_dir, sizeof(cfg->spool_dir), "%s%sspool", cfg->record_dir, sep);
        if (w < 0 || (size_t)w >= sizeof(cfg->spool_dir)) {
            at(c, "", "record_dir");
            return bad(c, "too long to derive spool_dir from (max %zu bytes with \"/spool\")",
                       sizeof(cfg->spool_dir) - 7);
        }
    }

    if (take_control_metrics(c, root, cfg) < 0)
        return -1;

    if (take_uint(c, root, "dut_deadline_s", 1, 86400, &cfg->dut_deadline_s) < 0 ||
        take_uint(c, root, "plugin_deadline_ms", 1, 600000, &cfg->plugin_deadline_ms) < 0)
        return -1;
    const json_t *scale = get(c, root, "", "timeout_scale", false, &rc);
    if (scale != NULL) {
        if (!json_is_number(scale))
            return bad(c, "must be a number in (0, 100], not %s", json_text_kind(scale));
        double x = json_number_value(scale);
        if (!(x > 0.0 && x <= 100.0))
            return bad(c, "%g is out of range (0, 100]", x);
        cfg->timeout_scale = x;
    }
    return 0;
}

int station_config_parse(const char *where, const char *text, size_t len,
                         struct station_config *cfg, struct ft_error *err)
{
    struct ctx c = {.where = where != NULL ? where : "station configuration", .err = err};
    memset(cfg, 0, sizeof(*cfg));
    cfg->dut_deadline_s = 600;
    cfg->plugin_deadline_ms = 5000;
    cfg->timeout_scale = 1.0;

    if (len > STATION_CONFIG_MAX)
        return bad(&c, "too large (%zu bytes, max %u)", len, STATION_CONFIG_MAX);
    if (text == NULL)
        text = "";
    const char *nul = memchr(text, '\0', len);
    if (nul != NULL)
        return bad(&c, "NUL byte at offset %zu", (size_t)(nul - text));

    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        char why[JSON_TEXT_QUOTED_SIZE(JSON_WHY_MAX)];
        json_text_quote(why, jerr.text, strnlen(jerr.text, sizeof(jerr.text)), JSON_WHY_MAX, '\0');
        return bad(&c, "line %d, column %d: invalid JSON: %s", jerr.line, jerr.column, why);
    }
    int rc = take_config(&c, root, cfg);
    json_decref(root);
    return rc;
}

int station_config_load(const char *path, struct station_config *cfg, struct ft_error *err)
{
    /* O_NONBLOCK so a FIFO at `path` cannot hang the daemon before fstat refuses it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return ft_fail(err, FT_E_INVALID, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ft_fail(err, FT_E_INVALID, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ft_fail(err, FT_E_INVALID, "%s: not a regular file", path);
    }
    if (st.st_size > (off_t)STATION_CONFIG_MAX) {
        close(fd);
        return ft_fail(err, FT_E_INVALID, "%s: too large (%lld bytes, max %u)", path,
                       (long long)st.st_size, STATION_CONFIG_MAX);
    }
    /* One byte more than the limit: the file may have grown since fstat. */
    char *buf = malloc(STATION_CONFIG_MAX + 1u);
    if (buf == NULL) {
        close(fd);
        return ft_fail(err, FT_E_NOMEM, "%s: out of memory", path);
    }
    size_t n = 0;
    while (n < STATION_CONFIG_MAX + 1u) {
        ssize_t r = read(fd, buf + n, STATION_CONFIG_MAX + 1u - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return ft_fail(err, FT_E_INVALID, "%s: cannot read: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    int rc = station_config_parse(path, buf, n, cfg, err);
    free(buf);
    return rc;
}

int station_config_find_site(const struct station_config *cfg, const char *name)
{
    if (cfg == NULL || name == NULL)
        return -1;
    for (size_t i = 0; i < cfg->n_sites && i < STATION_SITES_MAX; i++) {
        if (strcmp(cfg->sites[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}
