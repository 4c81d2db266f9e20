#!/bin/sh
# `make bench`: a Release build, then every benchmark under bench/, one after the other
# (they measure throughput; running them together would skew each other).
set -eu
BUILD_DIR=${BUILD_DIR:-build}
dir="$BUILD_DIR/release"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" -j"$(nproc)" --target bench_endorse pa_pb_python >/dev/null
echo "== bench_endorse"
rm -rf "$dir/bench/scratch-endorse"
# With python3-grpcio, EndorseCerts over native gRPC beside HTTP/JSON too.
grpc=""
if /usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null; then
    grpc="tests/pa/grpc_pa.py $dir/proto/python"
else
    echo "(no python3-grpcio: the gRPC comparison is left out)"
fi
# shellcheck disable=SC2086
"$dir/bench/bench_endorse" "$dir/bench/scratch-endorse" 300 $grpc
cmake --build "$dir" -j"$(nproc)" --target bench_ftdi >/dev/null
echo "== bench_ftdi"
# 77: no emulated FTDI adapter here (umockdev, libftdi1 or libusb missing); the bench
# printed why, and the other benches still run.
rc=0
"$dir/bench/bench_ftdi" 5 || rc=$?
if [ "$rc" -eq 77 ]; then
    echo "bench_ftdi skipped (reason above)"
elif [ "$rc" -ne 0 ]; then
    exit "$rc"
fi
cmake --build "$dir" -j"$(nproc)" --target ftharness ftsim ftpa ftharness-plugin-runner ftext_noop >/dev/null
echo "== bench_flow"
/usr/bin/python3 bench/bench_flow.py "$dir" skus "$dir/bench/scratch-flow" 20
echo "== bench_daemon"
cmake --build "$dir" -j"$(nproc)" --target ftharnessd >/dev/null
/usr/bin/python3 bench/bench_daemon.py "$dir" skus "$dir/bench/scratch-daemon" 10000
