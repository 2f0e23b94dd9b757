#!/usr/bin/env bash
# One unattended day at the shop counter; runs inside tests/tools/pcsc-sandbox (private pcscd + vpcd).
#   issuer: ADS database, a retailer card, a batch of blank SIMs assigned to the retailer, number pools
#   shop:   ADS + DTD agent + secure terminal; the retailer signs on with the retailer card; a customer
#           is assessed; a blank SIM is personalised over the real PC/SC stack; the DTD prints the receipt
#   check:  the card's contents are read back through PC/SC with the customer's new PIN, and the
#           operator's HLR (a real osmo-hlr, when installed) holds the new subscriber
# Usage: demo-scenario.sh BUILD_DIR    the programs of a build tree
#        demo-scenario.sh --installed  the installed packages' programs (/usr/bin), ads-server started
#                                      from the shipped example configuration with the shipped profile
#        ... --console [--bridge SOCKET]  instead of the unattended day: the retailer's web console
#                                      (scripts/demo-console.sh; SOCKET: a unix socket demo.sh forwards
#                                      the host's 127.0.0.1:7702 to), until Ctrl+C
set -euo pipefail
build=${1:?usage: demo-scenario.sh BUILD_DIR | --installed [--console [--bridge SOCKET]]}
console=0; bridge=""
if [[ ${2:-} == --console ]]; then console=1; bridge=${4:-}; fi
src=$(cd "$(dirname "$0")/.." && pwd)
if [[ $build == --installed ]]; then
  bin() { if [[ -x /usr/bin/$1 ]]; then echo "/usr/bin/$1"; fi; }
  # The operator's configuration file; --db and --master-key come on the command line, as in the unit.
  ads_config=(--config /usr/share/cardperso/examples/ads-server.conf)
else
  bin() { find "$build" -type f -name "$1" -perm -u+x | head -n 1; }
  ads_config=(--profile "$src/profiles/gsm-sim-default.json")
fi
ADSCTL=$(bin adsctl); ADS=$(bin ads-server); DTD=$(bin dtd-agent); STE=$(bin ste-firmware)
CARDSIM=$(bin card-sim); MKCARDS=$(bin cardperso-mkcards); SIMREAD=$(bin cardperso-simread); APDU=$(bin cardperso-apdu)
for b in ADSCTL ADS DTD STE CARDSIM MKCARDS SIMREAD APDU; do
  [[ -n ${!b} ]] || { echo "demo: program for $b not built in $build" >&2; exit 1; }
done

work=$(mktemp -d /tmp/cardperso-demo.XXXXXX)
cd "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
say() { printf '\n=== %s\n' "$*"; }
adsctl() { "$ADSCTL" "$@" --db "$work/ads.db" --master-key "$work/ads-master.key"; }
wait_line() {  # wait_line FILE REGEX SECONDS -> prints the first matching line
  local file=$1 re=$2 t=$(( $3 * 10 ))
  for ((i = 0; i < t; i++)); do
    if grep -m1 -E "$re" "$file" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "demo: timed out waiting for /$re/ in $file" >&2; cat "$file" >&2; return 1
}

# The issuer's and the installer's part (ADS database, retailer card, blank SIMs, number pools, the
# terminal paired and its device key enrolled): scripts/demo-setup.sh, shared with the browser test.
ADSCTL=$ADSCTL MKCARDS=$MKCARDS STE=$STE DTD=$DTD bash "$src/scripts/demo-setup.sh" "$work"
# shellcheck source=/dev/null
source "$work/setup.env"
iccid=$FIRST_ICCID

if [[ $console == 1 ]]; then
  source "$src/scripts/demo-console.sh"
  exit 0
fi

cat > "$work/customer.json" <<'J'
{"name": "Ada Lovelace", "date_of_birth": "1990-12-10", "address": "12 St James's Square, London", "id_document": "passport", "id_number": "P1234567"}
J
# The keypad script: the retailer's PIN, the clerk's OK once the terminal shows the customer and the
# card it will write, then the customer's new PIN (twice) and PUK.
printf '2468\nok\n1357\n1357\n11223344\n' > "$work/keypad"

hlr_args=()
if command -v osmo-hlr > /dev/null; then
  say "Operator: the HLR/AuC (osmo-hlr), its control interface on the loopback address only"
  mkdir -p "$work/hlr"
  printf 'log stderr\n logging level all notice\nline vty\n bind 127.0.0.1\nctrl\n bind 127.0.0.1\nhlr\n gsup\n  bind ip 127.0.0.1\n' > "$work/hlr/osmo-hlr.cfg"
  osmo-hlr -c "$work/hlr/osmo-hlr.cfg" -l "$work/hlr/hlr.db" > "$work/hlr/osmo-hlr.log" 2>&1 & pids+=($!)
  for ((i = 0; i < 50; i++)); do (exec 5<> /dev/tcp/127.0.0.1/4259) 2> /dev/null && break; sleep 0.1; done
  echo "osmo-hlr: CTRL on 127.0.0.1:4259"
  hlr_args=(--hlr-ctrl 127.0.0.1:4259)
fi

say "Shop: start the ADS and the DTD agent; insert the retailer card"
"$ADS" "${ads_config[@]}" --db "$work/ads.db" --master-key "$work/ads-master.key" --listen 127.0.0.1:0 \
  "${hlr_args[@]}" --log-file "$work/ads.log" > "$work/ads.out" 2> /dev/null & pids+=($!)
ads_port=$(wait_line "$work/ads.out" '^listening on' 15 | sed 's/.*://')
"$DTD" --ads "127.0.0.1:$ads_port" --ste-listen 127.0.0.1:0 --dtd-id demo-shop --pairing-file "$work/dtd-pairing.key" \
  --customer "$work/customer.json" \
  --receipt-dir "$work/receipts" --exit-after-last --log-file "$work/dtd.log" > "$work/dtd.out" 2> /dev/null & dtd_pid=$!
pids+=($dtd_pid)
dtd_port=$(wait_line "$work/dtd.out" '^ste link on' 15 | sed 's/.*://')
mkfifo "$work/retailer.in" "$work/customer.in"
"$CARDSIM" --image "$work/retailer-card.json" < "$work/retailer.in" > "$work/retailer-sim.out" 2>&1 & pids+=($!)
exec 3> "$work/retailer.in"
wait_line "$work/retailer-sim.out" '^inserted' 10 > /dev/null

say "Secure terminal: sign-on, mutual authentication, session keys, then the customer's card"
"$STE" --dtd "127.0.0.1:$dtd_port" --pairing-file "$work/ste-pairing.key" --device-key "$work/ste-device.key" --keypad-script "file:$work/keypad" --log-file "$work/ste.log" \
  > "$work/ste.out" 2> /dev/null & ste_pid=$!
pids+=($ste_pid)
wait_line "$work/ste.out" 'Remove retailer card' 30 > /dev/null
echo remove >&3
"$CARDSIM" --image "$work/stock/$iccid.json" < "$work/customer.in" > "$work/customer-sim.out" 2>&1 & pids+=($!)
exec 4> "$work/customer.in"
wait_line "$work/ste.out" 'Remove customer card|failed|refused' 60 > /dev/null
# Take the new SIM out when the terminal asks, as the clerk would; the terminal then ends the session.
grep -q 'Remove customer card' "$work/ste.out" && echo remove >&4
wait "$ste_pid" || { echo "demo: ste-firmware failed" >&2; cat "$work/ste.out" >&2; exit 1; }
wait "$dtd_pid" || true
cat "$work/ste.out"

say "The receipt the DTD printed"
cat "$work/receipts/receipt-$iccid.txt"

say "The new SIM read back through PC/SC (CHV1 = the customer's new PIN)"
echo insert >&4
"$APDU" --reader "Virtual PCD 00 00" --wait 10 > /dev/null  # until pcscd has seen the card again
printf '1357\n' > "$work/pin"
"$SIMREAD" --reader "Virtual PCD 00 00" --pin-file "$work/pin" --run-gsm 0123456789abcdef0123456789abcdef

say "What the ADS recorded"
adsctl card show "$iccid"

if [[ ${#hlr_args[@]} -gt 0 ]]; then
  say "The operator's HLR: the new subscriber, compared with the record (K and OPc compared, never shown)"
  for ((i = 0; i < 100; i++)); do adsctl hlr status | grep -q '^waiting      0 jobs' && break; sleep 0.1; done
  adsctl hlr status
  adsctl hlr check "$iccid" --hlr-ctrl 127.0.0.1:4259
fi
echo
echo "demo: done; files in $work"
