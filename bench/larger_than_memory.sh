#!/usr/bin/env bash
# A float32 tensor larger than memory through GaussianFilterStream (issue
# #18): generated on the fly by examples/larger_than_memory.rs, filtered with
# sigma 2 along all axes while it uploads, every 64-row block of the result
# checked against the engine on the same rows plus halo, and the first, a
# middle and the last block checked against scipy (rows plus halo, the
# result rows cropped). Reports throughput and the server's peak RSS, and
# the same data's upload alone (DescribeStream), upload + download with no
# engine (sigma 0: the server copies), and the engine alone (this machine,
# the server's slab cutting, no network). Loopback only; one server.
#
#   bash bench/larger_than_memory.sh                 # 32 GiB
#   GIB=4 CHECK_EVERY=1 bash bench/larger_than_memory.sh
#
# CHECK_EVERY=K checks every K-th block against the engine (1 = all; the
# check runs in the client, on the same two cores as the server, so timing
# runs use a sparse check). The server runs with --memory-budget 512MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
GIB=${GIB:-32}
CHECK_EVERY=${CHECK_EVERY:-16}
PROFILE=${PROFILE:-release}
DIR=$([ "$PROFILE" = dev ] && echo debug || echo release)
cargo build --quiet --profile "$PROFILE" --bin tensorwire --example larger_than_memory
# shellcheck source=bench/bench_python.sh
source bench/bench_python.sh
export NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"
WORK=$(mktemp -d)
LOG=$WORK/server.log
./target/$DIR/tensorwire serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
    --memory-budget 512MiB --max-tensor-bytes 1TiB 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do grep -q 'listening' "$LOG" && break; sleep 0.1; done
GRPC=$(grep -o 'grpc_addr=[0-9.:]*' "$LOG" | head -1 | cut -d= -f2)
RUN=./target/$DIR/examples/larger_than_memory
# The server's user + system CPU seconds so far (/proc/PID/stat fields 14
# and 15, in clock ticks): printed after each mode, so each mode's server
# CPU is the difference. With the client's own CPU (printed by the example)
# it gives the floor two cores set: (client + server CPU) / 2.
TICKS=$(getconf CLK_TCK)
server_cpu() {
    awk -v t="$TICKS" '{printf "%.2f", ($14 + $15) / t}' /proc/$PID/stat
}
echo "load: $(uptime)"
echo "server RSS at start: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$PID/status)"
echo "server CPU at start: $(server_cpu) s"
"$RUN" "http://$GRPC" filter --gib "$GIB" --check-every "$CHECK_EVERY" --dump "$WORK/dump"
echo "server CPU after filter: $(server_cpu) s"
echo "server peak RSS (VmHWM) after the filter: $(awk '/VmHWM/ {print $2/1024 " MiB"}' /proc/$PID/status)"
"$py" - "$WORK/dump" <<'PY'
import pathlib, sys
import numpy as np
from scipy import ndimage
d = pathlib.Path(sys.argv[1])
for txt in sorted(d.glob("*.txt")):
    lo, hi, a, b = map(int, txt.read_text().split())
    x = np.load(txt.with_name(txt.stem + "_in.npy"))
    got = np.load(txt.with_name(txt.stem + "_out.npy"))
    want = ndimage.gaussian_filter(x, 2.0)[a - lo:b - lo]
    same = got.tobytes() == want.tobytes()
    print(f"scipy check rows {a}..{b} (input rows {lo}..{hi}): {'equal' if same else 'DIFFERENT'}")
    assert same
PY
"$RUN" "http://$GRPC" upload --gib "$GIB"
echo "server CPU after upload: $(server_cpu) s"
"$RUN" "http://$GRPC" identity --gib "$GIB"
echo "server CPU after identity: $(server_cpu) s"
"$RUN" "http://$GRPC" engine --gib "$GIB"
echo "server peak RSS (VmHWM) at the end: $(awk '/VmHWM/ {print $2/1024 " MiB"}' /proc/$PID/status)"
echo "load: $(uptime)"
