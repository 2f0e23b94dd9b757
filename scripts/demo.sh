#!/usr/bin/env bash
# The demo, from a clean checkout on Debian 12 as root: installs what is missing, builds, and runs the
# whole scenario on virtual cards through the real PC/SC stack (a private pcscd + vpcd), unattended.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Its own build directory: the test suite's (build/release, build/asan) is configured with the tests on,
# and sharing a cache would leave one of them building without the other's settings.
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCARDPERSO_TESTS=OFF -DCARDPERSO_BENCH=OFF > /dev/null
cmake --build build/demo -j "$(nproc)"
exec tests/tools/pcsc-sandbox -- bash scripts/demo-scenario.sh "$PWD/build/demo"
