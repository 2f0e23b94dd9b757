#!/usr/bin/env bash
# The cardperso handshake against a TLS 1.3 full handshake, side by side in one invocation on the same
# machine (docs/performance.md, "Handshake against TLS 1.3"):
#   1. openssl s_server (a P-256 certificate made here, TLS 1.3 only) and openssl s_time -new: one full
#      handshake per connection, for SECONDS;
#   2. cardperso-loadgen --mode handshake against a real ads-server for SECONDS: handshakes/s and the
#      ADS's CPU per handshake (the server's own CPU time, from /proc);
#   3. cardperso-microbench BM_HandshakeKeySchedule: the crypto one side of the handshake must do;
# then the two ratios: loadgen handshakes/s over TLS handshakes/s, and ADS CPU per handshake over the
# crypto's micro-benchmarked cost.
# Usage: bench/handshake_vs_tls.sh [BUILD_DIR] [SECONDS] [SHOPS]   (defaults: build/release 10 100)
set -euo pipefail
build=${1:-build/release}
seconds=${2:-10}
shops=${3:-100}
loadgen=$build/bench/loadgen/cardperso-loadgen
microbench=$build/bench/cardperso-microbench
for p in "$loadgen" "$microbench"; do
  [[ -x $p ]] || { echo "handshake_vs_tls: $p is not built (configure with -DCARDPERSO_BENCH=ON)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/cardperso-tls-bench.XXXXXX)
server_pid=
cleanup() { [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "== TLS 1.3, P-256 certificate: openssl s_server + s_time -new for ${seconds} s"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2> /dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$port" -cert "$work/cert.pem" -key "$work/key.pem" -tls1_3 -quiet \
  > /dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
  sleep 0.1
done
start=$(date +%s.%N)
openssl s_time -connect "127.0.0.1:$port" -new -tls1_3 -time "$seconds" > "$work/s_time.txt" 2>&1
end=$(date +%s.%N)
tls_count=$(sed -n 's/^\([0-9]\+\) connections in .*real seconds.*/\1/p' "$work/s_time.txt" | head -n 1)
[[ -n $tls_count ]] || { echo "handshake_vs_tls: s_time printed no count:" >&2; cat "$work/s_time.txt" >&2; exit 1; }
tls_rate=$(python3 -c "print(f'{$tls_count / ($end - $start):.0f}')")
echo "TLS 1.3 full handshakes: $tls_count in $(python3 -c "print(f'{$end - $start:.1f}')") s = $tls_rate/s"
kill "$server_pid"; wait "$server_pid" 2> /dev/null || true; server_pid=

echo "== cardperso: cardperso-loadgen --mode handshake --shops $shops for ${seconds} s"
"$loadgen" --mode handshake --shops "$shops" --duration-ms $((seconds * 1000)) --warmup-ms 2000 --no-baseline \
  > "$work/loadgen.txt" 2>&1 || { cat "$work/loadgen.txt" >&2; exit 1; }
tail -n 1 "$work/loadgen.txt" > "$work/loadgen.json"
grep -E 'sessions/s|round trips' "$work/loadgen.txt" | head -n 3

echo "== the crypto of one side of the handshake: cardperso-microbench BM_HandshakeKeySchedule"
"$microbench" --benchmark_filter='BM_HandshakeKeySchedule$' --benchmark_min_time=1 --benchmark_format=json \
  > "$work/micro.json" 2> /dev/null

python3 - "$work/loadgen.json" "$work/micro.json" "$tls_rate" <<'PY'
import json, sys
load = json.load(open(sys.argv[1]))
micro = json.load(open(sys.argv[2]))
tls = float(sys.argv[3])
rate = load["sessions_per_s"]
cpu_us = load["server"]["cpu_us_per_session"]
bench = [b for b in micro["benchmarks"] if b["name"].startswith("BM_HandshakeKeySchedule")][0]
crypto_us = bench["cpu_time"] / 1000.0 if bench["time_unit"] == "ns" else bench["cpu_time"]
print(f"cardperso handshakes: {rate:.0f}/s; ADS CPU per handshake: {cpu_us:.1f} us; crypto per side: {crypto_us:.1f} us")
print(f"ratio handshakes/s cardperso : TLS 1.3 = {rate / tls:.2f} (goal: at least 3)")
print(f"ratio ADS CPU per handshake : its crypto = {cpu_us / crypto_us:.2f} (goal: at most 2)")
PY
