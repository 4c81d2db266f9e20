#!/bin/sh
# `cmake --install` into a DESTDIR, as `make install DESTDIR=... PREFIX=...` does, then the
# installed ftharness personalizes an ftsim chip with no path option but --pa: it finds
# its SKU files, plugins and runner where they were installed. A wrong SKU name lists
# the installed SKUs.
#   test_install.sh BUILD_DIR SCRATCH FTSIM FTPA
set -u
build=$1
work=$2
ftsim=$3
ftpa=$4
skus=$(cd "$(dirname "$0")/../../skus" && pwd)
. "$(dirname "$0")/../flow/flow_lib.sh"
# The installed ftharness must find its own record directory: no override.
unset FTHARNESS_RECORD_DIR
check() { # check DESCRIPTION COMMAND...
    what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

prefix=/opt/ftharness
root="$work/root"
DESTDIR="$root" cmake --install "$build" --prefix "$prefix" >install.log 2>&1
check "cmake --install into a DESTDIR" test $? -eq 0
top="$root$prefix"
libdir=$(ls -d "$top"/lib*/ftharness/plugins 2>/dev/null | head -n 1)
for f in bin/ftharness bin/ftpa bin/ftsim bin/ftblob libexec/ftharness/ftharness-plugin-runner \
    include/ftharness/ft_ext.h share/pkgconfig/ftharness-ext.pc share/man/man1/ftharness.1 \
    share/man/man8/ftharnessd.8 share/man/man8/ftpa.8 share/man/man5/ftharnessd.json.5 \
    share/man/man1/ftsim.1 share/man/man3/ft_ext.3 \
    sbin/ftharnessd lib/systemd/system/ftharnessd.service \
    lib/sysusers.d/ftharness.conf \
    etc/ftharness/skus/sival.json etc/ftharness/skus/certs/extra.der; do
    check "installed $f" test -e "$top/$f"
done
check "installed the plugins (noop.so, inject.so)" test -e "$libdir/noop.so" -a -e "$libdir/inject.so"
check "installed the udev rule" sh -c "ls '$root'/*/lib/udev/rules.d/99-ftharness-ftdi.rules \
    '$root'/*/*/lib/udev/rules.d/99-ftharness-ftdi.rules 2>/dev/null | grep -q rules"

# The service and a chip, from the build tree.
printf 'install-password\n' >pw
chmod 600 pw
"$ftpa" init --config-dir pa --sku sival --no-ext --password-file pw \
    --boot-message "Bare metal PASS!" >/dev/null
service_start
mkfifo sim-ready
"$ftsim" --socket "$work/chip.sock" --sku sival --timing zero \
    --was-seed "$(cat pa/sival/was-seed.hex)" >sim-ready 2>ftsim.log &
pids="$pids $!"
read -r line <sim-ready
exec 3<sim-ready

status=0
FTHARNESS_SKU_PASSWORD=install-password "$top/bin/ftharness" run --sku sival \
    --console "spi-sim:$work/chip.sock" --pa "http://127.0.0.1:$port" --json \
    >record.json 2>run.log || status=$?
check "the installed ftharness personalizes a chip with only --pa (exit $status)" test $status -eq 0
check "  ... with the installed noop plugin" grep -q '"name": *"noop"' record.json

status=0
FTHARNESS_SKU_PASSWORD=install-password "$top/bin/ftharness" run --sku sivla \
    --console "spi-sim:$work/none.sock" --pa "http://127.0.0.1:$port" >wrong.log 2>&1 || status=$?
check "a wrong SKU name: exit 2" test $status -eq 2
check "  ... listing the installed SKUs" grep -q "SKUs in $top/etc/ftharness/skus: .*sival" wrong.log
check "--help names the installed directories" sh -c \
    "'$top/bin/ftharness' run --help | grep -q '$top/etc/ftharness/skus'"

finish
