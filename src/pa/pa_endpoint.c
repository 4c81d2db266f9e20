#include "pa/pa_endpoint.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* An iPAddress SAN is 4 or 16 raw bytes; compare it in text form as upstream does. */
static bool san_ip_is(const ASN1_OCTET_STRING *raw, const char *ip)
{
    char text[INET6_ADDRSTRLEN];
    int len = ASN1_STRING_length(raw);
    const unsigned char *bytes = ASN1_STRING_get0_data(raw);
    int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : AF_UNSPEC;
    if (family == AF_UNSPEC || inet_ntop(family, bytes, text, sizeof(text)) == NULL)
        return false;
    return strcmp(text, ip) == 0;
}

static bool san_dns_is(const ASN1_IA5STRING *name, const char *host)
{
    int len = ASN1_STRING_length(name);
    return (size_t)len == strlen(host) &&
           strncasecmp((const char *)ASN1_STRING_get0_data(name), host, (size_t)len) == 0;
}

static bool names_match(const GENERAL_NAMES *names, const char *ip, const char *host)
{
    int n = sk_GENERAL_NAME_num(names);
    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type == GEN_IPADD && san_ip_is(gn->d.iPAddress, ip))
            return true;
    }
    if (host == NULL)
        return false;
    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type == GEN_DNS && san_dns_is(gn->d.dNSName, host))
            return true;
    }
    return false;
}

bool pa_endpoint_matches(const unsigned char *der, size_t der_len, const char *ip,
                         const char *reverse_name, char *why, size_t cap)
{
    /* Only the first label of the reverse name counts, so a DNS SAN "ate-07" matches a
     * peer that resolves to "ate-07.floor.example" (and "ate-07.floor.example" does not). */
    char host[256] = "";
    if (reverse_name != NULL && reverse_name[0] != '\0') {
        size_t label = strcspn(reverse_name, ".");
        if (label >= sizeof(host))
            label = sizeof(host) - 1;
        memcpy(host, reverse_name, label);
        host[label] = '\0';
    }
    const unsigned char *p = der;
    X509 *cert = der_len <= (size_t)INT32_MAX ? d2i_X509(NULL, &p, (long)der_len) : NULL;
    GENERAL_NAMES *names =
        cert != NULL ? X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL) : NULL;
    bool ok = names != NULL && names_match(names, ip, host[0] != '\0' ? host : NULL);
    GENERAL_NAMES_free(names);
    X509_free(cert);
    if (!ok)
        snprintf(why, cap,
                 "client IP \"%s\" or DNS name %s does not match the IP or DNS name in the "
                 "certificate",
                 ip, host[0] != '\0' ? host : "no host");
    return ok;
}

bool pa_endpoint_check_peer(const unsigned char *der, size_t der_len, const struct sockaddr *peer,
                            char *why, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "", name[NI_MAXHOST];
    socklen_t len = peer == NULL                  ? 0
                    : peer->sa_family == AF_INET  ? sizeof(struct sockaddr_in)
                    : peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                  : 0;
    if (len == 0 || getnameinfo(peer, len, ip, sizeof(ip), NULL, 0, NI_NUMERICHOST) != 0) {
        snprintf(why, cap, "the client's address is unknown");
        return false;
    }
    /* The reverse lookup may wait on DNS: only when no IP SAN matched, as upstream. */
    if (pa_endpoint_matches(der, der_len, ip, NULL, why, cap))
        return true;
    bool named = getnameinfo(peer, len, name, sizeof(name), NULL, 0, NI_NAMEREQD) == 0;
    return pa_endpoint_matches(der, der_len, ip, named ? name : NULL, why, cap);
}
