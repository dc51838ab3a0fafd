//! Fuzz target `kserve_rest`: see `checks::kserve_rest` and fuzz/README.md.
#![no_main]

#[allow(dead_code)]
mod checks;
mod common;

#[global_allocator]
static GUARD: common::Guard = common::Guard;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::kserve_rest(data);
});
