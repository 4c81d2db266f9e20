#!/bin/sh
# Installs the Debian 12 packages ftharness needs to build and test, and nothing
# when they are all present. Safe to run any number of times; runs
# `apt-get update` at most once per call, and only when something is missing.
#
# What each package is for is listed in docs/dependencies.md.
set -eu

PACKAGES="
build-essential
cmake
pkg-config
clang
libclang-rt-14-dev
check
zlib1g-dev
libssl-dev
openssl
python3-cryptography
python3-jsonschema
libjansson-dev
libcurl4-openssl-dev
libmicrohttpd-dev
libsqlite3-dev
libcrypt-dev
curl
nginx-light
libgnutls28-dev
libftdi1-dev
libusb-1.0-0-dev
umockdev
libumockdev-dev
"

missing=""
for pkg in $PACKAGES; do
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
