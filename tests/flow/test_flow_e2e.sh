#!/bin/sh
# `ftharness run` end to end against ftsim and ftpa: every SKU over both links PASSes and
# its chain verifies with the openssl CLI; every ftsim fault and service fault ends in FAIL
# at the right step with the right exit status, never in PASS.
#   test_flow_e2e.sh FTHARNESS FTSIM FTPA SKU_DIR SCRATCH PLUGIN_DIR TEST_PLUGIN_DIR
set -u
ftharness=$1
ftsim=$2
ftpa=$3
skus=$4
work=$5
plugins=$6
test_plugins=$7
if ! command -v openssl >/dev/null 2>&1 || ! /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
    echo "needs the openssl CLI and python3-cryptography; skipping"
    exit 77
fi
. "$(dirname "$0")/flow_lib.sh"

service_init
# A service SKU that expects fewer certificates than the chip holds (registration faults).
"$ftpa" init --config-dir pa --sku sival_short --no-ext --hash-order UDS,CDI_0 --password-file pw \
    --boot-message "Bare metal PASS!" >/dev/null
service_start

seed=100
# chip SKU LINK [ftsim args...]: starts a chip; sets $console
chip() {
    sku=$1
    link=$2
    shift 2
    seed=$((seed + 1))
    rm -f sim-ready
    mkfifo sim-ready
    if [ "$link" = spi ]; then transport="--socket $work/chip-$seed.sock"; else transport="--pty"; fi
    # The chip takes the SKU's layout and firmware generation from its file.
    sku_arg=$sku
    if [ -f "$skus/$sku.json" ]; then sku_arg="$skus/$sku.json"; fi
    # shellcheck disable=SC2086
    "$ftsim" $transport --sku "$sku_arg" --seed $seed --y $((seed % 1000)) --timing zero \
        --was-seed "$(cat pa/$sku/was-seed.hex)" "$@" >sim-ready 2>"ftsim-$seed.log" &
    pids="$pids $!"
    read -r first <sim-ready
    exec 3<sim-ready
    path=$(echo "$first" | awk '{print $3}')
    if [ "$link" = spi ]; then console="spi-sim:$path"; else console="uart:$path"; fi
}

# run SKU|FILE.json [ftharness args...]: personalizes the current chip with plugins from
# $plugin_dir; sets $status and $record
plugin_dir=$plugins
run() {
    case $1 in *.json) file=$1 ;; *) file="$skus/$1.json" ;; esac
    shift
    record="record-$seed.json"
    status=0
    "$ftharness" run --sku "$file" --console "$console" --pa "$pa_url" \
        --password-file pw --user-id "e2e/$seed" --y $((seed % 1000)) --plugin-dir "$plugin_dir" \
        --json "$@" \
        >"$record" 2>"ftharness-$seed.log" || status=$?
    exec 3<&-
}

verify_chain() { # verify_chain SKU: the record's certs with the openssl CLI
    "$python" - "$record" "pa/$1/ca" <<'PY'
import base64, json, subprocess, sys, os
r = json.load(open(sys.argv[1]))
ca = sys.argv[2]
assert r["status"] == "PASS", r
chain = open(os.path.join(ca, "root.pem")).read() + open(os.path.join(ca, "dice-ica.pem")).read()
for name in ("UDS", "CDI_0", "CDI_1"):
    der = base64.b64decode(r["certs"][name]["bytes"])
    pem = subprocess.run(["openssl", "x509", "-inform", "der"], input=der, capture_output=True, check=True).stdout.decode()
    open("chain.pem", "w").write(chain)
    open("leaf.pem", "w").write(pem)
    subprocess.run(["openssl", "verify", "-ignore_critical", "-CAfile", "chain.pem", "leaf.pem"], check=True, capture_output=True)
    chain += pem
if "TPM EK" in r["certs"]:
    der = base64.b64decode(r["certs"]["TPM EK"]["bytes"])
    pem = subprocess.run(["openssl", "x509", "-inform", "der"], input=der, capture_output=True, check=True).stdout.decode()
    open("leaf.pem", "w").write(pem)
    open("chain.pem", "w").write(open(os.path.join(ca, "root.pem")).read() + open(os.path.join(ca, "ext-ica.pem")).read())
    subprocess.run(["openssl", "verify", "-CAfile", "chain.pem", "leaf.pem"], check=True, capture_output=True)
for key in ("device_id", "stats", "certs", "rma_unlock_token", "certs_hash"):
    assert key in r, key
PY
}

verify_python() { # verify_python SKU: the record's certs with pyca/cryptography
    "$python" - "$record" "pa/$1/ca" <<'PY'
import base64, json, os, sys
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
r = json.load(open(sys.argv[1]))
ca = sys.argv[2]
load = lambda name: x509.load_pem_x509_certificate(open(os.path.join(ca, name), "rb").read())
certs = {n: x509.load_der_x509_certificate(base64.b64decode(c["bytes"])) for n, c in r["certs"].items()
         if c["endorsed_by"] != "plugin"}
issuer = {"UDS": load("dice-ica.pem"), "CDI_0": certs["UDS"], "CDI_1": certs["CDI_0"]}
for name, cert in certs.items():
    parent = issuer.get(name) or load("ext-ica.pem")
    parent.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                               ec.ECDSA(cert.signature_hash_algorithm))
    assert cert.issuer == parent.subject, name
PY
}

check_boot() { # check_boot LINK: the post-perso boot check ran (SPI socket) or was skipped (pty)
    "$python" - "$record" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
if sys.argv[2] == "spi":
    assert r["boot_check"] == {"result": "PASS", "rom_ext_version": "0.4"}, r["boot_check"]
    assert "rom_ext-done" in r["stats"]
else:
    assert r["boot_check"]["result"].startswith("skipped: "), r["boot_check"]
PY
}

check_plugin() { # check_plugin SKU: the record names the plugin and what it added
    "$python" - "$record" "$1" "$skus/certs/extra.der" <<'PY'
import base64, json, sys
r = json.load(open(sys.argv[1]))
sku, extra = sys.argv[2], open(sys.argv[3], "rb").read()
want = "inject" if sku == "sival_inject" else "noop"
assert r["plugin"]["name"] == want and r["plugin"]["version"], r.get("plugin")
added = {n: c for n, c in r["certs"].items() if c["endorsed_by"] == "plugin"}
if sku == "sival_inject":
    assert list(added) == ["EXTRA"], list(added)
    assert base64.b64decode(added["EXTRA"]["bytes"]) == extra, "EXTRA differs from extra.der"
else:
    assert not added, list(added)
PY
}

# Every shipped SKU on the firmware generation it names (a2-rc17, earlgrey-1.0.0, master).
for sku in sival_rc17 sival sival_v1 sival_devseed sival_inject emulation_tpm sival_v1_master; do
    for link in spi uart; do
        chip $sku $link
        run $sku
        if [ $status -eq 0 ] && verify_chain $sku && verify_python $sku && check_plugin $sku &&
            check_boot $link; then
            ok "$sku over $link: PASS, chain verified with openssl and pyca/cryptography"
        else
            bad "$sku over $link: exit $status $(field message)"
        fi
    done
done

# A SKU against a chip of another firmware generation fails with a message that says so,
# never at a deadline: earlgrey-1.0.0 prints "Blob version" after the certificate inputs,
# the others do not, and a2-rc17 refuses inputs that carry blob_version.
cross() { # cross SKU FIRMWARE TEXT: the chip runs FIRMWARE; the run must fail naming TEXT
    chip "$1" spi --firmware "$2"
    run "$1"
    if [ $status -ne 0 ] && [ "$(field code)" != timeout ] && field message | grep -q "$3"; then
        ok "$1 against a $2 chip: exit $status, $3"
    else
        bad "$1 against a $2 chip: exit $status, $(field code): $(field message)"
    fi
}
cross sival_rc17 earlgrey-1.0.0 "does not run a2-rc17"
cross sival a2-rc17 "refused the certificate inputs"
cross sival master "without printing \"Blob version\""
cross emulation_tpm a2-rc17 "refused the certificate inputs"
cross emulation_tpm earlgrey-1.0.0 "does not run master"
cross sival_v1_master earlgrey-1.0.0 "does not run master"

# The ROM bootstrap (DESIGN step 1): a blank chip gets the perso image over SPI; a
# two-stage chip asks for a second image. The chip measures what was programmed, so its
# PersoSha256Hash must be the SHA-256 of the (last) image sent.
# The chip measures slot A up to its last programmed byte: the image ends in a non-FF one.
head -c 69999 /dev/urandom >perso.bin
printf '\001' >>perso.bin
# The FT bundle as upstream assembles it for earlgrey-1.0.0: perso firmware at 0, ROM_EXT
# at 0x80000, owner firmware at 0x90000, so more than 576 KiB.
"$python" "$(dirname "$0")/../sim/make_bundle.py" --firmware earlgrey-1.0.0 --perso perso.bin \
    -o bundle.bin
if [ "$(wc -c <bundle.bin)" -gt 589824 ]; then
    ok "the earlgrey-1.0.0 FT bundle is $(wc -c <bundle.bin) bytes (owner firmware at 0x90000)"
else
    bad "the FT bundle is only $(wc -c <bundle.bin) bytes"
fi
sed 's|"lc_state": "PROD",|"lc_state": "PROD", "bootstrap": {"image": "perso.bin"},|' \
    "$skus/sival.json" >sku-bootstrap.json
sed 's|"lc_state": "PROD",|"lc_state": "PROD", "bootstrap": {"image": "perso.bin", "second_image": "bundle.bin"},|' \
    "$skus/sival.json" >sku-bootstrap2.json
check_bootstrap() { # check_bootstrap IMAGE STEP...: PASS, the steps timed, the hash of IMAGE
    "$python" - "$record" "$@" <<'PY'
import hashlib, json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "PASS", r.get("error")
for step in sys.argv[3:]:
    assert step in r["stats"], (step, list(r["stats"]))
want = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
assert r["perso_fw_sha256_hash"] == want, (r["perso_fw_sha256_hash"], want)
PY
}
chip sival spi --blank
run "$work/sku-bootstrap.json"
if [ $status -eq 0 ] && check_bootstrap perso.bin first-bootstrap; then
    ok "blank chip: perso image bootstrapped over SPI, then PASS"
else
    bad "bootstrap: exit $status $(field message)"
fi
# On a terminal the upload shows a progress bar (script(1) gives ftharness a tty).
chip sival spi --blank
status=0
script -qec "'$ftharness' run --sku '$work/sku-bootstrap.json' --console '$console' \
    --pa $pa_url --password-file pw --user-id e2e/$seed --y $((seed % 1000)) \
    --plugin-dir '$plugins'" /dev/null >tty-$seed.out 2>&1 || status=$?
exec 3<&-
if [ $status -eq 0 ] && tr '\r' '\n' <tty-$seed.out | grep -q "bootstrap \[#*\] 100% 70000/70000 bytes"; then
    ok "bootstrap on a terminal: progress bar to 100%"
else
    bad "bootstrap progress bar: exit $status: $(tr '\r' '\n' <tty-$seed.out | tail -n 3)"
fi
chip sival spi --blank --two-stage
run "$work/sku-bootstrap2.json"
if [ $status -eq 0 ] && check_bootstrap perso.bin first-bootstrap second-bootstrap; then
    ok "two-stage chip: both images bootstrapped, then PASS"
else
    bad "two-stage bootstrap: exit $status $(field message)"
fi
# a2-rc17 and master speak the same console bytes for a V0 SKU; what tells them apart is
# the chip itself: master's ROM reports 2 MiB of RRAM before anything is erased.
sed 's|"lc_state": "PROD",|"lc_state": "PROD", "bootstrap": {"image": "perso.bin"},|' \
    "$skus/sival_rc17.json" >sku-rc17-bootstrap.json
chip sival_rc17 spi --blank --firmware master
run "$work/sku-rc17-bootstrap.json"
if [ $status -ne 0 ] && [ "$(field step)" = first-bootstrap ] &&
    field message | grep -q "reports 2048 KiB of NVM"; then
    ok "a2-rc17 SKU, blank master chip: refused at first-bootstrap before erasing (exit $status)"
else
    bad "a2-rc17 SKU, master chip: exit $status at '$(field step)': $(field message)"
fi
chip sival spi --blank --two-stage
run "$work/sku-bootstrap.json" --timeout-scale 0.01
if [ $status -eq 3 ] && [ "$(field step)" = send-rma-unlock-token ]; then
    ok "two-stage chip given one image: FAIL waiting for the RMA prompt (exit 3)"
else
    bad "two-stage chip, one image: exit $status at '$(field step)': $(field message)"
fi
chip sival uart --blank
run "$work/sku-bootstrap.json"
if [ $status -eq 2 ] && grep -q "no SPI bus" "ftharness-$seed.log" && [ ! -s "$record" ]; then
    rm -f "$record" # refused before the chip was touched: no record
    ok "bootstrap over a plain tty: refused before touching the chip (exit 2)"
else
    bad "bootstrap over a tty: exit $status: $(cat "ftharness-$seed.log")"
fi

# expect_fail FAULT STEP EXIT [TEXT]: a chip with --fault FAULT fails at STEP with EXIT.
expect_fail() {
    fault=$1
    step=$2
    want=$3
    text=${4:-}
    if [ "${fault%%=*}" = slow ]; then
        chip emulation_tpm spi --fault "$fault" --step-delay certgen=100
    else
        chip emulation_tpm spi --fault "$fault"
    fi
    run emulation_tpm --timeout-scale 0.01
    got_step=$(field step)
    msg=$(field message)
    if [ $status -eq "$want" ] && [ "$got_step" = "$step" ] &&
        { [ -z "$text" ] || echo "$msg" | grep -q -- "$text"; }; then
        ok "fault $fault: FAIL at $step (exit $status)"
    else
        bad "fault $fault: exit $status at '$got_step' ($msg), expected exit $want at $step${text:+ mentioning '$text'}"
    fi
}
expect_fail stall=rma send-rma-unlock-token 3 "Waiting For RMA"
expect_fail stall=certgen perso-wait-ready 3 "Waiting for certificate inputs"
expect_fail wrong-frame-number=export perso-tbs-export 3
expect_fail reset=export perso-tbs-export 3 "Exporting TBS certificates"
expect_fail disconnect=export perso-tbs-export 3
expect_fail truncated-response=export perso-tbs-export 6
expect_fail bad-crc=export perso-tbs-export 6 "CRC"
expect_fail corrupt-tlv perso-tbs-export 6 "object 0 at offset 0"
expect_fail oversize-object perso-process-blobs 6 "UDS"
expect_fail bad-was-hmac perso-process-blobs 4 "WAS"
expect_fail bad-hash perso-import-certs 3 "certs hash mismatch"
expect_fail test-error perso-all-certs-done 3 "TestError"
expect_fail truncated-response=hash perso-import-certs 6
expect_fail bad-boot rom_ext-done 3 "BFV:0142500d"
expect_fail stall=export perso-tbs-export 3 "Exporting TBS certificates"

# The plugin's post-boot text never shows: FAIL at the boot check, naming the text.
# (plugin inputs lie beneath the SKU file's directory: the copy takes its input along)
mkdir -p certs
cp "$skus/certs/extra.der" certs/
sed 's/boot_text=metal/boot_text=absent/' "$skus/sival_inject.json" >sku-boot-text.json
chip sival_inject spi
run "$work/sku-boot-text.json" --timeout-scale 0.01
if [ $status -eq 3 ] && [ "$(field step)" = rom_ext-done ] && field message | grep -q '"absent"'; then
    ok "plugin post-boot text missing: FAIL at rom_ext-done (exit 3)"
else
    bad "plugin post-boot text missing: exit $status at '$(field step)': $(field message)"
fi
expect_fail stall=import perso-import-certs 3 "Importing endorsed certificates"
expect_fail stall=hash perso-import-certs 3
expect_fail stall=done perso-all-certs-done 3 "Personalization done"
expect_fail reset=import perso-import-certs 3
expect_fail disconnect=hash perso-import-certs 3
expect_fail slow=20 perso-wait-ready 3 # with --step-delay below

# The chip ends a wait itself: it refuses the certificates (TestError, then its closing
# line "Personalization done." early), fails a CHECK (an OTTF error line), or resets
# (the SPI frame counter back at 0; the ROM banner on a UART). The harness fails at once,
# quoting the chip, with what the chip now holds, under the SKU's own deadlines (30 s,
# export 10 s): the time this script measures must stay far below them. Before the
# console watched for these, each of these runs waited out a deadline (or, for a reset
# during the hash or "Personalization done.", claimed "certificates written").
fast_ms=5000
# expect_chip_stop LINK STEP STATE TEXT... : runs SKU $run_sku on the chip started by
# chip() before; FAIL at STEP with exit 3 within $fast_ms, the message holding every TEXT
# and the record's dut_state holding STATE.
run_sku=emulation_tpm
expect_chip_stop() {
    link=$1
    step=$2
    state=$3
    shift 3
    t0=$(date +%s%N)
    run $run_sku
    ms=$((($(date +%s%N) - t0) / 1000000))
    got_step=$(field step)
    msg=$(field message)
    got_state=$(field dut_state)
    missing=""
    for text in "$@"; do
        case $msg in *"$text"*) ;; *) missing="$missing '$text'" ;; esac
    done
    case $got_state in *"$state"*) ;; *) missing="$missing state '$state'" ;; esac
    if [ $status -eq 3 ] && [ "$got_step" = "$step" ] && [ -z "$missing" ] && [ $ms -lt $fast_ms ]; then
        ok "$what over $link: FAIL at $step after $ms ms: $msg"
    else
        bad "$what over $link: exit $status at '$got_step' after $ms ms (< $fast_ms wanted): $msg [$got_state]; missing$missing"
    fi
}
refused="refused the certificates"
restarted="restarted perso at the certificate inputs"
reset_words="Waiting for certificate inputs ..."
for link in spi uart; do
    # The words that tell a reset: a frame 0 on the SPI console, the ROM banner on a UART.
    if [ "$link" = spi ]; then banner="restarted at frame 0"; else banner="OpenTitan:4001-0002-01"; fi
    what="chip refuses the certificates (reject-import)"
    chip emulation_tpm "$link" --fault reject-import
    expect_chip_stop "$link" perso-import-certs "$refused" "Finished importing certificates." \
        "Personalization done."
    for at in export import hash "done"; do
        case $at in
        export) step=perso-tbs-export ;;
        import | hash) step=perso-import-certs ;;
        "done") step=perso-all-certs-done ;;
        esac
        what="chip resets during $at"
        chip emulation_tpm "$link" --fault "reset=$at"
        expect_chip_stop "$link" "$step" "$restarted" "the chip reset" "$banner" "$reset_words"
    done
done
# On the SPI socket the TestError pin is watched too: it names the refusal.
what="chip refuses the certificates, TestError"
chip emulation_tpm spi --fault reject-import
expect_chip_stop spi perso-import-certs "$refused" "TestError (IOA0)"
# A failed CHECK after the import: the chip's error log line, and no claim beyond it.
what="chip fails a CHECK before the hash"
chip emulation_tpm spi --fault check-fail=hash
expect_chip_stop spi perso-import-certs "then failed before sending their hash" \
    "the chip reported an error" "E00000 ft_personalize.c:905] CHECK-STATUS-fail: Internal:"
# The plugin adds a certificate the chip has no slot for (a sival chip has no Ext1
# layout): the chip's own check refuses the body.
what="extra certificate without a slot (sival chip, sival_inject SKU)"
chip sival spi --was-seed "$(cat pa/sival_inject/was-seed.hex)"
run_sku=sival_inject
expect_chip_stop spi perso-import-certs "$refused" "TestError (IOA0)" "Personalization done."
run_sku=emulation_tpm

# A correct host ignores junk frames: the chip still passes.
chip emulation_tpm spi --fault junk-frames=export
run emulation_tpm
if [ $status -eq 0 ]; then ok "junk frames are ignored: PASS"; else bad "junk frames: exit $status $(field message)"; fi

# SKU plugins that misbehave fail only their DUT, naming the plugin (exit 5).
plugin_dir=$test_plugins
# A plugin built for another ABI fails the check before the chip is touched: no record.
sed 's/"name": "noop"/"name": "badabi"/' "$skus/sival.json" >sku-badabi.json
chip sival spi
run "$work/sku-badabi.json"
if [ $status -eq 5 ] && grep -q "plugin badabi: ABI major" "ftharness-$seed.log" &&
    grep -q "chip untouched" "ftharness-$seed.log" && [ ! -s "$record" ]; then
    ok "plugin badabi: refused before the chip is touched (exit 5, no record)"
else
    bad "plugin badabi: exit $status: $(cat "ftharness-$seed.log")"
fi
rm -f "$record"
# plugin_fails PLUGIN TEXT WHAT: a sival chip under PLUGIN fails at perso-ft-ext (exit 5)
# with TEXT in the message, before the chip sees the body.
plugin_fails() {
    sed "s/\"name\": \"noop\"/\"name\": \"$1\"/" "$skus/sival.json" >"sku-$1.json"
    chip sival spi
    run "$work/sku-$1.json"
    if [ $status -eq 5 ] && [ "$(field step)" = perso-ft-ext ] && field message | grep -q "$2"; then
        ok "plugin $1: $3"
    else
        bad "plugin $1: exit $status at '$(field step)': $(field message)"
    fi
}
for plugin in crash hang garbage overflow exit network write baderr; do
    plugin_fails $plugin $plugin "FAIL at perso-ft-ext naming it (exit 5)"
done
# Output that breaches what the host holds is refused.
output_refused() { # output_refused PLUGIN EXPECTED-TEXT
    plugin_fails "$1" "$2" "output refused at perso-ft-ext (exit 5): $2"
}
output_refused impostor "appended certificate UDS takes the name of an endorsed certificate"
output_refused flipbit "endorsed certificate UDS was changed"
output_refused dropall "endorsed certificate UDS is missing or out of order"
output_refused stranger "appended certificate STRANGER is not one the SKU allows (plugin.certs: none)"
plugin_dir=$plugins
chip sival spi
run sival
if [ $status -eq 0 ]; then ok "the next DUT after the plugin failures passes"; else bad "after plugin failures: exit $status"; fi

# Endorsement service faults: a wrong SKU password, the service down.
printf 'wrong\n' >bad-pw
chmod 600 bad-pw
chip sival spi
status=0
"$ftharness" run --sku "$skus/sival.json" --console "$console" --pa "$pa_url" \
    --password-file bad-pw >out.txt 2>&1 || status=$?
exec 3<&-
if [ $status -eq 4 ] && grep -q "authentication" out.txt; then ok "wrong SKU password: exit 4"; else bad "wrong password: exit $status: $(cat out.txt)"; fi
status=0
"$ftharness" run --sku "$skus/sival.json" --console "$console" --pa "http://127.0.0.1:1" \
    --password-file pw >out.txt 2>&1 || status=$?
if [ $status -eq 4 ] && grep -q "InitSession" out.txt; then ok "service down: exit 4 naming the RPC"; else bad "service down: exit $status: $(cat out.txt)"; fi
# A SKU the service does not know, and a registration the service refuses (its SKU
# expects two X.509 certificates, the chip holds three): FAIL, never PASS.
sed 's/"name": "sival"/"name": "unknown_sku"/' "$skus/sival.json" >sku-unknown.json
chip sival spi
run sku-unknown.json
# The session opens before the chip is touched: no record, the chip waits for the next try.
if [ $status -eq 4 ] && grep -q "unknown_sku" "ftharness-$seed.log" && [ ! -s "$record" ]; then
    rm -f "$record"
    ok "SKU unknown to the service: exit 4 naming it, chip untouched"
else
    bad "SKU unknown to the service: exit $status: $(cat "ftharness-$seed.log")"
fi
sed 's/"name": "sival"/"name": "sival_short"/' "$skus/sival.json" >sku-short.json
chip sival spi --was-seed "$(cat pa/sival_short/was-seed.hex)"
run sku-short.json
if [ $status -eq 4 ] && [ "$(field step)" = register-device ] && field message | grep -q "cert count"; then
    ok "registration refused: FAIL at register-device (exit 4)"
else
    bad "registration refused: exit $status at '$(field step)': $(field message)"
fi

status=0
"$ftharness" run --sku nosuch --sku-dir "$skus" --console spi-sim:/nonexistent --pa http://127.0.0.1:1 \
    --password-file pw >out.txt 2>&1 || status=$?
if [ $status -eq 2 ] && grep -q "nosuch.json" out.txt; then ok "unknown SKU: exit 2 naming the file"; else bad "unknown SKU: exit $status: $(cat out.txt)"; fi

# A service address or TLS option that cannot work is local configuration: exit 2 before
# anything is sent, with the reason (never a clear-text run, never a "pin mismatch").
pa_option_refused() { # pa_option_refused WHAT EXPECTED-TEXT PA-OPTIONS...
    what=$1
    want=$2
    shift 2
    status=0
    "$ftharness" run --sku "$skus/sival.json" --console spi-sim:/nonexistent "$@" \
        --password-file pw >out.txt 2>&1 || status=$?
    if [ $status -eq 2 ] && grep -q "$want" out.txt && grep -q "chip untouched" out.txt; then
        ok "$what: exit 2, chip untouched"
    else
        bad "$what: exit $status: $(cat out.txt)"
    fi
}
pa_option_refused "--pa http:// with --ca" "in clear" --pa http://127.0.0.1:1 --ca pw
pa_option_refused "--pa http:// with --pin" "in clear" --pa http://127.0.0.1:1 \
    --pin "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
pa_option_refused "a malformed --pin" "32-byte SHA-256" --pa https://127.0.0.1:1 --pin sha256//abc
pa_option_refused "a missing --ca file" "ca_file nosuch.pem" --pa https://127.0.0.1:1 \
    --ca nosuch.pem
pa_option_refused "a --pa without a scheme" "is not http://, https://, grpc:// or grpcs://" --pa 127.0.0.1:1

# The SKU password file: missing, or open to others, is local configuration (exit 2).
cp pw pw-open
chmod 644 pw-open
password_refused() { # password_refused WHAT EXPECTED-TEXT FILE
    status=0
    "$ftharness" run --sku "$skus/sival.json" --console spi-sim:/nonexistent \
        --pa "$pa_url" --password-file "$3" >out.txt 2>&1 || status=$?
    if [ $status -eq 2 ] && grep -q -- "$2" out.txt && grep -q "chip untouched" out.txt; then
        ok "$1: exit 2 naming it, chip untouched"
    else
        bad "$1: exit $status: $(cat out.txt)"
    fi
}
password_refused "a password file others may read" "pw-open is open to others (mode 0644)" pw-open
password_refused "a missing password file" "password-file nosuch-pw: No such file" nosuch-pw

# A SKU file others may write is refused: what it says goes into chips.
cp "$skus/sival.json" sku-open.json
chmod 666 sku-open.json
status=0
"$ftharness" run --sku sku-open.json --console spi-sim:/nonexistent \
    --pa "$pa_url" --password-file pw >out.txt 2>&1 || status=$?
if [ $status -eq 2 ] && grep -q "SKU file sku-open.json is world-writable (mode 0666)" out.txt; then
    ok "a world-writable SKU file: exit 2 naming it"
else
    bad "a world-writable SKU file: exit $status: $(cat out.txt)"
fi

# A row of chips on one pty (ftsim --duts 0): the next chip goes in only once the host
# has let go of the tty, never while a host may still be reading the last chip's line
# (its prompt would be lost in that host's buffer). fd 4 holds the tty after the run.
chip sival uart --duts 0
exec 4<>"${console#uart:}"
run sival
first_device=$("$python" -c "import json; print(json.load(open('$record'))['device_id'])")
# Held: no byte of a next chip, however long (a swap would print its banner at once).
held=$(timeout 1 head -c 1 <&4 | wc -c)
exec 4<&-
if [ $status -eq 0 ] && [ "$held" -eq 0 ]; then
    ok "pty row: chip 0 PASS; nothing of chip 1 while the tty is still held"
else
    bad "pty row: exit $status, $held byte(s) of the next chip while the tty was held"
fi
run sival
second_device=$("$python" -c "import json; print(json.load(open('$record')).get('device_id', ''))")
if [ $status -eq 0 ] && [ -n "$second_device" ] && [ "$second_device" != "$first_device" ]; then
    ok "pty row: chip 1 goes in once the tty is released and passes from its first prompt"
else
    bad "pty row: second chip exit $status, device '$second_device' after '$first_device': $(tail -3 "ftharness-$seed.log")"
fi

# Every record written above, PASS and FAIL alike, validates against the schema.
check_records 20
finish
