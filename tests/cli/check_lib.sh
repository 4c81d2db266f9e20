# Sourced by the shell tests of tests/cli: ok/FAIL lines and the closing count.
#   check DESCRIPTION COMMAND...   runs COMMAND, counts and prints its outcome; returns 1
#                                  when it failed (`check ... || show-why`)
#   finish                         prints "N passed, M failed"; exits 1 on any failure
passed=0
failed=0
check() {
    what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok   $what"
    else
        failed=$((failed + 1))
        echo "FAIL $what"
        return 1
    fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}
