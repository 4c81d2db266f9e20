#include "simhost.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/endian.h"
#include "wire/simlink.h"

enum { OP_PP = 0x02, OP_READ = 0x03, OP_RDSR = 0x05, OP_WREN = 0x06 };

void simhost_init(struct simhost *h, struct sim_device *dev)
{
    memset(h, 0, sizeof(*h));
    h->dev = dev;
    h->timeout_ms = 10000;
}

void simhost_reset_frames(struct simhost *h)
{
    h->frame_no = 0;
}

void simhost_reset_chip(struct simhost *h, uint32_t straps)
{
    sim_device_gpio_write(h->dev, SIM_PIN_INPUTS, straps);
    sim_device_gpio_write(h->dev, SIM_PIN_INPUTS, straps | SIM_PIN_RESET_N);
    simhost_reset_frames(h);
}

void simhost_xfer(struct simhost *h, const uint8_t *mosi, uint8_t *miso, size_t len)
{
    sim_device_spi_xfer(h->dev, mosi, miso, len);
}

/* READ 0x03 at a 3-byte address: one CS frame. */
static void spi_read(struct simhost *h, uint32_t addr, uint8_t *out, size_t len)
{
    uint8_t mosi[4 + 2048] = {OP_READ, (uint8_t)(addr >> 16), (uint8_t)(addr >> 8), (uint8_t)addr};
    uint8_t miso[4 + 2048];
    simhost_xfer(h, mosi, miso, 4 + len);
    memcpy(out, miso + 4, len);
}

/* UART console: appends whatever arrives within the timeout. */
static bool read_uart(struct simhost *h)
{
    if (h->len == sizeof(h->stream))
        return false;
    size_t n = sim_device_uart_read(h->dev, (uint8_t *)h->stream + h->len,
                                    sizeof(h->stream) - h->len, h->timeout_ms);
    h->len += n;
    return n > 0;
}

/* Reads one frame when TX-ready is high; false on timeout. */
static bool read_frame(struct simhost *h)
{
    if (h->dev->cfg.console == SIM_CONSOLE_UART)
        return read_uart(h);
    uint32_t pins;
    if (!sim_device_gpio_wait(h->dev, SIM_PIN_TX_READY, SIM_PIN_TX_READY, h->timeout_ms, &pins))
        return false;
    uint8_t hdr[12];
    spi_read(h, 0, hdr, sizeof(hdr));
    uint32_t magic = load_le32(hdr), number = load_le32(hdr + 4), len = load_le32(hdr + 8);
    uint8_t payload[2048];
    /* A header we drop still gets its payload read (the largest): the device waits for
     * the second transaction whatever the host made of the first. */
    if (magic != 0xA5A5BEEFu || number != h->frame_no || len > 2036) {
        spi_read(h, 12, payload, 2036);
        if (magic != 0xA5A5BEEFu)
            h->junk_frames++;
        else
            h->wrong_numbers++;
        return true;
    }
    spi_read(h, 12, payload, (len + 3) & ~3u);
    if (h->len + len > sizeof(h->stream))
        return false;
    memcpy(h->stream + h->len, payload, len);
    h->len += len;
    h->frame_no++;
    return true;
}

static bool fill_until(struct simhost *h, const char *text, size_t *at)
{
    size_t n = strlen(text);
    for (;;) {
        for (size_t i = 0; i + n <= h->len; i++) {
            if (memcmp(h->stream + i, text, n) == 0) {
                *at = i;
                return true;
            }
        }
        if (!read_frame(h))
            return false;
    }
}

static void consume(struct simhost *h, size_t n)
{
    memmove(h->stream, h->stream + n, h->len - n);
    h->len -= n;
}

bool simhost_wait_for(struct simhost *h, const char *text, char *before, size_t before_cap)
{
    size_t at;
    if (!fill_until(h, text, &at))
        return false;
    if (before != NULL && before_cap > 0) {
        size_t n = at < before_cap - 1 ? at : before_cap - 1;
        memcpy(before, h->stream, n);
        before[n] = '\0';
    }
    consume(h, at + strlen(text));
    return true;
}

bool simhost_read_line(struct simhost *h, char *line, size_t cap)
{
    size_t at;
    if (!fill_until(h, "\n", &at) || at + 2 > cap)
        return false;
    memcpy(line, h->stream, at + 1);
    line[at + 1] = '\0';
    consume(h, at + 1);
    return true;
}

static bool wait_not_busy(struct simhost *h)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        uint8_t mosi[2] = {OP_RDSR, 0}, miso[2];
        simhost_xfer(h, mosi, miso, 2);
        if (!(miso[1] & 0x01))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 > (long)h->timeout_ms)
            return false;
    }
}

bool simhost_write(struct simhost *h, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (h->dev->cfg.console == SIM_CONSOLE_UART) {
        sim_device_uart_write(h->dev, p, len);
        return true;
    }
    for (size_t off = 0; off < len;) {
        size_t n = len - off < 256 ? len - off : 256;
        uint32_t addr = off + n == len ? 0x100 : 0x000;
        uint8_t wren = OP_WREN;
        simhost_xfer(h, &wren, NULL, 1);
        uint8_t mosi[4 + 256] = {OP_PP, (uint8_t)(addr >> 16), (uint8_t)(addr >> 8), (uint8_t)addr};
        memcpy(mosi + 4, p + off, n);
        simhost_xfer(h, mosi, NULL, 4 + n);
        /* No status read after the last chunk: the firmware may answer at once, and it
         * counts every CSB edge after raising TX-ready as the host reading the frame. */
        if (off + n < len && !wait_not_busy(h))
            return false;
        off += n;
    }
    return true;
}

/* ---- test CA ------------------------------------------------------------------------ */

bool test_ca_init(struct test_ca *ca, const char *subject_dn)
{
    memset(ca, 0, sizeof(*ca));
    ca->key = EVP_EC_gen("P-256");
    ca->cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (ca->key == NULL || ca->cert == NULL || name == NULL)
        return false;
    /* "/C=US/O=x/CN=y" */
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", subject_dn);
    for (char *save, *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            return false;
        *eq = '\0';
        int type = strcmp(tok, "C") == 0 ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING;
        X509_NAME_add_entry_by_txt(name, tok, type, (unsigned char *)eq + 1, -1, -1, 0);
    }
    X509_set_version(ca->cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(ca->cert), 1);
    X509_set_subject_name(ca->cert, name);
    X509_set_issuer_name(ca->cert, name);
    X509_NAME_free(name);
    X509_gmtime_adj(X509_getm_notBefore(ca->cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(ca->cert), 3600L * 24 * 365);
    X509_set_pubkey(ca->cert, ca->key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca->cert, ca->cert, NULL, NULL, 0);
    const char *exts[][2] = {{"basicConstraints", "critical,CA:TRUE"},
                             {"keyUsage", "critical,keyCertSign,cRLSign"},
                             {"subjectKeyIdentifier", "hash"}};
    for (size_t i = 0; i < 3; i++) {
        X509_EXTENSION *ext = X509V3_EXT_conf(NULL, &ctx, exts[i][0], exts[i][1]);
        if (ext == NULL)
            return false;
        X509_add_ext(ca->cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(ca->cert, ca->key, EVP_sha256()))
        return false;
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca->cert);
    if (ski == NULL || ASN1_STRING_length(ski) != 20)
        return false;
    memcpy(ca->key_id, ASN1_STRING_get0_data(ski), 20);
    return true;
}

void test_ca_free(struct test_ca *ca)
{
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    memset(ca, 0, sizeof(*ca));
}

/* Writes a DER header for `tag` with content length `len`; returns its size. */
static size_t der_header(uint8_t *out, uint8_t tag, size_t len)
{
    out[0] = tag;
    if (len < 0x80) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 0x100) {
        out[1] = 0x81;
        out[2] = (uint8_t)len;
        return 3;
    }
    out[1] = 0x82;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    return 4;
}

size_t test_ca_endorse(const struct test_ca *ca, const uint8_t *tbs, size_t tbs_len, uint8_t *out,
                       size_t cap)
{
    static const uint8_t algid[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86,
                                    0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
    uint8_t sig[80];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ca->key) == 1 &&
              EVP_DigestSign(md, sig, &sig_len, tbs, tbs_len) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return 0;
    uint8_t bits[8];
    size_t bits_hdr = der_header(bits, 0x03, sig_len + 1);
    size_t content = tbs_len + sizeof(algid) + bits_hdr + 1 + sig_len;
    uint8_t seq[8];
    size_t seq_hdr = der_header(seq, 0x30, content);
    if (seq_hdr + content > cap)
        return 0;
    size_t n = 0;
    memcpy(out + n, seq, seq_hdr);
    n += seq_hdr;
    memcpy(out + n, tbs, tbs_len);
    n += tbs_len;
    memcpy(out + n, algid, sizeof(algid));
    n += sizeof(algid);
    memcpy(out + n, bits, bits_hdr);
    n += bits_hdr;
    out[n++] = 0x00;
    memcpy(out + n, sig, sig_len);
    return n + sig_len;
}
