//! The command line: `tensorwire serve` and the client commands. Errors are
//! printed as one line and turn into a non-zero exit code.

use std::process::ExitCode;

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
