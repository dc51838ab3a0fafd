//! Starting a real tensorwire server on port 0 for the integration tests,
//! and small helpers to talk to it as a client would.
#![allow(dead_code)]

use std::net::SocketAddr;

use tensorwire::config::ServeConfig;
use tensorwire::proto::pb::tensor_service_client::TensorServiceClient;
use tensorwire::server::RunningServer;
use tonic::transport::Channel;

/// A server on ephemeral loopback ports, stopped when dropped.
pub struct TestServer {
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    server: Option<RunningServer>,
}

impl TestServer {
    /// A gRPC client connected to the server, with no message size cap on
    /// the client side (the server's limits are what the tests exercise).
    pub async fn client(&self) -> TensorServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.grpc_addr))
            .unwrap()
            .connect()
            .await
            .expect("connect to the test server");
        TensorServiceClient::new(channel)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.shutdown_token().cancel();
        }
    }
}

/// Starts a server with default settings on port 0.
pub async fn start_server() -> TestServer {
    start_server_with(ServeConfig::ephemeral()).await
}

/// Starts a server with `config` (its addresses should use port 0).
pub async fn start_server_with(config: ServeConfig) -> TestServer {
    let server = tensorwire::server::start(&config)
        .await
        .expect("server starts");
    TestServer {
        grpc_addr: server.grpc_addr,
        http_addr: server.http_addr,
        server: Some(server),
    }
}
