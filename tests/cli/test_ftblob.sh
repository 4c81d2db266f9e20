#!/bin/sh
# ftblob against the sample blobs: listings, exit codes and error messages.
#   test_ftblob.sh FTBLOB DATA_DIR
set -u
ftblob=$1
data=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
failures=0

expect() { # expect STATUS PATTERN -- ARGS...
    want_status=$1
    pattern=$2
    shift 3
    "$ftblob" "$@" >"$out" 2>&1
    status=$?
    if [ "$status" -ne "$want_status" ] || ! grep -q -- "$pattern" "$out"; then
        echo "FAIL: ftblob $*: status $status (want $want_status), output:" >&2
        cat "$out" >&2
        echo "  (expected to contain: $pattern)" >&2
        failures=$((failures + 1))
    fi
}

expect 0 "perso blob V0: 7 objects, 2830 of 5120" -- "$data/perso_blob_v0.resp"
expect 0 "3   1918 X509Tbs            810  TPM EK" -- "$data/perso_blob_v0.resp"
expect 0 "perso blob V0: 7 objects" -- --format raw "$data/perso_blob_v0.bin"
expect 0 "0      0 BlobVersion" -- --blob-version 1 "$data/perso_blob_v1.json"
expect 1 "a V1 body must start with the version object" -- --blob-version 1 "$data/perso_blob_v0.resp"
expect 1 "object 0 at offset 0: cert header wrapped size" -- "$data/perso_blob_corrupt.resp"
expect 1 "no RESP_OK line" -- --format line "$data/perso_blob_v0.bin"
expect 2 "usage:" -- --blob-version 2 "$data/perso_blob_v0.resp"
expect 2 "No such file" -- "$data/missing"

if [ "$failures" -ne 0 ]; then
    echo "$failures ftblob checks failed" >&2
    exit 1
fi
echo "all ftblob checks passed"
