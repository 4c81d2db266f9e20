/* The perso flow from the host side, step by step, for tests and tools that drive the
 * device model in-process: the upstream host's order of messages, a test CA for
 * endorsement, and the host's final hash. Each step returns false with `why` set. */
#ifndef FTHARNESS_TESTS_SIMFLOW_H
#define FTHARNESS_TESTS_SIMFLOW_H

#include "simhost.h"
#include "wire/perso_blob.h"

#define SIMFLOW_CERTS_MAX 8

struct simflow {
    struct simhost host;
    const struct test_ca *dice_ca;
    const struct test_ca *ext_ca;
    enum perso_blob_version version;
    const struct fw_gen_info *gen; /* the chip's firmware generation (its --firmware) */
    unsigned v0_types;             /* objects the chip writes with V0 headers in this blob */
    struct perso_blob blob;        /* exported by the chip */
    char line[32768];
    char text[4096];         /* console text before "Finished importing certificates." */
    uint8_t host_digest[32]; /* cert bodies, then DevSeed payloads, in blob order */
    size_t dev_seeds;        /* DevSeed objects in the exported blob */
    uint8_t device_digest[32];
    /* Final certificates in blob order: endorsed TBS and device-signed certs. */
    char names[SIMFLOW_CERTS_MAX][PERSO_CERT_NAME_MAX_V1 + 1];
    uint8_t certs[SIMFLOW_CERTS_MAX][4096];
    size_t cert_len[SIMFLOW_CERTS_MAX];
    size_t n_certs;
    char why[512];
};

void simflow_init(struct simflow *f, struct sim_device *dev, const struct test_ca *dice_ca,
                  const struct test_ca *ext_ca, enum perso_blob_version version);
/* Starts over for the next chip on the same link, keeping what the host has read. */
void simflow_next_chip(struct simflow *f);
bool simflow_rma(struct simflow *f);
bool simflow_certgen(struct simflow *f);
bool simflow_export(struct simflow *f); /* reads and validates the exported blob */
bool simflow_import(struct simflow *f); /* endorses, sends the certs back */
bool simflow_hash(struct simflow *f);   /* reads the import lines and the device hash */
bool simflow_done(struct simflow *f);   /* waits for "Personalization done." */
bool simflow_run(struct simflow *f);    /* all of the above */

#endif
