#!/bin/sh
# Runs one libFuzzer target from its seed corpus.
#   run-fuzz.sh BINARY SEED_DIR WORK_CORPUS_DIR [libFuzzer options...]
# New inputs go to WORK_CORPUS_DIR (in the build tree), never into the seeds. Prints the
# executions reached; exits non-zero on any finding (crash, leak, sanitizer report).
# When dict/<target>.dict exists next to this script, libFuzzer gets it as -dict, so the
# smoke runs, `make fuzz` and hand runs all mutate with the formats' own tokens.
set -eu
binary=$1
seeds=$2
corpus=$3
shift 3

mkdir -p "$corpus"
log="$corpus.log"
artifacts="$corpus.artifacts/"
mkdir -p "$artifacts"
name=$(basename "$binary")
dict="$(dirname "$0")/dict/$name.dict"
if [ -f "$dict" ]; then
    set -- -dict="$dict" "$@"
fi
status=0
"$binary" -artifact_prefix="$artifacts" -print_final_stats=1 "$@" "$corpus" "$seeds" \
    >"$log" 2>&1 || status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
if [ "$status" -ne 0 ]; then
    echo "$name: FINDING after ${runs:-?} executions (exit $status); log: $log" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
echo "$name: ${runs:-?} executions, no findings"
