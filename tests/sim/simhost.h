/* A minimal host written from the reference, for driving the device model in tests
 * independently of the harness's own console code: SPI console frames read by TX-ready
 * (header then payload, two CS frames), page-program uploads with the 0x100 terminator
 * and BUSY polling, and an in-process test CA that endorses TBS certificates. */
#ifndef FTHARNESS_TESTS_SIMHOST_H
#define FTHARNESS_TESTS_SIMHOST_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim_device.h"

#define SIMHOST_STREAM_MAX (64u * 1024u)

struct simhost {
    struct sim_device *dev;
    uint32_t frame_no;
    char stream[SIMHOST_STREAM_MAX]; /* console text received and not yet consumed */
    size_t len;
    unsigned junk_frames;   /* frames ignored for a bad magic */
    unsigned wrong_numbers; /* frames ignored for a wrong frame number */
    unsigned timeout_ms;    /* per wait */
};

void simhost_init(struct simhost *h, struct sim_device *dev);
/* Forgets the frame counter, as the upstream host does after a chip reset. */
void simhost_reset_frames(struct simhost *h);
/* Pulses the reset pin with the straps at `straps` (0 or SIM_PIN_STRAPS). */
void simhost_reset_chip(struct simhost *h, uint32_t straps);

/* Reads console frames until `text` is in the stream; consumes through it. Returns
 * false on timeout. With `before` != NULL, copies what preceded `text` (NUL-ended). */
bool simhost_wait_for(struct simhost *h, const char *text, char *before, size_t before_cap);
/* Reads one RESP_OK line (through '\n') into `line`. */
bool simhost_read_line(struct simhost *h, char *line, size_t cap);
/* Sends bytes as the upstream SPI console write does. */
bool simhost_write(struct simhost *h, const void *data, size_t len);
/* One SPI transaction. */
void simhost_xfer(struct simhost *h, const uint8_t *mosi, uint8_t *miso, size_t len);

/* Test CA: a P-256 key and a self-signed certificate with the given subject. */
struct test_ca {
    EVP_PKEY *key;
    X509 *cert;
    uint8_t key_id[20];
};
bool test_ca_init(struct test_ca *ca, const char *subject_dn);
void test_ca_free(struct test_ca *ca);
/* Signs a TBS the way the endorsement service does: SEQ{TBS, ecdsa-with-SHA256, BIT
 * STRING{00, sig}}; returns the DER length or 0. */
size_t test_ca_endorse(const struct test_ca *ca, const uint8_t *tbs, size_t tbs_len, uint8_t *out,
                       size_t cap);

#endif
