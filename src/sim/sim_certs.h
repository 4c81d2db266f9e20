/* The certificates one simulated chip produces during perso: keys derived from the
 * configured seed and the chip's index, so the same configuration always gives the same
 * bytes, and different chips in a row get different keys. */
#ifndef FTHARNESS_SIM_SIM_CERTS_H
#define FTHARNESS_SIM_SIM_CERTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "sim/dice_certs.h"
#include "sim/sim_config.h"
#include "wire/perso_tlv.h"

struct sim_cert {
    char name[SIM_NAME_MAX];
    enum perso_obj_type type; /* X509_TBS (host-endorsed) or X509_CERT (device-signed) */
    uint8_t der[DICE_CERT_MAX];
    size_t len;
};

/* UDS TBS, CDI_0, CDI_1, then the SKU's ext TBS certs, in blob order. */
struct sim_cert_set {
    struct sim_cert certs[3 + SIM_EXT_CERTS_MAX];
    size_t count;
};

/* Generates the set for chip `chip_index`. `dice_aki` and `ext_aki` are the 20-byte CA
 * key IDs the host sent in ManufCertgenInputs; `rom_ext_hash` is the perso firmware
 * measurement (CDI_0's fw id). */
int sim_certs_generate(const struct sim_config *cfg, unsigned chip_index,
                       const uint8_t dice_aki[DICE_KEY_ID_SIZE],
                       const uint8_t ext_aki[DICE_KEY_ID_SIZE], const uint8_t rom_ext_hash[32],
                       struct sim_cert_set *out, struct ft_error *err);

/* The 32-byte secret all of one chip's randomness derives from. */
void sim_chip_secret(const struct sim_config *cfg, unsigned chip_index, const char *label,
                     uint8_t out[32]);

#endif
