#include "flow/flow_sku.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/trust.h"

struct ctx {
    char file[FLOW_PATH_MAX + 32];
    struct ft_error *err;
};

static int bad(struct ctx *c, const char *key, const char *why)
{
    return ft_fail(c->err, FT_E_INVALID, "%s: %s: %s", c->file, key, why);
}

static int only_keys(struct ctx *c, json_t *obj, const char *where, const char *const *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], key) != 0)
            i++;
        if (keys[i] == NULL) {
            char path[128];
            snprintf(path, sizeof(path), "%s%s%.64s", where, *where ? "." : "", key);
            return bad(c, path, "unknown key");
        }
    }
    return 0;
}

static int copy_string(struct ctx *c, json_t *v, const char *key, char *out, size_t cap)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
        return bad(c, key, "must be a non-empty string within the length limit");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return bad(c, key, "must not contain NUL characters");
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int load_cert(struct ctx *c, json_t *e, size_t i, struct flow_sku_cert *out)
{
    static const char *const keys[] = {"name", "ca", "endorse", "max_size", NULL};
    char where[32];
    snprintf(where, sizeof(where), "certs[%zu]", i);
    if (!json_is_object(e))
        return bad(c, where, "must be an object");
    if (only_keys(c, e, where, keys) != 0 ||
        copy_string(c, json_object_get(e, "name"), where, out->name, sizeof(out->name)) != 0)
        return -1;
    const char *ca = json_string_value(json_object_get(e, "ca"));
    const char *endorse = json_string_value(json_object_get(e, "endorse"));
    json_t *max = json_object_get(e, "max_size");
    if (ca == NULL || (strcmp(ca, "dice") != 0 && strcmp(ca, "ext") != 0))
        return bad(c, where, "\"ca\" must be \"dice\" or \"ext\"");
    if (endorse == NULL || (strcmp(endorse, "host") != 0 && strcmp(endorse, "device") != 0))
        return bad(c, where, "\"endorse\" must be \"host\" or \"device\"");
    if (max != NULL &&
        (!json_is_integer(max) || json_integer_value(max) < 64 || json_integer_value(max) > 4096))
        return bad(c, where, "\"max_size\" must be an integer in 64..4096");
    out->ca = strcmp(ca, "dice") == 0 ? FLOW_CA_DICE : FLOW_CA_EXT;
    out->host_endorsed = strcmp(endorse, "host") == 0;
    out->max_size = max ? (size_t)json_integer_value(max) : 1024;
    return 0;
}

static int load_timeouts(struct ctx *c, json_t *obj, struct flow_sku *sku)
{
    static const char *const names[FLOW_WAIT_COUNT] = {
        "default", "rma", "certgen", "export", "import", "hash", "done", "boot", "bootstrap"};
    static const char *const keys[] = {"default", "rma",  "certgen", "export",    "import",
                                       "hash",    "done", "boot",    "bootstrap", NULL};
    for (int i = 0; i < FLOW_WAIT_COUNT; i++)
        sku->timeout_ms[i] = 0;
    sku->timeout_ms[FLOW_WAIT_DEFAULT] = 30000; /* upstream's --timeout default */
    if (obj == NULL)
        return 0;
    if (!json_is_object(obj) || only_keys(c, obj, "timeouts_ms", keys) != 0)
        return obj && json_is_object(obj) ? -1 : bad(c, "timeouts_ms", "must be an object");
    for (int i = 0; i < FLOW_WAIT_COUNT; i++) {
        json_t *v = json_object_get(obj, names[i]);
        if (v == NULL)
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 600000)
            return bad(c, "timeouts_ms", "values must be integers in 1..600000");
        sku->timeout_ms[i] = (unsigned)json_integer_value(v);
    }
    return 0;
}

/* The directory part of `file` ("." when none). */
static void dir_of(const char *file, char *out, size_t cap)
{
    const char *slash = strrchr(file, '/');
    if (slash == NULL)
        snprintf(out, cap, ".");
    else if (slash == file)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - file), file);
}

/* Copies the path string `v` to out[FLOW_PATH_MAX], relative paths anchored at the SKU
 * file's directory. */
static int sku_path(struct ctx *c, json_t *v, const char *key, char *out)
{
    char path[FLOW_PATH_MAX], dir[FLOW_PATH_MAX];
    if (copy_string(c, v, key, path, sizeof(path)) != 0)
        return -1;
    dir_of(c->file, dir, sizeof(dir));
    int n = path[0] == '/' ? snprintf(out, FLOW_PATH_MAX, "%s", path)
                           : snprintf(out, FLOW_PATH_MAX, "%s/%s", dir, path);
    if (n < 0 || (size_t)n >= FLOW_PATH_MAX)
        return bad(c, key, "path too long");
    return 0;
}

/* A relative path without ".." components: it names something beneath its directory
 * (plugin_run also checks where it resolves, symlinks included). */
static bool beneath(const char *path)
{
    if (path[0] == '/')
        return false;
    for (const char *p = path; *p != '\0';) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        p += n + (p[n] == '/');
    }
    return true;
}

static int load_input(struct ctx *c, json_t *e, size_t i, struct flow_sku *sku)
{
    static const char *const keys[] = {"name", "path", NULL};
    char where[48];
    snprintf(where, sizeof(where), "plugin.inputs[%zu]", i);
    if (!json_is_object(e))
        return bad(c, where, "must be {\"name\": ..., \"path\": ...}");
    if (only_keys(c, e, where, keys) != 0 ||
        copy_string(c, json_object_get(e, "name"), where, sku->plugin_inputs[i].name,
                    sizeof(sku->plugin_inputs[i].name)) != 0)
        return -1;
    json_t *path = json_object_get(e, "path");
    if (json_is_string(path) && !beneath(json_string_value(path)))
        return bad(c, where, "path must lie under the SKU file's directory (relative, no ..)");
    return sku_path(c, path, where, sku->plugin_inputs[i].path);
}

static int load_bootstrap(struct ctx *c, json_t *obj, struct flow_sku *sku)
{
    static const char *const keys[] = {"image", "second_image", NULL};
    if (obj == NULL)
        return 0;
    if (!json_is_object(obj) || only_keys(c, obj, "bootstrap", keys) != 0)
        return json_is_object(obj) ? -1 : bad(c, "bootstrap", "must be an object");
    json_t *second = json_object_get(obj, "second_image");
    if (sku_path(c, json_object_get(obj, "image"), "bootstrap.image", sku->bootstrap_image) != 0 ||
        (second != NULL &&
         sku_path(c, second, "bootstrap.second_image", sku->bootstrap_second_image) != 0))
        return -1;
    return 0;
}

/* "certs": the names the plugin may append, distinct and none of the SKU's own. */
static int load_plugin_certs(struct ctx *c, json_t *arr, struct flow_sku *sku)
{
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > FLOW_SKU_PLUGIN_CERTS_MAX)
        return bad(c, "plugin.certs", "must be an array of at most 8 certificate names");
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        char where[48];
        snprintf(where, sizeof(where), "plugin.certs[%zu]", i);
        char *name = sku->plugin_certs[i];
        if (copy_string(c, v, where, name, FLOW_SKU_NAME_MAX) != 0)
            return -1;
        if (flow_sku_find_cert(sku, name) != NULL)
            return bad(c, where, "names a certificate the chip itself sends");
        for (size_t j = 0; j < i; j++) {
            if (strcmp(sku->plugin_certs[j], name) == 0)
                return bad(c, where, "repeats a name");
        }
        sku->n_plugin_certs = i + 1;
    }
    return 0;
}

static int load_plugin(struct ctx *c, json_t *obj, struct flow_sku *sku)
{
    static const char *const keys[] = {"name", "config", "inputs", "certs", NULL};
    snprintf(sku->plugin, sizeof(sku->plugin), "noop");
    if (obj == NULL)
        return 0;
    if (!json_is_object(obj) || only_keys(c, obj, "plugin", keys) != 0)
        return json_is_object(obj) ? -1 : bad(c, "plugin", "must be an object");
    if (copy_string(c, json_object_get(obj, "name"), "plugin.name", sku->plugin,
                    sizeof(sku->plugin)) != 0)
        return -1;
    if (strchr(sku->plugin, '/') != NULL || sku->plugin[0] == '.')
        return bad(c, "plugin.name", "must be a plain name, not a path");
    json_t *config = json_object_get(obj, "config");
    if (config && copy_string(c, config, "plugin.config", sku->plugin_config,
                              sizeof(sku->plugin_config)) != 0)
        return -1;
    if (load_plugin_certs(c, json_object_get(obj, "certs"), sku) != 0)
        return -1;
    json_t *inputs = json_object_get(obj, "inputs");
    if (inputs == NULL)
        return 0;
    if (!json_is_array(inputs) || json_array_size(inputs) > FLOW_SKU_INPUTS_MAX)
        return bad(c, "plugin.inputs", "must be an array of at most 8 inputs");
    size_t i;
    json_t *v;
    json_array_foreach(inputs, i, v)
    {
        if (load_input(c, v, i, sku) != 0)
            return -1;
    }
    sku->n_plugin_inputs = json_array_size(inputs);
    return 0;
}

static int load_boot_check(struct ctx *c, json_t *obj, struct flow_sku *sku)
{
    static const char *const keys[] = {"owner_success_text", NULL};
    if (obj == NULL)
        return 0;
    if (!json_is_object(obj) || only_keys(c, obj, "boot_check", keys) != 0)
        return json_is_object(obj) ? -1 : bad(c, "boot_check", "must be an object");
    json_t *text = json_object_get(obj, "owner_success_text");
    if (text != NULL && copy_string(c, text, "boot_check.owner_success_text",
                                    sku->owner_success_text, sizeof(sku->owner_success_text)) != 0)
        return -1;
    sku->boot_check = true;
    return 0;
}

static int load_benchtop(struct ctx *c, json_t *obj, struct flow_sku *sku)
{
    static const char *const keys[] = {"was_seed", "was_diversifier", NULL};
    snprintf(sku->was_diversifier, sizeof(sku->was_diversifier), "was");
    if (obj == NULL)
        return 0;
    if (!json_is_object(obj) || only_keys(c, obj, "benchtop", keys) != 0)
        return json_is_object(obj) ? -1 : bad(c, "benchtop", "must be an object");
    const char *seed = json_string_value(json_object_get(obj, "was_seed"));
    size_t n = 0;
    if (seed == NULL || hex_decode(seed, strlen(seed), sku->was_seed, 32, &n, NULL) != 0 || n != 32)
        return bad(c, "benchtop.was_seed", "must be 64 hex digits");
    json_t *div = json_object_get(obj, "was_diversifier");
    if (div && copy_string(c, div, "benchtop.was_diversifier", sku->was_diversifier,
                           sizeof(sku->was_diversifier)) != 0)
        return -1;
    sku->benchtop_was = true;
    return 0;
}

static int lc_state(struct ctx *c, json_t *v, int *out)
{
    static const char *const names[] = {"DEV", "PROD", "PROD_END"};
    static const int values[] = {4, 5, 6}; /* ot.DeviceLifeCycle */
    *out = 5;
    if (v == NULL)
        return 0;
    for (size_t i = 0; i < 3; i++) {
        if (json_is_string(v) && strcmp(json_string_value(v), names[i]) == 0) {
            *out = values[i];
            return 0;
        }
    }
    return bad(c, "lc_state", "must be DEV, PROD or PROD_END");
}

/* "firmware" (required) and "dev_seeds", and what the generation cannot do at all. */
static int load_firmware(struct ctx *c, json_t *root, struct flow_sku *sku)
{
    const char *name = json_string_value(json_object_get(root, "firmware"));
    if (name == NULL || fw_gen_parse(name, &sku->firmware, NULL) != 0) {
        char why[96];
        snprintf(why, sizeof(why), "must name the perso firmware generation: %s", fw_gen_names());
        return bad(c, "firmware", why);
    }
    const struct fw_gen_info *g = fw_gen_info(sku->firmware);
    if (sku->blob_version == PERSO_BLOB_V1 && !g->has_v1)
        return bad(c, "blob_version", "is 1, but a2-rc17 firmware has no V1 blobs");
    json_t *seeds = json_object_get(root, "dev_seeds");
    if (seeds == NULL)
        return 0;
    if (!json_is_integer(seeds) || json_integer_value(seeds) < 0 ||
        json_integer_value(seeds) > FLOW_SKU_DEV_SEEDS_MAX)
        return bad(c, "dev_seeds", "must be 0..5");
    sku->dev_seeds = (unsigned)json_integer_value(seeds);
    return 0;
}

/* Upstream defects that make a SKU impossible on a generation: refused here, before a
 * chip is touched (docs/wire-formats.md "Firmware generations"). */
static int check_firmware_defects(struct ctx *c, const struct flow_sku *sku)
{
    const struct fw_gen_info *g = fw_gen_info(sku->firmware);
    if (sku->blob_version != PERSO_BLOB_V1 ||
        !(g->v0_headed_in_v1 & FW_GEN_BIT(PERSO_OBJ_X509_TBS)))
        return 0;
    for (size_t i = 0; i < sku->n_certs; i++) {
        const struct flow_sku_cert *cert = &sku->certs[i];
        if (!cert->host_endorsed || strcmp(cert->name, "UDS") == 0)
            continue;
        char where[32], why[320];
        snprintf(where, sizeof(where), "certs[%zu]", i);
        snprintf(why, sizeof(why),
                 "\"%s\" is an extension TBS, which %s firmware writes with a V0 header in a V1 "
                 "blob and leaves out of its WAS HMAC (tpm_personalize_ext.c), so the endorsement "
                 "service cannot verify it: use blob_version 0 for this SKU",
                 cert->name, g->name);
        return bad(c, where, why);
    }
    return 0;
}

/* Fills `sku` from the parsed document `root` (file names the source in messages). */
static int sku_from_json(struct ctx *c, json_t *root, struct flow_sku *sku)
{
    static const char *const keys[] = {
        "name",     "firmware", "blob_version", "dev_seeds",  "certs",     "plugin", "timeouts_ms",
        "lc_state", "benchtop", "description",  "boot_check", "bootstrap", NULL};
    if (!json_is_object(root))
        return bad(c, "(top)", "must be an object");
    if (only_keys(c, root, "", keys) != 0 ||
        copy_string(c, json_object_get(root, "name"), "name", sku->name, sizeof(sku->name)) != 0)
        return -1;
    json_t *version = json_object_get(root, "blob_version");
    if (!json_is_integer(version) || json_integer_value(version) < 0 ||
        json_integer_value(version) > 1)
        return bad(c, "blob_version", "must be 0 or 1");
    sku->blob_version = (enum perso_blob_version)json_integer_value(version);
    if (load_firmware(c, root, sku) != 0)
        return -1;
    json_t *certs = json_object_get(root, "certs");
    if (!json_is_array(certs) || json_array_size(certs) == 0 ||
        json_array_size(certs) > FLOW_SKU_CERTS_MAX)
        return bad(c, "certs", "must be an array of 1..12 certificates");
    size_t i;
    json_t *e;
    json_array_foreach(certs, i, e)
    {
        if (load_cert(c, e, i, &sku->certs[i]) != 0)
            return -1;
    }
    sku->n_certs = json_array_size(certs);
    if (load_plugin(c, json_object_get(root, "plugin"), sku) != 0 ||
        load_timeouts(c, json_object_get(root, "timeouts_ms"), sku) != 0 ||
        load_benchtop(c, json_object_get(root, "benchtop"), sku) != 0 ||
        load_boot_check(c, json_object_get(root, "boot_check"), sku) != 0 ||
        load_bootstrap(c, json_object_get(root, "bootstrap"), sku) != 0 ||
        lc_state(c, json_object_get(root, "lc_state"), &sku->lc_state) != 0)
        return -1;
    return check_firmware_defects(c, sku);
}

/* Takes `root` (NULL when JSON decoding failed, described by `jerr`). */
static int sku_from_document(const char *file, json_t *root, const json_error_t *jerr,
                             struct flow_sku *sku, struct ft_error *err)
{
    memset(sku, 0, sizeof(*sku));
    if (root == NULL)
        return ft_fail(err, FT_E_INVALID, "%s: line %d: %s", file, jerr->line, jerr->text);
    struct ctx c = {.err = err};
    snprintf(c.file, sizeof(c.file), "%s", file);
    dir_of(file, sku->dir, sizeof(sku->dir));
    int rc = sku_from_json(&c, root, sku);
    json_decref(root);
    return rc;
}

int flow_sku_parse(const char *file, const char *text, size_t len, struct flow_sku *sku,
                   struct ft_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    return sku_from_document(file, root, &jerr, sku, err);
}

int flow_sku_load(const char *sku_dir, const char *name_or_path, struct flow_sku *sku,
                  struct ft_error *err)
{
    char file[FLOW_PATH_MAX];
    if (strchr(name_or_path, '/') || strstr(name_or_path, ".json"))
        snprintf(file, sizeof(file), "%s", name_or_path);
    else
        snprintf(file, sizeof(file), "%s/%s.json", sku_dir, name_or_path);
    /* What a SKU file says is written into chips: nobody but root (or this user) may
     * have changed it. */
    char label[FLOW_PATH_MAX + 16];
    snprintf(label, sizeof(label), "SKU file %s", file);
    if (access(file, F_OK) == 0 && trust_check_path(label, file, NULL, FT_E_INVALID, err) != 0)
        return -1;
    json_error_t jerr;
    json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
    return sku_from_document(file, root, &jerr, sku, err);
}

const struct flow_sku_cert *flow_sku_find_cert(const struct flow_sku *sku, const char *name)
{
    for (size_t i = 0; i < sku->n_certs; i++) {
        if (strcmp(sku->certs[i].name, name) == 0)
            return &sku->certs[i];
    }
    return NULL;
}
