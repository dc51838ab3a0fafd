//! Starting a real tensorwire server on port 0 for the integration tests,
//! and small helpers to talk to it as a client would.
#![allow(dead_code)]

pub mod gateway;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

/// `tensorwire serve` in a process of its own (so its memory can be read),
/// killed when dropped.
pub struct ServerProcess(Child);

impl ServerProcess {
    /// Owns `child`: killed when dropped.
    pub fn from_child(child: Child) -> ServerProcess {
        ServerProcess(child)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Peak resident memory of process `pid` in MiB (`VmHWM`).
pub fn peak_rss_mib(pid: u32) -> u64 {
    peak_rss_kib(pid).expect("the process's VmHWM") / 1024
}

/// Peak resident memory of process `pid` in KiB (`VmHWM`), `None` once it
/// has exited (a zombie's status has no memory lines).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Starts `tensorwire serve` on port 0 with `args` added, and reads the
/// gRPC address it logs: the process and `http://ADDRESS`.
pub async fn spawn_server_process(args: &[&str]) -> (ServerProcess, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tensorwire"))
        .args([
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--http-addr",
            "127.0.0.1:0",
        ])
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tensorwire serve");
    let (found, address) = std::sync::mpsc::channel::<String>();
    // Threads read both pipes to the end, so the server never blocks on a
    // full pipe, and report the first logged gRPC address.
    let pipes: [Box<dyn std::io::Read + Send>; 2] = [
        Box::new(child.stdout.take().unwrap()),
        Box::new(child.stderr.take().unwrap()),
    ];
    for pipe in pipes {
        let found = found.clone();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(pipe)) {
                let Ok(line) = line else { break };
                let plain = strip_ansi(&line);
                if let Some(rest) = plain.split("grpc_addr=").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = found.send(addr.to_owned());
                }
            }
        });
    }
    let server = ServerProcess(child);
    let addr = address
        .recv_timeout(Duration::from_secs(30))
        .expect("the server did not log its address");
    (server, format!("http://{addr}"))
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
