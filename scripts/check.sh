#!/bin/sh
# `make check`: builds and tests every configuration, stops at the first failure.
#   1. normal     gcc, -Werror, all unit tests
#   2. sanitize   gcc, ASan + UBSan, all unit tests
#   3. fuzz       clang, libFuzzer + ASan + UBSan, a smoke run of each fuzz target
# Ends with one total line: "check: N passed, M failed, K skipped". A skipped test is not a
# pass: any skip makes the run fail (after naming each with its reason) unless
# FTH_ALLOW_SKIP=1 is set.
set -eu
BUILD_DIR=${BUILD_DIR:-build}
jobs=$(nproc)
passed=0
failed=0
skipped=0
skip_report=""

total_line() {
    echo "check: $passed passed, $failed failed, $skipped skipped"
}

# skip_reason NAME LOG: the line a skipped test printed to say why (its "SKIP..." line, or
# its last line), from CTest's LastTest.log.
skip_reason() {
    awk -v name="$1" '
        $0 ~ "^[0-9]+/[0-9]+ Testing: " name "$" { inside = 1; next }
        inside && $0 ~ "^\"" name "\" end time" { inside = 0 }
        inside && NF && !/^(Command|Directory|Environment|Output:|---|"|<end of output>|Test time|Test Skipped|Test Passed|Test Failed|[0-9]+\/[0-9]+ Test)/ {
            last = $0; if (!why && tolower($0) ~ /skip/) why = $0
        }
        END { print (why ? why : last) }' "$2"
}

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
    # CTest counts a skipped test (SKIP_RETURN_CODE) as not failed: take it out of passed.
    names=$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$log")
    n_skip=0
    for t in $names; do
        n_skip=$((n_skip + 1))
        why=$(skip_reason "$t" "$dir/Testing/Temporary/LastTest.log")
        skip_report="$skip_report
  $name/$t: $why"
    done
    passed=$((passed + ${total:-0} - ${bad:-0} - n_skip))
    failed=$((failed + ${bad:-0}))
    skipped=$((skipped + n_skip))
    if [ "$status" -ne 0 ] || [ -z "$summary" ]; then
        cat "$log" >&2
        [ "$failed" -gt 0 ] || failed=1
        total_line
        exit 1
    fi
}

mkdir -p "$BUILD_DIR"
run_config normal -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_config sanitize -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DFTH_SANITIZE=ON
run_config fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFTH_FUZZ=ON -DFTH_TESTS=OFF
if [ "$skipped" -gt 0 ]; then
    echo "skipped tests (a skip is not a pass):$skip_report"
fi
total_line
if [ "$skipped" -gt 0 ] && [ "${FTH_ALLOW_SKIP:-0}" != 1 ]; then
    echo "check: $skipped test(s) skipped; install what they need (scripts/install-deps.sh)" \
        "or set FTH_ALLOW_SKIP=1 to accept skips" >&2
    exit 1
fi
