//! The instruction set the hot loops run with, detected once at run time:
//! `simd` picks its compiled loops by it, `region` and `avx512` their
//! AVX-512 kernels.

/// Which compiled version of the hot loops runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Simd {
    Plain,
    Avx2,
    Avx512,
}

/// The best the CPU offers, or the one named by `TENSORWIRE_FILTER_SIMD`
/// (`plain`, `avx2`, `avx512`; never above what the CPU offers), so tests
/// can check every version against the golden cases. Chosen once.
pub(super) fn simd() -> Simd {
    static LEVEL: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        let best = if std::arch::is_x86_feature_detected!("avx512f") {
            Simd::Avx512
        } else if std::arch::is_x86_feature_detected!("avx2") {
            Simd::Avx2
        } else {
            Simd::Plain
        };
        #[cfg(not(target_arch = "x86_64"))]
        let best = Simd::Plain;
        let asked = match std::env::var("TENSORWIRE_FILTER_SIMD").as_deref() {
            Ok("plain") => Simd::Plain,
            Ok("avx2") => Simd::Avx2,
            _ => Simd::Avx512,
        };
        best.min(asked)
    })
}
