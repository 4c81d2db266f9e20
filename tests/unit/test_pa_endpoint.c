/* pa/pa_endpoint: the PA's rule that a client certificate names the peer it comes from
 * (opentitan-provisioning src/transport/grpconn.go:114-162): IP subjectAltNames against
 * the peer address, else DNS subjectAltNames against the first label of its reverse-DNS
 * name, whole and case-insensitive. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pa/pa_endpoint.h"
#include "testutil.h"

struct der {
    unsigned char *bytes;
    int len;
};

/* A self-signed P-256 certificate with `san` ("IP:10.0.0.7,DNS:ate-07") or none. */
static struct der cert_with(const char *san)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(cert);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"tester", -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    X509_set_pubkey(cert, key);
    if (san != NULL) {
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
        ck_assert_ptr_nonnull(ext);
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
    ck_assert_int_gt(X509_sign(cert, key, EVP_sha256()), 0);
    struct der der = {NULL, 0};
    der.len = i2d_X509(cert, &der.bytes);
    ck_assert_int_gt(der.len, 0);
    X509_free(cert);
    EVP_PKEY_free(key);
    return der;
}

static bool matches(const char *san, const char *ip, const char *reverse_name, char *why)
{
    struct der der = cert_with(san);
    bool ok = pa_endpoint_matches(der.bytes, (size_t)der.len, ip, reverse_name, why, 256);
    OPENSSL_free(der.bytes);
    return ok;
}

START_TEST(ip_san_matches_the_peer_address)
{
    char why[256] = "";
    ck_assert(matches("IP:10.0.0.7", "10.0.0.7", NULL, why));
    ck_assert(matches("DNS:other,IP:10.0.0.9,IP:10.0.0.7", "10.0.0.7", "x.example", why));
    ck_assert(matches("IP:fd00::7", "fd00::7", NULL, why));
}
END_TEST

START_TEST(ip_san_of_another_host_is_refused)
{
    char why[256] = "";
    ck_assert(!matches("IP:10.0.0.8", "10.0.0.7", NULL, why));
    ck_assert_str_eq(why, "client IP \"10.0.0.7\" or DNS name no host does not match the IP or "
                          "DNS name in the certificate");
    ck_assert(!matches("IP:10.0.0.8", "10.0.0.7", "ate-07.floor.example", why));
    ck_assert_ptr_nonnull(strstr(why, "DNS name ate-07 does not match"));
}
END_TEST

START_TEST(dns_san_matches_the_first_label_only)
{
    char why[256] = "";
    ck_assert(matches("DNS:ate-07", "10.0.0.7", "ate-07.floor.example.", why));
    ck_assert(matches("DNS:ATE-07", "10.0.0.7", "Ate-07.floor.example", why));
    ck_assert(matches("DNS:ate-07", "10.0.0.7", "ate-07", why));
    /* The whole reverse name is not compared: upstream splits it at the first dot. */
    ck_assert(!matches("DNS:ate-07.floor.example", "10.0.0.7", "ate-07.floor.example", why));
    ck_assert(!matches("DNS:ate-0", "10.0.0.7", "ate-07.floor.example", why));
    ck_assert(!matches("DNS:ate-07", "10.0.0.7", NULL, why));
}
END_TEST

START_TEST(certificates_without_names_or_garbage_are_refused)
{
    char why[256] = "";
    ck_assert(!matches(NULL, "10.0.0.7", "ate-07", why));
    const unsigned char junk[] = {0x30, 0x82, 0x01, 0x00, 0x01};
    ck_assert(!pa_endpoint_matches(junk, sizeof(junk), "10.0.0.7", NULL, why, sizeof(why)));
    ck_assert(!pa_endpoint_matches(junk, 0, "10.0.0.7", NULL, why, sizeof(why)));
}
END_TEST

START_TEST(connected_peer_is_looked_up)
{
    char why[256] = "";
    struct der der = cert_with("IP:127.0.0.1");
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(4242)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(pa_endpoint_check_peer(der.bytes, (size_t)der.len, (struct sockaddr *)&sin, why,
                                     sizeof(why)));
    /* 192.0.2.1 (TEST-NET-1) is not in the certificate; whatever its reverse name, no
     * DNS SAN exists to match it. */
    inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
    ck_assert(!pa_endpoint_check_peer(der.bytes, (size_t)der.len, (struct sockaddr *)&sin, why,
                                      sizeof(why)));
    ck_assert_ptr_nonnull(strstr(why, "client IP \"192.0.2.1\""));
    struct sockaddr other = {.sa_family = AF_UNIX};
    ck_assert(!pa_endpoint_check_peer(der.bytes, (size_t)der.len, &other, why, sizeof(why)));
    ck_assert_str_eq(why, "the client's address is unknown");
    ck_assert(!pa_endpoint_check_peer(der.bytes, (size_t)der.len, NULL, why, sizeof(why)));
    OPENSSL_free(der.bytes);
}
END_TEST

static Suite *endpoint_suite(void)
{
    Suite *s = suite_create("pa_endpoint");
    TCase *tc = tcase_create("match");
    tcase_add_test(tc, ip_san_matches_the_peer_address);
    tcase_add_test(tc, ip_san_of_another_host_is_refused);
    tcase_add_test(tc, dns_san_matches_the_first_label_only);
    tcase_add_test(tc, certificates_without_names_or_garbage_are_refused);
    tcase_add_test(tc, connected_peer_is_looked_up);
    suite_add_tcase(s, tc);
    return s;
}

FT_TEST_MAIN(endpoint_suite)
