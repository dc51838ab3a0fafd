//! Which answers the server compresses, read from the raw gRPC frames of the
//! real server's HTTP/2 responses: none for a client that merely accepts
//! gzip (as grpc-core does on every call), the request's own encoding for a
//! compressed request, the operator's `--compress-responses` encoding, and
//! never a message that does not shrink.

use crate::common;

use std::io::Read;

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use prost::Message;
use tensorwire::config::Encoding;
use tensorwire::config::ServeConfig;
use tensorwire::proto::pb::{self, gaussian_filter_chunk::Part};
use tonic::codec::CompressionEncoding;
use tower::ServiceExt;

/// What grpc-core (Python grpcio) sends on every call.
const GRPC_CORE_ACCEPT: &str = "identity,deflate,gzip";

/// One gRPC message as it was on the wire.
#[derive(Debug)]
struct WireMessage {
    compressed: bool,
    payload: Bytes,
}

/// A raw answer: its `grpc-encoding` header, messages and `grpc-status`.
#[derive(Debug)]
struct RawAnswer {
    encoding: Option<String>,
    messages: Vec<WireMessage>,
    status: Option<String>,
}

impl RawAnswer {
    /// The payloads, decompressed with the answer's encoding where flagged.
    fn decoded(&self) -> Vec<Vec<u8>> {
        self.messages
            .iter()
            .map(|m| {
                if !m.compressed {
                    return m.payload.to_vec();
                }
                match self.encoding.as_deref() {
                    Some("gzip") => {
                        let mut out = Vec::new();
                        flate2::read::GzDecoder::new(&m.payload[..])
                            .read_to_end(&mut out)
                            .unwrap();
                        out
                    }
                    Some("zstd") => zstd::decode_all(&m.payload[..]).unwrap(),
                    other => panic!("a compressed message under grpc-encoding {other:?}"),
                }
            })
            .collect()
    }
}

fn frame(payload: &[u8], encoding: Option<Encoding>) -> Bytes {
    let (flag, payload) = match encoding {
        None => (0, payload.to_vec()),
        Some(Encoding::Gzip) => {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(payload).unwrap();
            (1, e.finish().unwrap())
        }
        Some(Encoding::Zstd) => (1, zstd::encode_all(payload, 1).unwrap()),
    };
    let mut out = BytesMut::new();
    out.put_u8(flag);
    out.put_u32(payload.len() as u32);
    out.put_slice(&payload);
    out.freeze()
}

/// Sends already framed messages to `method` with these extra headers and
/// returns the answer exactly as it came over HTTP/2.
async fn raw_call(
    server: &common::TestServer,
    method: &str,
    body: Bytes,
    headers: &[(&'static str, &'static str)],
) -> RawAnswer {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.grpc_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("/tensorwire.v1.TensorService/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(tonic::body::Body::new(Full::new(body)))
        .unwrap();
    let response = channel.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let encoding = response
        .headers()
        .get("grpc-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    let collected = response.into_body().collect().await.unwrap();
    let status = collected
        .trailers()
        .and_then(|t| t.get("grpc-status"))
        .map(|v| v.to_str().unwrap().to_owned());
    let mut data = collected.to_bytes();
    let mut messages = Vec::new();
    while !data.is_empty() {
        let flag = data[0];
        let len = u32::from_be_bytes(data[1..5].try_into().unwrap()) as usize;
        let message = data.split_to(5 + len);
        messages.push(WireMessage {
            compressed: flag == 1,
            payload: message.slice(5..),
        });
    }
    RawAnswer {
        encoding,
        messages,
        status,
    }
}

/// A GaussianFilter request whose answer compresses well (a constant image).
fn constant_request() -> pb::GaussianFilterRequest {
    pb::GaussianFilterRequest {
        tensor: Some(pb::Tensor {
            dtype: pb::DType::DtypeInt32 as i32,
            shape: vec![256, 256],
            data: Bytes::from(7i32.to_le_bytes().repeat(256 * 256)),
        }),
        params: Some(pb::GaussianParams {
            sigma: vec![1.0],
            ..Default::default()
        }),
    }
}

/// The answer the constant request must get, decoded.
fn expect_constant(payload: &[u8]) {
    let tensor = pb::Tensor::decode(payload).unwrap();
    assert_eq!(tensor.shape, vec![256, 256]);
    assert_eq!(&tensor.data[..], &7i32.to_le_bytes().repeat(256 * 256)[..]);
}

/// 1 MiB of bytes that no compressor shrinks.
fn noise() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

async fn server_compressing(encoding: Option<Encoding>) -> common::TestServer {
    let mut config = ServeConfig::ephemeral();
    config.compress_responses = encoding;
    common::start_server_with(config).await
}

#[tokio::test]
async fn a_client_that_only_accepts_gzip_gets_plain_answers() {
    let server = common::start_server().await;
    let body = frame(&constant_request().encode_to_vec(), None);
    let answer = raw_call(
        &server,
        "GaussianFilter",
        body,
        &[("grpc-accept-encoding", GRPC_CORE_ACCEPT)],
    )
    .await;
    assert_eq!(answer.status.as_deref(), Some("0"));
    assert_eq!(answer.encoding, None);
    assert_eq!(answer.messages.len(), 1);
    assert!(!answer.messages[0].compressed);
    expect_constant(&answer.decoded()[0]);
    server.stop().await;
}

#[tokio::test]
async fn a_compressed_request_gets_an_answer_in_its_encoding() {
    let server = common::start_server().await;
    for (encoding, name) in [(Encoding::Gzip, "gzip"), (Encoding::Zstd, "zstd")] {
        let body = frame(&constant_request().encode_to_vec(), Some(encoding));
        let answer = raw_call(
            &server,
            "GaussianFilter",
            body,
            &[
                ("grpc-encoding", name),
                ("grpc-accept-encoding", "identity,deflate,gzip,zstd"),
            ],
        )
        .await;
        assert_eq!(answer.status.as_deref(), Some("0"));
        assert_eq!(answer.encoding.as_deref(), Some(name));
        assert!(answer.messages[0].compressed, "{name}");
        assert!(answer.messages[0].payload.len() < 256 * 256);
        expect_constant(&answer.decoded()[0]);
    }
    server.stop().await;
}

#[tokio::test]
async fn the_operator_flag_compresses_for_clients_that_accept_it() {
    let server = server_compressing(Some(Encoding::Zstd)).await;
    let body = frame(&constant_request().encode_to_vec(), None);
    let accepts = raw_call(
        &server,
        "GaussianFilter",
        body.clone(),
        &[("grpc-accept-encoding", "gzip,zstd")],
    )
    .await;
    assert_eq!(accepts.encoding.as_deref(), Some("zstd"));
    assert!(accepts.messages[0].compressed);
    expect_constant(&accepts.decoded()[0]);
    // grpc-core does not accept zstd: it gets plain answers.
    let gzip_only = raw_call(
        &server,
        "GaussianFilter",
        body,
        &[("grpc-accept-encoding", GRPC_CORE_ACCEPT)],
    )
    .await;
    assert_eq!(gzip_only.encoding, None);
    assert!(!gzip_only.messages[0].compressed);
    server.stop().await;
}

/// A `GaussianFilterStream` request body, uncompressed: the start message
/// for a uint8 vector filtered with `sigma`, then `data` in one piece.
fn uint8_filter_stream(data: Vec<u8>, sigma: f64) -> Bytes {
    let start = pb::GaussianFilterChunk {
        part: Some(Part::Start(pb::GaussianFilterStart {
            header: Some(pb::TensorHeader {
                dtype: pb::DType::DtypeUint8 as i32,
                shape: vec![data.len() as u64],
            }),
            params: Some(pb::GaussianParams {
                sigma: vec![sigma],
                ..Default::default()
            }),
        })),
    };
    let mut body = BytesMut::new();
    body.put(frame(&start.encode_to_vec(), None));
    body.put(frame(
        &pb::GaussianFilterChunk {
            part: Some(Part::Data(Bytes::from(data))),
        }
        .encode_to_vec(),
        None,
    ));
    body.freeze()
}

#[tokio::test]
async fn messages_that_do_not_shrink_go_out_plain() {
    let server = server_compressing(Some(Encoding::Gzip)).await;
    // sigma 0 returns the input: 1 MiB of noise, then a small header
    // message; the streamed answer's data pieces are noise too.
    let noise = noise();
    let answer = raw_call(
        &server,
        "GaussianFilterStream",
        uint8_filter_stream(noise.clone(), 0.0),
        &[("grpc-accept-encoding", GRPC_CORE_ACCEPT)],
    )
    .await;
    assert_eq!(answer.status.as_deref(), Some("0"));
    assert_eq!(answer.encoding.as_deref(), Some("gzip"));
    assert!(answer.messages.len() >= 2);
    assert!(answer.messages.iter().all(|m| !m.compressed));
    let mut received = Vec::new();
    for payload in &answer.decoded()[1..] {
        match pb::TensorChunk::decode(&payload[..]).unwrap().part {
            Some(pb::tensor_chunk::Part::Data(d)) => received.extend_from_slice(&d),
            other => panic!("unexpected message {other:?}"),
        }
    }
    assert_eq!(received, noise);
    server.stop().await;
}

#[tokio::test]
async fn a_streamed_answer_compresses_the_pieces_that_shrink() {
    let server = server_compressing(Some(Encoding::Gzip)).await;
    let zeros = vec![0u8; 3 << 20];
    let answer = raw_call(
        &server,
        "GaussianFilterStream",
        uint8_filter_stream(zeros.clone(), 2.0),
        &[("grpc-accept-encoding", GRPC_CORE_ACCEPT)],
    )
    .await;
    assert_eq!(answer.status.as_deref(), Some("0"));
    // The header message is a few bytes (gzip would grow it); every 1 MiB
    // piece of zeros shrinks.
    assert!(!answer.messages[0].compressed);
    assert!(answer.messages.len() >= 4);
    assert!(answer.messages[1..].iter().all(|m| m.compressed));
    let received: Vec<u8> = answer.decoded()[1..]
        .iter()
        .flat_map(|p| match pb::TensorChunk::decode(&p[..]).unwrap().part {
            Some(pb::tensor_chunk::Part::Data(d)) => d.to_vec(),
            other => panic!("unexpected message {other:?}"),
        })
        .collect();
    assert_eq!(received, zeros);
    server.stop().await;
}

#[tokio::test]
async fn a_tonic_client_that_compresses_decodes_the_compressed_answer() {
    let server = common::start_server().await;
    let mut client = server
        .client()
        .await
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let answer = client
        .gaussian_filter(constant_request())
        .await
        .unwrap()
        .into_inner();
    expect_constant(&answer.encode_to_vec());
    server.stop().await;
}
