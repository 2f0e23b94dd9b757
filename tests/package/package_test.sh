#!/usr/bin/env bash
# package_test.sh BUILD_DIR: the Debian packages as an operator meets them, on this machine (as root):
#   1. `cpack -G DEB` builds cardperso-issuer, cardperso-shop and cardperso-virtual-card;
#   2. `dpkg -i` installs them (their Depends, from dpkg-shlibdeps, must already be met);
#   3. `systemd-analyze verify` passes for every installed unit, and `systemd-analyze security` rates
#      each (the ADS's exposure must be 2.0 or lower);
#   4. `adsctl init` and one personalisation run with the installed programs only: the installed
#      ads-server started from the shipped configuration file and profile, the installed dtd-agent,
#      ste-firmware and card-sim, inside a private pcscd + vpcd (tests/tools/pcsc-sandbox);
#   5. `dpkg -r` removes them and leaves nothing they installed under /usr.
# It refuses to run when cardperso packages are already installed: it would replace and remove them.
set -euo pipefail
build=${1:?usage: package_test.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
packages=(cardperso-issuer cardperso-shop cardperso-virtual-card)
fail() { echo "package_test: $*" >&2; exit 1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2> /dev/null | grep -q "install ok installed"; }

[[ $(id -u) -eq 0 ]] || fail "needs root (dpkg -i); run the suite as root as scripts/test.sh does"
for p in "${packages[@]}"; do
  installed "$p" && fail "$p is already installed on this machine; this test installs and removes it: dpkg -r it first"
done
for tool in cpack dpkg-shlibdeps systemd-analyze; do
  command -v "$tool" > /dev/null || fail "$tool not found (scripts/install-deps.sh installs it)"
done

work=$(mktemp -d /tmp/cardperso-packages.XXXXXX)
remove_packages() {
  for p in "${packages[@]}"; do
    if installed "$p"; then dpkg -r "$p" > /dev/null 2>&1 || echo "package_test: dpkg -r $p failed" >&2; fi
  done
}
trap 'remove_packages; rm -rf "$work"' EXIT

echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/debs" > "$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack failed"; }
debs=()
for p in "${packages[@]}"; do
  deb=$(ls "$work"/debs/"${p}"_*.deb 2> /dev/null | head -n 1)
  [[ -n $deb ]] || fail "cpack made no $p package"
  debs+=("$deb")
  depends=$(dpkg-deb -f "$deb" Depends)
  [[ $depends == *libc6* && $depends == *libssl3* ]] || fail "$p: Depends '$depends' lacks the shared libraries (shlibdeps)"
  echo "$(basename "$deb"): $(dpkg-deb -f "$deb" Installed-Size) KiB installed; Depends: $depends"
done

echo "== dpkg -i"
dpkg -i "${debs[@]}" > "$work/dpkg-i.log" 2>&1 || { cat "$work/dpkg-i.log" >&2; fail "dpkg -i failed"; }
for p in "${packages[@]}"; do installed "$p" || fail "$p not installed after dpkg -i"; done
dpkg -L "${packages[@]}" | sort -u > "$work/files"
for f in /usr/bin/ads-server /usr/bin/adsctl /usr/bin/dtd-agent /usr/bin/ste-firmware /usr/bin/card-sim \
         /usr/share/cardperso/profiles/gsm-sim-default.json /usr/share/cardperso/examples/ads-server.conf \
         /usr/share/man/man1/ads-server.1.gz /usr/lib/systemd/system/cardperso-ads.service; do
  [[ -e $f ]] || fail "$f missing after dpkg -i"
done
[[ -z $(grep '^/etc' "$work/files") ]] || fail "a package installs in /etc: $(grep '^/etc' "$work/files")"

echo "== systemd units"
units=(/usr/lib/systemd/system/cardperso-ads.service /usr/lib/systemd/system/cardperso-dtd.service
       /usr/lib/systemd/system/cardperso-ste.service)
for unit in "${units[@]}"; do
  # --man=no: man pages are not what is checked here (and man-db may be absent); everything else is.
  systemd-analyze verify --man=no "$unit" > "$work/verify.log" 2>&1 || { cat "$work/verify.log" >&2; fail "systemd-analyze verify $unit"; }
  [[ ! -s $work/verify.log ]] || { cat "$work/verify.log" >&2; fail "systemd-analyze verify $unit printed warnings"; }
  exposure=$(systemd-analyze security --offline=yes "$unit" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  [[ -n $exposure ]] || fail "systemd-analyze security gave no exposure level for $unit"
  echo "$(basename "$unit"): verify ok, exposure $exposure"
  if [[ $unit == *cardperso-ads.service ]]; then
    awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "cardperso-ads.service exposure $exposure is above 2.0"
  fi
done

echo "== one personalisation with the installed programs"
"$src/tests/tools/pcsc-sandbox" -- bash "$src/scripts/demo-scenario.sh" --installed > "$work/demo.log" 2>&1 ||
  { cat "$work/demo.log" >&2; fail "the personalisation with the installed programs failed"; }
grep -q '^\[STE\] Card personalised: MSISDN' "$work/demo.log" || { cat "$work/demo.log" >&2; fail "the terminal never showed the card personalised"; }
demo_dir=$(sed -n 's/^demo: done; files in //p' "$work/demo.log")
[[ $demo_dir == /tmp/cardperso-demo.* ]] || fail "the demo did not say where its files are"
ads_log=$demo_dir/ads.log
grep -q '/usr/share/cardperso/profiles/gsm-sim-default.json' "$ads_log" || fail "the installed ads-server did not use the shipped profile ($ads_log)"
grep -q 'metrics on http://127.0.0.1:9464' "$ads_log" || fail "the example configuration's metrics-listen was not applied"
grep -q '^state        personalised' "$work/demo.log" || fail "adsctl card show did not report the card personalised"
grep -E '^(IMSI|MSISDN|SPN) ' "$work/demo.log" | sed 's/^/read back: /'
rm -rf "$demo_dir"

echo "== dpkg -r"
dpkg -r "${packages[@]}" > "$work/dpkg-r.log" 2>&1 || { cat "$work/dpkg-r.log" >&2; fail "dpkg -r failed"; }
for p in "${packages[@]}"; do installed "$p" && fail "$p still installed after dpkg -r"; done
left=()
while read -r f; do
  [[ $f == /usr/* ]] || continue
  [[ -d $f ]] && continue  # directories such as /usr/bin are shared with other packages
  [[ -e $f || -L $f ]] && left+=("$f")
done < "$work/files"
((${#left[@]} == 0)) || fail "left in /usr after dpkg -r: ${left[*]}"
for d in /usr/share/cardperso /usr/share/doc/cardperso; do [[ ! -e $d ]] || fail "$d left after dpkg -r"; done
echo "package_test: 3 packages built, installed, verified, used for one personalisation and removed ($(grep -c '^/usr/' "$work/files") paths, none left)"
