#!/usr/bin/env bash
# The issuer's and the installer's part of the demo, shared by scripts/demo-scenario.sh, the demo's
# --console mode and tests/browser: an ADS database, a retailer card (virtual card image), a batch of
# blank SIMs assigned to the retailer, number pools, the terminal paired with the shop PC, and the
# terminal's device key enrolled for the retailer.
# Usage: demo-setup.sh WORKDIR
#   The programs come from the environment: ADSCTL, MKCARDS, STE, DTD (paths). Optional: DEMO_CARDS
#   (blank SIMs in the batch, default 3). WORKDIR must exist and should be empty.
#   Writes WORKDIR/setup.env: `NAME=value` lines (shell- and Python-readable) naming what it made:
#   ADS_DB, ADS_MASTER_KEY, RETAILER_SERIAL, RETAILER_PIN, RETAILER_CARD, STOCK_DIR, FIRST_ICCID,
#   DTD_PAIRING, STE_PAIRING, STE_DEVICE_KEY.
set -euo pipefail
work=${1:?usage: demo-setup.sh WORKDIR}
work=$(cd "$work" && pwd)
for b in ADSCTL MKCARDS STE DTD; do
  [[ -n ${!b:-} && -x ${!b} ]] || { echo "demo-setup: \$$b must name the program" >&2; exit 1; }
done
cards=${DEMO_CARDS:-3}
serial=8949000000000000012
retailer_pin=2468
say() { printf '\n=== %s\n' "$*"; }
adsctl() { "$ADSCTL" "$@" --db "$work/ads.db" --master-key "$work/ads-master.key"; }

say "Issuer: ADS database and master key"
adsctl init
say "Issuer: enrol a retailer; its retailer card is written as a virtual card image"
adsctl retailer enrol --serial "$serial" --pin "$retailer_pin" --puk 13572468 --card-image "$work/retailer-card.json"
say "Manufacturer: a batch of $cards blank SIMs locked by per-card master codes; the issuer imports and assigns it"
"$MKCARDS" blank-batch --new-secret --secret-file "$work/batch.secret" --iccid-prefix 8988211 --first 1 --count "$cards" --out "$work/stock"
adsctl batch import-secret --name demo-batch --secret-file "$work/batch.secret" --iccid-prefix 8988211 --first 1 --count "$cards"
adsctl batch assign --name demo-batch --retailer "$serial"
adsctl pool add --kind imsi --prefix 00101 --first 0000000001 --last 0000009999
adsctl pool add --kind msisdn --prefix 4179 --first 0000001 --last 0009999
first_iccid=$(ls "$work/stock" | sort | head -n 1 | sed 's/\.json$//')

say "Installer: pair the secure terminal with the shop PC (the terminal shows a code, the PC takes it)"
code=$("$STE" --pair --pairing-file "$work/ste-pairing.key" --log-file "$work/ste-pair.log" | sed -n 's/^\[STE\] Pairing code: //p')
[[ -n $code ]] || { echo "demo-setup: ste-firmware --pair showed no code" >&2; exit 1; }
printf '%s\n' "$code" | "$DTD" --pair - --pairing-file "$work/dtd-pairing.key" --log-file "$work/dtd-pair.log"
say "Installer: the terminal makes its device key; the issuer enrols its public key for the retailer card"
device_key=$("$STE" --init-device-key --device-key "$work/ste-device.key" --log-file "$work/ste-key.log" 2> /dev/null)
[[ $device_key =~ ^[0-9a-f]{64}$ ]] || { echo "demo-setup: ste-firmware --init-device-key printed no public key" >&2; exit 1; }
adsctl terminal enrol --retailer "$serial" --public-key "$device_key" --label "demo shop counter"

cat > "$work/setup.env" <<ENV
ADS_DB=$work/ads.db
ADS_MASTER_KEY=$work/ads-master.key
RETAILER_SERIAL=$serial
RETAILER_PIN=$retailer_pin
RETAILER_CARD=$work/retailer-card.json
STOCK_DIR=$work/stock
FIRST_ICCID=$first_iccid
DTD_PAIRING=$work/dtd-pairing.key
STE_PAIRING=$work/ste-pairing.key
STE_DEVICE_KEY=$work/ste-device.key
ENV
