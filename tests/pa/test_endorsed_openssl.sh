#!/bin/sh
# Certificates endorsed by ftpa (left in DIR by test_pa_service) checked with the openssl
# CLI, as the upstream host validates them.
#   test_endorsed_openssl.sh DIR
set -u
dir=$1
if ! command -v openssl >/dev/null 2>&1; then
    echo "openssl CLI not installed; skipping"
    exit 77
fi
failed=0
cat "$dir/root.pem" "$dir/dice-ica.pem" >"$dir/dice-chain.pem"
cat "$dir/root.pem" "$dir/ext-ica.pem" >"$dir/ext-chain.pem"
openssl verify -CAfile "$dir/dice-chain.pem" -ignore_critical "$dir/UDS.pem" || failed=$((failed + 1))
openssl verify -CAfile "$dir/ext-chain.pem" "$dir/TPM_EK.pem" || failed=$((failed + 1))
if openssl verify -CAfile "$dir/ext-chain.pem" -ignore_critical "$dir/UDS.pem" >/dev/null 2>&1; then
    echo "UDS verified under the wrong CA"
    failed=$((failed + 1))
fi
echo "$((3 - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
