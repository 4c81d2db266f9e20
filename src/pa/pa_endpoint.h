/* The PA's endpoint check under mTLS: a client certificate is only good from the host it
 * names. The peer's IP address must equal one of the certificate's IP subjectAltNames or,
 * failing that, the first label of the peer's reverse-DNS name must equal one of its DNS
 * subjectAltNames (case-insensitive, whole name). This is the upstream PA's rule
 * (opentitan-provisioning src/transport/grpconn.go:114-162, applied to every RPC when
 * --enable_tls is set: src/transport/auth_service/auth_interceptor.go:62-65). */
#ifndef FTHARNESS_PA_PA_ENDPOINT_H
#define FTHARNESS_PA_PA_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Whether the DER certificate `der` names the peer: `ip` is the peer address as text
 * ("127.0.0.1", "::1"), `reverse_name` its reverse-DNS name or NULL when it has none. On
 * false, `why` (cap bytes) holds the reason, worded as upstream's. */
bool pa_endpoint_matches(const unsigned char *der, size_t der_len, const char *ip,
                         const char *reverse_name, char *why, size_t cap);

/* The same for a connected peer: its text address and reverse-DNS name are looked up
 * (getnameinfo, NI_NAMEREQD: a name the resolver made up from the number is no name). */
bool pa_endpoint_check_peer(const unsigned char *der, size_t der_len, const struct sockaddr *peer,
                            char *why, size_t cap);

#endif
