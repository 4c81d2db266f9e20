#!/bin/sh
# The RMA seed is never lost and a run's end is honest (DESIGN §4):
#   - the record is in the record directory before the chip is touched, and holds the
#     wrapped RMA seed before the token hash goes out;
#   - SIGTERM mid-run ends the run at its next wait: exit 7, a record with code "aborted"
#     and the state the chip showed;
#   - a run killed with SIGKILL right after the hash was sent leaves a record with the
#     seed; a rerun on that chip (which now skips the RMA prompt) finds it by device ID,
#     passes, and says where the seed came from;
#   - without that record, the rerun fails at once with quarantine advice.
#   test_flow_recovery.sh FTHARNESS FTSIM FTPA SKU_DIR SCRATCH PLUGIN_DIR
set -u
ftharness=$1
ftsim=$2
ftpa=$3
skus=$4
work=$5
plugins=$6
. "$(dirname "$0")/flow_lib.sh"

service_init
service_start

seed=0
# chip [ftsim args...]: a sival chip on its own socket, with its OTP kept in otp-$seed.txt
# (the same --seed gives the same device); sets $sock and $chip_pid.
chip() {
    rm -f sim-ready
    mkfifo sim-ready
    sock="$work/chip-$seed-$$.sock"
    rm -f "$sock"
    "$ftsim" --socket "$sock" --sku sival --seed $((300 + seed)) --y $seed --timing zero \
        --otp-state "$work/otp-$seed.txt" --was-seed "$(cat pa/sival/was-seed.hex)" "$@" \
        >sim-ready 2>>"ftsim-$seed.log" &
    chip_pid=$!
    pids="$pids $chip_pid"
    read -r line <sim-ready
    exec 3<sim-ready
}

# start_run RECORD_DIR [args...]: ftharness in the background; sets $run_pid, $record.
start_run() {
    records=$1
    shift
    mkdir -p -m 0700 "$records"
    record="record-$seed-$(date +%s%N).json"
    "$ftharness" run --sku "$skus/sival.json" --console "spi-sim:$sock" \
        --pa "$pa_url" --password-file pw --plugin-dir "$plugins" \
        --record-dir "$records" --y $seed --json "$@" >"$record" 2>"$record.log" &
    run_pid=$!
}

# journal_has DIR TEXT: a record in DIR says TEXT, within 10 s (the run writes it at every
# change of the chip's state; this only watches for that write).
journal_has() {
    i=0
    while [ $i -lt 200 ]; do
        if grep -l -- "$2" "$1"/*.json >/dev/null 2>&1; then
            return 0
        fi
        i=$((i + 1))
        sleep 0.05
    done
    return 1
}

# value FILE KEY...: a record's value at KEY (nested keys in turn), "" when absent.
value() {
    "$python" - "$@" <<'PY' 2>/dev/null
import json, sys
v = json.load(open(sys.argv[1]))
for key in sys.argv[2:]:
    v = v[key]
print(v)
PY
}

secret2='SECRET2 (RMA token hash) written'

# 1. SIGTERM while the chip computes its certificate inputs prompt.
seed=1
chip --step-delay certgen=3000
start_run journal-1
if journal_has journal-1 "$secret2"; then
    kill -TERM $run_pid
    status=0
    wait $run_pid || status=$?
    if [ $status -eq 7 ] && [ "$(field code)" = aborted ] &&
        field dut_state | grep -q "SECRET2" && grep -q '"code": "aborted"' journal-1/*.json; then
        ok "SIGTERM mid-run: exit 7, the record says aborted and what the chip holds"
    else
        bad "SIGTERM: exit $status, code '$(field code)', state '$(field dut_state)': $(cat "$record.log")"
    fi
else
    bad "SIGTERM: the record never showed SECRET2 written: $(cat "$record.log")"
    kill $run_pid 2>/dev/null
fi
kill $chip_pid 2>/dev/null
exec 3<&-

# 2. SIGKILL right after the hash went out, then a rerun on the same chip.
seed=2
chip --step-delay certgen=3000
start_run journal-2
if journal_has journal-2 "$secret2" && grep -q '"rma_unlock_token"' journal-2/*.json; then
    kill -KILL $run_pid
    wait $run_pid 2>/dev/null
    first=$(grep -l "$secret2" journal-2/*.json | head -n 1)
    ok "SIGKILL after the hash: the record holds the wrapped RMA seed ($(basename "$first"))"
else
    bad "SIGKILL: no record with SECRET2 and the seed: $(cat "$record.log")"
    kill -KILL $run_pid 2>/dev/null
    first=""
fi
rm -f "$record" # the killed run printed nothing
start_run journal-2 --reset
status=0
wait $run_pid || status=$?
seed_before=$(value "$first" rma_unlock_token)
seed_after=$(value "$record" rma_unlock_token)
from=$(value "$record" secret2_earlier seed_from)
if [ $status -eq 0 ] && [ -n "$seed_before" ] && [ "$seed_before" = "$seed_after" ] &&
    [ "$from" = "$(basename "$first")" ]; then
    ok "the rerun (--reset) skips the RMA prompt, reuses the journalled seed and passes"
else
    bad "rerun: exit $status, seed reused: $([ "$seed_before" = "$seed_after" ] && echo yes || echo no), from '$from': $(cat "$record.log")"
fi
kill $chip_pid 2>/dev/null
exec 3<&-

# 3. The same chip in a new ftsim (its OTP from the state file), without those records.
chip
start_run journal-3
status=0
wait $run_pid || status=$?
if [ $status -eq 3 ] && grep -q "quarantine the chip" "$record.log" &&
    [ "$(field step)" = perso-process-blobs ]; then
    ok "a chip with SECRET2 and no record of its seed: exit 3, quarantine advice"
else
    bad "no earlier record: exit $status at '$(field step)': $(cat "$record.log")"
fi
kill $chip_pid 2>/dev/null
exec 3<&-

# 4. Register later: a chip personalized without registration, registered from its record.
seed=4
chip
start_run journal-4 --no-register
status=0
wait $run_pid || status=$?
exec 3<&-
kept=$(grep -l '"personalized, not registered' journal-4/*.json | head -n 1)
device=$(value "$record" device_id)
if [ $status -eq 0 ] && [ -n "$kept" ] && ! "$ftpa" export --db registry.db 2>/dev/null | grep -q "$device"; then
    ok "--no-register: PASS, the record says personalized, not registered"
else
    bad "--no-register: exit $status, record '$kept'"
fi
register() { # register RECORD: sets $status, output in register.out
    status=0
    "$ftharness" register --record "$1" --pa "$pa_url" --password-file pw \
        >register.out 2>&1 || status=$?
}
register "$kept"
if [ $status -eq 0 ] && "$ftpa" export --db registry.db 2>/dev/null | grep -q "$device"; then
    ok "ftharness register: the device is in the registry"
else
    bad "ftharness register: exit $status: $(cat register.out)"
fi
register "$kept"
if [ $status -eq 0 ]; then ok "ftharness register again: idempotent (exit 0)"; else bad "register again: exit $status: $(cat register.out)"; fi
sed 's/"perso_fw_sha256_hash": "\(..\)/"perso_fw_sha256_hash": "ff/' "$kept" >altered.json
register altered.json
if [ $status -eq 4 ] && grep -q "409" register.out && grep -q "compare them" register.out; then
    ok "a record with other data for a registered device: exit 4, the 409 explained"
else
    bad "altered record: exit $status: $(cat register.out)"
fi
early=$(grep -l '"aborted"' journal-1/*.json | head -n 1)
register "$early"
if [ $status -eq 2 ] && grep -q "nothing to register" register.out; then
    ok "a record of a chip never personalized: exit 2, nothing to register"
else
    bad "early record: exit $status: $(cat register.out)"
fi

# 5. The service killed while the chip computes: EndorseCerts fails, and that is the
# service's class (exit 4), not the chip's.
seed=5
chip --step-delay certgen=2000
start_run journal-5
if journal_has journal-5 "$secret2"; then
    for p in $pids; do
        if [ "$p" != "$chip_pid" ]; then kill "$p" 2>/dev/null; fi
    done
    status=0
    wait $run_pid || status=$?
    if [ $status -eq 4 ] && [ "$(field step)" = perso-process-blobs ]; then
        ok "service gone before EndorseCerts: exit 4 at perso-process-blobs"
    else
        bad "service gone: exit $status at '$(field step)': $(field message)"
    fi
else
    bad "service gone: the record never showed SECRET2 written"
fi
kill $chip_pid 2>/dev/null
exec 3<&-

check_records 5
finish
