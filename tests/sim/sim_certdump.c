/* sim_certdump: personalizes one simulated chip in-process against test CAs and writes
 * the CA certificates and the chip's final certificates as DER files, for checking them
 * with independent tools (openssl CLI, pyca/cryptography).
 *   sim_certdump SKU OUTDIR [--upstream-der]
 * Writes OUTDIR/dice_ca.der, ext_ca.der and one <NAME>.der per certificate (spaces in
 * names become '_'), plus OUTDIR/certs.txt listing the certificate names in blob order. */
#include <stdio.h>
#include <string.h>

#include "simflow.h"

#define DICE_DN "/C=US/O=OpenTitan/CN=ftharness test DICE ICA"
#define EXT_DN "/C=US/O=OpenTitan/CN=ftharness test EXT ICA"

static int write_file(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

static int write_cert(const char *dir, const char *name, X509 *cert)
{
    uint8_t *der = NULL;
    int len = i2d_X509(cert, &der);
    int rc = len > 0 ? write_file(dir, name, der, (size_t)len) : -1;
    OPENSSL_free(der);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--upstream-der") != 0)) {
        fprintf(stderr, "usage: sim_certdump SKU OUTDIR [--upstream-der]\n");
        return 2;
    }
    struct sim_config cfg;
    struct ft_error err = {0};
    sim_config_defaults(&cfg);
    if (sim_config_set_sku(&cfg, argv[1], &err) != 0) {
        fprintf(stderr, "sim_certdump: %s\n", err.message);
        return 2;
    }
    sim_config_set_timing(&cfg, "zero", NULL);
    cfg.upstream_der = argc == 4;
    snprintf(cfg.dice_ca_subject, sizeof(cfg.dice_ca_subject), "%s", DICE_DN);
    snprintf(cfg.ext_ca_subject, sizeof(cfg.ext_ca_subject), "%s", EXT_DN);

    static struct test_ca dice_ca, ext_ca;
    static struct sim_device dev;
    static struct simflow flow;
    if (!test_ca_init(&dice_ca, DICE_DN) || !test_ca_init(&ext_ca, EXT_DN) ||
        sim_device_init(&dev, &cfg, &err) != 0 || sim_device_start(&dev, &err) != 0) {
        fprintf(stderr, "sim_certdump: setup failed %s\n", err.message);
        return 1;
    }
    simflow_init(&flow, &dev, &dice_ca, &ext_ca, cfg.sku.blob_version);
    bool ok = simflow_run(&flow);
    sim_device_stop(&dev);
    sim_device_fini(&dev);
    if (!ok) {
        fprintf(stderr, "sim_certdump: %s\n", flow.why);
        return 1;
    }
    if (memcmp(flow.host_digest, flow.device_digest, 32) != 0) {
        fprintf(stderr, "sim_certdump: device and host certs hashes differ\n");
        return 1;
    }
    const char *dir = argv[2];
    if (write_cert(dir, "dice_ca.der", dice_ca.cert) != 0 ||
        write_cert(dir, "ext_ca.der", ext_ca.cert) != 0)
        return 1;
    char list[SIMFLOW_CERTS_MAX * (PERSO_CERT_NAME_MAX_V1 + 1) + 1] = "";
    for (size_t i = 0; i < flow.n_certs; i++) {
        char name[PERSO_CERT_NAME_MAX_V1 + 1];
        snprintf(name, sizeof(name), "%s", flow.names[i]);
        for (char *c = name; *c; c++)
            *c = *c == ' ' ? '_' : *c;
        char file[PERSO_CERT_NAME_MAX_V1 + 8];
        snprintf(file, sizeof(file), "%s.der", name);
        if (write_file(dir, file, flow.certs[i], flow.cert_len[i]) != 0)
            return 1;
        strncat(list, name, sizeof(list) - strlen(list) - 2);
        strncat(list, "\n", sizeof(list) - strlen(list) - 1);
    }
    if (write_file(dir, "certs.txt", (const uint8_t *)list, strlen(list)) != 0)
        return 1;
    test_ca_free(&dice_ca);
    test_ca_free(&ext_ca);
    return 0;
}
