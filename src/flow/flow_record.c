/* The device record as JSON: upstream's PROVISIONING_DATA fields (device_id in the
 * registry's form, certs by name, rma_unlock_token, stats in microseconds) plus site, SKU,
 * status, error, times and versions (DESIGN.md §7, docs/record.schema.json). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/hex.h"
#include "common/version.h"
#include "flow/flow.h"
#include "wire/device_id.h"

static json_t *b64(const uint8_t *data, size_t len)
{
    size_t cap = base64_encoded_len(len) + 1;
    char *text = malloc(cap);
    json_t *v =
        text && base64_encode(data, len, text, cap, NULL) == 0 ? json_string(text) : json_null();
    free(text);
    return v;
}

static json_t *hexs(const uint8_t *data, size_t len)
{
    char text[129];
    if (len > 64 || hex_encode(data, len, text, sizeof(text), NULL) != 0)
        return json_null();
    return json_string(text);
}

static json_t *certs_json(const struct flow_record *rec)
{
    static const char *const origin_names[] = {
        [FLOW_CERT_DEVICE] = "device", [FLOW_CERT_HOST] = "host", [FLOW_CERT_PLUGIN] = "plugin"};
    json_t *certs = json_object();
    for (size_t i = 0; i < rec->n_certs; i++) {
        const struct flow_cert *c = &rec->certs[i];
        bool dice = strcmp(c->name, "UDS") == 0 || strcmp(c->name, "CDI_0") == 0 ||
                    strcmp(c->name, "CDI_1") == 0;
        json_object_set_new(certs, c->name,
                            json_pack("{s:s, s:s, s:o, s:b, s:s}", "format", "X509", "name",
                                      c->name, "bytes", b64(c->der, c->len), "ignore_critical",
                                      dice, "endorsed_by", origin_names[c->origin]));
    }
    return certs;
}

static json_t *stats_json(const struct flow_record *rec)
{
    json_t *stats = json_object();
    for (int i = 0; i < FLOW_STEP_COUNT; i++) {
        if (rec->step_ran[i])
            json_object_set_new(stats, flow_step_name((enum flow_step)i),
                                json_pack("{s:I}", "microseconds", (json_int_t)rec->stats_us[i]));
    }
    return stats;
}

char *flow_record_json(const struct flow_record *rec, bool pretty)
{
    /* The registry's form, so the ID pastes into GET /ftpa/v1/devices/<id> and matches
     * the service's logs and exports; "" when the chip never sent its ID. */
    char device_id[DEVICE_ID_STRING_LEN + 1] = "";
    if (rec->has_device_id)
        device_id_to_string(rec->device_id, device_id);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:s}", "status",
                            rec->running ? "RUNNING"
                            : rec->pass  ? "PASS"
                                         : "FAIL",
                            "sku", rec->sku, "site", rec->site, "device_id", device_id, "certs",
                            certs_json(rec), "stats", stats_json(rec), "perso_fw_sha256_hash",
                            hexs(rec->perso_fw_hash, 32), "certs_hash", hexs(rec->certs_hash, 32),
                            "start_time_ms", (json_int_t)rec->start_ms, "end_time_ms",
                            (json_int_t)rec->end_ms, "harness_version", FTHARNESS_VERSION);
    if (rec->wrapped_rma_seed_len > 0)
        json_object_set_new(doc, "rma_unlock_token",
                            b64(rec->wrapped_rma_seed, rec->wrapped_rma_seed_len));
    if (rec->plugin[0] != '\0')
        json_object_set_new(
            doc, "plugin",
            json_pack("{s:s, s:s}", "name", rec->plugin, "version", rec->plugin_version));
    if (rec->boot_check[0] != '\0')
        json_object_set_new(doc, "boot_check",
                            json_pack("{s:s, s:s}", "result", rec->boot_check, "rom_ext_version",
                                      rec->rom_ext_version));
    /* What the chip holds as its words showed it: the recovery of a run that did not end
     * (a journal entry) starts from here. */
    if (rec->dut_state != NULL)
        json_object_set_new(doc, "dut_state", json_string(rec->dut_state));
    if (rec->din[0] != '\0')
        json_object_set_new(doc, "din", json_string(rec->din));
    /* What `ftharness register` needs to register the chip from this record later. */
    if (rec->has_device_id)
        json_object_set_new(doc, "device_id_raw", hexs(rec->device_id, 32));
    json_object_set_new(doc, "lc_state", json_integer(rec->lc_state));
    json_object_set_new(doc, "blob_version", json_integer((json_int_t)rec->blob_version));
    json_object_set_new(doc, "firmware", json_string(fw_gen_info(rec->firmware)->name));
    if (rec->n_seeds > 0) {
        json_t *seeds = json_array();
        for (size_t i = 0; i < rec->n_seeds; i++)
            json_array_append_new(seeds, json_pack("{s:s, s:o}", "type",
                                                   perso_obj_type_name(rec->seeds[i].type), "bytes",
                                                   b64(rec->seeds[i].data, rec->seeds[i].len)));
        json_object_set_new(doc, "seeds", seeds);
    }
    if (rec->register_ms > 0)
        json_object_set_new(doc, "register_time_ms", json_integer((json_int_t)rec->register_ms));
    if (rec->secret2_earlier)
        json_object_set_new(doc, "secret2_earlier",
                            json_pack("{s:s}", "seed_from", rec->earlier_record));
    if (!rec->pass && !rec->running)
        json_object_set_new(doc, "error",
                            json_pack("{s:s, s:s, s:s, s:s}", "step",
                                      flow_step_name(rec->failed_step), "code",
                                      ft_code_name(rec->error_code), "message", rec->error,
                                      "dut_state", rec->dut_state ? rec->dut_state : ""));
    char *text = json_dumps(doc, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return text;
}

/* ---- reading a record back ---------------------------------------------------------- */

static int bad(struct ft_error *err, const char *key, const char *why)
{
    return ft_fail(err, FT_E_INVALID, "record: %s: %s", key, why);
}

static const char *string_of(json_t *doc, const char *key, size_t max, struct ft_error *err)
{
    json_t *v = json_object_get(doc, key);
    if (!json_is_string(v) || json_string_length(v) > max) {
        bad(err, key, "missing, not a string or too long");
        return NULL;
    }
    return json_string_value(v);
}

static int hex_field(json_t *doc, const char *key, uint8_t *out, size_t want, struct ft_error *err)
{
    const char *text = string_of(doc, key, 2 * want, err);
    size_t n = 0;
    if (text == NULL)
        return -1;
    if (hex_decode(text, strlen(text), out, want, &n, NULL) != 0 || n != want)
        return bad(err, key, "not the hex of the expected number of bytes");
    return 0;
}

static int int_field(json_t *doc, const char *key, json_int_t min, json_int_t max, json_int_t *out,
                     struct ft_error *err)
{
    json_t *v = json_object_get(doc, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return bad(err, key, "missing or not an integer in range");
    *out = json_integer_value(v);
    return 0;
}

static int b64_field(const char *key, const char *text, uint8_t **out, size_t *len,
                     struct ft_error *err)
{
    size_t cap = strlen(text);
    *out = malloc(cap + 1);
    if (*out == NULL)
        return ft_fail(err, FT_E_NOMEM, "out of memory");
    if (base64_decode(text, cap, *out, cap + 1, len, NULL) != 0 || *len == 0)
        return bad(err, key, "not base64 of at least one byte");
    return 0;
}

static int cert_of(const char *name, json_t *c, struct flow_cert *out, struct ft_error *err)
{
    const char *bytes = json_string_value(json_object_get(c, "bytes"));
    const char *by = json_string_value(json_object_get(c, "endorsed_by"));
    if (strlen(name) >= sizeof(out->name) || bytes == NULL || by == NULL ||
        strlen(bytes) > 4 * PERSO_BLOB_BODY_MAX)
        return bad(err, "certs", "an entry lacks bytes or endorsed_by, or is too large");
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->origin = strcmp(by, "host") == 0     ? FLOW_CERT_HOST
                  : strcmp(by, "device") == 0 ? FLOW_CERT_DEVICE
                  : strcmp(by, "plugin") == 0 ? FLOW_CERT_PLUGIN
                                              : (enum flow_cert_origin) - 1;
    if ((int)out->origin < 0)
        return bad(err, "certs", "endorsed_by is not host, device or plugin");
    return b64_field("certs", bytes, &out->der, &out->len, err);
}

static int certs_of(json_t *doc, struct flow_record *rec, struct ft_error *err)
{
    json_t *certs = json_object_get(doc, "certs");
    if (!json_is_object(certs) || json_object_size(certs) > FLOW_CERTS_MAX)
        return bad(err, "certs", "missing or more certificates than a record holds");
    const char *name;
    json_t *c;
    json_object_foreach(certs, name, c)
    {
        if (cert_of(name, c, &rec->certs[rec->n_certs], err) != 0) {
            free(rec->certs[rec->n_certs].der);
            return -1;
        }
        rec->n_certs++;
    }
    return 0;
}

static int din_of(json_t *doc, struct flow_record *rec, struct ft_error *err)
{
    json_t *v = json_object_get(doc, "din");
    if (v == NULL)
        return 0;
    const char *din = json_string_value(v);
    if (din == NULL || strlen(din) >= sizeof(rec->din) ||
        sscanf(din, "Y%uW%uL%uF%uX%uY%u", &rec->year, &rec->week, &rec->lot, &rec->wafer, &rec->x,
               &rec->y) != 6)
        return bad(err, "din", "not Y<year>W<week>L<lot>F<wafer>X<x>Y<y>");
    snprintf(rec->din, sizeof(rec->din), "%s", din);
    return 0;
}

static int seed_of(json_t *v, struct flow_seed *out, struct ft_error *err)
{
    const char *type = json_string_value(json_object_get(v, "type"));
    const char *bytes = json_string_value(json_object_get(v, "bytes"));
    if (type == NULL || bytes == NULL || strlen(bytes) > 4 * sizeof(out->data))
        return bad(err, "seeds", "an entry lacks type or bytes, or is too large");
    if (strcmp(type, "DevSeed") == 0)
        out->type = PERSO_OBJ_DEV_SEED;
    else if (strcmp(type, "GenericSeed") == 0)
        out->type = PERSO_OBJ_GENERIC_SEED;
    else
        return bad(err, "seeds", "type is not DevSeed or GenericSeed");
    if (base64_decode(bytes, strlen(bytes), out->data, sizeof(out->data), &out->len, NULL) != 0 ||
        out->len == 0)
        return bad(err, "seeds", "bytes are not base64 of 1..128 bytes");
    return 0;
}

/* "seeds" and "firmware", both optional. */
static int firmware_and_seeds_of(json_t *doc, struct flow_record *rec, struct ft_error *err)
{
    json_t *fw = json_object_get(doc, "firmware");
    if (fw != NULL &&
        (!json_is_string(fw) || fw_gen_parse(json_string_value(fw), &rec->firmware, NULL) != 0))
        return bad(err, "firmware", "not a firmware generation name");
    json_t *seeds = json_object_get(doc, "seeds");
    if (seeds == NULL)
        return 0;
    if (!json_is_array(seeds) || json_array_size(seeds) > FLOW_SEEDS_MAX)
        return bad(err, "seeds", "not an array of at most 5 seeds");
    size_t i;
    json_t *v;
    json_array_foreach(seeds, i, v)
    {
        if (seed_of(v, &rec->seeds[i], err) != 0)
            return -1;
        rec->n_seeds = i + 1;
    }
    return 0;
}

/* The failed step named in the record's error, FLOW_STEP_COUNT when none. */
static enum flow_step failed_step_of(json_t *doc)
{
    const char *step = json_string_value(json_object_get(json_object_get(doc, "error"), "step"));
    for (int i = 0; step != NULL && i < FLOW_STEP_COUNT; i++) {
        if (strcmp(step, flow_step_name((enum flow_step)i)) == 0)
            return (enum flow_step)i;
    }
    return FLOW_STEP_COUNT;
}

static int fields_of(json_t *doc, struct flow_record *rec, struct ft_error *err)
{
    const char *status = string_of(doc, "status", 16, err);
    if (status == NULL)
        return -1;
    rec->pass = strcmp(status, "PASS") == 0;
    rec->failed_step = failed_step_of(doc);
    /* Only a personalized chip's record carries what registration needs. */
    if (!rec->pass && rec->failed_step != FLOW_STEP_REGISTER)
        return 0;
    const char *sku = string_of(doc, "sku", FLOW_SKU_NAME_MAX - 1, err);
    const char *site = sku ? string_of(doc, "site", sizeof(rec->site) - 1, err) : NULL;
    json_int_t lc = 0, version = 0, start = 0, registered = 0;
    if (site == NULL || hex_field(doc, "device_id_raw", rec->device_id, 32, err) != 0 ||
        hex_field(doc, "perso_fw_sha256_hash", rec->perso_fw_hash, 32, err) != 0 ||
        hex_field(doc, "certs_hash", rec->certs_hash, 32, err) != 0 ||
        int_field(doc, "lc_state", 0, 0x7fffffff, &lc, err) != 0 ||
        int_field(doc, "blob_version", 0, 1, &version, err) != 0 ||
        int_field(doc, "start_time_ms", 0, INT64_MAX, &start, err) != 0 ||
        din_of(doc, rec, err) != 0 || certs_of(doc, rec, err) != 0 ||
        firmware_and_seeds_of(doc, rec, err) != 0 ||
        (json_object_get(doc, "register_time_ms") != NULL &&
         int_field(doc, "register_time_ms", 1, INT64_MAX, &registered, err) != 0))
        return -1;
    rec->register_ms = registered;
    snprintf(rec->sku, sizeof(rec->sku), "%s", sku);
    snprintf(rec->site, sizeof(rec->site), "%s", site);
    rec->has_device_id = true;
    rec->lc_state = (int)lc;
    rec->blob_version = (enum perso_blob_version)version;
    rec->start_ms = start;
    json_t *seed = json_object_get(doc, "rma_unlock_token");
    if (seed != NULL && (!json_is_string(seed) ||
                         b64_field("rma_unlock_token", json_string_value(seed),
                                   &rec->wrapped_rma_seed, &rec->wrapped_rma_seed_len, err) != 0))
        return json_is_string(seed) ? -1 : bad(err, "rma_unlock_token", "not a string");
    return 0;
}

int flow_record_parse(const char *text, size_t len, struct flow_record *rec, struct ft_error *err)
{
    memset(rec, 0, sizeof(*rec));
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return ft_fail(err, FT_E_INVALID, "record: line %d: %s", jerr.line,
                       doc ? "not a JSON object" : jerr.text);
    }
    int rc = fields_of(doc, rec, err);
    json_decref(doc);
    if (rc != 0)
        flow_record_free(rec);
    return rc;
}
