/* daemon/control_proto: every command parses with its defaults; every rule of
 * docs/control-api.md "Requests" holds just inside its bounds and is refused just outside,
 * with a message that names the path and quotes no more than a bounded, escaped piece of
 * the caller's text. */
#include <stdio.h>
#include <stdlib.h>

#include "daemon/control_proto.h"
#include "testutil.h"

#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static int parse(const char *line, struct control_request *req, struct ft_error *err)
{
    return control_request_parse(line, strlen(line), req, err);
}

/* A refusal's message goes to the client and the journal as is: printable ASCII only. */
static void assert_printable(const struct ft_error *err)
{
    size_t n = strnlen(err->message, sizeof(err->message));
    ck_assert_msg(n > 0 && n < sizeof(err->message), "message not terminated or empty");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)err->message[i];
        ck_assert_msg(c >= 0x20 && c <= 0x7e, "byte 0x%02x at %zu in \"%s\"", c, i, err->message);
    }
}

static void refuse_len(const char *line, size_t len, const char *needle, const char *id)
{
    struct control_request req;
    struct ft_error err = {0};
    memset(&req, 0xa5, sizeof(req));
    ck_assert_msg(control_request_parse(line, len, &req, &err) == -1, "accepted: %.200s", line);
    ck_assert_error(err, FT_E_INVALID, needle);
    assert_printable(&err);
    ck_assert_str_eq(req.id, id);
    /* Nothing but the id survives a refusal. */
    ck_assert_str_eq(req.site, "");
    ck_assert_str_eq(req.sku, "");
    ck_assert_str_eq(req.request_id, "");
    ck_assert_str_eq(req.device_id, "");
    ck_assert_uint_eq(req.limit, 0);
    ck_assert(!req.benchtop);
    ck_assert_uint_eq(req.din.week, 0);
}

static void refuse(const char *line, const char *needle)
{
    refuse_len(line, strlen(line), needle, "");
}

static void accept(const char *line, struct control_request *req)
{
    struct ft_error err = {0};
    ck_assert_msg(parse(line, req, &err) == 0, "%s: %s", line, err.message);
}

static void fill(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
}

START_TEST(provision_full)
{
    struct control_request req;
    accept("{\"cmd\": \"provision\", \"id\": \"req-1\", \"site\": \"site_0-a\", \"sku\": "
           "\"sival_v1\", \"request_id\": \"lot 7 / dut 12\", \"din\": {\"year\": 9, \"week\": "
           "51, \"lot\": 999, \"wafer\": 99, \"x\": 999, \"y\": 998}, \"benchtop\": true}",
           &req);
    ck_assert_int_eq(req.cmd, CONTROL_PROVISION);
    ck_assert_str_eq(req.id, "req-1");
    ck_assert_str_eq(req.site, "site_0-a");
    ck_assert_str_eq(req.sku, "sival_v1");
    ck_assert_str_eq(req.request_id, "lot 7 / dut 12");
    ck_assert_uint_eq(req.din.year, 9);
    ck_assert_uint_eq(req.din.week, 51);
    ck_assert_uint_eq(req.din.lot, 999);
    ck_assert_uint_eq(req.din.wafer, 99);
    ck_assert_uint_eq(req.din.x, 999);
    ck_assert_uint_eq(req.din.y, 998);
    ck_assert(req.benchtop);
    ck_assert_str_eq(req.device_id, "");
    ck_assert_uint_eq(req.limit, 0);
}
END_TEST

START_TEST(provision_defaults)
{
    struct control_request req;
    memset(&req, 0xa5, sizeof(req));
    accept("{\"sku\": \"s\", \"site\": \"0\", \"cmd\": \"provision\"}", &req);
    ck_assert_int_eq(req.cmd, CONTROL_PROVISION);
    ck_assert_str_eq(req.id, "");
    ck_assert_str_eq(req.site, "0");
    ck_assert_str_eq(req.sku, "s");
    ck_assert_str_eq(req.request_id, "");
    ck_assert_uint_eq(req.din.year + req.din.week + req.din.lot + req.din.wafer, 0);
    ck_assert_uint_eq(req.din.x + req.din.y, 0);
    ck_assert(!req.benchtop);

    accept("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": {}, "
           "\"benchtop\": false}",
           &req);
    ck_assert_uint_eq(req.din.year + req.din.week + req.din.lot + req.din.wafer, 0);
    ck_assert(!req.benchtop);

    accept("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": {\"week\": 3}}",
           &req);
    ck_assert_uint_eq(req.din.week, 3);
    ck_assert_uint_eq(req.din.year + req.din.lot + req.din.wafer + req.din.x + req.din.y, 0);
}
END_TEST

START_TEST(abort_and_bare_commands)
{
    struct control_request req;
    accept("{\"cmd\": \"abort\", \"site\": \"3\", \"id\": 17}", &req);
    ck_assert_int_eq(req.cmd, CONTROL_ABORT);
    ck_assert_str_eq(req.site, "3");
    ck_assert_str_eq(req.id, "17");
    ck_assert_str_eq(req.sku, "");

    static const struct {
        const char *line;
        enum control_cmd cmd;
    } bare[] = {
        {"{\"cmd\": \"status\"}", CONTROL_STATUS},
        {"{\"cmd\": \"sites\", \"id\": \"x\"}", CONTROL_SITES},
        {"{\"id\": 0, \"cmd\": \"skus\"}", CONTROL_SKUS},
        {" \t{\"cmd\":\"reload\"}\r ", CONTROL_RELOAD},
    };
    for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
        memset(&req, 0xa5, sizeof(req));
        accept(bare[i].line, &req);
        ck_assert_int_eq(req.cmd, bare[i].cmd);
        ck_assert_str_eq(req.site, "");
        ck_assert_str_eq(req.sku, "");
        ck_assert_str_eq(req.request_id, "");
        ck_assert_str_eq(req.device_id, "");
        ck_assert_uint_eq(req.limit, 0);
    }
    ck_assert_str_eq(req.id, "");
}
END_TEST

START_TEST(records_full_and_defaults)
{
    struct control_request req;
    accept("{\"cmd\": \"records\"}", &req);
    ck_assert_int_eq(req.cmd, CONTROL_RECORDS);
    ck_assert_str_eq(req.device_id, "");
    ck_assert_uint_eq(req.limit, 20);

    accept("{\"cmd\": \"records\", \"device_id\": "
           "\"0x00112233445566778899AABBCCDDEEFF00112233445566778899aAbBcCdDeEfF\", "
           "\"limit\": 1000, \"id\": \"r\"}",
           &req);
    ck_assert_str_eq(req.device_id, "0x" HEX64);
    ck_assert_uint_eq(req.limit, CONTROL_RECORDS_MAX);
    ck_assert_str_eq(req.id, "r");

    accept("{\"cmd\": \"records\", \"limit\": 1}", &req);
    ck_assert_uint_eq(req.limit, 1);
}
END_TEST

START_TEST(command_names)
{
    static const char *const names[] = {"provision", "abort",  "status", "sites",
                                        "skus",      "reload", "records"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_str_eq(control_cmd_name((enum control_cmd)i), names[i]);
    ck_assert_str_eq(control_cmd_name((enum control_cmd)7), "unknown");
    ck_assert_str_eq(control_cmd_name((enum control_cmd) - 1), "unknown");
}
END_TEST

START_TEST(id_bounds)
{
    struct control_request req;
    char id[128], line[512];

    fill(id, 'i', CONTROL_ID_MAX);
    snprintf(line, sizeof(line), "{\"cmd\": \"status\", \"id\": \"%s\"}", id);
    accept(line, &req);
    ck_assert_str_eq(req.id, id);

    accept("{\"cmd\": \"status\", \"id\": \" ~\"}", &req);
    ck_assert_str_eq(req.id, " ~");
    accept("{\"cmd\": \"status\", \"id\": \"q\\\"\\\\\"}", &req);
    ck_assert_str_eq(req.id, "q\"\\");
    accept("{\"cmd\": \"status\", \"id\": 0}", &req);
    ck_assert_str_eq(req.id, "0");
    accept("{\"cmd\": \"status\", \"id\": 9223372036854775807}", &req);
    ck_assert_str_eq(req.id, "9223372036854775807");

    fill(id, 'i', CONTROL_ID_MAX + 1);
    snprintf(line, sizeof(line), "{\"cmd\": \"status\", \"id\": \"%s\"}", id);
    refuse(line, "id: \"iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii\"... is not 1..64 printable ASCII");
    refuse("{\"cmd\": \"status\", \"id\": \"\"}", "id: \"\" is not 1..64 printable ASCII");
    refuse("{\"cmd\": \"status\", \"id\": \"a\\u001fb\"}", "id: \"a\\x1fb\" is not");
    refuse("{\"cmd\": \"status\", \"id\": \"a\\u007f\"}", "id: \"a\\x7f\" is not");
    refuse("{\"cmd\": \"status\", \"id\": \"caf\\u00e9\"}", "id: \"caf\\xc3\\xa9\" is not");
    refuse("{\"cmd\": \"status\", \"id\": -1}", "id: -1 is out of range");
    refuse("{\"cmd\": \"status\", \"id\": 1.0}", "id: must be a string");
    refuse("{\"cmd\": \"status\", \"id\": true}", "not a boolean");
    refuse("{\"cmd\": \"status\", \"id\": null}", "not null");
    refuse("{\"cmd\": \"status\", \"id\": [\"a\"]}", "not an array");
    refuse("{\"cmd\": \"status\", \"id\": {}}", "not an object");
}
END_TEST

/* The id is taken first, so a refusal of anything else can still be addressed. */
START_TEST(id_kept_on_later_error)
{
    struct {
        const char *line, *needle, *id;
    } cases[] = {
        {"{\"id\": \"abc\", \"cmd\": \"provision\", \"site\": \"BAD\", \"sku\": \"s\"}",
         "site:", "abc"},
        {"{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"s\", \"din\": {\"lot\": 1000}, "
         "\"id\": \"late\"}",
         "din.lot: 1000 is out of range 0..999", "late"},
        {"{\"cmd\": \"fly\", \"id\": 7}", "cmd: unknown command \"fly\"", "7"},
        {"{\"id\": \"x\"}", "missing \"cmd\"", "x"},
        {"{\"id\": \"x\", \"cmd\": 3}", "cmd: must be a string", "x"},
        {"{\"cmd\": \"status\", \"colour\": 1, \"id\": \"c\"}", "status: unknown key \"colour\"",
         "c"},
        {"{\"cmd\": \"records\", \"limit\": 0, \"id\": 42}", "limit: 0 is out of range 1..1000",
         "42"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        refuse_len(cases[i].line, strlen(cases[i].line), cases[i].needle, cases[i].id);
}
END_TEST

START_TEST(site_and_sku_bounds)
{
    struct control_request req;
    char name[128], line[512];

    fill(name, 's', 31);
    snprintf(line, sizeof(line), "{\"cmd\": \"abort\", \"site\": \"%s\"}", name);
    accept(line, &req);
    ck_assert_str_eq(req.site, name);
    fill(name, 's', 32);
    snprintf(line, sizeof(line), "{\"cmd\": \"abort\", \"site\": \"%s\"}", name);
    refuse(line,
           "site: \"ssssssssssssssssssssssssssssssss\" is not 1..31 characters of [a-z0-9_-]");

    fill(name, 'k', 63);
    snprintf(line, sizeof(line), "{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"%s\"}",
             name);
    accept(line, &req);
    ck_assert_str_eq(req.sku, name);
    fill(name, 'k', 64);
    snprintf(line, sizeof(line), "{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"%s\"}",
             name);
    refuse(line,
           "sku: \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"... is not 1..63 characters of [a-z0-9_]");

    accept("{\"cmd\": \"provision\", \"site\": \"az09_-\", \"sku\": \"az09_\"}", &req);
    ck_assert_str_eq(req.site, "az09_-");
    ck_assert_str_eq(req.sku, "az09_");

    refuse("{\"cmd\": \"abort\", \"site\": \"\"}", "site: \"\" is not 1..31");
    refuse("{\"cmd\": \"abort\", \"site\": \"Site\"}", "site: \"Site\" is not");
    refuse("{\"cmd\": \"abort\", \"site\": \"a/b\"}", "site: \"a/b\" is not");
    refuse("{\"cmd\": \"abort\", \"site\": \"a.b\"}", "site: \"a.b\" is not");
    refuse("{\"cmd\": \"abort\", \"site\": \"a b\"}", "site: \"a b\" is not");
    refuse("{\"cmd\": \"abort\", \"site\": 3}", "site: must be a string of 1..31 characters of "
                                                "[a-z0-9_-], not an integer");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"a-b\"}",
           "sku: \"a-b\" is not 1..63 characters of [a-z0-9_]");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"\"}", "sku: \"\" is not");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"SIVAL\"}", "sku: \"SIVAL\"");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": null}", "sku: must be a string");
}
END_TEST

START_TEST(request_id_bounds)
{
    struct control_request req;
    char rid[128], line[512];
    fill(rid, '~', CONTROL_ID_MAX);
    snprintf(line, sizeof(line),
             "{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"request_id\": \"%s\"}",
             rid);
    accept(line, &req);
    ck_assert_str_eq(req.request_id, rid);
    accept("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"request_id\": \" \"}",
           &req);
    ck_assert_str_eq(req.request_id, " ");

    fill(rid, '~', CONTROL_ID_MAX + 1);
    snprintf(line, sizeof(line),
             "{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"request_id\": \"%s\"}",
             rid);
    refuse(line, "request_id: \"~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\"... is not 1..64 printable");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"request_id\": \"\"}",
           "request_id: \"\" is not");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"request_id\": \"\\n\"}",
           "request_id: \"\\x0a\" is not");
    /* Unlike "id", an integer is not a request_id. */
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"request_id\": 5}",
           "request_id: must be a string of 1..64 printable ASCII characters, not an integer");
}
END_TEST

START_TEST(din_bounds)
{
    static const struct {
        const char *key;
        unsigned max;
    } fields[] = {{"year", 9}, {"week", 51}, {"lot", 999}, {"wafer", 99}, {"x", 999}, {"y", 999}};
    char line[512], needle[128];
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        struct control_request req;
        const char *key = fields[i].key;
        snprintf(line, sizeof(line),
                 "{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": {\"%s\": %u}}",
                 key, fields[i].max);
        accept(line, &req);
        unsigned got[] = {req.din.year,  req.din.week, req.din.lot,
                          req.din.wafer, req.din.x,    req.din.y};
        ck_assert_uint_eq(got[i], fields[i].max);

        snprintf(line, sizeof(line),
                 "{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": {\"%s\": 0}}",
                 key);
        accept(line, &req);

        snprintf(line, sizeof(line),
                 "{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": {\"%s\": %u}}",
                 key, fields[i].max + 1);
        snprintf(needle, sizeof(needle), "din.%s: %u is out of range 0..%u", key, fields[i].max + 1,
                 fields[i].max);
        refuse(line, needle);

        snprintf(line, sizeof(line),
                 "{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": {\"%s\": -1}}",
                 key);
        snprintf(needle, sizeof(needle), "din.%s: -1 is out of range 0..%u", key, fields[i].max);
        refuse(line, needle);

        static const char *const wrong[] = {"1.0", "\"1\"", "true", "null", "1e0", "[1]"};
        for (size_t w = 0; w < sizeof(wrong) / sizeof(wrong[0]); w++) {
            snprintf(line, sizeof(line),
                     "{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": "
                     "{\"%s\": %s}}",
                     key, wrong[w]);
            snprintf(needle, sizeof(needle), "din.%s: must be an integer in 0..%u, not", key,
                     fields[i].max);
            refuse(line, needle);
        }
    }
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": {\"week\": 52}}",
           "din.week: 52 is out of range 0..51");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": {\"z\": 1}}",
           "din: unknown key \"z\"");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": {\"Year\": 1}}",
           "din: unknown key \"Year\"");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": \"Y1W2\"}",
           "din: must be an object, not a string");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": "
           "{\"year\": 99999999999999999}}",
           "din.year: 99999999999999999 is out of range 0..9");
}
END_TEST

START_TEST(benchtop_type)
{
    struct control_request req;
    accept("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"benchtop\": false}", &req);
    ck_assert(!req.benchtop);
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"benchtop\": 1}",
           "benchtop: must be true or false, not an integer");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"benchtop\": \"true\"}",
           "benchtop: must be true or false, not a string");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"benchtop\": null}",
           "benchtop: must be true or false, not null");
}
END_TEST

START_TEST(records_bounds)
{
    refuse("{\"cmd\": \"records\", \"limit\": 0}", "limit: 0 is out of range 1..1000");
    refuse("{\"cmd\": \"records\", \"limit\": 1001}", "limit: 1001 is out of range 1..1000");
    refuse("{\"cmd\": \"records\", \"limit\": -5}", "limit: -5 is out of range 1..1000");
    refuse("{\"cmd\": \"records\", \"limit\": 20.0}", "limit: must be an integer in 1..1000, not "
                                                      "a real number");
    refuse("{\"cmd\": \"records\", \"limit\": \"20\"}", "limit: must be an integer");
    refuse("{\"cmd\": \"records\", \"limit\": false}", "limit: must be an integer");
    refuse("{\"cmd\": \"records\", \"device_id\": \"0x" HEX64 "0\"}",
           "device_id: \"0x001122334455667788") /* 65 digits */;
    refuse("{\"cmd\": \"records\", \"device_id\": \"0x" HEX64 "0\"}",
           "\"... is not 0x followed by 64 hex digits");
    /* 63 digits */
    refuse("{\"cmd\": \"records\", \"device_id\": "
           "\"0x0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
           "device_id:");
    refuse("{\"cmd\": \"records\", \"device_id\": \"0X" HEX64 "\"}", "device_id:");
    refuse("{\"cmd\": \"records\", \"device_id\": \"00" HEX64 "\"}", "device_id:");
    refuse("{\"cmd\": \"records\", \"device_id\": \"" HEX64 "00\"}", "device_id:");
    refuse("{\"cmd\": \"records\", \"device_id\": "
           "\"0x0g112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
           "device_id:");
    refuse("{\"cmd\": \"records\", \"device_id\": \"\"}", "device_id: \"\" is not 0x");
    refuse("{\"cmd\": \"records\", \"device_id\": 12}",
           "device_id: must be a string of 0x and 64 hex digits, not an integer");
}
END_TEST

START_TEST(unknown_and_foreign_keys)
{
    static const struct {
        const char *line, *needle;
    } cases[] = {
        {"{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"colour\": \"red\"}",
         "provision: unknown key \"colour\""},
        /* A key of another command is as unknown as any other. */
        {"{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"limit\": 5}",
         "provision: unknown key \"limit\""},
        {"{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"device_id\": \"\"}",
         "provision: unknown key \"device_id\""},
        {"{\"cmd\": \"abort\", \"site\": \"a\", \"sku\": \"b\"}", "abort: unknown key \"sku\""},
        {"{\"cmd\": \"abort\", \"site\": \"a\", \"benchtop\": true}",
         "abort: unknown key \"benchtop\""},
        {"{\"cmd\": \"status\", \"site\": \"a\"}", "status: unknown key \"site\""},
        {"{\"cmd\": \"sites\", \"device_id\": \"\"}", "sites: unknown key \"device_id\""},
        {"{\"cmd\": \"skus\", \"sku\": \"a\"}", "skus: unknown key \"sku\""},
        {"{\"cmd\": \"reload\", \"din\": {}}", "reload: unknown key \"din\""},
        {"{\"cmd\": \"records\", \"site\": \"a\"}", "records: unknown key \"site\""},
        {"{\"cmd\": \"records\", \"request_id\": \"a\"}", "records: unknown key \"request_id\""},
        {"{\"cmd\": \"status\", \"\": 1}", "status: unknown key \"\""},
        {"{\"cmd\": \"status\", \"ID\": 1}", "status: unknown key \"ID\""},
        /* An unknown key is reported before a bad value of a known one. */
        {"{\"cmd\": \"abort\", \"site\": 1, \"x\": 1}", "abort: unknown key \"x\""},
        {"{\"cmd\": \"provision\"}", "provision: missing \"site\""},
        {"{\"cmd\": \"provision\", \"site\": \"a\"}", "provision: missing \"sku\""},
        {"{\"cmd\": \"provision\", \"sku\": \"a\"}", "provision: missing \"site\""},
        {"{\"cmd\": \"abort\"}", "abort: missing \"site\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        refuse(cases[i].line, cases[i].needle);
}
END_TEST

START_TEST(bad_cmd)
{
    refuse("{}", "missing \"cmd\"");
    refuse("{\"site\": \"a\"}", "missing \"cmd\"");
    refuse("{\"cmd\": 1}", "cmd: must be a string, not an integer");
    refuse("{\"cmd\": null}", "cmd: must be a string, not null");
    refuse("{\"cmd\": [\"status\"]}", "cmd: must be a string, not an array");
    refuse("{\"cmd\": \"fly\"}", "cmd: unknown command \"fly\" (provision, abort, status, sites, "
                                 "skus, reload, records)");
    refuse("{\"cmd\": \"Status\"}", "cmd: unknown command \"Status\"");
    refuse("{\"cmd\": \"status \"}", "cmd: unknown command \"status \"");
    refuse("{\"cmd\": \"\"}", "cmd: unknown command \"\"");
}
END_TEST

START_TEST(not_an_object)
{
    static const struct {
        const char *line, *needle;
    } cases[] = {
        {"[]", "a request must be a JSON object, not an array"},
        {"[{\"cmd\": \"status\"}]", "a request must be a JSON object, not an array"},
        {"42", "a request must be a JSON object, not an integer"},
        {"\"status\"", "a request must be a JSON object, not a string"},
        {"null", "a request must be a JSON object, not null"},
        {"true", "not a boolean"},
        {"", "not a JSON request"},
        {"   ", "not a JSON request"},
        {"{", "not a JSON request"},
        {"{\"cmd\": \"status\"", "not a JSON request"},
        {"{\"cmd\": \"status\"} {}", "not a JSON request"},
        {"{\"cmd\": \"status\"}x", "not a JSON request"},
        {"{\"cmd\": \"status\",}", "not a JSON request"},
        {"{'cmd': 'status'}", "not a JSON request"},
        {"{\"cmd\": \"status\"}\n{\"cmd\": \"status\"}", "not a JSON request"},
        {"{\"cmd\": \"records\", \"limit\": 99999999999999999999999}", "not a JSON request"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        refuse(cases[i].line, cases[i].needle);
}
END_TEST

START_TEST(duplicate_keys)
{
    refuse("{\"cmd\": \"status\", \"cmd\": \"status\"}", "duplicate");
    refuse("{\"cmd\": \"abort\", \"site\": \"a\", \"site\": \"b\"}", "duplicate");
    refuse("{\"cmd\": \"provision\", \"site\": \"a\", \"sku\": \"b\", \"din\": {\"x\": 1, \"x\": "
           "2}}",
           "duplicate");
    /* A duplicate makes the whole line unreadable, its id included. */
    refuse("{\"id\": \"a\", \"id\": \"b\", \"cmd\": \"status\"}", "duplicate");
}
END_TEST

START_TEST(line_length_limit)
{
    static const char head[] = "{\"cmd\": \"status\"}";
    char *line = malloc(CONTROL_LINE_MAX + 2);
    ck_assert_ptr_nonnull(line);
    memset(line, ' ', CONTROL_LINE_MAX + 1);
    memcpy(line, head, sizeof(head) - 1);
    line[CONTROL_LINE_MAX + 1] = '\0';

    struct control_request req;
    struct ft_error err = {0};
    ck_assert_msg(control_request_parse(line, CONTROL_LINE_MAX, &req, &err) == 0, "%s",
                  err.message);
    ck_assert_int_eq(req.cmd, CONTROL_STATUS);
    refuse_len(line, CONTROL_LINE_MAX + 1, "request line of 65537 bytes is over the limit of 65536",
               "");

    /* A long value inside the limit is quoted only in part. */
    static const char pre[] = "{\"cmd\": \"abort\", \"site\": \"";
    memcpy(line, pre, sizeof(pre) - 1);
    memset(line + sizeof(pre) - 1, 'z', CONTROL_LINE_MAX - sizeof(pre) - 1);
    memcpy(line + CONTROL_LINE_MAX - 2, "\"}", 3);
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(control_request_parse(line, CONTROL_LINE_MAX, &req, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "site: \"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"... is not");
    free(line);
}
END_TEST

START_TEST(nul_refused)
{
    refuse("{\"cmd\": \"abort\", \"site\": \"a\\u0000b\"}", "not a JSON request");
    refuse("{\"cmd\": \"status\", \"id\": \"\\u0000\"}", "not a JSON request");
    refuse("{\"cmd\": \"status\", \"a\\u0000\": 1}", "not a JSON request");
    static const char raw[] = "{\"cmd\": \"status\"}\0";
    refuse_len(raw, sizeof(raw) - 1, "not a JSON request", "");
    static const char raw_in_string[] = "{\"cmd\": \"sta\0tus\"}";
    refuse_len(raw_in_string, sizeof(raw_in_string) - 1, "not a JSON request", "");
    struct control_request req;
    struct ft_error err = {0};
    ck_assert_int_eq(control_request_parse(NULL, 0, &req, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "no request line");
}
END_TEST

/* Nothing the caller sends reaches a message unbounded or unescaped. */
START_TEST(hostile_text_escaped)
{
    char key[512], line[1024];
    fill(key, 'A', 200);
    snprintf(line, sizeof(line), "{\"cmd\": \"status\", \"%s\": 1}", key);
    refuse(line, "status: unknown key \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"...");
    {
        struct control_request req;
        struct ft_error err = {0};
        ck_assert_int_eq(parse(line, &req, &err), -1);
        ck_assert_ptr_null(strstr(err.message, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    }

    refuse("{\"cmd\": \"status\", \"\\u001b[31mred\\r\\n\": 1}",
           "status: unknown key \"\\x1b[31mred\\x0d\\x0a\"");
    refuse("{\"cmd\": \"st\\\"at\\\\us\"}", "cmd: unknown command \"st\\\"at\\\\us\"");
    refuse("{\"cmd\": \"\\u00e9\\u2603\"}", "cmd: unknown command \"\\xc3\\xa9\\xe2\\x98\\x83\"");
    refuse("{\"cmd\": \"abort\", \"site\": \"\\t\\u007f\\u0080\"}",
           "site: \"\\x09\\x7f\\xc2\\x80\" is not");
    /* Escaped bytes still count towards the 32 quoted. */
    char value[256];
    for (size_t i = 0; i < 40; i++)
        memcpy(value + i * 6, "\\u0001", 6);
    value[240] = '\0';
    snprintf(line, sizeof(line), "{\"cmd\": \"abort\", \"site\": \"%s\"}", value);
    {
        struct control_request req;
        struct ft_error err = {0};
        ck_assert_int_eq(parse(line, &req, &err), -1);
        assert_printable(&err);
        char want[200];
        memset(want, 0, sizeof(want));
        for (size_t i = 0; i < 32; i++)
            memcpy(want + i * 4, "\\x01", 4);
        ck_assert_msg(strstr(err.message, want) != NULL, "%s", err.message);
        ck_assert_msg(strstr(err.message, "\\x01\\x01\"...") != NULL, "%s", err.message);
    }

    /* Raw control bytes and invalid UTF-8 fail in jansson; its message quotes them escaped. */
    static const char raw_ctrl[] = "{\"cmd\": \"a\x01\x1b\"}";
    refuse_len(raw_ctrl, sizeof(raw_ctrl) - 1, "not a JSON request", "");
    static const char bad_utf8[] = "{\"cmd\": \"\xff\xfe\"}";
    refuse_len(bad_utf8, sizeof(bad_utf8) - 1, "not a JSON request", "");
    static const char garbage[] = "\x1b[2J\x07\xff{\"cmd\": \"status\"}";
    refuse_len(garbage, sizeof(garbage) - 1, "not a JSON request", "");
    fill(key, 'q', 300);
    snprintf(line, sizeof(line), "{\"cmd\": %s}", key);
    refuse(line, "not a JSON request");
    {
        struct control_request req;
        struct ft_error err = {0};
        ck_assert_int_eq(parse(line, &req, &err), -1);
        ck_assert_ptr_null(strstr(err.message, "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"));
    }
}
END_TEST

START_TEST(null_err_allowed)
{
    struct control_request req;
    static const char bad[] = "{\"cmd\": 1, \"id\": 5}";
    static const char good[] = "{\"cmd\":\"status\"}";
    ck_assert_int_eq(control_request_parse(bad, sizeof(bad) - 1, &req, NULL), -1);
    ck_assert_str_eq(req.id, "5");
    ck_assert_int_eq(control_request_parse(good, sizeof(good) - 1, &req, NULL), 0);
}
END_TEST

static Suite *control_proto_suite(void)
{
    Suite *s = suite_create("control_proto");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, provision_full);
    tcase_add_test(tc, provision_defaults);
    tcase_add_test(tc, abort_and_bare_commands);
    tcase_add_test(tc, records_full_and_defaults);
    tcase_add_test(tc, command_names);
    tcase_add_test(tc, id_bounds);
    tcase_add_test(tc, id_kept_on_later_error);
    tcase_add_test(tc, site_and_sku_bounds);
    tcase_add_test(tc, request_id_bounds);
    tcase_add_test(tc, din_bounds);
    tcase_add_test(tc, benchtop_type);
    tcase_add_test(tc, records_bounds);
    tcase_add_test(tc, unknown_and_foreign_keys);
    tcase_add_test(tc, bad_cmd);
    tcase_add_test(tc, not_an_object);
    tcase_add_test(tc, duplicate_keys);
    tcase_add_test(tc, line_length_limit);
    tcase_add_test(tc, nul_refused);
    tcase_add_test(tc, hostile_text_escaped);
    tcase_add_test(tc, null_err_allowed);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(control_proto_suite)
