/* The device record as JSON: upstream's PROVISIONING_DATA fields (device_id in the
 * registry's form, certs by name, rma_unlock_token, stats in microseconds) plus site, SKU,
 * status, error, times and versions (DESIGN.md §7, docs/record.schema.json). */
#include <jansson.h>
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
