/* The host's side of the perso flow up to the TBS export, as plain steps over a console,
 * for the tests and the benchmark that drive ftsim's chip model over any link: fixed
 * inputs, every deadline `step_ms` from the call. Each returns 0, or -1 with `err` naming
 * what failed. */
#ifndef FTHARNESS_TESTS_UNIT_HOST_STEPS_H
#define FTHARNESS_TESTS_UNIT_HOST_STEPS_H

#include <stddef.h>

#include "common/error.h"
#include "console/console.h"
#include "wire/perso_blob.h"

/* The perso firmware's prompts, as the host waits for them. */
#define HOST_RMA_PROMPT "Waiting For RMA Unlock Token Hash ...\n"
#define HOST_CERTGEN_PROMPT "Waiting for certificate inputs ...\n"
#define HOST_EXPORT_PROMPT "Exporting TBS certificates ...\n"
#define HOST_IMPORT_PROMPT "Importing endorsed certificates ...\n"

/* The LcTokenHash message, then its CRC object, as upstream's send_with_crc sends them. */
int host_send_rma_token_hash(struct console *con, unsigned step_ms, struct ft_error *err);

/* ManufCertgenInputs with fixed DICE and ext key IDs. */
int host_send_certgen_inputs(struct console *con, unsigned step_ms, struct ft_error *err);

/* Reads the TBS export line into line[cap] and decodes and validates its V0 blob (a
 * PersoBlob message of exactly UJSON_PERSO_BLOB_SIZE bytes). */
int host_read_blob(struct console *con, char *line, size_t cap, struct perso_blob *blob,
                   unsigned step_ms, struct ft_error *err);

#endif
