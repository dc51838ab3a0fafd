#!/usr/bin/env bash
# The HTTP gateway against a Flask + scipy server with the same seed routes
# (bench/flask_seed.py, gunicorn, 2 workers), on this machine, in one run.
#
#   bash bench/gateway_vs_flask.sh            # needs wrk, and a Python with
#                                             # flask gunicorn numpy scipy pillow
#   PYTHON=/path/to/venv/bin/python DURATION=20 bash bench/gateway_vs_flask.sh
#
# Workloads (the issue's):
#   filter   POST /  multipart .npy of a 1024x768x3 int32 array, sigma 0.5:
#            throughput at concurrency 4, median latency at concurrency 1
#   receive  POST /receive_array  with a ~700 KB JSON body: throughput at
#            concurrency 8
# A third server gives the floor: examples/http_echo.rs reads each body whole
# and sends the same bytes back (no parsing, no gRPC, no filter). No server
# that reads the upload and answers with as many bytes can beat it on this
# machine with this load generator.
# The servers run one at a time, with the same load generator (wrk), so they
# never compete for the two cores. Each run also records the CPU per request
# of the server (its /proc/PID/stat, all threads) and of wrk: CPU accounting
# moves much less with a shared machine's load than req/s, and it gives the
# floor of the issue #15 ratio (gateway >= 80 % of the echo): when both cores
# are busy, req/s ~ 2 cores / (server + wrk CPU per request), so the gateway
# can reach at most (echo + wrk) / (echo + wrk + filter engine) of the echo.
# The engine's own CPU per request is measured on the native route
# /v1/gaussian_filter with the same .npy body, sigma 0.5 minus sigma 0 (sigma
# 0 is a copy: same transport, same parsing, no filtering). Every answer is checked once before the
# load (the gateway's filter answer must equal scipy's bit for bit).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
DURATION=${DURATION:-15}
BIN=${BIN:-$ROOT/target/release/tensorwire}
WORK=$(mktemp -d)
FLASK_PORT=${FLASK_PORT:-5099}
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[ -x "$BIN" ] || cargo build --release --quiet
ECHO=${ECHO:-$ROOT/target/release/examples/http_echo}
[ -x "$ECHO" ] || cargo build --release --quiet --example http_echo
"$PYTHON" -c 'import flask, gunicorn, numpy, scipy, PIL' 2>/dev/null ||
  { echo "$PYTHON lacks flask/gunicorn/numpy/scipy/pillow" >&2; exit 1; }

# --- payloads -------------------------------------------------------------
"$PYTHON" - "$WORK" <<'PY'
import base64, io, json, sys
import numpy as np
work = sys.argv[1]
rng = np.random.default_rng(0)
seed = rng.integers(0, 256, (1024, 768, 3), dtype=np.int32)
buf = io.BytesIO(); np.save(buf, seed); npy = buf.getvalue()
np.save(f"{work}/seed.npy", seed)
boundary = "tensorwirebenchboundary"
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"array\"; filename=\"array.npy\"\r\n"
        f"Content-Type: application/octet-stream\r\n\r\n").encode() + npy + f"\r\n--{boundary}--\r\n".encode()
open(f"{work}/filter.body", "wb").write(body)
open(f"{work}/filter.type", "w").write(f"multipart/form-data; boundary={boundary}")
arr = rng.normal(size=(256, 256))          # 512 KiB of float64 -> ~700 KB of JSON
buf = io.BytesIO(); np.save(buf, arr)
doc = json.dumps({"array_data": base64.b64encode(buf.getvalue()).decode()}).encode()
open(f"{work}/receive.body", "wb").write(doc)
open(f"{work}/native.body", "wb").write(npy)
print(f"filter body {len(body)} bytes, receive_array body {len(doc)} bytes")
PY

cat >"$WORK/post.lua" <<'LUA'
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("CTYPE")
local errors = 0
response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d non200=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests, errors + summary.errors.status))
end
LUA

# --- servers --------------------------------------------------------------
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

start_flask() {
  (cd bench && exec "$PYTHON" -m gunicorn -w 2 -b "127.0.0.1:$FLASK_PORT" --log-level warning flask_seed:app) &
  PIDS+=($!); FLASK_PID=$!
  wait_port "$FLASK_PORT"
}
start_tensorwire() {
  RUST_LOG=warn "$BIN" serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 >"$WORK/tw.log" 2>&1 &
  PIDS+=($!); TW_PID=$!
  for _ in $(seq 100); do grep -q 'http_addr=' "$WORK/tw.log" 2>/dev/null && break; sleep 0.05; done
  # RUST_LOG=warn hides the listening line; ask the log level only for it.
  if ! grep -q 'http_addr=' "$WORK/tw.log"; then
    kill "$TW_PID"; wait "$TW_PID" 2>/dev/null || true
    RUST_LOG=info "$BIN" serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 >"$WORK/tw.log" 2>&1 &
    PIDS+=($!); TW_PID=$!
    for _ in $(seq 100); do grep -q 'http_addr=' "$WORK/tw.log" && break; sleep 0.05; done
  fi
  TW_HTTP=$(grep -o 'http_addr=[0-9.:]*' "$WORK/tw.log" | head -1 | cut -d= -f2)
}

check() { # base-url: one request of each workload, answers verified
  "$PYTHON" - "$1" "$WORK" <<'PY'
import io, sys, urllib.request
import numpy as np
from scipy.ndimage import gaussian_filter
base, work = sys.argv[1], sys.argv[2]
body = open(f"{work}/filter.body", "rb").read()
req = urllib.request.Request(base + "/", data=body, headers={"Content-Type": open(f"{work}/filter.type").read()})
got = np.load(io.BytesIO(urllib.request.urlopen(req).read()))
want = gaussian_filter(np.load(f"{work}/seed.npy"), 0.5)
assert got.dtype == want.dtype and np.array_equal(got, want), "filter answer differs from scipy"
req = urllib.request.Request(base + "/receive_array", data=open(f"{work}/receive.body", "rb").read(),
                             headers={"Content-Type": "application/json"})
assert b"Array received successfully" in urllib.request.urlopen(req).read()
PY
}

cpu_ms() { # pid: CPU milliseconds (user + system, all threads) so far, of
  # the process and its children (gunicorn's workers are its master's)
  local p stats=()
  for p in "$1" $(pgrep -P "$1" || true); do stats+=("/proc/$p/stat"); done
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); t += $12 + $13 } END { print t * 1000 / hz }' \
    "${stats[@]}" 2>/dev/null
}

run() { # name base path body ctype connections server-pid
  local out before wrk_cpu server_cpu requests
  before=$(cpu_ms "$7")
  out=$(BODY="$WORK/$4.body" CTYPE="$5" /usr/bin/time -f 'WRKCPU %U %S' -o "$WORK/wrk.time" \
        wrk -t "$(( $6 < 2 ? 1 : 2 ))" -c "$6" -d "${DURATION}s" \
        --timeout 10s -s "$WORK/post.lua" "$2$3" | grep '^BENCH')
  server_cpu=$(awk -v a="$before" -v b="$(cpu_ms "$7")" 'BEGIN { print b - a }')
  wrk_cpu=$(awk '/^WRKCPU/ { print ($2 + $3) * 1000 }' "$WORK/wrk.time")
  requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$out")
  out="$out server_cpu_ms=$(awk -v c="$server_cpu" -v n="$requests" 'BEGIN { printf "%.2f", c / n }')"
  out="$out wrk_cpu_ms=$(awk -v c="$wrk_cpu" -v n="$requests" 'BEGIN { printf "%.2f", c / n }')"
  echo "$1 $out"
  echo "$1 $out" >>"$WORK/results"
}

start_flask
check "http://127.0.0.1:$FLASK_PORT"
FT=$(cat "$WORK/filter.type")
run flask_filter_c4  "http://127.0.0.1:$FLASK_PORT" / filter "$FT" 4 "$FLASK_PID"
run flask_filter_c1  "http://127.0.0.1:$FLASK_PORT" / filter "$FT" 1 "$FLASK_PID"
run flask_receive_c8 "http://127.0.0.1:$FLASK_PORT" /receive_array receive application/json 8 "$FLASK_PID"
kill "$FLASK_PID"; wait "$FLASK_PID" 2>/dev/null || true

start_tensorwire
check "http://$TW_HTTP"
run tensorwire_filter_c4  "http://$TW_HTTP" / filter "$FT" 4 "$TW_PID"
run tensorwire_filter_c1  "http://$TW_HTTP" / filter "$FT" 1 "$TW_PID"
run tensorwire_receive_c8 "http://$TW_HTTP" /receive_array receive application/json 8 "$TW_PID"
run native_sigma05_c4 "http://$TW_HTTP" "/v1/gaussian_filter?sigma=0.5" native application/x-npy 4 "$TW_PID"
run native_sigma0_c4  "http://$TW_HTTP" "/v1/gaussian_filter?sigma=0" native application/x-npy 4 "$TW_PID"

"$ECHO" 127.0.0.1:0 >"$WORK/echo.log" 2>&1 &
PIDS+=($!); ECHO_PID=$!
for _ in $(seq 100); do grep -q 'listening on' "$WORK/echo.log" && break; sleep 0.05; done
ECHO_ADDR=$(sed -n 's/^listening on //p' "$WORK/echo.log")
kill "$TW_PID"; wait "$TW_PID" 2>/dev/null || true
run echo_filter_c4  "http://$ECHO_ADDR" / filter "$FT" 4 "$ECHO_PID"
run echo_filter_c1  "http://$ECHO_ADDR" / filter "$FT" 1 "$ECHO_PID"
run echo_receive_c8 "http://$ECHO_ADDR" /receive_array receive application/json 8 "$ECHO_PID"
kill "$ECHO_PID"; wait "$ECHO_PID" 2>/dev/null || true

# --- summary --------------------------------------------------------------
"$PYTHON" - "$WORK/results" <<'PY'
import re, sys
r = {}
for line in open(sys.argv[1]):
    name, rest = line.split(" ", 1)
    r[name] = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", rest)}
def ratio(a, b): return a / b if b else float("nan")
print()
print("| workload | Flask + scipy (gunicorn -w 2) | tensorwire gateway | ratio | target | echo floor | echo / Flask |")
print("|---|---|---|---|---|---|---|")
f, t, e = r["flask_filter_c4"], r["tensorwire_filter_c4"], r["echo_filter_c4"]
print(f"| `POST /` 1024×768×3 int32, c=4, req/s | {f['rps']:.1f} | {t['rps']:.1f} | {ratio(t['rps'], f['rps']):.1f}× | ≥ 10× | {e['rps']:.1f} | {ratio(e['rps'], f['rps']):.1f}× |")
f, t, e = r["flask_filter_c1"], r["tensorwire_filter_c1"], r["echo_filter_c1"]
print(f"| `POST /` 1024×768×3 int32, c=1, median ms | {f['p50_ms']:.1f} | {t['p50_ms']:.1f} | {ratio(f['p50_ms'], t['p50_ms']):.1f}× faster | ≥ 10× | {e['p50_ms']:.1f} | {ratio(f['p50_ms'], e['p50_ms']):.1f}× faster |")
f, t, e = r["flask_receive_c8"], r["tensorwire_receive_c8"], r["echo_receive_c8"]
print(f"| `POST /receive_array` 700 KB JSON, c=8, req/s | {f['rps']:.0f} | {t['rps']:.0f} | {ratio(t['rps'], f['rps']):.1f}× | ≥ 5× | {e['rps']:.0f} | {ratio(e['rps'], f['rps']):.1f}× |")
print()
print("CPU per request, ms (server, all threads + wrk); issue #15's gateway/echo ratio and its floor:")
print("| workload | echo server + wrk | gateway server + wrk | gateway / echo req/s | engine (σ 0.5 − σ 0) | floor of gateway / echo |")
print("|---|---:|---:|---:|---:|---:|")
engine = r["native_sigma05_c4"]["server_cpu_ms"] - r["native_sigma0_c4"]["server_cpu_ms"]
for name, w in (("`POST /` seed, c=4", "filter_c4"), ("`POST /receive_array`, c=8", "receive_c8")):
    e, t = r["echo_" + w], r["tensorwire_" + w]
    ec, tc = e["server_cpu_ms"] + e["wrk_cpu_ms"], t["server_cpu_ms"] + t["wrk_cpu_ms"]
    eng = engine if w == "filter_c4" else 0.0
    floor = f"{100 * ec / (ec + eng):.0f} %" if eng else "(no engine)"
    print(f"| {name} | {e['server_cpu_ms']:.2f} + {e['wrk_cpu_ms']:.2f} | {t['server_cpu_ms']:.2f} + {t['wrk_cpu_ms']:.2f} | {100 * ratio(t['rps'], e['rps']):.0f} % | {eng:.2f} | {floor} |")
bad = {k: v["non200"] for k, v in r.items() if v.get("non200")}
if bad: print(f"\nnon-200 answers: {bad}")
PY
