#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/, docs/fuzzing.md) for a while on a copy of its seed corpus.
#   scripts/fuzz.sh [SECONDS_PER_TARGET (default 30)] [TARGET[=SECONDS]...]
# e.g. `scripts/fuzz.sh 60 apdu_fuzz=300 frame_fuzz` (apdu_fuzz 300 s, frame_fuzz 60 s).
# Installs clang-14 + libclang-rt-14-dev when missing, configures and builds build/fuzz (override with
# CARDPERSO_FUZZ_BUILD_DIR), prints one line per target (wall and CPU seconds, executions, libFuzzer's
# final cov/ft, crashes) and exits non-zero when any target crashed; the crashing input stays in
# <build>/crashes/<target>/ (replay: <build>/fuzz/<target> <file>). Run it under `nice -n 19` on a
# shared machine: the children inherit the niceness.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

seconds=${1:-30}
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || (( seconds == 0 )); then
  echo "fuzz.sh: SECONDS_PER_TARGET must be a positive integer, got '$seconds'" >&2
  exit 2
fi
all_targets=(frame_fuzz messages_fuzz secure_channel_fuzz apdu_fuzz fcp_fuzz card_image_fuzz vpcd_codec_fuzz
             profile_fuzz script_fuzz)
requested=("$@")
(( ${#requested[@]} )) || requested=("${all_targets[@]}")
targets=()
declare -A target_seconds=()
for spec in "${requested[@]}"; do
  t=${spec%%=*}
  s=$seconds
  [[ $spec == *=* ]] && s=${spec#*=}
  if ! [[ " ${all_targets[*]} " == *" $t "* ]]; then
    echo "fuzz.sh: unknown target '$t' (known: ${all_targets[*]})" >&2
    exit 2
  fi
  if ! [[ "$s" =~ ^[0-9]+$ ]] || (( s == 0 )); then
    echo "fuzz.sh: seconds for $t must be a positive integer, got '$s'" >&2
    exit 2
  fi
  targets+=("$t")
  target_seconds[$t]=$s
done

build=${CARDPERSO_FUZZ_BUILD_DIR:-$repo/build/fuzz}
fuzzer_rt=/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
if ! command -v clang++-14 >/dev/null || [[ ! -f $fuzzer_rt ]]; then
  echo "== installing clang-14 and libclang-rt-14-dev (libFuzzer runtime) =="
  sudo=""
  (( EUID == 0 )) || sudo=sudo
  $sudo apt-get update
  $sudo apt-get install -y clang-14 libclang-rt-14-dev
fi

echo "== configuring and building $build =="
CXX=clang++-14 cmake -S "$repo" -B "$build" -G Ninja -DCARDPERSO_FUZZ=ON -DCARDPERSO_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${targets[@]}" -j 2

failed=0
summary=()
for t in "${targets[@]}"; do
  seeds=$repo/fuzz/corpus/$t
  work=$build/corpus-work/$t
  crashes=$build/crashes/$t
  log=$build/logs/$t.log
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  [[ -d $seeds ]] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
  secs=${target_seconds[$t]}
  echo "== $t: ${secs}s =="
  status=0
  # Wall and CPU (user + system) seconds of the run, from bash's `time` (libFuzzer runs in one process).
  times_file=$build/logs/$t.times
  { TIMEFORMAT='%R %U %S'; time {
      "$build/fuzz/$t" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 -timeout=30 \
        -artifact_prefix="$crashes/" "$work" >"$log" 2>&1 || status=$?
    }; } 2>"$times_file"
  read -r wall user sys <"$times_file" || true
  wall_s=$(printf '%.0f' "${wall:-0}")
  cpu_s=$(awk -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.0f", u + s }')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # The final stats line ("#N DONE cov: ... ft: ...") when libFuzzer got there, else the last progress line.
  last=$(grep -E '^#[0-9]+.*DONE .*cov: ' "$log" | tail -1 || true)
  [[ -n $last ]] || last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  found=$(find "$crashes" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
          -o -name 'oom-*' -o -name 'slow-unit-*' \) | wc -l)
  if (( status != 0 && found == 0 )); then found=1; fi  # a crash that left no file still counts
  line="fuzz $t: ${wall_s}s, ${cpu_s} CPU s, ${execs:-?} execs, ${cov:-?} cov, ${ft:-?} ft, $found crashes"
  summary+=("$line")
  if (( found > 0 )); then
    failed=1
    echo "$line: see $log and $crashes/" >&2
    grep -E 'ERROR|invariant|SUMMARY|^ *#[0-9]+ 0x' "$log" | head -30 >&2 || true
  fi
done

echo "== summary =="
printf '%s\n' "${summary[@]}"
exit "$failed"
