#!/bin/sh
# Everything that can fail without the chip is checked before the first byte goes to it
# (DESIGN §4): such a failure exits with its class's status, says "chip untouched", and the
# same chip then personalizes normally. `ftharness check` runs the same checks and reports
# each.
#   test_flow_preflight.sh FTHARNESS FTSIM FTPA SKU_DIR SCRATCH PLUGIN_DIR TEST_PLUGIN_DIR
set -u
ftharness=$1
ftsim=$2
ftpa=$3
skus=$4
work=$5
plugins=$6
test_plugins=$7
. "$(dirname "$0")/flow_lib.sh"

service_init
service_start
pa_pid=${pids##* }
mkfifo sim-ready
"$ftsim" --socket "$work/chip.sock" --sku sival --timing zero \
    --was-seed "$(cat pa/sival/was-seed.hex)" >sim-ready 2>ftsim.log &
pids="$pids $!"
read -r line <sim-ready
exec 3<sim-ready
common="--sku $skus/sival.json --pa $pa_url --password-file pw"

# ftharness check: every step reported, nothing sent to the chip.
status=0
# shellcheck disable=SC2086 # $common is several words on purpose
"$ftharness" check $common --console "spi-sim:$work/chip.sock" --plugin-dir "$plugins" \
    >check.out 2>check.err || status=$?
if [ $status -eq 0 ] && grep -q "^ok   SKU: sival" check.out &&
    grep -q "^ok   endorsement service" check.out &&
    grep -q "^ok   SKU plugin: noop loads in the sandbox" check.out &&
    grep -q "^ok   console: spi-sim:" check.out && grep -q "^check: ready" check.out; then
    ok "ftharness check reports every step and exits 0"
else
    bad "ftharness check: exit $status: $(cat check.out check.err)"
fi
status=0
# shellcheck disable=SC2086
"$ftharness" check $common --console "spi-sim:$work/none.sock" --plugin-dir "$plugins" \
    >check.out 2>check.err || status=$?
if [ $status -eq 3 ] && grep -q "console: .*none.sock.*(chip untouched)" check.err &&
    grep -q "^check: not ready" check.out; then
    ok "ftharness check with an unreachable console: exit 3"
else
    bad "ftharness check, unreachable console: exit $status: $(cat check.out check.err)"
fi

# refused WHAT STATUS TEXT ARGS...: a run that must stop before the chip.
refused() {
    what=$1
    want=$2
    text=$3
    shift 3
    status=0
    # shellcheck disable=SC2086
    "$ftharness" run $common --console "spi-sim:$work/chip.sock" "$@" >out.json 2>out.txt ||
        status=$?
    if [ $status -eq "$want" ] && grep -q -- "$text" out.txt && grep -q "chip untouched" out.txt; then
        ok "$what: exit $want before the chip is touched"
    else
        bad "$what: exit $status: $(cat out.txt)"
    fi
}
# (a later --sku, --console or --plugin-dir overrides refused's own)
refused "no plugin dir" 5 "plugin dir /nonexistent" --plugin-dir /nonexistent
refused "a --console typo (spi: for spi-sim:)" 2 "console text: --console spi:" \
    --console "spi:$work/chip.sock" --plugin-dir "$plugins"
mkdir -m 0755 open-plugins
cp "$plugins/noop.so" open-plugins/
chmod 0777 open-plugins
refused "a world-writable plugin dir" 5 "is world-writable (mode 0777)" \
    --plugin-dir "$work/open-plugins"
chmod 0755 open-plugins
sed 's/"name": "noop"/"name": "nothere"/' "$skus/sival.json" >sku-nothere.json
refused "a SKU naming a missing plugin" 5 "nothere.so not found" --sku sku-nothere.json \
    --plugin-dir "$plugins"
sed 's/"name": "noop"/"name": "nosym"/' "$skus/sival.json" >sku-nosym.json
refused "a plugin without ft_ext" 5 "does not export ft_ext" --sku sku-nosym.json \
    --plugin-dir "$test_plugins"
sed 's|"certs/extra.der"|"certs/missing.der"|' "$skus/sival_inject.json" >sku-noinput.json
refused "a missing plugin input" 5 "input cert: .*missing.der" --sku sku-noinput.json \
    --plugin-dir "$plugins"
if ! grep -q "DeriveTokens" ftpa.log; then
    ok "no DeriveTokens reached the service for the refused runs"
else
    bad "a refused run asked for tokens: $(grep DeriveTokens ftpa.log)"
fi

# The service refuses DeriveTokens (the SKU's methods without it, reloaded with SIGHUP):
# the service's class at the RMA step (exit 4), nothing written to the chip.
cp pa/sku_auth.json sku_auth.keep
"$python" - pa/sku_auth.json <<'PY'
import json, sys
auth = json.load(open(sys.argv[1]))
auth["sku_auth_cfg_list"]["sival"]["methods"].remove("DeriveTokens")
json.dump(auth, open(sys.argv[1], "w"))
PY
reload_service() {
    before=$(grep -c "configuration reloaded" ftpa.log)
    kill -HUP "$pa_pid"
    i=0
    while [ "$(grep -c "configuration reloaded" ftpa.log)" -eq "$before" ] && [ $i -lt 200 ]; do
        i=$((i + 1))
        sleep 0.05
    done
}
reload_service
record=record-denied.json
status=0
# shellcheck disable=SC2086
"$ftharness" run $common --console "spi-sim:$work/chip.sock" --plugin-dir "$plugins" --json \
    >"$record" 2>run.log || status=$?
if [ $status -eq 4 ] && [ "$(field step)" = send-rma-unlock-token ] &&
    field dut_state | grep -q "no secrets written yet"; then
    ok "DeriveTokens refused by the service: exit 4 at send-rma-unlock-token, no secrets written"
else
    bad "DeriveTokens refused: exit $status at '$(field step)': $(cat run.log)"
fi
cp sku_auth.keep pa/sku_auth.json
reload_service

# The chip never moved: it personalizes now (reset to its first prompt, which the refused
# run had read).
record=record-after.json
status=0
# shellcheck disable=SC2086
"$ftharness" run $common --console "spi-sim:$work/chip.sock" --plugin-dir "$plugins" --json \
    --reset >"$record" 2>run.log || status=$?
if [ $status -eq 0 ]; then
    ok "the same chip then personalizes: PASS"
else
    bad "the chip after the refused runs: exit $status at '$(field step)': $(field message)"
fi
check_records 2
finish
