//! Fuzz target `tensor_validation`: see `checks::tensor_validation` and fuzz/README.md.
#![no_main]

#[allow(dead_code)]
mod checks;
#[macro_use]
mod common;

fuzz_check!(checks::tensor_validation);
