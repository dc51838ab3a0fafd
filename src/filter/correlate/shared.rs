//! The one pointer type that the tasks of a pass share across threads.

/// A raw pointer into one buffer that the tasks of a pass share across
/// rayon's threads: `Shared<*const u8>` for the input, [`SharedOut`] for
/// the output. Bare raw pointers are neither `Send` nor `Sync`; this one is,
/// because of how the tiling ([`super::filter_component`]) uses it:
///
/// - the input is only read, never written, while a pass runs;
/// - every task writes (and, in place, reads) only the elements of its own
///   region of the output; the regions of one pass never overlap, and the
///   passes run one after the other.
///
/// Whoever builds one promises that: the buffer outlives the pass, and it
/// holds what [`super::Component`] says.
#[derive(Clone, Copy)]
pub(crate) struct Shared<P>(pub(crate) P);

/// The output of a pass, written by many tasks in disjoint regions.
pub(crate) type SharedOut = Shared<*mut u8>;

// SAFETY: see the type's documentation: read-only while shared.
unsafe impl Send for Shared<*const u8> {}
// SAFETY: as above.
unsafe impl Sync for Shared<*const u8> {}
// SAFETY: see the type's documentation: disjoint regions, one pass at a time.
unsafe impl Send for Shared<*mut u8> {}
// SAFETY: as above.
unsafe impl Sync for Shared<*mut u8> {}

impl<P: Copy> Shared<P> {
    /// The pointer. A method, so that closures capture the wrapper (which
    /// is `Send`) and not the bare pointer field.
    pub(crate) fn ptr(self) -> P {
        self.0
    }
}

impl Shared<*mut u8> {
    /// The `len` `f64` from `f64` element `start` of the buffer, as a slice.
    ///
    /// # Safety
    /// The buffer holds at least `start + len` `f64`, is aligned for `f64`,
    /// and no one else touches those elements while the slice lives (the
    /// task owns that region).
    pub(crate) unsafe fn f64_slice<'a>(self, start: usize, len: usize) -> &'a mut [f64] {
        // SAFETY: forwarded from the caller.
        unsafe { std::slice::from_raw_parts_mut(self.0.cast::<f64>().add(start), len) }
    }
}
