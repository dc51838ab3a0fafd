//! The integration suites, one module each, built as one test binary.
//!
//! Each suite talks to a real server (port 0) as a client would. They were
//! separate `tests/*.rs` binaries, each linking the crate and its
//! dependencies again: about a minute of build and 85 MB of disk apiece, a
//! third of CI's time. Run one suite with
//! `cargo test --test integration filter_stream::`.

mod common;

mod abandoned_work;
mod answer_compression;
mod auth;
mod bad_inputs;
mod cli;
mod describe;
mod error_details;
mod exactness;
mod faults;
mod filter_rpc;
mod filter_stream;
mod fuzz_regressions;
mod gateway_native;
mod gateway_routing;
mod gateway_seed;
mod hardening;
mod image_rpc;
mod kserve;
mod limits;
mod memory_budget;
mod ops;
mod overload;
mod pages;
mod store;
mod unix_socket;
