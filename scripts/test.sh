#!/usr/bin/env bash
# The whole test suite, from a clean checkout on Debian 12 as root:
#   1. installs what is missing, 2. builds with -Werror and runs every test (ctest, all labels),
#   3. builds with ASan+UBSan (Debug) and runs every test again, 4. runs each fuzz target briefly.
# Each integration/e2e test starts its own pcscd + vpcd + virtual cards in private namespaces
# (tests/tools/pcsc-sandbox), so no system pcscd is needed.
# CARDPERSO_SKIP_SANITIZERS=1 / CARDPERSO_SKIP_FUZZ=1 skip steps 3 / 4 (for quick local runs only).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

jobs=$(nproc)
run_suite() {
  local dir=$1; shift
  # The tests are switched on explicitly, so a cache left with them off cannot make a suite run none;
  # and a suite that runs no test fails.
  cmake -S . -B "$dir" -G Ninja -DCARDPERSO_WERROR=ON -DCARDPERSO_TESTS=ON -DCARDPERSO_BENCH=ON "$@"
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 300 --no-tests=error
}

echo "== release build (-Werror), all tests =="
run_suite build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [[ "${CARDPERSO_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== ASan + UBSan build, all tests =="
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DCARDPERSO_SANITIZE=ON
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if [[ "${CARDPERSO_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== fuzz slice (${CARDPERSO_FUZZ_SECONDS:-10} s per target) =="
  bash scripts/fuzz.sh "${CARDPERSO_FUZZ_SECONDS:-10}"
fi
