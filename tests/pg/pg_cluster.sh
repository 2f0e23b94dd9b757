#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: initdb into a new directory, a Unix socket in that
# directory and no TCP port, trust authentication for the local socket only (nothing else can reach
# it), stopped and removed after.
#
#   pg_cluster.sh start DIR [--durable]   prints the base URL (postgresql:///postgres?host=DIR&user=postgres)
#   pg_cluster.sh stop DIR
#
# Run as root, the cluster runs as the postgres user (PostgreSQL refuses to run as root); run as
# anyone else, as that user. Without --durable it runs with fsync=off: the tests kill ads-server, not
# PostgreSQL, so the cluster's own durability is not under test and the suite runs faster. The
# benchmark starts it with --durable.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start|stop DIR [--durable]" >&2; exit 2; }

bin=$(ls -d /usr/lib/postgresql/1[5-9]/bin 2>/dev/null | sort -V | tail -1 || true)
[[ -x $bin/initdb ]] || { echo "pg_cluster: PostgreSQL 15 server programs not found (apt-get install postgresql-15)" >&2; exit 1; }

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $cmd in
  start)
    durable=${3:-}
    if [[ -d $dir/data ]]; then  # left by a run that was interrupted
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
      rm -rf "$dir"
    fi
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    chmod 0700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    opts="-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=200 -c shared_buffers=64MB"
    [[ $durable == --durable ]] || opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    as_owner "$bin/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/server.log" -w -t 60 start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql:///postgres?host=$dir&user=postgres"
    ;;
  stop)
    if [[ -d $dir/data ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop DIR [--durable]" >&2
    exit 2
    ;;
esac
