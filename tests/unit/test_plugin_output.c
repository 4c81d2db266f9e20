/* plugin/plugin_output: a plugin's output against the endorsed certificates it was given,
 * in both blob versions: every breach is refused with a message naming it. */
#include "plugin/plugin_output.h"
#include "testutil.h"

#define BODY_MAX 4096u

struct body {
    uint8_t data[BODY_MAX];
    struct perso_tlv_writer w;
};

static void body_init(struct body *b, enum perso_blob_version v)
{
    ck_assert_int_eq(perso_tlv_writer_init(&b->w, b->data, sizeof(b->data), v, NULL), 0);
}

/* A fake certificate in the form the device reads: 30 82 HH LL, then `len` (256..595) bytes
 * of `fill` (DER lengths are minimal). */
static void add_cert(struct body *b, const char *name, uint8_t fill, size_t len)
{
    uint8_t der[600] = {0x30, 0x82, (uint8_t)(len >> 8), (uint8_t)len};
    size_t head = 4;
    memset(der + head, fill, len);
    struct ft_error err = {0};
    ck_assert_msg(perso_tlv_append_cert(&b->w, PERSO_OBJ_X509_CERT, name, der, len + head, &err) ==
                      0,
                  "%s", err.message);
}

static struct plugin_body view(const struct body *b)
{
    return (struct plugin_body){b->data, b->w.len};
}

static const char *const allowed[] = {"EXTRA", "TPM EK"};

/* The given body: UDS, CDI_0, CDI_1. */
static void given_body(struct body *b, enum perso_blob_version v)
{
    body_init(b, v);
    add_cert(b, "UDS", 0x11, 400);
    add_cert(b, "CDI_0", 0x22, 380);
    add_cert(b, "CDI_1", 0x33, 360);
}

static int check(enum perso_blob_version v, const struct body *in, const struct body *out,
                 struct ft_error *err)
{
    struct plugin_body a = view(in), b = view(out);
    ft_error_clear(err);
    return plugin_check_output("p", v, &a, &b, allowed, 2, err);
}

START_TEST(unchanged_and_allowed_appends_pass)
{
    enum perso_blob_version v = (enum perso_blob_version)_i;
    struct body in, out;
    struct ft_error err = {0};
    given_body(&in, v);
    given_body(&out, v);
    ck_assert_ok(check(v, &in, &out, &err), err);
    add_cert(&out, "EXTRA", 0x44, 300);
    add_cert(&out, "TPM EK", 0x55, 300);
    ck_assert_ok(check(v, &in, &out, &err), err);
    /* An allowed certificate may also come before or between the endorsed ones. */
    body_init(&out, v);
    add_cert(&out, "EXTRA", 0x44, 300);
    add_cert(&out, "UDS", 0x11, 400);
    add_cert(&out, "CDI_0", 0x22, 380);
    add_cert(&out, "TPM EK", 0x55, 300);
    add_cert(&out, "CDI_1", 0x33, 360);
    ck_assert_ok(check(v, &in, &out, &err), err);
}
END_TEST

START_TEST(breaches_are_named)
{
    enum perso_blob_version v = (enum perso_blob_version)_i;
    struct body in, out;
    struct ft_error err = {0};
    given_body(&in, v);

    body_init(&out, v); /* empty */
    ck_assert_int_ne(check(v, &in, &out, &err), 0);
    ck_assert_error(err, FT_E_PLUGIN,
                    "plugin p: endorsed certificate UDS is missing or out of order");

    body_init(&out, v); /* CDI_0 dropped */
    add_cert(&out, "UDS", 0x11, 400);
    add_cert(&out, "CDI_1", 0x33, 360);
    ck_assert_int_ne(check(v, &in, &out, &err), 0);
    ck_assert_error(err, FT_E_PLUGIN, "endorsed certificate CDI_0 is missing or out of order");

    body_init(&out, v); /* reordered */
    add_cert(&out, "CDI_0", 0x22, 380);
    add_cert(&out, "UDS", 0x11, 400);
    add_cert(&out, "CDI_1", 0x33, 360);
    ck_assert_int_ne(check(v, &in, &out, &err), 0);
    ck_assert_error(err, FT_E_PLUGIN, "endorsed certificate UDS is missing or out of order");

    body_init(&out, v); /* one byte changed */
    add_cert(&out, "UDS", 0x11, 400);
    add_cert(&out, "CDI_0", 0x22, 380);
    add_cert(&out, "CDI_1", 0x33, 360);
    out.data[out.w.len - 7] ^= 0x80;
    ck_assert_int_ne(check(v, &in, &out, &err), 0);
    ck_assert_error(err, FT_E_PLUGIN,
                    "endorsed certificate CDI_1 was changed (byte 357 of 364 differs)");

    body_init(&out, v); /* shortened */
    add_cert(&out, "UDS", 0x11, 399);
    ck_assert_int_ne(check(v, &in, &out, &err), 0);
    ck_assert_error(err, FT_E_PLUGIN, "endorsed certificate UDS was changed");

    given_body(&out, v); /* an impostor beside the genuine UDS */
    add_cert(&out, "UDS", 0x66, 280);
    ck_assert_int_ne(check(v, &in, &out, &err), 0);
    ck_assert_error(err, FT_E_PLUGIN, "appended certificate UDS takes the name of an endorsed");

    given_body(&out, v);
    add_cert(&out, "OTHER", 0x66, 280);
    ck_assert_int_ne(check(v, &in, &out, &err), 0);
    ck_assert_error(err, FT_E_PLUGIN,
                    "appended certificate OTHER is not one the SKU allows (plugin.certs: EXTRA, "
                    "TPM EK)");

    given_body(&out, v);
    add_cert(&out, "EXTRA", 0x66, 280);
    add_cert(&out, "EXTRA", 0x67, 280);
    ck_assert_int_ne(check(v, &in, &out, &err), 0);
    ck_assert_error(err, FT_E_PLUGIN, "certificate EXTRA appended twice");

    given_body(&out, v);
    uint8_t seed[PERSO_DEV_SEED_SIZE] = {0};
    ck_assert_int_eq(perso_tlv_append_data(&out.w, PERSO_OBJ_DEV_SEED, seed, sizeof(seed), NULL),
                     0);
    ck_assert_int_ne(check(v, &in, &out, &err), 0);
    ck_assert_error(err, FT_E_PLUGIN, "is a DevSeed; a plugin may only append certificates");

    /* No names allowed at all. */
    given_body(&out, v);
    add_cert(&out, "EXTRA", 0x44, 300);
    struct plugin_body a = view(&in), b = view(&out);
    ck_assert_int_ne(plugin_check_output("p", v, &a, &b, NULL, 0, &err), 0);
    ck_assert_error(err, FT_E_PLUGIN, "(plugin.certs: none)");
}
END_TEST

static Suite *plugin_output_suite(void)
{
    Suite *s = suite_create("plugin_output");
    TCase *tc = tcase_create("output");
    tcase_add_loop_test(tc, unchanged_and_allowed_appends_pass, PERSO_BLOB_V0, PERSO_BLOB_V1 + 1);
    tcase_add_loop_test(tc, breaches_are_named, PERSO_BLOB_V0, PERSO_BLOB_V1 + 1);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(plugin_output_suite)
