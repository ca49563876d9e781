#!/bin/sh
# deps.sh — installs the Debian packages durata builds and tests with.
# Runs apt-get only for what is missing, so a second run is instant.
set -eu
pkgs="build-essential cmake pkg-config clang-format libsqlite3-dev libjansson-dev
      libcmocka-dev uuid-dev sqlite3 libmicrohttpd-dev libcurl4-openssl-dev curl"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
