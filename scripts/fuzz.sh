#!/bin/sh
# `make fuzz`: builds the libFuzzer targets and runs each for FUZZ_SECONDS (default 60),
# keeping the grown corpus in $BUILD_DIR/fuzz/corpus so later runs continue from it.
set -eu
BUILD_DIR=${BUILD_DIR:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
dir="$BUILD_DIR/fuzz"
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFTH_FUZZ=ON -DFTH_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
for target in fuzz_perso_tlv fuzz_resp fuzz_spi_frame fuzz_simlink fuzz_sim_ujson_de \
    fuzz_ftdi_spec fuzz_pa_json fuzz_flow_sku fuzz_plugin_proto; do
    [ -x "$dir/tests/fuzz/$target" ] || continue # pa, flow, plugin: built when their libraries are
    tests/fuzz/run-fuzz.sh "$dir/tests/fuzz/$target" "tests/fuzz/seeds/$target" \
        "$dir/tests/fuzz/corpus/$target" -max_total_time="$FUZZ_SECONDS"
done
