//! Recycled result buffers.
//!
//! A fresh multi-megabyte buffer costs the kernel a zero-filled page per
//! page on its first write: for a 128 MiB float64 result that was about 40%
//! of the whole filter's time. Results leave the engine as `Bytes` whose
//! owner puts the buffer back here when the last reference is dropped (after
//! the answer has been sent), so the next result of a similar size is
//! written into memory that is already mapped.
//!
//! Bounded: at most [`POOL_MAX_BYTES`] of idle buffers are kept (memory
//! outside the request budget, stated in the README). Buffers under
//! [`POOL_MIN_BYTES`] are left to the allocator: glibc serves them from its
//! heap once one of that size has been freed (its mmap threshold rises up to
//! 32 MiB), and measured, pooling them was slower (seed workload 3.75 ms
//! pooled vs 2.71 ms not); above 32 MiB glibc maps fresh pages every time,
//! and pooling helps (4096² float64: 32.7 ms vs 42–66 ms).

use std::sync::Mutex;

use bytes::Bytes;

/// Most bytes of idle buffers kept for reuse.
pub const POOL_MAX_BYTES: usize = 512 << 20;
/// Smallest buffer worth pooling.
pub const POOL_MIN_BYTES: usize = 32 << 20;
/// Smallest buffer pooled for the slab path (`filter::slabs`): a streamed
/// filter allocates a slab and its result (16 MiB each by default) for
/// every slab, from whichever thread of the runtime or the blocking pool
/// runs that stage. Left to glibc, a freed slab stays in the arena of the
/// thread that allocated it (sizes above its mmap threshold raise the
/// threshold, so later ones come from the arenas, one per thread, up to 8
/// per core), and a 512 MiB stream measured a server peak RSS of 300 to
/// 470 MiB (154 MiB with `MALLOC_ARENA_MAX=1`, 144 MiB with a fixed mmap
/// threshold). Recycled here, a call reuses the same few buffers.
pub const SLAB_POOL_MIN_BYTES: usize = 1 << 20;

/// Idle buffers, at most `max` bytes of them.
struct Pool {
    idle: Mutex<Vec<Vec<u8>>>,
    max: usize,
}

static POOL: Pool = Pool::new(POOL_MAX_BYTES);

impl Pool {
    const fn new(max: usize) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            max,
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self, len: usize, min: usize) -> Vec<u8> {
        if len >= min {
            let mut idle = self.idle();
            let best = idle
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len && b.capacity() - len <= len / 4)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            if let Some(i) = best {
                let mut buf = idle.swap_remove(i);
                drop(idle);
                buf.clear();
                // Tests poison reused memory too: a byte the engine forgot
                // to write must not pass for an old result's byte.
                #[cfg(test)]
                {
                    buf.resize(len, 0xa5);
                    buf.clear();
                }
                return buf;
            }
            // No idle buffer fits: the idle ones are of other sizes, likely
            // of a workload that has passed. Free them before allocating, so
            // idle and fresh memory are never both held for a size change.
            idle.clear();
        }
        super::uninit_buffer(len)
    }

    fn give_back(&self, buf: Vec<u8>, min: usize) {
        if buf.capacity() < min {
            return;
        }
        let mut idle = self.idle();
        let held: usize = idle.iter().map(Vec::capacity).sum();
        if held + buf.capacity() <= self.max {
            idle.push(buf);
        }
    }

    fn idle_bytes(&self) -> usize {
        self.idle().iter().map(Vec::capacity).sum()
    }
}

/// An empty buffer with capacity for `len` bytes: an idle one of a close
/// capacity (at most a quarter larger) if there is one, else a new one (and
/// the idle buffers, all of other sizes, are freed). Only buffers of at
/// least `min` bytes are pooled ([`POOL_MIN_BYTES`], or
/// [`SLAB_POOL_MIN_BYTES`] for the slab path); smaller ones are new.
pub(crate) fn take_from(len: usize, min: usize) -> Vec<u8> {
    POOL.take(len, min)
}

/// Puts `buf` back for reuse (or frees it, if it is under `min` bytes or
/// the pool is full).
pub(crate) fn give_back_from(buf: Vec<u8>, min: usize) {
    POOL.give_back(buf, min);
}

/// `buf` as `Bytes` that return it to the pool (floor `min`, as in
/// [`take_from`]) when dropped.
pub(crate) fn into_bytes_from(buf: Vec<u8>, min: usize) -> Bytes {
    if buf.capacity() < min {
        return Bytes::from(buf);
    }
    Bytes::from_owner(Recycled(buf, min))
}

/// A result buffer that goes back to the pool when its `Bytes` are dropped,
/// and the pool's floor it was taken with.
struct Recycled(Vec<u8>, usize);

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        give_back_from(std::mem::take(&mut self.0), self.1);
    }
}

/// Bytes held by idle buffers now.
pub fn idle_bytes() -> usize {
    POOL.idle_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_buffer_is_reused_for_a_close_size_and_others_are_evicted() {
        let pool = Pool::new(256 << 20);
        let len = 80 << 20;
        let mut buf = pool.take(len, POOL_MIN_BYTES);
        buf.resize(len, 7);
        let ptr = buf.as_ptr();
        pool.give_back(buf, POOL_MIN_BYTES);
        assert_eq!(pool.idle_bytes(), len);
        let again = pool.take(len - 4096, POOL_MIN_BYTES);
        assert_eq!(again.as_ptr(), ptr, "not reused");
        assert!(again.is_empty());
        pool.give_back(again, POOL_MIN_BYTES);
        // A much smaller size does not take it, and evicts it.
        let small = pool.take(len / 2, POOL_MIN_BYTES);
        assert_ne!(small.as_ptr(), ptr);
        assert_eq!(pool.idle_bytes(), 0);
    }

    #[test]
    fn small_buffers_are_not_pooled_and_the_pool_is_bounded() {
        let pool = Pool::new(256 << 20);
        pool.give_back(Vec::with_capacity(1024), POOL_MIN_BYTES);
        assert_eq!(pool.idle_bytes(), 0);
        for _ in 0..4 {
            pool.give_back(Vec::with_capacity(100 << 20), POOL_MIN_BYTES);
        }
        assert_eq!(pool.idle_bytes(), 200 << 20);
    }

    #[test]
    fn results_as_bytes_go_back_to_the_pool() {
        let before = idle_bytes();
        let mut buf = Vec::with_capacity(33 << 20);
        buf.push(1u8);
        let bytes = into_bytes_from(buf, POOL_MIN_BYTES);
        assert_eq!(&bytes[..], &[1]);
        drop(bytes);
        assert!(idle_bytes() >= before.min(POOL_MAX_BYTES - (33 << 20)));
    }
}
