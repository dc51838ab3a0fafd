//! Serving an HTTP service (the gRPC routes or the gateway's router) on a
//! TCP listener, in plain text or TLS, with the connection-level defences:
//! a deadline on the TLS handshake and on HTTP/1 request headers (slowloris),
//! HTTP/2 keep-alive pings that drop dead peers, a graceful shutdown that
//! stops accepting at once and lets open requests finish, and a lingering
//! close (`linger`) so that closing never cuts an answer already written.
//!
//! Both listeners go through this one loop (hyper-util's connection builder
//! with tokio-rustls), rather than `tonic::transport::Server` and
//! `axum::serve`, so that the settings and the TLS code are the same for
//! both, and so that layers wrapped around the gRPC routes see every answer
//! (tonic's own server answers an expired `grpc-timeout` outside the user's
//! layers, as `CANCELLED`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

pub use crate::config::TlsFiles;

mod linger;

impl TlsFiles {
    /// The rustls settings for these files, offering the given ALPN
    /// protocols; `None` when TLS is off.
    pub fn server_config(
        &self,
        alpn: &[&[u8]],
    ) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
        let (Some(cert_path), Some(key_path)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let cert_pem = std::fs::read(cert_path)
            .with_context(|| format!("cannot read the TLS certificate {}", cert_path.display()))?;
        let key_pem = std::fs::read(key_path)
            .with_context(|| format!("cannot read the TLS key {}", key_path.display()))?;
        server_config_from_pem(&cert_pem, &key_pem, alpn).map(Some)
    }
}

/// rustls server settings from a PEM certificate chain and PEM private key.
pub fn server_config_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    alpn: &[&[u8]],
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .context("the TLS certificate file is not a PEM certificate chain")?;
    anyhow::ensure!(
        !certs.is_empty(),
        "the TLS certificate file holds no certificate"
    );
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .context("the TLS key file holds no PEM private key")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match or are unusable")?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// ALPN protocols of the gRPC listener.
pub const ALPN_GRPC: &[&[u8]] = &[b"h2"];
/// ALPN protocols of the HTTP gateway.
pub const ALPN_HTTP: &[&[u8]] = &[b"h2", b"http/1.1"];

/// How a listener treats its connections.
#[derive(Clone, Debug)]
pub struct ConnectionSettings {
    /// TLS settings, or `None` for plain text.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Speak HTTP/2 only (gRPC); otherwise HTTP/1.1 and HTTP/2.
    pub http2_only: bool,
    /// Longest time for the TLS handshake and for the headers of an HTTP/1
    /// request to arrive; slower peers are disconnected.
    pub header_read_timeout: Duration,
    /// HTTP/2 stream flow-control window.
    pub stream_window: u32,
    /// HTTP/2 connection flow-control window.
    pub connection_window: u32,
    /// Largest HTTP/2 frame the peer may send.
    pub max_frame_size: u32,
    /// Most connections served at once (0: no limit); the listener stops
    /// accepting while it has this many.
    pub max_connections: usize,
}

impl ConnectionSettings {
    /// Plain-text settings with large HTTP/2 windows (one multi-megabyte
    /// tensor crosses without waiting for a window update every 64 KiB) and
    /// 1 MiB frames (a 1 MiB data piece is one frame, not 64).
    pub fn new(http2_only: bool, header_read_timeout: Duration) -> ConnectionSettings {
        ConnectionSettings {
            tls: None,
            http2_only,
            header_read_timeout,
            stream_window: 8 << 20,
            connection_window: 16 << 20,
            max_frame_size: 1 << 20,
            max_connections: 0,
        }
    }

    fn builder(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .initial_stream_window_size(self.stream_window)
            .initial_connection_window_size(self.connection_window)
            .max_frame_size(self.max_frame_size)
            // Dead peers (a cable pulled mid-upload) are found within a
            // minute and their requests dropped, which frees what they held.
            .keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(20));
        if self.http2_only {
            builder.http2_only()
        } else {
            builder
        }
    }
}

/// A listening socket the serving loop accepts connections from: TCP, or a
/// Unix domain socket for clients on the same host.
pub(crate) trait Listener: Send + 'static {
    /// A connection.
    type Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;
    /// The next connection and a name for its peer (for logs).
    fn accept_connection(&self)
    -> impl Future<Output = std::io::Result<(Self::Io, String)>> + Send;
}

impl Listener for TcpListener {
    type Io = linger::LingeringTcp;

    async fn accept_connection(&self) -> std::io::Result<(Self::Io, String)> {
        let (tcp, peer) = self.accept().await?;
        let _ = tcp.set_nodelay(true);
        Ok((linger::LingeringTcp::new(tcp), peer.to_string()))
    }
}

impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    async fn accept_connection(&self) -> std::io::Result<(Self::Io, String)> {
        let (stream, _) = self.accept().await?;
        Ok((stream, "unix socket".to_owned()))
    }
}

/// Binds a Unix domain socket at `path` that only this user can connect to
/// (mode 0600, set before it accepts anything). A socket file left by an
/// earlier run is replaced; any other file at `path` is refused, never
/// removed.
pub(crate) fn bind_unix(path: &std::path::Path) -> anyhow::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(existing) = std::fs::symlink_metadata(path) {
        anyhow::ensure!(
            existing.file_type().is_socket(),
            "{} exists and is not a socket; refusing to replace it",
            path.display()
        );
        std::fs::remove_file(path)?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .map_err(|e| anyhow::anyhow!("cannot bind the Unix socket {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves `service` on `listener` until `shutdown` is cancelled; then stops
/// accepting, lets open connections finish their requests, and returns.
pub(crate) async fn serve<L, S, B>(
    listener: L,
    service: S,
    settings: ConnectionSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<()>
where
    L: Listener,
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = Arc::new(settings.builder());
    let acceptor = settings.tls.clone().map(TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let slots = (settings.max_connections > 0).then(|| {
        Arc::new(tokio::sync::Semaphore::new(
            settings
                .max_connections
                .min(tokio::sync::Semaphore::MAX_PERMITS),
        ))
    });
    loop {
        // A connection slot first: at the limit, connections wait in the
        // kernel's accept queue, holding nothing here.
        let slot = match &slots {
            None => None,
            Some(slots) => tokio::select! {
                () = shutdown.cancelled() => break,
                slot = slots.clone().acquire_owned() => slot.ok(),
            },
        };
        let (tcp, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept_connection() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off rather
                    // than spin, and keep serving the connections we have.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(service.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let handshake_timeout = settings.header_read_timeout;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let io = match acceptor {
                None => Either::Left(tcp),
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => Either::Right(tls),
                        Ok(Err(error)) => {
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            if let Err(error) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
