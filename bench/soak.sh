#!/usr/bin/env bash
# Soak and chaos run for the one memory budget (#28). Not run in CI.
#
#   bash bench/soak.sh [SECONDS] [WORKERS]     # default 600 s, 12 clients
#
# 1. soak: one `tensorwire serve --memory-budget 1GiB`, mixed traffic from
#    every client of bench/soak.py (gRPC unary and streams, seed routes, /v1,
#    KServe, slow readers, abandoned uploads, bad inputs) for SECONDS;
#    reports calls answered, refusals, errors, the server's peak RSS and
#    whether every accepted answer was exact.
# 2. chaos: three replicas (each --memory-budget 1GiB) behind nginx (gRPC
#    over HTTP/2 and the HTTP gateway, round robin, the settings of
#    deploy/nginx/nginx.conf), the same traffic through nginx for SECONDS,
#    replica 2 SIGKILLed and restarted at 1/3 and replica 3 at 2/3 of it.
#
# Needs: the binary (TENSORWIRE_BIN, default target/release/tensorwire; build
# with `cargo build --release`), python3 with numpy, requests, grpcio and googleapis-common-protos
# (PYTHON=...), nginx for the chaos part (skipped with a note if missing).
# Figures go to bench/soak-results/ (JSON per phase) and stdout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TENSORWIRE_BIN:-$ROOT/target/release/tensorwire}
PYTHON=${PYTHON:-python3}
SECONDS_RUN=${1:-600}
WORKERS=${2:-12}
BUDGET=${BUDGET:-1GiB}
OUT=${OUT:-$ROOT/bench/soak-results}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tensorwire-soak.XXXXXX")
mkdir -p "$OUT"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/replicas.pids" ] && while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$WORK/replicas.pids"
  wait 2>/dev/null || true
}
trap cleanup EXIT

[ -x "$BIN" ] || { echo "no tensorwire binary at $BIN"; exit 1; }
"$PYTHON" -c 'import numpy, requests' || { echo "$PYTHON needs numpy and requests"; exit 1; }
"$PYTHON" -c 'import grpc' 2>/dev/null || echo "note: no grpcio for $PYTHON: the gRPC clients are left out"
export PYTHONPATH=$ROOT/python/src${PYTHONPATH:+:$PYTHONPATH}

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_replica N GRPC_PORT HTTP_PORT: a server in the background, its pid
# written to $WORK/replica$N.pid, waited for until it listens.
start_replica() {
  local n=$1 grpc=$2 http=$3
  RUST_LOG=warn,tensorwire=info "$BIN" serve --grpc-addr "127.0.0.1:$grpc" --http-addr "127.0.0.1:$http" \
    --memory-budget "$BUDGET" >>"$WORK/replica$n.log" 2>&1 &
  echo $! >"$WORK/replica$n.pid"
  for _ in $(seq 100); do
    "$PYTHON" -c "import socket,sys; socket.create_connection(('127.0.0.1',$http),timeout=1)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "replica $n did not start"; tail "$WORK/replica$n.log"; exit 1
}

write_pids() { cat "$WORK"/replica*.pid >"$WORK/replicas.pids"; }

echo "=== 1. soak: one server, --memory-budget $BUDGET, $SECONDS_RUN s, $WORKERS clients"
G=$(free_port); H=$(free_port)
start_replica 0 "$G" "$H"
write_pids
"$PYTHON" "$ROOT/bench/soak.py" --grpc "127.0.0.1:$G" --http "http://127.0.0.1:$H" \
  --seconds "$SECONDS_RUN" --workers "$WORKERS" --pids-file "$WORK/replicas.pids" \
  --report "$OUT/soak.json" || echo "soak: an accepted answer was not exact (see $OUT/soak.json)"
kill "$(cat "$WORK/replica0.pid")" 2>/dev/null || true
rm -f "$WORK/replica0.pid"

if ! command -v nginx >/dev/null; then
  echo "=== 2. chaos: skipped, nginx is not installed (apt-get install nginx-light)"
  exit 0
fi

echo "=== 2. chaos: three replicas behind nginx, two SIGKILLed and restarted under load"
declare -a GP HP
for n in 1 2 3; do
  GP[$n]=$(free_port); HP[$n]=$(free_port)
  start_replica "$n" "${GP[$n]}" "${HP[$n]}"
done
write_pids
NG=$(free_port); NH=$(free_port)
mkdir -p "$WORK/logs"
cat >"$WORK/nginx.conf" <<EOF
worker_processes auto;
events { worker_connections 4096; }
http {
    access_log logs/access.log;
    upstream tensorwire_grpc {
        server 127.0.0.1:${GP[1]} max_fails=1 fail_timeout=2s;
        server 127.0.0.1:${GP[2]} max_fails=1 fail_timeout=2s;
        server 127.0.0.1:${GP[3]} max_fails=1 fail_timeout=2s;
        keepalive 32;
    }
    upstream tensorwire_http {
        server 127.0.0.1:${HP[1]} max_fails=1 fail_timeout=2s;
        server 127.0.0.1:${HP[2]} max_fails=1 fail_timeout=2s;
        server 127.0.0.1:${HP[3]} max_fails=1 fail_timeout=2s;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$NG http2;
        client_max_body_size 0;
        grpc_read_timeout 300s;
        grpc_send_timeout 300s;
        grpc_buffer_size 1m;
        location / {
            grpc_pass grpc://tensorwire_grpc;
            grpc_next_upstream error timeout;
            grpc_next_upstream_tries 3;
            grpc_connect_timeout 2s;
        }
    }
    server {
        listen 127.0.0.1:$NH;
        client_max_body_size 0;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_read_timeout 300s;
        proxy_send_timeout 300s;
        location / {
            proxy_pass http://tensorwire_http;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
        }
    }
}
EOF
nginx -p "$WORK" -c "$WORK/nginx.conf" -g "daemon off; pid $WORK/nginx.pid; error_log $WORK/logs/error.log;" &
PIDS+=($!)
sleep 1

(
  # The chaos: SIGKILL replica 2 at 1/3 of the run and replica 3 at 2/3,
  # each restarted on its ports a second later.
  third=$((SECONDS_RUN / 3))
  sleep "$third"
  for n in 2 3; do
    pid=$(cat "$WORK/replica$n.pid")
    echo "chaos: SIGKILL replica $n (pid $pid) at $(date +%T)"
    kill -9 "$pid" 2>/dev/null || true
    sleep 1
    start_replica "$n" "${GP[$n]}" "${HP[$n]}"
    cat "$WORK"/replica*.pid >>"$WORK/replicas.pids"
    echo "chaos: replica $n restarted (pid $(cat "$WORK/replica$n.pid"))"
    [ "$n" = 2 ] && sleep "$third"
  done
) &
CHAOS=$!
"$PYTHON" "$ROOT/bench/soak.py" --grpc "127.0.0.1:$NG" --http "http://127.0.0.1:$NH" \
  --seconds "$SECONDS_RUN" --workers "$WORKERS" --pids-file "$WORK/replicas.pids" \
  --report "$OUT/chaos.json" || echo "chaos: an accepted answer was not exact (see $OUT/chaos.json)"
wait "$CHAOS" || true
echo "logs: $WORK; reports: $OUT/soak.json, $OUT/chaos.json"
