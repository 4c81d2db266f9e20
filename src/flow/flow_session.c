/* A SKU session on the endorsement service: the CA material the flow checks against. */
#include <jansson.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "cert/endorse.h"
#include "flow/flow.h"
#include "pa/pa_msg.h"

static int call_json(struct pa_client *pa, const char *rpc, const char *json,
                     struct pa_reply *reply, struct ft_error *err)
{
    pa_reply_release(reply);
    memset(reply, 0, sizeof(*reply));
    return pa_client_call(pa, rpc, json, strlen(json), true, reply, err);
}

int flow_session_init(struct pa_client *pa, const char *sku, const char *password,
                      struct ft_error *err)
{
    struct pa_init_session_request req = {0};
    snprintf(req.sku, sizeof(req.sku), "%s", sku);
    if (strlen(password) >= sizeof(req.sku_auth))
        return ft_fail(err, FT_E_INVALID, "the SKU password is too long");
    snprintf(req.sku_auth, sizeof(req.sku_auth), "%s", password);
    json_t *msg = NULL;
    char *text = NULL;
    if (pa_init_session_request_to_json(&req, &msg, err) == 0)
        text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    OPENSSL_cleanse(&req, sizeof(req));
    struct pa_reply reply = {0};
    int rc = text ? call_json(pa, "InitSession", text, &reply, err) : -1;
    if (text)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
    struct pa_init_session_response resp;
    if (rc == 0 && pa_init_session_response_from_json(reply.body, reply.body_len, &resp, err) == 0)
        rc = pa_client_set_token(pa, resp.sku_session_token, err);
    else
        rc = -1;
    OPENSSL_cleanse(&resp, sizeof(resp));
    pa_reply_release(&reply);
    return rc;
}

static int fetch_certs(struct pa_client *pa, const struct flow_sku *sku, bool ext,
                       struct flow_ca *ca, struct ft_error *err)
{
    char json[256];
    snprintf(json, sizeof(json), "{\"sku\":\"%s\",\"cert_labels\":[\"root\",\"dice\"%s]}",
             sku->name, ext ? ",\"ext\"" : "");
    struct pa_reply reply = {0};
    struct pa_get_ca_certs_response resp = {0};
    int rc = -1;
    if (call_json(pa, "GetCaCerts", json, &reply, err) == 0 &&
        pa_get_ca_certs_response_from_json(reply.body, reply.body_len, &resp, err) == 0 &&
        resp.certs_count == (ext ? 3u : 2u)) {
        X509 **slots[3] = {&ca->root, &ca->dice, &ca->ext};
        rc = 0;
        for (size_t i = 0; i < resp.certs_count && rc == 0; i++) {
            *slots[i] = cert_parse_der(resp.certs[i].blob.data, resp.certs[i].blob.len, err);
            if (*slots[i] == NULL)
                rc = ft_error_prefix(err, "GetCaCerts");
        }
    } else if (err && err->code == FT_OK) {
        ft_fail(err, FT_E_PROTOCOL, "GetCaCerts: wrong number of certificates");
    }
    pa_get_ca_certs_response_free(&resp);
    pa_reply_release(&reply);
    return rc;
}

static int fetch_key_ids(struct pa_client *pa, const struct flow_sku *sku, struct flow_ca *ca,
                         struct ft_error *err)
{
    char json[256];
    snprintf(json, sizeof(json), "{\"sku\":\"%s\",\"cert_labels\":[\"UDS\",\"EXT\"]}", sku->name);
    struct pa_reply reply = {0};
    struct pa_get_ca_subject_keys_response resp = {0};
    int rc = -1;
    if (call_json(pa, "GetCaSubjectKeys", json, &reply, err) == 0 &&
        pa_get_ca_subject_keys_response_from_json(reply.body, reply.body_len, &resp, err) == 0) {
        if (resp.key_ids_count != 2 || resp.key_ids[0].len != 20) {
            ft_fail(err, FT_E_PROTOCOL, "GetCaSubjectKeys: no 20-byte DICE key ID");
        } else {
            memcpy(ca->dice_key_id, resp.key_ids[0].data, 20);
            /* Upstream answers a SKU without an ext CA with 10 zero bytes: no ext key. */
            ca->has_ext_key_id = resp.key_ids[1].len == 20;
            if (ca->has_ext_key_id)
                memcpy(ca->ext_key_id, resp.key_ids[1].data, 20);
            rc = 0;
        }
    }
    pa_reply_release(&reply);
    return rc;
}

/* The boot check's text comes from the service, as the ATE takes it; a SKU file that
 * names one too must agree, so a floor never checks against two texts. */
static int fetch_boot_message(struct pa_client *pa, const struct flow_sku *sku, struct flow_ca *ca,
                              struct ft_error *err)
{
    if (!sku->boot_check)
        return 0;
    char json[128];
    snprintf(json, sizeof(json), "{\"sku\":\"%s\"}", sku->name);
    struct pa_reply reply = {0};
    struct pa_get_owner_fw_boot_message_response resp = {0};
    if (call_json(pa, "GetOwnerFwBootMessage", json, &reply, err) != 0) {
        bool none = reply.grpc_code == PA_GRPC_NOT_FOUND && sku->owner_success_text[0] != '\0';
        pa_reply_release(&reply);
        if (!none)
            return -1;
        *err = (struct ft_error){0}; /* the service has none: the SKU file's */
        memcpy(ca->owner_boot_text, sku->owner_success_text, sizeof(ca->owner_boot_text));
        return 0;
    }
    int rc =
        pa_get_owner_fw_boot_message_response_from_json(reply.body, reply.body_len, &resp, err);
    pa_reply_release(&reply);
    if (rc != 0)
        return ft_error_prefix(err, "GetOwnerFwBootMessage");
    const char *text = resp.boot_message;
    if (text[0] == '\0' || strlen(text) >= sizeof(ca->owner_boot_text))
        return ft_fail(err, FT_E_PROTOCOL,
                       "GetOwnerFwBootMessage: the service's boot message for %s is %zu bytes "
                       "(1..%zu allowed)",
                       sku->name, strlen(text), sizeof(ca->owner_boot_text) - 1);
    if (sku->owner_success_text[0] && strcmp(text, sku->owner_success_text) != 0)
        return ft_fail(err, FT_E_INVALID,
                       "the SKU file's boot_check.owner_success_text \"%s\" differs from the "
                       "service's boot message for %s, \"%.100s\": make them agree",
                       sku->owner_success_text, sku->name, text);
    memcpy(ca->owner_boot_text, text, strlen(text) + 1);
    return 0;
}

int flow_session_open(struct pa_client *pa, const struct flow_sku *sku, const char *password,
                      struct flow_ca *ca, struct ft_error *err)
{
    memset(ca, 0, sizeof(*ca));
    bool ext = false;
    for (size_t i = 0; i < sku->n_certs; i++)
        ext = ext || sku->certs[i].ca == FLOW_CA_EXT;
    if (flow_session_init(pa, sku->name, password, err) != 0 ||
        fetch_certs(pa, sku, ext, ca, err) != 0 || fetch_key_ids(pa, sku, ca, err) != 0 ||
        fetch_boot_message(pa, sku, ca, err) != 0) {
        flow_ca_free(ca);
        return -1;
    }
    return 0;
}

void flow_ca_free(struct flow_ca *ca)
{
    X509_free(ca->root);
    X509_free(ca->dice);
    X509_free(ca->ext);
    memset(ca, 0, sizeof(*ca));
}
