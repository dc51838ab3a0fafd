//! The C library allocator's arenas for a server process.
//!
//! glibc gives each thread that allocates while the others hold their
//! arenas an arena of its own, up to 8 per core, and a buffer freed into an
//! arena stays there for the next allocation of that arena (its mmap
//! threshold rises up to 32 MiB as large blocks are freed, so buffers of up
//! to 32 MiB come from the arenas). Memory freed by one request then sits in
//! an arena that the next request's thread may not use: measured on 2 cores
//! with a 1 GiB budget and 12 clients of every kind (`bench/soak.py`, 3
//! minutes each), the peak RSS was 1,504 MiB with glibc's defaults and 911
//! MiB with one arena per core, at the same speed (seed workload and 2048²
//! float32 σ 8 over gRPC, medians of 30, within 5 %). A fixed 4 MiB mmap
//! threshold as well gave 847 MiB but made those calls 1.3–1.5× slower
//! (every result over 4 MiB a fresh mapping), so it is not set.
//!
//! Written by hand: `mallopt` is one call of the C library (through `libc`);
//! no allocator crate changes glibc's own settings.

/// Limits glibc's arenas to one per core (at least 2). Call before the
/// runtime starts its threads; a no-op on other C libraries.
pub(crate) fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes the allocator's settings; it is safe
        // to call at any time, and is called before other threads start.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}
