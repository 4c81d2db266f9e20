"""Checks a chip's certificates with pyca/cryptography, independently of OpenSSL's
verify: every certificate parses, each signature verifies under its issuer's key
(DICE chain: dice CA -> UDS -> CDI_0 -> CDI_1; others: ext CA), AKI/SKI link, the serial
is the key ID and the subject serialNumber is its hex, the DICE TcbInfo is critical.

usage: verify_certs.py DIR   (as written by sim_certdump). Exit 77 when the module is
missing from this interpreter."""
import hashlib
import sys

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID, ExtensionOID
except ImportError:
    print("verify_certs: python3 cryptography is not installed; skipping")
    sys.exit(77)

DICE = ["UDS", "CDI_0", "CDI_1"]
TCB_INFO = x509.ObjectIdentifier("2.23.133.5.4.1")
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


def load(path):
    with open(path, "rb") as f:
        return x509.load_der_x509_certificate(f.read())


def verify(cert, issuer_key, what):
    try:
        issuer_key.verify(cert.signature, cert.tbs_certificate_bytes,
                          ec.ECDSA(cert.signature_hash_algorithm))
        check(True, what)
    except Exception as e:  # InvalidSignature and friends
        check(False, "%s (%s)" % (what, e))


def key_id(cert):
    pub = cert.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)
    return hashlib.sha256(pub[1:]).digest()[:20]


def main(d):
    names = open(d + "/certs.txt").read().split()
    dice_ca = load(d + "/dice_ca.der")
    ext_ca = load(d + "/ext_ca.der")
    certs = {n: load("%s/%s.der" % (d, n)) for n in names}
    for n in DICE:
        check(n in certs, "%s present" % n)
    for n, c in certs.items():
        kid = key_id(c)
        ski = c.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
        check(ski.digest == kid, "%s: SKI = SHA-256(X||Y)[0:20]" % n)
        check(c.serial_number & ((1 << 159) - 1) == int.from_bytes(kid, "big") & ((1 << 159) - 1),
              "%s: serial carries the key ID" % n)
        check(c.signature_hash_algorithm.name == "sha256", "%s: ecdsa-with-SHA256" % n)
        if n in DICE:
            sn = c.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
            check(len(sn) == 1 and sn[0].value == kid.hex(), "%s: subject serialNumber = hex key ID" % n)
            tcb = c.extensions.get_extension_for_oid(TCB_INFO)
            check(tcb.critical, "%s: DICE TcbInfo is critical" % n)
    parents = {"UDS": dice_ca, "CDI_0": certs.get("UDS"), "CDI_1": certs.get("CDI_0")}
    for n, c in certs.items():
        issuer = parents.get(n, ext_ca)
        verify(c, issuer.public_key(), "%s: signature verifies under %s" % (n, "its issuer"))
        aki = c.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
        issuer_ski = issuer.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
        check(aki.key_identifier == issuer_ski.digest, "%s: AKI = issuer SKI" % n)
        check(c.issuer == issuer.subject, "%s: issuer = issuer's subject" % n)
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
