#!/usr/bin/env bash
# Regenerates generated/ (messages, .pyi and gRPC stubs) from protos/ with grpcio-tools.
# The only way generated code is made; CI runs it and fails on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
rm -rf generated/switchboard
mkdir -p generated
mapfile -t files < <(cd protos && find switchboard -name '*.proto' | sort)
"$python" -m grpc_tools.protoc -I protos \
  --python_out=generated --pyi_out=generated --grpc_python_out=generated "${files[@]}"
