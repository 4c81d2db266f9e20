#!/bin/sh
# ftsim --sku PATH: a SKU owner tries a new SKU's layout without silicon. A SKU file that
# is not one of ftsim's built-ins (an ext certificate of its own, a slot for a plugin
# certificate) shapes the chip; ftpa serves it; `ftharness run` with the same file PASSes.
# A SKU ftsim cannot model is refused naming what.
#   test_flow_skufile.sh FTHARNESS FTSIM FTPA SKU_DIR SCRATCH PLUGIN_DIR
set -u
ftharness=$1
ftsim=$2
ftpa=$3
skus=$4
work=$5
plugins=$6
. "$(dirname "$0")/flow_lib.sh"

mkdir -p certs
cp "$skus/certs/extra.der" certs/
cat >acme.json <<'JSON'
{
  "name": "acme",
  "firmware": "earlgrey-1.0.0",
  "blob_version": 0,
  "certs": [
    {"name": "UDS", "ca": "dice", "endorse": "host", "max_size": 1024},
    {"name": "CDI_0", "ca": "dice", "endorse": "device", "max_size": 1024},
    {"name": "CDI_1", "ca": "dice", "endorse": "device", "max_size": 1024},
    {"name": "ACME ID", "ca": "ext", "endorse": "host", "max_size": 1024}
  ],
  "plugin": {"name": "inject", "config": "name=EXTRA input=cert", "certs": ["EXTRA"],
             "inputs": [{"name": "cert", "path": "certs/extra.der"}]},
  "lc_state": "PROD"
}
JSON
printf 'e2e-password\n' >pw
chmod 600 pw
"$ftpa" init --config-dir pa --sku acme --hash-order "UDS,CDI_0,CDI_1,ACME ID" \
    --password-file pw >/dev/null
service_start

mkfifo sim-ready
"$ftsim" --socket "$work/chip.sock" --sku "$work/acme.json" --timing zero \
    --was-seed "$(cat pa/acme/was-seed.hex)" >sim-ready 2>ftsim.log &
pids="$pids $!"
read -r line <sim-ready
exec 3<sim-ready

record=record-acme.json
status=0
"$ftharness" run --sku "$work/acme.json" --console "spi-sim:$work/chip.sock" \
    --pa "$pa_url" --password-file pw --plugin-dir "$plugins" --json \
    >"$record" 2>run.log || status=$?
exec 3<&-
if [ $status -eq 0 ] && "$python" - "$record" <<'PY'; then
import json, sys
r = json.load(open(sys.argv[1]))
certs = r["certs"]
assert list(certs) == ["UDS", "CDI_0", "CDI_1", "ACME ID", "EXTRA"], list(certs)
assert certs["ACME ID"]["endorsed_by"] == "host"
assert certs["EXTRA"]["endorsed_by"] == "plugin"
PY
    ok "a chip shaped from acme.json personalizes: ACME ID endorsed, EXTRA from the plugin"
else
    bad "acme: exit $status: $(cat run.log)"
fi

sed 's/"name": "CDI_0", "ca": "dice"/"name": "CDI_0", "ca": "ext"/' acme.json >odd.json
status=0
"$ftsim" --socket "$work/odd.sock" --sku "$work/odd.json" >odd.out 2>&1 || status=$?
if [ $status -ne 0 ] && grep -q "odd.json: certs\[1\]: ftsim's chip starts with its DICE chain" odd.out; then
    ok "a SKU ftsim cannot model is refused naming the certificate"
else
    bad "odd SKU: exit $status: $(cat odd.out)"
fi
check_records 1
finish
