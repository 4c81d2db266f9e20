#!/bin/sh
# `make soak`: the reliability campaign of docs/reliability.md on a RelWithDebInfo build:
# the daemon soak (SOAK_DUTS DUTs over 8 sites, a fault drawn per DUT, SOAK_PA_RESTARTS
# service restarts, at most SOAK_MINUTES), then the kill -9 campaign (KILLS kills). Both
# use loopback and files under $BUILD_DIR/soak only; each prints its invariants with
# their counts, and the script fails when one does not hold.
set -eu
BUILD_DIR=${BUILD_DIR:-build}
SOAK_DUTS=${SOAK_DUTS:-10000}
SOAK_SEED=${SOAK_SEED:-1}
SOAK_PA_RESTARTS=${SOAK_PA_RESTARTS:-10}
SOAK_MINUTES=${SOAK_MINUTES:-60}
KILLS=${KILLS:-100}
dir="$BUILD_DIR/normal"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
progs="$dir/src/ftharnessd $dir/src/ftharness $dir/src/sim/ftsim $dir/src/pa/ftpa skus"
testbed="$dir/tests/usb/ftdi_testbed"
[ -x "$testbed" ] || testbed=""
echo "== soak: $SOAK_DUTS DUTs, seed $SOAK_SEED ($(date -u +%FT%TZ))"
# shellcheck disable=SC2086 # $progs is a list of paths without spaces
/usr/bin/python3 tests/daemon/soak.py $progs "$BUILD_DIR/soak/soak" "$dir/plugins" \
    "$dir/test-plugins" "$testbed" --duts "$SOAK_DUTS" --seed "$SOAK_SEED" \
    --pa-restarts "$SOAK_PA_RESTARTS" --minutes "$SOAK_MINUTES"
echo "== kill campaign: $KILLS kills, seed $SOAK_SEED ($(date -u +%FT%TZ))"
# shellcheck disable=SC2086
/usr/bin/python3 tests/daemon/kill_campaign.py $progs "$BUILD_DIR/soak/kill" "$dir/plugins" \
    "$dir/test-plugins" "$testbed" --kills "$KILLS" --seed "$SOAK_SEED"
MEMCHECK_DUTS=${MEMCHECK_DUTS:-80}
echo "== memcheck: $MEMCHECK_DUTS DUTs over 8 sites under valgrind ($(date -u +%FT%TZ))"
logs="$BUILD_DIR/soak/memcheck-logs"
rm -rf "$logs"
mkdir -p "$logs"
logs=$(cd "$logs" && pwd) # valgrind opens it from each process's own directory
# Every daemon process (supervisor, workers, uploader) runs under memcheck; the plugin
# runner it starts is skipped (its sandbox and its own tests cover it). Deadlines are
# stretched 10 times for valgrind's pace.
# shellcheck disable=SC2086
FTH_DAEMON_WRAPPER="valgrind --trace-children=yes \
--trace-children-skip=*plugin-runner* --suppressions=$PWD/tests/daemon/umockdev.supp \
--leak-check=full --show-leak-kinds=definite,indirect \
--log-file=$logs/%p.log" \
    /usr/bin/python3 tests/daemon/soak.py $progs "$BUILD_DIR/soak/memcheck" "$dir/plugins" \
    "$dir/test-plugins" "$testbed" --duts "$MEMCHECK_DUTS" --seed "$SOAK_SEED" \
    --pa-restarts 1 --timeout-scale 10
/usr/bin/python3 tests/daemon/check_memcheck.py "$logs"
