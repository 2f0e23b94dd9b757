# shellcheck shell=bash disable=SC2154  # work, ads_config, ...: set by demo-scenario.sh, which sources this file
# The demo's --console mode, sourced by scripts/demo-scenario.sh inside tests/tools/pcsc-sandbox after
# scripts/demo-setup.sh: the shop's programs with the retailer's web console, until Ctrl+C.
# The terminal's keypad is scripted (the retailer's PIN; per card OK, the new PIN twice, the PUK) and a
# "clerk" loop moves the virtual cards when the terminal asks; the retailer uses the page.
# Uses from demo-scenario.sh: work, ADS, DTD, STE, CARDSIM, ads_config, pids, say, wait_line, bridge,
# and setup.env's names.
console_port=7702
say "Shop: start the ADS, and the DTD agent with the retailer's console on 127.0.0.1:$console_port"
"$ADS" "${ads_config[@]}" --db "$ADS_DB" --master-key "$ADS_MASTER_KEY" --listen 127.0.0.1:0 \
  --log-file "$work/ads.log" > "$work/ads.out" 2> /dev/null & pids+=($!)
ads_port=$(wait_line "$work/ads.out" '^listening on' 15 | sed 's/.*://')
"$DTD" --ads "127.0.0.1:$ads_port" --ste-listen 127.0.0.1:0 --dtd-id demo-shop --pairing-file "$DTD_PAIRING" \
  --console-listen "127.0.0.1:$console_port" --receipt-dir "$work/receipts" --log-file "$work/dtd.log" \
  > "$work/dtd.out" 2> /dev/null & pids+=($!)
console_url=$(wait_line "$work/dtd.out" '^console on http' 15 | sed 's/^console on //')
dtd_port=$(wait_line "$work/dtd.out" '^ste link on' 15 | sed 's/.*://')

mkfifo "$work/retailer.in"
"$CARDSIM" --image "$RETAILER_CARD" < "$work/retailer.in" > "$work/retailer-sim.out" 2>&1 & pids+=($!)
exec 3> "$work/retailer.in"
wait_line "$work/retailer-sim.out" '^inserted' 10 > /dev/null
stock=("$STOCK_DIR"/*.json)
{
  printf '%s\n' "$RETAILER_PIN"
  for _ in "${stock[@]}"; do printf 'ok\n1357\n1357\n11223344\n'; done
} > "$work/keypad"
say "Secure terminal: the retailer signs on (PIN $RETAILER_PIN from the keypad script)"
"$STE" --dtd "127.0.0.1:$dtd_port" --pairing-file "$STE_PAIRING" --device-key "$STE_DEVICE_KEY" \
  --keypad-script "file:$work/keypad" --log-file "$work/ste.log" > "$work/ste.out" 2> /dev/null & pids+=($!)

# The clerk: takes the retailer card out, puts the next blank SIM in when the terminal asks for the
# customer's card, and takes it out again when the terminal says so.
clerk() {
  local removed_retailer=0 inserted=0 removed=0 n
  while sleep 0.2; do
    n=$(grep -c 'Remove retailer card' "$work/ste.out" 2> /dev/null || true)
    if ((n > removed_retailer)); then removed_retailer=$n; echo remove >&3; fi
    n=$(grep -c 'Insert customer card' "$work/ste.out" 2> /dev/null || true)
    if ((n > inserted)); then
      inserted=$n
      if ((inserted <= ${#stock[@]})); then
        echo "[clerk] inserting the blank SIM $(basename "${stock[inserted - 1]}" .json)"
        mkfifo "$work/customer-$inserted.in"
        "$CARDSIM" --image "${stock[inserted - 1]}" < "$work/customer-$inserted.in" > "$work/customer-$inserted.out" 2>&1 &
        exec 4> "$work/customer-$inserted.in"
      else
        echo "[clerk] no blank SIM left in the demo's stock"
      fi
    fi
    n=$(grep -c 'Remove customer card' "$work/ste.out" 2> /dev/null || true)
    if ((n > removed)); then removed=$n; echo quit >&4 2> /dev/null || true; fi
  done
}
clerk & pids+=($!)

if [[ -n $bridge ]]; then
  # demo.sh forwards the host's 127.0.0.1:7702 to this socket: the page opens outside the sandbox too.
  socat "UNIX-LISTEN:$bridge,fork,mode=600" "TCP:127.0.0.1:$console_port" & pids+=($!)
fi
say "The retailer's console"
echo "Open this address in a browser on this machine (it holds the console's token):"
echo
echo "    $console_url"
echo
echo "Fill in the new-customer form; the terminal's keypad and the cards are played by the demo."
echo "${#stock[@]} blank SIMs are in stock. Logs and files: $work. Press Ctrl+C to stop."
if [[ -n ${DISPLAY:-} ]] && command -v chromium > /dev/null; then
  chromium --no-sandbox --no-first-run --user-data-dir="$work/chromium" "$console_url" > "$work/chromium.log" 2>&1 & pids+=($!)
fi
trap 'echo; echo "demo: stopped; files in $work"; exit 0' INT TERM
while sleep 1; do :; done
