#!/bin/sh
# Installs the Debian 12 packages ftharness needs to build, test, run the demo and the
# benchmarks, and nothing when they are all present. Safe to run any number of times;
# runs `apt-get update` at most once per call, and only when something is missing.
#
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --map    print the map below (kind, name, package)
#   scripts/install-deps.sh --list   print the package names, one a line
#
# The map is the one place that says which Debian package provides each thing the
# build and the tests use; tests/deps/check_deps.py fails when the build or a test uses
# something it does not name. What each package is for: docs/dependencies.md.
set -eu

# kind: pkgconfig (pkg_check_modules), cmake (find_package), lib (find_library or a
# runtime library named on a link line), tool (a command run by the build, a script or a
# test), python (a module imported by a test).
MAP='
tool       cc                     build-essential
tool       gcc                    build-essential
tool       make                   build-essential
tool       cmake                  cmake
tool       ctest                  cmake
tool       pkg-config             pkg-config
cmake      PkgConfig              pkg-config
tool       clang                  clang
lib        clang_rt.fuzzer        libclang-rt-14-dev
cmake      Threads                build-essential
cmake      ZLIB                   zlib1g-dev
cmake      OpenSSL                libssl-dev
tool       openssl                openssl
pkgconfig  jansson                libjansson-dev
tool       protoc-c               protobuf-c-compiler
pkgconfig  libprotobuf-c          libprotobuf-c-dev
tool       protoc                 protobuf-compiler
cmake      CURL                   libcurl4-openssl-dev
pkgconfig  libmicrohttpd          libmicrohttpd-dev
pkgconfig  gnutls                 libgnutls28-dev
pkgconfig  sqlite3                libsqlite3-dev
lib        crypt                  libcrypt-dev
pkgconfig  libseccomp             libseccomp-dev
pkgconfig  libftdi1               libftdi1-dev
pkgconfig  libusb-1.0             libusb-1.0-0-dev
pkgconfig  umockdev-1.0           libumockdev-dev
lib        umockdev-preload       umockdev
pkgconfig  check                  check
tool       python3                python3
python     cryptography           python3-cryptography
python     jsonschema             python3-jsonschema
python     google                 python3-protobuf
python     grpc                   python3-grpcio
python     h2                     python3-h2
tool       curl                   curl
tool       nginx                  nginx-light
tool       systemd-analyze        systemd
tool       systemd-sysusers       systemd
tool       man                    man-db
tool       promtool               prometheus
tool       chromium               chromium
tool       dpkg-buildpackage      dpkg-dev
tool       dh                     debhelper
tool       lintian                lintian
tool       valgrind               valgrind
tool       flashrom               flashrom
'

map() {
    printf '%s\n' "$MAP" | sed -e '/^[[:space:]]*$/d'
}

packages() {
    map | awk '{ print $3 }' | sort -u
}

case "${1:-}" in
--map)
    map
    exit 0
    ;;
--list)
    packages
    exit 0
    ;;
"") ;;
*)
    echo "usage: $0 [--map|--list]" >&2
    exit 2
    ;;
esac

missing=""
for pkg in $(packages); do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run as root (or install them) and try again" >&2
    exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing
