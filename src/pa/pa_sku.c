#include "pa/pa_sku.h"

#include <jansson.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (1u << 20)

/* Everything one load needs to produce a good message. */
struct loader {
    const char *dir;
    char file[512]; /* the config file being read, for messages */
    json_t *root;
    struct ft_error *err;
};

static int fail(struct loader *l, const char *key, const char *fmt, const char *detail)
{
    char why[200];
    snprintf(why, sizeof(why), fmt, detail ? detail : "");
    return ft_fail(l->err, FT_E_INVALID, "%s: %s: %s", l->file, key, why);
}

static int check_keys(struct loader *l, json_t *obj, const char *where, const char *const *keys)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        size_t i = 0;
        while (keys[i] != NULL && strcmp(keys[i], key) != 0)
            i++;
        if (keys[i] == NULL) {
            char path[128];
            snprintf(path, sizeof(path), "%s%s%.64s", where, *where ? "." : "", key);
            return fail(l, path, "unknown key%s", NULL);
        }
    }
    return 0;
}

static json_t *load_json(struct loader *l, const char *name)
{
    snprintf(l->file, sizeof(l->file), "%s/%s", l->dir, name);
    json_error_t jerr;
    json_t *root = json_load_file(l->file, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        ft_fail(l->err, FT_E_INVALID, "%s: line %d column %d: %s", l->file, jerr.line, jerr.column,
                jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        ft_fail(l->err, FT_E_INVALID, "%s: not a JSON object", l->file);
        json_decref(root);
        return NULL;
    }
    return root;
}

static int get_string(struct loader *l, json_t *obj, const char *key, char *out, size_t cap,
                      bool required)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            return fail(l, key, "missing%s", NULL);
        out[0] = '\0';
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
        return fail(l, key, "must be a non-empty string shorter than the limit%s", NULL);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_uint(struct loader *l, json_t *obj, const char *key, unsigned max, unsigned *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return fail(l, key, "missing%s", NULL);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return fail(l, key, "must be an integer in range%s", NULL);
    *out = (unsigned)json_integer_value(v);
    return 0;
}

static int get_name_list(struct loader *l, json_t *obj, const char *key, char list[][PA_NAME_MAX],
                         size_t *n)
{
    json_t *arr = json_object_get(obj, key);
    *n = 0;
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > PA_HASH_ORDER_MAX)
        return fail(l, key, "must be an array of at most 16 names%s", NULL);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) >= PA_NAME_MAX)
            return fail(l, key, "entries must be non-empty strings%s", NULL);
        memcpy(list[i], json_string_value(v), json_string_length(v) + 1);
    }
    *n = json_array_size(arr);
    return 0;
}

/* Finds the path of `name` in a list of {"name","path"} entries. */
static const char *find_entry(struct loader *l, const char *list, const char *name)
{
    json_t *arr = json_object_get(l->root, list);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        json_t *n = json_object_get(e, "name");
        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
            return json_string_value(json_object_get(e, "path"));
    }
    return NULL;
}

static int check_entries(struct loader *l, const char *list)
{
    static const char *const keys[] = {"name", "path", NULL};
    json_t *arr = json_object_get(l->root, list);
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return fail(l, list, "must be an array of {name, path}%s", NULL);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        char where[64];
        snprintf(where, sizeof(where), "%s[%zu]", list, i);
        if (!json_is_object(e) || !json_is_string(json_object_get(e, "name")) ||
            !json_is_string(json_object_get(e, "path")))
            return fail(l, where, "must be {\"name\": string, \"path\": string}%s", NULL);
        if (check_keys(l, e, where, keys) != 0)
            return -1;
    }
    return 0;
}

static void resolve_path(const struct loader *l, const char *path, char *out, size_t cap)
{
    if (path[0] == '/')
        snprintf(out, cap, "%s", path);
    else
        snprintf(out, cap, "%s/%s", l->dir, path);
}

static const char *attribute(struct loader *l, const char *name)
{
    json_t *v = json_object_get(json_object_get(l->root, "attributes"), name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Reads a PEM object of the list entry named by attribute `attr` (or directly by `name`). */
static void *load_pem(struct loader *l, const char *list, const char *name, const char *why,
                      int kind, bool required)
{
    const char *path = find_entry(l, list, name);
    if (path == NULL) {
        if (required) {
            char key[160];
            snprintf(key, sizeof(key), "%s \"%s\"", list, name);
            fail(l, key, "missing (needed for %s)", why);
        }
        return NULL;
    }
    char full[1024];
    resolve_path(l, path, full, sizeof(full));
    FILE *f = fopen(full, "r");
    void *obj = NULL;
    if (f != NULL) {
        if (kind == 0)
            obj = PEM_read_X509(f, NULL, NULL, NULL);
        else if (kind == 1)
            obj = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        else
            obj = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (obj == NULL) {
        char key[160];
        snprintf(key, sizeof(key), "%s \"%s\"", list, name);
        fail(l, key, "cannot read a PEM %s",
             kind == 0   ? "certificate"
             : kind == 1 ? "private key"
                         : "public key");
        ft_error_prefix(l->err, "%s", full);
    }
    return obj;
}

static int load_seed(struct loader *l, const char *attr, struct pa_seed *seed, bool required)
{
    const char *label = attribute(l, attr);
    if (label == NULL)
        return required ? fail(l, "attributes", "missing %s", attr) : 0;
    const char *path = find_entry(l, "symmetric_keys", label);
    if (path == NULL)
        return fail(l, "symmetric_keys", "no entry named by attribute %s", attr);
    char full[1024];
    resolve_path(l, path, full, sizeof(full));
    FILE *f = fopen(full, "rb");
    size_t n = f ? fread(seed->bytes, 1, sizeof(seed->bytes) + 1, f) : 0;
    if (f)
        fclose(f);
    if (f == NULL || n < 16 || n > sizeof(seed->bytes))
        return ft_fail(l->err, FT_E_INVALID, "%s: seed %s: must hold 16..%zu bytes", full, label,
                       sizeof(seed->bytes));
    seed->len = n;
    return 0;
}

static int load_materials(struct loader *l, struct pa_sku *sku)
{
    const char *dice_label = attribute(l, "SigningKey/Dice/v0");
    const char *ext_label = attribute(l, "SigningKey/Ext/v0");
    const char *id_label = attribute(l, "SigningKey/Identity/v0");
    const char *wrap_label = attribute(l, "WrappingKeyLabel");
    if (dice_label == NULL || id_label == NULL || wrap_label == NULL)
        return fail(l, "attributes",
                    "SigningKey/Dice/v0, SigningKey/Identity/v0 and WrappingKeyLabel are "
                    "required%s",
                    NULL);
    if ((sku->root_ca = load_pem(l, "certs", "RootCA", "chain checks", 0, true)) == NULL ||
        (sku->dice_ica = load_pem(l, "certs", "SigningKey/Dice/v0", "UDS endorsement", 0, true)) ==
            NULL ||
        (sku->dice_key = load_pem(l, "private_keys", dice_label, "UDS endorsement", 1, true)) ==
            NULL ||
        (sku->identity_key = load_pem(l, "private_keys", id_label, "registry records", 1, true)) ==
            NULL ||
        (sku->rma_wrap_key =
             load_pem(l, "public_keys", wrap_label, "RMA seed wrapping", 2, true)) == NULL)
        return -1;
    if (ext_label != NULL) {
        if ((sku->ext_ica =
                 load_pem(l, "certs", "SigningKey/Ext/v0", "ext endorsement", 0, true)) == NULL ||
            (sku->ext_key = load_pem(l, "private_keys", ext_label, "ext endorsement", 1, true)) ==
                NULL)
            return -1;
    }
    if (load_seed(l, "SeedSecHi", &sku->seed_hi, true) != 0 ||
        load_seed(l, "SeedSecLo", &sku->seed_lo, true) != 0 ||
        load_seed(l, "WASKeyLabel", &sku->was_seed, true) != 0)
        return -1;
    return 0;
}

static int load_attributes(struct loader *l, struct pa_sku *sku)
{
    static const char *const known[] = {"SeedSecHi",
                                        "SeedSecLo",
                                        "WASKeyLabel",
                                        "WASDisable",
                                        "WrappingMechanism",
                                        "WrappingKeyLabel",
                                        "SigningKey/Dice/v0",
                                        "SigningKey/Ext/v0",
                                        "SigningKey/Identity/v0",
                                        "CertChainDiceLeaf",
                                        "OwnerFirmwareBootMessage",
                                        NULL};
    json_t *attrs = json_object_get(l->root, "attributes");
    if (!json_is_object(attrs))
        return fail(l, "attributes", "must be an object of strings%s", NULL);
    if (check_keys(l, attrs, "attributes", known) != 0)
        return -1;
    const char *key;
    json_t *v;
    json_object_foreach(attrs, key, v)
    {
        if (!json_is_string(v))
            return fail(l, "attributes", "%s must be a string", key);
    }
    const char *was_disable = attribute(l, "WASDisable");
    if (was_disable && strcmp(was_disable, "true") != 0 && strcmp(was_disable, "false") != 0)
        return fail(l, "attributes.WASDisable", "must be \"true\" or \"false\"%s", NULL);
    sku->was_disable = was_disable && strcmp(was_disable, "true") == 0;
    const char *wrap = attribute(l, "WrappingMechanism");
    if (wrap == NULL || (strcmp(wrap, "RsaOaep") != 0 && strcmp(wrap, "RsaPkcs") != 0))
        return fail(l, "attributes.WrappingMechanism", "must be RsaOaep or RsaPkcs%s", NULL);
    sku->wrap_oaep = strcmp(wrap, "RsaOaep") == 0;
    const char *leaf = attribute(l, "CertChainDiceLeaf");
    snprintf(sku->dice_leaf, sizeof(sku->dice_leaf), "%s", leaf ? leaf : "CDI_1");
    const char *msg = attribute(l, "OwnerFirmwareBootMessage");
    snprintf(sku->owner_fw_boot_message, sizeof(sku->owner_fw_boot_message), "%s", msg ? msg : "");
    return 0;
}

bool pa_sku_name_valid(const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;
    if (len == 0 || len >= PA_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

int pa_sku_load(const char *dir, const char *name, struct pa_sku *sku, struct ft_error *err)
{
    static const char *const keys[] = {"sku",
                                       "cert_count_x509",
                                       "cert_count_cwt",
                                       "symmetric_keys",
                                       "private_keys",
                                       "public_keys",
                                       "certs",
                                       "attributes",
                                       "x509_cert_hash_order",
                                       "cwt_cert_hash_order",
                                       NULL};
    memset(sku, 0, sizeof(*sku));
    if (!pa_sku_name_valid(name))
        return ft_fail(err, FT_E_INVALID,
                       "SKU name \"%.64s\" is not 1 to %u characters of [a-z0-9_]", name,
                       PA_NAME_MAX - 1);
    struct loader l = {.dir = dir, .err = err};
    char file[PA_NAME_MAX + 16];
    snprintf(file, sizeof(file), "sku_%s.json", name);
    if ((l.root = load_json(&l, file)) == NULL)
        return -1;
    int rc = -1;
    if (check_keys(&l, l.root, "", keys) != 0 ||
        get_string(&l, l.root, "sku", sku->name, sizeof(sku->name), true) != 0 ||
        get_uint(&l, l.root, "cert_count_x509", 64, &sku->cert_count_x509) != 0 ||
        get_uint(&l, l.root, "cert_count_cwt", 64, &sku->cert_count_cwt) != 0 ||
        get_name_list(&l, l.root, "x509_cert_hash_order", sku->x509_hash_order,
                      &sku->n_x509_hash_order) != 0 ||
        get_name_list(&l, l.root, "cwt_cert_hash_order", sku->cwt_hash_order,
                      &sku->n_cwt_hash_order) != 0 ||
        check_entries(&l, "symmetric_keys") != 0 || check_entries(&l, "private_keys") != 0 ||
        check_entries(&l, "public_keys") != 0 || check_entries(&l, "certs") != 0 ||
        load_attributes(&l, sku) != 0 || load_materials(&l, sku) != 0)
        goto done;
    if (strcmp(sku->name, name) != 0) {
        fail(&l, "sku", "does not match the file name%s", NULL);
        goto done;
    }
    rc = 0;
done:
    json_decref(l.root);
    if (rc != 0)
        pa_sku_free(sku);
    return rc;
}

void pa_sku_free(struct pa_sku *sku)
{
    X509_free(sku->root_ca);
    X509_free(sku->dice_ica);
    X509_free(sku->ext_ica);
    EVP_PKEY_free(sku->dice_key);
    EVP_PKEY_free(sku->ext_key);
    EVP_PKEY_free(sku->identity_key);
    EVP_PKEY_free(sku->rma_wrap_key);
    OPENSSL_cleanse(sku, sizeof(*sku));
}

int pa_auth_table_load(const char *dir, struct pa_auth_table *table, struct ft_error *err)
{
    static const char *const top[] = {"sku_auth_cfg_list", NULL};
    static const char *const entry_keys[] = {"sku_auth", "methods", NULL};
    memset(table, 0, sizeof(*table));
    struct loader l = {.dir = dir, .err = err};
    if ((l.root = load_json(&l, "sku_auth.json")) == NULL)
        return -1;
    int rc = -1;
    json_t *list = json_object_get(l.root, "sku_auth_cfg_list");
    if (check_keys(&l, l.root, "", top) != 0)
        goto done;
    if (!json_is_object(list)) {
        fail(&l, "sku_auth_cfg_list", "must be an object keyed by SKU%s", NULL);
        goto done;
    }
    table->entries = calloc(json_object_size(list) + 1, sizeof(*table->entries));
    if (table->entries == NULL) {
        ft_fail(err, FT_E_NOMEM, "out of memory");
        goto done;
    }
    const char *sku;
    json_t *e;
    json_object_foreach(list, sku, e)
    {
        struct pa_auth_entry *out = &table->entries[table->count];
        char where[128];
        snprintf(where, sizeof(where), "sku_auth_cfg_list.%.64s", sku);
        if (!json_is_object(e) || check_keys(&l, e, where, entry_keys) != 0 ||
            strlen(sku) >= sizeof(out->sku) ||
            get_string(&l, e, "sku_auth", out->hash, sizeof(out->hash), true) != 0 ||
            get_name_list(&l, e, "methods", out->methods, &out->n_methods) != 0) {
            if (l.err && l.err->code == FT_OK)
                fail(&l, where, "malformed entry%s", NULL);
            goto done;
        }
        snprintf(out->sku, sizeof(out->sku), "%s", sku);
        table->count++;
    }
    rc = 0;
done:
    json_decref(l.root);
    if (rc != 0)
        pa_auth_table_free(table);
    return rc;
}

void pa_auth_table_free(struct pa_auth_table *table)
{
    if (table->entries != NULL)
        OPENSSL_cleanse(table->entries, table->count * sizeof(*table->entries));
    free(table->entries);
    table->entries = NULL;
    table->count = 0;
}

const struct pa_auth_entry *pa_auth_lookup(const struct pa_auth_table *table, const char *sku)
{
    const struct pa_auth_entry *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < table->count; i++) {
        const struct pa_auth_entry *e = &table->entries[i];
        size_t n = strlen(e->sku);
        if (strcmp(e->sku, sku) == 0)
            return e;
        if (strncmp(e->sku, sku, n) == 0 && n > best_len) {
            best = e;
            best_len = n;
        }
    }
    return best;
}
