#include "flow/flow.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert/endorse.h"
#include "cert/tbs.h"
#include "cert/was.h"
#include "common/base64.h"
#include "common/hex.h"
#include "console/bootstrap.h"
#include "pa/cshake.h"
#include "pa/pa_msg.h"
#include "pa/pa_proto.h"
#include "wire/devmsg.h"
#include "wire/fw_gen.h"
#include "wire/perso_blob.h"
#include "wire/resp.h"
#include "wire/ujson.h"

/* Upstream's console strings (reference/opentitan-ft-flow.md §6.4). */
#define SYNC_RMA "Waiting For RMA Unlock Token Hash ..."
#define SYNC_CERTGEN "Waiting for certificate inputs ..."
#define SYNC_EXPORT "Exporting TBS certificates ..."
#define SYNC_IMPORT "Importing endorsed certificates ..."
#define SYNC_IMPORTED "Finished importing certificates."
#define SYNC_DONE "Personalization done."
#define SYNC_BOOTSTRAP_REQUESTED "Bootstrap requested."

static const char *const step_names[FLOW_STEP_COUNT] = {
    "first-bootstrap",      "second-bootstrap",    "send-rma-unlock-token", "perso-wait-ready",
    "perso-certgen-inputs", "perso-tbs-export",    "perso-process-blobs",   "perso-ft-ext",
    "perso-import-certs",   "perso-validate-dice", "perso-validate-sku",    "perso-all-certs-done",
    "rom_ext-done",         "register-device",
};

const char *flow_step_name(enum flow_step step)
{
    return step < FLOW_STEP_COUNT ? step_names[step] : "unknown";
}

/* Everything one run carries between steps. */
struct run {
    const struct flow_env *env;
    struct flow_record *rec;
    struct ft_error *err;
    enum flow_step step;
    uint64_t step_start_ns;
    struct perso_blob blob; /* what the chip exported */
    struct perso_blob back; /* what goes back to it */
    uint8_t was_tag[32];
    bool has_was_tag;
    uint8_t host_digest[32];
    char line[CONSOLE_LINE_MAX];
    char json[UJSON_PERSO_BLOB_SIZE + 64];
};

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t deadline(const struct run *r, enum flow_wait wait)
{
    const struct flow_sku *sku = r->env->sku;
    unsigned ms =
        sku->timeout_ms[wait] ? sku->timeout_ms[wait] : sku->timeout_ms[FLOW_WAIT_DEFAULT];
    double scale = r->env->timeout_scale > 0 ? r->env->timeout_scale : 1.0;
    return link_deadline_ms((uint64_t)(ms * scale));
}

static void begin(struct run *r, enum flow_step step)
{
    r->step = step;
    r->step_start_ns = link_now_ns();
    r->rec->step_ran[step] = true;
    if (r->env->progress)
        r->env->progress(r->env->progress_arg, step, false, 0);
}

static void end(struct run *r)
{
    uint64_t us = (link_now_ns() - r->step_start_ns) / 1000;
    r->rec->stats_us[r->step] = us;
    if (r->env->progress)
        r->env->progress(r->env->progress_arg, r->step, true, us);
}

/* Who a failure of `code` is owed to when no one said otherwise: the chip's link for
 * link and device errors, a host check for the rest. */
static enum flow_blame blame_of(enum ft_code code)
{
    switch (code) {
    case FT_E_PLUGIN:
        return FLOW_BLAME_PLUGIN;
    case FT_E_ABORTED:
        return FLOW_BLAME_ABORT;
    case FT_E_TIMEOUT:
    case FT_E_CONNECT:
    case FT_E_DEVICE:
        return FLOW_BLAME_CHIP;
    case FT_E_NOMEM:
        return FLOW_BLAME_LOCAL;
    default:
        return FLOW_BLAME_CHECK;
    }
}

/* Writes the record where it survives the process (env->persist) with what the chip
 * now holds. */
static int journal(struct run *r, const char *dut_state)
{
    r->rec->dut_state = dut_state;
    r->rec->end_ms = unix_ms();
    if (r->env->persist == NULL || r->env->persist(r->env->persist_arg, r->rec, r->err) == 0)
        return 0;
    r->rec->blame = FLOW_BLAME_LOCAL;
    return ft_error_prefix(r->err, "device record");
}

/* Records the failure of the current step and journals it; returns -1. */
static int failed(struct run *r, const char *dut_state)
{
    struct flow_record *rec = r->rec;
    rec->pass = false;
    rec->running = false;
    rec->failed_step = r->step;
    rec->error_code = r->err->code;
    if (rec->blame == FLOW_BLAME_NONE)
        rec->blame = blame_of(r->err->code);
    snprintf(rec->error, sizeof(rec->error), "%s", r->err->message);
    rec->stats_us[r->step] = (link_now_ns() - r->step_start_ns) / 1000;
    struct ft_error keep = *r->err;
    if (journal(r, dut_state) != 0) /* the failure stays the one reported */
        fprintf(stderr, "<3>ftharness: %s\n", r->err->message);
    *r->err = keep;
    return -1;
}

/* A stop was asked for (SIGTERM, SIGINT): the run ends at its next wait. */
static int aborted(struct run *r)
{
    if (r->env->abort_requested == NULL || *r->env->abort_requested == 0)
        return 0;
    return ft_fail(r->err, FT_E_ABORTED, "stopped by a signal");
}

static const char STATE_UNTOUCHED[] = "no secrets written yet: the chip can be retried";
static const char STATE_HASH_SENDING[] =
    "the RMA token hash is going to the chip: SECRET2 may be written; its wrapped RMA seed is "
    "in this record (keep it)";
static const char STATE_FIRMWARE[] =
    "perso firmware not (fully) programmed: bootstrap it again before anything else";
static const char STATE_SECRETS[] =
    "SECRET2 (RMA token hash) written, no certificates: retry from the certificate inputs";
static const char STATE_CERTS[] = "certificates written to the chip: check it before retrying";
static const char STATE_DONE[] = "personalized, not registered: register it before shipping";
/* What the chip holds when it ended a wait itself (console_watch): it said so. */
static const char STATE_REFUSED[] =
    "the chip refused the certificates and stopped (OTP not finalized): SECRET2 written, no "
    "certificates locked in; reset it and retry from the certificate inputs (a new perso run "
    "erases its certificate pages)";
static const char STATE_FAILED_AFTER_IMPORT[] =
    "the chip wrote the certificates, then failed before sending their hash (OTP not "
    "finalized): check it before retrying";
static const char STATE_RESTARTED[] =
    "the chip reset and restarted perso at the certificate inputs, which erases its "
    "certificate pages: SECRET2 written, no certificates: retry from the certificate inputs";
static const char STATE_RESET[] =
    "the chip reset and did not show what it restarted into: SECRET2 written, no certificates "
    "confirmed: check it before retrying";
static const char STATE_RESET_LATE[] =
    "the chip reset after sending its certificates hash, before \"Personalization done.\" "
    "(OTP finalization may be partial): check it before retrying";

/* What the perso firmware gives when it fails or resets (console.h): every wait ends at
 * the first of them, so a failing chip costs milliseconds, not the step deadline. */
static const struct console_watch chip_watch = {
    .last_words = SYNC_DONE,
    .test_error = true,
    .error_lines = true,
    .resets = true,
};

/* ---- console helpers ------------------------------------------------------------------ */

/* The signal that ended the failed wait, or NULL when it failed otherwise. */
static const struct console_signal_report *chip_signal(const struct run *r)
{
    const struct console_signal_report *s = console_last_signal(r->env->console);
    return r->err->code == FT_E_DEVICE && s->kind != CONSOLE_SIGNAL_NONE ? s : NULL;
}

/* What a chip that reset holds, by what its new boot printed (`late`: the reset came after
 * it sent its certificates hash, when OTP finalization runs). */
static const char *reset_state(const struct console_signal_report *s, bool late)
{
    if (strstr(s->after, SYNC_CERTGEN) != NULL)
        return STATE_RESTARTED;
    return late ? STATE_RESET_LATE : STATE_RESET;
}

/* The DUT state after a failed wait: `usual` unless the chip ended the wait itself, when a
 * reset says what it restarted into and any other signal leaves `refused`. */
static const char *chip_state(const struct run *r, const char *usual, const char *refused)
{
    const struct console_signal_report *s = chip_signal(r);
    if (s == NULL)
        return usual;
    if (s->kind == CONSOLE_SIGNAL_RESET)
        return reset_state(s, r->step == FLOW_STEP_DONE);
    return refused;
}

static int wait_for(struct run *r, const char *text, enum flow_wait wait)
{
    if (aborted(r) != 0)
        return -1;
    return console_wait_for(r->env->console, text, deadline(r, wait), r->err);
}

static int send(struct run *r, const char *data, size_t len, enum flow_wait wait)
{
    if (aborted(r) != 0)
        return -1;
    return console_write(r->env->console, data, len, deadline(r, wait), r->err);
}

/* Reads the next RESP_OK line and returns its JSON (pointing into r->line). */
static int recv_response(struct run *r, enum flow_wait wait, const char *what,
                         struct resp_line *resp)
{
    size_t len;
    for (;;) {
        if (aborted(r) != 0)
            return -1;
        if (console_read_line(r->env->console, r->line, sizeof(r->line), &len, deadline(r, wait),
                              r->err) != 0)
            return ft_error_prefix(r->err, "waiting for the %s response", what);
        int rc = resp_parse_line(r->line, len, RESP_CRC_NONE, resp, r->err);
        if (rc < 0)
            return ft_error_prefix(r->err, "%s response", what);
        if (rc == 0)
            continue; /* an unrelated line before the response */
        if (resp->kind == RESP_ERR)
            return ft_fail(r->err, FT_E_DEVICE, "the chip answered RESP_ERR:%.*s to the %s step",
                           (int)(resp->json_len < 200 ? resp->json_len : 200), resp->json, what);
        return 0;
    }
}

/* ---- endorsement service helpers ----------------------------------------------------- */

/* Calls `rpc` with a message encoded by `to_json`; the reply body stays in *reply. A
 * failure is the service's, whatever its code and whatever the step. */
/* A service that restarted has forgotten the session: upstream's auth interceptor
 * answers INTERNAL "user not found" (auth_interceptor.go, docs/pa-api.md). */
static bool session_lost(const struct pa_reply *reply)
{
    return reply->grpc_code == 13 && strstr(reply->message, "user not found") != NULL;
}

/* Calls an idempotent RPC; a session the service lost is opened again once. */
static int pa_call(struct run *r, const char *rpc, json_t *msg, struct pa_reply *reply)
{
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (text == NULL)
        return ft_fail(r->err, FT_E_NOMEM, "%s: cannot encode the request", rpc);
    int rc = aborted(r) != 0
                 ? -1
                 : pa_client_call(r->env->pa, rpc, text, strlen(text), true, reply, r->err);
    if (rc != 0 && r->env->reopen_session != NULL && session_lost(reply) && aborted(r) == 0) {
        struct ft_error first = *r->err;
        if (r->env->reopen_session(r->env->reopen_arg, r->err) == 0)
            rc = pa_client_call(r->env->pa, rpc, text, strlen(text), true, reply, r->err);
        else
            *r->err = first; /* the original failure says more than the re-open's */
    }
    free(text);
    if (rc != 0 && r->err->code != FT_E_ABORTED)
        r->rec->blame = FLOW_BLAME_SERVICE;
    return rc;
}

/* ---- step 2: RMA token hash ------------------------------------------------------------ */

static int rma_token_hash(struct run *r, uint8_t hash[16])
{
    if (r->env->benchtop) {
        uint8_t token[16];
        if (RAND_priv_bytes(token, sizeof(token)) != 1)
            return ft_fail(r->err, FT_E_INVALID, "cannot draw a random RMA token");
        int rc = lc_token_hash(token, hash);
        OPENSSL_cleanse(token, sizeof(token));
        return rc == 0 ? 0 : ft_fail(r->err, FT_E_INVALID, "cannot hash the RMA token");
    }
    struct flow_rma_token *ahead = r->env->rma_token;
    if (ahead != NULL && ahead->wrapped_seed != NULL &&
        strcmp(ahead->sku, r->env->sku->name) == 0) {
        memcpy(hash, ahead->hash, 16);
        r->rec->wrapped_rma_seed = ahead->wrapped_seed; /* moved: this chip's alone */
        r->rec->wrapped_rma_seed_len = ahead->wrapped_seed_len;
        ahead->wrapped_seed = NULL;
        flow_rma_token_discard(ahead);
        return 0;
    }
    struct flow_rma_token tok = {0};
    if (aborted(r) != 0)
        return -1;
    if (flow_rma_token_fetch(r->env->pa, r->env->sku, &tok, r->err) != 0) {
        if (r->err->code != FT_E_ABORTED)
            r->rec->blame = FLOW_BLAME_SERVICE;
        return -1;
    }
    memcpy(hash, tok.hash, 16);
    r->rec->wrapped_rma_seed = tok.wrapped_seed;
    r->rec->wrapped_rma_seed_len = tok.wrapped_seed_len;
    tok.wrapped_seed = NULL;
    flow_rma_token_discard(&tok);
    return 0;
}

int flow_rma_token_fetch(struct pa_client *pa, const struct flow_sku *sku,
                         struct flow_rma_token *tok, struct ft_error *err)
{
    memset(tok, 0, sizeof(*tok));
    /* As the ATE does: a fresh KEYGEN seed, the hashed LC token derived from it over the
     * zero-padded "rma" diversifier, and the seed wrapped to the SKU's RMA key. */
    struct pa_derive_tokens_request req = {.params_count = 1};
    snprintf(req.sku, sizeof(req.sku), "%s", sku->name);
    struct pa_token_params *p = &req.params[0];
    p->seed = PA_TOKEN_SEED_KEYGEN;
    p->type = PA_TOKEN_TYPE_HASHED_OT_LC_TOKEN;
    p->size = PA_TOKEN_SIZE_128_BITS;
    p->wrap_seed = true;
    memcpy(p->diversifier.data, "rma", 3);
    p->diversifier.len = 48;
    json_t *msg = NULL;
    char *text = NULL;
    struct pa_reply reply = {0};
    struct pa_derive_tokens_response resp = {0};
    int rc = -1;
    if (pa_derive_tokens_request_to_json(&req, &msg, err) != 0)
        goto done;
    if ((text = json_dumps(msg, JSON_COMPACT)) == NULL) {
        ft_fail(err, FT_E_NOMEM, "DeriveTokens: cannot encode the request");
        goto done;
    }
    if (pa_client_call(pa, "DeriveTokens", text, strlen(text), true, &reply, err) != 0)
        goto done;
    if (pa_derive_tokens_response_from_json(reply.body, reply.body_len, &resp, err) != 0 ||
        resp.tokens_count != 1 || resp.tokens[0].token.len != 16) {
        if (err->code == FT_OK)
            ft_fail(err, FT_E_PROTOCOL, "DeriveTokens: expected one 16-byte token");
        ft_error_prefix(err, "DeriveTokens reply");
        goto done;
    }
    if ((tok->wrapped_seed = malloc(resp.tokens[0].wrapped_seed.len + 1)) == NULL) {
        ft_fail(err, FT_E_NOMEM, "out of memory");
        goto done;
    }
    memcpy(tok->wrapped_seed, resp.tokens[0].wrapped_seed.data, resp.tokens[0].wrapped_seed.len);
    tok->wrapped_seed_len = resp.tokens[0].wrapped_seed.len;
    memcpy(tok->hash, resp.tokens[0].token.data, 16);
    snprintf(tok->sku, sizeof(tok->sku), "%s", sku->name);
    rc = 0;
done:
    json_decref(msg);
    free(text);
    pa_derive_tokens_response_free(&resp);
    pa_reply_release(&reply);
    return rc;
}

void flow_rma_token_discard(struct flow_rma_token *tok)
{
    if (tok->wrapped_seed != NULL)
        OPENSSL_cleanse(tok->wrapped_seed, tok->wrapped_seed_len);
    free(tok->wrapped_seed);
    OPENSSL_cleanse(tok, sizeof(*tok));
}

/* The first prompt: the RMA one, or, on a chip whose SECRET2 an earlier run wrote (the
 * perso firmware checks the partition and skips the RMA step), the certificate inputs. */
static int first_prompt(struct run *r, bool *secret2_earlier)
{
    uint64_t until = deadline(r, FLOW_WAIT_RMA);
    size_t len;
    for (;;) {
        if (aborted(r) != 0)
            return -1;
        if (console_read_line(r->env->console, r->line, sizeof(r->line), &len, until, r->err) != 0)
            return ft_error_prefix(r->err, "waiting for \"%s\"", SYNC_RMA);
        *secret2_earlier = strstr(r->line, SYNC_CERTGEN) != NULL;
        if (*secret2_earlier || strstr(r->line, SYNC_RMA) != NULL)
            return 0;
    }
}

static int step_rma(struct run *r)
{
    begin(r, FLOW_STEP_RMA);
    bool earlier = false;
    if (first_prompt(r, &earlier) != 0)
        return failed(r, STATE_UNTOUCHED);
    if (earlier) {
        /* Nothing to send: the seed comes from that run's record once the export names
         * the device (step_process). */
        r->rec->secret2_earlier = true; /* its prompt was the certificate inputs one */
        end(r);
        return journal(r, STATE_SECRETS) == 0 ? 0 : failed(r, STATE_SECRETS);
    }
    uint8_t hash[16];
    if (rma_token_hash(r, hash) != 0)
        return failed(r, STATE_UNTOUCHED);
    memcpy(r->rec->rma_token_hash, hash, sizeof(hash));
    /* Durable before the first byte of the hash leaves: from then on the chip may hold
     * SECRET2, which only the wrapped seed in this record can ever unlock. */
    if (journal(r, STATE_HASH_SENDING) != 0)
        return failed(r, STATE_UNTOUCHED);
    uint64_t words[2];
    lc_token_hash_words(hash, words);
    char buf[UJSON_LC_TOKEN_HASH_SIZE + UJSON_CRC_OBJ_SIZE + 1];
    struct strbuf sb;
    strbuf_init(&sb, buf, sizeof(buf));
    /* The chip resets once it has SECRET2: its banner is no signal from here on. */
    console_expect_reset(r->env->console);
    /* Two writes, as upstream: the padded message, then its CRC object. */
    if (ujson_lc_token_hash(&sb, words, r->err) != 0 ||
        send(r, buf, UJSON_LC_TOKEN_HASH_SIZE, FLOW_WAIT_RMA) != 0 ||
        send(r, buf + UJSON_LC_TOKEN_HASH_SIZE, UJSON_CRC_OBJ_SIZE, FLOW_WAIT_RMA) != 0)
        return failed(r, STATE_HASH_SENDING);
    /* The chip resets itself after writing SECRET2: its frame counter starts over. */
    console_reset_frames(r->env->console);
    end(r);
    return journal(r, STATE_SECRETS) == 0 ? 0 : failed(r, STATE_SECRETS);
}

/* ---- steps 3-4: certificate inputs and export ------------------------------------------ */

static int step_certgen(struct run *r)
{
    begin(r, FLOW_STEP_WAIT_READY);
    if (!r->rec->secret2_earlier && wait_for(r, SYNC_CERTGEN, FLOW_WAIT_CERTGEN) != 0)
        return failed(r, chip_state(r, STATE_SECRETS, STATE_SECRETS));
    end(r);
    begin(r, FLOW_STEP_CERTGEN);
    const struct flow_ca *ca = r->env->ca;
    const struct fw_gen_info *gen = fw_gen_info(r->env->sku->firmware);
    struct certgen_inputs in = {.dice_auth_key_key_id_len = 20,
                                .has_blob_version = gen->certgen_blob_version,
                                .blob_version = (uint16_t)r->env->sku->blob_version,
                                .padded_size = gen->certgen_size};
    memcpy(in.dice_auth_key_key_id, ca->dice_key_id, 20);
    if (ca->has_ext_key_id) {
        memcpy(in.ext_auth_key_key_id, ca->ext_key_id, 20);
        in.ext_auth_key_key_id_len = 20;
    }
    char buf[UJSON_CERTGEN_INPUTS_MAX + 1];
    struct strbuf sb;
    strbuf_init(&sb, buf, sizeof(buf));
    if (ujson_certgen_inputs(&sb, &in, r->err) != 0 || send(r, buf, sb.len, FLOW_WAIT_CERTGEN) != 0)
        return failed(r, STATE_SECRETS);
    end(r);
    return 0;
}

/* A chip of another firmware generation than the SKU's shows itself between the
 * certificate inputs and the export: earlgrey-1.0.0 prints "Blob version: N" there, the
 * others never do, and firmware older than earlgrey-1.0.0 refuses inputs that carry a
 * blob_version (docs/wire-formats.md "Firmware generations"). */
static int mismatch(struct run *r, const char *what)
{
    r->rec->blame = FLOW_BLAME_CHECK;
    return ft_fail(r->err, FT_E_DEVICE,
                   "%s: the chip does not run %s perso firmware, which the SKU's \"firmware\" "
                   "names; check the SKU file against the chip's firmware",
                   what, fw_gen_info(r->env->sku->firmware)->name);
}

static int wait_export(struct run *r)
{
    const struct fw_gen_info *gen = fw_gen_info(r->env->sku->firmware);
    bool printed_version = false;
    size_t len;
    for (;;) {
        if (aborted(r) != 0)
            return -1;
        if (console_read_line(r->env->console, r->line, sizeof(r->line), &len,
                              deadline(r, FLOW_WAIT_EXPORT), r->err) != 0) {
            ft_error_prefix(r->err, "waiting for \"%s\"", SYNC_EXPORT);
            const struct console_signal_report *s = chip_signal(r);
            if (s != NULL && s->kind != CONSOLE_SIGNAL_RESET && gen->certgen_blob_version)
                ft_error_suffix(r->err,
                                "; it refused the certificate inputs, as a2-rc17 and older "
                                "firmware refuses their blob_version field: check the SKU's "
                                "\"firmware\" (%s) against the chip's",
                                gen->name);
            return -1;
        }
        const char *v = strstr(r->line, "Blob version: ");
        if (v != NULL) {
            unsigned n = 0;
            if (!gen->prints_blob_version)
                return mismatch(r, "the chip printed \"Blob version\", as only earlgrey-1.0.0 "
                                   "firmware does");
            if (sscanf(v, "Blob version: %u", &n) != 1 || n != r->env->sku->blob_version)
                return ft_fail(r->err, FT_E_DEVICE,
                               "the chip printed \"%.40s\" for the blob version %u it was sent", v,
                               (unsigned)r->env->sku->blob_version);
            printed_version = true;
        } else if (strstr(r->line, SYNC_EXPORT) != NULL) {
            if (gen->prints_blob_version && !printed_version)
                return mismatch(r, "the chip went on to the export without printing \"Blob "
                                   "version\", which earlgrey-1.0.0 firmware prints");
            return 0;
        }
    }
}

/* Iterates the chip's exported body as its firmware generation wrote it. */
static void chip_blob_iter(const struct run *r, struct perso_tlv_iter *it)
{
    const struct flow_sku *sku = r->env->sku;
    perso_tlv_iter_init(it, r->blob.body, r->blob.next_free, sku->blob_version, NULL);
    perso_tlv_iter_allow_v0(it, fw_gen_info(sku->firmware)->v0_headed_in_v1);
}

static int step_export(struct run *r)
{
    begin(r, FLOW_STEP_EXPORT);
    const struct flow_sku *sku = r->env->sku;
    struct resp_line resp;
    if (wait_export(r) != 0)
        return failed(r, chip_state(r, STATE_SECRETS, STATE_SECRETS));
    /* The export is 20 KiB in frames of 2 KiB: each read whole in one exchange. */
    console_expect_bulk(r->env->console, true);
    int received = recv_response(r, FLOW_WAIT_EXPORT, "TBS export", &resp);
    console_expect_bulk(r->env->console, false);
    if (received != 0 ||
        devmsg_decode_perso_blob(resp.json, resp.json_len, &r->blob, r->err) != 0 ||
        perso_blob_validate_mixed(&r->blob, sku->blob_version,
                                  fw_gen_info(sku->firmware)->v0_headed_in_v1, r->err) != 0)
        return failed(r, chip_state(r, STATE_SECRETS, STATE_SECRETS));
    end(r);
    return 0;
}

/* ---- step 5-7: checks, endorsement, the body going back -------------------------------- */

static X509 *ca_of(const struct run *r, enum flow_ca_kind which)
{
    return which == FLOW_CA_DICE ? r->env->ca->dice : r->env->ca->ext;
}

static int keep_cert(struct run *r, const char *name, const uint8_t *der, size_t len,
                     enum flow_cert_origin origin)
{
    struct flow_record *rec = r->rec;
    if (rec->n_certs == FLOW_CERTS_MAX)
        return ft_fail(r->err, FT_E_CAPACITY, "more than %u certificates", FLOW_CERTS_MAX);
    struct flow_cert *c = &rec->certs[rec->n_certs];
    c->der = malloc(len);
    if (c->der == NULL)
        return ft_fail(r->err, FT_E_NOMEM, "out of memory");
    memcpy(c->der, der, len);
    c->len = len;
    c->origin = origin;
    snprintf(c->name, sizeof(c->name), "%s", name);
    rec->n_certs++;
    return 0;
}

static int keep_seed(struct run *r, const struct perso_obj *obj)
{
    struct flow_record *rec = r->rec;
    if (rec->n_seeds == FLOW_SEEDS_MAX)
        return ft_fail(r->err, FT_E_INVALID, "the chip sent more than %u seed objects",
                       FLOW_SEEDS_MAX);
    struct flow_seed *seed = &rec->seeds[rec->n_seeds++];
    seed->type = obj->type;
    memcpy(seed->data, obj->payload, obj->payload_len); /* <= 128: the decoder's rule */
    seed->len = obj->payload_len;
    return 0;
}

/* Checks every object against the SKU before anything leaves the host. */
static int check_objects(struct run *r, struct pa_endorse_certs_request *req)
{
    const struct flow_sku *sku = r->env->sku;
    bool seen[FLOW_SKU_CERTS_MAX] = {false};
    struct perso_tlv_iter it;
    struct perso_obj obj;
    chip_blob_iter(r, &it);
    unsigned dev_seeds = 0;
    int rc;
    while ((rc = perso_tlv_iter_next(&it, &obj, r->err)) == 1) {
        if (obj.type == PERSO_OBJ_DEV_SEED || obj.type == PERSO_OBJ_GENERIC_SEED) {
            if (keep_seed(r, &obj) != 0)
                return -1;
            dev_seeds += obj.type == PERSO_OBJ_DEV_SEED;
        }
        if (obj.type == PERSO_OBJ_WAS_TBS_HMAC) {
            memcpy(r->was_tag, obj.payload, 32);
            r->has_was_tag = true;
        } else if (obj.type == PERSO_OBJ_DEVICE_ID) {
            memcpy(r->rec->device_id, obj.payload, 32);
            r->rec->has_device_id = true;
        } else if (obj.type == PERSO_OBJ_PERSO_SHA256_HASH) {
            memcpy(r->rec->perso_fw_hash, obj.payload, 32);
        }
        if (!perso_obj_type_is_cert(obj.type))
            continue;
        if (obj.header_version != sku->blob_version)
            return ft_fail(r->err, FT_E_INVALID,
                           "the chip wrote \"%s\" with a V0 header in a V1 blob, and its "
                           "firmware leaves such an object out of its WAS HMAC "
                           "(tpm_personalize_ext.c): it cannot be endorsed; use blob_version 0",
                           obj.name);
        const struct flow_sku_cert *want = flow_sku_find_cert(sku, obj.name);
        if (want == NULL)
            return ft_fail(r->err, FT_E_INVALID,
                           "the chip sent a certificate \"%s\" the SKU does not expect", obj.name);
        size_t idx = (size_t)(want - sku->certs);
        if (seen[idx])
            return ft_fail(r->err, FT_E_INVALID, "the chip sent \"%s\" twice", obj.name);
        seen[idx] = true;
        enum perso_obj_type type = want->host_endorsed ? PERSO_OBJ_X509_TBS : PERSO_OBJ_X509_CERT;
        if (obj.type != type)
            return ft_fail(r->err, FT_E_INVALID, "\"%s\" is a %s object, the SKU expects %s",
                           obj.name, perso_obj_type_name(obj.type), perso_obj_type_name(type));
        if (obj.cert_len > want->max_size)
            return ft_fail(r->err, FT_E_INVALID, "\"%s\" is %zu bytes, the SKU allows %zu",
                           obj.name, obj.cert_len, want->max_size);
        X509 *ca = ca_of(r, want->ca);
        if (ca == NULL)
            return ft_fail(r->err, FT_E_INVALID,
                           "\"%s\" needs the ext CA, which this SKU session lacks", obj.name);
        if (type == PERSO_OBJ_X509_TBS) {
            if (cert_check_tbs(obj.name, obj.cert, obj.cert_len, ca, r->err) != 0)
                return -1;
            if (pa_endorse_certs_request_add_tbs(req, obj.name, obj.cert, obj.cert_len, r->err) !=
                0)
                return -1;
        } else {
            X509 *x = cert_parse_der(obj.cert, obj.cert_len, r->err);
            if (x == NULL)
                return ft_error_prefix(r->err, "%s", obj.name);
            X509_free(x);
        }
    }
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < sku->n_certs; i++) {
        if (!seen[i])
            return ft_fail(r->err, FT_E_INVALID, "the chip sent no \"%s\" certificate",
                           sku->certs[i].name);
    }
    if (!r->has_was_tag || !r->rec->has_device_id)
        return ft_fail(r->err, FT_E_INVALID, "the blob lacks its WasTbsHmac or DeviceId object");
    if (dev_seeds != sku->dev_seeds)
        return ft_fail(r->err, FT_E_INVALID, "the chip sent %u DevSeed objects, the SKU expects %u",
                       dev_seeds, sku->dev_seeds);
    return 0;
}

/* Benchtop: the WAS HMAC checked here, from the SKU's seed. */
static int check_was_locally(struct run *r, const struct pa_endorse_certs_request *req)
{
    const struct flow_sku *sku = r->env->sku;
    uint8_t was[WAS_SIZE], tag[32];
    if (was_derive(sku->was_seed, sizeof(sku->was_seed), (const uint8_t *)sku->was_diversifier,
                   strlen(sku->was_diversifier), was, r->err) != 0)
        return -1;
    struct was_hmac *h = was_hmac_new(was, r->err);
    OPENSSL_cleanse(was, sizeof(was));
    for (size_t i = 0; h != NULL && i < req->bundles_count; i++)
        was_hmac_update(h, req->bundles[i].tbs.data, req->bundles[i].tbs.len, NULL);
    if (h == NULL || was_hmac_final(h, tag, r->err) != 0)
        return -1;
    if (CRYPTO_memcmp(tag, r->was_tag, 32) != 0)
        return ft_fail(r->err, FT_E_INVALID,
                       "WAS HMAC mismatch: the chip's TBS HMAC does not match the SKU's WAS");
    return 0;
}

static int endorse(struct run *r, struct pa_endorse_certs_request *req,
                   struct pa_endorse_certs_response *resp)
{
    snprintf(req->sku, sizeof(req->sku), "%s", r->env->sku->name);
    memcpy(req->signature.data, r->was_tag, 32);
    req->signature.len = 32;
    size_t div = strlen(r->env->sku->was_diversifier);
    memcpy(req->diversifier.data, r->env->sku->was_diversifier, div);
    req->diversifier.len = 48; /* zero-padded, as the ATE sends it */
    json_t *msg = NULL;
    struct pa_reply reply = {0};
    int rc = -1;
    if (pa_endorse_certs_request_to_json(req, &msg, r->err) == 0 &&
        pa_call(r, "EndorseCerts", msg, &reply) == 0 &&
        pa_endorse_certs_response_from_json(reply.body, reply.body_len, resp, r->err) == 0)
        rc = 0;
    pa_reply_release(&reply);
    if (rc == 0 && resp->certs_count != req->bundles_count)
        rc = ft_fail(r->err, FT_E_PROTOCOL, "EndorseCerts returned %zu certificates for %zu TBS",
                     resp->certs_count, req->bundles_count);
    return rc;
}

/* Builds the host->device body and the host's certs hash, in blob order. */
static int build_back(struct run *r, const struct pa_endorse_certs_request *req,
                      const struct pa_endorse_certs_response *resp)
{
    const struct flow_sku *sku = r->env->sku;
    struct perso_tlv_writer w;
    struct perso_tlv_iter it;
    struct perso_obj obj;
    if (perso_tlv_writer_init(&w, r->back.body, sizeof(r->back.body), sku->blob_version, r->err) !=
        0)
        return -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    chip_blob_iter(r, &it);
    size_t k = 0;
    int rc = 0;
    while (rc == 0 && perso_tlv_iter_next(&it, &obj, NULL) == 1) {
        if (obj.type == PERSO_OBJ_DEV_SEED) {
            EVP_DigestUpdate(md, obj.payload, obj.payload_len);
            continue;
        }
        if (!perso_obj_type_is_cert(obj.type))
            continue;
        if (obj.type != PERSO_OBJ_X509_TBS) {
            EVP_DigestUpdate(md, obj.cert, obj.cert_len);
            rc = keep_cert(r, obj.name, obj.cert, obj.cert_len, FLOW_CERT_DEVICE);
            continue;
        }
        const struct pa_cert_bundle *b = &resp->certs[k];
        const struct pa_endorse_cert_bundle *sent = &req->bundles[k++];
        const struct flow_sku_cert *want = flow_sku_find_cert(sku, obj.name);
        if (strcmp(b->key_label, sent->key_params.key_label) != 0)
            rc = ft_fail(r->err, FT_E_PROTOCOL, "EndorseCerts answered %s where %s was asked",
                         b->key_label, sent->key_params.key_label);
        else if (cert_check_endorsed(obj.name, b->cert.blob.data, b->cert.blob.len, sent->tbs.data,
                                     sent->tbs.len, ca_of(r, want->ca), r->err) != 0 ||
                 perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, obj.name, b->cert.blob.data,
                                       b->cert.blob.len, r->err) != 0 ||
                 keep_cert(r, obj.name, b->cert.blob.data, b->cert.blob.len, FLOW_CERT_HOST) != 0)
            rc = -1;
        else
            EVP_DigestUpdate(md, b->cert.blob.data, b->cert.blob.len);
    }
    unsigned int dlen = 32;
    EVP_DigestFinal_ex(md, r->host_digest, &dlen);
    EVP_MD_CTX_free(md);
    if (rc == 0)
        rc = perso_blob_from_writer(&r->back, &w, r->err);
    return rc;
}

/* A chip that skipped the RMA prompt holds SECRET2 from an earlier run: its record must
 * give this one the wrapped seed, or nothing may proceed (the chip could never be
 * RMA-unlocked). */
static int recover_seed(struct run *r)
{
    if (!r->rec->secret2_earlier || r->env->benchtop)
        return 0;
    int found = r->env->find_earlier != NULL
                    ? r->env->find_earlier(r->env->persist_arg, r->rec->device_id, r->rec, r->err)
                    : 0;
    if (found < 0)
        return -1;
    if (found == 0) {
        r->rec->blame = FLOW_BLAME_CHIP;
        return ft_fail(r->err, FT_E_DEVICE,
                       "the chip holds SECRET2 from an earlier run (it skipped the RMA prompt) "
                       "and no record of this device with its wrapped RMA seed is in the record "
                       "directory: quarantine the chip and find that record; without it the chip "
                       "can never be RMA-unlocked");
    }
    return journal(r, STATE_SECRETS);
}

static int step_process(struct run *r)
{
    begin(r, FLOW_STEP_PROCESS);
    struct pa_endorse_certs_request req = {0};
    struct pa_endorse_certs_response resp = {0};
    int rc = check_objects(r, &req);
    if (rc == 0)
        rc = recover_seed(r);
    if (rc == 0 && r->env->sku->benchtop_was)
        rc = check_was_locally(r, &req);
    if (rc == 0)
        rc = endorse(r, &req, &resp);
    if (rc == 0)
        rc = build_back(r, &req, &resp);
    pa_endorse_certs_request_free(&req);
    pa_endorse_certs_response_free(&resp);
    if (rc != 0)
        return failed(r, STATE_SECRETS);
    end(r);
    return 0;
}

static bool same_cert(const struct flow_cert *c, const struct perso_obj *obj)
{
    return obj->type == PERSO_OBJ_X509_CERT && strcmp(c->name, obj->name) == 0 &&
           c->len == obj->cert_len && memcmp(c->der, obj->cert, obj->cert_len) == 0;
}

/* Index of the record's certificate equal to `obj`, or n_certs. */
static size_t find_cert(const struct flow_record *rec, const struct perso_obj *obj)
{
    size_t i = 0;
    while (i < rec->n_certs && !same_cert(&rec->certs[i], obj))
        i++;
    return i;
}

/* Whether the body the chip gets still holds `c`. */
static bool body_holds(const struct run *r, const struct flow_cert *c)
{
    struct perso_tlv_iter it;
    struct perso_obj obj;
    if (perso_tlv_iter_init(&it, r->back.body, r->back.next_free, r->env->sku->blob_version,
                            NULL) != 0)
        return false;
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1) {
        if (same_cert(c, &obj))
            return true;
    }
    return false;
}

/* The plugin may add, drop or reorder what goes to the chip: the record keeps the certs
 * the chip signed itself, the endorsed ones still in the body, and adds the plugin's. */
static int certs_after_plugin(struct run *r)
{
    struct flow_record *rec = r->rec;
    size_t kept = 0;
    for (size_t i = 0; i < rec->n_certs; i++) {
        if (rec->certs[i].origin == FLOW_CERT_HOST && !body_holds(r, &rec->certs[i]))
            free(rec->certs[i].der);
        else
            rec->certs[kept++] = rec->certs[i];
    }
    rec->n_certs = kept;
    struct perso_tlv_iter it;
    struct perso_obj obj;
    int rc = perso_tlv_iter_init(&it, r->back.body, r->back.next_free, r->env->sku->blob_version,
                                 r->err);
    while (rc == 0 && (rc = perso_tlv_iter_next(&it, &obj, r->err)) == 1) {
        rc = 0;
        if (obj.type == PERSO_OBJ_X509_CERT && find_cert(rec, &obj) == rec->n_certs)
            rc = keep_cert(r, obj.name, obj.cert, obj.cert_len, FLOW_CERT_PLUGIN);
    }
    return rc;
}

static int step_ft_ext(struct run *r)
{
    begin(r, FLOW_STEP_FT_EXT);
    const char *plugin = r->env->sku->plugin;
    size_t len = r->back.next_free, num = r->back.num_objs;
    snprintf(r->rec->plugin, sizeof(r->rec->plugin), "%s", plugin);
    if (r->env->plugin(r->env->plugin_arg, r->env->sku, r->rec->device_id, r->back.body, &len,
                       sizeof(r->back.body), &num, r->rec->plugin_version, r->err) != 0)
        return failed(r, STATE_SECRETS);
    r->back.next_free = (uint32_t)len;
    r->back.num_objs = (uint32_t)num;
    if (perso_blob_validate(&r->back, r->env->sku->blob_version, r->err) != 0 ||
        certs_after_plugin(r) != 0) {
        ft_error_prefix(r->err, "plugin %s output", plugin);
        r->err->code = FT_E_PLUGIN;
        return failed(r, STATE_SECRETS);
    }
    end(r);
    return 0;
}

/* ---- steps 9-12: import, hash, validation, done ---------------------------------------- */

static int step_import(struct run *r)
{
    begin(r, FLOW_STEP_IMPORT);
    struct strbuf sb;
    strbuf_init(&sb, r->json, sizeof(r->json));
    if (wait_for(r, SYNC_IMPORT, FLOW_WAIT_IMPORT) != 0 ||
        ujson_perso_blob(&sb, &r->back, UJSON_HOST_FORM, r->err) != 0 ||
        send(r, sb.data, sb.len, FLOW_WAIT_IMPORT) != 0)
        return failed(r, chip_state(r, STATE_SECRETS, STATE_SECRETS));
    uint8_t digest[32];
    struct resp_line resp;
    /* Until the chip says it finished, a chip that stops has refused the body. */
    if (wait_for(r, SYNC_IMPORTED, FLOW_WAIT_IMPORT) != 0)
        return failed(r, chip_state(r, STATE_CERTS, STATE_REFUSED));
    if (recv_response(r, FLOW_WAIT_HASH, "certs hash", &resp) != 0 ||
        devmsg_decode_sha256_hash(resp.json, resp.json_len, digest, r->err) != 0)
        return failed(r, chip_state(r, STATE_CERTS, STATE_FAILED_AFTER_IMPORT));
    if (memcmp(digest, r->host_digest, 32) != 0) {
        char host[65], dev[65];
        hex_encode(r->host_digest, 32, host, sizeof(host), NULL);
        hex_encode(digest, 32, dev, sizeof(dev), NULL);
        ft_fail(r->err, FT_E_DEVICE, "Host (%s) vs Device (%s) certs hash mismatch", host, dev);
        return failed(r, STATE_CERTS);
    }
    /* The registry gets the hash as the chip sends it: little-endian words. */
    for (size_t i = 0; i < 32; i++)
        r->rec->certs_hash[i] = digest[31 - i];
    end(r);
    return journal(r, STATE_CERTS) == 0 ? 0 : failed(r, STATE_CERTS);
}

static X509 *parsed(const struct flow_record *rec, const char *name, struct ft_error *err)
{
    for (size_t i = 0; i < rec->n_certs; i++) {
        if (strcmp(rec->certs[i].name, name) == 0)
            return cert_parse_der(rec->certs[i].der, rec->certs[i].len, err);
    }
    ft_fail(err, FT_E_INVALID, "no %s certificate", name);
    return NULL;
}

/* root -> DICE ICA -> UDS -> CDI_0 -> CDI_1, the DICE TcbInfo allowed. */
static int step_validate(struct run *r)
{
    static const char *const dice[] = {"UDS", "CDI_0", "CDI_1"};
    begin(r, FLOW_STEP_VALIDATE_DICE);
    X509 *chain[4] = {r->env->ca->dice};
    size_t n = 1;
    int rc = 0;
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        if (flow_sku_find_cert(r->env->sku, dice[i]) == NULL)
            continue;
        X509 *x = parsed(r->rec, dice[i], r->err);
        if (x == NULL || cert_verify_chain(x, r->env->ca->root, chain, n, true, r->err) != 0) {
            X509_free(x);
            rc = ft_error_prefix(r->err, "DICE chain at %s", dice[i]);
            break;
        }
        chain[n++] = x;
    }
    for (size_t i = 1; i < n; i++)
        X509_free(chain[i]);
    if (rc != 0)
        return failed(r, STATE_CERTS);
    end(r);

    begin(r, FLOW_STEP_VALIDATE_SKU);
    for (size_t i = 0; i < r->rec->n_certs && rc == 0; i++) {
        const struct flow_sku_cert *c = flow_sku_find_cert(r->env->sku, r->rec->certs[i].name);
        if (c == NULL || c->ca != FLOW_CA_EXT)
            continue;
        X509 *x = cert_parse_der(r->rec->certs[i].der, r->rec->certs[i].len, r->err);
        X509 *ica = r->env->ca->ext;
        if (x == NULL || cert_verify_chain(x, r->env->ca->root, &ica, 1, false, r->err) != 0)
            rc = ft_error_prefix(r->err, "%s", r->rec->certs[i].name);
        X509_free(x);
    }
    if (rc != 0)
        return failed(r, STATE_CERTS);
    end(r);
    return 0;
}

static int step_done(struct run *r)
{
    begin(r, FLOW_STEP_DONE);
    if (wait_for(r, SYNC_DONE, FLOW_WAIT_DONE) != 0)
        return failed(r, chip_state(r, STATE_CERTS, STATE_CERTS));
    uint32_t pins, wired;
    struct ft_error ignored = {0};
    /* The GPIO tells success from failure; a plain tty or a board that does not wire
     * them has none, the text must do. */
    if (console_pins(r->env->console, &pins, &wired, &ignored) == 0) {
        if (pins & wired & SPI_BUS_PIN_TEST_ERROR) {
            ft_fail(r->err, FT_E_DEVICE, "the chip raised TestError (IOA0) at the end of perso");
            return failed(r, STATE_CERTS);
        }
        if ((wired & SPI_BUS_PIN_TEST_DONE) && !(pins & SPI_BUS_PIN_TEST_DONE)) {
            ft_fail(r->err, FT_E_DEVICE, "the chip did not raise TestDone (IOA1)");
            return failed(r, STATE_CERTS);
        }
    }
    end(r);
    /* Registrable from here: DeviceData's create_time_ms, kept in the record so that
     * registering again, now or later, sends the same bytes. Upstream's ATE registers at
     * this point, before the boot check. */
    r->rec->register_ms = unix_ms();
    return journal(r, STATE_DONE) == 0 ? 0 : failed(r, STATE_DONE);
}

/* ---- step 1: the ROM bootstrap ----------------------------------------------------------- */

/* Resets into the ROM bootstrap (straps high), programs `image`, and resets out of it.
 * The second image is sent when the first one asks for it. */
static int bootstrap_one(struct run *r, enum flow_step step, const uint8_t *image, size_t len)
{
    begin(r, step);
    struct bootstrap_stats stats;
    if ((step == FLOW_STEP_BOOTSTRAP2 &&
         wait_for(r, SYNC_BOOTSTRAP_REQUESTED, FLOW_WAIT_BOOTSTRAP) != 0) ||
        console_chip_reset(r->env->console, true, r->err) != 0 ||
        bootstrap_program(r->env->bootstrap_bus, image, len,
                          fw_gen_info(r->env->sku->firmware)->nvm_size,
                          deadline(r, FLOW_WAIT_BOOTSTRAP), r->env->upload_progress,
                          r->env->progress_arg, &stats, r->err) != 0 ||
        console_chip_reset(r->env->console, false, r->err) != 0)
        return failed(r, STATE_FIRMWARE);
    end(r);
    return 0;
}

static int step_bootstrap(struct run *r)
{
    const struct flow_env *env = r->env;
    if (env->bootstrap_image_len == 0)
        return 0;
    if (env->bootstrap_bus == NULL) {
        begin(r, FLOW_STEP_BOOTSTRAP);
        ft_fail(r->err, FT_E_INVALID, "the SKU bootstraps an image but the link has no SPI bus");
        return failed(r, STATE_UNTOUCHED);
    }
    if (bootstrap_one(r, FLOW_STEP_BOOTSTRAP, env->bootstrap_image, env->bootstrap_image_len) != 0)
        return -1;
    if (env->bootstrap_second_image_len == 0)
        return 0;
    return bootstrap_one(r, FLOW_STEP_BOOTSTRAP2, env->bootstrap_second_image,
                         env->bootstrap_second_image_len);
}

/* ---- step 14: the post-perso boot check ------------------------------------------------ */

/* Copies console text into `out` for a message: printable ASCII only, no '\r'. */
static void printable(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (; *text != '\0' && *text != '\r' && n + 1 < cap; text++)
        out[n++] = *text >= 0x20 && *text < 0x7f ? *text : '?';
    out[n] = '\0';
}

/* Upstream's check_slot_b_boot_up: after a reset the UART shows "ROM_EXT:<version>",
 * then the plugin's post-boot text (if it gives one), then the owner firmware's success
 * text; a boot fault ("BFV:") or a rejected UDS certificate after the banner fails the
 * chip. Lines before the banner belong to the perso boot and are skipped. Runs before
 * registration, as upstream's does. */
static int step_boot_check(struct run *r)
{
    const struct flow_sku *sku = r->env->sku;
    struct console *uart = r->env->boot_console;
    if (!sku->boot_check)
        return 0;
    /* The boot check resets the chip and reads its banners and boot faults itself (the
     * UART may be the perso console). */
    console_watch(r->env->console, NULL);
    if (uart == NULL) {
        snprintf(r->rec->boot_check, sizeof(r->rec->boot_check),
                 "skipped: the link has no UART with a reset pin");
        return 0;
    }
    begin(r, FLOW_STEP_BOOT);
    char plugin_text[FT_ERROR_MESSAGE_MAX] = "";
    if (r->env->post_boot != NULL &&
        r->env->post_boot(r->env->plugin_arg, sku, r->rec->device_id, r->back.body,
                          r->back.next_free, r->back.num_objs, plugin_text, sizeof(plugin_text),
                          r->err) != 0)
        return failed(r, STATE_DONE);
    /* What must come next: the banner, the plugin's text (skipped when empty), the owner's. */
    const char *expected[] = {"ROM_EXT:", plugin_text, r->env->ca->owner_boot_text};
    size_t stage = 0;
    uint64_t until = deadline(r, FLOW_WAIT_BOOT);
    /* The reset pin is on the console's link (SPI adapter or ftsim socket), which may not
     * be the UART's. */
    if (console_chip_reset(r->env->console, false, r->err) != 0) {
        if (r->err->code != FT_E_INVALID)
            return failed(r, STATE_DONE);
        r->rec->step_ran[FLOW_STEP_BOOT] = false;
        *r->err = (struct ft_error){0};
        snprintf(r->rec->boot_check, sizeof(r->rec->boot_check),
                 "skipped: the console link has no reset pin");
        return 0;
    }
    while (stage < 3) {
        size_t len;
        if (console_read_line(uart, r->line, sizeof(r->line), &len, until, r->err) != 0) {
            ft_error_prefix(r->err, "after reset, waiting for \"%s\"", expected[stage]);
            return failed(r, STATE_DONE);
        }
        if (stage > 0 &&
            (strstr(r->line, "BFV:") || strstr(r->line, "UDS certificate not valid"))) {
            char text[96];
            printable(r->line, text, sizeof(text));
            ft_fail(r->err, FT_E_DEVICE, "the chip failed to boot after personalization: %s", text);
            return failed(r, STATE_DONE);
        }
        /* Like upstream's "x.*y": several expected texts may share a line, in order. */
        const char *at = r->line;
        while (stage < 3) {
            const char *found = strstr(at, expected[stage]);
            if (found == NULL)
                break;
            if (stage == 0)
                printable(found + strlen("ROM_EXT:"), r->rec->rom_ext_version,
                          sizeof(r->rec->rom_ext_version));
            at = found + strlen(expected[stage]);
            stage++;
        }
    }
    snprintf(r->rec->boot_check, sizeof(r->rec->boot_check), "PASS");
    end(r);
    return 0;
}

/* ---- step 13: registration ------------------------------------------------------------ */

/* The registry's perso blob as the ATE packs it (docs/wire-formats.md): the V1 version
 * object, the certificates the chip signed, those the service endorsed, then the seeds,
 * each group in blob order. The service hashes the certificates in the SKU's order and the
 * DevSeeds after them, so the certs hash is the chip's. */
static int registry_blob(const struct flow_record *rec, struct pa_bytes *out, uint32_t *num_objs,
                         struct ft_error *err)
{
    static const enum flow_cert_origin groups[] = {FLOW_CERT_DEVICE, FLOW_CERT_HOST};
    struct perso_blob *tlv = malloc(sizeof(*tlv));
    struct perso_tlv_writer w;
    if (tlv == NULL)
        return ft_fail(err, FT_E_NOMEM, "out of memory");
    int rc = perso_tlv_writer_init(&w, tlv->body, sizeof(tlv->body), rec->blob_version, err);
    /* The plugin's certificates stay in the local record only: the service verifies every
     * certificate it registers against the SKU's CAs, and a plugin's need not chain there. */
    for (size_t g = 0; g < 2; g++) {
        for (size_t i = 0; rc == 0 && i < rec->n_certs; i++) {
            const struct flow_cert *c = &rec->certs[i];
            if (c->origin == groups[g])
                rc = perso_tlv_append_cert(&w, PERSO_OBJ_X509_CERT, c->name, c->der, c->len, err);
        }
    }
    for (size_t i = 0; rc == 0 && i < rec->n_seeds; i++)
        rc = perso_tlv_append_data(&w, rec->seeds[i].type, rec->seeds[i].data, rec->seeds[i].len,
                                   err);
    if (rc == 0 && (out->data = malloc(w.len)) != NULL) {
        memcpy(out->data, tlv->body, w.len);
        out->len = w.len;
        *num_objs = (uint32_t)w.num_objs;
    } else if (rc == 0) {
        rc = ft_fail(err, FT_E_NOMEM, "out of memory");
    }
    free(tlv);
    return rc;
}

int flow_register(struct pa_client *pa, const struct flow_record *rec, struct ft_error *err)
{
    struct pa_registration_request req = {0};
    struct pa_device_data *dd = &req.device_data;
    req.has_device_data = true;
    req.hash_type = PA_HASH_TYPE_SHA256;
    memcpy(req.certs_hash.data, rec->certs_hash, 32);
    req.certs_hash.len = 32;
    snprintf(dd->sku, sizeof(dd->sku), "%s", rec->sku);
    dd->has_device_id = pa_device_id_from_raw(rec->device_id, &dd->device_id, err) == 0;
    dd->device_life_cycle = rec->lc_state;
    dd->has_metadata = true;
    dd->metadata.registration_state = PA_DEVICE_REGISTRATION_STATE_PROVISIONED;
    /* From the record (step_done), so registering it again sends the same bytes (the
     * service answers a byte-identical repeat with success, other data with 409). */
    dd->metadata.create_time_ms = (uint64_t)rec->register_ms;
    dd->metadata.update_time_ms = (uint64_t)rec->register_ms;
    /* The ATE names itself by its client certificate's DNS name; without mTLS by the
     * station and site that personalized the chip (upstream: "No ATE ID"). */
    const char *ate_id = pa_client_ate_id(pa);
    snprintf(dd->metadata.ate_id, sizeof(dd->metadata.ate_id), "%s",
             ate_id != NULL ? ate_id : rec->site);
    dd->metadata.year = rec->year;
    dd->metadata.week = rec->week;
    dd->metadata.lot_num = rec->lot;
    dd->metadata.wafer_id = rec->wafer;
    dd->metadata.x = rec->x;
    dd->metadata.y = rec->y;
    memcpy(dd->perso_fw_sha256_hash.data, rec->perso_fw_hash, 32);
    dd->perso_fw_sha256_hash.len = 32;
    int rc = dd->has_device_id ? 0 : -1;
    if (rc == 0 && rec->register_ms <= 0)
        rc = ft_fail(err, FT_E_INVALID, "the record has no registration time");
    if (rc == 0 && rec->wrapped_rma_seed_len > 0) {
        dd->wrapped_rma_unlock_token.data = malloc(rec->wrapped_rma_seed_len);
        if (dd->wrapped_rma_unlock_token.data == NULL)
            rc = ft_fail(err, FT_E_NOMEM, "out of memory");
        else {
            memcpy(dd->wrapped_rma_unlock_token.data, rec->wrapped_rma_seed,
                   rec->wrapped_rma_seed_len);
            dd->wrapped_rma_unlock_token.len = rec->wrapped_rma_seed_len;
        }
    }
    if (rc == 0)
        rc = registry_blob(rec, &dd->perso_tlv_data, &dd->num_perso_tlv_objects, err);
    json_t *msg = NULL;
    char *text = NULL;
    struct pa_reply reply = {0};
    if (rc == 0 && pa_registration_request_to_json(&req, &msg, err) == 0 &&
        (text = json_dumps(msg, JSON_COMPACT)) == NULL)
        rc = ft_fail(err, FT_E_NOMEM, "RegisterDevice: cannot encode the request");
    json_decref(msg);
    if (rc == 0 && text != NULL)
        rc = pa_client_call(pa, "RegisterDevice", text, strlen(text), true, &reply, err);
    else if (rc == 0)
        rc = -1;
    free(text);
    pa_reply_release(&reply);
    pa_registration_request_free(&req);
    return rc;
}

static int step_register(struct run *r)
{
    begin(r, FLOW_STEP_REGISTER);
    if (aborted(r) != 0)
        return failed(r, STATE_DONE);
    if (flow_register(r->env->pa, r->rec, r->err) != 0) {
        if (r->err->code != FT_E_NOMEM && r->err->code != FT_E_INVALID)
            r->rec->blame = FLOW_BLAME_SERVICE;
        return failed(r, STATE_DONE);
    }
    end(r);
    return 0;
}

int flow_run(const struct flow_env *env, struct flow_record *rec, struct ft_error *err)
{
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->sku, sizeof(rec->sku), "%s", env->sku->name);
    snprintf(rec->site, sizeof(rec->site), "%s", env->site ? env->site : "");
    rec->start_ms = unix_ms();
    rec->lc_state = env->sku->lc_state;
    rec->blob_version = env->sku->blob_version;
    rec->firmware = env->sku->firmware;
    rec->year = env->year;
    rec->week = env->week;
    rec->lot = env->lot;
    rec->wafer = env->wafer;
    rec->x = env->x;
    rec->y = env->y;
    if (env->year || env->week || env->lot || env->wafer || env->x || env->y)
        snprintf(rec->din, sizeof(rec->din), "Y%uW%uL%uF%uX%uY%u", env->year, env->week, env->lot,
                 env->wafer, env->x, env->y);
    /* Every SKU names a plugin ("noop" at least): a run without the plugin step would put
     * certificates on the chip that the SKU's policy never saw. */
    if (env->plugin == NULL) {
        rec->blame = FLOW_BLAME_LOCAL;
        rec->failed_step = FLOW_STEP_FT_EXT;
        rec->error_code = FT_E_INVALID;
        rec->dut_state = STATE_UNTOUCHED;
        ft_fail(err, FT_E_INVALID, "SKU %s: no plugin step to run its plugin %s (chip untouched)",
                env->sku->name, env->sku->plugin);
        snprintf(rec->error, sizeof(rec->error), "%s", err->message);
        return -1;
    }
    struct run *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return ft_fail(err, FT_E_NOMEM, "out of memory");
    r->env = env;
    r->rec = rec;
    r->err = err;
    rec->running = true;
    /* The record exists before anything reaches the chip: a run killed at any instant
     * leaves it, with what the chip held. */
    if (journal(r, STATE_UNTOUCHED) != 0) {
        rec->running = false;
        rec->failed_step = FLOW_STEP_RMA;
        rec->error_code = err->code;
        snprintf(rec->error, sizeof(rec->error), "%s", err->message);
        free(r);
        return -1;
    }
    /* A new DUT: what the console held from before is no signal, and its boot is none. */
    console_watch(env->console, &chip_watch);
    console_expect_reset(env->console);
    int rc = step_bootstrap(r);
    if (rc == 0)
        rc = step_rma(r);
    if (rc == 0)
        rc = step_certgen(r);
    if (rc == 0)
        rc = step_export(r);
    if (rc == 0)
        rc = step_process(r);
    if (rc == 0)
        rc = step_ft_ext(r);
    if (rc == 0)
        rc = step_import(r);
    if (rc == 0)
        rc = step_validate(r);
    if (rc == 0)
        rc = step_done(r);
    if (rc == 0)
        rc = step_boot_check(r);
    if (rc == 0 && env->register_device)
        rc = step_register(r);
    console_watch(env->console, NULL); /* the caller's console, as it came */
    rec->pass = rc == 0;
    rec->running = false;
    if (rc == 0 &&
        journal(r, env->register_device ? "personalized and registered" : STATE_DONE) != 0) {
        rc = -1;
        rec->pass = false;
        rec->failed_step = FLOW_STEP_REGISTER;
        rec->error_code = err->code;
        snprintf(rec->error, sizeof(rec->error), "%s", err->message);
    }
    rec->end_ms = unix_ms();
    if (rc != 0)
        ft_error_prefix(err, "%s", flow_step_name(rec->failed_step));
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
    return rc;
}

void flow_record_free(struct flow_record *rec)
{
    for (size_t i = 0; i < rec->n_certs; i++)
        free(rec->certs[i].der);
    free(rec->wrapped_rma_seed);
    rec->n_certs = 0;
    rec->wrapped_rma_seed = NULL;
}
