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
  extra=$(cd "$prefix" && find . -type f ! -path './bin/*' ! -path './share/cardperso/*' ! -path './share/doc/cardperso/*')
  [[ -z "$extra" ]] || fail "$component: installed outside bin/ and share/: $extra"
done
[[ -f "$root/issuer/share/cardperso/profiles/gsm-sim-default.json" ]] || fail "issuer: the default card profile is missing"
[[ -f "$root/issuer/share/doc/cardperso/operations.md" ]] || fail "issuer: docs/operations.md is missing"
[[ -z "$(find "$root/shop" "$root/virtual-card" -path '*/share/*' -type f)" ]] || fail "shop/virtual-card install data"
echo "install_test: 3 components, $(find "$root" -type f | wc -l) files, every program runs from its prefix"
