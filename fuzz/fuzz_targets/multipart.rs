//! Fuzz target `multipart`: see `checks::multipart` and fuzz/README.md.
#![no_main]

#[allow(dead_code)]
mod checks;
#[macro_use]
mod common;

fuzz_check!(checks::multipart);
