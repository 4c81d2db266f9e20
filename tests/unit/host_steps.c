#include "host_steps.h"

#include "common/strbuf.h"
#include "wire/devmsg.h"
#include "wire/resp.h"
#include "wire/ujson.h"

int host_send_rma_token_hash(struct console *con, unsigned step_ms, struct ft_error *err)
{
    char buf[128];
    struct strbuf sb;
    const uint64_t hash[2] = {0x1122334455667788ull, 0x99aabbccddeeff00ull};
    strbuf_init(&sb, buf, sizeof(buf));
    if (ujson_lc_token_hash(&sb, hash, err) != 0)
        return -1;
    if (sb.len != UJSON_LC_TOKEN_HASH_SIZE + UJSON_CRC_OBJ_SIZE)
        return ft_fail(err, FT_E_INVALID, "LcTokenHash with its CRC object is %zu bytes, not %u",
                       sb.len, (unsigned)(UJSON_LC_TOKEN_HASH_SIZE + UJSON_CRC_OBJ_SIZE));
    /* As upstream's send_with_crc: the message, then its CRC object. */
    if (console_write(con, buf, UJSON_LC_TOKEN_HASH_SIZE, link_deadline_ms(step_ms), err) != 0)
        return -1;
    return console_write(con, buf + UJSON_LC_TOKEN_HASH_SIZE, UJSON_CRC_OBJ_SIZE,
                         link_deadline_ms(step_ms), err);
}

int host_send_certgen_inputs(struct console *con, unsigned step_ms, struct ft_error *err)
{
    struct certgen_inputs in = {.dice_auth_key_key_id_len = 20, .ext_auth_key_key_id_len = 20};
    for (int i = 0; i < 20; i++) {
        in.dice_auth_key_key_id[i] = (uint8_t)(0xD0 + i);
        in.ext_auth_key_key_id[i] = (uint8_t)(0x10 + i);
    }
    char buf[256];
    struct strbuf sb;
    strbuf_init(&sb, buf, sizeof(buf));
    if (ujson_certgen_inputs(&sb, &in, err) != 0)
        return -1;
    return console_write(con, buf, sb.len, link_deadline_ms(step_ms), err);
}

int host_read_blob(struct console *con, char *line, size_t cap, struct perso_blob *blob,
                   unsigned step_ms, struct ft_error *err)
{
    size_t n = 0;
    struct resp_line resp;
    console_expect_bulk(con, true);
    int read = console_read_line(con, line, cap, &n, link_deadline_ms(step_ms), err);
    console_expect_bulk(con, false);
    if (read != 0)
        return -1;
    int rc = resp_parse_line(line, n, RESP_CRC_NONE, &resp, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return ft_fail(err, FT_E_PROTOCOL, "the TBS export line is not RESP_OK");
    if (resp.json_len != UJSON_PERSO_BLOB_SIZE)
        return ft_fail(err, FT_E_PROTOCOL, "PersoBlob message of %zu bytes, not %u", resp.json_len,
                       (unsigned)UJSON_PERSO_BLOB_SIZE);
    return devmsg_decode_perso_blob(resp.json, resp.json_len, blob, err) != 0 ||
                   perso_blob_validate(blob, PERSO_BLOB_V0, err) != 0
               ? -1
               : 0;
}
