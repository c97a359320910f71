#!/usr/bin/env bash
# Starts a throw-away PostgreSQL 15 server on loopback for the tests, from the machine's Debian
# binaries, as the postgres user (the binaries refuse to run as root).
# Usage: scripts/start_postgres.sh DIR PORT   (prints the SQLAlchemy URL; stop with pg_ctl -D DIR/data stop)
set -euo pipefail
dir=$1
port=$2
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
mkdir -p "$dir"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null
echo "postgresql+asyncpg://postgres@127.0.0.1:$port/postgres"
