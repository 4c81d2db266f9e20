#!/bin/sh
# No permission on the adapter's USB device node, through the real libftdi1 + libusb:
# ftdi_testbed --deny-access gives the emulated FT2232H's /dev/bus/usb node mode 0000 and
# `ftharness run` runs as an unprivileged user (uid 65534 via setpriv when this script is
# root, else the current user, whom mode 0000 denies too). It must stop at the console,
# promptly, with exit 3 and a message naming the adapter and its bus:device, saying
# permission denied and pointing at dist/99-ftharness-ftdi.rules, without a single USB
# transfer reaching the adapter; for the SPI console (ftdi:FTA1) and the UART console
# (ftdi-uart:FTA1:B).
#   test_ftdi_access.sh FTDI_TESTBED FTHARNESS FTPA SKU_DIR SCRATCH RUNNER PLUGIN_DIR
set -u
testbed=$1
ftharness=$2
ftpa=$3
skus=$4
work=$5
runner=$6
plugins=$7

if [ "$(uname -s)" != Linux ]; then
    echo "SKIP: needs Linux (umockdev); skipping"
    exit 77
fi
if [ "$(id -u)" -eq 0 ]; then
    if ! command -v setpriv >/dev/null 2>&1; then
        echo "SKIP: running as root and setpriv (util-linux) is missing to drop privileges"
        exit 77
    fi
    as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
    who="uid 65534"
else
    as_user=""
    who="$(id -un)"
fi

. "$(dirname "$0")/../flow/flow_lib.sh"

# What the unprivileged child reads, where it can reach it: the build tree's parents
# may be closed to uid 65534. ftharness links no project shared library (checked below).
child=$(mktemp -d /tmp/ftharness-access.XXXXXX) || exit 1
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$child"' EXIT
chmod 0755 "$child"
if ldd "$ftharness" | grep -q "$(dirname "$(dirname "$ftharness")")"; then
    echo "ftharness links shared libraries from the build tree; cannot copy it alone"
    exit 1
fi
cp "$ftharness" "$child/ftharness"
cp "$skus/sival.json" "$child/sival.json"
chmod 0755 "$child/ftharness"
chmod 0644 "$child/sival.json"
# The plugin is checked before the console is opened: the runner beside ftharness (where
# an uninstalled ftharness looks for it) and a plugin dir the child may read.
cp "$runner" "$child/ftharness-plugin-runner"
chmod 0755 "$child/ftharness-plugin-runner"
mkdir -m 0700 "$child/records"
if [ "$(id -u)" -eq 0 ]; then chown 65534 "$child/records"; fi
mkdir -m 0755 "$child/plugins"
cp "$plugins/noop.so" "$child/plugins/noop.so"
chmod 0644 "$child/plugins/noop.so"

# The session with the service comes before the console is opened, so ftpa serves sival.
printf 'e2e-password\n' >pw
"$ftpa" init --config-dir pa --sku sival --no-ext --password-file pw \
    --boot-message "Bare metal PASS!" >/dev/null
cp pw "$child/pw"
chmod 0600 "$child/pw" # ftharness refuses a password file others may read
if [ "$(id -u)" -eq 0 ]; then chown 65534 "$child/pw"; fi
service_start

# deny CONSOLE NAME: ftharness run over CONSOLE as $who against the denied adapter FTA1
# (device 1:2); sets $status, $elapsed and the log file $log.
deny() {
    log="$work/ftharness-$2.log"
    start=$(date +%s)
    status=0
    # shellcheck disable=SC2086 # $as_user is several words on purpose
    (cd "$child" && timeout -k 5 60 "$testbed" --deny-access --adapter FTA1 --timing zero -- \
        $as_user "$child/ftharness" run --sku "$child/sival.json" --console "$1" \
        --pa "http://127.0.0.1:$port" --password-file "$child/pw" --user-id "ftdi/access" \
        --plugin-dir "$child/plugins" --record-dir "$child/records" \
        --json) >"$work/record-$2.out" 2>"$log" || status=$?
    elapsed=$(($(date +%s) - start))
}

# check CONSOLE NAME CHANNEL
check() {
    deny "$1" "$2"
    msg=$(grep "^ftharness: console:" "$log")
    if [ $status -eq 3 ] && [ -n "$msg" ] && ! [ -s "$work/record-$2.out" ] &&
        echo "$msg" | grep -q "serial 'FTA1' channel $3" &&
        echo "$msg" | grep -q "permission denied on 1:2" &&
        echo "$msg" | grep -q "dist/99-ftharness-ftdi.rules" &&
        grep -q "ftdi_testbed: USB FTA1: 0 control, 0 bulk-out" "$log"; then
        ok "$1 as $who, device node mode 0000: exit 3 in ${elapsed}s: $msg"
    else
        bad "$1 as $who: exit $status in ${elapsed}s (want 3 and the permission message):" \
            "$(cat "$log")"
    fi
}

check ftdi:FTA1 spi A
check ftdi-uart:FTA1:B uart B

finish
