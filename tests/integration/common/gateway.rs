//! Helpers for the gateway's integration tests: starting a server (or a
//! gateway alone), building `.npy` files and images, and reading answers.
#![allow(dead_code)]

use std::net::SocketAddr;

use bytes::Bytes;
use tensorwire::config::ServeConfig;
use tensorwire::gateway::GatewayConfig;
use tensorwire::npy::write_npy;
use tensorwire::tensor::{DType, Tensor, TensorLimits};
use tokio_util::sync::CancellationToken;

use crate::common::{TestServer, start_server_with};

/// A running server and the base URL of its gateway.
pub struct Gateway {
    pub base: String,
    pub server: TestServer,
    pub http: reqwest::Client,
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// A server with default settings.
pub async fn start() -> Gateway {
    start_with(|_| {}).await
}

/// A server whose configuration `edit` adjusts first.
pub async fn start_with(edit: impl FnOnce(&mut ServeConfig)) -> Gateway {
    let mut config = ServeConfig::ephemeral();
    edit(&mut config);
    let server = start_server_with(config).await;
    Gateway {
        base: format!("http://{}", server.http_addr),
        server,
        http: client(),
    }
}

/// An HTTP client that asks for no compression unless a test says so.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client")
}

/// A gateway alone, in front of `upstream` (which may be down).
pub async fn start_gateway_alone(
    upstream: &str,
    config: GatewayConfig,
) -> (String, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    tokio::spawn(tensorwire::gateway::serve(
        listener,
        tensorwire::gateway::connect_upstream(upstream).unwrap(),
        config,
        token.clone(),
    ));
    (format!("http://{addr}"), token)
}

/// A tensor of `dtype` and `shape` from raw little-endian bytes.
pub fn tensor(dtype: DType, shape: &[u64], data: Vec<u8>) -> Tensor {
    Tensor::new(dtype, shape, Bytes::from(data), &TensorLimits::default()).unwrap()
}

/// An int32 tensor counting up from 0.
pub fn counting_i32(shape: &[u64]) -> Tensor {
    let n: u64 = shape.iter().product();
    let data = (0..n as i32).flat_map(|v| v.to_le_bytes()).collect();
    tensor(DType::Int32, shape, data)
}

/// A float64 tensor of varied values.
pub fn varied_f64(shape: &[u64]) -> Tensor {
    let n: u64 = shape.iter().product();
    let data = (0..n)
        .flat_map(|i| ((i as f64 * 0.37).sin() * 100.0).to_le_bytes())
        .collect();
    tensor(DType::Float64, shape, data)
}

/// The `.npy` file of a tensor.
pub fn npy(tensor: &Tensor) -> Vec<u8> {
    write_npy(tensor)
}

/// A `.npy` file written by hand: any header dict and data.
pub fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_owned();
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Parses a `.npy` answer.
pub fn read_npy(bytes: &[u8]) -> Tensor {
    tensorwire::npy::read_npy(Bytes::copy_from_slice(bytes), &TensorLimits::default())
        .expect("a valid .npy answer")
}

/// A PNG of `width` × `height` RGB pixels.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A BMP of `width` × `height`.
pub fn bmp(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, _| image::Rgb([(x % 256) as u8, 0, 9]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Bmp).unwrap();
    out.into_inner()
}

/// base64 (standard, padded), as Python's `base64.b64encode` writes it.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads a JSON answer, checking its status.
pub async fn json(response: reqwest::Response, status: u16) -> serde_json::Value {
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "answer: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The filter the service computes, asked directly over gRPC, to compare the
/// gateway's answers with.
pub async fn filter_over_grpc(
    gateway: &Gateway,
    tensor: &Tensor,
    params: tensorwire::proto::pb::GaussianParams,
) -> Tensor {
    let mut client = gateway.server.client().await;
    let answer = client
        .gaussian_filter(tensorwire::proto::pb::GaussianFilterRequest {
            tensor: Some(tensorwire::proto::tensor_to_wire(tensor.clone())),
            params: Some(params),
        })
        .await
        .expect("GaussianFilter over gRPC")
        .into_inner();
    tensorwire::proto::tensor_from_wire(answer, &TensorLimits::default()).unwrap()
}
