/* pa/pa_sku and pa/pa_init: `ftpa init` writes a configuration that pa_sku_load reads
 * back; every file gets its mode whatever the umask; an existing SKU is not replaced
 * without force; names are [a-z0-9_]+; every SKU-file error names the file, the key and
 * the reason.
 *
 * One SKU is initialised once (RSA-3072 key generation is slow) under umask 0 in
 * TEST_TMP/pa_sku/base; the parser tests load edited copies of its sku_<name>.json from
 * their own directories, which reach the key files through a symlink. */
#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pa/pa_auth.h"
#include "pa/pa_init.h"
#include "pa/pa_sku.h"
#include "testutil.h"

#define SKU "unit_sku"
#define PASSWORD "unit-password"

static char base[512];

static void path_in(char *out, size_t cap, const char *dir, const char *leaf)
{
    snprintf(out, cap, "%s/%s", dir, leaf);
}

static struct pa_init_options init_options(const char *dir)
{
    struct pa_init_options o = {
        .dir = dir,
        .sku = SKU,
        .root_subject = "/C=US/O=OpenTitan/CN=unit root",
        .dice_subject = "/C=US/O=OpenTitan/CN=unit DICE ICA",
        .ext_subject = "/C=US/O=OpenTitan/CN=unit EXT ICA",
        .password = PASSWORD,
        .hash_order = {"UDS", "CDI_0", "CDI_1", "TPM EK"},
        .n_hash_order = 4,
    };
    return o;
}

static void rm_rf(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Runs once before the suite: the shared SKU, created with umask 0. */
static void make_base(void)
{
    const char *tmp = getenv("TEST_TMP");
    snprintf(base, sizeof(base), "%s/pa_sku/base", tmp ? tmp : ".");
    char parent[520];
    snprintf(parent, sizeof(parent), "%s/pa_sku", tmp ? tmp : ".");
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", parent);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot clear %s\n", parent);
        exit(EXIT_FAILURE);
    }
    mode_t old = umask(0);
    struct pa_init_options o = init_options(base);
    struct ft_error err = {0};
    int rc = pa_init_sku(&o, &err);
    umask(old);
    if (rc != 0) {
        fprintf(stderr, "pa_init_sku: %s\n", err.message);
        exit(EXIT_FAILURE);
    }
}

static mode_t mode_of(const char *leaf)
{
    char path[700];
    path_in(path, sizeof(path), base, leaf);
    struct stat st;
    ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

/* ---- ftpa init ------------------------------------------------------------------------- */

START_TEST(init_then_load_round_trips)
{
    struct pa_sku sku;
    struct ft_error err = {0};
    ck_assert_ok(pa_sku_load(base, SKU, &sku, &err), err);
    ck_assert_str_eq(sku.name, SKU);
    ck_assert_uint_eq(sku.cert_count_x509, 4);
    ck_assert_uint_eq(sku.n_x509_hash_order, 4);
    ck_assert_str_eq(sku.x509_hash_order[3], "TPM EK");
    ck_assert_ptr_nonnull(sku.root_ca);
    ck_assert_ptr_nonnull(sku.dice_ica);
    ck_assert_ptr_nonnull(sku.ext_ica);
    ck_assert_ptr_nonnull(sku.dice_key);
    ck_assert_ptr_nonnull(sku.ext_key);
    ck_assert_ptr_nonnull(sku.identity_key);
    ck_assert_ptr_nonnull(sku.rma_wrap_key);
    ck_assert_uint_eq(sku.seed_hi.len, 32);
    ck_assert_uint_eq(sku.seed_lo.len, 32);
    ck_assert_mem_eq(sku.was_seed.bytes, sku.seed_hi.bytes, 32);
    ck_assert(sku.wrap_oaep);
    ck_assert(!sku.was_disable);
    ck_assert_str_eq(sku.dice_leaf, "CDI_1");
    /* The ICAs chain to the root. */
    ck_assert_int_eq(X509_verify(sku.dice_ica, X509_get0_pubkey(sku.root_ca)), 1);
    ck_assert_int_eq(X509_verify(sku.ext_ica, X509_get0_pubkey(sku.root_ca)), 1);
    pa_sku_free(&sku);

    struct pa_auth_table table;
    ck_assert_ok(pa_auth_table_load(base, &table, &err), err);
    const struct pa_auth_entry *e = pa_auth_lookup(&table, SKU);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(pa_password_check(PASSWORD, e->hash, &err), 1);
    ck_assert_int_eq(pa_password_check("wrong", e->hash, &err), 0);
    pa_auth_table_free(&table);
}
END_TEST

START_TEST(init_sets_every_mode_whatever_the_umask)
{
    static const struct {
        const char *leaf;
        mode_t mode;
    } want[] = {
        {"sku_" SKU ".json", 0600},
        {"sku_auth.json", 0600},
        {SKU "/keys", 0700},
        {SKU "/keys/dice-ica.key.pem", 0600},
        {SKU "/keys/ext-ica.key.pem", 0600},
        {SKU "/keys/identity.key.pem", 0600},
        {SKU "/keys/rma-wrap.key.pem", 0600},
        {SKU "/keys/seed-hisec.bin", 0600},
        {SKU "/keys/seed-losec.bin", 0600},
        {SKU "/was-seed.hex", 0600},
        {SKU "/keys/rma-wrap.pub.pem", 0644},
        {SKU "/ca", 0755},
        {SKU "/ca/root.pem", 0644},
        {SKU "/ca/dice-ica.pem", 0644},
        {SKU "/ca/ext-ica.pem", 0644},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(mode_of(want[i].leaf) == want[i].mode, "%s: mode %04o, expected %04o",
                      want[i].leaf, (unsigned)mode_of(want[i].leaf), (unsigned)want[i].mode);
}
END_TEST

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    char *buf = calloc(1, 1 << 16);
    ck_assert_ptr_nonnull(buf);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(init_refuses_to_replace_a_configured_sku)
{
    char dir[600], root_pem[700];
    snprintf(dir, sizeof(dir), "%s/../replace", base);
    struct pa_init_options o = init_options(dir);
    o.ext_subject = NULL;
    struct ft_error err = {0};
    ck_assert_ok(pa_init_sku(&o, &err), err);
    path_in(root_pem, sizeof(root_pem), dir, SKU "/ca/root.pem");
    char *before = read_text(root_pem);

    ck_assert_int_ne(pa_init_sku(&o, &err), 0);
    ck_assert_error(err, FT_E_INVALID, "is already configured");
    ck_assert_msg(strstr(err.message, "sku_" SKU ".json") != NULL, "%s", err.message);
    ck_assert_msg(strstr(err.message, "--force") != NULL, "%s", err.message);
    char *after = read_text(root_pem);
    ck_assert_str_eq(before, after); /* nothing was touched */
    free(after);

    /* The SKU directory alone (a half-written earlier init) also counts. */
    char json[700];
    path_in(json, sizeof(json), dir, "sku_" SKU ".json");
    ck_assert_int_eq(unlink(json), 0);
    ft_error_clear(&err);
    ck_assert_int_ne(pa_init_sku(&o, &err), 0);
    ck_assert_error(err, FT_E_INVALID, "is already configured");

    o.force = true;
    ft_error_clear(&err);
    ck_assert_ok(pa_init_sku(&o, &err), err);
    after = read_text(root_pem);
    ck_assert_str_ne(before, after); /* a new root CA */
    free(after);
    free(before);
}
END_TEST

START_TEST(sku_names_are_checked)
{
    static const char *const bad[] = {"",      "bad name!", "Sival", "a/b",  "../x",
                                      "sku-1", "sku.json",  "é",     "a\nb", NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        ck_assert_msg(!pa_sku_name_valid(bad[i]), "\"%s\" accepted", bad[i]);
        char dir[600];
        snprintf(dir, sizeof(dir), "%s/../names", base);
        struct pa_init_options o = init_options(dir);
        o.sku = bad[i];
        struct ft_error err = {0};
        ck_assert_int_ne(pa_init_sku(&o, &err), 0);
        ck_assert_error(err, FT_E_INVALID, "[a-z0-9_]");
    }
    char longest[PA_NAME_MAX];
    memset(longest, 'a', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    ck_assert(pa_sku_name_valid(longest));
    char too_long[PA_NAME_MAX + 1];
    memset(too_long, 'a', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    ck_assert(!pa_sku_name_valid(too_long));
    ck_assert(pa_sku_name_valid("sival"));
    ck_assert(pa_sku_name_valid("emulation_tpm_v1"));

    struct pa_sku sku;
    struct ft_error err = {0};
    ck_assert_int_ne(pa_sku_load(base, "../base/" SKU, &sku, &err), 0);
    ck_assert_error(err, FT_E_INVALID, "[a-z0-9_]");
}
END_TEST

/* ---- the SKU file parser --------------------------------------------------------------- */

/* Writes an edited copy of the base SKU file into a directory of its own (the key paths
 * resolve through a symlink to the base SKU directory) and loads it; returns the error. */
static struct ft_error load_edited(const char *case_name, void (*edit)(json_t *root))
{
    char dir[600], link[700], target[700], json[700];
    snprintf(dir, sizeof(dir), "%s/../parse-%s", base, case_name);
    rm_rf(dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    path_in(link, sizeof(link), dir, SKU);
    path_in(target, sizeof(target), base, SKU);
    ck_assert_int_eq(symlink(target, link), 0);
    char src[700];
    path_in(src, sizeof(src), base, "sku_" SKU ".json");
    json_t *root = json_load_file(src, 0, NULL);
    ck_assert_ptr_nonnull(root);
    edit(root);
    path_in(json, sizeof(json), dir, "sku_" SKU ".json");
    ck_assert_int_eq(json_dump_file(root, json, JSON_INDENT(1)), 0);
    json_decref(root);

    struct pa_sku sku;
    struct ft_error err = {0};
    int rc = pa_sku_load(dir, SKU, &sku, &err);
    if (rc == 0)
        pa_sku_free(&sku);
    ck_assert_msg(rc != 0 || err.code == FT_OK, "rc 0 with an error set");
    ck_assert_msg(rc == 0 || strstr(err.message, json) != NULL || strstr(err.message, dir) != NULL,
                  "message \"%s\" does not name the file", err.message);
    return err;
}

static void no_edit(json_t *root)
{
    (void)root;
}
static void unknown_top_key(json_t *root)
{
    json_object_set_new(root, "cert_count", json_integer(3));
}
static void unknown_attribute(json_t *root)
{
    json_object_set_new(json_object_get(root, "attributes"), "SeedSecMid", json_string("x"));
}
static void bad_wrapping(json_t *root)
{
    json_object_set_new(json_object_get(root, "attributes"), "WrappingMechanism",
                        json_string("AesGcm"));
}
static void bad_was_disable(json_t *root)
{
    json_object_set_new(json_object_get(root, "attributes"), "WASDisable", json_string("yes"));
}
static void other_sku_name(json_t *root)
{
    json_object_set_new(root, "sku", json_string("sival"));
}
static void no_dice_key(json_t *root)
{
    json_object_del(json_object_get(root, "attributes"), "SigningKey/Dice/v0");
}
static void missing_cert_file(json_t *root)
{
    json_t *certs = json_object_get(root, "certs");
    json_object_set_new(json_array_get(certs, 0), "path", json_string(SKU "/ca/gone.pem"));
}
static void seed_is_a_pem(json_t *root)
{
    json_t *syms = json_object_get(root, "symmetric_keys");
    json_object_set_new(json_array_get(syms, 0), "path", json_string(SKU "/was-seed.hex"));
}
static void count_not_a_number(json_t *root)
{
    json_object_set_new(root, "cert_count_x509", json_string("4"));
}
static void entry_with_extra_key(json_t *root)
{
    json_object_set_new(json_array_get(json_object_get(root, "certs"), 1), "sha256",
                        json_string("00"));
}

START_TEST(parser_names_file_key_and_reason)
{
    static const struct {
        const char *name;
        void (*edit)(json_t *);
        const char *needle;
    } cases[] = {
        {"unknown-key", unknown_top_key, "cert_count: unknown key"},
        {"unknown-attr", unknown_attribute, "attributes.SeedSecMid: unknown key"},
        {"wrapping", bad_wrapping, "attributes.WrappingMechanism: must be RsaOaep or RsaPkcs"},
        {"was-disable", bad_was_disable, "attributes.WASDisable: must be \"true\" or \"false\""},
        {"sku-name", other_sku_name, "sku: does not match the file name"},
        {"dice-key", no_dice_key, "SigningKey/Dice/v0, SigningKey/Identity/v0 and"},
        {"cert-file", missing_cert_file, "certs \"RootCA\": cannot read a PEM certificate"},
        {"seed", seed_is_a_pem, "must hold 16..64 bytes"},
        {"count", count_not_a_number, "cert_count_x509"},
        {"entry-key", entry_with_extra_key, "certs[1].sha256: unknown key"},
    };
    struct ft_error ok = load_edited("unchanged", no_edit);
    ck_assert_msg(ok.code == FT_OK, "unchanged copy: %s", ok.message);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ft_error err = load_edited(cases[i].name, cases[i].edit);
        ck_assert_msg(err.code == FT_E_INVALID, "%s: accepted", cases[i].name);
        ck_assert_msg(strstr(err.message, cases[i].needle) != NULL, "%s: \"%s\" lacks \"%s\"",
                      cases[i].name, err.message, cases[i].needle);
    }
}
END_TEST

START_TEST(parser_reports_json_syntax_and_duplicates)
{
    char dir[600], json[700];
    snprintf(dir, sizeof(dir), "%s/../syntax", base);
    rm_rf(dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    path_in(json, sizeof(json), dir, "sku_" SKU ".json");
    static const struct {
        const char *text;
        const char *needle;
    } cases[] = {
        {"{\"sku\": \"unit_sku\",\n \"sku\": \"unit_sku\"}", "line 2"},
        {"{\"sku\": \n", "line"},
        {"[1, 2]", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(json, "w");
        ck_assert_ptr_nonnull(f);
        fputs(cases[i].text, f);
        fclose(f);
        struct pa_sku sku;
        struct ft_error err = {0};
        ck_assert_int_ne(pa_sku_load(dir, SKU, &sku, &err), 0);
        ck_assert_error(err, FT_E_INVALID, cases[i].needle);
        ck_assert_msg(strstr(err.message, json) != NULL, "%s", err.message);
    }
    struct pa_sku sku;
    struct ft_error err = {0};
    ck_assert_int_ne(pa_sku_load(dir, "absent", &sku, &err), 0);
    ck_assert_error(err, FT_E_INVALID, "sku_absent.json");
}
END_TEST

START_TEST(auth_table_exact_then_longest_prefix)
{
    char dir[600], json[700];
    snprintf(dir, sizeof(dir), "%s/../auth", base);
    rm_rf(dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    path_in(json, sizeof(json), dir, "sku_auth.json");
    FILE *f = fopen(json, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"sku_auth_cfg_list\": {"
          "\"si\": {\"sku_auth\": \"h1\", \"methods\": [\"InitSession\"]},"
          "\"sival\": {\"sku_auth\": \"h2\", \"methods\": []},"
          "\"sival_v1\": {\"sku_auth\": \"h3\"}}}",
          f);
    fclose(f);
    struct pa_auth_table table;
    struct ft_error err = {0};
    ck_assert_ok(pa_auth_table_load(dir, &table, &err), err);
    ck_assert_uint_eq(table.count, 3);
    ck_assert_str_eq(pa_auth_lookup(&table, "sival")->hash, "h2");
    ck_assert_str_eq(pa_auth_lookup(&table, "sival_v1")->hash, "h3");
    ck_assert_str_eq(pa_auth_lookup(&table, "sival_inject")->hash, "h2");
    ck_assert_str_eq(pa_auth_lookup(&table, "sib")->hash, "h1");
    ck_assert_ptr_null(pa_auth_lookup(&table, "emulation"));
    pa_auth_table_free(&table);

    f = fopen(json, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"sku_auth_cfg_list\": {\"sival\": {\"sku_auth\": \"h\", \"role\": \"x\"}}}", f);
    fclose(f);
    ck_assert_int_ne(pa_auth_table_load(dir, &table, &err), 0);
    ck_assert_error(err, FT_E_INVALID, "sku_auth_cfg_list.sival.role: unknown key");
}
END_TEST

static Suite *pa_sku_suite(void)
{
    make_base();
    Suite *s = suite_create("pa_sku");
    TCase *init = tcase_create("init");
    tcase_set_timeout(init, 120);
    tcase_add_test(init, init_then_load_round_trips);
    tcase_add_test(init, init_sets_every_mode_whatever_the_umask);
    tcase_add_test(init, init_refuses_to_replace_a_configured_sku);
    tcase_add_test(init, sku_names_are_checked);
    suite_add_tcase(s, init);
    TCase *parse = tcase_create("parse");
    tcase_set_timeout(parse, 60);
    tcase_add_test(parse, parser_names_file_key_and_reason);
    tcase_add_test(parse, parser_reports_json_syntax_and_duplicates);
    tcase_add_test(parse, auth_table_exact_then_longest_prefix);
    suite_add_tcase(s, parse);
    return s;
}

FT_TEST_MAIN(pa_sku_suite)
