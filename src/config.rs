//! Every setting of the servers, as clap structs: each field is a flag with
//! a `TENSORWIRE_*` environment variable and a documented default. There is
//! no other source of configuration. This module owns every flag struct of
//! `serve` and `gateway` and imports nothing from the modules they
//! configure (those import their settings from here).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::tensor::TensorLimits;

/// Settings of `tensorwire serve` (and, where they apply, `gateway`).
#[derive(clap::Args, Clone, Debug)]
pub struct ServeConfig {
    /// Address of the gRPC listener; port 0 picks a free port.
    #[arg(long, env = "TENSORWIRE_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    pub grpc_addr: SocketAddr,

    /// Also serve gRPC on this Unix domain socket (same service, keys and
    /// limits; plain text even with TLS on, since it never leaves the
    /// host). Created with mode 0600, so only this user can connect; a stale
    /// socket left by an earlier run is replaced, any other file is refused.
    /// Clients connect to `unix:PATH`.
    #[arg(long, env = "TENSORWIRE_GRPC_UDS")]
    pub grpc_uds: Option<std::path::PathBuf>,

    /// Address of the HTTP gateway listener; port 0 picks a free port.
    #[arg(long, env = "TENSORWIRE_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,

    /// Seconds that in-flight requests get to finish after SIGINT/SIGTERM.
    #[arg(long, env = "TENSORWIRE_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,

    /// API keys clients must send.
    #[command(flatten)]
    pub auth: ApiKeyFlags,

    /// Compress every gRPC answer with this encoding (gzip or zstd) when the
    /// client accepts it. Off by default: an answer is then compressed only
    /// when the client sent its request compressed, and in every case only
    /// the messages that shrink (tensor data rarely does, and gzip runs at
    /// ~10 MB/s per core).
    #[arg(long, env = "TENSORWIRE_COMPRESS_RESPONSES", value_enum)]
    pub compress_responses: Option<Encoding>,

    /// Size and count limits on requests.
    #[command(flatten)]
    pub limits: Limits,

    /// How long a connection may take to send its headers and body.
    #[command(flatten)]
    pub timeouts: ConnectionTimeouts,

    /// TLS certificate and key (none: plain text).
    #[command(flatten)]
    pub tls: TlsFiles,

    /// The HTTP gateway's settings.
    #[command(flatten)]
    pub gateway: GatewayConfig,
}

/// The API-key flags, the same for `serve` and `gateway`.
#[derive(clap::Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiKeyFlags {
    /// API key clients must send (`authorization: Bearer KEY`); repeat the
    /// flag or separate with commas for several. No key: no authentication.
    #[arg(
        long = "api-key",
        env = "TENSORWIRE_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,

    /// File with more API keys, one per line (`#` starts a comment).
    #[arg(long, env = "TENSORWIRE_API_KEY_FILE")]
    pub api_key_file: Option<PathBuf>,
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

    /// The HTTP gateway's settings.
    #[command(flatten)]
    pub gateway: GatewayConfig,

    /// API keys the gateway requires before reading a request (it forwards
    /// the key upstream either way).
    #[command(flatten)]
    pub auth: ApiKeyFlags,

    /// How long a connection may take to send its headers and body.
    #[command(flatten)]
    pub timeouts: ConnectionTimeouts,

    /// TLS certificate and key (none: plain text).
    #[command(flatten)]
    pub tls: TlsFiles,

    /// Most bytes the gateway's requests together may hold (bodies, decoded
    /// copies, answers held for clients); a request that does not fit gets
    /// 429 with Retry-After (413 if it never could). `serve` has the same
    /// flag, one budget for its service and its gateway.
    #[arg(long, env = "TENSORWIRE_MEMORY_BUDGET", default_value = "8GiB", value_parser = parse_bytes)]
    pub memory_budget: u64,
}

/// Settings of the HTTP gateway (flags of both `serve` and `gateway`).
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Largest HTTP request body; larger bodies get 413. Accepts suffixes
    /// (`64MiB`, `1G`).
    #[arg(long, env = "TENSORWIRE_MAX_BODY_BYTES", default_value = "1GiB", value_parser = parse_bytes)]
    pub max_body_bytes: u64,

    /// `.npy`, image and decoded payloads larger than this go to the
    /// streaming RPCs piece by piece while they arrive; smaller ones are one
    /// unary call. Keep it under the upstream's message limit.
    #[arg(long, env = "TENSORWIRE_STREAM_THRESHOLD_BYTES", default_value = "4MiB", value_parser = parse_bytes)]
    pub stream_threshold_bytes: u64,

    /// Size of the data pieces the gateway sends upstream when streaming
    /// (small pieces of the HTTP body are gathered up to this size); at most
    /// the stream threshold.
    #[arg(long, env = "TENSORWIRE_UPLOAD_CHUNK_BYTES", default_value = "1MiB", value_parser = parse_bytes)]
    pub upload_chunk_bytes: u64,

    /// Most bytes of a streamed filter answer that the gateway holds while
    /// its client has not read them. An HTTP/1 client that sends its whole
    /// body before it reads (as most do) needs room for the answer the
    /// service computes meanwhile, as large as the body: hence the default,
    /// the body limit. Past it the gateway stops reading the answer, so the
    /// service stops reading the upload and such a client's upload stalls
    /// until a timeout ends the request; a client that reads while it
    /// sends streams any size through this much memory. A multipart `.npy`
    /// on the seed route is answered once its body is in, so its whole
    /// answer must fit.
    #[arg(long, env = "TENSORWIRE_ANSWER_BUFFER_BYTES", default_value = "1GiB", value_parser = parse_bytes)]
    pub answer_buffer_bytes: u64,

    /// Seconds a request may take before the gateway answers 504 (the
    /// upstream call gets the same deadline); 0 means no limit.
    #[arg(long, env = "TENSORWIRE_REQUEST_TIMEOUT_SECS", default_value_t = 300)]
    pub request_timeout_secs: u64,

    /// Limits on decoding image bodies of `/v1/gaussian_filter` (the gateway
    /// decodes them into tensors). Not a flag of its own: `serve` sets it
    /// from the service's image limits; `gateway` alone uses the defaults.
    #[arg(skip)]
    pub image_limits: crate::image::ImageLimits,

    /// With API keys set, `/metrics` needs a key too (by default it is open,
    /// like `/healthz`, for scrapers).
    #[arg(long, env = "TENSORWIRE_METRICS_REQUIRE_KEY")]
    pub metrics_require_key: bool,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            max_body_bytes: 1 << 30,
            stream_threshold_bytes: 4 << 20,
            upload_chunk_bytes: 1 << 20,
            answer_buffer_bytes: 1 << 30,
            request_timeout_secs: 300,
            image_limits: crate::image::ImageLimits::default(),
            metrics_require_key: false,
        }
    }
}

impl GatewayConfig {
    /// The per-request deadline, if any.
    pub fn request_timeout(&self) -> Option<Duration> {
        (self.request_timeout_secs > 0).then(|| Duration::from_secs(self.request_timeout_secs))
    }
}

/// Certificate and key of the TLS listeners (both or neither).
#[derive(clap::Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM file with the server certificate chain; with `--tls-key`, both
    /// listeners speak TLS only (gRPC over `https://`, the gateway HTTPS).
    #[arg(long, env = "TENSORWIRE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM file with the private key of `--tls-cert`.
    #[arg(long, env = "TENSORWIRE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// A compression encoding of gRPC messages.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// gzip (RFC 1952), level 6 as tonic and grpc-core use.
    Gzip,
    /// Zstandard at its default level 3: several times faster than gzip.
    Zstd,
}

/// Deadlines on slow peers and the number of connections, for every
/// listener (slowloris defence; each connection holds a fixed amount of
/// memory outside the memory budget, so their number bounds it).
#[derive(clap::Args, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// Seconds a client may take for the TLS handshake and to send the
    /// headers of an HTTP/1 request before it is disconnected.
    #[arg(
        long,
        env = "TENSORWIRE_HEADER_READ_TIMEOUT_SECS",
        default_value_t = 10
    )]
    pub header_read_timeout_secs: u64,

    /// Seconds a request body may stay silent while the server waits for
    /// its next piece; then the request fails (HTTP 408, gRPC
    /// DEADLINE_EXCEEDED) and what it held is freed.
    #[arg(long, env = "TENSORWIRE_BODY_READ_TIMEOUT_SECS", default_value_t = 60)]
    pub body_read_timeout_secs: u64,

    /// Most connections each listener serves at once; further ones wait in
    /// the kernel's accept queue until one closes. 0 means no limit. Each
    /// connection may hold up to its HTTP/2 receive window (16 MiB) and a
    /// few buffers outside the memory budget (see ARCHITECTURE.md, Memory).
    #[arg(long, env = "TENSORWIRE_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
}

impl Default for ConnectionTimeouts {
    fn default() -> Self {
        ConnectionTimeouts {
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 60,
            max_connections: 1024,
        }
    }
}

impl ConnectionTimeouts {
    /// The header (and TLS handshake) deadline.
    pub fn header_read(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs.max(1))
    }

    /// The longest silence of a request body.
    pub fn body_read(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_secs.max(1))
    }
}

impl ServeConfig {
    /// A configuration with every default and both ports 0, for tests and
    /// embedding.
    pub fn ephemeral() -> ServeConfig {
        ServeConfig {
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_uds: None,
            shutdown_grace_secs: 30,
            auth: ApiKeyFlags::default(),
            compress_responses: None,
            limits: Limits::default(),
            timeouts: ConnectionTimeouts::default(),
            tls: TlsFiles::default(),
            gateway: GatewayConfig::default(),
        }
    }

    /// How long shutdown waits for in-flight requests.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// Size and concurrency limits. Byte sizes accept suffixes: `64MiB`, `1G`, ...
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest tensor, in data bytes, accepted by any RPC or route.
    #[arg(long, env = "TENSORWIRE_MAX_TENSOR_BYTES", default_value = "4GiB", value_parser = parse_bytes)]
    pub max_tensor_bytes: u64,

    /// Largest number of axes of a tensor.
    #[arg(long, env = "TENSORWIRE_MAX_RANK", default_value_t = 32)]
    pub max_rank: usize,

    /// Largest single gRPC message (unary calls); larger tensors use the
    /// streaming RPCs.
    #[arg(long, env = "TENSORWIRE_MAX_MESSAGE_BYTES", default_value = "64MiB", value_parser = parse_bytes)]
    pub max_message_bytes: u64,

    /// Size of the data pieces of streamed responses.
    #[arg(long, env = "TENSORWIRE_STREAM_CHUNK_BYTES", default_value = "1MiB", value_parser = parse_bytes)]
    pub stream_chunk_bytes: u64,

    /// Input bytes (halo included) of one slab of a streamed filter: the
    /// server filters a `GaussianFilterStream` in slabs along axis 0 as its
    /// data arrives and sends each slab's result at once. Larger slabs
    /// recompute less halo; smaller ones hold less memory and answer sooner.
    #[arg(long, env = "TENSORWIRE_STREAM_SLAB_BYTES", default_value = "16MiB", value_parser = parse_bytes)]
    pub stream_slab_bytes: u64,

    /// Largest Gaussian kernel radius (taps on each side of the centre).
    #[arg(long, env = "TENSORWIRE_MAX_RADIUS", default_value_t = 100_000)]
    pub max_radius: usize,

    /// Most kernel taps one filter call may compute: elements times
    /// (2·radius + 1), summed over the filtered axes (about a minute of
    /// 2 cores at the default).
    #[arg(
        long,
        env = "TENSORWIRE_MAX_FILTER_TAPS",
        default_value_t = 1_000_000_000_000
    )]
    pub max_filter_taps: u64,

    /// Most computations (filters, statistics) running at once; 0 means the
    /// number of cores. Further requests wait for a slot.
    #[arg(long, env = "TENSORWIRE_MAX_CONCURRENT", default_value_t = 0)]
    pub max_concurrent: usize,

    /// Most tensor bytes all requests together may hold (inputs being
    /// received plus results); a request that does not fit is refused with
    /// RESOURCE_EXHAUSTED.
    #[arg(long, env = "TENSORWIRE_MEMORY_BUDGET", default_value = "8GiB", value_parser = parse_bytes)]
    pub memory_budget: u64,

    /// Most pixels (width × height) of an image that is decoded (filtering
    /// an image); size queries read headers only and have no pixel limit.
    #[arg(long, env = "TENSORWIRE_MAX_IMAGE_PIXELS", default_value_t = 1 << 27)]
    pub max_image_pixels: u64,

    /// Most bytes decoding one image may allocate.
    #[arg(long, env = "TENSORWIRE_MAX_IMAGE_DECODE_BYTES", default_value = "1GiB", value_parser = parse_bytes)]
    pub max_image_decode_bytes: u64,

    /// Most bytes of a streamed image buffered while looking for its header.
    #[arg(long, env = "TENSORWIRE_MAX_IMAGE_HEADER_BYTES", default_value = "16MiB", value_parser = parse_bytes)]
    pub max_image_header_bytes: u64,

    /// Longest gRPC call in seconds, streams included (a client's shorter
    /// `grpc-timeout` wins); then DEADLINE_EXCEEDED. 0 means no limit.
    #[arg(
        long,
        env = "TENSORWIRE_GRPC_REQUEST_TIMEOUT_SECS",
        default_value_t = 3600
    )]
    pub grpc_request_timeout_secs: u64,

    /// Most bytes of tensor data the tensor store keeps (PutTensor,
    /// ApplyKeep, `POST /v1/tensors`): its own share of memory, apart from
    /// --memory-budget, so the process holds at most the two together. A
    /// full store refuses new tensors; it never evicts one that has not
    /// expired. 0 turns the store off (every put is refused).
    #[arg(long, env = "TENSORWIRE_STORE_BYTES", default_value = "4GiB", value_parser = parse_bytes)]
    pub store_bytes: u64,

    /// Most bytes of stored tensors one API key may hold (0: as much as
    /// --store-bytes).
    #[arg(long, env = "TENSORWIRE_STORE_BYTES_PER_KEY", default_value = "0", value_parser = parse_bytes)]
    pub store_bytes_per_key: u64,

    /// Most tensors the store keeps.
    #[arg(long, env = "TENSORWIRE_STORE_MAX_TENSORS", default_value_t = 10_000)]
    pub store_max_tensors: usize,

    /// Seconds a stored tensor may go unused before it is dropped; every
    /// use restarts its clock.
    #[arg(long, env = "TENSORWIRE_STORE_TTL_SECS", default_value_t = 600)]
    pub store_ttl_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_tensor_bytes: 4 << 30,
            max_rank: 32,
            max_message_bytes: 64 << 20,
            stream_chunk_bytes: 1 << 20,
            stream_slab_bytes: 16 << 20,
            max_radius: 100_000,
            max_filter_taps: 1_000_000_000_000,
            max_concurrent: 0,
            memory_budget: 8 << 30,
            max_image_pixels: 1 << 27,
            max_image_decode_bytes: 1 << 30,
            max_image_header_bytes: 16 << 20,
            grpc_request_timeout_secs: 3600,
            store_bytes: 4 << 30,
            store_bytes_per_key: 0,
            store_max_tensors: 10_000,
            store_ttl_secs: 600,
        }
    }
}

impl Limits {
    /// The server's cap on a gRPC call's duration, if any.
    pub fn grpc_request_timeout(&self) -> Option<Duration> {
        (self.grpc_request_timeout_secs > 0)
            .then(|| Duration::from_secs(self.grpc_request_timeout_secs))
    }

    /// The tensor part of the limits.
    pub fn tensor(&self) -> TensorLimits {
        TensorLimits {
            max_rank: self.max_rank,
            max_bytes: self.max_tensor_bytes,
        }
    }

    /// The image part of the limits.
    pub fn image(&self) -> crate::image::ImageLimits {
        crate::image::ImageLimits {
            max_pixels: self.max_image_pixels,
            max_decode_bytes: self.max_image_decode_bytes,
            max_header_bytes: usize::try_from(self.max_image_header_bytes).unwrap_or(usize::MAX),
            ..crate::image::ImageLimits::default()
        }
    }

    /// Concurrent computations, with 0 resolved to the number of cores.
    pub fn concurrency(&self) -> usize {
        if self.max_concurrent == 0 {
            std::thread::available_parallelism().map_or(2, usize::from)
        } else {
            self.max_concurrent
        }
    }

    /// Streamed response piece size, at least 1 byte and at most a message.
    pub fn chunk_bytes(&self) -> usize {
        self.stream_chunk_bytes.clamp(1, self.max_message_bytes / 2) as usize
    }
}

/// Parses a byte size: a number with an optional `K`, `M`, `G`, `T` suffix
/// (powers of 1024; `KiB`, `KB`, `k` are read the same way).
///
/// Hand-written rather than a crate's, because none reads the same inputs
/// the same way: `bytesize` and `byte-unit` read `KB`, `MB`, `GB` as powers
/// of 1000 (here they have always meant 1024, so `--max-body-bytes 1GB`
/// would shrink by 7 %), and they, like `parse-size` (whose binary mode
/// comes closest), also accept fractions such as `1.5GiB`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a byte size such as 1048576, 64MiB or 1G"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => return Err(format!("unknown byte unit {other:?} in {text:?}")),
    };
    number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_byte_sizes_with_units() {
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("1G"), Ok(1 << 30));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert!(parse_bytes("12 parsecs").is_err());
        assert!(parse_bytes("99999999999T").is_err());
    }

    /// The syntax the README documents: units of 1024 however spelled,
    /// any case, an optional space, no fractions.
    #[test]
    fn byte_sizes_read_as_the_readme_says() {
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("64KiB"), Ok(64 << 10));
        assert_eq!(parse_bytes("64 kb"), Ok(64 << 10));
        assert_eq!(parse_bytes("1GB"), Ok(1 << 30));
        assert_eq!(parse_bytes("2t"), Ok(2 << 40));
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert!(parse_bytes("1.5GiB").is_err());
        assert!(parse_bytes("").is_err());
    }

    #[test]
    fn defaults_of_the_flags_equal_limits_default() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeConfig,
        }
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.serve.limits, Limits::default());
        assert_eq!(cli.serve.grpc_addr.port(), 50051);
        assert_eq!(cli.serve.compress_responses, None);
    }
}
