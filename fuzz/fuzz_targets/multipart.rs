//! Fuzz target `multipart`: see `checks::multipart` and fuzz/README.md.
#![no_main]

#[allow(dead_code)]
mod checks;
mod common;

#[global_allocator]
static GUARD: common::Guard = common::Guard;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::multipart(data);
});
