/* Device->host response lines of the OTTF ujson console (reference/opentitan-ft-flow.md
 * §6.3, transport-spi-uart-ftdi.md §2.5):
 *     RESP_OK:<json> CRC:<decimal crc32 of json>\n
 *     RESP_OK:<json> CRC:0\n           (RESP_OK_NO_CRC: PersoBlob, SerdesSha256Hash)
 *     RESP_ERR:<status json> CRC:<n>\n
 * The CRC covers the JSON exactly as sent, padding spaces included. */
#ifndef FTHARNESS_WIRE_RESP_H
#define FTHARNESS_WIRE_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/strbuf.h"

enum resp_kind {
    RESP_OK,
    RESP_ERR,
};

/* How to treat the CRC of a RESP_OK line. */
enum resp_crc_policy {
    RESP_CRC_REQUIRED, /* must equal the CRC of the JSON */
    RESP_CRC_NONE,     /* upstream sends CRC:0; accept 0 or the true CRC, nothing else */
};

/* A parsed line; `json` borrows from the line. */
struct resp_line {
    enum resp_kind kind;
    const char *json;
    size_t json_len;
    uint32_t crc;
    /* RESP_ERR only: false when the CRC does not match. The upstream device adds the
     * prefix bytes to the CRC of error lines, so a mismatch there means "error with an
     * unverifiable body", not a transport fault. */
    bool crc_ok;
};

/* A decoded status_t: {"Ok":n} or {"<Code>":["<module>",arg]}. */
struct resp_status {
    char code[24];  /* "Ok", "InvalidArgument", "DataLoss", ... */
    char module[4]; /* 3-character module id, empty for Ok */
    int64_t arg;
};

/* Maximum line the parser accepts: RESP_OK: + a padded PersoBlob + " CRC:4294967295\r". */
#define RESP_LINE_MAX (8u + 20535u + 15u + 1u)

/* Parses one console line (without its '\n'; one trailing '\r' is ignored). The response
 * may follow other text on the line, as upstream's unanchored regex allows. Returns 1 and
 * fills *out for a response line, 0 for a line that holds no response, -1 for a malformed
 * response or (RESP_OK) a CRC failure. */
int resp_parse_line(const char *line, size_t len, enum resp_crc_policy policy,
                    struct resp_line *out, struct ft_error *err);

/* Decodes a status_t JSON as carried by RESP_ERR lines. */
int resp_decode_status(const char *json, size_t len, struct resp_status *out, struct ft_error *err);

/* Formats `RESP_OK:<json> CRC:<n>\n` (n = 0 with RESP_CRC_NONE), as the device does. */
int resp_format_ok(struct strbuf *out, const char *json, size_t json_len,
                   enum resp_crc_policy policy, struct ft_error *err);

#endif
