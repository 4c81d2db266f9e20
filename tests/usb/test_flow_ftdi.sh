#!/bin/sh
# `ftharness run --console ftdi:...` end to end through the real libftdi1 + libusb: the
# chip model sits behind an FT2232H emulated under umockdev (ftdi_testbed), next to an
# FT4232H with no chip. Every SKU PASSes and its record validates; a blank chip gets the
# perso image bootstrapped over the adapter; the adapter is found by serial, product
# string, bus address and index; a chip on an FT4232H works with a four-pin map; wrong
# adapters, pins and wiring are refused with the reason.
#   test_flow_ftdi.sh FTDI_TESTBED FTHARNESS FTPA SKU_DIR SCRATCH PLUGIN_DIR
set -u
testbed=$1
ftharness=$2
ftpa=$3
skus=$4
work=$5
plugins=$6
. "$(dirname "$0")/../flow/flow_lib.sh"

service_init
service_start

seed=200
# run SKU SKU_FILE CONSOLE [chip options]: one chip behind the first of $adapters,
# personalized over CONSOLE (ftharness gets $extra too)
extra=""
adapters="--adapter FTA1 --adapter FTB2:4232h"
run() {
    sku=$1
    file=$2
    console=$3
    shift 3
    seed=$((seed + 1))
    record="record-$seed.json"
    status=0
    # shellcheck disable=SC2086 # $adapters and $extra are several words on purpose
    # The chip takes the SKU file's layout and firmware generation.
    "$testbed" $adapters --sku "$file" --seed $seed \
        --y $((seed % 1000)) --timing zero --was-seed "$(cat "pa/$sku/was-seed.hex")" "$@" -- \
        "$ftharness" run --sku "$file" --console "$console" --pa "$pa_url" \
        --password-file pw --user-id "ftdi/$seed" --y $((seed % 1000)) --plugin-dir "$plugins" \
        --json $extra >"$record" 2>"ftharness-$seed.log" || status=$?
}
# refused STATUS PATTERN WHAT: the last run exited with STATUS before the flow made a
# record, its log matching PATTERN.
refused() {
    if [ $status -eq "$1" ] && grep -q "$2" "ftharness-$seed.log" && [ ! -s "$record" ]; then
        rm -f "$record"
        ok "$3"
    else
        bad "$3: exit $status: $(cat "ftharness-$seed.log")"
    fi
}
usb_line() { # the emulator's USB counters for this run
    grep "ftdi_testbed: USB" "ftharness-$seed.log" | head -n 1
}

for sku in sival_rc17 sival sival_v1 sival_devseed sival_inject emulation_tpm sival_v1_master; do
    run $sku "$skus/$sku.json" ftdi:FTA1
    if [ $status -eq 0 ] && grep -q '"status": "PASS"' "$record"; then
        ok "$sku over ftdi:FTA1: PASS ($(usb_line))"
    else
        bad "$sku over ftdi:FTA1: exit $status $(field message) $(tail -n 3 "ftharness-$seed.log")"
    fi
done

# The post-perso boot check with the reset on the SPI adapter's pins and the boot text
# read from the chip's UART on channel B.
extra="--boot-uart ftdi-uart:FTA1:B"
run sival "$skus/sival.json" ftdi:FTA1
extra=""
if [ $status -eq 0 ] && "$python" - "$record" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "PASS" and r["boot_check"] == {"result": "PASS", "rom_ext_version": "0.4"}, r
PY
then
    ok "sival over ftdi:FTA1 with --boot-uart ftdi-uart:FTA1:B: boot check PASS"
else
    bad "boot check over ftdi: exit $status $(field message) $(tail -n 3 "ftharness-$seed.log")"
fi

# The perso console on the chip's UART, over channel B of the same adapter.
run sival "$skus/sival.json" ftdi-uart:FTA1:B --console uart
if [ $status -eq 0 ] && grep -q '"status": "PASS"' "$record"; then
    ok "sival over ftdi-uart:FTA1:B: PASS ($(usb_line))"
else
    bad "sival over ftdi-uart:FTA1:B: exit $status $(field message) $(tail -n 3 "ftharness-$seed.log")"
fi

# A blank chip: the perso image goes over the emulated adapter's SPI first. The chip hashes
# its programmed extent (trailing erased 0xFF bytes excluded), so the image ends in 0x01
# for its hash to be the file's: 1 run in 256 used to end in 0xFF and fail.
head -c 39999 /dev/urandom >perso.bin
printf '\001' >>perso.bin
sed 's|"lc_state": "PROD",|"lc_state": "PROD", "bootstrap": {"image": "perso.bin"},|' \
    "$skus/sival.json" >sku-bootstrap.json
run sival "$work/sku-bootstrap.json" ftdi:FTA1 --blank
want=$(sha256sum perso.bin | cut -d' ' -f1)
if [ $status -eq 0 ] && grep -q "\"perso_fw_sha256_hash\": \"$want\"" "$record" &&
    grep -q '"first-bootstrap"' "$record"; then
    ok "blank chip: perso image bootstrapped over ftdi:FTA1, then PASS"
else
    bad "bootstrap over ftdi: exit $status $(field message)"
fi

# The adapter unplugged after 30 bulk-IN transfers, which is during the TBS export when
# the chip is as fast as usual (on a loaded machine the empty bulk-IN reads while the
# adapter waits for TX-ready move it earlier):
# FAIL naming the adapter, promptly, never PASS.
run sival "$skus/sival.json" ftdi:FTA1 --unplug-after-bulk-in 30
if [ $status -eq 3 ] && field message | grep -q "FTA1.*unplugged"; then
    ok "adapter unplugged mid-run: FAIL at $(field step) (exit 3) naming it"
else
    bad "unplug mid-blob: exit $status at '$(field step)': $(field message)"
fi

# The FT4232H has no ACBUS for the default pin map's reset and straps: refused, naming why.
run sival "$skus/sival.json" ftdi:FTB2:B
refused 3 "no ACBUS" \
    "ftdi:FTB2:B (FT4232H) with the default pin map: refused (exit 3), naming the pin"

# An adapter that is not there: exit 3 before the flow starts, listing what was found.
run sival "$skus/sival.json" ftdi:NOPE
refused 3 "FTA1" "unknown adapter serial: exit 3 naming the adapters found"

# The long form: the same adapter by USB product string, by bus address (FTA1 is the
# first device the testbed adds: 1:2) with a clock, and by index among the matches.
for spec in "desc=Dual RS232-HS" "bus=1:2,channel=A,clock=15M" "desc=Dual RS232-HS,index=0"; do
    run sival "$skus/sival.json" "ftdi:$spec"
    if [ $status -eq 0 ] && grep -q '"status": "PASS"' "$record"; then
        ok "sival over 'ftdi:$spec': PASS"
    else
        bad "'ftdi:$spec': exit $status $(field message) $(tail -n 3 "ftharness-$seed.log")"
    fi
done
run sival "$skus/sival.json" "ftdi:desc=Dual RS232-HS,index=1"
refused 3 "no adapter matches.*index 1" \
    "index past the matching adapters: exit 3, naming the selection"
run sival "$skus/sival.json" "ftdi:serial=FTA1,tx_ready=ADBUS9"
refused 2 "tx_ready=ADBUS9: expected ADBUS4..7" \
    "a pin on a place that does not exist: usage error (exit 2) naming it"

# An FT4232H board: four GPIOs on channel A (TX_READY, RESET_N, TestDone, TestError);
# RX_READY, TEST_START and the straps not wired. The chip is wired the same way.
pins="tx_ready=ADBUS5,reset_n=ADBUS4,test_done=ADBUS6,test_error=ADBUS7,rx_ready=none"
pins="$pins,strap0=none,strap1=none,strap2=none,test_start=none"
adapters="--adapter FTC3:4232h --pins $pins"
extra="--reset --boot-uart ftdi-uart:FTC3:B"
run sival "$skus/sival.json" "ftdi:serial=FTC3,$pins"
extra=""
if [ $status -eq 0 ] && "$python" - "$record" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "PASS" and r["boot_check"]["result"] == "PASS", r
PY
then
    ok "FT4232H with a four-pin map: reset on ADBUS4, boot check over channel B, PASS"
else
    bad "FT4232H pin map: exit $status $(field message) $(tail -n 3 "ftharness-$seed.log")"
fi
# A SKU that bootstraps the chip needs the straps: refused before the flow starts.
run sival "$work/sku-bootstrap.json" "ftdi:serial=FTC3,$pins" --blank
refused 2 "bootstraps an image.*does not wire them" \
    "bootstrap SKU on a board without strap pins: usage error (exit 2) before the flow"
# --reset on a board whose map leaves RESET_N unwired: refused before the chip is touched.
extra="--reset"
run sival "$skus/sival.json" "ftdi:serial=FTC3,$(echo "$pins" | sed s/reset_n=ADBUS4/reset_n=none/)"
extra=""
refused 2 "reset needs a RESET_N pin.*does not wire them" \
    "--reset with RESET_N unwired: usage error (exit 2) before the flow"
adapters="--adapter FTA1 --adapter FTB2:4232h"

check_records 12
finish
