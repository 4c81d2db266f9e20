#!/bin/sh
# `make fuzz`: builds the libFuzzer targets and runs each for FUZZ_SECONDS (default 60),
# keeping the grown corpus in $BUILD_DIR/fuzz/tests/fuzz/corpus so later runs continue
# from it. The targets are every tests/fuzz/fuzz_*.c, so a new one is run without being
# listed here. Ends with one summary line per target; exits non-zero on any finding.
set -eu
BUILD_DIR=${BUILD_DIR:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
dir="$BUILD_DIR/fuzz"
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFTH_FUZZ=ON -DFTH_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
findings=0
for source in tests/fuzz/fuzz_*.c; do
    target=$(basename "$source" .c)
    binary="$dir/tests/fuzz/$target"
    if [ ! -x "$binary" ]; then
        # pa, flow, plugin, daemon targets are built only when their libraries are; say so
        # rather than skip silently.
        echo "$target: not built" >&2
        printf '%-22s %14s  %s\n' "$target" "-" "not built" >>"$summary"
        continue
    fi
    if line=$(tests/fuzz/run-fuzz.sh "$binary" "tests/fuzz/seeds/$target" \
        "$dir/tests/fuzz/corpus/$target" -max_total_time="$FUZZ_SECONDS"); then
        echo "$line"
        runs=$(echo "$line" | sed -n 's/^[^:]*: \([0-9?]*\) executions.*/\1/p')
        printf '%-22s %14s  %s\n' "$target" "${runs:-?}" "no findings" >>"$summary"
    else
        findings=$((findings + 1))
        printf '%-22s %14s  %s\n' "$target" "-" "FINDING (see $dir/tests/fuzz/corpus/$target.log)" \
            >>"$summary"
    fi
done

echo
printf '%-22s %14s  %s\n' "target" "executions" "result"
cat "$summary"
if [ "$findings" -ne 0 ]; then
    echo "fuzz: $findings target(s) with findings" >&2
    exit 1
fi
