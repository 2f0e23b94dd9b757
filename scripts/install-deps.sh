#!/usr/bin/env bash
# Installs every Debian 12 package cardperso needs to build, test and run the demo.
# Safe to run again: it only calls apt-get when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system1.74-dev libboost-program-options1.74-dev
  libssl-dev libsqlite3-dev sqlite3 libspdlog-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpcsclite-dev pcscd vsmartcard-vpcd pcsc-tools
  socat iproute2 util-linux procps python3 python3-cryptography
  osmo-hlr libosmocore-utils prometheus-cpp-dev prometheus
  help2man file systemd mold
  libpq-dev postgresql-15 postgresql-client-15
  chromium chromium-driver python3-selenium python3-pil
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root (or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The system pcscd is not needed: tests and the demo start their own in a private namespace
# (tests/tools/pcsc-sandbox). Stop Debian's socket-activated one from grabbing vpcd's port.
echo "install-deps: all packages present"
