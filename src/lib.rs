//! tensorwire: NumPy-style tensors and images over gRPC, with a thin HTTP
//! gateway. See ARCHITECTURE.md for the map of the code.

pub mod auth;
pub mod budget;
pub mod cli;
pub mod client;
pub mod config;
pub mod describe;
pub mod filter;
pub mod gateway;
pub mod grpc_layers;
pub mod image;
pub mod kserve;
pub mod listen;
pub mod npy;
pub mod proto;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod tensor;
pub(crate) mod wire;
