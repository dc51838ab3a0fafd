//! Closing a connection without destroying the peer's unread answer.
//!
//! When a socket is closed while bytes from the peer lie unread in it, or
//! arrive after it (an HTTP/2 client acknowledges the last DATA frames with
//! WINDOW_UPDATEs as it reads them), the kernel answers with a reset: it
//! drops what it had not sent yet, and the peer's read fails with
//! `ConnectionReset` before the end of an answer the server wrote in full.
//! A graceful shutdown hit this in CI (a streamed filter answer cut short).
//! So a connection that is done sends its FIN first, then reads and
//! discards what the peer still sends until the peer closes too, for at
//! most [`LINGER`]: what web servers call a lingering close. Written here
//! because neither hyper nor tokio offers it (`SO_LINGER` is about the
//! other direction: waiting for unsent data, not draining received data).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Longest a closed connection drains what its peer still sends.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// A served TCP connection that closes with a lingering close when dropped.
pub(crate) struct LingeringTcp {
    /// Present until the connection is dropped.
    tcp: Option<TcpStream>,
}

impl LingeringTcp {
    /// Wraps an accepted connection.
    pub(crate) fn new(tcp: TcpStream) -> LingeringTcp {
        LingeringTcp { tcp: Some(tcp) }
    }

    fn tcp(self: Pin<&mut Self>) -> Pin<&mut TcpStream> {
        Pin::new(
            self.get_mut()
                .tcp
                .as_mut()
                .expect("the stream is present until the connection is dropped"),
        )
    }
}

impl AsyncRead for LingeringTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.tcp().poll_read(cx, buf)
    }
}

impl AsyncWrite for LingeringTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.tcp().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.tcp().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.as_ref().is_some_and(|tcp| tcp.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.tcp().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.tcp().poll_shutdown(cx)
    }
}

impl Drop for LingeringTcp {
    fn drop(&mut self) {
        let Some(mut tcp) = self.tcp.take() else {
            return;
        };
        // Outside a runtime (the process is ending) the socket just closes.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            // Errors only mean the peer is gone already: nothing to protect.
            let _ = tcp.shutdown().await;
            let mut sink = [0u8; 4096];
            let _ = tokio::time::timeout(LINGER, async {
                while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn an_answer_written_in_full_arrives_in_full_though_the_request_was_not_read() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = vec![7u8; 8 << 20];
        let served = answer.clone();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = LingeringTcp::new(tcp);
            // The client's bytes stay unread: closing a plain socket now
            // would reset the connection and drop the unsent answer.
            tokio::time::sleep(Duration::from_millis(100)).await;
            conn.write_all(&served).await.unwrap();
            drop(conn);
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"bytes the server never reads")
            .await
            .unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        server.await.unwrap();
        assert_eq!(got.len(), answer.len());
        assert!(got == answer);
    }
}
