#!/usr/bin/env bash
# Scaling out on one machine, loopback only: three tensorwire replicas behind
# nginx (deploy/nginx/nginx.conf), a bounded load of Describe calls from a
# Python grpcio client with retries on, one replica killed (SIGKILL) mid-run.
# Shows that every replica served calls and that no call was lost.
#
#   bash deploy/loadtest.sh [CALLS]          # default 600 calls, 8 at a time
#
# Needs: target/debug/tensorwire (or TENSORWIRE_BIN), nginx (installed with
# apt-get when missing and run as root), python3 with grpcio, grpcio-tools and
# numpy (or PYTHON=/path/to/python). Everything listens on 127.0.0.1 and is
# stopped at the end; the whole run is bounded by a timeout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TENSORWIRE_BIN:-$ROOT/target/debug/tensorwire}
PYTHON=${PYTHON:-python3}
CALLS=${1:-600}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tensorwire-loadtest.XXXXXX")
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

[ -x "$BIN" ] || { echo "no tensorwire binary at $BIN (cargo build first)"; exit 1; }
if ! command -v nginx >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing nginx-light"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
  else
    echo "nginx is not installed (apt-get install nginx-light)"; exit 1
  fi
fi
"$PYTHON" -c 'import grpc, grpc_tools, numpy' || { echo "$PYTHON needs grpcio grpcio-tools numpy"; exit 1; }

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "=== three replicas"
GRPC_ADDRS=()
for i in 1 2 3; do
  # tower_http=debug logs one "finished processing request" line per call.
  RUST_LOG=info,tower_http=debug "$BIN" serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
    >"$WORK/replica$i.log" 2>&1 &
  PIDS+=($!)
done
for i in 1 2 3; do
  for _ in $(seq 100); do
    grep -q 'tensorwire listening' "$WORK/replica$i.log" && break
    sleep 0.1
  done
  addr=$(grep -o 'grpc_addr=[0-9.:]*' "$WORK/replica$i.log" | head -1 | cut -d= -f2)
  [ -n "$addr" ] || { cat "$WORK/replica$i.log"; echo "replica $i did not start"; exit 1; }
  GRPC_ADDRS+=("$addr")
  echo "replica $i: pid ${PIDS[$((i - 1))]}, gRPC on $addr"
done

echo "=== nginx"
NGINX_PORT=$(free_port)
mkdir -p "$WORK/logs"
{
  for addr in "${GRPC_ADDRS[@]}"; do
    printf '        server %s max_fails=1 fail_timeout=10s;\n' "$addr"
  done
} >"$WORK/upstreams"
# The committed config, with this run's listen address and replicas.
awk -v port="$NGINX_PORT" -v ups="$WORK/upstreams" '
  /# replicas begin/ { print; while ((getline line < ups) > 0) print line; skip = 1; next }
  /# replicas end/   { skip = 0 }
  skip { next }
  /^ *listen / { sub(/listen [^ ;]*/, "listen 127.0.0.1:" port) }
  { print }
' "$ROOT/deploy/nginx/nginx.conf" >"$WORK/nginx.conf"
nginx -t -q -p "$WORK" -c "$WORK/nginx.conf" -g "pid $WORK/nginx.pid; error_log $WORK/logs/error.log;"
# In the foreground (daemon off), as a child of this script: stopped with it.
nginx -p "$WORK" -c "$WORK/nginx.conf" -g "daemon off; pid $WORK/nginx.pid; error_log $WORK/logs/error.log;" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/nginx.pid" ] && break; sleep 0.1; done
echo "nginx: 127.0.0.1:$NGINX_PORT -> ${GRPC_ADDRS[*]}"

echo "=== load: $CALLS Describe calls through nginx, 8 at a time; replica 2 killed at call $((CALLS / 3))"
"$PYTHON" -m grpc_tools.protoc -I"$ROOT/proto" --python_out="$WORK" --grpc_python_out="$WORK" \
  "$ROOT/proto/tensorwire/v1/tensorwire.proto"
STATUS=0
PYTHONPATH=$WORK timeout 180 "$PYTHON" - "127.0.0.1:$NGINX_PORT" "$CALLS" "${PIDS[1]}" <<'PY' || STATUS=$?
import json, os, signal, sys, threading, time
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
from tensorwire.v1 import tensorwire_pb2 as pb, tensorwire_pb2_grpc as rpc

target, calls, victim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Retries: UNAVAILABLE (a replica gone mid-call, nginx's 502) is repeated,
# up to 5 attempts with backoff. Describe is safe to repeat.
service_config = {"methodConfig": [{
    "name": [{"service": "tensorwire.v1.TensorService"}],
    "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
                    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]},
}]}
channel = grpc.insecure_channel(target, options=[
    ("grpc.enable_retries", 1), ("grpc.service_config", json.dumps(service_config))])
grpc.channel_ready_future(channel).result(timeout=10)
stub = rpc.TensorServiceStub(channel)

# grpcio keeps a copy of what it sent for retries up to
# grpc.per_rpc_retry_buffer_size (256 KiB by default); a bigger request is
# committed once sent and is not retried. 16 KiB per call here.
a = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
tensor = pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=a.shape, data=a.tobytes())
want_mean = float(a.astype(np.float64).mean())
lock, done, failures = threading.Lock(), [0], []
killed_at = [None]

def one(i):
    try:
        info = stub.Describe(tensor, timeout=20)
        assert info.nbytes == a.nbytes and info.mean == want_mean, info
    except Exception as err:  # counted, not raised: the summary says what failed
        with lock:
            failures.append((i, repr(err)[:200]))
    with lock:
        done[0] += 1
        if done[0] == calls // 3 and killed_at[0] is None:
            os.kill(victim, signal.SIGKILL)
            killed_at[0] = done[0]

start = time.monotonic()
with ThreadPoolExecutor(8) as pool:
    list(pool.map(one, range(calls)))
elapsed = time.monotonic() - start
print(f"client: {calls} calls in {elapsed:.2f} s, {calls - len(failures)} succeeded, "
      f"{len(failures)} failed; replica pid {victim} SIGKILLed after {killed_at[0]} calls")
for f in failures[:10]:
    print("  failed:", f)
sys.exit(1 if failures else 0)
PY

echo "=== calls served, from each replica's log (one line per finished call)"
ALL_SERVED=1
for i in 1 2 3; do
  n=$(grep -c 'finished processing request' "$WORK/replica$i.log" || true)
  state=running
  kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null || state=killed
  echo "replica $i (${GRPC_ADDRS[$((i - 1))]}, $state): $n calls"
  [ "$n" -gt 0 ] || ALL_SERVED=0
done
echo "=== nginx access log"
LOGFILE=$WORK/logs/access.log
echo "requests: $(wc -l <"$LOGFILE")"
echo "passed to another replica by nginx (connection refused or reset): $(grep -c 'upstream=[^ ]*, ' "$LOGFILE" || true)"
echo "cut off mid-call (upstream 502, answered UNAVAILABLE; the client retried): $(grep -c 'upstream_status=[^ ]*502' "$LOGFILE" || true)"
echo "by upstream (last attempt):"
grep -o 'upstream=[^ ]*' "$LOGFILE" | sed 's/.*[ ,=]//' | sort | uniq -c | sed 's/^/  /'

echo "logs: $WORK"
[ "$ALL_SERVED" = 1 ] || { echo "FAIL: a replica served no call"; exit 1; }
[ "$STATUS" = 0 ] || { echo "FAIL: calls were lost (client exit $STATUS)"; exit 1; }
echo "PASS: every replica served calls and no call was lost"
