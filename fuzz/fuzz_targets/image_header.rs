//! Fuzz target `image_header`: see `checks::image_header` and fuzz/README.md.
#![no_main]

#[allow(dead_code)]
mod checks;
#[macro_use]
mod common;

fuzz_check!(checks::image_header);
