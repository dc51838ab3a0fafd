//! Fuzz target `json_list`: see `checks::json_list` and fuzz/README.md.
#![no_main]

#[allow(dead_code)]
mod checks;
#[macro_use]
mod common;

fuzz_check!(checks::json_list);
