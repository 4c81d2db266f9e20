/* flow/flow_sku: the shipped SKU files load; every malformed one is refused with a message
 * naming the file, the key and the reason. */
#include <stdio.h>

#include "flow/flow_sku.h"
#include "testutil.h"

#define MINIMAL                                                                                    \
    "{\"name\": \"t\", \"firmware\": \"earlgrey-1.0.0\", \"blob_version\": 0, \"certs\": "         \
    "[{\"name\": \"UDS\", \"ca\": \"dice\", \"endorse\": \"host\", \"max_size\": 1024}]"

/* A SKU with a host-endorsed ext certificate, as emulation_tpm (%s: firmware, %d: blob). */
#define TPM_SKU                                                                                    \
    "{\"name\": \"t\", \"firmware\": \"%s\", \"blob_version\": %d, \"certs\": [{\"name\": "        \
    "\"UDS\", "                                                                                    \
    "\"ca\": \"dice\", \"endorse\": \"host\", \"max_size\": 1024}, {\"name\": \"TPM EK\", "        \
    "\"ca\": "                                                                                     \
    "\"ext\", \"endorse\": \"host\", \"max_size\": 1024}]}"

static int parse(const char *text, struct flow_sku *sku, struct ft_error *err)
{
    return flow_sku_parse("/etc/ftharness/skus/t.json", text, strlen(text), sku, err);
}

START_TEST(shipped_skus_load)
{
    static const char *const names[] = {"sival",        "emulation_tpm", "sival_v1",
                                        "sival_inject", "sival_rc17",    "sival_v1_master",
                                        "sival_devseed"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct flow_sku sku;
        struct ft_error err = {0};
        ck_assert_msg(flow_sku_load(SKU_DIR, names[i], &sku, &err) == 0, "%s: %s", names[i],
                      err.message);
        ck_assert_str_eq(sku.name, names[i]);
        ck_assert(flow_sku_find_cert(&sku, "UDS") != NULL);
    }
}
END_TEST

START_TEST(defaults_and_full_form)
{
    struct flow_sku sku;
    struct ft_error err = {0};
    ck_assert_int_eq(parse(MINIMAL "}", &sku, &err), 0);
    ck_assert_str_eq(sku.plugin, "noop");
    ck_assert_uint_eq(sku.timeout_ms[FLOW_WAIT_DEFAULT], 30000);
    ck_assert(!sku.boot_check);
    ck_assert(!sku.benchtop_was);

    const char *full =
        MINIMAL ", \"plugin\": {\"name\": \"inject\", \"config\": \"c=1\", \"inputs\": "
                "[{\"name\": \"cert\", \"path\": \"certs/x.der\"}, {\"name\": \"dot\", \"path\": "
                "\"./y..der\"}]}, \"timeouts_ms\": {\"export\": 500, \"boot\": 2000}, "
                "\"lc_state\": \"DEV\", \"boot_check\": {\"owner_success_text\": \"PASS!\"}, "
                "\"benchtop\": {\"was_seed\": "
                "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}}";
    ck_assert_msg(parse(full, &sku, &err) == 0, "%s", err.message);
    ck_assert_str_eq(sku.plugin, "inject");
    ck_assert_str_eq(sku.plugin_config, "c=1");
    ck_assert_uint_eq(sku.n_plugin_inputs, 2);
    ck_assert_str_eq(sku.plugin_inputs[0].path, "/etc/ftharness/skus/certs/x.der");
    ck_assert_str_eq(sku.plugin_inputs[1].path, "/etc/ftharness/skus/./y..der");
    ck_assert_str_eq(sku.dir, "/etc/ftharness/skus");
    ck_assert_uint_eq(sku.timeout_ms[FLOW_WAIT_EXPORT], 500);
    ck_assert_uint_eq(sku.timeout_ms[FLOW_WAIT_BOOT], 2000);
    ck_assert(sku.boot_check);
    ck_assert_str_eq(sku.owner_success_text, "PASS!");
    ck_assert(sku.benchtop_was);
    ck_assert_uint_eq(sku.was_seed[31], 0xff);
}
END_TEST

START_TEST(rejections_name_file_and_key)
{
    static const struct {
        const char *text;
        const char *needle;
    } cases[] = {
        {"[]", "(top)"},
        {"{\"name\": \"t\",", "line"},
        {MINIMAL ", \"colour\": 1}", "colour"},
        {MINIMAL ", \"name\": \"u\"}", "duplicate"},
        {"{\"name\": \"\", \"blob_version\": 0, \"certs\": []}", "name"},
        {"{\"name\": \"a\\u0000b\", \"blob_version\": 0, \"certs\": []}", "NUL"},
        {"{\"name\": \"t\", \"firmware\": \"master\", \"blob_version\": 2, \"certs\": []}",
         "blob_version"},
        {"{\"name\": \"t\", \"blob_version\": 0, \"certs\": []}",
         "firmware: must name the perso firmware generation: a2-rc17, earlgrey-1.0.0, master"},
        {"{\"name\": \"t\", \"firmware\": \"earlgrey_1.0.0\", \"blob_version\": 0, \"certs\": []}",
         "firmware"},
        {"{\"name\": \"t\", \"firmware\": \"a2-rc17\", \"blob_version\": 1, \"certs\": []}",
         "blob_version: is 1, but a2-rc17 firmware has no V1 blobs"},
        {MINIMAL ", \"dev_seeds\": 6}", "dev_seeds: must be 0..5"},
        {"{\"name\": \"t\", \"firmware\": \"master\", \"blob_version\": 0, \"certs\": []}",
         "certs"},
        {"{\"name\": \"t\", \"firmware\": \"master\", \"blob_version\": 0, \"certs\": [{\"name\": "
         "\"UDS\", \"ca\": \"nope\", \"endorse\": \"host\", \"max_size\": 1}]}",
         "certs[0]"},
        {MINIMAL ", \"plugin\": {\"name\": \"../evil\"}}", "plugin.name"},
        {MINIMAL ", \"plugin\": {\"name\": \"x\", \"inputs\": [{\"name\": \"a\"}]}}",
         "plugin.inputs[0]"},
        {MINIMAL ", \"plugin\": {\"name\": \"x\", \"inputs\": {}}}", "plugin.inputs"},
        {MINIMAL ", \"plugin\": {\"name\": \"x\", \"inputs\": [{\"name\": \"a\", \"path\": "
                 "\"/etc/shadow\"}]}}",
         "plugin.inputs[0]: path must lie under the SKU file's directory"},
        {MINIMAL ", \"plugin\": {\"name\": \"x\", \"inputs\": [{\"name\": \"a\", \"path\": "
                 "\"certs/../../x\"}]}}",
         "plugin.inputs[0]: path must lie under the SKU file's directory"},
        {MINIMAL ", \"plugin\": {\"name\": \"x\", \"certs\": [\"UDS\"]}}",
         "plugin.certs[0]: names a certificate the chip itself sends"},
        {MINIMAL ", \"plugin\": {\"name\": \"x\", \"certs\": [\"A\", \"A\"]}}",
         "plugin.certs[1]: repeats a name"},
        {MINIMAL ", \"plugin\": {\"name\": \"x\", \"certs\": \"A\"}}", "plugin.certs"},
        {MINIMAL ", \"timeouts_ms\": {\"export\": 0}}", "timeouts_ms"},
        {MINIMAL ", \"timeouts_ms\": {\"later\": 5}}", "later"},
        {MINIMAL ", \"lc_state\": \"RMA\"}", "lc_state"},
        {MINIMAL ", \"benchtop\": {\"was_seed\": \"00\"}}", "benchtop.was_seed"},
        {MINIMAL ", \"boot_check\": {\"owner_success_text\": \"\"}}",
         "boot_check.owner_success_text"},
        {MINIMAL ", \"boot_check\": true}", "boot_check"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct flow_sku sku;
        struct ft_error err = {0};
        ck_assert_msg(parse(cases[i].text, &sku, &err) == -1, "case %zu accepted", i);
        ck_assert_error(err, FT_E_INVALID, cases[i].needle);
        ck_assert_msg(strstr(err.message, "t.json") != NULL, "case %zu: %s", i, err.message);
    }
}
END_TEST

/* The TPM extension writes its TBS with a V0 header in a V1 blob and leaves it out of the
 * WAS HMAC on earlgrey-1.0.0 and master: such a SKU is refused before a chip is touched;
 * V0 is fine everywhere. */
START_TEST(firmware_defects_refused)
{
    static const char *const gens[] = {"earlgrey-1.0.0", "master"};
    char text[512];
    for (size_t i = 0; i < 2; i++) {
        struct flow_sku sku;
        struct ft_error err = {0};
        snprintf(text, sizeof(text), TPM_SKU, gens[i], 1);
        ck_assert_int_eq(parse(text, &sku, &err), -1);
        ck_assert_error(err, FT_E_INVALID, "certs[1]: \"TPM EK\" is an extension TBS");
        ck_assert_msg(strstr(err.message, gens[i]) && strstr(err.message, "WAS HMAC"), "%s",
                      err.message);
        snprintf(text, sizeof(text), TPM_SKU, gens[i], 0);
        ck_assert_msg(parse(text, &sku, &err) == 0, "%s", err.message);
        ck_assert_int_eq(sku.firmware, i == 0 ? FW_GEN_EARLGREY_1_0_0 : FW_GEN_MASTER);
    }
    struct flow_sku sku;
    struct ft_error err = {0};
    ck_assert_int_eq(parse(MINIMAL ", \"dev_seeds\": 2, \"boot_check\": {}}", &sku, &err), 0);
    ck_assert_uint_eq(sku.dev_seeds, 2);
    ck_assert(sku.boot_check && sku.owner_success_text[0] == '\0');
}
END_TEST

START_TEST(missing_file_is_named)
{
    struct flow_sku sku;
    struct ft_error err = {0};
    ck_assert_int_eq(flow_sku_load(SKU_DIR, "no_such_sku", &sku, &err), -1);
    ck_assert_error(err, FT_E_INVALID, "no_such_sku.json");
}
END_TEST

static Suite *flow_sku_suite(void)
{
    Suite *s = suite_create("flow_sku");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, shipped_skus_load);
    tcase_add_test(tc, defaults_and_full_form);
    tcase_add_test(tc, firmware_defects_refused);
    tcase_add_test(tc, rejections_name_file_and_key);
    tcase_add_test(tc, missing_file_is_named);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(flow_sku_suite)
