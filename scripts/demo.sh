#!/usr/bin/env bash
# The demo, from a clean checkout on Debian 12 as root: installs what is missing, builds, and runs the
# whole scenario on virtual cards through the real PC/SC stack (a private pcscd + vpcd), unattended.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCARDPERSO_TESTS=OFF -DCARDPERSO_BENCH=OFF > /dev/null
cmake --build build/release -j "$(nproc)"
exec tests/tools/pcsc-sandbox -- bash scripts/demo-scenario.sh "$PWD/build/release"
