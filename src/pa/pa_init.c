#include "pa/pa_init.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"
#include "pa/pa_auth.h"
#include "pa/pa_sku.h"

#define PATH_LEN 1024

struct ca {
    EVP_PKEY *key;
    X509 *cert;
};

/* Creates `path` with exactly `mode` (0600 for secrets), whatever the umask, and hands it
 * to fopen. */
static FILE *create_file(const char *path, mode_t mode, struct ft_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    FILE *f = fd >= 0 && fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        ft_fail(err, FT_E_INVALID, "%s: %s", path, strerror(errno));
    }
    return f;
}

static int close_file(FILE *f, const char *path, int ok, struct ft_error *err)
{
    if (fclose(f) != 0 || !ok)
        return ft_fail(err, FT_E_INVALID, "%s: write failed", path);
    return 0;
}

/* Creates `path` and its parents; the last one gets exactly `mode`. */
static int mkdir_p(const char *path, mode_t mode, struct ft_error *err)
{
    char tmp[PATH_LEN];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return ft_fail(err, FT_E_INVALID, "%s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if ((mkdir(tmp, mode) != 0 && errno != EEXIST) || chmod(tmp, mode) != 0)
        return ft_fail(err, FT_E_INVALID, "%s: %s", tmp, strerror(errno));
    return 0;
}

/* Writes `root` to `path` atomically (a temporary file of `mode`, then rename). */
static int write_json(const char *path, json_t *root, mode_t mode, struct ft_error *err)
{
    char tmp[PATH_LEN + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = create_file(tmp, mode, err);
    if (f == NULL)
        return -1;
    int ok =
        json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 && fputc('\n', f) != EOF;
    if (close_file(f, tmp, ok, err) != 0) {
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ft_fail(err, FT_E_INVALID, "%s: %s", path, strerror(e));
    }
    return 0;
}

/* Parses "/C=US/O=x/CN=y" into a Name, with the string types the device uses. */
static X509_NAME *parse_dn(const char *dn, struct ft_error *err)
{
    X509_NAME *name = X509_NAME_new();
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", dn);
    if (name == NULL || copy[0] != '/') {
        X509_NAME_free(name);
        ft_fail(err, FT_E_INVALID, "DN \"%s\" must start with '/'", dn);
        return NULL;
    }
    char *save;
    for (char *tok = strtok_r(copy + 1, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL || eq == tok || eq[1] == '\0') {
            X509_NAME_free(name);
            ft_fail(err, FT_E_INVALID, "DN \"%s\": component \"%s\" is not KEY=VALUE", dn, tok);
            return NULL;
        }
        *eq = '\0';
        int type = strcmp(tok, "C") == 0 || strcmp(tok, "serialNumber") == 0
                       ? V_ASN1_PRINTABLESTRING
                       : V_ASN1_UTF8STRING;
        if (!X509_NAME_add_entry_by_txt(name, tok, type, (unsigned char *)eq + 1, -1, -1, 0)) {
            X509_NAME_free(name);
            ft_fail(err, FT_E_INVALID, "DN \"%s\": unknown attribute \"%s\"", dn, tok);
            return NULL;
        }
    }
    return name;
}

static int add_ext(X509 *cert, X509 *issuer, const char *name, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf(NULL, &ctx, name, value);
    int ok = ext != NULL && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Makes a CA certificate for `key` under `issuer` (NULL: self-signed). */
static int make_ca(struct ca *ca, const char *dn, const struct ca *issuer, long serial,
                   struct ft_error *err)
{
    X509_NAME *name = parse_dn(dn, err);
    if (name == NULL)
        return -1;
    ca->key = EVP_EC_gen("P-256");
    ca->cert = X509_new();
    X509 *issuer_cert = issuer ? issuer->cert : ca->cert;
    EVP_PKEY *issuer_key = issuer ? issuer->key : ca->key;
    int ok = ca->key && ca->cert && X509_set_version(ca->cert, 2) &&
             ASN1_INTEGER_set(X509_get_serialNumber(ca->cert), serial) &&
             X509_set_subject_name(ca->cert, name) &&
             X509_set_issuer_name(ca->cert, issuer ? X509_get_subject_name(issuer->cert) : name) &&
             X509_gmtime_adj(X509_getm_notBefore(ca->cert), -24L * 3600) &&
             X509_gmtime_adj(X509_getm_notAfter(ca->cert), 20L * 365 * 24 * 3600) &&
             X509_set_pubkey(ca->cert, ca->key) &&
             add_ext(ca->cert, issuer_cert, "basicConstraints", "critical,CA:TRUE") &&
             add_ext(ca->cert, issuer_cert, "keyUsage", "critical,keyCertSign,cRLSign") &&
             add_ext(ca->cert, issuer_cert, "subjectKeyIdentifier", "hash") &&
             (issuer == NULL ||
              add_ext(ca->cert, issuer_cert, "authorityKeyIdentifier", "keyid:always")) &&
             X509_sign(ca->cert, issuer_key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    return ok ? 0 : ft_fail(err, FT_E_INVALID, "cannot create the CA certificate for \"%s\"", dn);
}

static void free_ca(struct ca *ca)
{
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
}

static int write_cert(const char *path, X509 *cert, struct ft_error *err)
{
    FILE *f = create_file(path, 0644, err);
    return f ? close_file(f, path, PEM_write_X509(f, cert), err) : -1;
}

static int write_key(const char *path, EVP_PKEY *key, bool private_part, struct ft_error *err)
{
    FILE *f = create_file(path, private_part ? 0600 : 0644, err);
    if (f == NULL)
        return -1;
    int ok = private_part ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_PUBKEY(f, key);
    return close_file(f, path, ok, err);
}

static int write_secret(const char *path, const void *data, size_t len, struct ft_error *err)
{
    FILE *f = create_file(path, 0600, err);
    return f ? close_file(f, path, fwrite(data, 1, len, f) == len, err) : -1;
}

static void sub_path(char *out, const struct pa_init_options *o, const char *leaf)
{
    snprintf(out, PATH_LEN, "%s/%s/%s", o->dir, o->sku, leaf);
}

/* Adds {"name", "path"} with a path relative to the config dir. */
static void add_entry(json_t *list, const struct pa_init_options *o, const char *name,
                      const char *leaf)
{
    char rel[PATH_LEN];
    snprintf(rel, sizeof(rel), "%s/%s", o->sku, leaf);
    json_array_append_new(list, json_pack("{s:s, s:s}", "name", name, "path", rel));
}

static int write_sku_json(const struct pa_init_options *o, struct ft_error *err)
{
    char dice_label[128], ext_label[128];
    snprintf(dice_label, sizeof(dice_label), "%s-dice-key-p256-v0.priv", o->sku);
    snprintf(ext_label, sizeof(ext_label), "%s-ica-ext-key-p256-v0.priv", o->sku);
    json_t *sym = json_array(), *priv = json_array(), *pub = json_array(), *certs = json_array();
    add_entry(sym, o, "eg-kdf-hisec-v0", "keys/seed-hisec.bin");
    add_entry(sym, o, "eg-kdf-losec-v0", "keys/seed-losec.bin");
    add_entry(priv, o, dice_label, "keys/dice-ica.key.pem");
    add_entry(priv, o, "spm-hsm-id-v0.priv", "keys/identity.key.pem");
    add_entry(pub, o, "sku-eg-rsa-rma-v0.pub", "keys/rma-wrap.pub.pem");
    add_entry(certs, o, "RootCA", "ca/root.pem");
    add_entry(certs, o, "SigningKey/Dice/v0", "ca/dice-ica.pem");
    json_t *attrs = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "SeedSecHi", "eg-kdf-hisec-v0",
        "SeedSecLo", "eg-kdf-losec-v0", "WASKeyLabel", "eg-kdf-hisec-v0", "WASDisable", "false",
        "WrappingMechanism", "RsaOaep", "WrappingKeyLabel", "sku-eg-rsa-rma-v0.pub",
        "SigningKey/Dice/v0", dice_label, "SigningKey/Identity/v0", "spm-hsm-id-v0.priv",
        "CertChainDiceLeaf", "CDI_1", "OwnerFirmwareBootMessage",
        o->boot_message ? o->boot_message : "ownership: OWND");
    if (o->ext_subject != NULL) {
        add_entry(priv, o, ext_label, "keys/ext-ica.key.pem");
        add_entry(certs, o, "SigningKey/Ext/v0", "ca/ext-ica.pem");
        json_object_set_new(attrs, "SigningKey/Ext/v0", json_string(ext_label));
    }
    json_t *order = json_array();
    for (size_t i = 0; i < o->n_hash_order; i++)
        json_array_append_new(order, json_string(o->hash_order[i]));
    json_t *root =
        json_pack("{s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:[]}", "sku", o->sku,
                  "cert_count_x509", (int)o->n_hash_order, "cert_count_cwt", 0, "symmetric_keys",
                  sym, "private_keys", priv, "public_keys", pub, "certs", certs, "attributes",
                  attrs, "x509_cert_hash_order", order, "cwt_cert_hash_order");
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "%s/sku_%s.json", o->dir, o->sku);
    int rc = root ? write_json(path, root, 0600, err)
                  : ft_fail(err, FT_E_INVALID, "%s: cannot build the SKU configuration", path);
    json_decref(root);
    return rc;
}

/* Adds or replaces this SKU's entry in DIR/sku_auth.json, keeping the others. */
static int write_auth(const struct pa_init_options *o, const char *hash, struct ft_error *err)
{
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "%s/sku_auth.json", o->dir);
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    if (root == NULL)
        root = json_pack("{s:{}}", "sku_auth_cfg_list");
    json_t *list = json_object_get(root, "sku_auth_cfg_list");
    if (!json_is_object(list)) {
        json_decref(root);
        return ft_fail(err, FT_E_INVALID, "%s: existing file has no sku_auth_cfg_list object",
                       path);
    }
    json_object_set_new(list, o->sku,
                        json_pack("{s:s, s:[s,s,s,s,s,s]}", "sku_auth", hash, "methods",
                                  "DeriveTokens", "GetCaSubjectKeys", "EndorseCerts", "GetCaCerts",
                                  "GetOwnerFwBootMessage", "RegisterDevice"));
    int rc = write_json(path, root, 0600, err);
    json_decref(root);
    return rc;
}

static int random_password(char *out, size_t len, struct ft_error *err)
{
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    uint8_t raw[64];
    if (len > sizeof(raw) || RAND_bytes(raw, (int)len) != 1)
        return ft_fail(err, FT_E_INVALID, "cannot draw random bytes");
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[raw[i] % (sizeof(alphabet) -
                                    1)]; /* bias is irrelevant for 24 chars of a dev password */
    out[len] = '\0';
    return 0;
}

static int write_keys_and_seeds(const struct pa_init_options *o, struct ft_error *err)
{
    char path[PATH_LEN];
    EVP_PKEY *identity = EVP_EC_gen("P-256");
    EVP_PKEY *rma = EVP_RSA_gen(3072);
    uint8_t hi[32], lo[32];
    int rc = -1;
    if (identity == NULL || rma == NULL || RAND_bytes(hi, 32) != 1 || RAND_bytes(lo, 32) != 1) {
        ft_fail(err, FT_E_INVALID, "cannot generate keys");
        goto done;
    }
    sub_path(path, o, "keys/identity.key.pem");
    if (write_key(path, identity, true, err) != 0)
        goto done;
    sub_path(path, o, "keys/rma-wrap.key.pem"); /* kept for unwrapping in tests and RMA */
    if (write_key(path, rma, true, err) != 0)
        goto done;
    sub_path(path, o, "keys/rma-wrap.pub.pem");
    if (write_key(path, rma, false, err) != 0)
        goto done;
    sub_path(path, o, "keys/seed-hisec.bin");
    if (write_secret(path, hi, sizeof(hi), err) != 0)
        goto done;
    sub_path(path, o, "keys/seed-losec.bin");
    if (write_secret(path, lo, sizeof(lo), err) != 0)
        goto done;
    /* The WAS seed (WASKeyLabel = the high-security seed) in hex, for ftsim --was-seed. */
    char hex[65];
    hex_encode(hi, sizeof(hi), hex, sizeof(hex), NULL);
    hex[64] = '\n';
    sub_path(path, o, "was-seed.hex");
    rc = write_secret(path, hex, sizeof(hex), err);
done:
    OPENSSL_cleanse(hi, sizeof(hi));
    OPENSSL_cleanse(lo, sizeof(lo));
    EVP_PKEY_free(identity);
    EVP_PKEY_free(rma);
    return rc;
}

static int write_pki(const struct pa_init_options *o, struct ft_error *err)
{
    struct ca root = {0}, dice = {0}, ext = {0};
    char path[PATH_LEN];
    int rc = -1;
    if (make_ca(&root, o->root_subject, NULL, 1, err) != 0 ||
        make_ca(&dice, o->dice_subject, &root, 2, err) != 0 ||
        (o->ext_subject && make_ca(&ext, o->ext_subject, &root, 3, err) != 0))
        goto done;
    sub_path(path, o, "ca/root.pem");
    if (write_cert(path, root.cert, err) != 0)
        goto done;
    sub_path(path, o, "ca/dice-ica.pem");
    if (write_cert(path, dice.cert, err) != 0)
        goto done;
    sub_path(path, o, "keys/dice-ica.key.pem");
    if (write_key(path, dice.key, true, err) != 0)
        goto done;
    if (o->ext_subject) {
        sub_path(path, o, "ca/ext-ica.pem");
        if (write_cert(path, ext.cert, err) != 0)
            goto done;
        sub_path(path, o, "keys/ext-ica.key.pem");
        if (write_key(path, ext.key, true, err) != 0)
            goto done;
    }
    rc = 0;
done:
    free_ca(&root);
    free_ca(&dice);
    free_ca(&ext);
    return rc;
}

/* A second init of a SKU would replace the CA, seeds and password that stations and
 * chips already use: only on request. */
static int check_not_configured(const struct pa_init_options *o, struct ft_error *err)
{
    char json[PATH_LEN], dir[PATH_LEN];
    snprintf(json, sizeof(json), "%s/sku_%s.json", o->dir, o->sku);
    snprintf(dir, sizeof(dir), "%s/%s", o->dir, o->sku);
    struct stat st;
    const char *found = stat(json, &st) == 0 ? json : stat(dir, &st) == 0 ? dir : NULL;
    if (found == NULL || o->force)
        return 0;
    return ft_fail(err, FT_E_INVALID,
                   "ftpa init: SKU \"%s\" is already configured (%s exists); --force replaces "
                   "its CA, keys, seeds and password, and every station and chip using them",
                   o->sku, found);
}

int pa_init_sku(const struct pa_init_options *o, struct ft_error *err)
{
    if (!pa_sku_name_valid(o->sku))
        return ft_fail(err, FT_E_INVALID,
                       "ftpa init: SKU name \"%s\" is not 1 to %u characters of [a-z0-9_]",
                       o->sku ? o->sku : "", PA_NAME_MAX - 1);
    if (o->n_hash_order == 0)
        return ft_fail(err, FT_E_INVALID, "ftpa init: the cert hash order is empty");
    if (check_not_configured(o, err) != 0)
        return -1;
    char path[PATH_LEN];
    if (mkdir_p(o->dir, 0755, err) != 0)
        return -1;
    sub_path(path, o, "");
    if (mkdir_p(path, 0755, err) != 0)
        return -1;
    sub_path(path, o, "ca");
    if (mkdir_p(path, 0755, err) != 0)
        return -1;
    sub_path(path, o, "keys");
    if (mkdir_p(path, 0700, err) != 0 || write_pki(o, err) != 0 ||
        write_keys_and_seeds(o, err) != 0)
        return -1;

    char generated[25];
    const char *password = o->password;
    if (password == NULL) {
        if (random_password(generated, 24, err) != 0)
            return -1;
        char line[26];
        snprintf(line, sizeof(line), "%s\n", generated);
        sub_path(path, o, "password");
        if (write_secret(path, line, strlen(line), err) != 0)
            return -1;
        password = generated;
    }
    char hash[128];
    if (pa_password_hash(password, hash, sizeof(hash), err) != 0)
        return -1;
    OPENSSL_cleanse(generated, sizeof(generated));
    return write_sku_json(o, err) == 0 && write_auth(o, hash, err) == 0 ? 0 : -1;
}
