//! Fuzz target `kserve_rest`: see `checks::kserve_rest` and fuzz/README.md.
#![no_main]

#[allow(dead_code)]
mod checks;
#[macro_use]
mod common;

fuzz_check!(checks::kserve_rest);
