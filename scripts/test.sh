#!/usr/bin/env bash
# The whole test suite, from a clean checkout on Debian 12 as root:
#   1. installs what is missing, 2. builds with -Werror and runs every test,
#   3. builds with ASan+UBSan (Debug) and runs every test again.
# Each ctest run starts its own pcscd + vpcd + virtual cards in private namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

jobs=$(nproc)
run_suite() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCARDPERSO_WERROR=ON "$@"
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 300
}

echo "== release build (-Werror) =="
run_suite build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [[ "${CARDPERSO_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== ASan + UBSan build =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DCARDPERSO_SANITIZE=ON
fi
