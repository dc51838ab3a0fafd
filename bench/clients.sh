#!/usr/bin/env bash
# Every client path, one server, one run (issue #15): starts ONE release
# tensorwire server and the Python grpcio + scipy reference server
# (bench/reference_server.py), then times the same calls from Python grpcio,
# Node grpc-js and the Rust client against tensorwire, and Python grpcio
# against the reference:
#   seed      GaussianFilter 1024x768x3 int32, sigma 0.5 (unary)
#   big       GaussianFilter 2048x2048 float32, sigma 8 (unary)
#   download  GaussianFilterStream 256 MiB float32, sigma 0 (GiB/s of the
#             answer, from its first data piece to its end)
#   upload    DescribeStream 1 GiB
# Prints medians (ms) in a table with the load average before and after.
#
#   bench/clients.sh            RUNS=7 by default (download: RUNS/2, upload: 3)
#   PROFILE=dev bench/clients.sh   reuses the optimised test build
#   BASELINE=path/to/tensorwire bench/clients.sh   also times the Python client
#       against that binary (e.g. main's), in the same run: before/after
#   BIN=path RUST_CLIENT=path bench/clients.sh   prebuilt binaries, no build
#   FLOOR=1 bench/clients.sh    also prints bench/python_floor.py's breakdown
#       of a Python call against each tensorwire server
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-7}
# PROFILE=dev reuses the (optimised) test build instead of a release build.
PROFILE=${PROFILE:-release}
DIR=$([ "$PROFILE" = dev ] && echo debug || echo release)
# TENSORWIRE_BENCH_PYTHON may name a Python that has numpy, scipy, grpcio
# and grpcio-tools; otherwise target/bench-venv gets them.
PY=${TENSORWIRE_BENCH_PYTHON:-}
if [[ -z $PY ]]; then
  VENV=$ROOT/target/bench-venv
  if [[ ! -x $VENV/bin/python ]]; then python3 -m venv "$VENV"; fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check numpy scipy grpcio grpcio-tools
  PY=$VENV/bin/python
fi
PB=$ROOT/target/bench-pb
mkdir -p "$PB"
"$PY" -m grpc_tools.protoc -Iproto --python_out="$PB" --grpc_python_out="$PB" \
  proto/tensorwire/v1/tensorwire.proto
export PYTHONPATH=$PB
if [[ ! -d examples/node/node_modules/@grpc/grpc-js ]]; then
  (cd examples/node && npm ci --no-audit --no-fund --loglevel=error)
fi
# BIN and RUST_CLIENT may name prebuilt binaries (both given: nothing is built).
BIN=${BIN:-./target/$DIR/tensorwire}
RUST_CLIENT=${RUST_CLIENT:-./target/$DIR/examples/clients_bench}
if [[ $BIN == ./target/$DIR/tensorwire || $RUST_CLIENT == ./target/$DIR/examples/clients_bench ]]; then
  cargo build --profile "$PROFILE" --quiet --bin tensorwire --example clients_bench
fi

OUT=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$OUT"' EXIT
# Starts a tensorwire binary on free ports; prints its gRPC address.
start_tensorwire() {
  local log=$OUT/$2.log
  "$1" serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 >/dev/null 2>"$log" &
  echo $! >"$OUT/$2.pid"
  for _ in $(seq 300); do grep -q 'listening' "$log" && break; sleep 0.1; done
  grep -o 'grpc_addr=[0-9.:]*' "$log" | head -1 | cut -d= -f2
}
GRPC=$(start_tensorwire "$BIN" server)
PIDS+=("$(cat "$OUT/server.pid")")
[[ -n $GRPC ]] || { cat "$OUT/server.log"; exit 1; }
if [[ -n ${BASELINE:-} ]]; then
  BASE_GRPC=$(start_tensorwire "$BASELINE" baseline)
  PIDS+=("$(cat "$OUT/baseline.pid")")
  [[ -n $BASE_GRPC ]] || { cat "$OUT/baseline.log"; exit 1; }
fi
REF_PORT=$(( 20000 + RANDOM % 20000 ))
"$PY" bench/reference_server.py "$REF_PORT" >"$OUT/reference.log" 2>&1 &
REF_PID=$!
PIDS+=("$REF_PID")
for _ in $(seq 300); do grep -q listening "$OUT/reference.log" && break; sleep 0.1; done
grep -q listening "$OUT/reference.log" || { cat "$OUT/reference.log"; exit 1; }

echo "before: $(uptime)"
"$PY" bench/clients_python.py "$GRPC" "$RUNS" >"$OUT/python"
node bench/clients_node.js "$GRPC" "$RUNS" >"$OUT/node"
"$RUST_CLIENT" "http://$GRPC" "$RUNS" >"$OUT/rust"
"$PY" bench/clients_python.py "127.0.0.1:$REF_PORT" "$RUNS" >"$OUT/reference"
if [[ -n ${BASELINE:-} ]]; then
  "$PY" bench/clients_python.py "$BASE_GRPC" "$RUNS" >"$OUT/baseline"
fi
if [[ -n ${FLOOR:-} ]]; then
  echo "Python call breakdown (bench/python_floor.py: name, wall ms, client CPU ms, server CPU ms)"
  echo "against $BIN:"
  "$PY" bench/python_floor.py "$GRPC" "$RUNS" "$(cat "$OUT/server.pid")"
  if [[ -n ${BASELINE:-} ]]; then
    echo "against $BASELINE:"
    "$PY" bench/python_floor.py "$BASE_GRPC" "$RUNS" "$(cat "$OUT/baseline.pid")"
  fi
  echo "against the reference server:"
  "$PY" bench/python_floor.py "127.0.0.1:$REF_PORT" "$RUNS" "$REF_PID"
  echo "Node grpc-js with a 16 MiB receive window (FLOW_WINDOW; stock: 64 KiB):"
  FLOW_WINDOW=$((16 << 20)) node bench/clients_node.js "$GRPC" "$RUNS"
fi
echo "after: $(uptime)"

field() { awk -v w="$2" -v f="$3" '$1 == w { print $f }' "$OUT/$1"; }
printf '| call | Python grpcio | Node grpc-js | Rust (tonic) | Python + scipy reference server | Python vs reference | Node / Rust |\n'
printf '|---|---:|---:|---:|---:|---:|---:|\n'
for spec in "seed:GaussianFilter 1024×768×3 int32 σ 0.5 (ms)" "big:GaussianFilter 2048² float32 σ 8 (ms)" \
            "download:GaussianFilterStream 256 MiB (ms, whole call)" "upload:DescribeStream 1 GiB (ms)"; do
  w=${spec%%:*}
  p=$(field python "$w" 2); n=$(field node "$w" 2); r=$(field rust "$w" 2); s=$(field reference "$w" 2)
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${spec#*:}" "$p" "$n" "$r" "$s" \
    "$(awk -v a="$s" -v b="$p" 'BEGIN { printf "%.1f×", a / b }')" \
    "$(awk -v a="$n" -v b="$r" 'BEGIN { printf "%.2f", a / b }')"
done
printf '| streamed answer rate (GiB/s) | %s | %s | %s | %s | | |\n' \
  "$(field python download 3)" "$(field node download 3)" "$(field rust download 3)" "$(field reference download 3)"
cpu() { awk -v w="$2" '$1 == w { for (i = 2; i <= NF; i++) if ($i ~ /^cpu=/) print substr($i, 5) }' "$OUT/$1"; }
printf '\n| client CPU per call (ms, all its threads) | Python grpcio | Node grpc-js | Python grpcio (to the reference) |\n|---|---:|---:|---:|\n'
for w in seed big download upload; do
  printf '| %s | %s | %s | %s |\n' "$w" "$(cpu python "$w")" "$(cpu node "$w")" "$(cpu reference "$w")"
done
if [[ -n ${BASELINE:-} ]]; then
  printf '\n| Python grpcio call | this build | %s | baseline / this build |\n|---|---:|---:|---:|\n' "$BASELINE"
  for w in seed big download upload; do
    p=$(field python "$w" 2); b=$(field baseline "$w" 2)
    printf '| %s (ms) | %s | %s | %s |\n' "$w" "$p" "$b" "$(awk -v a="$b" -v b="$p" 'BEGIN { printf "%.2f", a / b }')"
  done
  printf '| download rate (GiB/s) | %s | %s | |\n' "$(field python download 3)" "$(field baseline download 3)"
fi
