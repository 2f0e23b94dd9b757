#!/usr/bin/env bash
# The whole test suite, from a clean checkout on Debian 12 as root:
#   1. installs what is missing, 2. builds with -Werror and runs every test (ctest, all labels),
#   3. builds with ASan+UBSan (Debug) and runs the tests again (not the packaging ones), 4. runs each fuzz target briefly (CARDPERSO_FUZZ_SECONDS, default 5 s).
# Each phase prints how long it took, so a slow CI run shows where its time went.
# Each integration/e2e test starts its own pcscd + vpcd + virtual cards in private namespaces
# (tests/tools/pcsc-sandbox), so no system pcscd is needed.
# CARDPERSO_SKIP_SANITIZERS=1 / CARDPERSO_SKIP_FUZZ=1 skip steps 3 / 4 (for quick local runs only).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

jobs=$(nproc)
# -g1 keeps line tables (backtraces, sanitizer reports) but drops the type and variable info that
# makes the coroutine-heavy code slow to compile: about a quarter of the release build's time.
debug_info=-g1
started=$SECONDS
phase() { echo "== $1 =="; phase_started=$SECONDS; }
phase_done() { echo "== $1: $((SECONDS - phase_started)) s (total $((SECONDS - started)) s) =="; }
# mold links the ~160 programs and test binaries in a quarter of ld's time (Debian 12 package).
linker=()
if command -v mold >/dev/null; then
  linker=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=mold -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=mold)
fi
# run_suite DIR EXCLUDE CMAKE_ARGS...: EXCLUDE is a ctest -E regex ("" for none).
run_suite() {
  local dir=$1 exclude=$2; shift 2
  # The tests are switched on explicitly, so a cache left with them off cannot make a suite run none;
  # and a suite that runs no test fails.
  cmake -S . -B "$dir" -G Ninja -DCARDPERSO_WERROR=ON -DCARDPERSO_TESTS=ON -DCARDPERSO_BENCH=ON "${linker[@]}" "$@"
  local build_started=$SECONDS
  cmake --build "$dir" -j "$jobs"
  echo "== $dir built in $((SECONDS - build_started)) s =="
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 300 --no-tests=error ${exclude:+-E "$exclude"}
}

phase "release build (-Werror), all tests"
run_suite build/release "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 $debug_info -DNDEBUG"
phase_done "release suite"

if [[ "${CARDPERSO_SKIP_SANITIZERS:-0}" != 1 ]]; then
  phase "ASan + UBSan build, all tests"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Every test again under the sanitizers, except those that check packaging and installation (what
  # they run is the release stage's business) and the single-daemon crash test on PostgreSQL (its
  # code paths run under the sanitizers in pg.TwoDaemons): about 2 minutes of a 45-minute budget.
  run_suite build/asan '^e2e\.(DebianPackages|Install)\.|^pg\.CrashSafety\.' \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="$debug_info" -DCARDPERSO_SANITIZE=ON
  unset ASAN_OPTIONS UBSAN_OPTIONS
  phase_done "ASan + UBSan suite"
fi

if [[ "${CARDPERSO_SKIP_FUZZ:-0}" != 1 ]]; then
  phase "fuzz slice (${CARDPERSO_FUZZ_SECONDS:-5} s per target)"
  bash scripts/fuzz.sh "${CARDPERSO_FUZZ_SECONDS:-5}"
  phase_done "fuzz slice"
fi
