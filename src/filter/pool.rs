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
pub const POOL_MAX_BYTES: usize = 256 << 20;
/// Smallest buffer worth pooling.
pub const POOL_MIN_BYTES: usize = 32 << 20;

static IDLE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// An empty buffer with capacity for `len` bytes: an idle one of a close
/// capacity (at most a quarter larger) if there is one, else a new one.
pub(crate) fn take(len: usize) -> Vec<u8> {
    if len >= POOL_MIN_BYTES {
        let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
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
            // Tests poison reused memory too: a byte the engine forgot to
            // write must not pass for an old result's byte.
            #[cfg(test)]
            {
                buf.resize(len, 0xa5);
                buf.clear();
            }
            return buf;
        }
    }
    super::uninit_buffer(len)
}

/// Puts `buf` back for reuse (or frees it, if it is small or the pool is
/// full).
pub(crate) fn give_back(buf: Vec<u8>) {
    if buf.capacity() < POOL_MIN_BYTES {
        return;
    }
    let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
    let held: usize = idle.iter().map(Vec::capacity).sum();
    if held + buf.capacity() <= POOL_MAX_BYTES {
        idle.push(buf);
    }
}

/// `buf` as `Bytes` that return it to the pool when dropped.
pub(crate) fn into_bytes(buf: Vec<u8>) -> Bytes {
    if buf.capacity() < POOL_MIN_BYTES {
        return Bytes::from(buf);
    }
    Bytes::from_owner(Recycled(buf))
}

/// A result buffer that goes back to the pool when its `Bytes` are dropped.
struct Recycled(Vec<u8>);

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.0));
    }
}

/// Bytes held by idle buffers now.
pub fn idle_bytes() -> usize {
    IDLE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(Vec::capacity)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_result_is_reused_for_the_next_of_its_size() {
        let len = 40 << 20;
        let mut buf = take(len);
        buf.resize(len, 7);
        let ptr = buf.as_ptr();
        let bytes = into_bytes(buf);
        assert_eq!(bytes.len(), len);
        assert!(bytes.iter().all(|&b| b == 7));
        drop(bytes);
        // Other tests share the pool; look for our buffer among a few takes.
        let mut taken = Vec::new();
        let mut found = false;
        for _ in 0..8 {
            let again = take(len);
            found |= again.as_ptr() == ptr;
            taken.push(again);
        }
        assert!(found, "the dropped buffer was not reused");
        // A much smaller request does not take a big buffer.
        let small = take(len / 2);
        assert_ne!(small.as_ptr(), ptr);
    }

    #[test]
    fn small_buffers_are_not_pooled_and_the_pool_is_bounded() {
        give_back(Vec::with_capacity(1024));
        for _ in 0..4 {
            give_back(Vec::with_capacity(POOL_MAX_BYTES / 2));
        }
        assert!(idle_bytes() <= POOL_MAX_BYTES);
    }
}
