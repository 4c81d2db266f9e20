#!/bin/sh
# `make check`: builds and tests every configuration, stops at the first failure.
#   1. normal     gcc, -Werror, all unit tests
#   2. sanitize   gcc, ASan + UBSan, all unit tests
#   3. fuzz       clang, libFuzzer + ASan + UBSan, a smoke run of each fuzz target
# Ends with one total line: "check: N passed, M failed".
set -eu
BUILD_DIR=${BUILD_DIR:-build}
jobs=$(nproc)
passed=0
failed=0

run_config() {
    name=$1
    shift
    dir="$BUILD_DIR/$name"
    echo "== $name: configure and build"
    cmake -S . -B "$dir" "$@" >"$dir.configure.log" 2>&1 || {
        cat "$dir.configure.log" >&2
        exit 1
    }
    cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1 || {
        cat "$dir.build.log" >&2
        exit 1
    }
    echo "== $name: test"
    log="$dir.ctest.log"
    status=0
    (cd "$dir" && ctest --output-on-failure -j"$jobs") >"$log" 2>&1 || status=$?
    grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|executions' "$log" || true
    summary=$(grep -E 'tests passed, [0-9]+ tests failed out of' "$log" | tail -n 1)
    total=$(echo "$summary" | sed -n 's/.*out of \([0-9]*\).*/\1/p')
    bad=$(echo "$summary" | sed -n 's/.* \([0-9]*\) tests failed.*/\1/p')
    passed=$((passed + ${total:-0} - ${bad:-0}))
    failed=$((failed + ${bad:-0}))
    if [ "$status" -ne 0 ] || [ -z "$summary" ]; then
        cat "$log" >&2
        echo "check: $passed passed, $((failed > 0 ? failed : 1)) failed"
        exit 1
    fi
}

mkdir -p "$BUILD_DIR"
run_config normal -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_config sanitize -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DFTH_SANITIZE=ON
if command -v clang >/dev/null 2>&1; then
    run_config fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DFTH_FUZZ=ON -DFTH_TESTS=OFF
else
    echo "== fuzz: clang not installed, fuzz smoke runs not built"
fi
echo "check: $passed passed, $failed failed"
