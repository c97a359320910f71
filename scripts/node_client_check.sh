#!/usr/bin/env bash
# Runs the Node.js client (clients/node) against a live server: installs its locked
# dependencies, starts the Python server on a free loopback port with a throwaway SQLite
# database, waits for grpc.health.v1 to report SERVING, runs the client, stops the server with
# SIGTERM. Exits with the client's status. PYTHON picks the interpreter (default: python).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

(cd clients/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$python" -m switchboard.server --host 127.0.0.1 --port "$port" \
  --database-url "sqlite+aiosqlite:///$tmp/switchboard.db" >"$tmp/server.log" 2>&1 &
server_pid=$!

# Polls the health service for up to 20 s; gives up early if the server process exits.
if ! "$python" - "127.0.0.1:$port" "$server_pid" <<'EOF'
import os, sys, time
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

target, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 20
with grpc.insecure_channel(target) as channel:
    stub = health_pb2_grpc.HealthStub(channel)
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.exit("server exited before serving")
        try:
            if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                    health_pb2.HealthCheckResponse.SERVING:
                sys.exit(0)
        except grpc.RpcError:
            pass
        time.sleep(0.2)
sys.exit("server not SERVING after 20 s")
EOF
then
  echo "--- server log" >&2; cat "$tmp/server.log" >&2
  echo "node client: FAILED (server did not start)"
  exit 1
fi

status=0
node clients/node/reservations.js "127.0.0.1:$port" || status=$?

kill -TERM "$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=

if [[ $status -eq 0 ]]; then
  echo "node client: OK (server on port $port stopped with status $server_status)"
else
  echo "--- server log" >&2; cat "$tmp/server.log" >&2
  echo "node client: FAILED (exit $status)"
fi
exit "$status"
