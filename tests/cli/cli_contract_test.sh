#!/usr/bin/env bash
# The command-line contract every cardperso program keeps (docs/operations.md "Command lines"):
#   PROGRAM --help      usage on stdout, exit 0
#   PROGRAM --version   "PROGRAM (cardperso) VERSION, wire protocol MIN..MAX", exit 0
#   an unknown option   one line on stderr naming the program, exit 1, nothing done
#   a bad --log-level   the same (programs that log)
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
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
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
fi

echo "$name: $passes passed, $failures failed"
((failures == 0))
