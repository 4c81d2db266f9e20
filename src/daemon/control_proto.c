#include "daemon/control_proto.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon/json_text.h"

/* Every refusal is FT_E_INVALID: the daemon turns any of them into the same "error" reply,
 * and the message, not the code, tells the client what to fix. */
#define BAD(err, ...) ft_fail((err), FT_E_INVALID, __VA_ARGS__)

/* The most caller bytes one message quotes: a request line may be 64 KiB and the message
 * goes back to the client, into logs and into the journal. */
#define QUOTE_MAX 32u
#define QUOTED_SIZE JSON_TEXT_QUOTED_SIZE(QUOTE_MAX)
/* jansson's own part of a syntax error ("invalid token", ...): its text, never the caller's. */
#define JSON_WHY_MAX 96u

#define LIMIT_DEFAULT 20u

static void quote(char out[QUOTED_SIZE], const char *s, size_t n)
{
    json_text_quote(out, s, n, QUOTE_MAX, '"');
}

/* jansson's message ends in " near '<up to 20 bytes of the line>'" or " near end of file";
 * the line's bytes are re-quoted under the same rules as every other quoted value. */
static int json_failure(const json_error_t *jerr, struct ft_error *err)
{
    char why[JSON_TEXT_QUOTED_SIZE(JSON_WHY_MAX)], near[QUOTED_SIZE];
    const char *text = jerr->text;
    size_t len = strnlen(text, sizeof(jerr->text));
    const char *at = strstr(text, " near '");
    near[0] = '\0';
    if (at != NULL && len > (size_t)(at - text) + 7u && text[len - 1] == '\'') {
        const char *token = at + 7;
        json_text_quote(near, token, (size_t)(text + len - 1 - token), QUOTE_MAX, '\'');
        len = (size_t)(at - text);
    }
    json_text_quote(why, text, len, JSON_WHY_MAX, '\0');
    return BAD(err, "not a JSON request: %s%s%s at byte %d", why, near[0] ? " near " : "", near,
               jerr->position);
}

enum charset {
    CHARS_PRINTABLE, /* id, request_id */
    CHARS_SITE,      /* [a-z0-9_-] */
    CHARS_SKU,       /* [a-z0-9_] */
};

static bool char_allowed(enum charset set, unsigned char c)
{
    bool lower_digit_underscore = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    switch (set) {
    case CHARS_PRINTABLE:
        return c >= 0x20 && c <= 0x7e;
    case CHARS_SITE:
        return lower_digit_underscore || c == '-';
    case CHARS_SKU:
        return lower_digit_underscore;
    }
    return false;
}

static const char *charset_rule(enum charset set)
{
    switch (set) {
    case CHARS_PRINTABLE:
        return "printable ASCII characters";
    case CHARS_SITE:
        return "characters of [a-z0-9_-]";
    case CHARS_SKU:
        return "characters of [a-z0-9_]";
    }
    return "characters";
}

/* Copies the string `v` into out[cap] when it is 1..cap-1 characters of `set`. */
static int take_string(const json_t *v, const char *path, enum charset set, char *out, size_t cap,
                       struct ft_error *err)
{
    if (!json_is_string(v))
        return BAD(err, "%s: must be a string of 1..%zu %s, not %s", path, cap - 1,
                   charset_rule(set), json_text_kind(v));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    bool ok = n >= 1 && n < cap;
    for (size_t i = 0; ok && i < n; i++)
        ok = char_allowed(set, (unsigned char)s[i]);
    if (!ok) {
        char q[QUOTED_SIZE];
        quote(q, s, n);
        return BAD(err, "%s: %s is not 1..%zu %s", path, q, cap - 1, charset_rule(set));
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int take_uint(const json_t *v, const char *path, unsigned lo, unsigned hi, unsigned *out,
                     struct ft_error *err)
{
    if (!json_is_integer(v))
        return BAD(err, "%s: must be an integer in %u..%u, not %s", path, lo, hi,
                   json_text_kind(v));
    json_int_t n = json_integer_value(v);
    if (n < (json_int_t)lo || n > (json_int_t)hi)
        return BAD(err, "%s: %" JSON_INTEGER_FORMAT " is out of range %u..%u", path, n, lo, hi);
    *out = (unsigned)n;
    return 0;
}

/* "id": a string, or an integer kept as its decimal text so replies echo one type. */
static int take_id(const json_t *v, char out[CONTROL_ID_MAX + 1], struct ft_error *err)
{
    if (v == NULL)
        return 0;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0)
            return BAD(err, "id: %" JSON_INTEGER_FORMAT " is out of range (must be >= 0)", n);
        snprintf(out, CONTROL_ID_MAX + 1, "%" JSON_INTEGER_FORMAT, n);
        return 0;
    }
    if (!json_is_string(v))
        return BAD(err,
                   "id: must be a string of 1..%u printable ASCII characters or an integer >= 0, "
                   "not %s",
                   CONTROL_ID_MAX, json_text_kind(v));
    return take_string(v, "id", CHARS_PRINTABLE, out, CONTROL_ID_MAX + 1, err);
}

/* Refuses the first key of `obj` not in `keys`; `where` is the command or the object's path. */
static int only_keys(const json_t *obj, const char *where, const char *const *keys,
                     struct ft_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (keys[i] != NULL && strcmp(keys[i], key) != 0)
            i++;
        if (keys[i] == NULL) {
            char q[QUOTED_SIZE];
            quote(q, key, strlen(key));
            return BAD(err, "%s: unknown key %s", where, q);
        }
    }
    return 0;
}

static int take_din(const json_t *v, struct control_din *din, struct ft_error *err)
{
    static const struct {
        const char *key;
        const char *path;
        unsigned max;
        size_t offset;
    } fields[] = {
        {"year", "din.year", 9, offsetof(struct control_din, year)},
        {"week", "din.week", 51, offsetof(struct control_din, week)},
        {"lot", "din.lot", 999, offsetof(struct control_din, lot)},
        {"wafer", "din.wafer", 99, offsetof(struct control_din, wafer)},
        {"x", "din.x", 999, offsetof(struct control_din, x)},
        {"y", "din.y", 999, offsetof(struct control_din, y)},
    };
    static const char *const keys[] = {"year", "week", "lot", "wafer", "x", "y", NULL};
    if (!json_is_object(v))
        return BAD(err, "din: must be an object, not %s", json_text_kind(v));
    if (only_keys(v, "din", keys, err) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const json_t *f = json_object_get(v, fields[i].key);
        unsigned *out = (unsigned *)((char *)din + fields[i].offset);
        if (f != NULL && take_uint(f, fields[i].path, 0, fields[i].max, out, err) != 0)
            return -1;
    }
    return 0;
}

/* The registry's device-ID form: "0x" and 64 hex digits, kept lower-cased so it compares
 * equal to what the records hold whichever case the client typed. */
static int take_device_id(const json_t *v, char *out, size_t cap, struct ft_error *err)
{
    enum { DIGITS = 64 };
    if (!json_is_string(v))
        return BAD(err, "device_id: must be a string of 0x and %d hex digits, not %s", DIGITS,
                   json_text_kind(v));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    bool ok = n == 2 + DIGITS && s[0] == '0' && s[1] == 'x' && n < cap;
    for (size_t i = 2; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
    if (!ok) {
        char q[QUOTED_SIZE];
        quote(q, s, n);
        return BAD(err, "device_id: %s is not 0x followed by %d hex digits", q, DIGITS);
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
    out[n] = '\0';
    return 0;
}

static int take_provision(const json_t *root, struct control_request *req, struct ft_error *err)
{
    const json_t *site = json_object_get(root, "site");
    const json_t *sku = json_object_get(root, "sku");
    const json_t *request_id = json_object_get(root, "request_id");
    const json_t *din = json_object_get(root, "din");
    const json_t *benchtop = json_object_get(root, "benchtop");
    if (site == NULL)
        return BAD(err, "provision: missing \"site\"");
    if (take_string(site, "site", CHARS_SITE, req->site, sizeof(req->site), err) != 0)
        return -1;
    if (sku == NULL)
        return BAD(err, "provision: missing \"sku\"");
    if (take_string(sku, "sku", CHARS_SKU, req->sku, sizeof(req->sku), err) != 0)
        return -1;
    if (request_id != NULL && take_string(request_id, "request_id", CHARS_PRINTABLE,
                                          req->request_id, sizeof(req->request_id), err) != 0)
        return -1;
    if (din != NULL && take_din(din, &req->din, err) != 0)
        return -1;
    if (benchtop != NULL) {
        if (!json_is_boolean(benchtop))
            return BAD(err, "benchtop: must be true or false, not %s", json_text_kind(benchtop));
        req->benchtop = json_is_true(benchtop);
    }
    return 0;
}

static int take_abort(const json_t *root, struct control_request *req, struct ft_error *err)
{
    const json_t *site = json_object_get(root, "site");
    if (site == NULL)
        return BAD(err, "abort: missing \"site\"");
    return take_string(site, "site", CHARS_SITE, req->site, sizeof(req->site), err);
}

static int take_records(const json_t *root, struct control_request *req, struct ft_error *err)
{
    const json_t *device_id = json_object_get(root, "device_id");
    const json_t *limit = json_object_get(root, "limit");
    if (device_id != NULL &&
        take_device_id(device_id, req->device_id, sizeof(req->device_id), err) != 0)
        return -1;
    req->limit = LIMIT_DEFAULT;
    if (limit != NULL && take_uint(limit, "limit", 1, CONTROL_RECORDS_MAX, &req->limit, err) != 0)
        return -1;
    return 0;
}

static const char *const provision_keys[] = {"cmd",        "id",  "site",     "sku",
                                             "request_id", "din", "benchtop", NULL};
static const char *const abort_keys[] = {"cmd", "id", "site", NULL};
static const char *const records_keys[] = {"cmd", "id", "device_id", "limit", NULL};
static const char *const bare_keys[] = {"cmd", "id", NULL};

/* Indexed by enum control_cmd. */
static const struct {
    const char *name;
    const char *const *keys;
    int (*take)(const json_t *root, struct control_request *req, struct ft_error *err);
} commands[] = {
    [CONTROL_PROVISION] = {"provision", provision_keys, take_provision},
    [CONTROL_ABORT] = {"abort", abort_keys, take_abort},
    [CONTROL_STATUS] = {"status", bare_keys, NULL},
    [CONTROL_SITES] = {"sites", bare_keys, NULL},
    [CONTROL_SKUS] = {"skus", bare_keys, NULL},
    [CONTROL_RELOAD] = {"reload", bare_keys, NULL},
    [CONTROL_RECORDS] = {"records", records_keys, take_records},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int request_from_json(const json_t *root, struct control_request *req, struct ft_error *err)
{
    if (!json_is_object(root))
        return BAD(err, "a request must be a JSON object, not %s", json_text_kind(root));
    /* First, so that whatever else is wrong the error reply can carry the id. */
    if (take_id(json_object_get(root, "id"), req->id, err) != 0)
        return -1;
    const json_t *cmd = json_object_get(root, "cmd");
    if (cmd == NULL)
        return BAD(err, "missing \"cmd\"");
    if (!json_is_string(cmd))
        return BAD(err, "cmd: must be a string, not %s", json_text_kind(cmd));
    size_t c = 0;
    while (c < N_COMMANDS && strcmp(commands[c].name, json_string_value(cmd)) != 0)
        c++;
    if (c == N_COMMANDS || strlen(json_string_value(cmd)) != json_string_length(cmd)) {
        char q[QUOTED_SIZE];
        quote(q, json_string_value(cmd), json_string_length(cmd));
        return BAD(err,
                   "cmd: unknown command %s (provision, abort, status, sites, skus, reload, "
                   "records)",
                   q);
    }
    req->cmd = (enum control_cmd)c;
    if (only_keys(root, commands[c].name, commands[c].keys, err) != 0)
        return -1;
    return commands[c].take != NULL ? commands[c].take(root, req, err) : 0;
}

int control_request_parse(const char *line, size_t len, struct control_request *req,
                          struct ft_error *err)
{
    memset(req, 0, sizeof(*req));
    if (len > CONTROL_LINE_MAX)
        return BAD(err, "request line of %zu bytes is over the limit of %u", len, CONTROL_LINE_MAX);
    if (line == NULL)
        return BAD(err, "no request line");
    json_error_t jerr;
    /* JSON_DECODE_ANY so a scalar line gets the same "must be a JSON object" answer as an
     * array; without JSON_ALLOW_NUL a \u0000 anywhere is a syntax error, so every string
     * below is a C string. */
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (root == NULL)
        return json_failure(&jerr, err);
    int rc = request_from_json(root, req, err);
    json_decref(root);
    if (rc != 0) {
        /* Nothing half-parsed survives a refusal, except the id the reply needs. */
        char id[sizeof(req->id)];
        memcpy(id, req->id, sizeof(id));
        memset(req, 0, sizeof(*req));
        memcpy(req->id, id, sizeof(id));
    }
    return rc;
}

const char *control_cmd_name(enum control_cmd cmd)
{
    if ((size_t)cmd >= N_COMMANDS)
        return "unknown";
    return commands[cmd].name;
}
