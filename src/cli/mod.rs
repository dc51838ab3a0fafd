//! The command line: `tensorwire serve` and the client commands. Errors are
//! printed as one line and turn into a non-zero exit code.

use std::process::ExitCode;

mod client_commands;
mod store_commands;
mod transfer;

use anyhow::Context;
use clap::{Parser, Subcommand};

pub use crate::config::GatewayCommand;
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
    /// Describe a .npy file or a stored tensor (@ID): dtype, shape, size,
    /// min/max/mean.
    Describe(DescribeCommand),
    /// Filter a .npy file, an image or a stored tensor (@ID) on the server:
    /// gaussian_filter, or the operation --op names.
    Filter(FilterCommand),
    /// Print the width and height of images.
    Size(SizeCommand),
    /// Store a .npy file's tensor (or an image's) on the server and print
    /// its handle as JSON: {"id", "dtype", "shape", "nbytes", "expires_in_ms"}.
    Put(PutCommand),
    /// Write a stored tensor to a .npy file (or a PNG).
    Get(GetCommand),
    /// Delete a stored tensor and print its handle as JSON.
    Delete(DeleteCommand),
    /// List this API key's stored tensors, one JSON handle a line, least
    /// recently used first.
    Tensors(ClientArgs),
}

/// How the client commands reach the server.
#[derive(clap::Args, Debug, Clone)]
pub struct ClientArgs {
    /// URL of the tensorwire gRPC server (https:// for TLS).
    #[arg(
        long,
        env = "TENSORWIRE_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,

    /// API key, sent as `authorization: Bearer KEY`.
    #[arg(long, env = "TENSORWIRE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Give up on a call after this many seconds.
    #[arg(long, env = "TENSORWIRE_TIMEOUT_SECS")]
    pub timeout_secs: Option<u64>,

    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `tensorwire describe`.
#[derive(clap::Args, Debug)]
pub struct DescribeCommand {
    /// The .npy file, or @ID for a tensor in the server's store (a file
    /// whose name starts with @ is written ./@name).
    pub file: std::path::PathBuf,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `tensorwire filter`.
#[derive(clap::Args, Debug)]
pub struct FilterCommand {
    /// Input: a .npy file, an image (PNG, JPEG, ...), or @ID for a tensor
    /// in the server's store (`tensorwire put` prints the ID).
    pub input: std::path::PathBuf,
    /// Output: .npy, or .png for an image. Required unless --keep.
    #[arg(short, long, required_unless_present = "keep")]
    pub output: Option<std::path::PathBuf>,
    /// Keep the result in the server's store instead of writing a file, and
    /// print its handle as JSON (a file input is stored for the call and
    /// deleted after it).
    #[arg(long, conflicts_with = "output")]
    pub keep: bool,
    /// The operation (scipy.ndimage's name).
    #[arg(
        long,
        default_value = "gaussian_filter",
        value_parser = clap::builder::PossibleValuesParser::new(crate::ops::ALL.iter().map(|op| op.name))
    )]
    pub op: String,
    /// Standard deviation: one value, or one per filtered axis (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        allow_hyphen_values = true
    )]
    pub sigma: Vec<f64>,
    /// Derivative order per axis (0..3): one value or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub order: Vec<u32>,
    /// Boundary mode: reflect, constant, nearest, mirror, wrap, grid-constant,
    /// grid-mirror, grid-wrap; one or comma-separated per axis.
    #[arg(long, value_delimiter = ',')]
    pub mode: Vec<String>,
    /// Fill value for the constant modes.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub cval: f64,
    /// Kernel half-width in sigmas (scipy's default 4.0).
    #[arg(long)]
    pub truncate: Option<f64>,
    /// Kernel radius per axis, overriding truncate.
    #[arg(long, value_delimiter = ',')]
    pub radius: Vec<u32>,
    /// Axes to filter (negative counts from the end); default all, or the
    /// two spatial axes of an image.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub axes: Vec<i32>,
    /// The one axis of gaussian_filter1d (negative counts from the end;
    /// scipy's default -1).
    #[arg(long, allow_hyphen_values = true)]
    pub axis: Option<i32>,
    /// Which float64 exp builds the kernels: libm (NumPy without AVX-512)
    /// or numpy-avx512 (a default NumPy on a CPU with AVX-512F).
    #[arg(long, default_value = "libm")]
    pub exp: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `tensorwire size`.
#[derive(clap::Args, Debug)]
pub struct SizeCommand {
    /// Image files.
    #[arg(required = true)]
    pub images: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `tensorwire put`.
#[derive(clap::Args, Debug)]
pub struct PutCommand {
    /// The .npy file (sent from disk in pieces, so it may be larger than
    /// memory), or an image (PNG, JPEG, ...).
    pub file: std::path::PathBuf,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `tensorwire get`.
#[derive(clap::Args, Debug)]
pub struct GetCommand {
    /// The stored tensor's id, as `put` printed it (a leading @ is allowed).
    #[arg(value_parser = stored_tensor_id)]
    pub id: String,
    /// Output: .npy (written piece by piece; bfloat16 widened to float32),
    /// or .png.
    #[arg(short, long)]
    pub output: std::path::PathBuf,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `tensorwire delete`.
#[derive(clap::Args, Debug)]
pub struct DeleteCommand {
    /// The stored tensor's id, as `put` printed it (a leading @ is allowed).
    #[arg(value_parser = stored_tensor_id)]
    pub id: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// A stored tensor's id on the command line: `ID` or `@ID`, as the inputs
/// of `filter` and `describe` name it.
fn stored_tensor_id(text: &str) -> Result<String, String> {
    let id = text.strip_prefix('@').unwrap_or(text);
    if id.is_empty() {
        return Err("an empty id".to_owned());
    }
    Ok(id.to_owned())
}

/// Runs a parsed command line to completion.
pub fn run(cli: Cli) -> ExitCode {
    // Client commands print their answers; only the servers log.
    if matches!(cli.command, Command::Serve(_) | Command::Gateway(_)) {
        init_logging();
        crate::allocator::limit_arenas();
    }
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
            Command::Describe(command) => client_commands::describe(command).await,
            Command::Filter(command) => client_commands::filter(command).await,
            Command::Size(command) => client_commands::size(command).await,
            Command::Put(command) => store_commands::put(command).await,
            Command::Get(command) => store_commands::get(command).await,
            Command::Delete(command) => store_commands::delete(command).await,
            Command::Tensors(args) => store_commands::tensors(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes as one line, `a: b: c`; a server's refusal as
/// its gRPC code's name and its message (`NOT_FOUND: no stored tensor ...`),
/// without the status's own rendering of the same message.
fn error_line(error: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in error.chain() {
        if let Some(status) = cause
            .downcast_ref::<crate::client::ClientError>()
            .and_then(crate::client::ClientError::status)
        {
            let code = crate::status::code_name(status.code());
            parts.push(format!("{code}: {}", status.message()));
            break;
        }
        parts.push(cause.to_string());
    }
    parts.join(": ")
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let server = crate::server::start(&config).await?;
    crate::shutdown::cancel_on_signal(server.shutdown_token());
    server.wait().await
}

async fn gateway(command: GatewayCommand) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(command.http_addr)
        .await
        .with_context(|| format!("cannot bind the HTTP address {}", command.http_addr))?;
    let start = crate::gateway::GatewayStart {
        api_keys: crate::auth::ApiKeys::load(
            &command.auth.api_keys,
            command.auth.api_key_file.as_deref(),
        )?,
        service_metrics: None,
        tls: command.tls.server_config(crate::listen::ALPN_HTTP)?,
        upstream: command.upstream,
        config: command.gateway,
        timeouts: command.timeouts,
        budget: crate::budget::MemoryBudget::new(command.memory_budget),
    };
    tracing::info!(http_addr = %listener.local_addr()?, upstream = %start.upstream, "tensorwire gateway listening");
    let shutdown = tokio_util::sync::CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    crate::gateway::start(listener, start, shutdown)?.await
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
