#!/usr/bin/env bash
# Personalisations/s and latency with the ADS on SQLite (one daemon) and on PostgreSQL (one and two
# daemons on one database), the same load generator invocation for all three, side by side in one
# run. PostgreSQL is a throwaway cluster with its default durability (fsync on, synchronous_commit
# on), on this machine's disk, like the SQLite file.
#
#   bench/scaleout/scaleout.sh BUILD_DIR [SHOPS] [SESSIONS] [RATE]
#     defaults: 100 shops, 2000 sessions, closed loop (every shop back to back: throughput);
#     RATE sessions/s: open loop (latency at that offered load, which every configuration must carry)
#
# For each configuration: cardperso-loadgen --setup-only makes the fixture (a fresh database), the
# daemons are started on it, cardperso-loadgen --ads-address runs the shops against them (shop i
# prefers daemon i % n), and the CPU time of the daemons and of PostgreSQL over the run is read
# from /proc. The last lines are one JSON object per configuration.
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR [SHOPS] [SESSIONS] [RATE]}" && pwd)
shops=${2:-100}
sessions=${3:-2000}
rate=${4:-0}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
loadgen=$build/bench/loadgen/cardperso-loadgen
ads=$build/ads-server/daemon/ads-server
profile=$root/profiles/gsm-sim-default.json
work=$(mktemp -d /tmp/cardperso-scaleout-XXXXXX)
pg=/tmp/cardperso-scaleout-pg-$$
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$root/tests/pg/pg_cluster.sh" stop "$pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cpu_ticks() {  # utime + stime of the given pids, in clock ticks
  local sum=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] || continue
    read -r -a f < <(sed 's/^.*) //' "/proc/$p/stat")
    sum=$((sum + f[11] + f[12]))
  done
  echo "$sum"
}
postgres_pids() { pgrep -d ' ' -f "postgres: |/usr/lib/postgresql/.*/bin/postgres" || true; }

base=$("$root/tests/pg/pg_cluster.sh" start "$pg" --durable)
hz=$(getconf CLK_TCK)

run() {  # NAME DB DAEMONS
  local name=$1 db=$2 daemons=$3 dir=$work/$1
  mkdir -p "$dir"
  "$loadgen" --mode personalise --shops "$shops" --sessions "$sessions" --work-dir "$dir" ${db:+--db "$db"} \
    --setup-only >"$dir/setup.out" 2>"$dir/setup.err"
  local dbarg=${db:-$dir/ads.db} addresses=() started=()
  for ((i = 0; i < daemons; i++)); do
    "$ads" --db "$dbarg" --master-key "$dir/ads-master.key" --listen 127.0.0.1:0 --profile "$profile" \
      --hello-rate 0 --max-connections-per-address 0 --max-handshakes-per-link-minute 0 \
      --max-connections $((shops + 64)) --log-level warn >"$dir/ads-$i.out" 2>"$dir/ads-$i.log" &
    pids+=($!)
    started+=($!)
  done
  for ((i = 0; i < daemons; i++)); do
    for _ in $(seq 100); do grep -q "listening on" "$dir/ads-$i.out" 2>/dev/null && break; sleep 0.1; done
    addresses+=("$(sed -n 's/^listening on //p' "$dir/ads-$i.out" | head -1)")
  done
  local joined
  joined=$(IFS=,; echo "${addresses[*]}")
  local pgp before_ads before_pg after_ads after_pg
  pgp=$(postgres_pids)
  before_ads=$(cpu_ticks "${started[@]}")
  before_pg=$(cpu_ticks $pgp)
  "$loadgen" --mode personalise --shops "$shops" --sessions "$sessions" --work-dir "$dir" \
    --ads-address "$joined" --warmup-ms 2000 --timeout-ms 60000 --rate "$rate" --no-baseline \
    >"$dir/run.out" 2>"$dir/run.err"
  after_ads=$(cpu_ticks "${started[@]}")
  after_pg=$(cpu_ticks $(postgres_pids))
  for p in "${started[@]}"; do kill "$p"; done
  wait "${started[@]}" 2>/dev/null || true
  /usr/bin/python3 - "$name" "$daemons" "$dir/run.out" $((after_ads - before_ads)) $((after_pg - before_pg)) "$hz" <<'PY'
import json, sys
name, daemons, out, ads_ticks, pg_ticks, hz = sys.argv[1:]
summary = json.loads(open(out).read().strip().splitlines()[-1])
lat = summary["latency_us"]
sessions_ok = summary.get("sessions_ok", 0)
row = {
    "config": name, "daemons": int(daemons), "shops": summary["shops"], "offered_rate": summary.get("offered_rate", 0),
    "sessions_ok": sessions_ok,
    "errors": summary.get("errors"), "seconds": summary["seconds"],
    "sessions_per_s": round(summary["sessions_per_s"], 1),
    "round_trip_p50_ms": lat["round_trip"]["p50_us"] / 1000, "round_trip_p99_ms": lat["round_trip"]["p99_us"] / 1000,
    "card_p99_ms": lat["card"]["p99_us"] / 1000 if "card" in lat else None,
    "session_p99_ms": lat["session"]["p99_us"] / 1000,
    "ads_cpu_ms_per_session": round(int(ads_ticks) * 1000 / int(hz) / max(sessions_ok, 1), 2),
    "postgres_cpu_ms_per_session": round(int(pg_ticks) * 1000 / int(hz) / max(sessions_ok, 1), 2),
}
print(json.dumps(row))
PY
}

database() {  # a new, empty database on the cluster; prints its URL
  /usr/bin/psql -q "$base" -c "CREATE DATABASE $1" >/dev/null
  echo "$base" | sed "s|/postgres?|/$1?|"
}

run sqlite-1 "" 1
run postgres-1 "$(database ads1)" 1
run postgres-2 "$(database ads2)" 2
