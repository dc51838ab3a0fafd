#!/usr/bin/env bash
# Times scipy.ndimage's gaussian_filter1d, gaussian_laplace and
# gaussian_gradient_magnitude and tensorwire's engine on the same inputs in
# one run (the seed workload, 1024x768x3 int32 at sigma 0.5, and 2048x2048
# float32 at sigma 8), checks the outputs are byte-equal, prints the ratios
# and the load average.
#
#   bench/ops_vs_scipy.sh            (from the crate root)
#
# Python as for bench/filter_vs_scipy.sh (bench/bench_python.sh), with
# NumPy's AVX-512 features disabled as for the golden cases.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS_SEED=${RUNS_SEED:-15}
RUNS_BIG=${RUNS_BIG:-5}
export NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"

# shellcheck source=bench/bench_python.sh
source bench/bench_python.sh

cargo build --release --quiet --example filter_bench
runner=target/release/examples/filter_bench
dir=target/bench-data
mkdir -p "$dir"
"$py" bench/ops_vs_scipy.py prepare "$dir"

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %-28s %10s %14s %8s  %s\n' operation workload "scipy ms" "tensorwire ms" ratio output
# gaussian_filter first: the baseline the issue compares the others with.
for op in gaussian_filter gaussian_filter1d gaussian_laplace gaussian_gradient_magnitude; do
    for spec in "seed 0.5 $RUNS_SEED 1024x768x3-int32-sigma0.5" "f32 8.0 $RUNS_BIG 2048x2048-float32-sigma8"; do
        read -r name sigma runs label <<<"$spec"
        s=$("$py" bench/ops_vs_scipy.py scipy "$dir" "$name" "$op" "$sigma" "$runs")
        t=$("$runner" "$dir/$name.npy" "$dir/$name.$op.tensorwire.npy" --op "$op" --sigma "$sigma" --runs "$runs" | awk '{print $2}')
        same=$("$py" bench/ops_vs_scipy.py compare "$dir" "$name" "$op" || true)
        ratio=$(awk -v s="$s" -v t="$t" 'BEGIN { printf "%.1fx", s / t }')
        printf '%-30s %-28s %10s %14s %8s  %s\n' "$op" "$label" "$s" "$t" "$ratio" "$same"
    done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
