#!/usr/bin/env bash
# Installs every Debian 12 package Fl0wer needs to build, run and test. Idempotent: packages
# already present are left alone, and apt is only asked when something is missing.
set -euo pipefail

PKGS=(
    build-essential cmake pkg-config git
    libnng-dev libmbedtls-dev libmsgpack-dev librocksdb-dev libsodium-dev libssl-dev libpcap-dev
    libcmocka-dev
    clang libclang-rt-dev
    tshark nfdump valgrind gdb
    python3 iproute2 procps curl ca-certificates openssl
)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all ${#PKGS[@]} packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
