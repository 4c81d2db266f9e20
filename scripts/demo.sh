#!/bin/sh
# `make demo`: the main job end to end on embedded defaults.
#   1. builds; creates a development PKI and configuration for each SKU (ftpa init);
#   2. starts the endorsement service (ftpa) on loopback;
#   3. personalizes simulated chips (ftsim) of every SKU over the SPI console socket and
#      over a UART pty with `ftharness run` and the SKU's plugin (no-op for the upstream
#      SKUs; sival_inject appends one more certificate with the inject plugin), then,
#      where the link has a reset pin (the SPI socket), resets the chip and checks that it
#      boots to the owner firmware (the "boot" column);
#   4. prints a summary table and verifies every chain with the openssl CLI;
#   5. personalizes a batch of chips through the daemon, ftharnessd (three sites at once,
#      driven with `ftharness provision`), registering them from its spool;
#   6. stops everything it started.
set -eu
BUILD_DIR=${BUILD_DIR:-build}
root=$(pwd)
dir="$BUILD_DIR/normal"
echo "== building"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
ftpa="$root/$dir/src/pa/ftpa"
ftsim="$root/$dir/src/sim/ftsim"
ftharness="$root/$dir/src/ftharness"
work="$root/$BUILD_DIR/demo"
rm -rf "$work"
mkdir -p "$work/records"
# Device records written while each chip is personalized (ftharness --record-dir).
mkdir -m 0700 "$work/journal"
FTHARNESS_RECORD_DIR="$work/journal"
export FTHARNESS_RECORD_DIR
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

echo "== configuring the endorsement service (development PKI per SKU)"
printf 'demo-password\n' >"$work/password"
chmod 600 "$work/password"
for sku in sival sival_v1 sival_rc17 sival_v1_master sival_devseed; do
    "$ftpa" init --config-dir "$work/pa" --sku $sku --no-ext --password-file "$work/password" \
        --boot-message "Bare metal PASS!" >/dev/null
done
"$ftpa" init --config-dir "$work/pa" --sku sival_inject --no-ext --password-file "$work/password" \
    --boot-message "PASS!" >/dev/null
"$ftpa" init --config-dir "$work/pa" --sku emulation_tpm --hash-order "UDS,CDI_0,CDI_1,TPM EK" \
    --password-file "$work/password" --boot-message "Bare metal PASS!" >/dev/null
mkfifo "$work/pa-ready"
"$ftpa" serve --config-dir "$work/pa" --db "$work/registry.db" >"$work/pa-ready" 2>"$work/ftpa.log" &
pids="$pids $!"
read -r line <"$work/pa-ready"
port=$(echo "$line" | sed -n 's/.*:\([0-9]*\) (.*/\1/p')
echo "   $line"

# Starts ftsim for one chip and waits for its transport line ("socket ..." or "pty ...").
start_chip() { # start_chip SKU LINK SEED
    rm -f "$work/sim-ready"
    mkfifo "$work/sim-ready"
    if [ "$2" = spi ]; then
        transport="--socket $work/chip-$3.sock"
    else
        transport="--pty"
    fi
    # shellcheck disable=SC2086 # $transport is two words on purpose
    "$ftsim" $transport --sku "$root/skus/$1.json" --seed "$3" --y "$3" --lot 42 --wafer 7 \
        --was-seed "$(cat "$work/pa/$1/was-seed.hex")" >"$work/sim-ready" 2>"$work/ftsim-$3.log" &
    pids="$pids $!"
    read -r first <"$work/sim-ready"
    console=$(echo "$first" | awk '{print $3}')
    exec 3<"$work/sim-ready" # keep the fifo open so ftsim never blocks writing to it
}

echo "== personalizing simulated chips (ftsim, upstream-like timing)"
seed=1
for sku in sival_rc17 sival sival_v1 sival_devseed sival_inject emulation_tpm sival_v1_master; do
    for link in spi uart; do
        start_chip $sku $link $seed
        if [ $link = spi ]; then spec="spi-sim:$console"; else spec="uart:$console"; fi
        record="$work/records/$sku-$link.json"
        status=0
        "$ftharness" run --sku "$root/skus/$sku.json" --console "$spec" \
            --pa "http://127.0.0.1:$port" --password-file "$work/password" \
            --user-id "demo-host/$seed" --lot 42 --wafer 7 --x 3 --y $seed --json \
            --plugin-dir "$root/$dir/plugins" \
            >"$record" 2>"$work/ftharness-$sku-$link.log" || status=$?
        echo "   $sku over $link: exit $status"
        exec 3<&-
        seed=$((seed + 1))
    done
done

echo
echo "== summary"
/usr/bin/python3 - "$work/records" <<'PY'
import json, os, sys
d = sys.argv[1]
steps = ["send-rma-unlock-token", "perso-wait-ready", "perso-tbs-export", "perso-process-blobs",
         "perso-import-certs", "perso-all-certs-done", "rom_ext-done", "register-device"]
short = ["rma", "ready", "export", "endorse", "import", "done", "boot", "register"]
print("%-17s %-4s %-24s %-6s %8s  %s" % ("SKU", "link", "device ID (DIN, origin)", "result", "total ms",
      " ".join("%8s" % s for s in short)))
fails = 0
for name in sorted(os.listdir(d)):
    r = json.load(open(os.path.join(d, name)))
    sku, link = name[:-5].rsplit("-", 1)
    total = (r["end_time_ms"] - r["start_time_ms"])
    times = ["%8.1f" % (r["stats"][s]["microseconds"] / 1000.0) if s in r["stats"] else "%8s" % "-"
             for s in steps]
    print("%-17s %-4s %-24s %-6s %8d  %s" % (sku, link, r["device_id"][-24:], r["status"], total,
          " ".join(times)))
    if r["status"] != "PASS":
        fails += 1
        print("    error: %s" % r.get("error"))
sys.exit(1 if fails else 0)
PY

echo
echo "== verifying every chain with the openssl CLI"
/usr/bin/python3 - "$work" <<'PY'
import base64, json, os, subprocess, sys
work = sys.argv[1]
ok = True
for name in sorted(os.listdir(os.path.join(work, "records"))):
    r = json.load(open(os.path.join(work, "records", name)))
    out = os.path.join(work, "certs", name[:-5])
    os.makedirs(out, exist_ok=True)
    ca = os.path.join(work, "pa", r["sku"], "ca")
    chain = os.path.join(out, "chain.pem")
    with open(chain, "w") as f:
        f.write(open(os.path.join(ca, "root.pem")).read())
        f.write(open(os.path.join(ca, "dice-ica.pem")).read())
    results = []
    for cert in r["certs"].values():
        der = os.path.join(out, cert["name"].replace(" ", "_") + ".der")
        pem = der[:-4] + ".pem"
        open(der, "wb").write(base64.b64decode(cert["bytes"]))
        subprocess.run(["openssl", "x509", "-inform", "der", "-in", der, "-out", pem], check=True)
        if cert["endorsed_by"] == "plugin":  # the inject plugin's self-signed example
            cmd = ["openssl", "verify", "-CAfile", pem, pem]
        elif cert["name"] in ("UDS", "CDI_0", "CDI_1"):
            cmd = ["openssl", "verify", "-ignore_critical", "-CAfile", chain, pem]
        else:
            ext_chain = os.path.join(out, "ext-chain.pem")
            with open(ext_chain, "w") as f:
                f.write(open(os.path.join(ca, "root.pem")).read())
                f.write(open(os.path.join(ca, "ext-ica.pem")).read())
            cmd = ["openssl", "verify", "-CAfile", ext_chain, pem]
        good = subprocess.run(cmd, capture_output=True).returncode == 0
        origin = " (from plugin %s)" % r["plugin"]["name"] if cert["endorsed_by"] == "plugin" else ""
        results.append("%s%s %s" % (cert["name"], origin, "OK" if good else "FAILED"))
        ok = ok and good
        if cert["name"] in ("UDS", "CDI_0"):
            with open(chain, "a") as f:
                f.write(open(pem).read())
    print("   %-24s %s" % (name[:-5], ", ".join(results)))
sys.exit(0 if ok else 1)
PY
echo
echo "== personalizing a batch through the daemon (ftharnessd: 3 sites, 3 chips each)"
# Two SPI-socket sites and a pty site; the script plays the handler, putting the next
# chip in each socket site (ftsim's NEXT_CHIP) before asking for its DUT.
ftharnessd="$root/$dir/src/ftharnessd"
mkdir -m 0700 "$work/daemon-records" "$work/daemon-records/spool"
sites=""
for i in 0 1 2; do
    if [ $i -lt 2 ]; then link=spi; else link=uart; fi
    seed=$((50 + i))
    if [ $link = spi ]; then transport="--socket $work/chip-$seed.sock"; else transport="--pty"; fi
    # shellcheck disable=SC2086 # $transport is two words on purpose
    "$ftsim" $transport --sku "$root/skus/sival.json" --seed $seed --lot 42 --wafer 8 --x $seed --duts 0 \
        --was-seed "$(cat "$work/pa/sival/was-seed.hex")" >"$work/chip-$seed.out" \
        2>"$work/ftsim-$seed.log" &
    pids="$pids $!"
    tries=0
    until [ -s "$work/chip-$seed.out" ]; do
        tries=$((tries + 1))
        [ $tries -lt 100 ] || { echo "ftsim did not start: $(cat "$work/ftsim-$seed.log")"; exit 1; }
        sleep 0.05
    done
    console=$(head -n 1 "$work/chip-$seed.out" | awk '{print $3}')
    if [ $link = spi ]; then spec="spi-sim:$console"; else spec="uart:$console"; fi
    sites="$sites${sites:+,}{\"name\": \"d$i\", \"console\": \"$spec\"}"
done
cat >"$work/ftharnessd.json" <<CONFIG
{"sites": [$sites],
 "service": {"url": "http://127.0.0.1:$port", "password_file": "$work/password"},
 "sku_dir": "$root/skus", "plugin_dir": "$root/$dir/plugins",
 "runner": "$root/$dir/src/ftharness-plugin-runner",
 "record_dir": "$work/daemon-records", "control": {"socket": "$work/control.sock"}}
CONFIG
"$ftharnessd" --config "$work/ftharnessd.json" --check-config | sed 's/^/   /'
"$ftharnessd" --config "$work/ftharnessd.json" 2>"$work/ftharnessd.log" &
daemon=$!
pids="$pids $daemon"
FTHARNESS_CONTROL_SOCKET="$work/control.sock"
export FTHARNESS_CONTROL_SOCKET
tries=0
# A site takes DUTs once its worker is ready ("idle"); until then provision says "not ready".
sites_idle() {
    "$ftharness" status --json 2>/dev/null | /usr/bin/python3 -c 'import json, sys
try:
    sys.exit(0 if all(s["state"] == "idle" for s in json.load(sys.stdin)["sites"]) else 1)
except ValueError:  # not listening yet
    sys.exit(1)'
}
until sites_idle; do
    tries=$((tries + 1))
    [ $tries -lt 100 ] || { echo "ftharnessd's sites not ready: $(cat "$work/ftharnessd.log")"; exit 1; }
    sleep 0.1
done
next_chip() { # next_chip SOCKET: the handler puts the next chip in
    /usr/bin/python3 -c 'import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(struct.pack("<IB", 1, 8))
sys.exit(0 if len(s.recv(5)) == 5 else 1)' "$1"
}
batch=""
for i in 0 1 2; do
    (
        for dut in 1 2 3; do
            if [ $i -lt 2 ]; then next_chip "$work/chip-$((50 + i)).sock"; fi
            "$ftharness" provision --site d$i --sku sival --wait --lot 42 --wafer 8 \
                --x $((50 + i)) --y $dut 2>&1 | tail -n 1
        done
    ) >"$work/daemon-site-$i.log" &
    batch="$batch $!"
done
for job in $batch; do wait "$job"; done
sed 's/^/   /' "$work"/daemon-site-*.log
passed=$(cat "$work"/daemon-site-*.log | grep -c "PASS (site" || true)
tries=0
until [ "$("$ftharness" status --json | /usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)["spool"]["depth"])')" = 0 ]; do
    tries=$((tries + 1))
    [ $tries -lt 300 ] || { echo "the registration spool did not drain"; exit 1; }
    sleep 0.1
done
"$ftharness" status | sed 's/^/   /'
rejected=$("$ftharness" status --json | /usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)["spool"]["rejected"])')
kill -TERM "$daemon"
wait "$daemon" || true
echo "   ftharnessd: $passed of 9 DUTs PASS, each registered from the spool ($rejected refused)"
[ "$passed" -eq 9 ] && [ "$rejected" -eq 0 ] ||
    { echo "demo: the daemon batch failed (see $work/ftharnessd.log)"; exit 1; }

echo
echo "registry: $("$ftpa" export --db "$work/registry.db" 2>&1 >/dev/null)"
echo "demo: done (records, certificates and logs in $work)"
