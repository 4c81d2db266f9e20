#!/bin/sh
# Every binary prints the one project version (CMake's project(VERSION)) for --version.
# usage: test_versions.sh VERSION BINARY...
set -u
want=$1
shift
passed=0
failed=0
for bin in "$@"; do
    name=$(basename "$bin")
    got=$("$bin" --version 2>&1)
    status=$?
    if [ "$status" -eq 0 ] && [ "$got" = "$name $want" ]; then
        passed=$((passed + 1))
        echo "ok   $name --version: $got"
    else
        failed=$((failed + 1))
        echo "FAIL $name --version: exit $status, \"$got\", expected \"$name $want\""
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
