#!/bin/sh
# Runs a Python test with the interpreter named first; exit 77 (CTest SKIP_RETURN_CODE)
# when that interpreter is not installed.
# usage: run_python.sh INTERPRETER SCRIPT [ARGS...]
interp=$1
shift
if [ ! -x "$interp" ]; then
    echo "$interp not found: skipping $1"
    exit 77
fi
exec "$interp" "$@"
