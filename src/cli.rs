//! The command line: `tensorwire serve` and the client commands. Errors are
//! printed as one line and turn into a non-zero exit code.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::ServeConfig;

/// NumPy-style tensors and images over gRPC, with an HTTP gateway.
#[derive(Parser, Debug)]
#[command(name = "tensorwire", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gRPC service and the HTTP gateway in one process.
    Serve(ServeConfig),
    /// Run the HTTP gateway alone, in front of a remote gRPC server.
    Gateway(GatewayCommand),
}

/// Settings of `tensorwire gateway`.
#[derive(clap::Args, Debug)]
pub struct GatewayCommand {
    /// URL of the gRPC server to call, e.g. http://10.0.0.5:50051.
    #[arg(long, env = "TENSORWIRE_UPSTREAM")]
    pub upstream: String,

    /// Address of the HTTP listener; port 0 picks a free port.
    #[arg(long, env = "TENSORWIRE_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: std::net::SocketAddr,

    #[command(flatten)]
    pub gateway: crate::gateway::GatewayConfig,
}

/// Runs a parsed command line to completion.
pub fn run(cli: Cli) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(config) => serve(config).await,
            Command::Gateway(command) => gateway(command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let server = crate::server::start(&config).await?;
    crate::shutdown::cancel_on_signal(server.shutdown_token());
    server.wait().await
}

async fn gateway(command: GatewayCommand) -> anyhow::Result<()> {
    let channel = tonic::transport::Endpoint::from_shared(command.upstream.clone())
        .with_context(|| format!("bad upstream URL {:?}", command.upstream))?
        .connect_lazy();
    let listener = tokio::net::TcpListener::bind(command.http_addr)
        .await
        .with_context(|| format!("cannot bind the HTTP address {}", command.http_addr))?;
    tracing::info!(http_addr = %listener.local_addr()?, upstream = %command.upstream, "tensorwire gateway listening");
    let shutdown = tokio_util::sync::CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    crate::gateway::serve(
        listener,
        crate::gateway::Upstream::new(channel),
        command.gateway,
        shutdown,
    )
    .await
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
