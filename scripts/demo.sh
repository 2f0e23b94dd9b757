#!/usr/bin/env bash
# The demo, from a clean checkout on Debian 12 as root: installs what is missing, builds, and runs the
# whole scenario on virtual cards through the real PC/SC stack (a private pcscd + vpcd), unattended.
# bash scripts/demo.sh --console: the same shop with the retailer's web console (docs/console.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Its own build directory: the test suite's (build/release, build/asan) is configured with the tests on,
# and sharing a cache would leave one of them building without the other's settings.
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCARDPERSO_TESTS=OFF -DCARDPERSO_BENCH=OFF > /dev/null
cmake --build build/demo -j "$(nproc)"
if [[ ${1:-} != --console ]]; then
  exec tests/tools/pcsc-sandbox -- bash scripts/demo-scenario.sh "$PWD/build/demo"
fi
# --console: the retailer's web console instead of the unattended run, until Ctrl+C. The programs run
# in the sandbox's own network namespace; socat forwards this machine's 127.0.0.1:7702 into it, so the
# address the demo prints opens in any browser here.
bridge=$(mktemp -u /tmp/cardperso-console.XXXXXX.sock)
socat TCP-LISTEN:7702,bind=127.0.0.1,reuseaddr,fork "UNIX-CONNECT:$bridge" & socat_pid=$!
trap 'kill $socat_pid 2> /dev/null; rm -f "$bridge"' EXIT
tests/tools/pcsc-sandbox -- bash scripts/demo-scenario.sh "$PWD/build/demo" --console --bridge "$bridge" || true
