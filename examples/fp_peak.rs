//! Measures what this CPU can do at best for the filter's arithmetic, to
//! turn "the target is below the arithmetic floor" into a measurement:
//!
//! - the clock, from a chain of dependent integer additions (one cycle
//!   each on every x86 core of the last decade);
//! - the throughput of independent `f64` vector additions (AVX-512 when the
//!   CPU has it, else AVX2), on one thread and on every core at once.
//!
//! - the throughput of an idealised radius-2 pass (the image workload's):
//!   per output vector one load, the `2r` additions and `r + 1`
//!   multiplications of scipy's order, a truncation (the int32 round trip)
//!   and one store, on data already in L1, the source rows held in a ring of
//!   registers, with no boundaries, conversions or shuffles; once as
//!   written, once with one of the two pair sums computed as
//!   `fma(a, 1.0, b)` (the same bits as `a + b`, but on the multiply pipes,
//!   which evens the load of the separate add and multiply pipes of Zen 4).
//!   No real pass can do less than the faster of the two.
//!
//! scipy's correlation needs, per output and pass, `2r` additions that no
//! fused multiply-add may merge with a multiplication (bit-exactness), and
//! `r + 1` multiplications. The example prints the time of the additions
//! alone on the add pipes for the two workloads of issue #3, and the
//! idealised passes' time for the image. An addition can also run on the
//! multiply pipes as an FMA by one, so the additions alone are not a floor;
//! the balanced idealised pass, which uses every pipe, is.
//!
//! usage: cargo run --release --example fp_peak

use std::time::Instant;

use rayon::prelude::*;

/// Iterations of each measuring loop.
const ITERS: u64 = 200_000_000;

/// Cycles per second: a chain of `ITERS × 8` dependent one-cycle additions.
#[cfg(target_arch = "x86_64")]
fn clock_hz() -> f64 {
    let start = Instant::now();
    let mut x: u64 = 0;
    let mut n = ITERS;
    // SAFETY: register arithmetic only.
    unsafe {
        std::arch::asm!(
            "2:",
            "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
            "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
            "dec {n}",
            "jnz 2b",
            x = inout(reg) x,
            n = inout(reg) n,
            options(nomem, nostack),
        );
    }
    assert_eq!((x, n), (ITERS * 8, 0));
    (ITERS * 8) as f64 / start.elapsed().as_secs_f64()
}

/// Lanes of `f64` per vector addition, and vector additions per second on
/// one thread: 12 independent accumulators, enough to hide the latency.
#[cfg(target_arch = "x86_64")]
fn vector_adds_per_second() -> (usize, f64) {
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        (8, unsafe { adds_avx512() })
    } else {
        // SAFETY: every x86-64 CPU this engine targets has AVX2; the
        // example is not run elsewhere.
        (4, unsafe { adds_avx2() })
    }
}

/// `ITERS` independent vector additions in 12 chains (more than latency ×
/// pipes on any current core), written in assembly so that nothing but the
/// additions and the loop counter runs.
macro_rules! add_loop {
    ($name:ident, $feature:literal, $reg:literal) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $name() -> f64 {
            let mut n = ITERS / 12;
            let start = Instant::now();
            // SAFETY: register arithmetic only; the clobbered vector
            // registers are declared.
            unsafe {
                std::arch::asm!(
                    concat!("vxorpd ", $reg, "12, ", $reg, "12, ", $reg, "12"),
                    "2:",
                    concat!("vaddpd ", $reg, "0, ", $reg, "0, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "1, ", $reg, "1, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "2, ", $reg, "2, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "3, ", $reg, "3, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "4, ", $reg, "4, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "5, ", $reg, "5, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "6, ", $reg, "6, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "7, ", $reg, "7, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "8, ", $reg, "8, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "9, ", $reg, "9, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "10, ", $reg, "10, ", $reg, "12"),
                    concat!("vaddpd ", $reg, "11, ", $reg, "11, ", $reg, "12"),
                    "dec {n}",
                    "jnz 2b",
                    n = inout(reg) n,
                    out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
                    out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
                    out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
                    out("xmm12") _,
                    options(nomem, nostack),
                );
            }
            let seconds = start.elapsed().as_secs_f64();
            assert_eq!(n, 0);
            (ITERS / 12 * 12) as f64 / seconds
        }
    };
}

add_loop!(adds_avx512, "avx512f", "zmm");

/// Vectors in the idealised pass's L1-resident buffers (16 KiB each).
const IDEAL_VECTORS: usize = 256;

/// Output vectors per second of the idealised radius-2 pass on one thread
/// (see the module doc); `None` without AVX-512.
#[cfg(target_arch = "x86_64")]
fn ideal_pass_vectors_per_second(balanced: bool) -> Option<f64> {
    if !std::arch::is_x86_feature_detected!("avx512f") {
        return None;
    }
    let src: Vec<f64> = (0..IDEAL_VECTORS * 8).map(|i| (i % 251) as f64).collect();
    let mut dst = vec![0.0f64; IDEAL_VECTORS * 8];
    let rounds = ITERS as usize / 8 / IDEAL_VECTORS;
    let start = Instant::now();
    for _ in 0..rounds {
        // SAFETY: the CPU has AVX-512F; both buffers hold IDEAL_VECTORS vectors.
        unsafe { ideal_pass(&src, &mut dst, balanced) };
    }
    let seconds = start.elapsed().as_secs_f64();
    // The outputs depend on the inputs: check one, so nothing is elided.
    let k = [0.786, 0.106, 0.000_26];
    let want = (src[16] * k[0] + (src[0] + src[32]) * k[2] + (src[8] + src[24]) * k[1]).trunc();
    assert_eq!(std::hint::black_box(&dst)[0], want);
    Some((rounds * (IDEAL_VECTORS - 4)) as f64 / seconds)
}

/// One idealised radius-2 pass over `src` (the module doc): output vector
/// `i` from source vectors `i .. i + 4`, in scipy's order for a symmetric
/// kernel, truncated as an int32 round trip would. `balanced` computes the
/// outer pair sum with a fused multiply-add by one.
///
/// # Safety
/// The CPU must have AVX-512F; `dst` as long as `src`, both whole vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn ideal_pass(src: &[f64], dst: &mut [f64], balanced: bool) {
    use std::arch::x86_64::*;
    assert_eq!(src.len(), dst.len());
    let vectors = src.len() / 8;
    let (k0, k1, k2) = (
        _mm512_set1_pd(0.786),
        _mm512_set1_pd(0.106),
        _mm512_set1_pd(0.000_26),
    );
    // 1.0 hidden from the compiler, which would turn the FMA back into an add.
    let one = _mm512_set1_pd(std::hint::black_box(1.0));
    // SAFETY: every index below is under `vectors`.
    let load = |i: usize| unsafe { _mm512_loadu_pd(src.as_ptr().add(8 * i)) };
    let (mut a, mut b, mut c, mut d) = (load(0), load(1), load(2), load(3));
    for i in 0..vectors - 4 {
        let e = load(i + 4);
        let mut acc = _mm512_mul_pd(c, k0);
        let outer = if balanced {
            _mm512_fmadd_pd(a, one, e)
        } else {
            _mm512_add_pd(a, e)
        };
        acc = _mm512_add_pd(acc, _mm512_mul_pd(outer, k2));
        acc = _mm512_add_pd(acc, _mm512_mul_pd(_mm512_add_pd(b, d), k1));
        let t = _mm512_roundscale_pd::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(acc);
        // SAFETY: i < vectors.
        unsafe { _mm512_storeu_pd(dst.as_mut_ptr().add(8 * i), t) };
        (a, b, c, d) = (b, c, d, e);
    }
}
add_loop!(adds_avx2, "avx2", "ymm");

/// Scalar `f64` additions one output of one pass needs: `2r` (the folded
/// pairs, then the accumulation), `r` the kernel radius.
fn floor_ms(elements: f64, passes: f64, radius: f64, lanes: usize, adds_per_s: f64) -> f64 {
    elements * passes * 2.0 * radius / lanes as f64 / adds_per_s * 1e3
}

#[cfg(target_arch = "x86_64")]
fn main() {
    let threads = rayon::current_num_threads();
    let hz = clock_hz();
    let (lanes, one) = vector_adds_per_second();
    let all: f64 = (0..threads)
        .into_par_iter()
        .map(|_| vector_adds_per_second().1)
        .sum();
    println!("clock (dependent integer adds): {:.2} GHz", hz / 1e9);
    println!(
        "f64 vector adds ({lanes} lanes): one thread {:.2} G/s = {:.2} per cycle; {threads} threads {:.2} G/s",
        one / 1e9,
        one / hz,
        all / 1e9
    );
    // sigma 0.5, truncate 4: radius 2; sigma 2: radius 8.
    let image = floor_ms(1024.0 * 768.0 * 3.0, 3.0, 2.0, lanes, all);
    let float64 = floor_ms(4096.0 * 4096.0, 2.0, 8.0, lanes, all);
    println!(
        "additions alone on the add pipes: image {image:.3} ms, float64 4096² {float64:.2} ms"
    );
    for (balanced, how) in [(false, "as written"), (true, "one pair sum as an FMA by 1")] {
        let ideal: Option<f64> = (0..threads)
            .into_par_iter()
            .map(|_| ideal_pass_vectors_per_second(balanced))
            .sum();
        if let Some(ideal) = ideal {
            let vectors = 1024.0 * 768.0 * 3.0 / 8.0;
            println!(
                "idealised radius-2 passes ({how}): {:.2} G output vectors/s on {threads} threads = \
                 {:.2} cycles per vector per thread; image (3 passes) {:.3} ms",
                ideal / 1e9,
                hz * threads as f64 / ideal,
                3.0 * vectors / ideal * 1e3
            );
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    eprintln!("fp_peak measures x86-64 only");
}
