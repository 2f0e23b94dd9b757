#!/usr/bin/env bash
# install_test.sh BUILD_DIR: `cmake --install` of each component into a fresh prefix puts exactly its
# programs in bin/ and its data in share/ (FHS places), and every installed program runs from there.
set -euo pipefail
build=${1:?usage: install_test.sh BUILD_DIR}
root=$(mktemp -d /tmp/cardperso-install.XXXXXX)
trap 'rm -rf "$root"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

declare -A programs=(
  [issuer]="ads-server adsctl"
  [shop]="cardperso-apdu cardperso-simread dtd-agent ste-firmware"
  [virtual-card]="card-sim cardperso-mkcards"
)
for component in issuer shop virtual-card; do
  prefix="$root/$component"
  cmake --install "$build" --component "$component" --prefix "$prefix" > /dev/null || fail "$component: cmake --install failed"
  expected=$(for p in ${programs[$component]}; do echo "bin/$p"; done | sort)
  got=$(cd "$prefix" && find bin -type f | sort)
  [[ "$got" == "$expected" ]] || fail "$component: bin/ holds '$got', expected '$expected'"
  for p in ${programs[$component]}; do
    version=$("$prefix/bin/$p" --version) || fail "$component: installed $p --version failed"
    [[ "$version" == "$p (cardperso) "* ]] || fail "$component: installed $p --version printed '$version'"
  done
  for p in ${programs[$component]}; do
    [[ -f "$prefix/share/man/man1/$p.1.gz" ]] || fail "$component: no man page for $p"
    # grep -c reads to the end: with -q, zcat would die of SIGPIPE and pipefail fail the test.
    (($(zcat "$prefix/share/man/man1/$p.1.gz" | grep -Ec '^\.SH (OPTIONS|COMMANDS)') > 0)) || fail "$component: the man page of $p has no OPTIONS or COMMANDS"
  done
  extra=$(cd "$prefix" && find . -type f ! -path './bin/*' ! -path './share/cardperso/*' ! -path './share/doc/cardperso/*' \
    ! -path './share/man/man1/*' ! -path './lib/systemd/system/cardperso-*.service')
  [[ -z "$extra" ]] || fail "$component: installed outside bin/, share/ and lib/systemd/system: $extra"
done
[[ -f "$root/issuer/share/cardperso/profiles/gsm-sim-default.json" ]] || fail "issuer: the default card profile is missing"
[[ -f "$root/issuer/share/doc/cardperso/operations.md" ]] || fail "issuer: docs/operations.md is missing"
[[ -f "$root/issuer/lib/systemd/system/cardperso-ads.service" ]] || fail "issuer: the cardperso-ads unit is missing"
[[ -f "$root/shop/lib/systemd/system/cardperso-dtd.service" && -f "$root/shop/lib/systemd/system/cardperso-ste.service" ]] ||
  fail "shop: the cardperso-dtd or cardperso-ste unit is missing"
for f in issuer/share/cardperso/examples/ads-server.conf issuer/share/cardperso/examples/policy.json \
         shop/share/cardperso/examples/dtd-agent.conf shop/share/cardperso/examples/ste-firmware.conf; do
  [[ -f "$root/$f" ]] || fail "example $f is missing"
done
[[ -z "$(find "$root/virtual-card" -path '*/share/*' -type f ! -path '*/share/man/man1/*')" ]] || fail "virtual-card install data"

# The shipped examples are configurations the installed programs accept.
touch "$root/pairing.key" "$root/device.key"
"$root/shop/bin/dtd-agent" --config "$root/shop/share/cardperso/examples/dtd-agent.conf" --pairing-file "$root/pairing.key" \
  --print-config > /dev/null || fail "dtd-agent refuses the example dtd-agent.conf"
"$root/shop/bin/ste-firmware" --config "$root/shop/share/cardperso/examples/ste-firmware.conf" --pairing-file "$root/pairing.key" \
  --device-key "$root/device.key" --print-config > /dev/null || fail "ste-firmware refuses the example ste-firmware.conf"

# The installed server finds the shipped profile in its own prefix (no --profile), reads the shipped
# example configuration, and the example policy is one it accepts.
"$root/issuer/bin/adsctl" init --db "$root/ads.db" --master-key "$root/ads.key" > /dev/null || fail "installed adsctl init failed"
"$root/issuer/bin/ads-server" --config "$root/issuer/share/cardperso/examples/ads-server.conf" --db "$root/ads.db" \
  --master-key "$root/ads.key" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
  --policy "$root/issuer/share/cardperso/examples/policy.json" --log-file "$root/ads.log" > "$root/ads.out" 2>&1 &
ads=$!
for ((i = 0; i < 100; i++)); do grep -q '^listening on' "$root/ads.out" && break; sleep 0.1; done
kill "$ads" 2> /dev/null; wait "$ads" || true
grep -q '^listening on' "$root/ads.out" || { cat "$root/ads.out" >&2; fail "the installed ads-server did not start from the example configuration"; }
grep -q "from $root/issuer/share/cardperso/profiles/gsm-sim-default.json" "$root/ads.log" ||
  fail "the installed ads-server did not find the profile in its prefix: $(grep -m1 personalisation "$root/ads.log")"
echo "install_test: 3 components, $(find "$root" -type f | wc -l) files, every program runs from its prefix"
