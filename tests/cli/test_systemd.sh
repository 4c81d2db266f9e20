#!/bin/sh
# The daemon's systemd unit and sysusers file as systemd itself reads them:
# `systemd-analyze verify` (the unit, its binary, its man page), the exposure score of
# `systemd-analyze security --offline=yes` (at most 2.0, printed), and the service user
# and groups `systemd-sysusers` makes from dist/ftharness.sysusers in a scratch root.
#   test_systemd.sh SOURCE_DIR FTHARNESSD SCRATCH
set -u
. "$(dirname "$0")/check_lib.sh"
source=$1
ftharnessd=$2
work=$3
for tool in systemd-analyze systemd-sysusers man; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "$tool is not installed (scripts/install-deps.sh installs it); skipping"
        exit 77
    fi
done
rm -rf "$work"
mkdir -p "$work/man/man8" "$work/root/etc"
cd "$work" || exit 1

# The unit as installed, with ExecStart at the built binary (verify checks it exists).
sed "s|^ExecStart=[^ ]*|ExecStart=$ftharnessd|" "$source/dist/ftharnessd.service" >ftharnessd.service
cp "$source/docs/man/ftharnessd.8" man/man8/
quiet_verify() {
    MANPATH="$work/man" systemd-analyze verify ./ftharnessd.service >verify.log 2>&1 &&
        [ ! -s verify.log ] || { cat verify.log; return 1; }
}
check "systemd-analyze verify: the unit, its command and its man page, no complaint" quiet_verify
systemd-analyze security --offline=yes ./ftharnessd.service >security.log 2>&1
score=$(sed -n 's/.*Overall exposure level for ftharnessd.service: \([0-9.]*\).*/\1/p' security.log)
echo "systemd-analyze security --offline=yes: exposure $score"
check "the exposure score is at most 2.0" awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'
grep -q "Type=notify" ftharnessd.service && grep -q "WatchdogSec=" ftharnessd.service
check "Type=notify with a watchdog" test $? -eq 0

systemd-sysusers --root="$work/root" "$source/dist/ftharness.sysusers" >sysusers.log 2>&1
check "systemd-sysusers makes the ftharness user" grep -q "^ftharness:x:[0-9]*:[0-9]*:" root/etc/passwd
check "  ... in the adapters' group (plugdev) and the serial one (dialout)" sh -c \
    "grep -q '^plugdev:.*ftharness' root/etc/group && grep -q '^dialout:.*ftharness' root/etc/group"
check "the unit runs as that user, in those groups" sh -c \
    "grep -q '^User=ftharness' ftharnessd.service && grep -q '^SupplementaryGroups=plugdev dialout' ftharnessd.service"

finish
