//! Compression of gRPC answers, decided per call.
//!
//! The policy: an answer is compressed only when someone chose it —
//! - the client, by sending its request compressed (`grpc-encoding: gzip` or
//!   `zstd`): the answer uses that encoding;
//! - the operator, with `--compress-responses gzip|zstd`: every answer uses
//!   it (a compressed request's own encoding still wins);
//!
//! and only when the client's `grpc-accept-encoding` lists that encoding.
//! Merely *accepting* compression is not a choice: grpc-core (Python, Ruby,
//! C++, C#, PHP) lists gzip on every call, and gzip of tensor data runs at
//! ~10 MB/s per core while saving almost nothing — answers reached Python at
//! 10 MB/s when tonic compressed for every client that accepted it (#15).
//!
//! Even then, a message is sent compressed only when it shrinks; otherwise it
//! goes out as is, with the gRPC message flag 0 (the protocol allows mixing
//! compressed and plain messages under one `grpc-encoding`).
//!
//! Why by hand: tonic's encoder compresses every message of a call once an
//! encoding is picked (its `SingleMessageCompressionOverride` exists only for
//! a unary answer as a whole), and it picks the encoding from the client's
//! `grpc-accept-encoding` alone. So tonic's `send_compressed` is not used;
//! this layer reads the 5-byte gRPC message prefixes of the answer body and
//! compresses each message itself, with the same `flate2`/`zstd` crates tonic
//! uses, off the async runtime for all but small messages.

use bytes::{BufMut, Bytes, BytesMut};
use futures::Stream;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use super::{Answer, GrpcBody, GrpcService, WrapCall};

/// Size of the gRPC message prefix: compressed flag, big-endian length.
const PREFIX: usize = 5;

/// Messages up to this size are compressed on the runtime thread (tens of
/// microseconds); larger ones on the blocking pool.
const INLINE_BYTES: usize = 4 << 10;

pub use crate::config::Encoding;

impl Encoding {
    /// The encoding's name in `grpc-encoding` headers.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Zstd => "zstd",
        }
    }

    fn from_name(name: &str) -> Option<Encoding> {
        [Encoding::Gzip, Encoding::Zstd]
            .into_iter()
            .find(|e| name.trim().eq_ignore_ascii_case(e.name()))
    }

    /// `data` compressed, or `None` when that would not make it smaller.
    pub fn compress_if_smaller(self, data: &[u8]) -> Option<Vec<u8>> {
        use std::io::Write;
        let compressed = match self {
            Encoding::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(data.len() / 2),
                    flate2::Compression::new(6),
                );
                encoder.write_all(data).ok()?;
                encoder.finish().ok()?
            }
            Encoding::Zstd => zstd::bulk::compress(data, zstd::DEFAULT_COMPRESSION_LEVEL).ok()?,
        };
        (compressed.len() < data.len()).then_some(compressed)
    }
}

/// The encoding of the answer to a request with these headers, by the policy
/// above; `operator` is `--compress-responses`.
pub fn answer_encoding(headers: &HeaderMap, operator: Option<Encoding>) -> Option<Encoding> {
    let chosen = headers
        .get("grpc-encoding")
        .and_then(|v| v.to_str().ok())
        .and_then(Encoding::from_name)
        .or(operator)?;
    let accepted = headers
        .get_all("grpc-accept-encoding")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|name| Encoding::from_name(name) == Some(chosen));
    accepted.then_some(chosen)
}

/// Compresses the messages of an answer when the policy says so (put around
/// the routes by a [`CallLayer`](super::CallLayer)).
#[derive(Clone, Copy, Debug)]
pub struct CompressAnswers {
    operator: Option<Encoding>,
}

impl CompressAnswers {
    /// Compresses answers by the policy above; `operator` is the encoding of
    /// `--compress-responses`, if set.
    pub fn new(operator: Option<Encoding>) -> CompressAnswers {
        CompressAnswers { operator }
    }
}

impl WrapCall for CompressAnswers {
    fn call<S: GrpcService, B: GrpcBody>(&self, inner: &mut S, request: Request<B>) -> Answer<S> {
        let encoding = answer_encoding(request.headers(), self.operator);
        let answer = inner.call(request.map(tonic::body::Body::new));
        Box::pin(async move {
            let response = answer.await?;
            // A trailers-only answer (a refusal) has no messages to compress.
            let trailers_only = response.headers().contains_key("grpc-status");
            Ok(match encoding {
                Some(encoding) if !trailers_only => compressed(response, encoding),
                _ => response,
            })
        })
    }
}

fn compressed(
    response: Response<tonic::body::Body>,
    encoding: Encoding,
) -> Response<tonic::body::Body> {
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .insert("grpc-encoding", HeaderValue::from_static(encoding.name()));
    let body = tonic::body::Body::new(StreamBody::new(compress_messages(body, encoding)));
    Response::from_parts(parts, body)
}

/// The frames of `body` with each whole gRPC message compressed when it
/// shrinks; trailers pass through.
fn compress_messages(
    mut body: tonic::body::Body,
    encoding: Encoding,
) -> impl Stream<Item = Result<Frame<Bytes>, tonic::Status>> + Send {
    async_stream::try_stream! {
        let mut pending = BytesMut::new();
        while let Some(frame) = body.frame().await {
            match frame?.into_data() {
                Ok(data) => {
                    pending.extend_from_slice(&data);
                    while let Some(message) = next_message(&mut pending) {
                        yield Frame::data(compress_message(message, encoding).await?);
                    }
                }
                Err(trailers) => {
                    // tonic ends its messages before the trailers; anything
                    // left is passed on as it came.
                    if !pending.is_empty() {
                        yield Frame::data(pending.split().freeze());
                    }
                    yield trailers;
                }
            }
        }
        if !pending.is_empty() {
            yield Frame::data(pending.split().freeze());
        }
    }
}

/// Splits the first whole message (prefix included) off `pending`.
fn next_message(pending: &mut BytesMut) -> Option<Bytes> {
    let prefix: [u8; PREFIX] = pending.get(..PREFIX)?.try_into().ok()?;
    let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    (pending.len() >= PREFIX + len).then(|| pending.split_to(PREFIX + len).freeze())
}

/// One message (prefix included), compressed if it was not and shrinks.
async fn compress_message(message: Bytes, encoding: Encoding) -> Result<Bytes, tonic::Status> {
    if message[0] != 0 {
        return Ok(message);
    }
    if message.len() <= INLINE_BYTES {
        return Ok(compress_framed(message, encoding));
    }
    tokio::task::spawn_blocking(move || compress_framed(message, encoding))
        .await
        .map_err(|_| tonic::Status::internal("compressing an answer failed"))
}

fn compress_framed(message: Bytes, encoding: Encoding) -> Bytes {
    let Some(compressed) = encoding.compress_if_smaller(&message[PREFIX..]) else {
        return message;
    };
    let mut framed = BytesMut::with_capacity(PREFIX + compressed.len());
    framed.put_u8(1);
    // Smaller than the message, whose length fitted in 32 bits.
    framed.put_u32(compressed.len() as u32);
    framed.put_slice(&compressed);
    framed.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn accepting_compression_is_not_asking_for_it() {
        let grpc_core = headers(&[("grpc-accept-encoding", "identity,deflate,gzip")]);
        assert_eq!(answer_encoding(&grpc_core, None), None);
    }

    #[test]
    fn a_compressed_request_gets_its_own_encoding_back() {
        let sent = headers(&[
            ("grpc-encoding", "zstd"),
            ("grpc-accept-encoding", "gzip, zstd"),
        ]);
        assert_eq!(answer_encoding(&sent, None), Some(Encoding::Zstd));
        assert_eq!(
            answer_encoding(&sent, Some(Encoding::Gzip)),
            Some(Encoding::Zstd)
        );
    }

    #[test]
    fn the_operator_encoding_needs_the_client_to_accept_it() {
        let gzip_only = headers(&[("grpc-accept-encoding", "identity,deflate,gzip")]);
        assert_eq!(
            answer_encoding(&gzip_only, Some(Encoding::Gzip)),
            Some(Encoding::Gzip)
        );
        assert_eq!(answer_encoding(&gzip_only, Some(Encoding::Zstd)), None);
        assert_eq!(
            answer_encoding(&HeaderMap::new(), Some(Encoding::Gzip)),
            None
        );
    }

    #[test]
    fn messages_are_split_on_their_prefixes() {
        let mut pending = BytesMut::from(&[0, 0, 0, 0, 2, 7, 8, 0, 0, 0, 0, 3, 1][..]);
        assert_eq!(
            &next_message(&mut pending).unwrap()[..],
            &[0, 0, 0, 0, 2, 7, 8]
        );
        assert_eq!(next_message(&mut pending), None);
        assert_eq!(pending.len(), 6);
    }

    #[test]
    fn only_messages_that_shrink_are_compressed() {
        let framed = |payload: &[u8]| {
            let mut m = BytesMut::new();
            m.put_u8(0);
            m.put_u32(payload.len() as u32);
            m.put_slice(payload);
            m.freeze()
        };
        let zeros = framed(&[0; 10_000]);
        let small = compress_framed(zeros.clone(), Encoding::Gzip);
        assert_eq!(small[0], 1);
        assert!(small.len() < zeros.len());
        let mut noise = vec![0u8; 10_000];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for byte in &mut noise {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        let noise = framed(&noise);
        assert_eq!(compress_framed(noise.clone(), Encoding::Zstd), noise);
    }
}
