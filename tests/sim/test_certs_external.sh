#!/bin/sh
# The device model's certificates checked by independent tools: the openssl CLI (as the
# upstream host validates them) and pyca/cryptography.
#   test_certs_external.sh SIM_CERTDUMP SCRATCH_DIR
set -u
certdump=$1
scratch=$2
python=/usr/bin/python3
here=$(dirname "$0")
if ! command -v openssl >/dev/null 2>&1; then
    echo "openssl CLI not installed; skipping"
    exit 77
fi
if ! "$python" -c 'import cryptography' 2>/dev/null; then
    echo "$python has no cryptography module (Debian package python3-cryptography); skipping"
    exit 77
fi
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

for sku in sival emulation_tpm sival_v1 emulation_tpm_v1; do
    dir="$scratch/$sku"
    rm -rf "$dir"
    mkdir -p "$dir"
    "$certdump" "$sku" "$dir" || { fail "$sku: sim_certdump"; continue; }
    for f in "$dir"/*.der; do
        openssl x509 -inform der -in "$f" -out "${f%.der}.pem" || fail "$sku: openssl cannot parse $f"
    done
    # The DICE chain incrementally, as the upstream host does, with -ignore_critical for
    # the DICE TcbInfo extension.
    cp "$dir/dice_ca.pem" "$dir/chain.pem"
    for cert in UDS CDI_0 CDI_1; do
        openssl verify -CAfile "$dir/chain.pem" -ignore_critical "$dir/$cert.pem" >/dev/null ||
            fail "$sku: openssl verify $cert"
        cat "$dir/$cert.pem" >>"$dir/chain.pem"
    done
    # Without -ignore_critical the TcbInfo must make verification fail.
    if openssl verify -CAfile "$dir/dice_ca.pem" "$dir/UDS.pem" >/dev/null 2>&1; then
        fail "$sku: UDS verified without -ignore_critical (TcbInfo not critical?)"
    fi
    for cert in $(cat "$dir/certs.txt"); do
        case $cert in UDS | CDI_0 | CDI_1) continue ;; esac
        openssl verify -CAfile "$dir/ext_ca.pem" "$dir/$cert.pem" >/dev/null ||
            fail "$sku: openssl verify $cert under the ext CA"
    done
    "$python" "$here/verify_certs.py" "$dir" >"$dir/python.log" 2>&1 || {
        cat "$dir/python.log"
        fail "$sku: pyca/cryptography checks"
    }
    echo "$sku: $(tr '\n' ' ' <"$dir/certs.txt")checked"
done
echo "$((4 - failures > 0 ? 4 - failures : 0)) passed, $failures failed"
[ "$failures" -eq 0 ]
