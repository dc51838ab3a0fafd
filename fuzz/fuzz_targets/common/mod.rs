//! Shared by every fuzz target: an allocator that aborts on any single
//! allocation over [`MAX_ALLOCATION`], so a size taken from untrusted bytes
//! before a limit check is reported as a crash even without ASan's malloc
//! hooks (which `-malloc_limit_mb` needs), and even when the pages would
//! never be touched (so `-rss_limit_mb` would not notice).

use std::alloc::{GlobalAlloc, Layout, System};

/// Largest single allocation a target may make. The inputs are at most a few
/// hundred KiB and the targets' limits a few MiB; the image header reader
/// lets a decoder use up to 64 MiB of working memory.
pub const MAX_ALLOCATION: usize = 256 << 20;

/// The guard.
pub struct Guard;

unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(Layout::from_size_align(new_size, layout.align()).unwrap_or(layout));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn check(layout: Layout) {
    if layout.size() > MAX_ALLOCATION {
        // No formatting (it could allocate): a fixed message, then abort,
        // which libFuzzer reports as a crash and saves the input.
        use std::io::Write;
        let _ = std::io::stderr()
            .write_all(b"\n==fuzz== allocation over MAX_ALLOCATION (256 MiB) from a fuzz input\n");
        std::process::abort();
    }
}

/// A fuzz target that runs one function of `checks` on each input, under
/// the [`Guard`] allocator: each target's file is this one line after its
/// `mod checks; mod common;`.
macro_rules! fuzz_check {
    ($check:path) => {
        #[global_allocator]
        static GUARD: common::Guard = common::Guard;

        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            $check(data);
        });
    };
}
