#!/usr/bin/env bash
# A local cluster for trying replicas out: a throw-away PostgreSQL on loopback
# (scripts/start_postgres.sh) and N server replicas (`python -m switchboard.server`) on
# consecutive loopback ports, all on its one database; prints the one target to give a gRPC
# client, and stops everything on Ctrl-C (or SIGTERM). A replica that exits stops the cluster.
#
# Usage: scripts/local_cluster.sh [-n REPLICAS] [-p FIRST_PORT] [-d DIR] [-- SERVER_FLAGS...]
#   -n  replicas (default 3); -p  the first replica's port (default 50051), the next ones follow;
#   -d  where the database and the replicas' logs go (default: a temporary directory, removed
#       at the end); SERVER_FLAGS are given to every replica.
# Environment: PYTHON (default .venv/bin/python if there is one, else python3);
#   SWITCHBOARD_DATABASE_URL: use this PostgreSQL database instead of starting one.
set -euo pipefail
cd "$(dirname "$0")/.."
replicas=3
first_port=50051
dir=
while getopts "n:p:d:" option; do
  case $option in
    n) replicas=$OPTARG ;;
    p) first_port=$OPTARG ;;
    d) dir=$OPTARG ;;
    *) sed -n '7,12p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
python=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

keep=1
if [ -z "$dir" ]; then
  dir=$(mktemp -d)
  keep=0
fi
mkdir -p "$dir"
chmod 755 "$dir"
pids=()
stopped=0
# stop [STATUS]: stops the replicas and PostgreSQL; the directory is removed (unless given with
# -d) after a clean stop, kept for its logs after a failure (STATUS other than 0).
stop() {
  [ "$stopped" = 1 ] && return
  stopped=1
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- "$bin/pg_ctl" -D "$dir/pg/data" -m fast stop >/dev/null 2>&1 || true
    else
      "$bin/pg_ctl" -D "$dir/pg/data" -m fast stop >/dev/null 2>&1 || true
    fi
  fi
  if [ "${1:-0}" != 0 ]; then
    echo "cluster stopped after a failure; logs in $dir" >&2
    return
  fi
  [ "$keep" = 1 ] || rm -rf "$dir"
  echo "cluster stopped"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop $?' EXIT

if [ -n "${SWITCHBOARD_DATABASE_URL:-}" ]; then
  url=$SWITCHBOARD_DATABASE_URL
else
  pg_port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  url=$(scripts/start_postgres.sh "$dir/pg" "$pg_port")
fi
echo "postgresql: $url"

# serving TARGET...: waits (up to 30 s) until every target answers health checks with SERVING.
serving() {
  "$python" - "$@" <<'EOF'
import sys, time
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

deadline = time.monotonic() + 30
for target in sys.argv[1:]:
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"{target} not SERVING after 30 s")
            time.sleep(0.1)
EOF
}

addresses=()
for ((n = 0; n < replicas; n++)); do
  port=$((first_port + n))
  "$python" -m switchboard.server --host 127.0.0.1 --port "$port" --database-url "$url" "$@" \
    >"$dir/replica-$((n + 1)).log" 2>&1 &
  pids+=($!)
  addresses+=("127.0.0.1:$port")
  echo "replica $((n + 1)): 127.0.0.1:$port (pid $!, log $dir/replica-$((n + 1)).log)"
  # The first creates the schema; the others start once it serves.
  if [ "$n" = 0 ]; then serving "127.0.0.1:$port"; fi
done
serving "${addresses[@]}"
joined=$(IFS=,; echo "${addresses[*]}")
listed=$(printf '"%s", ' "${addresses[@]}")
echo "target: ipv4:$joined"
echo "python: AsyncClient([${listed%, }])"
echo "serving; Ctrl-C stops the cluster"
status=0
wait -n "${pids[@]}" || status=$?
echo "a replica exited (status $status): stopping the cluster" >&2
exit 1
