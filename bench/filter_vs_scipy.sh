#!/usr/bin/env bash
# Times scipy.ndimage.gaussian_filter and tensorwire's engine on the same
# inputs in one run, checks the outputs are byte-equal, prints the ratios.
#
#   bench/filter_vs_scipy.sh            (from the crate root)
#
# Creates target/bench-venv with numpy + scipy (pinned to the versions the
# golden cases were made with) unless TENSORWIRE_BENCH_PYTHON names a Python
# that has them. NumPy's AVX-512 features are disabled as for the golden
# cases: with them NumPy's exp differs from libm's in the last bit, and so
# would scipy's kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS_SEED=${RUNS_SEED:-30}
RUNS_BIG=${RUNS_BIG:-7}
export NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"

# shellcheck source=bench/bench_python.sh
source bench/bench_python.sh

cargo build --release --quiet --example filter_bench
runner=target/release/examples/filter_bench
dir=target/bench-data
mkdir -p "$dir"
"$py" bench/filter_vs_scipy.py prepare "$dir"

printf '%-34s %12s %15s %8s  %s\n' workload "scipy ms" "tensorwire ms" ratio output
for spec in "seed 0.5 $RUNS_SEED 1024x768x3-int32-sigma0.5" "big 2.0 $RUNS_BIG 4096x4096-float64-sigma2"; do
    read -r name sigma runs label <<<"$spec"
    s=$("$py" bench/filter_vs_scipy.py scipy "$dir" "$name" "$sigma" "$runs")
    t=$("$runner" "$dir/$name.npy" "$dir/$name.tensorwire.npy" --sigma "$sigma" --runs "$runs" | awk '{print $2}')
    same=$("$py" bench/filter_vs_scipy.py compare "$dir" "$name" || true)
    ratio=$(awk -v s="$s" -v t="$t" 'BEGIN { printf "%.1fx", s / t }')
    printf '%-34s %12s %15s %8s  %s\n' "$label" "$s" "$t" "$ratio" "$same"
done
