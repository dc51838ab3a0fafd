//! Measures what this CPU can do at best for the filter's arithmetic, to
//! turn "the target is below the arithmetic floor" into a measurement:
//!
//! - the clock, from a chain of dependent integer additions (one cycle
//!   each on every x86 core of the last decade);
//! - the throughput of independent `f64` vector additions (AVX-512 when the
//!   CPU has it, else AVX2), on one thread and on every core at once.
//!
//! scipy's correlation needs, per output and pass, `2r` additions that no
//! fused multiply-add may absorb (bit-exactness), so the additions alone
//! bound the engine from below: it prints that bound for the two workloads
//! of issue #3 next to the measured rates.
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
    println!("floor from additions alone: image {image:.3} ms, float64 4096² {float64:.2} ms");
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    eprintln!("fp_peak measures x86-64 only");
}
