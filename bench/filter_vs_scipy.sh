#!/usr/bin/env bash
# Times scipy.ndimage and tensorwire's engine on the same inputs in one run,
# checks the outputs are byte-equal, prints the ratios and the load average.
#
#   bench/filter_vs_scipy.sh        gaussian_filter: 1024x768x3 int32 at
#                                   sigma 0.5 (the seed workload), 4096x4096
#                                   float64 at sigma 2
#   bench/filter_vs_scipy.sh ops    the Gaussian family (gaussian_filter as
#                                   the baseline, gaussian_filter1d,
#                                   gaussian_laplace,
#                                   gaussian_gradient_magnitude): the seed
#                                   workload and 2048x2048 float32 at sigma 8
#   (from the crate root)
#
# Creates target/bench-venv with numpy + scipy (pinned to the versions the
# golden cases were made with) unless TENSORWIRE_BENCH_PYTHON names a Python
# that has them. NumPy's AVX-512 features are disabled as for the golden
# cases: with them NumPy's exp differs from libm's in the last bit, and so
# would scipy's kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
export NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"

# shellcheck source=bench/bench_python.sh
source bench/bench_python.sh

cargo build --release --quiet --example filter_bench
runner=target/release/examples/filter_bench
dir=target/bench-data
mkdir -p "$dir"
"$py" bench/filter_vs_scipy.py prepare "$dir"

if [[ "${1:-}" == ops ]]; then
    ops="gaussian_filter gaussian_filter1d gaussian_laplace gaussian_gradient_magnitude"
    specs=("seed 0.5 ${RUNS_SEED:-15} 1024x768x3-int32-sigma0.5" "f32 8.0 ${RUNS_BIG:-5} 2048x2048-float32-sigma8")
else
    ops="gaussian_filter"
    specs=("seed 0.5 ${RUNS_SEED:-30} 1024x768x3-int32-sigma0.5" "big 2.0 ${RUNS_BIG:-7} 4096x4096-float64-sigma2")
fi

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %-28s %10s %14s %8s  %s\n' operation workload "scipy ms" "tensorwire ms" ratio output
for op in $ops; do
    for spec in "${specs[@]}"; do
        read -r name sigma runs label <<<"$spec"
        s=$("$py" bench/filter_vs_scipy.py scipy "$dir" "$name" "$sigma" "$runs" "$op")
        t=$("$runner" "$dir/$name.npy" "$dir/$name.$op.tensorwire.npy" --op "$op" --sigma "$sigma" --runs "$runs" | awk '{print $2}')
        same=$("$py" bench/filter_vs_scipy.py compare "$dir" "$name" "$op" || true)
        ratio=$(awk -v s="$s" -v t="$t" 'BEGIN { printf "%.1fx", s / t }')
        printf '%-30s %-28s %10s %14s %8s  %s\n' "$op" "$label" "$s" "$t" "$ratio" "$same"
    done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
