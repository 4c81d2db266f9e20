/* The device model end to end, driven by a host written from the reference
 * (tests/sim/simhost): every perso step, both blob versions, the TPM SKU, every fault
 * switch, the bootstrap state machine, determinism. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "cert/was.h"
#include "common/crc32.h"
#include "sim_run.h"
#include "wire/devmsg.h"
#include "wire/perso_blob.h"
#include "wire/resp.h"
#include "wire/ujson.h"

static void assert_pins(struct run *r, uint32_t set, uint32_t clear)
{
    uint32_t pins = sim_device_gpio_read(&r->dev);
    ck_assert_msg((pins & set) == set, "pins 0x%x lack 0x%x", pins, set);
    ck_assert_msg((pins & clear) == 0, "pins 0x%x have 0x%x", pins, clear);
}

/* Names and types of the exported objects, in order. */
static void assert_blob_objects(struct run *r, const char *const *names, size_t n_certs)
{
    struct perso_tlv_iter it;
    struct perso_obj obj;
    perso_tlv_iter_init(&it, r->flow.blob.body, r->flow.blob.next_free, r->flow.version, NULL);
    perso_tlv_iter_allow_v0(&it, r->flow.v0_types);
    for (size_t i = 0; i < n_certs; i++) {
        ck_assert_int_eq(perso_tlv_iter_next(&it, &obj, NULL), 1);
        ck_assert_str_eq(obj.name, names[i]);
        ck_assert_int_eq(obj.type, i == 1 || i == 2 ? PERSO_OBJ_X509_CERT : PERSO_OBJ_X509_TBS);
        ck_assert_uint_eq(obj.cert[0], 0x30);
        ck_assert_uint_eq(obj.cert[1], 0x82);
    }
    const enum perso_obj_type tail[] = {PERSO_OBJ_WAS_TBS_HMAC, PERSO_OBJ_DEVICE_ID,
                                        PERSO_OBJ_PERSO_SHA256_HASH};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(perso_tlv_iter_next(&it, &obj, NULL), 1);
        ck_assert_int_eq(obj.type, tail[i]);
    }
    ck_assert_int_eq(perso_tlv_iter_next(&it, &obj, NULL), 0);
}

START_TEST(flow_sival_v0)
{
    struct sim_config cfg;
    test_config(&cfg, "sival");
    struct run *r = run_start(&cfg);
    run_full(r);
    static const char *const names[] = {"UDS", "CDI_0", "CDI_1"};
    assert_blob_objects(r, names, 3);
    ck_assert_str_eq(r->flow.text, "Importing UDS cert to FACTORY ...\n"
                                   "Digesting FACTORY page ...\n"
                                   "Importing CDI_0 cert to DICE ...\n"
                                   "Importing CDI_1 cert to DICE ...\n"
                                   "Digesting DICE page ...\n");
    ck_assert_mem_eq(r->flow.device_digest, r->flow.host_digest, 32);
    assert_pins(r, SIM_PIN_TEST_DONE | SIM_PIN_TEST_START, SIM_PIN_TEST_ERROR);
    run_free(r);
}
END_TEST

START_TEST(flow_emulation_tpm_v1)
{
    struct sim_config cfg;
    test_config(&cfg, "emulation_tpm_v1");
    struct run *r = run_start(&cfg);
    run_full(r);
    ck_assert_uint_eq(r->flow.blob.body[0], 0xF0); /* version object */
    static const char *const names[] = {"UDS", "CDI_0", "CDI_1", "TPM EK"};
    assert_blob_objects(r, names, 4);
    ck_assert_uint_eq(r->flow.blob.num_objs, 8);
    ck_assert(strstr(r->flow.text, "Importing TPM EK cert to TPM ...\n") != NULL);
    ck_assert_mem_eq(r->flow.device_digest, r->flow.host_digest, 32);
    assert_pins(r, SIM_PIN_TEST_DONE, SIM_PIN_TEST_ERROR);
    run_free(r);
}
END_TEST

START_TEST(uart_console_row_of_chips)
{
    struct sim_config cfg;
    test_config(&cfg, "emulation_tpm");
    cfg.console = SIM_CONSOLE_UART;
    cfg.duts = 2;
    struct run *r = run_start(&cfg);
    run_full(r);
    ck_assert_mem_eq(r->flow.device_digest, r->flow.host_digest, 32);
    static struct perso_blob first;
    first = r->flow.blob;
    /* The next chip follows on the same UART: new keys, next DIN. */
    simflow_next_chip(&r->flow);
    run_full(r);
    ck_assert_mem_eq(r->flow.device_digest, r->flow.host_digest, 32);
    ck_assert(memcmp(first.body, r->flow.blob.body, first.next_free) != 0);
    sim_device_wait_finished(&r->dev);
    ck_assert_uint_eq(r->dev.completed, 2);
    run_free(r);
}
END_TEST

START_TEST(was_hmac_and_device_id)
{
    struct sim_config cfg;
    test_config(&cfg, "emulation_tpm");
    struct run *r = run_start(&cfg);
    run_to_export(r);

    /* Independent WAS: HMAC-SHA256(seed, "was" + 45 zero bytes), words byte-swapped. */
    uint8_t div[48] = "was";
    uint8_t mac[32], was[32];
    unsigned int mac_len = 32;
    HMAC(EVP_sha256(), cfg.was_seed, 32, div, sizeof(div), mac, &mac_len);
    for (int i = 0; i < 32; i++)
        was[i] = mac[(i & ~3) + 3 - (i & 3)];
    uint8_t tbs_concat[8192];
    size_t tbs_len = 0;
    uint8_t tag[32] = {0}, id[32] = {0};
    struct perso_tlv_iter it;
    struct perso_obj obj;
    perso_tlv_iter_init(&it, r->flow.blob.body, r->flow.blob.next_free, PERSO_BLOB_V0, NULL);
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1) {
        if (obj.type == PERSO_OBJ_X509_TBS) {
            memcpy(tbs_concat + tbs_len, obj.cert, obj.cert_len);
            tbs_len += obj.cert_len;
        } else if (obj.type == PERSO_OBJ_WAS_TBS_HMAC) {
            memcpy(tag, obj.payload, 32);
        } else if (obj.type == PERSO_OBJ_DEVICE_ID) {
            memcpy(id, obj.payload, 32);
        }
    }
    uint8_t want[32];
    HMAC(EVP_sha256(), was, 32, tbs_concat, tbs_len, want, &mac_len);
    ck_assert_mem_eq(tag, want, 32);
    /* DeviceId: hw_origin 0x00024001, SKU "EMUL", OTP "EM", format version 1. */
    ck_assert_uint_eq(id[0], 0x01);
    ck_assert_uint_eq(id[1], 0x40);
    ck_assert_uint_eq(id[2], 0x02);
    ck_assert_mem_eq(id + 24, "LUME", 4);
    ck_assert_uint_eq(id[31], 1);
    run_free(r);
}
END_TEST

START_TEST(same_seed_same_bytes)
{
    struct sim_config cfg;
    test_config(&cfg, "sival");
    static struct perso_blob first;
    for (int round = 0; round < 3; round++) {
        if (round == 2)
            cfg.seed = 99;
        struct run *r = run_start(&cfg);
        run_to_export(r);
        if (round == 0)
            first = r->flow.blob;
        else if (round == 1)
            ck_assert_mem_eq(&r->flow.blob, &first, sizeof(first));
        else
            ck_assert(memcmp(&r->flow.blob, &first, sizeof(first)) != 0);
        run_free(r);
    }
}
END_TEST

START_TEST(rma_hash_bad_crc_is_data_loss)
{
    struct sim_config cfg;
    test_config(&cfg, "sival");
    struct run *r = run_start(&cfg);
    ck_assert(simhost_wait_for(&r->flow.host, "Waiting For RMA Unlock Token Hash ...\n", NULL, 0));
    /* Hand-written bytes: the hash padded to 52, then a CRC object that does not match. */
    const char *msg = "{\"hash\":[1,2]}";
    char padded[53];
    snprintf(padded, sizeof(padded), "{\"hash\":[1,2]%*s}", 52 - (int)strlen(msg), "");
    ck_assert_uint_eq(strlen(padded), 52);
    ck_assert(simhost_write(&r->flow.host, padded, 52));
    ck_assert(simhost_write(&r->flow.host, "{\"crc\":12345     }", 18));
    ck_assert(simhost_wait_for(&r->flow.host, "Personalization done.\n", NULL, 0));
    assert_pins(r, SIM_PIN_TEST_ERROR, SIM_PIN_TEST_DONE);
    run_free(r);
}
END_TEST

START_TEST(frame_counter_restarts_after_rma_reset)
{
    struct sim_config cfg;
    test_config(&cfg, "sival");
    struct run *r = run_start(&cfg);
    ck_assert(simhost_wait_for(&r->flow.host, "Waiting For RMA Unlock Token Hash ...\n", NULL, 0));
    ck_assert_uint_gt(r->flow.host.frame_no, 0);
    char buf[128];
    struct strbuf sb;
    strbuf_init(&sb, buf, sizeof(buf));
    const uint64_t hash[2] = {7, 8};
    ujson_lc_token_hash(&sb, hash, NULL);
    ck_assert(simhost_write(&r->flow.host, buf, sb.len));
    /* Without resetting our counter, the next frame (number 0) is ignored. */
    r->flow.host.timeout_ms = 500;
    ck_assert(!simhost_wait_for(&r->flow.host, "Waiting for certificate inputs ...\n", NULL, 0));
    ck_assert_uint_eq(r->flow.host.wrong_numbers, 1);
    run_free(r);
}
END_TEST

/* ---- fault switches ---------------------------------------------------------------- */

static struct run *start_with_fault(const char *sku, const char *fault)
{
    struct sim_config cfg;
    test_config(&cfg, sku);
    ck_assert_int_eq(sim_config_add_fault(&cfg, fault, NULL), 0);
    return run_start(&cfg);
}

START_TEST(fault_stall)
{
    struct run *r = start_with_fault("sival", "stall=certgen");
    STEP(r, rma);
    r->flow.host.timeout_ms = 300;
    ck_assert(!simhost_wait_for(&r->flow.host, "Waiting for certificate inputs ...\n", NULL, 0));
    ck_assert_uint_eq(r->flow.host.len, 0);
    run_free(r);
}
END_TEST

START_TEST(fault_junk_frames)
{
    struct run *r = start_with_fault("sival", "junk-frames=export");
    STEP(r, rma);
    STEP(r, certgen);
    STEP(r, export); /* junk is ignored by a correct host */
    ck_assert_uint_ge(r->flow.host.junk_frames, 11);
    run_free(r);
}
END_TEST

START_TEST(fault_wrong_frame_number)
{
    struct run *r = start_with_fault("sival", "wrong-frame-number=export");
    STEP(r, rma);
    STEP(r, certgen);
    r->flow.host.timeout_ms = 500;
    ck_assert(!simhost_wait_for(&r->flow.host, "Exporting TBS certificates ...\n", NULL, 0));
    /* It and every frame after it are out of step: all read, all dropped. */
    ck_assert_uint_ge(r->flow.host.wrong_numbers, 2);
    run_free(r);
}
END_TEST

START_TEST(fault_corrupt_tlv)
{
    struct run *r = start_with_fault("sival", "corrupt-tlv");
    STEP(r, rma);
    STEP(r, certgen);
    ck_assert(!simflow_export(&r->flow));
    ck_assert_msg(strstr(r->flow.why, "object 0 at offset 0") != NULL, "%s", r->flow.why);
    run_free(r);
}
END_TEST

START_TEST(fault_oversize_object)
{
    struct run *r = start_with_fault("sival", "oversize-object");
    run_to_export(r);
    struct perso_tlv_iter it;
    struct perso_obj obj;
    size_t biggest = 0;
    perso_tlv_iter_init(&it, r->flow.blob.body, r->flow.blob.next_free, PERSO_BLOB_V0, NULL);
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1)
        biggest = obj.size > biggest ? obj.size : biggest;
    ck_assert_uint_gt(biggest, 2500); /* a TBS cert is < 1 KiB */
    run_free(r);
}
END_TEST

START_TEST(fault_bad_was_hmac_and_bad_hash)
{
    /* bad-was-hmac: covered by comparing with the good chip's tag. */
    struct sim_config cfg;
    test_config(&cfg, "sival");
    struct run *good = run_start(&cfg);
    STEP(good, rma);
    STEP(good, certgen);
    STEP(good, export);
    ck_assert_int_eq(sim_config_add_fault(&cfg, "bad-was-hmac", NULL), 0);
    ck_assert_int_eq(sim_config_add_fault(&cfg, "bad-hash", NULL), 0);
    struct run *bad = run_start(&cfg);
    STEP(bad, rma);
    STEP(bad, certgen);
    STEP(bad, export);
    ck_assert_uint_eq(good->flow.blob.next_free, bad->flow.blob.next_free);
    size_t diff = 0;
    for (size_t i = 0; i < good->flow.blob.next_free; i++)
        diff += good->flow.blob.body[i] != bad->flow.blob.body[i];
    ck_assert_uint_eq(diff, 1);
    STEP(bad, import);
    STEP(bad, hash);
    ck_assert(memcmp(bad->flow.device_digest, bad->flow.host_digest, 32) != 0);
    run_free(good);
    run_free(bad);
}
END_TEST

START_TEST(fault_truncated_and_bad_crc)
{
    const char *faults[] = {"truncated-response=export", "bad-crc=export"};
    const char *want[] = {"does not end with", "CRC says 305419896"};
    for (int i = 0; i < 2; i++) {
        struct run *r = start_with_fault("sival", faults[i]);
        STEP(r, rma);
        STEP(r, certgen);
        ck_assert(!simflow_export(&r->flow));
        ck_assert_msg(strstr(r->flow.why, want[i]) != NULL, "%s: %s", faults[i], r->flow.why);
        run_free(r);
    }
}
END_TEST

START_TEST(fault_disconnect)
{
    struct run *r = start_with_fault("sival", "disconnect=export");
    STEP(r, rma);
    STEP(r, certgen);
    r->flow.host.timeout_ms = 500;
    ck_assert(simhost_wait_for(&r->flow.host, "Exporting TBS certificates ...\n", NULL, 0));
    ck_assert(!simhost_read_line(&r->flow.host, r->flow.line, sizeof(r->flow.line)));
    ck_assert(sim_device_take_link_drop(&r->dev));
    run_free(r);
}
END_TEST

START_TEST(fault_reset)
{
    struct run *r = start_with_fault("sival", "reset=export");
    STEP(r, rma);
    STEP(r, certgen);
    /* The chip resets before exporting: it starts over at the certificate inputs. */
    simhost_reset_frames(&r->flow.host);
    STEP(r, certgen);
    STEP(r, export);
    run_free(r);
}
END_TEST

START_TEST(fault_test_error)
{
    struct run *r = start_with_fault("sival", "test-error");
    run_full(r);
    assert_pins(r, SIM_PIN_TEST_ERROR, SIM_PIN_TEST_DONE);
    run_free(r);
}
END_TEST

/* The chip refuses the imported body as upstream does on a device-side failure: TestError,
 * then its closing line instead of "Finished importing certificates.". */
START_TEST(fault_reject_import)
{
    struct run *r = start_with_fault("emulation_tpm", "reject-import");
    run_to_export(r);
    STEP(r, import);
    char before[4096];
    ck_assert(simhost_wait_for(&r->flow.host, "Personalization done.\n", before, sizeof(before)));
    ck_assert_msg(strstr(before, "Finished importing") == NULL, "%s", before);
    ck_assert_msg(strstr(before, "Importing TPM EK") == NULL, "%s", before);
    assert_pins(r, SIM_PIN_TEST_ERROR, SIM_PIN_TEST_DONE);
    run_free(r);
}
END_TEST

/* A failed CHECK: the OTTF error log line and FAIL!, no GPIO, no closing line. */
START_TEST(fault_check_fail)
{
    struct run *r = start_with_fault("sival", "check-fail=export");
    STEP(r, rma);
    STEP(r, certgen);
    char before[4096];
    ck_assert(simhost_wait_for(&r->flow.host, "FAIL!\r\n", before, sizeof(before)));
    ck_assert_msg(strstr(before, "E00000 ft_personalize.c:903] CHECK-STATUS-fail: "
                                 "Internal:[\"FTP\",903]\r\nI00001 status.c:43] ") != NULL,
                  "%s", before);
    r->flow.host.timeout_ms = 300;
    ck_assert(!simhost_wait_for(&r->flow.host, "Personalization done.\n", NULL, 0));
    assert_pins(r, 0, SIM_PIN_TEST_ERROR | SIM_PIN_TEST_DONE);
    run_free(r);
}
END_TEST

START_TEST(fault_slow)
{
    struct sim_config cfg;
    test_config(&cfg, "sival");
    cfg.step_delay_ms[SIM_STEP_CERTGEN] = 100;
    ck_assert_int_eq(sim_config_add_fault(&cfg, "slow=5", NULL), 0);
    struct run *r = run_start(&cfg);
    STEP(r, rma);
    /* 100 ms x 5: nothing within the unscaled delay, the prompt comes later. */
    r->flow.host.timeout_ms = 150;
    ck_assert(!simhost_wait_for(&r->flow.host, "Waiting for certificate inputs ...\n", NULL, 0));
    r->flow.host.timeout_ms = 5000;
    ck_assert(simhost_wait_for(&r->flow.host, "Waiting for certificate inputs ...\n", NULL, 0));
    run_free(r);
}
END_TEST

START_TEST(fault_switch_parsing)
{
    struct sim_config cfg;
    sim_config_defaults(&cfg);
    struct ft_error err = {0};
    ck_assert_int_eq(sim_config_add_fault(&cfg, "stall", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "needs a step");
    ck_assert_int_eq(sim_config_add_fault(&cfg, "stall=nowhere", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "unknown step \"nowhere\"");
    ck_assert_int_eq(sim_config_add_fault(&cfg, "bad-hash=export", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "takes no step");
    ck_assert_int_eq(sim_config_add_fault(&cfg, "gremlins", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "unknown fault \"gremlins\"");
    ck_assert_int_eq(sim_config_add_fault(&cfg, "slow=1", &err), -1);
    ck_assert_error(err, FT_E_INVALID, "2..10000");
}
END_TEST

/* ---- ROM bootstrap ------------------------------------------------------------------ */

START_TEST(bootstrap_image_then_perso)
{
    struct sim_config cfg;
    test_config(&cfg, "sival");
    cfg.blank = true;
    struct run *r = run_start(&cfg);
    simhost_reset_chip(&r->flow.host, SIM_PIN_STRAPS);

    uint8_t mosi[300] = {0x9F}, miso[300];
    simhost_xfer(&r->flow.host, mosi, miso, 16);
    ck_assert_uint_eq(miso[1], 0x7F);
    ck_assert_uint_eq(miso[13], 0xEF);
    uint8_t sfdp[9] = {0x5A, 0, 0, 0, 0}, sfdp_out[9];
    simhost_xfer(&r->flow.host, sfdp, sfdp_out, 9);
    ck_assert_mem_eq(sfdp_out + 5, "SFDP", 4);

    static uint8_t image[1000];
    for (size_t i = 0; i < sizeof(image); i++)
        image[i] = (uint8_t)(i * 7 + 1);
    program_image(r, image, sizeof(image));
    ck_assert_mem_eq(r->dev.chip.flash, image, sizeof(image));

    /* Straps off, reset: the perso firmware boots and reports the image's hash. */
    simhost_reset_chip(&r->flow.host, 0);
    run_to_export(r);
    uint8_t want[32];
    unsigned int len = 32;
    EVP_Digest(image, sizeof(image), want, &len, EVP_sha256(), NULL);
    struct perso_tlv_iter it;
    struct perso_obj obj;
    bool measured = false;
    perso_tlv_iter_init(&it, r->flow.blob.body, r->flow.blob.next_free, PERSO_BLOB_V0, NULL);
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1) {
        if (obj.type == PERSO_OBJ_PERSO_SHA256_HASH) {
            ck_assert_mem_eq(obj.payload, want, 32);
            measured = true;
        }
    }
    ck_assert_msg(measured, "the exported blob holds no PersoSha256Hash");
    run_free(r);
}
END_TEST

START_TEST(blank_chip_stays_silent)
{
    struct sim_config cfg;
    test_config(&cfg, "sival");
    cfg.blank = true;
    struct run *r = run_start(&cfg);
    uint32_t pins;
    ck_assert(!sim_device_gpio_wait(&r->dev, SIM_PIN_TX_READY, SIM_PIN_TX_READY, 200, &pins));
    run_free(r);
}
END_TEST

START_TEST(two_stage_bootstrap_request)
{
    struct sim_config cfg;
    test_config(&cfg, "sival");
    cfg.sku.two_stage_bootstrap = true;
    struct run *r = run_start(&cfg);
    ck_assert(simhost_wait_for(&r->flow.host, "Bootstrap requested.\n", NULL, 0));
    simhost_reset_chip(&r->flow.host, 0);
    STEP(r, rma);
    run_free(r);
}
END_TEST

/* Reads the chip's UART until it has sent exactly `want` bytes' worth, into text. */
static void read_uart(struct run *r, char *text, size_t want)
{
    size_t got = 0;
    while (got < want) {
        size_t n = sim_device_uart_read(&r->dev, (uint8_t *)text + got, want - got, 2000);
        ck_assert_msg(n > 0, "UART after %zu bytes: \"%.*s\"", got, (int)got, text);
        got += n;
    }
    text[got] = '\0';
}

#define ROM_BANNER "OpenTitan:4001-0002-01\r\n"

START_TEST(rom_ext_banner_after_perso)
{
    struct sim_config cfg;
    test_config(&cfg, "sival");
    struct run *r = run_start(&cfg);
    run_full(r);
    simhost_reset_chip(&r->flow.host, 0);
    /* The ROM's banner at each boot (power on, the reset after the RMA hash, ours), then
     * the personalized chip's ROM_EXT and owner firmware. */
    static const char want[] =
        ROM_BANNER ROM_BANNER ROM_BANNER "ROM_EXT:0.4\r\nBare metal PASS!\r\n";
    char text[sizeof(want)];
    read_uart(r, text, sizeof(want) - 1);
    ck_assert_str_eq(text, want);
    run_free(r);
}
END_TEST

/* The ROM prints its banner on every boot, and says when it enters the bootstrap: how a
 * host tells that a chip reset. */
START_TEST(rom_banner_every_boot)
{
    struct sim_config cfg;
    test_config(&cfg, "sival");
    struct run *r = run_start(&cfg);
    char text[64];
    read_uart(r, text, strlen(ROM_BANNER));
    ck_assert_str_eq(text, ROM_BANNER);
    simhost_reset_chip(&r->flow.host, SIM_PIN_STRAPS);
    read_uart(r, text, strlen(ROM_BANNER "bootstrap:1\r\n"));
    ck_assert_str_eq(text, ROM_BANNER "bootstrap:1\r\n");
    run_free(r);
}
END_TEST

static Suite *sim_model_suite(void)
{
    Suite *s = suite_create("sim_model");
    TCase *flow = tcase_create("flow");
    tcase_add_unchecked_fixture(flow, setup_cas, teardown_cas);
    tcase_set_timeout(flow, 120);
    tcase_add_test(flow, flow_sival_v0);
    tcase_add_test(flow, flow_emulation_tpm_v1);
    tcase_add_test(flow, uart_console_row_of_chips);
    tcase_add_test(flow, was_hmac_and_device_id);
    tcase_add_test(flow, same_seed_same_bytes);
    tcase_add_test(flow, rma_hash_bad_crc_is_data_loss);
    tcase_add_test(flow, frame_counter_restarts_after_rma_reset);
    suite_add_tcase(s, flow);

    TCase *faults = tcase_create("faults");
    tcase_add_unchecked_fixture(faults, setup_cas, teardown_cas);
    tcase_set_timeout(faults, 120);
    tcase_add_test(faults, fault_stall);
    tcase_add_test(faults, fault_junk_frames);
    tcase_add_test(faults, fault_wrong_frame_number);
    tcase_add_test(faults, fault_corrupt_tlv);
    tcase_add_test(faults, fault_oversize_object);
    tcase_add_test(faults, fault_bad_was_hmac_and_bad_hash);
    tcase_add_test(faults, fault_truncated_and_bad_crc);
    tcase_add_test(faults, fault_disconnect);
    tcase_add_test(faults, fault_reset);
    tcase_add_test(faults, fault_test_error);
    tcase_add_test(faults, fault_reject_import);
    tcase_add_test(faults, fault_check_fail);
    tcase_add_test(faults, fault_slow);
    tcase_add_test(faults, fault_switch_parsing);
    suite_add_tcase(s, faults);

    TCase *boot = tcase_create("boot");
    tcase_add_unchecked_fixture(boot, setup_cas, teardown_cas);
    tcase_set_timeout(boot, 120);
    tcase_add_test(boot, bootstrap_image_then_perso);
    tcase_add_test(boot, blank_chip_stays_silent);
    tcase_add_test(boot, two_stage_bootstrap_request);
    tcase_add_test(boot, rom_ext_banner_after_perso);
    tcase_add_test(boot, rom_banner_every_boot);
    suite_add_tcase(s, boot);
    return s;
}

FT_TEST_MAIN(sim_model_suite)
