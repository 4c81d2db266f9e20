#!/bin/sh
# `make demo`: builds and runs what exists end to end.
#
# The personalization flow (ftsim device model, ftpa endorsement service, ftharness run)
# is not built yet; until it lands this demo shows the wire layer the flow will use:
# ftblob decodes the perso blobs a chip sends, in each form the harness meets them, and
# rejects a corrupted one with the exact object, offset and rule.
set -eu
BUILD_DIR=${BUILD_DIR:-build}
dir="$BUILD_DIR/normal"

echo "== building"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
ftblob="$dir/src/ftblob"

echo
echo "NOTE: the personalization flow (ftsim, ftpa, ftharness run) is not implemented yet;"
echo "      this demo runs the wire-format layer it will be built on."

show() {
    echo
    echo "== $1"
    shift
    echo "\$ ftblob $*"
    "$ftblob" "$@"
}

show "device response line (RESP_OK + padded PersoBlob, V0)" tests/data/perso_blob_v0.resp
show "host-form PersoBlob JSON (V1)" --blob-version 1 tests/data/perso_blob_v1.json
show "raw TLV body" --format raw tests/data/perso_blob_v0.bin

echo
echo "== a corrupted blob is rejected with the object, offset and rule"
echo "\$ ftblob tests/data/perso_blob_corrupt.resp"
if "$ftblob" tests/data/perso_blob_corrupt.resp; then
    echo "demo: the corrupted blob was accepted" >&2
    exit 1
fi
echo
echo "demo: done"
