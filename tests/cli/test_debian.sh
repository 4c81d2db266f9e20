#!/bin/sh
# The Debian packages: `dpkg-buildpackage -us -uc -b` on a copy of the source, lintian on
# the result (no error or warning beyond the overrides justified in debian/), then the
# packages' own files at work: ftharness and ftharness-sim unpacked (dpkg -x) into a
# scratch tree, ftpa and ftsim from there, and the packaged ftharnessd personalizing a
# chip through its control socket with the packaged ftharness client.
#   test_debian.sh SOURCE_DIR SCRATCH
set -u
. "$(dirname "$0")/check_lib.sh"
source=$1
work=$2
for tool in dpkg-buildpackage dh lintian python3; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "$tool is not installed (scripts/install-deps.sh installs it); skipping"
        exit 77
    fi
done
rm -rf "$work"
mkdir -p "$work/src" "$work/root"
cd "$work" || exit 1
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done' EXIT

# The source without build trees or version-control data.
(cd "$source" && tar --exclude=./build --exclude=./.git -cf - .) | (cd src && tar -xf -)
(cd src && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1)
check "dpkg-buildpackage -us -uc -b builds the packages" test $? -eq 0 -a -e ftharness_*.changes
# Without packages nothing below can run (a daemon missing would leave a FIFO read hanging).
set -- ftharness_*.changes
[ -e "$1" ] || {
    tail -n 30 build.log
    echo "the package build failed; $passed passed, $((failed)) failed"
    exit 1
}
for deb in ftharness_*.deb ftharness-dev_*.deb ftharness-sim_*.deb; do
    echo "  $deb: $(stat -c %s "$deb") bytes, $(dpkg-deb -I "$deb" | sed -n 's/^ Installed-Size: //p') KiB installed"
done
lintian --suppress-tags-from-file /dev/null ftharness_*.changes >lintian.log 2>&1
check "lintian: no error or warning left (overrides in debian/*.lintian-overrides)" \
    sh -c "! grep -E '^(E|W):' lintian.log" || cat lintian.log
check "ftharness holds the daemon, client, runner, plugins, SKUs, unit, sysusers, udev rule, man pages" \
    sh -c "dpkg -c ftharness_*.deb >ftharness.list && for f in usr/sbin/ftharnessd \
        usr/bin/ftharness usr/libexec/ftharness/ftharness-plugin-runner plugins/noop.so \
        etc/ftharness/skus/sival.json lib/systemd/system/ftharnessd.service \
        lib/udev/rules.d/99-ftharness-ftdi.rules usr/lib/sysusers.d/ftharness.conf \
        man8/ftharnessd.8.gz man5/ftharnessd.json.5.gz; do grep -q \"\$f\" ftharness.list || \
        { echo missing \$f; exit 1; }; done"
dpkg -c ftharness-dev_*.deb >dev.list
dpkg -c ftharness-sim_*.deb >sim.list
check "ftharness-dev holds the header and the pkg-config file" \
    sh -c "grep -q include/ftharness/ft_ext.h dev.list && grep -q pkgconfig/ftharness-ext.pc dev.list"
check "ftharness-sim holds ftsim, ftpa and ftblob" \
    sh -c "grep -q usr/bin/ftsim sim.list && grep -q usr/bin/ftpa sim.list && \
        grep -q usr/bin/ftblob sim.list"

for deb in ftharness_*.deb ftharness-sim_*.deb; do dpkg -x "$deb" root; done
bin=$work/root/usr/bin
plugins=$(ls -d "$work"/root/usr/lib/*/ftharness/plugins)
printf 'package-test-password\n' >pw
chmod 600 pw
"$bin/ftpa" init --config-dir pa --sku sival --no-ext --password-file pw \
    --boot-message "Bare metal PASS!" >/dev/null
mkfifo pa-ready sim-ready
"$bin/ftpa" serve --config-dir pa --db registry.db >pa-ready 2>ftpa.log &
pids="$pids $!"
read -r line <pa-ready
port=$(echo "$line" | sed -n 's/.*:\([0-9]*\) (.*/\1/p')
"$bin/ftsim" --socket "$work/chip.sock" --sku "$work/root/etc/ftharness/skus/sival.json" \
    --was-seed "$(cat pa/sival/was-seed.hex)" >sim-ready 2>ftsim.log &
pids="$pids $!"
read -r line <sim-ready
exec 3<sim-ready
mkdir -m 0700 records records/spool
cat >ftharnessd.json <<CONFIG
{"sites": [{"name": "s0", "console": "spi-sim:$work/chip.sock"}],
 "service": {"url": "http://127.0.0.1:$port", "password_file": "$work/pw"},
 "sku_dir": "$work/root/etc/ftharness/skus", "plugin_dir": "$plugins",
 "runner": "$work/root/usr/libexec/ftharness/ftharness-plugin-runner",
 "record_dir": "$work/records", "control": {"socket": "$work/control.sock"}}
CONFIG
sbin=$work/root/usr/sbin
"$sbin/ftharnessd" --config ftharnessd.json 2>ftharnessd.log &
daemon=$!
pids="$pids $daemon"
FTHARNESS_CONTROL_SOCKET=$work/control.sock
export FTHARNESS_CONTROL_SOCKET
ready() { # the site's worker answers
    "$bin/ftharness" status --json 2>/dev/null | grep -q '"state":"idle"'
}
tries=0
until ready || [ $tries -ge 100 ]; do
    tries=$((tries + 1))
    sleep 0.1
done
"$bin/ftharness" provision --site s0 --sku sival --wait >provision.log 2>&1
check "the packaged ftharnessd personalizes a chip through its control socket" \
    grep -q "PASS (site s0, sival" provision.log || cat provision.log ftharnessd.log
check "the package creates the service user with systemd-sysusers (postinst)" \
    sh -c "dpkg-deb -e ftharness_*.deb control && grep -q systemd-sysusers control/postinst"
kill -TERM "$daemon"
wait "$daemon"
check "  ... and drains on SIGTERM (exit 0)" test $? -eq 0

finish
