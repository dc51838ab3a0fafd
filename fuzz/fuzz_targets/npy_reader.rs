//! Fuzz target `npy_reader`: see `checks::npy_reader` and fuzz/README.md.
#![no_main]

#[allow(dead_code)]
mod checks;
mod common;

#[global_allocator]
static GUARD: common::Guard = common::Guard;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::npy_reader(data);
});
