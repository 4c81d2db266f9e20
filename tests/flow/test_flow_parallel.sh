#!/bin/sh
# Several `ftharness run` at once against one service, none with --user-id: each run is a
# site of its own (user_id <hostname>/run-<pid>), so no run replaces another's session
# token mid-DUT. All must PASS.
#   test_flow_parallel.sh FTHARNESS FTSIM FTPA SKU_DIR SCRATCH PLUGIN_DIR
set -u
ftharness=$1
ftsim=$2
ftpa=$3
skus=$4
work=$5
plugins=$6
runs=4
. "$(dirname "$0")/flow_lib.sh"

service_init
service_start

# Every chip is up before any run starts, so the runs overlap.
i=0
while [ $i -lt $runs ]; do
    i=$((i + 1))
    mkfifo "ready-$i"
    "$ftsim" --socket "$work/chip-$i.sock" --sku sival --seed $((200 + i)) --y $i \
        --was-seed "$(cat pa/sival/was-seed.hex)" >"ready-$i" 2>"ftsim-$i.log" &
    pids="$pids $!"
    read -r line <"ready-$i"
done
i=0
run_pids=""
while [ $i -lt $runs ]; do
    i=$((i + 1))
    "$ftharness" run --sku "$skus/sival.json" --console "spi-sim:$work/chip-$i.sock" \
        --pa "$pa_url" --password-file pw --y $i --json \
        --plugin-dir "$plugins" >"record-$i.json" 2>"ftharness-$i.log" &
    run_pids="$run_pids $!"
done
i=0
for p in $run_pids; do
    i=$((i + 1))
    status=0
    wait "$p" || status=$?
    record=record-$i.json
    if [ $status -eq 0 ]; then
        ok "run $i of $runs in parallel without --user-id: PASS"
    else
        bad "run $i of $runs: exit $status at '$(field step)': $(field message)"
    fi
done
users=$(sed -n 's/.*InitSession user=\([^ ]*\) -> OK.*/\1/p' ftpa.log | sort -u | wc -l)
if [ "$users" -eq $runs ]; then
    ok "the service saw $runs distinct user_ids"
else
    bad "the service saw $users distinct user_ids for $runs runs: $(grep InitSession ftpa.log)"
fi
check_records $runs
finish
