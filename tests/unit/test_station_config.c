/* daemon/station_config: a full file fills every field, a minimal one gets its defaults,
 * and every rule of docs/ftharnessd.md is refused with a message naming the file and the
 * JSON path. JSON in this file is written with ' for " (see q()). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon/station_config.h"
#include "testutil.h"

#define WHERE "ftharnessd.json"

#define SITES "'sites':[{'name':'s0','console':'uart:/dev/ttyUSB0'}]"
#define SERVICE "'service':{'url':'http://pa:5000','password_file':'pw'}"
#define RECORD "'record_dir':'/var/lib/r'"
#define CONTROL "'control':{'socket':'/run/c.sock'}"
#define MINIMAL "{" SITES "," SERVICE "," RECORD "," CONTROL "}"
/* The minimal file with one part replaced or one member added. */
#define WITH_SITES(x) "{'sites':" x "," SERVICE "," RECORD "," CONTROL "}"
#define WITH_SERVICE(x) "{" SITES ",'service':" x "," RECORD "," CONTROL "}"
#define WITH_CONTROL(x) "{" SITES "," SERVICE "," RECORD ",'control':" x "}"
#define PLUS(x) "{" SITES "," SERVICE "," RECORD "," CONTROL "," x "}"

static struct station_config cfg;

/* Tests write JSON with ' for ", which C strings make hard to read. */
static const char *q(const char *text)
{
    static char buf[16384];
    size_t n = strlen(text);
    ck_assert_uint_lt(n, sizeof(buf));
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    return buf;
}

static void accept(const char *text)
{
    struct ft_error err = {0};
    const char *json = q(text);
    ck_assert_msg(station_config_parse(WHERE, json, strlen(json), &cfg, &err) == 0, "%s: %s", json,
                  err.message);
}

static void refuse_raw(const char *json, size_t len, const char *needle)
{
    struct ft_error err = {0};
    ck_assert_msg(station_config_parse(WHERE, json, len, &cfg, &err) == -1, "accepted: %.300s",
                  json);
    ck_assert_error(err, FT_E_INVALID, needle);
    ck_assert_msg(strncmp(err.message, WHERE ": ", strlen(WHERE) + 2) == 0, "%s", err.message);
}

static void refuse(const char *text, const char *needle)
{
    const char *json = q(text);
    refuse_raw(json, strlen(json), needle);
}

START_TEST(full_config)
{
    accept("{'sites':["
           " {'name':'s0','console':'spi-sim:/run/x.sock','boot_uart':'uart:/dev/ttyUSB1',"
           "  'user_id':'host/s0','reset':true},"
           " {'name':'site_1-b','console':'ftdi:0403:6011','boot_uart':'ftdi-uart:0403:6011:1',"
           "  'reset':false},"
           " {'name':'s2','console':'uart-sim:/run/y.sock'},"
           " {'name':'s3','console':'ftdi-uart:0403:6011:2'}],"
           "'service':{'url':'https://pa:5001','ca_file':'/etc/ca.pem','cert_file':'c.pem',"
           " 'key_file':'/etc/k.pem','pin':'sha256//AAAA','password_file':'/etc/pw',"
           " 'register':'spool'},"
           "'sku_dir':'skus','plugin_dir':'/usr/lib/p','runner':'/usr/bin/r',"
           "'record_dir':'/var/lib/ftharness/records','spool_dir':'/var/spool/ft',"
           "'control':{'socket':'/run/ftharness/control.sock','group':'ft.harness_1-x'},"
           "'metrics':{'listen':'127.0.0.1:9464'},"
           "'dut_deadline_s':86400,'plugin_deadline_ms':600000,'timeout_scale':2.5}");
    ck_assert_uint_eq(cfg.n_sites, 4);
    ck_assert_str_eq(cfg.sites[0].name, "s0");
    ck_assert_str_eq(cfg.sites[0].console, "spi-sim:/run/x.sock");
    ck_assert_str_eq(cfg.sites[0].boot_uart, "uart:/dev/ttyUSB1");
    ck_assert_str_eq(cfg.sites[0].user_id, "host/s0");
    ck_assert(cfg.sites[0].reset);
    ck_assert_str_eq(cfg.sites[1].name, "site_1-b");
    ck_assert_str_eq(cfg.sites[1].console, "ftdi:0403:6011");
    ck_assert_str_eq(cfg.sites[1].boot_uart, "ftdi-uart:0403:6011:1");
    ck_assert_str_eq(cfg.sites[1].user_id, "");
    ck_assert(!cfg.sites[1].reset);
    ck_assert_str_eq(cfg.sites[2].console, "uart-sim:/run/y.sock");
    ck_assert_str_eq(cfg.sites[2].boot_uart, "");
    ck_assert_str_eq(cfg.sites[3].console, "ftdi-uart:0403:6011:2");
    ck_assert_str_eq(cfg.service.url, "https://pa:5001");
    ck_assert_str_eq(cfg.service.ca_file, "/etc/ca.pem");
    ck_assert_str_eq(cfg.service.cert_file, "c.pem");
    ck_assert_str_eq(cfg.service.key_file, "/etc/k.pem");
    ck_assert_str_eq(cfg.service.pin, "sha256//AAAA");
    ck_assert_str_eq(cfg.service.password_file, "/etc/pw");
    ck_assert(!cfg.service.register_sync);
    ck_assert_str_eq(cfg.sku_dir, "skus");
    ck_assert_str_eq(cfg.plugin_dir, "/usr/lib/p");
    ck_assert_str_eq(cfg.runner, "/usr/bin/r");
    ck_assert_str_eq(cfg.record_dir, "/var/lib/ftharness/records");
    ck_assert_str_eq(cfg.spool_dir, "/var/spool/ft");
    ck_assert_str_eq(cfg.control_socket, "/run/ftharness/control.sock");
    ck_assert_str_eq(cfg.control_group, "ft.harness_1-x");
    ck_assert_str_eq(cfg.metrics_listen, "127.0.0.1:9464");
    ck_assert_uint_eq(cfg.dut_deadline_s, 86400);
    ck_assert_uint_eq(cfg.plugin_deadline_ms, 600000);
    ck_assert(cfg.timeout_scale == 2.5);
}
END_TEST

START_TEST(minimal_defaults)
{
    memset(&cfg, 0x5a, sizeof(cfg));
    accept(MINIMAL);
    ck_assert_uint_eq(cfg.n_sites, 1);
    ck_assert_str_eq(cfg.sites[0].name, "s0");
    ck_assert_str_eq(cfg.sites[0].boot_uart, "");
    ck_assert_str_eq(cfg.sites[0].user_id, "");
    ck_assert(!cfg.sites[0].reset);
    ck_assert_str_eq(cfg.sites[1].name, "");
    ck_assert_str_eq(cfg.service.ca_file, "");
    ck_assert_str_eq(cfg.service.pin, "");
    ck_assert(!cfg.service.register_sync);
    ck_assert_str_eq(cfg.sku_dir, "");
    ck_assert_str_eq(cfg.plugin_dir, "");
    ck_assert_str_eq(cfg.runner, "");
    ck_assert_str_eq(cfg.spool_dir, "/var/lib/r/spool");
    ck_assert_str_eq(cfg.control_group, "");
    ck_assert_str_eq(cfg.metrics_listen, "");
    ck_assert_uint_eq(cfg.dut_deadline_s, 600);
    ck_assert_uint_eq(cfg.plugin_deadline_ms, 5000);
    ck_assert(cfg.timeout_scale == 1.0);
    /* An optional "" is the default; a trailing '/' is not doubled. */
    accept("{" SITES "," SERVICE ",'record_dir':'/r/','spool_dir':'','metrics':{}," CONTROL "}");
    ck_assert_str_eq(cfg.spool_dir, "/r/spool");
    ck_assert_str_eq(cfg.metrics_listen, "");
}
END_TEST

START_TEST(register_modes)
{
    accept(WITH_SERVICE("{'url':'http://pa','password_file':'pw','register':'sync'}"));
    ck_assert(cfg.service.register_sync);
    accept(WITH_SERVICE("{'url':'http://pa','password_file':'pw','register':'spool'}"));
    ck_assert(!cfg.service.register_sync);
    refuse(WITH_SERVICE("{'url':'http://pa','password_file':'pw','register':'now'}"),
           WHERE ": service.register: must be \"spool\" or \"sync\"");
    refuse(WITH_SERVICE("{'url':'http://pa','password_file':'pw','register':true}"),
           "service.register: must be a string");
}
END_TEST

START_TEST(unknown_keys)
{
    refuse(PLUS("'colour':1"), WHERE ": colour: unknown key");
    refuse(WITH_SITES("[{'name':'a','console':'uart:x'},{'name':'b','console':'uart:y','pin':1}]"),
           WHERE ": sites[1].pin: unknown key");
    refuse(WITH_SERVICE("{'url':'http://pa','password_file':'pw','pin2':''}"),
           WHERE ": service.pin2: unknown key");
    refuse(WITH_CONTROL("{'socket':'/s','mode':1}"), WHERE ": control.mode: unknown key");
    refuse(PLUS("'metrics':{'port':1}"), WHERE ": metrics.port: unknown key");
    /* A hostile key is escaped and cut. */
    refuse(PLUS("'a\\u0001b':1"), WHERE ": a\\x01b: unknown key");
    refuse(PLUS("'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx':1"),
           WHERE ": xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...: unknown key");
}
END_TEST

START_TEST(sites_count)
{
    refuse("{" SERVICE "," RECORD "," CONTROL "}", WHERE ": sites: required");
    refuse(WITH_SITES("{}"), WHERE ": sites: must be an array, not an object");
    refuse(WITH_SITES("[]"), WHERE ": sites: must list at least one site");
    refuse(WITH_SITES("[1]"), WHERE ": sites[0]: must be an object, not an integer");

    char sites[4096], json[8192];
    size_t o = 0;
    for (unsigned i = 0; i < STATION_SITES_MAX + 1; i++)
        o += (size_t)snprintf(sites + o, sizeof(sites) - o, "%s{'name':'s%u','console':'uart:%u'}",
                              i ? "," : "", i, i);
    int n =
        snprintf(json, sizeof(json), "{'sites':[%s]," SERVICE "," RECORD "," CONTROL "}", sites);
    ck_assert_int_lt(n, (int)sizeof(json));
    refuse(json, WHERE ": sites: too many sites (33, max 32)");
    /* Exactly 32 is fine. */
    char *last = strrchr(sites, '{');
    last[-1] = '\0';
    snprintf(json, sizeof(json), "{'sites':[%s]," SERVICE "," RECORD "," CONTROL "}", sites);
    accept(json);
    ck_assert_uint_eq(cfg.n_sites, 32);
    ck_assert_str_eq(cfg.sites[31].name, "s31");
}
END_TEST

START_TEST(site_name)
{
    refuse(WITH_SITES("[{'console':'uart:x'}]"), WHERE ": sites[0].name: required");
    refuse(WITH_SITES("[{'name':'','console':'uart:x'}]"), "sites[0].name: must not be empty");
    refuse(WITH_SITES("[{'name':'S0','console':'uart:x'}]"),
           WHERE ": sites[0].name: must be 1..31 characters of [a-z0-9_-]");
    refuse(WITH_SITES("[{'name':'a b','console':'uart:x'}]"), "sites[0].name: must be 1..31");
    refuse(WITH_SITES("[{'name':7,'console':'uart:x'}]"),
           WHERE ": sites[0].name: must be a string, not an integer");
    accept(WITH_SITES("[{'name':'abcdefghijklmnopqrstuvwxyz01234','console':'uart:x'}]"));
    refuse(WITH_SITES("[{'name':'abcdefghijklmnopqrstuvwxyz012345','console':'uart:x'}]"),
           WHERE ": sites[0].name: too long (max 31 bytes)");
    refuse(WITH_SITES("[{'name':'a','console':'uart:x'},{'name':'b','console':'uart:y'},"
                      "{'name':'a','console':'uart:z'}]"),
           WHERE ": sites[2].name: \"a\" is also the name of sites[0]");
}
END_TEST

START_TEST(site_console)
{
    refuse(WITH_SITES("[{'name':'a'}]"), WHERE ": sites[0].console: required");
    refuse(WITH_SITES("[{'name':'a','console':'uart:x'},{'name':'b','console':'ttyUSB0'}]"),
           WHERE ": sites[1].console: must start with uart:, uart-sim:, spi-sim:, ftdi: or "
                 "ftdi-uart:");
    refuse(WITH_SITES("[{'name':'a','console':'uart:x'},{'name':'b','console':'spi:x'}]"),
           "sites[1].console: must start with");
    refuse(WITH_SITES("[{'name':'a','console':'uart:x'},{'name':'b','console':'uart:x'}]"),
           WHERE ": sites[1].console: \"uart:x\" is also the console of sites[0]");
    refuse(WITH_SITES("[{'name':'a','console':'uart:\\\"'},{'name':'b','console':'uart:\\\"'}]"),
           "sites[1].console: \"uart:\\\"\" is also the console of sites[0]");
    refuse(WITH_SITES("[{'name':'a','console':'uart:\\tx'}]"),
           WHERE ": sites[0].console: control character at byte 5");
    refuse(WITH_SITES("[{'name':'a','console':'uart:x','boot_uart':'spi-sim:y'}]"),
           WHERE ": sites[0].boot_uart: must start with uart: or ftdi-uart:");
    refuse(WITH_SITES("[{'name':'a','console':'uart:x','user_id':'host s0'}]"),
           WHERE ": sites[0].user_id: must be printable ASCII without spaces");
    refuse(WITH_SITES("[{'name':'a','console':'uart:x','reset':1}]"),
           WHERE ": sites[0].reset: must be true or false, not an integer");

    char big[STATION_SPEC_MAX + 64], json[1024];
    memset(big, 'x', sizeof(big));
    memcpy(big, "uart:", 5);
    big[STATION_SPEC_MAX] = '\0';
    snprintf(json, sizeof(json), WITH_SITES("[{'name':'a','console':'%s'}]"), big);
    refuse(json, WHERE ": sites[0].console: too long (max 255 bytes)");
    big[STATION_SPEC_MAX - 1] = '\0';
    snprintf(json, sizeof(json), WITH_SITES("[{'name':'a','console':'%s'}]"), big);
    accept(json);
}
END_TEST

START_TEST(service_rules)
{
    refuse("{" SITES "," RECORD "," CONTROL "}", WHERE ": service: required");
    refuse(WITH_SERVICE("[]"), WHERE ": service: must be an object, not an array");
    refuse(WITH_SERVICE("{'password_file':'pw'}"), WHERE ": service.url: required");
    refuse(WITH_SERVICE("{'url':'ftp://pa','password_file':'pw'}"),
           WHERE ": service.url: must start with http://, https://, grpc:// or grpcs://");
    refuse(WITH_SERVICE("{'url':'https://','password_file':'pw'}"),
           "service.url: must start with http://, https://, grpc:// or grpcs://");
    refuse(WITH_SERVICE("{'url':'http://pa','ca_file':'/ca','password_file':'pw'}"),
           WHERE ": service.ca_file: only allowed with an https:// or grpcs:// url");
    refuse(WITH_SERVICE("{'url':'http://pa','pin':'sha256//x','password_file':'pw'}"),
           WHERE ": service.pin: only allowed with an https:// or grpcs:// url");
    refuse(WITH_SERVICE("{'url':'grpc://pa:9000','ca_file':'/ca','password_file':'pw'}"),
           WHERE ": service.ca_file: only allowed with an https:// or grpcs:// url");
    refuse(WITH_SERVICE("{'url':'grpcs://','password_file':'pw'}"),
           "service.url: must start with http://, https://, grpc:// or grpcs://");
    refuse(WITH_SERVICE("{'url':'https://pa','cert_file':'/c','password_file':'pw'}"),
           WHERE ": service.cert_file: needs service.key_file too");
    refuse(WITH_SERVICE("{'url':'https://pa','key_file':'/k','password_file':'pw'}"),
           WHERE ": service.key_file: needs service.cert_file too");
    refuse(WITH_SERVICE("{'url':'https://pa'}"), WHERE ": service.password_file: required");
    refuse(WITH_SERVICE("{'url':'https://pa','password_file':''}"),
           WHERE ": service.password_file: must not be empty");
    refuse(WITH_SERVICE("{'url':'https://pa','password_file':null}"),
           WHERE ": service.password_file: must be a string, not null");
}
END_TEST

START_TEST(directories)
{
    refuse("{" SITES "," SERVICE "," CONTROL "}", WHERE ": record_dir: required");
    refuse("{" SITES "," SERVICE ",'record_dir':'var/r'," CONTROL "}",
           WHERE ": record_dir: must be an absolute path");
    refuse(PLUS("'spool_dir':'spool'"), WHERE ": spool_dir: must be an absolute path");
    refuse(PLUS("'runner':7"), WHERE ": runner: must be a string, not an integer");
    refuse(PLUS("'sku_dir':'a\\u007fb'"), WHERE ": sku_dir: control character at byte 1");

    /* The derived spool_dir must fit too. */
    char dir[STATION_PATH_MAX], json[1024];
    memset(dir, 'd', sizeof(dir));
    dir[0] = '/';
    dir[STATION_PATH_MAX - 6] = '\0';
    snprintf(json, sizeof(json), "{" SITES "," SERVICE ",'record_dir':'%s'," CONTROL "}", dir);
    refuse(json, WHERE ": record_dir: too long to derive spool_dir");
    dir[STATION_PATH_MAX - 7] = '\0';
    snprintf(json, sizeof(json), "{" SITES "," SERVICE ",'record_dir':'%s'," CONTROL "}", dir);
    accept(json);
    ck_assert_uint_eq(strlen(cfg.spool_dir), STATION_PATH_MAX - 1);
}
END_TEST

START_TEST(control_rules)
{
    refuse("{" SITES "," SERVICE "," RECORD "}", WHERE ": control: required");
    refuse(WITH_CONTROL("{}"), WHERE ": control.socket: required");
    refuse(WITH_CONTROL("{'socket':'run/c.sock'}"),
           WHERE ": control.socket: must be an absolute path");
    char sock[200], json[1024];
    memset(sock, 's', sizeof(sock));
    sock[0] = '/';
    sock[108] = '\0';
    snprintf(json, sizeof(json), WITH_CONTROL("{'socket':'%s'}"), sock);
    refuse(json, WHERE ": control.socket: too long for a Unix socket (max 107 bytes)");
    sock[107] = '\0';
    snprintf(json, sizeof(json), WITH_CONTROL("{'socket':'%s'}"), sock);
    accept(json);
    refuse(WITH_CONTROL("{'socket':'/s','group':'ft harness'}"),
           WHERE ": control.group: must be 1..63 characters of [A-Za-z0-9_.-]");
}
END_TEST

START_TEST(metrics_listen)
{
    static const char *const bad[] = {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":9464",
                                      "host:",     "::1:9464",    "[::1:9464",       "[]:9464",
                                      "h:+80",     "h:080000",    "a b:80",          "[::1]]:80"};
    char json[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(json, sizeof(json), PLUS("'metrics':{'listen':'%s'}"), bad[i]);
        refuse(json, WHERE ": metrics.listen: must be HOST:PORT with PORT in 1..65535");
    }
    accept(PLUS("'metrics':{'listen':'[::1]:9464'}"));
    ck_assert_str_eq(cfg.metrics_listen, "[::1]:9464");
    accept(PLUS("'metrics':{'listen':'0.0.0.0:65535'}"));
    accept(PLUS("'metrics':{'listen':'localhost:1'}"));
    refuse(PLUS("'metrics':1"), WHERE ": metrics: must be an object, not an integer");
}
END_TEST

START_TEST(deadlines)
{
    refuse(PLUS("'dut_deadline_s':0"), WHERE ": dut_deadline_s: 0 is out of range 1..86400");
    refuse(PLUS("'dut_deadline_s':86401"), "dut_deadline_s: 86401 is out of range");
    refuse(PLUS("'dut_deadline_s':600.0"),
           WHERE ": dut_deadline_s: must be an integer in 1..86400, not a real number");
    refuse(PLUS("'dut_deadline_s':true"), "dut_deadline_s: must be an integer");
    refuse(PLUS("'dut_deadline_s':-1"), "dut_deadline_s: -1 is out of range");
    refuse(PLUS("'plugin_deadline_ms':600001"),
           WHERE ": plugin_deadline_ms: 600001 is out of range 1..600000");
    refuse(PLUS("'plugin_deadline_ms':'5'"), "plugin_deadline_ms: must be an integer");
    accept(PLUS("'dut_deadline_s':1,'plugin_deadline_ms':1"));
    ck_assert_uint_eq(cfg.dut_deadline_s, 1);
    ck_assert_uint_eq(cfg.plugin_deadline_ms, 1);
}
END_TEST

START_TEST(timeout_scale)
{
    refuse(PLUS("'timeout_scale':0"), WHERE ": timeout_scale: 0 is out of range (0, 100]");
    refuse(PLUS("'timeout_scale':-0.5"), "timeout_scale: -0.5 is out of range");
    refuse(PLUS("'timeout_scale':101"), WHERE ": timeout_scale: 101 is out of range (0, 100]");
    refuse(PLUS("'timeout_scale':100.0001"), "timeout_scale: 100 is out of range");
    refuse(PLUS("'timeout_scale':'2'"),
           WHERE ": timeout_scale: must be a number in (0, 100], not a string");
    accept(PLUS("'timeout_scale':100"));
    ck_assert(cfg.timeout_scale == 100.0);
    accept(PLUS("'timeout_scale':0.001"));
    ck_assert(cfg.timeout_scale == 0.001);
}
END_TEST

START_TEST(json_syntax)
{
    refuse("{\n'sites': [\n  {'name': 's0',,}\n]}", WHERE ": line 3, column 17: invalid JSON");
    refuse("", WHERE ": line 1, column 0: invalid JSON");
    refuse(MINIMAL " x", "invalid JSON");
    refuse("[1]", WHERE ": must be a JSON object, not an array");
    refuse(PLUS("'record_dir':'/x'"), "duplicate object key");
    refuse(WITH_SITES("[{'name':'a','name':'b','console':'uart:x'}]"), "duplicate object key");
    refuse(WITH_SITES("[{'name':'a\\u0000','console':'uart:x'}]"), "invalid JSON");
}
END_TEST

START_TEST(nul_and_size)
{
    const char *json = q(MINIMAL);
    size_t n = strlen(json);
    char buf[1024];
    memcpy(buf, json, n);
    buf[n] = '\0';
    refuse_raw(buf, n + 1, WHERE ": NUL byte at offset ");
    buf[5] = '\0';
    refuse_raw(buf, n, WHERE ": NUL byte at offset 5");

    size_t big_len = STATION_CONFIG_MAX + 1u;
    char *big = malloc(big_len);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', big_len);
    memcpy(big, json, n);
    refuse_raw(big, big_len, WHERE ": too large (1048577 bytes, max 1048576)");
    /* Exactly the limit, padded with white space, is fine. */
    struct ft_error err = {0};
    ck_assert_ok(station_config_parse(WHERE, big, big_len - 1, &cfg, &err), err);
    free(big);
}
END_TEST

START_TEST(null_err_and_where)
{
    const char *json = q(PLUS("'x':1"));
    ck_assert_int_eq(station_config_parse(WHERE, json, strlen(json), &cfg, NULL), -1);
    struct ft_error err = {0};
    ck_assert_int_eq(station_config_parse(NULL, json, strlen(json), &cfg, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "x: unknown key");
}
END_TEST

/* A file in $TMPDIR (or /tmp) holding `text`; its path is left in path[]. */
static void write_temp(char *path, size_t cap, const char *text)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/test_station_config.XXXXXX", dir != NULL && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

START_TEST(load_file)
{
    struct ft_error err = {0};
    char path[512];
    write_temp(path, sizeof(path), q(MINIMAL));
    ck_assert_ok(station_config_load(path, &cfg, &err), err);
    ck_assert_str_eq(cfg.sites[0].console, "uart:/dev/ttyUSB0");
    ck_assert_str_eq(cfg.spool_dir, "/var/lib/r/spool");
    unlink(path);

    write_temp(path, sizeof(path), q(PLUS("'colour':1")));
    ck_assert_int_eq(station_config_load(path, &cfg, &err), -1);
    char want[600];
    snprintf(want, sizeof(want), "%s: colour: unknown key", path);
    ck_assert_error(err, FT_E_INVALID, want);
    unlink(path);

    ck_assert_int_eq(station_config_load("/nonexistent/ftharnessd.json", &cfg, &err), -1);
    ck_assert_error(err, FT_E_INVALID,
                    "/nonexistent/ftharnessd.json: cannot open: No such file or directory");
    ck_assert_int_eq(station_config_load("/", &cfg, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "/: not a regular file");
}
END_TEST

START_TEST(find_site)
{
    accept(WITH_SITES("[{'name':'a','console':'uart:x'},{'name':'b-1','console':'uart:y'}]"));
    ck_assert_int_eq(station_config_find_site(&cfg, "a"), 0);
    ck_assert_int_eq(station_config_find_site(&cfg, "b-1"), 1);
    ck_assert_int_eq(station_config_find_site(&cfg, "b"), -1);
    ck_assert_int_eq(station_config_find_site(&cfg, ""), -1);
    ck_assert_int_eq(station_config_find_site(&cfg, NULL), -1);
    ck_assert_int_eq(station_config_find_site(NULL, "a"), -1);
}
END_TEST

static Suite *station_config_suite(void)
{
    Suite *s = suite_create("station_config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, full_config);
    tcase_add_test(tc, minimal_defaults);
    tcase_add_test(tc, register_modes);
    tcase_add_test(tc, unknown_keys);
    tcase_add_test(tc, sites_count);
    tcase_add_test(tc, site_name);
    tcase_add_test(tc, site_console);
    tcase_add_test(tc, service_rules);
    tcase_add_test(tc, directories);
    tcase_add_test(tc, control_rules);
    tcase_add_test(tc, metrics_listen);
    tcase_add_test(tc, deadlines);
    tcase_add_test(tc, timeout_scale);
    tcase_add_test(tc, json_syntax);
    tcase_add_test(tc, nul_and_size);
    tcase_add_test(tc, null_err_and_where);
    tcase_add_test(tc, load_file);
    tcase_add_test(tc, find_site);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(station_config_suite)
