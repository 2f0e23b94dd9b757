#!/usr/bin/env bash
# The command-line contract every cardperso program keeps (docs/operations.md "Command lines"):
#   PROGRAM --help      usage on stdout, exit 0
#   PROGRAM --version   "PROGRAM (cardperso) VERSION, wire protocol MIN..MAX", exit 0
#   an unknown option   one line on stderr naming the program, exit 1, nothing done
#   a bad --log-level   the same (programs that log), and a bad --log-format
#   --print-config      the settings as `name = value` lines on stdout, exit 0; read back with
#                       --config FILE they print the same
#   --config FILE       a name the program does not know: one line on stderr naming the line, exit 1
# Usage: cli_contract_test.sh VERSION PROGRAM_PATH [--logs] [--sub SUBCOMMAND]
# --sub: the program is made of subcommands; the option checks run against that subcommand.
set -u
version=$1 program=$2
shift 2
logs=0 sub=()
while (($#)); do
  case $1 in
    --logs) logs=1 ;;
    --sub) read -r -a sub <<< "$2"; shift ;;
  esac
  shift
done
name=$(basename "$program")
out=$(mktemp) err=$(mktemp) conf=$(mktemp) printed=$(mktemp)
trap 'rm -f "$out" "$err" "$conf" "$printed"' EXIT
failures=0 passes=0
check() {  # check WHAT CONDITION-EXIT-STATUS
  if [[ $2 == 0 ]]; then passes=$((passes + 1)); else failures=$((failures + 1)); echo "FAIL: $name: $1" >&2; fi
}
run() { "$program" "$@" > "$out" 2> "$err" < /dev/null; echo $?; }
lines() { grep -c '' "$1"; }

rc=$(run --help)
check "--help exits 0 (got $rc)" $((rc != 0))
grep -q '^Usage: '"$name" "$out"; check "--help prints 'Usage: $name' on stdout" $?
[[ $(lines "$err") == 0 ]]; check "--help prints nothing on stderr" $?

rc=$(run --version)
check "--version exits 0 (got $rc)" $((rc != 0))
grep -qE "^$name \(cardperso\) $version, wire protocol [0-9]+\.\.[0-9]+$" "$out"
check "--version prints '$name (cardperso) $version, wire protocol N..M' (got '$(cat "$out")')" $?

if ((${#sub[@]})); then
  rc=$(run "${sub[@]}" --help)
  check "${sub[*]} --help exits 0 (got $rc)" $((rc != 0))
  grep -q "^Usage: $name ${sub[*]}" "$out"; check "${sub[*]} --help names the subcommand" $?
  rc=$(run no-such-command)
  check "an unknown command exits 1 (got $rc)" $((rc != 1))
  [[ $(lines "$err") == 1 ]]; check "an unknown command is one line on stderr (got $(lines "$err"))" $?
fi

rc=$(run "${sub[@]}" --no-such-option)
check "an unknown option exits 1 (got $rc)" $((rc != 1))
[[ $(lines "$err") == 1 ]]; check "an unknown option is one line on stderr (got: $(cat "$err"))" $?
grep -q "^$name.*no-such-option" "$err"; check "the error names the program and the option" $?
[[ $(lines "$out") == 0 ]]; check "an unknown option prints nothing on stdout" $?

if ((logs)); then
  rc=$(run "${sub[@]}" --log-level loud)
  check "--log-level loud exits 1 (got $rc)" $((rc != 1))
  [[ $(lines "$err") == 1 ]]; check "a bad log level is one line on stderr (got: $(cat "$err"))" $?
  grep -q "log-level" "$err"; check "the error names --log-level" $?
  rc=$(run "${sub[@]}" --log-format xml)
  check "--log-format xml exits 1 (got $rc)" $((rc != 1))
  [[ $(lines "$err") == 1 ]]; check "a bad log format is one line on stderr (got: $(cat "$err"))" $?
  grep -q "log-format" "$err"; check "the error names --log-format" $?
fi

rc=$(run "${sub[@]}" --print-config)
check "--print-config exits 0 (got $rc: $(cat "$err"))" $((rc != 0))
[[ $(lines "$err") == 0 ]]; check "--print-config prints nothing on stderr (got: $(cat "$err"))" $?
! grep -vqE '^[a-z0-9-]+ = ' "$out"; check "--print-config prints only 'name = value' lines (got: $(cat "$out"))" $?
if ((logs)); then
  grep -qx 'log-format = text' "$out"; check "--print-config shows log-format = text" $?
fi
cp "$out" "$printed"
rc=$(run "${sub[@]}" --config "$printed" --print-config)
check "--config with the printed settings exits 0 (got $rc: $(cat "$err"))" $((rc != 0))
cmp -s "$out" "$printed"; check "the printed settings read back print the same" $?

printf '# a comment\nno-such-setting = 1\n' > "$conf"
rc=$(run "${sub[@]}" --config "$conf")
check "--config with an unknown name exits 1 (got $rc)" $((rc != 1))
[[ $(lines "$err") == 1 ]]; check "a bad config file is one line on stderr (got: $(cat "$err"))" $?
grep -q "^$name.* line 2: unknown option 'no-such-setting'" "$err"
check "the error names the program, the line and the option (got: $(cat "$err"))" $?
[[ $(lines "$out") == 0 ]]; check "a bad config file prints nothing on stdout" $?

echo "$name: $passes passed, $failures failed"
((failures == 0))
