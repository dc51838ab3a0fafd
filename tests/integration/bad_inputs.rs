//! The bad-input battery (issue #7, item 7).
//!
//! A server with small limits (2 MiB tensors, rank 8, 3 MiB
//! messages, 6 MiB bodies, radius 1000, 1 Mpixel images, 64 KiB image
//! headers), answers a table of malformed requests over both transports:
//!
//! - gRPC: `Describe`, `DescribeStream`, `GaussianFilter`,
//!   `GaussianFilterStream`, `ImageSize`, `ImageSizeStream`, and raw protobuf
//!   bytes the generated client cannot produce (undecodable messages, invalid
//!   UTF-8 in a string field, wrong wire types);
//! - HTTP: the seed routes (`/receive_array`, `/receive_tensor`,
//!   `/receive_list`, `/im_size`, `POST /`) and the native routes
//!   (`/v1/describe`, `/v1/gaussian_filter`, `/v1/image_size`).
//!
//! Categories: broken `.npy` headers, lying shapes, shape products that
//! overflow u64, wrong data lengths, dtype codes out of range, bool bytes other
//! than 0/1, rank over the limit, sizes just over a limit, NaN/inf/negative/huge
//! filter parameters, out-of-range enum values on the wire, invalid base64,
//! invalid UTF-8, invalid, deep or ragged JSON, broken multipart, wrong content
//! types, truncated and unknown images, streams out of order, empty bodies.
//!
//! Each case names the status the contract (shared/SPEC.md) gives and a word
//! the message must contain (case-insensitive) that names the problem; HTTP
//! error bodies must have the JSON shape of their route (`{"message",
//! "code"}`, seed routes `Missing '…'` / `Error decoding …: …`, `POST /`
//! without a file the `Input-Error` header). After every case a known-good
//! request (rotating gRPC `Describe`, `/v1/describe`, `/receive_array`) must
//! still succeed with the right answer. The table is run as one test per
//! concern ([`CONCERNS`]: tensors, filter parameters, limits, images,
//! streams, encodings), each against its own server; every failure of a
//! concern is collected and reported at the end, by case name.
//!
//! Not in the table, because scipy accepts them and the filter is
//! scipy-exact: a NaN or infinite `cval` (`mode="constant", cval=np.nan` is
//! a common idiom) and a NaN, negative or -inf sigma (scipy skips the axis).
//! Nor 100 000 levels of JSON nesting in a field a seed route ignores (valid
//! JSON, skipped without recursion). `valid_but_odd_inputs` checks that those
//! succeed (with scipy's answer) instead.

use crate::common::gateway;

use std::collections::HashSet;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use futures::StreamExt;
use gateway::*;
use http::uri::PathAndQuery;
use image::ImageFormat;
use serde_json::{Value, json};
use tensorwire::proto::pb::{self, tensor_service_client::TensorServiceClient};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

const MIB: u64 = 1 << 20;
const MAX_TENSOR: u64 = 2 * MIB;
const MAX_RANK: usize = 8;
const MAX_MESSAGE: u64 = 3 * MIB;
const MAX_BODY: u64 = 6 * MIB;
const MAX_RADIUS: usize = 1000;
const MAX_PIXELS: u64 = 1 << 20;
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

const BOOL: i32 = pb::DType::DtypeBool as i32;
const U8: i32 = pb::DType::DtypeUint8 as i32;
const I32: i32 = pb::DType::DtypeInt32 as i32;
const F32: i32 = pb::DType::DtypeFloat32 as i32;
const F64: i32 = pb::DType::DtypeFloat64 as i32;
const C64: i32 = pb::DType::DtypeComplex64 as i32;

// ---------------------------------------------------------------------------
// The table's types.

/// One request of the battery.
enum Call {
    Describe(pb::Tensor),
    DescribeStream(Vec<pb::TensorChunk>),
    Filter(pb::GaussianFilterRequest),
    FilterStream(Vec<pb::GaussianFilterChunk>),
    ImageSize(pb::ImageRequest),
    ImageSizeStream(Vec<pb::ImageChunk>),
    /// Raw protobuf bytes as one unary request to `/tensorwire.v1.TensorService/{0}`.
    RawUnary(&'static str, Vec<u8>),
    /// Raw protobuf messages as a client stream to `/tensorwire.v1.TensorService/{0}`.
    RawStream(&'static str, Vec<Vec<u8>>),
    Http(HttpReq),
}

impl Call {
    fn transport(&self) -> &'static str {
        match self {
            Call::Http(_) => "HTTP",
            _ => "gRPC",
        }
    }

    fn describe(&self) -> String {
        match self {
            Call::Describe(t) => format!(
                "Describe(dtype {}, shape {:?}, {} data bytes)",
                t.dtype,
                t.shape,
                t.data.len()
            ),
            Call::DescribeStream(m) => format!("DescribeStream({} messages)", m.len()),
            Call::Filter(r) => format!(
                "GaussianFilter(tensor {:?}, params {:?})",
                r.tensor
                    .as_ref()
                    .map(|t| (t.dtype, t.shape.clone(), t.data.len())),
                r.params
            ),
            Call::FilterStream(m) => format!("GaussianFilterStream({} messages)", m.len()),
            Call::ImageSize(r) => format!(
                "ImageSize({} bytes, filename {:?})",
                r.data.len(),
                r.filename
            ),
            Call::ImageSizeStream(m) => format!("ImageSizeStream({} messages)", m.len()),
            Call::RawUnary(method, b) => format!("{method} raw {} bytes", b.len()),
            Call::RawStream(method, m) => format!("{method} raw stream of {} messages", m.len()),
            Call::Http(r) => {
                let ct = r
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    .map_or("(none)", |(_, v)| v.as_str());
                format!(
                    "HTTP {} {} content-type {ct}, {} body bytes",
                    r.method,
                    r.path,
                    r.body.len()
                )
            }
        }
    }
}

/// An HTTP request.
struct HttpReq {
    method: reqwest::Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl HttpReq {
    fn header(mut self, name: &'static str, value: &str) -> HttpReq {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// The JSON shape of an HTTP error answer (SPEC §3).
#[derive(Clone, Copy, Debug)]
enum Form {
    /// `{"message": …, "code": …}`.
    Native,
    /// A seed route's decode failure: `Error decoding {what}: …`.
    SeedDecode(&'static str),
    /// A seed route's missing field: exactly `Missing '{field}'`.
    SeedMissing(&'static str),
    /// `POST /` without a file: the `Input-Error: No input file received` header.
    InputError,
}

/// What the contract says the answer is.
enum Expect {
    Grpc(Code),
    Http(u16, Form),
}

struct Case {
    name: String,
    category: &'static str,
    call: Call,
    expect: Expect,
    /// A word of the message that names the problem (case-insensitive).
    needle: &'static str,
}

fn g(name: &str, category: &'static str, call: Call, code: Code, needle: &'static str) -> Case {
    Case {
        name: name.to_owned(),
        category,
        call,
        expect: Expect::Grpc(code),
        needle,
    }
}

fn h(
    name: &str,
    category: &'static str,
    req: HttpReq,
    status: u16,
    form: Form,
    needle: &'static str,
) -> Case {
    Case {
        name: name.to_owned(),
        category,
        call: Call::Http(req),
        expect: Expect::Http(status, form),
        needle,
    }
}

// ---------------------------------------------------------------------------
// Builders for requests.

fn t(dtype: i32, shape: &[u64], data: Vec<u8>) -> pb::Tensor {
    pb::Tensor {
        dtype,
        shape: shape.to_vec(),
        data: Bytes::from(data),
    }
}

fn zeros_f32(shape: &[u64]) -> pb::Tensor {
    let n: u64 = shape.iter().product();
    t(F32, shape, vec![0; n as usize * 4])
}

fn hdr(dtype: i32, shape: &[u64]) -> pb::TensorHeader {
    pb::TensorHeader {
        dtype,
        shape: shape.to_vec(),
    }
}

fn tc_header(dtype: i32, shape: &[u64]) -> pb::TensorChunk {
    pb::TensorChunk {
        part: Some(pb::tensor_chunk::Part::Header(hdr(dtype, shape))),
    }
}

fn tc_data(data: Vec<u8>) -> pb::TensorChunk {
    pb::TensorChunk {
        part: Some(pb::tensor_chunk::Part::Data(Bytes::from(data))),
    }
}

fn sigma(values: &[f64]) -> pb::GaussianParams {
    pb::GaussianParams {
        sigma: values.to_vec(),
        ..Default::default()
    }
}

/// `GaussianFilter` of a zero float32 [4, 5] tensor with these parameters.
fn filter(params: pb::GaussianParams) -> Call {
    Call::Filter(pb::GaussianFilterRequest {
        tensor: Some(zeros_f32(&[4, 5])),
        params: Some(params),
    })
}

fn fs_start(
    dtype: i32,
    shape: &[u64],
    params: Option<pb::GaussianParams>,
) -> pb::GaussianFilterChunk {
    pb::GaussianFilterChunk {
        part: Some(pb::gaussian_filter_chunk::Part::Start(
            pb::GaussianFilterStart {
                header: Some(hdr(dtype, shape)),
                params,
            },
        )),
    }
}

fn fs_data(data: Vec<u8>) -> pb::GaussianFilterChunk {
    pb::GaussianFilterChunk {
        part: Some(pb::gaussian_filter_chunk::Part::Data(Bytes::from(data))),
    }
}

/// A complete `GaussianFilterStream` of a zero float32 [4, 5] tensor.
fn filter_stream(params: pb::GaussianParams) -> Call {
    Call::FilterStream(vec![
        fs_start(F32, &[4, 5], Some(params)),
        fs_data(vec![0; 80]),
    ])
}

fn image(data: Vec<u8>, filename: &str) -> Call {
    Call::ImageSize(pb::ImageRequest {
        data: Bytes::from(data),
        filename: filename.to_owned(),
    })
}

fn image_pieces(data: &[u8], size: usize) -> Vec<pb::ImageChunk> {
    data.chunks(size.max(1))
        .map(|c| pb::ImageChunk {
            data: Bytes::copy_from_slice(c),
            filename: String::new(),
        })
        .collect()
}

fn post(path: &str, content_type: Option<&str>, body: Vec<u8>) -> HttpReq {
    let mut headers = Vec::new();
    if let Some(ct) = content_type {
        headers.push(("content-type", ct.to_owned()));
    }
    HttpReq {
        method: reqwest::Method::POST,
        path: path.to_owned(),
        headers,
        body,
    }
}

fn post_json(path: &str, value: &Value) -> HttpReq {
    post(
        path,
        Some("application/json"),
        serde_json::to_vec(value).unwrap(),
    )
}

fn post_npy(path: &str, body: Vec<u8>) -> HttpReq {
    post(path, Some("application/x-npy"), body)
}

/// A multipart/form-data body by hand: `(name, filename, bytes)` parts.
fn multipart_body(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, filename, data) in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => out.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

const BOUNDARY: &str = "XbadInputsBoundaryX";

fn multipart(path: &str, parts: &[(&str, Option<&str>, &[u8])]) -> HttpReq {
    post(
        path,
        Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
        multipart_body(BOUNDARY, parts),
    )
}

/// A version-1 `.npy` header dict and data.
fn npy_v(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
    let mut file = npy_with_header(dict, data);
    file[6] = major;
    file
}

/// A version-3 `.npy` (UTF-8 header) whose header has a byte that is not UTF-8.
fn npy_v3_invalid_utf8() -> Vec<u8> {
    let mut header = b"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }".to_vec();
    header[2] = 0xFF;
    let unpadded = 12 + header.len() + 1;
    header.resize(
        header.len() + unpadded.next_multiple_of(64) - unpadded,
        b' ',
    );
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x03\x00".to_vec();
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&[0; 8]);
    out
}

fn npy_dict(descr: &str, shape: &str) -> String {
    format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}")
}

fn encode(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, 40])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in kind.iter().chain(data) {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&(!crc).to_be_bytes());
}

/// A PNG whose IHDR (valid CRC) claims `width`×`height` with almost no pixels.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// A JPEG start followed by `segments` APP1 segments of 60 kB (longer than
/// the 64 KiB header limit) and no frame header.
fn jpeg_endless_metadata(segments: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let segment = vec![0u8; 60_000];
    for _ in 0..segments {
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&segment);
    }
    out
}

fn random_bytes(n: usize) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

fn cut(mut bytes: Vec<u8>, len: usize) -> Vec<u8> {
    bytes.truncate(len);
    bytes
}

// ---------------------------------------------------------------------------
// A codec for raw protobuf bytes, to send messages the generated client
// cannot build.

#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

fn encoded<M: prost::Message>(message: &M) -> Vec<u8> {
    message.encode_to_vec()
}

// ---------------------------------------------------------------------------
// The table.

fn grpc_cases() -> Vec<Case> {
    use Code::{InvalidArgument as Invalid, ResourceExhausted as Exhausted};
    let png = encode(40, 30, ImageFormat::Png);
    let jpeg = encode(40, 30, ImageFormat::Jpeg);
    let gif = encode(40, 30, ImageFormat::Gif);
    let bmp = encode(40, 30, ImageFormat::Bmp);
    let mut cases = vec![
        // --- Describe: dtype codes out of range.
        g(
            "describe/dtype_unspecified",
            "dtype",
            Call::Describe(t(0, &[1], vec![0])),
            Invalid,
            "dtype",
        ),
        g(
            "describe/dtype_99",
            "dtype",
            Call::Describe(t(99, &[1], vec![0])),
            Invalid,
            "dtype",
        ),
        g(
            "describe/dtype_negative",
            "dtype",
            Call::Describe(t(-1, &[1], vec![0])),
            Invalid,
            "dtype",
        ),
        g(
            "describe/dtype_16_past_complex128",
            "dtype",
            Call::Describe(t(16, &[1], vec![0])),
            Invalid,
            "dtype",
        ),
        g(
            "describe/dtype_i32_max",
            "dtype",
            Call::Describe(t(i32::MAX, &[1], vec![0])),
            Invalid,
            "dtype",
        ),
        // --- Describe: shapes whose products overflow u64.
        g(
            "describe/shape_u64_max_times_3",
            "shape-overflow",
            Call::Describe(t(U8, &[u64::MAX, 3], vec![])),
            Invalid,
            "shape",
        ),
        g(
            "describe/shape_2pow32_squared",
            "shape-overflow",
            Call::Describe(t(U8, &[1 << 32, 1 << 32], vec![])),
            Invalid,
            "shape",
        ),
        g(
            "describe/bytes_overflow_u64_but_elements_fit",
            "limits",
            Call::Describe(t(F64, &[1 << 62], vec![])),
            Exhausted,
            "limit",
        ),
        g(
            "describe/shape_overflow_after_a_zero",
            "shape-overflow",
            Call::Describe(t(U8, &[u64::MAX, u64::MAX, 0], vec![])),
            Invalid,
            "shape",
        ),
        // --- Describe: lying shapes and wrong data lengths.
        g(
            "describe/data_one_byte_short",
            "data-length",
            Call::Describe(t(I32, &[3], vec![0; 11])),
            Invalid,
            "bytes",
        ),
        g(
            "describe/data_one_byte_long",
            "data-length",
            Call::Describe(t(I32, &[3], vec![0; 13])),
            Invalid,
            "bytes",
        ),
        g(
            "describe/zero_extent_with_data",
            "data-length",
            Call::Describe(t(U8, &[0, 5], vec![1, 2, 3, 4])),
            Invalid,
            "bytes",
        ),
        g(
            "describe/rank0_without_data",
            "data-length",
            Call::Describe(t(F64, &[], vec![])),
            Invalid,
            "bytes",
        ),
        g(
            "describe/complex_half_element",
            "data-length",
            Call::Describe(t(C64, &[1], vec![0; 4])),
            Invalid,
            "bytes",
        ),
        g(
            "describe/shape_claims_more_than_sent",
            "lying-shape",
            Call::Describe(t(U8, &[1000, 1000], vec![0; 10])),
            Invalid,
            "bytes",
        ),
        // --- Describe: bool bytes other than 0/1.
        g(
            "describe/bool_byte_2",
            "bool",
            Call::Describe(t(BOOL, &[3], vec![1, 0, 2])),
            Invalid,
            "bool",
        ),
        g(
            "describe/bool_byte_255",
            "bool",
            Call::Describe(t(BOOL, &[1], vec![255])),
            Invalid,
            "bool",
        ),
        // --- Describe: rank and size limits.
        g(
            "describe/rank_9_over_limit_8",
            "limits",
            Call::Describe(t(U8, &[1; 9], vec![0])),
            Invalid,
            "rank",
        ),
        g(
            "describe/rank_1000",
            "limits",
            Call::Describe(t(U8, &[1; 1000], vec![0])),
            Invalid,
            "rank",
        ),
        g(
            "describe/tensor_one_byte_over_limit",
            "limits",
            Call::Describe(t(U8, &[MAX_TENSOR + 1], vec![0; MAX_TENSOR as usize + 1])),
            Exhausted,
            "limit",
        ),
        g(
            "describe/shape_huge_without_data",
            "limits",
            Call::Describe(t(U8, &[1 << 40], vec![])),
            Exhausted,
            "limit",
        ),
        g(
            "describe/message_over_max_message",
            "limits",
            Call::Describe(t(
                U8,
                &[MAX_MESSAGE + 16],
                vec![0; MAX_MESSAGE as usize + 16],
            )),
            Exhausted,
            "DescribeStream",
        ),
        // --- DescribeStream: out of order, overrun, underrun, bad headers.
        g(
            "describe_stream/empty_stream",
            "stream-order",
            Call::DescribeStream(vec![]),
            Invalid,
            "header",
        ),
        g(
            "describe_stream/data_before_header",
            "stream-order",
            Call::DescribeStream(vec![tc_data(vec![0; 4]), tc_header(U8, &[4])]),
            Invalid,
            "header",
        ),
        g(
            "describe_stream/empty_first_message",
            "stream-order",
            Call::DescribeStream(vec![pb::TensorChunk { part: None }]),
            Invalid,
            "header",
        ),
        g(
            "describe_stream/two_headers",
            "stream-order",
            Call::DescribeStream(vec![
                tc_header(U8, &[4]),
                tc_data(vec![0; 2]),
                tc_header(U8, &[4]),
            ]),
            Invalid,
            "header",
        ),
        g(
            "describe_stream/empty_message_after_header",
            "stream-order",
            Call::DescribeStream(vec![tc_header(U8, &[4]), pb::TensorChunk { part: None }]),
            Invalid,
            "neither",
        ),
        g(
            "describe_stream/overrun",
            "stream-order",
            Call::DescribeStream(vec![
                tc_header(I32, &[4]),
                tc_data(vec![0; 10]),
                tc_data(vec![0; 7]),
            ]),
            Invalid,
            "overrun",
        ),
        g(
            "describe_stream/underrun",
            "stream-order",
            Call::DescribeStream(vec![tc_header(I32, &[4]), tc_data(vec![0; 15])]),
            Invalid,
            "ended",
        ),
        g(
            "describe_stream/header_only",
            "stream-order",
            Call::DescribeStream(vec![tc_header(I32, &[4])]),
            Invalid,
            "ended",
        ),
        g(
            "describe_stream/header_dtype_99",
            "dtype",
            Call::DescribeStream(vec![tc_header(99, &[1]), tc_data(vec![0])]),
            Invalid,
            "dtype",
        ),
        g(
            "describe_stream/header_shape_overflow",
            "shape-overflow",
            Call::DescribeStream(vec![tc_header(U8, &[u64::MAX, 2])]),
            Invalid,
            "shape",
        ),
        g(
            "describe_stream/header_rank_9",
            "limits",
            Call::DescribeStream(vec![tc_header(U8, &[1; 9]), tc_data(vec![0])]),
            Invalid,
            "rank",
        ),
        g(
            "describe_stream/header_over_byte_limit",
            "limits",
            Call::DescribeStream(vec![tc_header(U8, &[MAX_TENSOR + 1])]),
            Exhausted,
            "limit",
        ),
        g(
            "describe_stream/bool_byte_7_in_second_piece",
            "bool",
            Call::DescribeStream(vec![
                tc_header(BOOL, &[4]),
                tc_data(vec![1, 0]),
                tc_data(vec![1, 7]),
            ]),
            Invalid,
            "bool",
        ),
        // --- GaussianFilter: missing parts.
        g(
            "filter/no_tensor",
            "missing",
            Call::Filter(pb::GaussianFilterRequest {
                tensor: None,
                params: Some(sigma(&[1.0])),
            }),
            Invalid,
            "tensor",
        ),
        g(
            "filter/no_params",
            "missing",
            Call::Filter(pb::GaussianFilterRequest {
                tensor: Some(zeros_f32(&[4, 5])),
                params: None,
            }),
            Invalid,
            "sigma",
        ),
        g(
            "filter/sigma_empty",
            "params",
            filter(sigma(&[])),
            Invalid,
            "sigma",
        ),
        // --- GaussianFilter: NaN/inf/negative/huge parameters.
        g(
            "filter/sigma_inf",
            "params",
            filter(sigma(&[f64::INFINITY])),
            Invalid,
            "sigma",
        ),
        g(
            "filter/sigma_huge",
            "params",
            filter(sigma(&[1e300])),
            Invalid,
            "radius",
        ),
        g(
            "filter/sigma_three_values_for_rank_2",
            "params",
            filter(sigma(&[1.0, 1.0, 1.0])),
            Invalid,
            "sigma",
        ),
        g(
            "filter/order_4",
            "params",
            filter(pb::GaussianParams {
                order: vec![4],
                ..sigma(&[1.0])
            }),
            Invalid,
            "order",
        ),
        g(
            "filter/order_u32_max",
            "params",
            filter(pb::GaussianParams {
                order: vec![u32::MAX],
                ..sigma(&[1.0])
            }),
            Invalid,
            "order",
        ),
        g(
            "filter/order_three_values_for_rank_2",
            "params",
            filter(pb::GaussianParams {
                order: vec![0, 1, 2],
                ..sigma(&[1.0])
            }),
            Invalid,
            "order",
        ),
        g(
            "filter/mode_42",
            "enum",
            filter(pb::GaussianParams {
                mode: vec![42],
                ..sigma(&[1.0])
            }),
            Invalid,
            "mode",
        ),
        g(
            "filter/mode_negative",
            "enum",
            filter(pb::GaussianParams {
                mode: vec![-1],
                ..sigma(&[1.0])
            }),
            Invalid,
            "mode",
        ),
        g(
            "filter/mode_8_past_grid_wrap",
            "enum",
            filter(pb::GaussianParams {
                mode: vec![0, 8],
                ..sigma(&[1.0])
            }),
            Invalid,
            "mode",
        ),
        g(
            "filter/truncate_nan",
            "params",
            filter(pb::GaussianParams {
                truncate: Some(f64::NAN),
                ..sigma(&[1.0])
            }),
            Invalid,
            "truncate",
        ),
        g(
            "filter/truncate_inf",
            "params",
            filter(pb::GaussianParams {
                truncate: Some(f64::INFINITY),
                ..sigma(&[1.0])
            }),
            Invalid,
            "truncate",
        ),
        g(
            "filter/truncate_negative",
            "params",
            filter(pb::GaussianParams {
                truncate: Some(-4.0),
                ..sigma(&[1.0])
            }),
            Invalid,
            "truncate",
        ),
        g(
            "filter/radius_u32_max",
            "params",
            filter(pb::GaussianParams {
                radius: vec![u32::MAX],
                ..sigma(&[1.0])
            }),
            Invalid,
            "radius",
        ),
        g(
            "filter/radius_just_over_limit",
            "params",
            filter(pb::GaussianParams {
                radius: vec![MAX_RADIUS as u32 + 1],
                ..sigma(&[1.0])
            }),
            Invalid,
            "radius",
        ),
        g(
            "filter/radius_three_values_for_rank_2",
            "params",
            filter(pb::GaussianParams {
                radius: vec![1, 1, 1],
                ..sigma(&[1.0])
            }),
            Invalid,
            "radius",
        ),
        g(
            "filter/axes_repeated",
            "params",
            filter(pb::GaussianParams {
                axes: vec![0, 0],
                ..sigma(&[1.0])
            }),
            Invalid,
            "axes",
        ),
        g(
            "filter/axes_repeated_via_negative",
            "params",
            filter(pb::GaussianParams {
                axes: vec![1, -1],
                ..sigma(&[1.0])
            }),
            Invalid,
            "axes",
        ),
        g(
            "filter/axes_out_of_range",
            "params",
            filter(pb::GaussianParams {
                axes: vec![2],
                ..sigma(&[1.0])
            }),
            Invalid,
            "axes",
        ),
        g(
            "filter/axes_negative_out_of_range",
            "params",
            filter(pb::GaussianParams {
                axes: vec![-3],
                ..sigma(&[1.0])
            }),
            Invalid,
            "axes",
        ),
        g(
            "filter/axes_i32_min",
            "params",
            filter(pb::GaussianParams {
                axes: vec![i32::MIN],
                ..sigma(&[1.0])
            }),
            Invalid,
            "axes",
        ),
        g(
            "filter/output_dtype_99",
            "enum",
            filter(pb::GaussianParams {
                output_dtype: 99,
                ..sigma(&[1.0])
            }),
            Invalid,
            "dtype",
        ),
        g(
            "filter/output_dtype_bool",
            "params",
            filter(pb::GaussianParams {
                output_dtype: BOOL,
                ..sigma(&[1.0])
            }),
            Invalid,
            "bool",
        ),
        g(
            "filter/output_dtype_complex_for_real",
            "params",
            filter(pb::GaussianParams {
                output_dtype: C64,
                ..sigma(&[1.0])
            }),
            Invalid,
            "output_dtype",
        ),
        g(
            "filter/output_dtype_real_for_complex",
            "params",
            Call::Filter(pb::GaussianFilterRequest {
                tensor: Some(t(C64, &[2], vec![0; 16])),
                params: Some(pb::GaussianParams {
                    output_dtype: F32,
                    ..sigma(&[1.0])
                }),
            }),
            Invalid,
            "output_dtype",
        ),
        // --- GaussianFilter: invalid tensors and limits.
        g(
            "filter/tensor_dtype_unspecified",
            "dtype",
            Call::Filter(pb::GaussianFilterRequest {
                tensor: Some(t(0, &[2], vec![0; 2])),
                params: Some(sigma(&[1.0])),
            }),
            Invalid,
            "dtype",
        ),
        g(
            "filter/tensor_data_short",
            "data-length",
            Call::Filter(pb::GaussianFilterRequest {
                tensor: Some(t(F32, &[4, 5], vec![0; 79])),
                params: Some(sigma(&[1.0])),
            }),
            Invalid,
            "bytes",
        ),
        g(
            "filter/tensor_shape_overflow",
            "shape-overflow",
            Call::Filter(pb::GaussianFilterRequest {
                tensor: Some(t(F32, &[u64::MAX, u64::MAX], vec![])),
                params: Some(sigma(&[1.0])),
            }),
            Invalid,
            "shape",
        ),
        g(
            "filter/tensor_bool_byte_3",
            "bool",
            Call::Filter(pb::GaussianFilterRequest {
                tensor: Some(t(BOOL, &[2], vec![0, 3])),
                params: Some(sigma(&[1.0])),
            }),
            Invalid,
            "bool",
        ),
        g(
            "filter/output_over_tensor_limit",
            "limits",
            Call::Filter(pb::GaussianFilterRequest {
                tensor: Some(t(U8, &[512 << 10], vec![0; 512 << 10])),
                params: Some(pb::GaussianParams {
                    output_dtype: F64,
                    ..sigma(&[1.0])
                }),
            }),
            Exhausted,
            "limit",
        ),
        // --- GaussianFilterStream: out of order and bad starts.
        g(
            "filter_stream/empty_stream",
            "stream-order",
            Call::FilterStream(vec![]),
            Invalid,
            "header",
        ),
        g(
            "filter_stream/data_first",
            "stream-order",
            Call::FilterStream(vec![
                fs_data(vec![0; 80]),
                fs_start(F32, &[4, 5], Some(sigma(&[1.0]))),
            ]),
            Invalid,
            "header",
        ),
        g(
            "filter_stream/empty_first_message",
            "stream-order",
            Call::FilterStream(vec![pb::GaussianFilterChunk { part: None }]),
            Invalid,
            "header",
        ),
        g(
            "filter_stream/start_without_header",
            "stream-order",
            Call::FilterStream(vec![pb::GaussianFilterChunk {
                part: Some(pb::gaussian_filter_chunk::Part::Start(
                    pb::GaussianFilterStart {
                        header: None,
                        params: Some(sigma(&[1.0])),
                    },
                )),
            }]),
            Invalid,
            "header",
        ),
        g(
            "filter_stream/two_starts",
            "stream-order",
            Call::FilterStream(vec![
                fs_start(F32, &[4, 5], Some(sigma(&[1.0]))),
                fs_data(vec![0; 40]),
                fs_start(F32, &[4, 5], Some(sigma(&[1.0]))),
            ]),
            Invalid,
            "header",
        ),
        g(
            "filter_stream/overrun",
            "stream-order",
            Call::FilterStream(vec![
                fs_start(F32, &[4, 5], Some(sigma(&[1.0]))),
                fs_data(vec![0; 81]),
            ]),
            Invalid,
            "overrun",
        ),
        g(
            "filter_stream/underrun",
            "stream-order",
            Call::FilterStream(vec![
                fs_start(F32, &[4, 5], Some(sigma(&[1.0]))),
                fs_data(vec![0; 79]),
            ]),
            Invalid,
            "ended",
        ),
        g(
            "filter_stream/start_only",
            "stream-order",
            Call::FilterStream(vec![fs_start(F32, &[4, 5], Some(sigma(&[1.0])))]),
            Invalid,
            "ended",
        ),
        g(
            "filter_stream/start_without_params",
            "missing",
            Call::FilterStream(vec![fs_start(F32, &[4, 5], None), fs_data(vec![0; 80])]),
            Invalid,
            "sigma",
        ),
        g(
            "filter_stream/header_dtype_77",
            "dtype",
            Call::FilterStream(vec![
                fs_start(77, &[4], Some(sigma(&[1.0]))),
                fs_data(vec![0; 4]),
            ]),
            Invalid,
            "dtype",
        ),
        g(
            "filter_stream/header_shape_overflow",
            "shape-overflow",
            Call::FilterStream(vec![fs_start(F64, &[1 << 62, 8], Some(sigma(&[1.0])))]),
            Invalid,
            "shape",
        ),
        g(
            "filter_stream/header_over_byte_limit",
            "limits",
            Call::FilterStream(vec![fs_start(U8, &[MAX_TENSOR + 1], Some(sigma(&[1.0])))]),
            Exhausted,
            "limit",
        ),
        g(
            "filter_stream/mode_9",
            "enum",
            filter_stream(pb::GaussianParams {
                mode: vec![9],
                ..sigma(&[1.0])
            }),
            Invalid,
            "mode",
        ),
        g(
            "filter_stream/truncate_negative",
            "params",
            filter_stream(pb::GaussianParams {
                truncate: Some(-1.0),
                ..sigma(&[2.0])
            }),
            Invalid,
            "truncate",
        ),
        g(
            "filter_stream/order_4",
            "params",
            filter_stream(pb::GaussianParams {
                order: vec![4],
                ..sigma(&[1.0])
            }),
            Invalid,
            "order",
        ),
        g(
            "filter_stream/bool_byte_9",
            "bool",
            Call::FilterStream(vec![
                fs_start(BOOL, &[2], Some(sigma(&[1.0]))),
                fs_data(vec![1, 9]),
            ]),
            Invalid,
            "bool",
        ),
        // --- ImageSize: empty, unknown, truncated images.
        g(
            "image_size/zero_bytes",
            "empty",
            image(vec![], ""),
            Invalid,
            "empty",
        ),
        g(
            "image_size/zero_bytes_named_png",
            "empty",
            image(vec![], "a.png"),
            Invalid,
            "empty",
        ),
        g(
            "image_size/unknown_format_text",
            "image",
            image(b"hello, this is not an image at all".to_vec(), ""),
            Invalid,
            "format",
        ),
        g(
            "image_size/unknown_format_random",
            "image",
            image(random_bytes(4096), "x.png"),
            Invalid,
            "format",
        ),
        g(
            "image_size/png_signature_only",
            "image",
            image(cut(png.clone(), 8), ""),
            Invalid,
            "truncated",
        ),
        g(
            "image_size/png_cut_in_ihdr",
            "image",
            image(cut(png.clone(), 20), ""),
            Invalid,
            "truncated",
        ),
        g(
            "image_size/jpeg_cut_after_signature",
            "image",
            image(cut(jpeg.clone(), 4), ""),
            Invalid,
            "truncated",
        ),
        g(
            "image_size/jpeg_cut_before_sof",
            "image",
            image(cut(jpeg.clone(), 30), ""),
            Invalid,
            "truncated",
        ),
        g(
            "image_size/gif_cut_in_header",
            "image",
            image(cut(gif.clone(), 8), ""),
            Invalid,
            "truncated",
        ),
        g(
            "image_size/bmp_cut_in_header",
            "image",
            image(cut(bmp.clone(), 20), ""),
            Invalid,
            "truncated",
        ),
        g(
            "image_size/tga_hint_with_garbage",
            "image",
            image(vec![0xFF; 5], "a.tga"),
            Invalid,
            "tga",
        ),
        // --- ImageSizeStream.
        g(
            "image_size_stream/empty_stream",
            "stream-order",
            Call::ImageSizeStream(vec![]),
            Invalid,
            "empty",
        ),
        g(
            "image_size_stream/only_empty_pieces",
            "stream-order",
            Call::ImageSizeStream(vec![pb::ImageChunk::default(), pb::ImageChunk::default()]),
            Invalid,
            "empty",
        ),
        g(
            "image_size_stream/png_cut_in_middle",
            "image",
            Call::ImageSizeStream(image_pieces(&png[..20], 7)),
            Invalid,
            "truncated",
        ),
        g(
            "image_size_stream/unknown_format",
            "image",
            Call::ImageSizeStream(image_pieces(&random_bytes(4096), 500)),
            Invalid,
            "format",
        ),
        g(
            "image_size_stream/header_longer_than_limit",
            "limits",
            Call::ImageSizeStream(image_pieces(&jpeg_endless_metadata(3), 16 << 10)),
            Exhausted,
            "header",
        ),
    ];
    // --- Raw protobuf the generated client cannot send.
    let mut bad_utf8 = encoded(&pb::ImageRequest {
        data: Bytes::from(png.clone()),
        filename: String::new(),
    });
    bad_utf8.extend_from_slice(&[0x12, 0x03, b'a', 0xFF, 0xFE]);
    let mut chunk_bad_utf8 = encoded(&pb::ImageChunk {
        data: Bytes::from(png.clone()),
        filename: String::new(),
    });
    chunk_bad_utf8.extend_from_slice(&[0x12, 0x02, 0xC3, 0x28]);
    cases.extend([
        g(
            "raw/describe_garbage_bytes",
            "wire",
            Call::RawUnary("Describe", vec![0xFF; 16]),
            Invalid,
            "decode",
        ),
        g(
            "raw/describe_truncated_field",
            "wire",
            Call::RawUnary("Describe", vec![0x08, 0x02, 0x1a, 100, 1, 2, 3]),
            Invalid,
            "decode",
        ),
        g(
            "raw/describe_dtype_wrong_wire_type",
            "wire",
            Call::RawUnary("Describe", vec![0x0a, 0x01, 0x07]),
            Invalid,
            "decode",
        ),
        g(
            "raw/describe_shape_truncated_varint",
            "wire",
            Call::RawUnary("Describe", vec![0x08, 0x02, 0x12, 0x01, 0xFF]),
            Invalid,
            "decode",
        ),
        g(
            "raw/image_size_filename_invalid_utf8",
            "utf-8",
            Call::RawUnary("ImageSize", bad_utf8),
            Invalid,
            "utf-8",
        ),
        g(
            "raw/image_size_stream_filename_invalid_utf8",
            "utf-8",
            Call::RawStream("ImageSizeStream", vec![chunk_bad_utf8]),
            Invalid,
            "utf-8",
        ),
        g(
            "raw/describe_stream_garbage_second_message",
            "wire",
            Call::RawStream(
                "DescribeStream",
                vec![encoded(&tc_header(U8, &[2])), vec![0xFF; 8]],
            ),
            Invalid,
            "decode",
        ),
        g(
            "raw/filter_stream_garbage_first_message",
            "wire",
            Call::RawStream("GaussianFilterStream", vec![vec![0x0a, 0x05, 0xFF, 0xFF]]),
            Invalid,
            "decode",
        ),
    ]);
    cases
}

fn http_cases() -> Vec<Case> {
    use Form::{InputError, Native, SeedDecode as Dec, SeedMissing as Missing};
    let good_npy = npy(&counting_i32(&[2, 3]));
    let png = encode(40, 30, ImageFormat::Png);
    let jpeg = encode(40, 30, ImageFormat::Jpeg);
    let gif = encode(40, 30, ImageFormat::Gif);
    let i4 = |shape: &str| npy_dict("'<i4'", shape);
    let array = |file: &[u8]| json!({ "array_data": b64(file) });
    let filter_q = |query: &str| {
        post_npy(
            &format!("/v1/gaussian_filter?{query}"),
            npy(&counting_i32(&[4, 5])),
        )
    };
    let over_limit = npy(&tensor(
        tensorwire::tensor::DType::UInt8,
        &[MAX_TENSOR + 1],
        vec![0; MAX_TENSOR as usize + 1],
    ));
    let mut deep_json = b"{\"array_data\": ".to_vec();
    deep_json.extend_from_slice(nested(100_000).as_bytes());
    deep_json.push(b'}');
    let mut invalid_utf8_json = b"{\"array_data\": \"AAAA".to_vec();
    invalid_utf8_json.extend_from_slice(&[0xFF, 0xFE]);
    invalid_utf8_json.extend_from_slice(b"\"}");
    let mut huge_header_v2 = b"\x93NUMPY\x02\x00".to_vec();
    huge_header_v2.extend_from_slice(&(1u32 << 30).to_le_bytes());
    huge_header_v2.extend_from_slice(b"{'descr': '<i4', ");
    let mut streamed_short = npy(&counting_i32(&[400_000]));
    streamed_short.truncate(streamed_short.len() - 3);
    let gray_big = {
        let img = image::GrayImage::new(2048, 1024);
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let long_list = format!(
        "{{\"array_list\": [{}]}}",
        vec!["1"; (MAX_TENSOR / 8 + 1) as usize].join(",")
    );
    vec![
        // --- /receive_array: base64.
        h(
            "receive_array/invalid_base64_chars",
            "base64",
            post_json("/receive_array", &json!({"array_data": "not base64 !!"})),
            400,
            Dec("array"),
            "base64",
        ),
        h(
            "receive_array/base64_bad_padding",
            "base64",
            post_json("/receive_array", &json!({"array_data": "AAAAA"})),
            400,
            Dec("array"),
            "base64",
        ),
        h(
            "receive_array/base64_url_alphabet_junk",
            "base64",
            post_json("/receive_array", &json!({"array_data": "k05VTVBZ@@=="})),
            400,
            Dec("array"),
            "base64",
        ),
        // --- /receive_array: broken .npy headers.
        h(
            "receive_array/base64_of_text",
            "npy-header",
            post_json("/receive_array", &array(b"hello world, no npy here")),
            400,
            Dec("array"),
            "npy",
        ),
        h(
            "receive_array/npy_magic_only",
            "npy-header",
            post_json("/receive_array", &array(b"\x93NUMPY")),
            400,
            Dec("array"),
            "truncated",
        ),
        h(
            "receive_array/npy_version_5",
            "npy-header",
            post_json("/receive_array", &array(&npy_v(5, &i4("(2,)"), &[0; 8]))),
            400,
            Dec("array"),
            "version",
        ),
        h(
            "receive_array/npy_header_len_lies",
            "npy-header",
            post_json(
                "/receive_array",
                &array(b"\x93NUMPY\x01\x00\x60\xea{'descr': '<i4'}"),
            ),
            400,
            Dec("array"),
            "header",
        ),
        h(
            "receive_array/npy_header_not_a_dict",
            "npy-header",
            post_json("/receive_array", &array(&npy_with_header("[1, 2, 3]", &[]))),
            400,
            Dec("array"),
            "header",
        ),
        h(
            "receive_array/npy_header_without_shape",
            "npy-header",
            post_json(
                "/receive_array",
                &array(&npy_with_header(
                    "{'descr': '<i4', 'fortran_order': False, }",
                    &[0; 4],
                )),
            ),
            400,
            Dec("array"),
            "shape",
        ),
        h(
            "receive_array/npy_negative_shape",
            "lying-shape",
            post_json(
                "/receive_array",
                &array(&npy_with_header(&i4("(-1,)"), &[])),
            ),
            400,
            Dec("array"),
            "shape",
        ),
        h(
            "receive_array/npy_shape_overflows_u64",
            "shape-overflow",
            post_json(
                "/receive_array",
                &array(&npy_with_header(&i4("(4294967296, 4294967296)"), &[])),
            ),
            400,
            Dec("array"),
            "shape",
        ),
        h(
            "receive_array/npy_object_dtype",
            "dtype",
            post_json(
                "/receive_array",
                &array(&npy_with_header(&npy_dict("'|O'", "(1,)"), &[0; 8])),
            ),
            400,
            Dec("array"),
            "object",
        ),
        h(
            "receive_array/npy_unicode_dtype",
            "dtype",
            post_json(
                "/receive_array",
                &array(&npy_with_header(&npy_dict("'<U4'", "(1,)"), &[0; 16])),
            ),
            400,
            Dec("array"),
            "<U4",
        ),
        h(
            "receive_array/npy_structured_dtype",
            "dtype",
            post_json(
                "/receive_array",
                &array(&npy_with_header(
                    &npy_dict("[('a', '<i4')]", "(1,)"),
                    &[0; 4],
                )),
            ),
            400,
            Dec("array"),
            "descr",
        ),
        h(
            "receive_array/npy_data_short",
            "data-length",
            post_json(
                "/receive_array",
                &array(&npy_with_header(&i4("(4,)"), &[0; 8])),
            ),
            400,
            Dec("array"),
            "bytes",
        ),
        h(
            "receive_array/npy_data_long",
            "data-length",
            post_json(
                "/receive_array",
                &array(&npy_with_header(&i4("(1,)"), &[0; 8])),
            ),
            400,
            Dec("array"),
            "bytes",
        ),
        h(
            "receive_array/npy_bool_byte_2",
            "bool",
            post_json(
                "/receive_array",
                &array(&npy_with_header(&npy_dict("'|b1'", "(2,)"), &[1, 2])),
            ),
            400,
            Dec("array"),
            "bool",
        ),
        h(
            "receive_array/npy_rank_9",
            "limits",
            post_json(
                "/receive_array",
                &array(&npy_with_header(
                    &npy_dict("'|u1'", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"),
                    &[0],
                )),
            ),
            400,
            Dec("array"),
            "rank",
        ),
        h(
            "receive_array/npy_over_tensor_limit",
            "limits",
            post_json("/receive_array", &array(&over_limit)),
            413,
            Native,
            "limit",
        ),
        // --- /receive_array: JSON.
        h(
            "receive_array/missing_field",
            "missing",
            post_json("/receive_array", &json!({"tensor_data": "AAAA"})),
            400,
            Missing("array_data"),
            "array_data",
        ),
        h(
            "receive_array/field_is_a_number",
            "json",
            post_json("/receive_array", &json!({"array_data": 12})),
            400,
            Dec("array"),
            "string",
        ),
        h(
            "receive_array/field_is_null",
            "json",
            post_json("/receive_array", &json!({"array_data": null})),
            400,
            Dec("array"),
            "string",
        ),
        h(
            "receive_array/invalid_json",
            "json",
            post(
                "/receive_array",
                Some("application/json"),
                b"{not json".to_vec(),
            ),
            400,
            Dec("array"),
            "json",
        ),
        h(
            "receive_array/body_is_a_list",
            "json",
            post_json("/receive_array", &json!([1, 2])),
            400,
            Dec("array"),
            "object",
        ),
        h(
            "receive_array/zero_byte_body",
            "empty",
            post("/receive_array", Some("application/json"), vec![]),
            400,
            Dec("array"),
            "json",
        ),
        h(
            "receive_array/json_invalid_utf8",
            "utf-8",
            post(
                "/receive_array",
                Some("application/json"),
                invalid_utf8_json,
            ),
            400,
            Dec("array"),
            "unicode",
        ),
        h(
            "receive_array/json_100000_deep_field",
            "json",
            post("/receive_array", Some("application/json"), deep_json),
            400,
            Dec("array"),
            "string",
        ),
        h(
            "receive_array/json_truncated",
            "json",
            post(
                "/receive_array",
                Some("application/json"),
                b"{\"array_data\": \"k05VTV".to_vec(),
            ),
            400,
            Dec("array"),
            "json",
        ),
        // --- /receive_tensor.
        h(
            "receive_tensor/missing_field",
            "missing",
            post_json("/receive_tensor", &json!({"array_data": "AAAA"})),
            400,
            Missing("tensor_data"),
            "tensor_data",
        ),
        h(
            "receive_tensor/invalid_base64",
            "base64",
            post_json("/receive_tensor", &json!({"tensor_data": "%%%%"})),
            400,
            Dec("tensor"),
            "base64",
        ),
        h(
            "receive_tensor/npy_broken_header_dict",
            "npy-header",
            post_json(
                "/receive_tensor",
                &json!({"tensor_data": b64(&npy_with_header("{'descr': '<i4', 'shape': (2,", &[0; 8]))}),
            ),
            400,
            Dec("tensor"),
            "header",
        ),
        h(
            "receive_tensor/npy_unknown_descr",
            "dtype",
            post_json(
                "/receive_tensor",
                &json!({"tensor_data": b64(&npy_with_header(&npy_dict("'<x9'", "(1,)"), &[0; 9]))}),
            ),
            400,
            Dec("tensor"),
            "x9",
        ),
        h(
            "receive_tensor/npy_fortran_order_not_bool",
            "npy-header",
            post_json(
                "/receive_tensor",
                &json!({"tensor_data": b64(&npy_with_header("{'descr': '<i4', 'fortran_order': 'yes', 'shape': (1,), }", &[0; 4]))}),
            ),
            400,
            Dec("tensor"),
            "fortran_order",
        ),
        h(
            "receive_tensor/npy_shape_float",
            "lying-shape",
            post_json(
                "/receive_tensor",
                &json!({"tensor_data": b64(&npy_with_header(&i4("(2.5,)"), &[0; 8]))}),
            ),
            400,
            Dec("tensor"),
            "shape",
        ),
        // --- /receive_list: ragged, mixed, deep lists.
        h(
            "receive_list/missing_field",
            "missing",
            post_json("/receive_list", &json!({"list": [1]})),
            400,
            Missing("array_list"),
            "array_list",
        ),
        h(
            "receive_list/ragged",
            "json",
            post_json("/receive_list", &json!({"array_list": [[1, 2], [3]]})),
            400,
            Dec("array"),
            "ragged",
        ),
        h(
            "receive_list/scalar_then_list",
            "json",
            post_json("/receive_list", &json!({"array_list": [1, [2]]})),
            400,
            Dec("array"),
            "mixes",
        ),
        h(
            "receive_list/list_then_scalar",
            "json",
            post_json("/receive_list", &json!({"array_list": [[1], 2]})),
            400,
            Dec("array"),
            "ragged",
        ),
        h(
            "receive_list/strings",
            "json",
            post_json("/receive_list", &json!({"array_list": ["a", "b"]})),
            400,
            Dec("array"),
            "number",
        ),
        h(
            "receive_list/null_element",
            "json",
            post_json("/receive_list", &json!({"array_list": [1, null]})),
            400,
            Dec("array"),
            "null",
        ),
        h(
            "receive_list/object_element",
            "json",
            post_json("/receive_list", &json!({"array_list": [{"a": 1}]})),
            400,
            Dec("array"),
            "number",
        ),
        h(
            "receive_list/list_is_a_string",
            "json",
            post_json("/receive_list", &json!({"array_list": "1,2,3"})),
            400,
            Dec("array"),
            "number",
        ),
        h(
            "receive_list/rank_9_over_limit",
            "limits",
            post(
                "/receive_list",
                Some("application/json"),
                format!("{{\"array_list\": {}}}", nested(9)).into_bytes(),
            ),
            400,
            Dec("array"),
            "rank",
        ),
        h(
            "receive_list/100000_deep",
            "json",
            post(
                "/receive_list",
                Some("application/json"),
                format!("{{\"array_list\": {}}}", nested(100_000)).into_bytes(),
            ),
            400,
            Dec("array"),
            "deep",
        ),
        h(
            "receive_list/number_out_of_range",
            "json",
            post(
                "/receive_list",
                Some("application/json"),
                b"{\"array_list\": [1e400]}".to_vec(),
            ),
            400,
            Dec("array"),
            "number",
        ),
        h(
            "receive_list/over_tensor_limit",
            "limits",
            post(
                "/receive_list",
                Some("application/json"),
                long_list.into_bytes(),
            ),
            413,
            Native,
            "limit",
        ),
        h(
            "receive_list/invalid_json",
            "json",
            post(
                "/receive_list",
                Some("application/json"),
                b"{\"array_list\": [1, 2,]}".to_vec(),
            ),
            400,
            Dec("array"),
            "trailing comma",
        ),
        // --- /im_size: content types and multipart.
        h(
            "im_size/no_content_type",
            "content-type",
            post("/im_size", None, png.clone()),
            415,
            Native,
            "content-type",
        ),
        h(
            "im_size/json_content_type",
            "content-type",
            post_json("/im_size", &json!({"image": b64(&png)})),
            415,
            Native,
            "multipart",
        ),
        h(
            "im_size/multipart_without_boundary",
            "multipart",
            post(
                "/im_size",
                Some("multipart/form-data"),
                multipart_body(BOUNDARY, &[("image", Some("a.png"), &png)]),
            ),
            400,
            Native,
            "boundary",
        ),
        h(
            "im_size/multipart_truncated",
            "multipart",
            post(
                "/im_size",
                Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
                cut(
                    multipart_body(BOUNDARY, &[("image", Some("a.png"), &png)]),
                    150,
                ),
            ),
            400,
            Native,
            "multipart",
        ),
        h(
            "im_size/multipart_wrong_boundary",
            "multipart",
            post(
                "/im_size",
                Some("multipart/form-data; boundary=OTHER"),
                multipart_body(BOUNDARY, &[("image", Some("a.png"), &png)]),
            ),
            400,
            Native,
            "multipart",
        ),
        h(
            "im_size/multipart_garbage_body",
            "multipart",
            post(
                "/im_size",
                Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
                b"this is not multipart at all".to_vec(),
            ),
            400,
            Native,
            "multipart",
        ),
        h(
            "im_size/multipart_missing_image",
            "missing",
            multipart("/im_size", &[("id", None, b"42"), ("type", None, b"png")]),
            400,
            Missing("image"),
            "image",
        ),
        h(
            "im_size/multipart_empty_image",
            "empty",
            multipart("/im_size", &[("image", Some("a.png"), b"")]),
            400,
            Native,
            "empty",
        ),
        h(
            "im_size/multipart_truncated_png",
            "image",
            multipart("/im_size", &[("image", Some("a.png"), &png[..20])]),
            400,
            Native,
            "truncated",
        ),
        h(
            "im_size/multipart_unknown_format",
            "image",
            multipart(
                "/im_size",
                &[("image", Some("a.png"), b"GIF? no, plain text")],
            ),
            400,
            Native,
            "format",
        ),
        h(
            "im_size/multipart_second_image_bad",
            "image",
            multipart(
                "/im_size",
                &[
                    ("image", Some("a.png"), &png),
                    ("image", Some("b.jpg"), &jpeg[..4]),
                ],
            ),
            400,
            Native,
            "truncated",
        ),
        h(
            "im_size/form_invalid_base64",
            "base64",
            post(
                "/im_size",
                Some("application/x-www-form-urlencoded"),
                b"image=%40%40not+base64%40%40&id=1".to_vec(),
            ),
            400,
            Native,
            "base64",
        ),
        h(
            "im_size/form_invalid_utf8",
            "utf-8",
            post(
                "/im_size",
                Some("application/x-www-form-urlencoded"),
                b"image=%FF%FE%FD".to_vec(),
            ),
            400,
            Native,
            "base64",
        ),
        h(
            "im_size/form_missing_image",
            "missing",
            post(
                "/im_size",
                Some("application/x-www-form-urlencoded"),
                b"id=1&type=png".to_vec(),
            ),
            400,
            Missing("image"),
            "image",
        ),
        h(
            "im_size/form_base64_of_cut_gif",
            "image",
            post(
                "/im_size",
                Some("application/x-www-form-urlencoded"),
                format!("image={}", urlencode(&b64(&gif[..8]))).into_bytes(),
            ),
            400,
            Native,
            "truncated",
        ),
        h(
            "im_size/zero_byte_multipart",
            "empty",
            post(
                "/im_size",
                Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
                vec![],
            ),
            400,
            Native,
            "multipart",
        ),
        // --- POST /: the filter upload.
        h(
            "root/not_multipart",
            "content-type",
            post("/", Some("application/octet-stream"), good_npy.clone()),
            400,
            InputError,
            "input file",
        ),
        h(
            "root/multipart_without_array",
            "missing",
            multipart("/", &[("id", None, b"1")]),
            400,
            InputError,
            "input file",
        ),
        h(
            "root/multipart_without_boundary",
            "multipart",
            post(
                "/",
                Some("multipart/form-data"),
                multipart_body(BOUNDARY, &[("array", Some("a.npy"), &good_npy)]),
            ),
            400,
            InputError,
            "input file",
        ),
        h(
            "root/multipart_truncated_in_file",
            "multipart",
            post(
                "/",
                Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
                cut(
                    multipart_body(BOUNDARY, &[("array", Some("a.npy"), &good_npy)]),
                    200,
                ),
            ),
            400,
            Native,
            "multipart",
        ),
        h(
            "root/array_not_npy",
            "npy-header",
            multipart("/", &[("array", Some("a.npy"), b"nope")]),
            400,
            Dec("array"),
            "npy",
        ),
        h(
            "root/array_empty_file",
            "empty",
            multipart("/", &[("array", Some("a.npy"), b"")]),
            400,
            Dec("array"),
            "npy",
        ),
        h(
            "root/array_data_short",
            "data-length",
            multipart(
                "/",
                &[(
                    "array",
                    Some("a.npy"),
                    &npy_with_header(&i4("(3, 3)"), &[0; 20]),
                )],
            ),
            400,
            Dec("array"),
            "bytes",
        ),
        h(
            "root/array_header_garbled",
            "npy-header",
            multipart(
                "/",
                &[(
                    "array",
                    Some("a.npy"),
                    &npy_with_header(
                        "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 3), ",
                        &[0; 36],
                    ),
                )],
            ),
            400,
            Dec("array"),
            "header",
        ),
        h(
            "root/array_rank_9",
            "limits",
            multipart(
                "/",
                &[(
                    "array",
                    Some("a.npy"),
                    &npy_with_header(&npy_dict("'|u1'", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), &[0]),
                )],
            ),
            400,
            Dec("array"),
            "rank",
        ),
        // --- /v1/describe.
        h(
            "v1_describe/text_plain",
            "content-type",
            post("/v1/describe", Some("text/plain"), good_npy.clone()),
            415,
            Native,
            "content-type",
        ),
        h(
            "v1_describe/json_content_type",
            "content-type",
            post_json("/v1/describe", &json!({"array_data": b64(&good_npy)})),
            415,
            Native,
            "content-type",
        ),
        h(
            "v1_describe/zero_byte_body",
            "empty",
            post_npy("/v1/describe", vec![]),
            400,
            Native,
            "npy",
        ),
        h(
            "v1_describe/not_npy_magic",
            "npy-header",
            post_npy("/v1/describe", b"PK\x03\x04 a zip file perhaps".to_vec()),
            400,
            Native,
            "magic",
        ),
        h(
            "v1_describe/npy_version_9",
            "npy-header",
            post_npy("/v1/describe", npy_v(9, &i4("(2,)"), &[0; 8])),
            400,
            Native,
            "version",
        ),
        h(
            "v1_describe/npy_header_cut",
            "npy-header",
            post_npy("/v1/describe", cut(good_npy.clone(), 40)),
            400,
            Native,
            "truncated",
        ),
        h(
            "v1_describe/npy_header_over_limit",
            "npy-header",
            post_npy("/v1/describe", huge_header_v2),
            400,
            Native,
            "header",
        ),
        h(
            "v1_describe/npy_header_unterminated_dict",
            "npy-header",
            post_npy(
                "/v1/describe",
                npy_with_header(
                    "{'descr': '<i4', 'fortran_order': False, 'shape': (2,",
                    &[0; 8],
                ),
            ),
            400,
            Native,
            "header",
        ),
        h(
            "v1_describe/npy_v3_header_invalid_utf8",
            "utf-8",
            post_npy("/v1/describe", npy_v3_invalid_utf8()),
            400,
            Native,
            "header",
        ),
        h(
            "v1_describe/npy_unknown_descr",
            "dtype",
            post_npy(
                "/v1/describe",
                npy_with_header(&npy_dict("'<q7'", "(1,)"), &[0; 7]),
            ),
            400,
            Native,
            "q7",
        ),
        h(
            "v1_describe/npy_shape_overflow",
            "shape-overflow",
            post_npy(
                "/v1/describe",
                npy_with_header(&npy_dict("'<f8'", "(2305843009213693952, 8)"), &[]),
            ),
            400,
            Native,
            "shape",
        ),
        h(
            "v1_describe/npy_shape_not_ints",
            "lying-shape",
            post_npy("/v1/describe", npy_with_header(&i4("('two',)"), &[0; 8])),
            400,
            Native,
            "shape",
        ),
        h(
            "v1_describe/npy_data_short",
            "data-length",
            post_npy("/v1/describe", npy_with_header(&i4("(2, 2)"), &[0; 15])),
            400,
            Native,
            "bytes",
        ),
        h(
            "v1_describe/npy_data_long",
            "data-length",
            post_npy("/v1/describe", npy_with_header(&i4("(2, 2)"), &[0; 17])),
            400,
            Native,
            "bytes",
        ),
        h(
            "v1_describe/npy_bool_byte_255",
            "bool",
            post_npy(
                "/v1/describe",
                npy_with_header(&npy_dict("'|b1'", "(3,)"), &[0, 1, 255]),
            ),
            400,
            Native,
            "bool",
        ),
        h(
            "v1_describe/npy_rank_9",
            "limits",
            post_npy(
                "/v1/describe",
                npy_with_header(&npy_dict("'|u1'", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), &[0]),
            ),
            400,
            Native,
            "rank",
        ),
        h(
            "v1_describe/npy_over_tensor_limit",
            "limits",
            post_npy("/v1/describe", over_limit.clone()),
            413,
            Native,
            "limit",
        ),
        // A small body whose header claims a huge shape is self-evidently
        // truncated: the gateway parses it whole and says so (400 naming the
        // byte counts). Over gRPC, where the header's size is checked first,
        // the same tensor is RESOURCE_EXHAUSTED; both name the problem.
        h(
            "v1_describe/npy_header_claims_huge_shape",
            "lying-shape",
            post_npy(
                "/v1/describe",
                npy_with_header(&npy_dict("'|u1'", "(1099511627776,)"), &[0; 16]),
            ),
            400,
            Native,
            "needs 1099511627776",
        ),
        h(
            "v1_describe/streamed_npy_truncated",
            "data-length",
            post_npy("/v1/describe", streamed_short),
            400,
            Native,
            "bytes",
        ),
        h(
            "v1_describe/body_over_max_body",
            "limits",
            post_npy("/v1/describe", vec![0; MAX_BODY as usize + 1]),
            413,
            Native,
            "limit",
        ),
        // --- /v1/gaussian_filter: query parameters.
        h(
            "v1_filter/sigma_missing",
            "params",
            filter_q("mode=reflect"),
            400,
            Native,
            "sigma",
        ),
        h(
            "v1_filter/sigma_not_a_number",
            "params",
            filter_q("sigma=abc"),
            400,
            Native,
            "sigma",
        ),
        h(
            "v1_filter/sigma_inf",
            "params",
            filter_q("sigma=inf"),
            400,
            Native,
            "sigma",
        ),
        h(
            "v1_filter/sigma_1e309_overflows_to_inf",
            "params",
            filter_q("sigma=1e309"),
            400,
            Native,
            "sigma",
        ),
        h(
            "v1_filter/sigma_huge",
            "params",
            filter_q("sigma=1e12"),
            400,
            Native,
            "radius",
        ),
        h(
            "v1_filter/sigma_invalid_utf8",
            "utf-8",
            filter_q("sigma=%FF%FE"),
            400,
            Native,
            "sigma",
        ),
        h(
            "v1_filter/sigma_three_values_rank_2",
            "params",
            filter_q("sigma=1,2,3"),
            400,
            Native,
            "sigma",
        ),
        h(
            "v1_filter/order_4",
            "params",
            filter_q("sigma=1&order=4"),
            400,
            Native,
            "order",
        ),
        h(
            "v1_filter/order_negative",
            "params",
            filter_q("sigma=1&order=-1"),
            400,
            Native,
            "order",
        ),
        h(
            "v1_filter/mode_unknown",
            "params",
            filter_q("sigma=1&mode=sideways"),
            400,
            Native,
            "mode",
        ),
        h(
            "v1_filter/truncate_nan",
            "params",
            filter_q("sigma=1&truncate=nan"),
            400,
            Native,
            "truncate",
        ),
        h(
            "v1_filter/truncate_negative",
            "params",
            filter_q("sigma=1&truncate=-3"),
            400,
            Native,
            "truncate",
        ),
        h(
            "v1_filter/radius_negative",
            "params",
            filter_q("sigma=1&radius=-1"),
            400,
            Native,
            "radius",
        ),
        h(
            "v1_filter/radius_over_u32",
            "params",
            filter_q("sigma=1&radius=4294967296"),
            400,
            Native,
            "radius",
        ),
        h(
            "v1_filter/radius_just_over_limit",
            "params",
            filter_q(&format!("sigma=1&radius={}", MAX_RADIUS + 1)),
            400,
            Native,
            "radius",
        ),
        h(
            "v1_filter/axes_repeated",
            "params",
            filter_q("sigma=1&axes=1,-1"),
            400,
            Native,
            "axes",
        ),
        h(
            "v1_filter/axes_out_of_range",
            "params",
            filter_q("sigma=1&axes=5"),
            400,
            Native,
            "axes",
        ),
        h(
            "v1_filter/axes_not_integer",
            "params",
            filter_q("sigma=1&axes=0.5"),
            400,
            Native,
            "axes",
        ),
        h(
            "v1_filter/cval_not_a_number",
            "params",
            filter_q("sigma=1&mode=constant&cval=zero"),
            400,
            Native,
            "cval",
        ),
        h(
            "v1_filter/output_dtype_unknown",
            "dtype",
            filter_q("sigma=1&output_dtype=object"),
            400,
            Native,
            "output_dtype",
        ),
        h(
            "v1_filter/output_dtype_bool",
            "dtype",
            filter_q("sigma=1&output_dtype=bool"),
            400,
            Native,
            "bool",
        ),
        h(
            "v1_filter/unknown_parameter",
            "params",
            filter_q("sigma=1&colour=red"),
            400,
            Native,
            "colour",
        ),
        h(
            "v1_filter/parameter_name_invalid_utf8",
            "utf-8",
            filter_q("sigma=1&%FF=1"),
            400,
            Native,
            "parameter",
        ),
        // --- /v1/gaussian_filter: bodies.
        h(
            "v1_filter/text_plain_body",
            "content-type",
            post(
                "/v1/gaussian_filter?sigma=1",
                Some("text/plain"),
                good_npy.clone(),
            ),
            415,
            Native,
            "content-type",
        ),
        h(
            "v1_filter/npy_body_not_npy",
            "npy-header",
            post_npy("/v1/gaussian_filter?sigma=1", b"\x93NUMPX\x01\x00".to_vec()),
            400,
            Native,
            "npy",
        ),
        h(
            "v1_filter/npy_zero_byte_body",
            "empty",
            post_npy("/v1/gaussian_filter?sigma=1", vec![]),
            400,
            Native,
            "npy",
        ),
        h(
            "v1_filter/image_zero_bytes",
            "empty",
            post("/v1/gaussian_filter?sigma=1", Some("image/png"), vec![]),
            400,
            Native,
            "empty",
        ),
        h(
            "v1_filter/image_cut_in_pixels",
            "image",
            post(
                "/v1/gaussian_filter?sigma=1",
                Some("image/png"),
                cut(png.clone(), png.len() / 2),
            ),
            400,
            Native,
            "png",
        ),
        h(
            "v1_filter/image_cut_in_header",
            "image",
            post(
                "/v1/gaussian_filter?sigma=1",
                Some("image/jpeg"),
                cut(jpeg.clone(), 10),
            ),
            400,
            Native,
            "truncated",
        ),
        h(
            "v1_filter/image_unknown_format",
            "image",
            post(
                "/v1/gaussian_filter?sigma=1",
                Some("image/png"),
                b"definitely not pixels".to_vec(),
            ),
            400,
            Native,
            "format",
        ),
        h(
            "v1_filter/image_over_pixel_limit",
            "limits",
            post("/v1/gaussian_filter?sigma=1", Some("image/png"), gray_big),
            413,
            Native,
            "pixel",
        ),
        h(
            "v1_filter/image_header_lies_60000_square",
            "lying-shape",
            post(
                "/v1/gaussian_filter?sigma=1",
                Some("image/png"),
                png_claiming(60_000, 60_000),
            ),
            413,
            Native,
            "pixel",
        ),
        h(
            "v1_filter/accept_nothing_writable",
            "content-type",
            filter_q("sigma=1").header("accept", "text/html"),
            406,
            Native,
            "accept",
        ),
        // --- /v1/image_size.
        h(
            "v1_image_size/zero_bytes",
            "empty",
            post("/v1/image_size", Some("image/png"), vec![]),
            400,
            Native,
            "empty",
        ),
        h(
            "v1_image_size/unknown_format",
            "image",
            post(
                "/v1/image_size",
                Some("application/octet-stream"),
                random_bytes(2048),
            ),
            400,
            Native,
            "format",
        ),
        h(
            "v1_image_size/png_cut_in_ihdr",
            "image",
            post("/v1/image_size", Some("image/png"), cut(png.clone(), 20)),
            400,
            Native,
            "truncated",
        ),
        h(
            "v1_image_size/gif_cut_in_header",
            "image",
            post("/v1/image_size", Some("image/gif"), cut(gif.clone(), 9)),
            400,
            Native,
            "truncated",
        ),
        h(
            "v1_image_size/unknown_query_parameter",
            "params",
            post("/v1/image_size?width=3", Some("image/png"), png.clone()),
            400,
            Native,
            "width",
        ),
        h(
            "v1_image_size/jpeg_without_frame_header",
            "image",
            post(
                "/v1/image_size",
                Some("image/jpeg"),
                jpeg_endless_metadata(3),
            ),
            400,
            Native,
            "truncated",
        ),
        h(
            "v1_image_size/streamed_header_longer_than_limit",
            "limits",
            post(
                "/v1/image_size",
                Some("image/jpeg"),
                jpeg_endless_metadata(20),
            ),
            413,
            Native,
            "header",
        ),
    ]
}

/// Percent-encodes base64 for a urlencoded form body.
fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

// ---------------------------------------------------------------------------
// Running a case.

/// What came back.
enum Outcome {
    Grpc(Result<(), tonic::Status>),
    Http {
        status: u16,
        input_error: Option<String>,
        body: String,
    },
}

struct Env {
    client: TensorServiceClient<Channel>,
    raw: tonic::client::Grpc<Channel>,
    gw: Gateway,
}

async fn run(env: &mut Env, call: Call) -> Outcome {
    let client = &mut env.client;
    let status = match call {
        Call::Describe(m) => client.describe(m).await.map(drop),
        Call::DescribeStream(m) => client
            .describe_stream(futures::stream::iter(m))
            .await
            .map(drop),
        Call::Filter(m) => client.gaussian_filter(m).await.map(drop),
        Call::FilterStream(m) => {
            match client
                .gaussian_filter_stream(futures::stream::iter(m))
                .await
            {
                Err(status) => Err(status),
                Ok(answer) => {
                    let mut answer = answer.into_inner();
                    let mut result = Ok(());
                    while let Some(item) = answer.next().await {
                        if let Err(status) = item {
                            result = Err(status);
                            break;
                        }
                    }
                    result
                }
            }
        }
        Call::ImageSize(m) => client.image_size(m).await.map(drop),
        Call::ImageSizeStream(m) => client
            .image_size_stream(futures::stream::iter(m))
            .await
            .map(drop),
        Call::RawUnary(method, bytes) => {
            let path = raw_path(method);
            match env.raw.ready().await {
                Err(e) => Err(tonic::Status::unavailable(e.to_string())),
                Ok(()) => env
                    .raw
                    .unary(tonic::Request::new(Bytes::from(bytes)), path, RawCodec)
                    .await
                    .map(drop),
            }
        }
        Call::RawStream(method, messages) => {
            let path = raw_path(method);
            let messages = futures::stream::iter(messages.into_iter().map(Bytes::from));
            match env.raw.ready().await {
                Err(e) => Err(tonic::Status::unavailable(e.to_string())),
                Ok(()) => {
                    if method == "GaussianFilterStream" {
                        match env
                            .raw
                            .streaming(tonic::Request::new(messages), path, RawCodec)
                            .await
                        {
                            Err(status) => Err(status),
                            Ok(answer) => {
                                let mut answer = answer.into_inner();
                                let mut result = Ok(());
                                while let Some(item) = answer.next().await {
                                    if let Err(status) = item {
                                        result = Err(status);
                                        break;
                                    }
                                }
                                result
                            }
                        }
                    } else {
                        env.raw
                            .client_streaming(tonic::Request::new(messages), path, RawCodec)
                            .await
                            .map(drop)
                    }
                }
            }
        }
        Call::Http(req) => {
            let mut builder = env
                .gw
                .http
                .request(req.method, env.gw.url(&req.path))
                .body(req.body);
            for (name, value) in req.headers {
                builder = builder.header(name, value);
            }
            return match builder.send().await {
                Err(e) => Outcome::Http {
                    status: 0,
                    input_error: None,
                    body: format!("transport error: {e}"),
                },
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    let input_error = answer
                        .headers()
                        .get("input-error")
                        .map(|v| v.to_str().unwrap_or("(not text)").to_owned());
                    let body = answer
                        .text()
                        .await
                        .unwrap_or_else(|e| format!("(unreadable body: {e})"));
                    Outcome::Http {
                        status,
                        input_error,
                        body,
                    }
                }
            };
        }
    };
    Outcome::Grpc(status)
}

fn raw_path(method: &str) -> PathAndQuery {
    PathAndQuery::try_from(format!("/tensorwire.v1.TensorService/{method}")).unwrap()
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn short(text: &str) -> String {
    if text.len() > 400 {
        let mut end = 400;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}… ({} bytes)", &text[..end], text.len())
    } else {
        text.to_owned()
    }
}

fn code_name_of(status: u16) -> &'static str {
    match status {
        400 | 406 | 415 => "INVALID_ARGUMENT",
        413 | 429 => "RESOURCE_EXHAUSTED",
        404 => "NOT_FOUND",
        _ => "?",
    }
}

/// Checks an outcome against the case; the error says what differs.
fn check(expect: &Expect, needle: &str, outcome: &Outcome) -> Result<(), String> {
    match (expect, outcome) {
        (Expect::Grpc(code), Outcome::Grpc(result)) => {
            let status = match result {
                Ok(()) => return Err(format!("expected {code:?}, got OK")),
                Err(status) => status,
            };
            let mut problems = Vec::new();
            if status.code() != *code {
                problems.push(format!("expected {code:?}, got {:?}", status.code()));
            }
            if !contains(status.message(), needle) {
                problems.push(format!("message lacks {:?}", needle));
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{}; actual: {:?} {:?}",
                    problems.join("; "),
                    status.code(),
                    short(status.message())
                ))
            }
        }
        (
            Expect::Http(want, form),
            Outcome::Http {
                status,
                input_error,
                body,
            },
        ) => {
            let mut problems = Vec::new();
            if status != want {
                problems.push(format!("expected HTTP {want}, got {status}"));
            }
            let parsed: Option<Value> = serde_json::from_str(body).ok();
            let message = parsed
                .as_ref()
                .and_then(|v| v.get("message"))
                .and_then(Value::as_str);
            let code = parsed
                .as_ref()
                .and_then(|v| v.get("code"))
                .and_then(Value::as_str);
            match (message, code) {
                (Some(_), Some(code)) => {
                    if code != code_name_of(*want) {
                        problems.push(format!("code {code:?}, expected {:?}", code_name_of(*want)));
                    }
                    if let Some(obj) = parsed.as_ref().and_then(Value::as_object)
                        && obj.keys().any(|k| k != "message" && k != "code")
                    {
                        problems.push("error body has keys other than message and code".into());
                    }
                }
                _ => problems.push("error body is not JSON {\"message\", \"code\"}".into()),
            }
            let message = message.unwrap_or("");
            match form {
                Form::Native => {}
                Form::SeedDecode(what) => {
                    let prefix = format!("Error decoding {what}: ");
                    if !message.starts_with(&prefix) {
                        problems.push(format!("message does not start with {prefix:?}"));
                    }
                }
                Form::SeedMissing(field) => {
                    let exact = format!("Missing '{field}'");
                    if message != exact {
                        problems.push(format!("message is not {exact:?}"));
                    }
                }
                Form::InputError => {
                    if input_error.as_deref() != Some("No input file received") {
                        problems.push(format!(
                            "Input-Error header is {input_error:?}, expected \"No input file received\""
                        ));
                    }
                }
            }
            let named = contains(message, needle)
                || matches!(form, Form::InputError)
                    && input_error.as_deref().is_some_and(|v| contains(v, needle));
            if !named {
                problems.push(format!("message lacks {:?}", needle));
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{}; actual: HTTP {status} {}",
                    problems.join("; "),
                    short(body)
                ))
            }
        }
        _ => Err("the case mixes transports".into()),
    }
}

/// A known-good request after each case, rotating over gRPC `Describe`,
/// `/v1/describe` and `/receive_array`.
async fn follow_up(env: &mut Env, index: usize) -> Result<(), String> {
    match index % 3 {
        0 => {
            let info = env
                .client
                .describe(t(U8, &[3], vec![1, 2, 3]))
                .await
                .map_err(|s| format!("gRPC Describe failed: {:?} {}", s.code(), s.message()))?
                .into_inner();
            if info.shape != [3] || info.mean != Some(2.0) {
                return Err(format!("gRPC Describe answered {info:?}"));
            }
        }
        1 => {
            let answer = env
                .gw
                .http
                .post(env.gw.url("/v1/describe"))
                .header("content-type", "application/x-npy")
                .body(npy(&counting_i32(&[2, 3])))
                .send()
                .await
                .map_err(|e| format!("/v1/describe: {e}"))?;
            let status = answer.status().as_u16();
            let body: Value = answer.json().await.map_err(|e| e.to_string())?;
            if status != 200 || body["shape"] != json!([2, 3]) || body["max"] != json!(5.0) {
                return Err(format!("/v1/describe answered {status} {body}"));
            }
        }
        _ => {
            let answer = env
                .gw
                .http
                .post(env.gw.url("/receive_array"))
                .json(&json!({"array_data": b64(&npy(&varied_f64(&[4, 2])))}))
                .send()
                .await
                .map_err(|e| format!("/receive_array: {e}"))?;
            let status = answer.status().as_u16();
            let body: Value = answer.json().await.map_err(|e| e.to_string())?;
            let expected = json!({"message": "Array received successfully", "shape": [4, 2]});
            if status != 200 || body != expected {
                return Err(format!("/receive_array answered {status} {body}"));
            }
        }
    }
    Ok(())
}

/// Inputs that look wrong but are valid. Parameters that scipy accepts, which
/// the contract's scipy-exact filter must accept too: a NaN or infinite `cval` (used as a
/// fill value), and a NaN, negative or -inf sigma (scipy skips every axis
/// whose sigma is not > 1e-15, so the input comes back unchanged on it).
async fn valid_but_odd_inputs(env: &mut Env) -> Vec<String> {
    let mut failures = Vec::new();
    let input = tensorwire::proto::tensor_to_wire(varied_f64(&[4, 5]));
    let smoothed_axis_0 = env
        .client
        .gaussian_filter(pb::GaussianFilterRequest {
            tensor: Some(input.clone()),
            params: Some(pb::GaussianParams {
                axes: vec![0],
                ..sigma(&[1.0])
            }),
        })
        .await
        .expect("a plain filter")
        .into_inner();
    let cases: Vec<(&str, pb::GaussianParams, Option<&pb::Tensor>)> = vec![
        (
            "cval_nan",
            pb::GaussianParams {
                mode: vec![pb::Mode::Constant as i32],
                cval: f64::NAN,
                ..sigma(&[1.0])
            },
            None,
        ),
        (
            "cval_inf",
            pb::GaussianParams {
                mode: vec![pb::Mode::Constant as i32],
                cval: f64::INFINITY,
                ..sigma(&[1.0])
            },
            None,
        ),
        ("sigma_nan", sigma(&[f64::NAN]), Some(&input)),
        ("sigma_negative", sigma(&[-1.0]), Some(&input)),
        (
            "sigma_minus_inf_on_axis_1",
            sigma(&[1.0, f64::NEG_INFINITY]),
            Some(&smoothed_axis_0),
        ),
    ];
    for (name, params, expected) in cases {
        let answer = env
            .client
            .gaussian_filter(pb::GaussianFilterRequest {
                tensor: Some(input.clone()),
                params: Some(params),
            })
            .await;
        match answer {
            Err(status) => failures.push(format!(
                "scipy_accepts/{name}: scipy accepts it, the server answered {:?} {}",
                status.code(),
                status.message()
            )),
            Ok(answer) => {
                if let Some(expected) = expected
                    && answer.get_ref() != expected
                {
                    failures.push(format!(
                        "scipy_accepts/{name}: the result differs from scipy's"
                    ));
                }
            }
        }
    }
    for query in ["sigma=NaN", "sigma=-2"] {
        let body = npy(&counting_i32(&[4, 5]));
        let answer = env
            .gw
            .http
            .post(env.gw.url(&format!("/v1/gaussian_filter?{query}")))
            .header("content-type", "application/x-npy")
            .body(body.clone())
            .send()
            .await;
        match answer {
            Err(e) => failures.push(format!("scipy_accepts/{query}: {e}")),
            Ok(answer) => {
                let status = answer.status().as_u16();
                let bytes = answer.bytes().await.unwrap_or_default();
                if status != 200 || read_npy(&bytes) != counting_i32(&[4, 5]) {
                    failures.push(format!(
                        "scipy_accepts/{query}: expected 200 and the input unchanged, got {status}"
                    ));
                }
            }
        }
    }
    // Valid JSON the seed route does not read: 100 000 levels of nesting in
    // an ignored field are skipped without recursion, and the call succeeds.
    let deep_other = format!(
        "{{\"other\": {}, \"array_data\": \"{}\"}}",
        nested(100_000),
        b64(&npy(&counting_i32(&[2, 3])))
    );
    let answer = env
        .gw
        .http
        .post(env.gw.url("/receive_array"))
        .header("content-type", "application/json")
        .body(deep_other)
        .send()
        .await;
    match answer {
        Err(e) => failures.push(format!("accepted/json_100000_deep_other_field: {e}")),
        Ok(answer) => {
            let status = answer.status().as_u16();
            let body = answer.text().await.unwrap_or_default();
            if status != 200 || !body.contains("[2,3]") {
                failures.push(format!(
                    "accepted/json_100000_deep_other_field: expected 200, got {status} {body}"
                ));
            }
        }
    }
    failures
}

// ---------------------------------------------------------------------------
// The tests: one per concern, each running its part of the table against its
// own server and naming every case that fails.

/// The concerns the battery is split into (one test each), and the
/// categories of cases each holds. Every category belongs to exactly one
/// concern ([`the_table_is_whole`] checks it).
const CONCERNS: &[(&str, &[&str])] = &[
    (
        "tensors",
        &[
            "npy-header",
            "dtype",
            "shape-overflow",
            "lying-shape",
            "data-length",
            "bool",
        ],
    ),
    ("filter-parameters", &["params", "enum"]),
    ("limits", &["limits"]),
    ("images", &["image"]),
    ("streams", &["stream-order", "empty"]),
    (
        "encodings",
        &[
            "base64",
            "utf-8",
            "json",
            "multipart",
            "content-type",
            "missing",
            "wire",
        ],
    ),
];

/// The concern of a case's category, if it has one.
fn concern_of(category: &str) -> Option<&'static str> {
    CONCERNS
        .iter()
        .find(|(_, categories)| categories.contains(&category))
        .map(|(concern, _)| *concern)
}

/// The whole table: gRPC cases, then HTTP cases.
fn all_cases() -> Vec<Case> {
    let mut cases = grpc_cases();
    cases.extend(http_cases());
    cases
}

/// A server with the battery's small limits, and the clients that call it.
async fn start_env() -> Env {
    let gw = start_with(|c| {
        c.limits.max_tensor_bytes = MAX_TENSOR;
        c.limits.max_rank = MAX_RANK;
        c.limits.max_message_bytes = MAX_MESSAGE;
        c.limits.max_radius = MAX_RADIUS;
        c.limits.max_image_pixels = MAX_PIXELS;
        c.limits.max_image_header_bytes = 64 << 10;
        c.gateway.max_body_bytes = MAX_BODY;
        c.gateway.stream_threshold_bytes = MIB;
        c.gateway.upload_chunk_bytes = 256 << 10;
    })
    .await;
    let client = gw.server.client().await;
    let channel = Channel::from_shared(format!("http://{}", gw.server.grpc_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let raw = tonic::client::Grpc::new(channel);
    Env { client, raw, gw }
}

/// Runs the cases of `concern` against a fresh server: each must be
/// refused as its row says, and a known-good request must succeed after
/// it. Fails naming every case that did not.
async fn battery(concern: &str) {
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|case| concern_of(case.category) == Some(concern))
        .collect();
    assert!(!cases.is_empty(), "no cases for {concern}");
    let mut env = start_env().await;
    let total = cases.len();
    let mut failures = Vec::new();
    let mut by_category: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
    for (index, case) in cases.into_iter().enumerate() {
        let Case {
            name,
            category,
            call,
            expect,
            needle,
        } = case;
        *by_category.entry((category, call.transport())).or_default() += 1;
        let request = call.describe();
        match tokio::time::timeout(CALL_TIMEOUT, run(&mut env, call)).await {
            Err(_) => failures.push(format!(
                "{name} [{request}]: no answer within {CALL_TIMEOUT:?}"
            )),
            Ok(outcome) => {
                if let Err(problem) = check(&expect, needle, &outcome) {
                    failures.push(format!("{name} [{request}]: {problem}"));
                }
            }
        }
        match tokio::time::timeout(CALL_TIMEOUT, follow_up(&mut env, index)).await {
            Err(_) => failures.push(format!(
                "{name}: the follow-up request did not answer within {CALL_TIMEOUT:?}"
            )),
            Ok(Err(problem)) => {
                failures.push(format!("{name}: the follow-up request failed: {problem}"))
            }
            Ok(Ok(())) => {}
        }
    }
    let summary: Vec<String> = by_category
        .iter()
        .map(|((category, transport), n)| format!("{category}/{transport}: {n}"))
        .collect();
    println!("{concern}: {total} cases: {}", summary.join(", "));
    env.gw.server.stop().await;
    assert!(
        failures.is_empty(),
        "{} of {total} {concern} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The table has at least 100 cases with distinct names, and every case's
/// category belongs to one concern, so the tests below run every case.
#[test]
fn the_table_is_whole() {
    let cases = all_cases();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut names = HashSet::new();
    let mut per_concern: std::collections::BTreeMap<&str, usize> = Default::default();
    for case in &cases {
        assert!(
            names.insert(case.name.clone()),
            "duplicate case {}",
            case.name
        );
        let concern = concern_of(case.category).unwrap_or_else(|| {
            panic!(
                "case {} has category {:?}, which no concern in CONCERNS holds",
                case.name, case.category
            )
        });
        *per_concern.entry(concern).or_default() += 1;
    }
    for (concern, categories) in CONCERNS {
        for category in *categories {
            assert_eq!(
                CONCERNS
                    .iter()
                    .filter(|(_, c)| c.contains(category))
                    .count(),
                1,
                "category {category} is in more than one concern"
            );
        }
        assert!(per_concern.contains_key(concern), "no cases for {concern}");
    }
    println!("{} cases: {per_concern:?}", cases.len());
}

/// Broken `.npy` headers, dtype codes, shapes that overflow or lie, data
/// of the wrong length, bool bytes other than 0 and 1.
#[tokio::test(flavor = "multi_thread")]
async fn bad_tensors_are_refused_by_name() {
    battery("tensors").await;
}

/// NaN, infinite, negative or huge filter parameters and out-of-range enums.
#[tokio::test(flavor = "multi_thread")]
async fn bad_filter_parameters_are_refused_by_name() {
    battery("filter-parameters").await;
}

/// Sizes just over a limit: tensor bytes, rank, messages, bodies, radius,
/// pixels, image headers.
#[tokio::test(flavor = "multi_thread")]
async fn inputs_over_a_limit_are_refused_by_name() {
    battery("limits").await;
}

/// Truncated, unknown and lying images.
#[tokio::test(flavor = "multi_thread")]
async fn bad_images_are_refused_by_name() {
    battery("images").await;
}

/// Streams out of order and empty requests.
#[tokio::test(flavor = "multi_thread")]
async fn streams_out_of_order_and_empty_requests_are_refused_by_name() {
    battery("streams").await;
}

/// Invalid base64, UTF-8, JSON, multipart, content types, missing fields
/// and undecodable protobuf.
#[tokio::test(flavor = "multi_thread")]
async fn bad_encodings_are_refused_by_name() {
    battery("encodings").await;
}

/// Inputs that look wrong but are valid succeed with scipy's answer.
#[tokio::test(flavor = "multi_thread")]
async fn valid_but_odd_inputs_succeed() {
    let mut env = start_env().await;
    let failures = valid_but_odd_inputs(&mut env).await;
    env.gw.server.stop().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
