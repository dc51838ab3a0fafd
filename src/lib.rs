//! tensorwire: NumPy-style tensors and images over gRPC, with a thin HTTP
//! gateway. See ARCHITECTURE.md for the map of the code.
//!
//! The library's public API is what a program that talks to tensorwire, or
//! embeds it, needs: the Rust [`client`], the wire types and their
//! conversions ([`proto`], and [`kserve::pb`] for the Open Inference
//! Protocol), tensors, `.npy` files and JSON lists ([`tensor`], [`npy`], [`json`]), the engine
//! ([`filter`], [`describe`], [`image`]), and starting a server ([`config`],
//! [`server`], [`gateway`] for the gateway alone). Everything else (the
//! service's handlers, middleware, listeners, the memory budget, API keys) is
//! internal to the crate.
#![warn(missing_docs)]

pub(crate) mod allocator;
pub(crate) mod auth;
pub(crate) mod body;
pub(crate) mod budget;
/// The `tensorwire` binary's command line. Public only so that `main.rs`
/// (a separate crate) can run it; not part of the library's API.
#[doc(hidden)]
pub mod cli;
pub mod client;
pub mod config;
pub mod describe;
pub mod filter;
pub mod gateway;
pub(crate) mod grpc_layers;
pub mod image;
pub mod json;
pub mod kserve;
pub(crate) mod listen;
pub mod npy;
pub mod ops;
pub mod proto;
pub mod server;
pub(crate) mod service;
pub(crate) mod shutdown;
pub(crate) mod status;
pub mod store;
pub mod tensor;
#[cfg(test)]
mod test_values;
pub(crate) mod wire;
