#!/usr/bin/env bash
# Runs the Node.js client (clients/node) against live servers: installs its locked
# dependencies, then starts the Python server several times on a free loopback port with a
# throwaway SQLite database, waits for grpc.health.v1 to report SERVING, runs the client, and
# stops the server with SIGTERM: first plaintext, then mTLS with certificates made here
# (tests/certs.py, with the `cryptography` package) — where the client must also be refused
# without its certificate — then with authorization on, by the client certificate's principal
# and by a bearer token (refused without one, or with one whose principal has no roles).
# Exits 0 only if every run passed. PYTHON picks the interpreter (default: python).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}

tmp=$(mktemp -d)
server_pid=
stop_server() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
cleanup() {
  stop_server
  rm -rf "$tmp"
}
trap cleanup EXIT

(cd clients/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
mkdir "$tmp/pki"
"$python" tests/certs.py "$tmp/pki"

# start_server NAME FLAGS...: starts a server on a free port, logging to $tmp/NAME.log, and
# waits (up to 20 s, giving up if it exits) for it to be SERVING; the health check goes over
# mTLS with the test certificates when FLAGS configure TLS.
start_server() {
  local name=$1
  shift
  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$python" -m switchboard.server --port "$port" \
    --database-url "sqlite+aiosqlite:///$tmp/$name.db" "$@" >"$tmp/$name.log" 2>&1 &
  server_pid=$!
  local tls=plaintext
  [[ " $* " == *" --tls-cert-file "* ]] && tls=$tmp/pki
  if ! "$python" - "localhost:$port" "$server_pid" "$tls" <<'EOF'
import os, sys, time
from pathlib import Path
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

target, pid, tls = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if tls == "plaintext":
    channel = grpc.insecure_channel(target)
else:
    pki = Path(tls)
    channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(
        (pki / "ca.pem").read_bytes(), (pki / "client.key").read_bytes(),
        (pki / "client.pem").read_bytes()))
deadline = time.monotonic() + 20
with channel:
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
    echo "--- $name server log" >&2; cat "$tmp/$name.log" >&2
    echo "node client: FAILED ($name server did not start)"
    exit 1
  fi
}

# run NAME EXPECT NODE-ARGS...: runs the client; EXPECT is pass or refused.
run() {
  local name=$1 expect=$2 status=0
  shift 2
  node clients/node/reservations.js "$@" >"$tmp/$name.out" 2>&1 || status=$?
  if [[ $expect == refused ]]; then
    sed 's/^/(refusal expected) /' "$tmp/$name.out"
  else
    cat "$tmp/$name.out"
  fi
  if [[ $expect == pass && $status -ne 0 ]] || [[ $expect == refused && $status -eq 0 ]]; then
    echo "--- server log" >&2; cat "$tmp/"*.log >&2
    echo "node client: FAILED ($name: expected $expect, exit $status)"
    exit 1
  fi
  echo "node client: $name OK ($expect)"
}

start_server plaintext
run plaintext pass "localhost:$port"
stop_server

start_server mtls --tls-cert-file "$tmp/pki/server.pem" --tls-key-file "$tmp/pki/server.key" \
  --tls-client-ca-file "$tmp/pki/ca.pem"
run mtls-flags pass --ca "$tmp/pki/ca.pem" --cert "$tmp/pki/client.pem" \
  --key "$tmp/pki/client.key" "localhost:$port"
SWITCHBOARD_TLS_CA=$tmp/pki/ca.pem SWITCHBOARD_TLS_CERT=$tmp/pki/client.pem \
  SWITCHBOARD_TLS_KEY=$tmp/pki/client.key run mtls-environment pass "localhost:$port"
run mtls-without-client-certificate refused --ca "$tmp/pki/ca.pem" "localhost:$port"
run plaintext-against-mtls refused "localhost:$port"
stop_server

# With authorization: the client certificate's CN, then a bearer token over TLS, as principals
# of the policy's project "node" (a key and tokens made here, kept in $tmp only).
cat >"$tmp/policy.toml" <<'EOF'
[principals]
switchboard-test-client = ["operator", "viewer"]
node-user = ["operator", "viewer"]

[projects]
node = { principals = ["switchboard-test-client", "node-user"] }
EOF
"$python" - "$tmp" <<'EOF'
import sys, time
from pathlib import Path
sys.path.insert(0, "tests")
from tokens import Issuer
tmp, issuer = Path(sys.argv[1]), Issuer()
issuer.write_pem(tmp / "jwt.pem")
(tmp / "token").write_text(issuer.token("node-user", int(time.time() * 1_000_000)))
(tmp / "stranger").write_text(issuer.token("stranger", int(time.time() * 1_000_000)))
EOF
start_server mtls-authorized --tls-cert-file "$tmp/pki/server.pem" \
  --tls-key-file "$tmp/pki/server.key" --tls-client-ca-file "$tmp/pki/ca.pem" \
  --tls-client-identity cn --policy-file "$tmp/policy.toml"
run mtls-certificate-principal pass --ca "$tmp/pki/ca.pem" --cert "$tmp/pki/client.pem" \
  --key "$tmp/pki/client.key" "localhost:$port"
stop_server
start_server tls-token --tls-cert-file "$tmp/pki/server.pem" \
  --tls-key-file "$tmp/pki/server.key" --policy-file "$tmp/policy.toml" \
  --jwt-key-file "$tmp/jwt.pem" --jwt-issuer https://issuer.test --jwt-audience switchboard
SWITCHBOARD_TOKEN=$(cat "$tmp/token") run tls-token pass --ca "$tmp/pki/ca.pem" "localhost:$port"
SWITCHBOARD_TOKEN=$(cat "$tmp/stranger") run tls-token-without-roles refused \
  --ca "$tmp/pki/ca.pem" "localhost:$port"
run tls-without-token refused --ca "$tmp/pki/ca.pem" "localhost:$port"
stop_server
echo "node client: OK (plaintext, mTLS, and authorized by certificate and by token)"
