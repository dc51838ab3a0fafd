//! Fuzz target `json_list`: see `checks::json_list` and fuzz/README.md.
#![no_main]

#[allow(dead_code)]
mod checks;
mod common;

#[global_allocator]
static GUARD: common::Guard = common::Guard;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::json_list(data);
});
