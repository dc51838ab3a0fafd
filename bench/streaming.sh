#!/usr/bin/env bash
# Streaming figures of issue #4: DescribeStream upload rate (256 MiB),
# GaussianFilterStream end-to-end time against filter + 1.5 x transfer, and the
# server's peak RSS during a 1 GiB GaussianFilterStream. Loopback only. The
# upload is also measured against a plain tonic baseline in the same run (see
# examples/stream_bench.rs); STREAM_BENCH_UPLOAD_ONLY=1 stops after it.
set -euo pipefail
cd "$(dirname "$0")/.."
# PROFILE=dev reuses the (optimised) test build instead of a release build.
PROFILE=${PROFILE:-release}
DIR=$([ "$PROFILE" = dev ] && echo debug || echo release)
cargo build --profile "$PROFILE" --bin tensorwire --example stream_bench
LOG=$(mktemp)
./target/$DIR/tensorwire serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q 'listening' "$LOG" && break; sleep 0.1; done
GRPC=$(grep -o 'grpc_addr=[0-9.:]*' "$LOG" | head -1 | cut -d= -f2)
echo "server RSS at start: $(grep VmRSS /proc/$PID/status | awk '{print $2/1024 " MiB"}')"
./target/$DIR/examples/stream_bench "http://$GRPC" "${RUNS:-5}"
echo "server peak RSS (VmHWM): $(grep VmHWM /proc/$PID/status | awk '{print $2/1024 " MiB"}')"
