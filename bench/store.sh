#!/usr/bin/env bash
# Tensors that stay on the server (issue #32): starts ONE release tensorwire
# server on free loopback ports with a 4 GiB store and runs bench/store.py
# against it: the engine alone in-process (examples/filter_bench.rs, before
# and after the loopback rounds), the loopback rounds, the same calls through
# bench/throttle_proxy.py at 1 Gbit/s each way, and the pipeline's bytes.
#
#   bench/store.sh                  RUNS=5 loopback rounds, LINK_RUNS=3
#   RATE=125e6 bench/store.sh       the proxy's rate, bytes/s each way
#   ENGINE_RUNS=5 ENGINE_COLD=3     engine alone: calls per process (warm),
#                                   one-call processes (cold), per sigma
#   BIN=path FILTER_BENCH=path bench/store.sh   prebuilt binaries, no build
#   TENSORWIRE_BENCH_PYTHON=python  a Python with numpy and grpcio (the
#       package is installed into it with --no-deps); otherwise
#       target/py-venv (numpy, grpcio, protobuf)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-5}
LINK_RUNS=${LINK_RUNS:-3}
RATE=${RATE:-125e6}
ENGINE_RUNS=${ENGINE_RUNS:-5}
ENGINE_COLD=${ENGINE_COLD:-3}
PY=${TENSORWIRE_BENCH_PYTHON:-}
if [[ -z $PY ]]; then
  VENV=$ROOT/target/py-venv
  if [[ ! -x $VENV/bin/python ]]; then python3 -m venv "$VENV"; fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check numpy grpcio protobuf
  PY=$VENV/bin/python
fi
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall ./python
if [[ -z ${BIN:-} || -z ${FILTER_BENCH:-} ]]; then
  cargo build --release --quiet --bin tensorwire --example filter_bench
fi
BIN=${BIN:-./target/release/tensorwire}
FILTER_BENCH=${FILTER_BENCH:-./target/release/examples/filter_bench}

OUT=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null; rm -rf "$OUT"' EXIT
"$BIN" serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --store-bytes 4GiB \
  >/dev/null 2>"$OUT/server.log" &
PID=$!
for _ in $(seq 300); do grep -q 'listening' "$OUT/server.log" && break; sleep 0.1; done
GRPC=$(grep -o 'grpc_addr=[0-9.:]*' "$OUT/server.log" | head -1 | cut -d= -f2)
HTTP=$(grep -o 'http_addr=[0-9.:]*' "$OUT/server.log" | head -1 | cut -d= -f2)
[[ -n $GRPC && -n $HTTP ]] || { cat "$OUT/server.log"; exit 1; }
echo "server $BIN: gRPC $GRPC, HTTP $HTTP; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "before: $(uptime)"

"$PY" bench/store.py "$GRPC" "$HTTP" --runs "$RUNS" --link-runs "$LINK_RUNS" --rate "$RATE" \
  --filter-bench "$FILTER_BENCH" --engine-runs "$ENGINE_RUNS" \
  --engine-cold "$ENGINE_COLD" --work "$OUT"
echo "after: $(uptime)"
