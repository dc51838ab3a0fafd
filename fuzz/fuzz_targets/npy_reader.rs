//! Fuzz target `npy_reader`: see `checks::npy_reader` and fuzz/README.md.
#![no_main]

#[allow(dead_code)]
mod checks;
#[macro_use]
mod common;

fuzz_check!(checks::npy_reader);
