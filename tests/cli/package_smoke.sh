#!/bin/sh
# Run by .ci/run inside a fresh Debian 12 root where apt installed the ftharness and
# ftharness-sim packages and nothing else of the project: the package made its service
# user, and the installed ftharnessd (in the foreground, as the unit would run it)
# personalizes an ftsim chip against ftpa through its control socket, with the installed
# client. Prints "package smoke: PASS" and exits 0, or says what failed.
set -u
fail() {
    echo "package smoke: FAIL: $*"
    for f in ftpa.log ftsim.log ftharnessd.log provision.log; do
        [ -s "$work/$f" ] && sed "s/^/  $f: /" "$work/$f"
    done
    exit 1
}
getent passwd ftharness >/dev/null || fail "no ftharness user (the package's sysusers)"
id -nG ftharness | grep -qw plugdev || fail "the ftharness user is not in plugdev"
prefix=/usr # what the packages install, by the paths of a /usr build
for f in $prefix/sbin/ftharnessd $prefix/bin/ftharness \
    $prefix/libexec/ftharness/ftharness-plugin-runner /lib/systemd/system/ftharnessd.service \
    /lib/udev/rules.d/99-ftharness-ftdi.rules /etc/ftharness/skus/sival.json \
    $prefix/bin/ftsim $prefix/bin/ftpa; do
    [ -e "$f" ] || fail "$f is not installed"
done
work=$(mktemp -d)
cd "$work" || exit 1
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$work"' EXIT
printf 'package-smoke-password\n' >pw
chmod 600 pw
ftpa init --config-dir pa --sku sival --no-ext --password-file pw \
    --boot-message "Bare metal PASS!" >/dev/null || fail "ftpa init"
mkfifo pa-ready sim-ready
ftpa serve --config-dir pa --db registry.db >pa-ready 2>ftpa.log &
pids="$pids $!"
read -r line <pa-ready
port=$(echo "$line" | sed -n 's/.*:\([0-9]*\) (.*/\1/p')
ftsim --socket "$work/chip.sock" --sku /etc/ftharness/skus/sival.json \
    --was-seed "$(cat pa/sival/was-seed.hex)" >sim-ready 2>ftsim.log &
pids="$pids $!"
read -r line <sim-ready
exec 3<sim-ready
mkdir -m 0700 records records/spool
cat >ftharnessd.json <<CONFIG
{"sites": [{"name": "s0", "console": "spi-sim:$work/chip.sock"}],
 "service": {"url": "http://127.0.0.1:$port", "password_file": "$work/pw"},
 "record_dir": "$work/records", "control": {"socket": "$work/control.sock"}}
CONFIG
ftharnessd --config ftharnessd.json --check-config >/dev/null || fail "--check-config"
ftharnessd --config ftharnessd.json 2>ftharnessd.log &
daemon=$!
pids="$pids $daemon"
export FTHARNESS_CONTROL_SOCKET="$work/control.sock"
tries=0
until ftharness status --json 2>/dev/null | grep -q '"state":"idle"'; do
    tries=$((tries + 1))
    [ $tries -lt 100 ] || fail "the daemon's site never became ready"
    sleep 0.1
done
ftharness provision --site s0 --sku sival --wait >provision.log 2>&1 ||
    fail "provision exited $?"
grep -q "PASS (site s0, sival" provision.log || fail "no PASS"
kill -TERM "$daemon"
wait "$daemon" || fail "the daemon's drain exited $?"
echo "package smoke: PASS ($(sed -n 's/.*PASS (site s0, sival, \([^)]*\)).*/\1/p' provision.log))"
