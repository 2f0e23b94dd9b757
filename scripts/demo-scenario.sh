#!/usr/bin/env bash
# One unattended shop session; runs inside tests/tools/pcsc-sandbox (private pcscd + vpcd).
# Usage: demo-scenario.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: demo-scenario.sh BUILD_DIR}
bin() { find "$build" -type f -name "$1" -perm -u+x | head -n 1; }
ADSCTL=$(bin adsctl); ADS=$(bin ads-server); DTD=$(bin dtd-agent); STE=$(bin ste-firmware)
CARDSIM=$(bin card-sim); MKCARDS=$(bin cardperso-mkcards)
for b in ADSCTL ADS DTD STE CARDSIM MKCARDS; do
  [[ -n ${!b} ]] || { echo "demo: program for $b not built in $build" >&2; exit 1; }
done

work=$(mktemp -d /tmp/cardperso-demo.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
say() { printf '\n=== %s\n' "$*"; }

wait_line() {  # wait_line FILE REGEX SECONDS -> prints the first matching line
  local file=$1 re=$2 t=$(( $3 * 10 ))
  for ((i = 0; i < t; i++)); do
    if grep -m1 -E "$re" "$file" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "demo: timed out waiting for /$re/ in $file" >&2; cat "$file" >&2; return 1
}

say "Issuer: create the ADS database and master key"
"$ADSCTL" init --db "$work/ads.db" --master-key "$work/ads-master.key"

say "Issuer: enrol a retailer and write its retailer card (virtual card image)"
"$ADSCTL" retailer enrol --db "$work/ads.db" --master-key "$work/ads-master.key" \
  --serial 8949000000000000012 --pin 1234 --puk 12345678 --card-image "$work/retailer-card.json"
"$ADSCTL" retailer list --db "$work/ads.db" --master-key "$work/ads-master.key"

say "Manufacturer: a batch of blank SIMs"
"$MKCARDS" blank-batch --new-secret --secret-file "$work/batch.secret" --iccid-prefix 8988211 \
  --first 1 --count 3 --out "$work/stock"

say "Start the ADS, the shop's DTD agent and insert the retailer card"
"$ADS" --db "$work/ads.db" --master-key "$work/ads-master.key" --listen 127.0.0.1:0 \
  > "$work/ads.out" 2> "$work/ads.log" & pids+=($!)
ads_port=$(wait_line "$work/ads.out" '^listening on' 10 | sed 's/.*://')
"$DTD" --ads "127.0.0.1:$ads_port" --ste-listen 127.0.0.1:0 --dtd-id demo-shop \
  --echo-test "customer-channel check" > "$work/dtd.out" 2> "$work/dtd.log" & pids+=($!)
dtd_port=$(wait_line "$work/dtd.out" '^ste link on' 10 | sed 's/.*://')
"$CARDSIM" --image "$work/retailer-card.json" < /dev/null > "$work/card.out" 2> "$work/card.log" & pids+=($!)
wait_line "$work/card.out" '^inserted' 10 > /dev/null

say "Secure terminal: retailer signs on (PIN typed on the keypad), mutual authentication, session keys"
printf '1234\n' > "$work/keypad"
"$STE" --dtd "127.0.0.1:$dtd_port" --keypad-script "file:$work/keypad" --echo-test "card-channel check"

say "What the ADS recorded"
grep -E 'session [0-9]+ (established|ended|refused)' "$work/ads.log" || true
sqlite3 -header -column "$work/ads.db" 'SELECT id, retailer_serial, outcome, started_at, ended_at FROM sessions' 2>/dev/null \
  || sqlite3 "$work/ads.db" 'SELECT * FROM sessions'
echo
echo "demo: done; files in $work"
