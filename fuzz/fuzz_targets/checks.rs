//! What the fuzz targets check, one function per target.
//!
//! Shared word for word with the main crate's `tests/integration/fuzz_regressions.rs`
//! (it includes this file with `#[path]`), which replays the seeds and every
//! input a fuzzer ever crashed on through the same functions. Each function
//! takes the raw fuzz input, panics when a property fails, and returns
//! whether the input was accepted (`Ok`), so the replay can also pin the
//! expected outcome.

use bytes::Bytes;
use prost::Message;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use tensorwire::image::{HeaderReader, ImageError, ImageLimits, read_image_header};
use tensorwire::json::list::{ListError, MAX_DEPTH, tensor_from_json_body};
use tensorwire::kserve::pb as kserve_pb;
use tensorwire::kserve::rest::{BinaryOutputs, read_infer_request, write_infer_response};
use tensorwire::kserve::tensor::{
    checked_shape, dtype_of as kserve_dtype_of, half_to_f64, input_data,
};
use tensorwire::npy::{NpyError, read_npy, read_npy_header, write_npy};
use tensorwire::proto::{dtype_from_wire, pb, tensor_from_wire, tensor_to_wire};
use tensorwire::tensor::{
    DType, Tensor, TensorError, TensorLimits, check_bool_bytes, validate_shape,
};

/// Small limits, so the fuzzer does not spend its time on big buffers.
pub const SMALL_LIMITS: TensorLimits = TensorLimits {
    max_rank: 8,
    max_bytes: 4 << 20,
};

/// No limit at all: for re-reading a tensor that is already valid.
const NO_LIMITS: TensorLimits = TensorLimits {
    max_rank: usize::MAX,
    max_bytes: u64::MAX,
};

/// Properties every valid tensor has, whatever produced it.
fn check_tensor(t: &Tensor) {
    assert_eq!(t.nbytes(), t.len() * t.dtype().itemsize(), "{t:?}");
    if t.dtype() == DType::Bool {
        assert_eq!(check_bool_bytes(t.data(), 0), Ok(()));
    }
    // The typed ndarray view (what describe and the filter use) must accept
    // every valid tensor, and convert back to it.
    assert_eq!(&t.to_array().to_tensor(), t);
    // The wire message of a tensor reads back as the same tensor.
    let back = tensor_from_wire(tensor_to_wire(t.clone()), &NO_LIMITS);
    assert_eq!(back.as_ref(), Ok(t));
}

// ---------------------------------------------------------------- npy_reader

/// `npy_reader`: the input is a `.npy` file. Read with small and with the
/// default limits (the default ones check that nothing is allocated from a
/// size in the header before the data length is checked: run with
/// `-rss_limit_mb=2048`); the incremental header parse agrees with the
/// whole-file one on every prefix; a tensor read writes back and reads again
/// as itself.
pub fn npy_reader(file: &[u8]) -> bool {
    let header = read_npy_header(file);
    if let Ok(Some(h)) = &header {
        assert!(h.data_offset <= file.len());
        for cut in [
            0,
            3,
            6,
            7,
            8,
            9,
            10,
            11,
            12,
            h.data_offset / 2,
            h.data_offset - 1,
        ] {
            if cut < h.data_offset {
                assert_eq!(read_npy_header(&file[..cut]), Ok(None), "prefix {cut}");
            }
        }
        assert_eq!(
            read_npy_header(&file[..h.data_offset]).as_ref(),
            Ok(&Some(h.clone()))
        );
    }
    let small = read_npy(Bytes::copy_from_slice(file), &SMALL_LIMITS);
    let default = read_npy(Bytes::copy_from_slice(file), &TensorLimits::default());
    if let Ok(t) = &small {
        assert_eq!(default.as_ref(), Ok(t));
    }
    match &default {
        Ok(t) => {
            let h = header.expect("read_npy succeeded").expect("whole header");
            assert_eq!((t.dtype(), t.shape_u64()), (h.dtype, h.shape.clone()));
            check_tensor(t);
            let again = read_npy(Bytes::from(write_npy(t)), &NO_LIMITS);
            assert_eq!(again.as_ref(), Ok(t));
        }
        Err(NpyError::Truncated { .. }) => assert_eq!(header, Ok(None)),
        Err(_) => {}
    }
    default.is_ok()
}

// --------------------------------------------------------- tensor_validation

/// The parts of a tensor message.
struct Parts {
    code: i32,
    shape: Vec<u64>,
    data: Bytes,
    /// Where the data is cut into pieces for the streamed bool check.
    cuts: Vec<usize>,
}

/// Decodes the fuzz input. Byte 0 even: the rest is a protobuf `Tensor`
/// message, decoded as the server decodes it. Byte 0 odd: byte 1 is the dtype
/// code (as `i8`), byte 2 the rank (mod 40), then one byte per axis (below
/// 0xe0: the axis is that byte mod 16; else the next 8 bytes are the axis,
/// little-endian), and the rest is the data.
fn parts(input: &[u8]) -> Option<Parts> {
    let (&mode, rest) = input.split_first()?;
    let cuts = vec![usize::from(mode >> 1), usize::from(mode >> 1) * 3];
    if mode & 1 == 0 {
        let message = pb::Tensor::decode(rest).ok()?;
        return Some(Parts {
            code: message.dtype,
            shape: message.shape,
            data: message.data,
            cuts,
        });
    }
    let [code, rank, rest @ ..] = rest else {
        return None;
    };
    let mut rest = rest;
    let mut shape = Vec::new();
    for _ in 0..rank % 40 {
        let (&tag, after) = rest.split_first()?;
        rest = after;
        if tag < 0xe0 {
            shape.push(u64::from(tag % 16));
        } else {
            let mut axis = [0u8; 8];
            let n = rest.len().min(8);
            axis[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            shape.push(u64::from_le_bytes(axis));
        }
    }
    Some(Parts {
        code: i32::from(*code as i8),
        shape,
        data: Bytes::copy_from_slice(rest),
        cuts,
    })
}

/// What `validate_shape` should say, computed independently and the way
/// NumPy does: the product of the non-zero axes must fit (NumPy: "array is
/// too big"; ndarray, which the views use, wants it at most `isize::MAX`),
/// then the byte size must be under the limit. Returns the element count.
fn expected_len(dtype: DType, shape: &[u64], limits: &TensorLimits) -> Result<u128, &'static str> {
    if shape.len() > limits.max_rank {
        return Err("rank");
    }
    let mut nonzero: u128 = 1;
    for &axis in shape.iter().filter(|&&a| a != 0) {
        nonzero = nonzero.saturating_mul(u128::from(axis));
    }
    if nonzero > isize::MAX as u128 {
        return Err("overflow");
    }
    let len = if shape.contains(&0) { 0 } else { nonzero };
    if len * dtype.itemsize() as u128 > u128::from(limits.max_bytes) {
        return Err("too large");
    }
    Ok(len)
}

/// `tensor_validation`: dtype code, shape and data from the wire through
/// `dtype_from_wire`, `validate_shape`, `Tensor::new`, `check_bool_bytes` and
/// `tensor_from_wire`, with small and default limits; they agree with each
/// other and with an independent size computation, and every tensor they
/// accept is usable (typed view, wire round trip).
pub fn tensor_validation(input: &[u8]) -> bool {
    let Some(p) = parts(input) else {
        return false;
    };
    let mut accepted = false;
    for limits in [SMALL_LIMITS, TensorLimits::default()] {
        let message = pb::Tensor {
            dtype: p.code,
            shape: p.shape.clone(),
            data: p.data.clone(),
        };
        let from_wire = tensor_from_wire(message, &limits);
        let dtype = match dtype_from_wire(p.code) {
            Ok(dtype) => dtype,
            Err(err) => {
                assert!(!(1..=15).contains(&p.code));
                assert_eq!(from_wire, Err(err));
                return false;
            }
        };
        let valid = validate_shape(dtype, &p.shape, &limits);
        match (&valid, expected_len(dtype, &p.shape, &limits)) {
            (Ok(v), Ok(len)) => {
                assert_eq!(v.len as u128, len);
                assert_eq!(v.nbytes, v.len * dtype.itemsize());
                assert!(
                    v.shape
                        .iter()
                        .map(|&a| a as u64)
                        .eq(p.shape.iter().copied())
                );
            }
            (Err(TensorError::RankTooLarge { .. }), Err("rank"))
            | (Err(TensorError::ShapeOverflow { .. }), Err("overflow"))
            | (Err(TensorError::TooLarge { .. }), Err("too large")) => {}
            (got, want) => panic!("validate_shape {:?}: {got:?}, expected {want:?}", p.shape),
        }
        // The streamed check, piece by piece, finds the same first bad byte.
        let whole = check_bool_bytes(&p.data, 0);
        let mut streamed = Ok(());
        let mut start = 0;
        for cut in p.cuts.iter().copied().chain([p.data.len()]) {
            let end = cut.clamp(start, p.data.len());
            if streamed.is_ok() {
                streamed = check_bool_bytes(&p.data[start..end], start);
            }
            start = end;
        }
        assert_eq!(whole, streamed);
        let new = Tensor::new(dtype, &p.shape, p.data.clone(), &limits);
        assert_eq!(new, from_wire);
        let should = valid.as_ref().is_ok_and(|v| v.nbytes == p.data.len())
            && (dtype != DType::Bool || whole.is_ok());
        assert_eq!(new.is_ok(), should, "{new:?}");
        if let Ok(t) = &new {
            check_tensor(t);
        }
        accepted = new.is_ok();
    }
    accepted
}

// ----------------------------------------------------------------- json_list

/// An object's entries in order, duplicates kept (`Value` keeps the last).
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        de.deserialize_map(V)
    }
}

/// The shape of a nested list and its scalars in C order, as
/// `numpy.array(list)` reads it; `None` when NumPy would not make a numeric
/// array of it (ragged, mixed, strings, null, objects, too deep).
fn numpy_shape(v: &Value, depth: usize, out: &mut Vec<Value>) -> Option<Vec<u64>> {
    match v {
        Value::Bool(_) | Value::Number(_) => {
            out.push(v.clone());
            Some(Vec::new())
        }
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let mut inner: Option<Vec<u64>> = None;
            for item in items {
                let shape = numpy_shape(item, depth + 1, out)?;
                if inner.get_or_insert_with(|| shape.clone()) != &shape {
                    return None;
                }
            }
            let mut shape = vec![items.len() as u64];
            shape.extend(inner.unwrap_or_default());
            Some(shape)
        }
        _ => None,
    }
}

/// `json_list`: the input is an HTTP body; `tensor_from_json_body` reads its
/// `array_list` field. It agrees with a `serde_json::Value` reading of the
/// same body on whether it is accepted and on the shape, dtype and values.
pub fn json_list(body: &[u8]) -> bool {
    let result = tensor_from_json_body(body, "array_list");
    let parsed = serde_json::from_slice::<Entries>(body);
    if parsed
        .as_ref()
        .is_err_and(|e| e.to_string().contains("number out of range"))
    {
        // `Value` refuses a number like 1e999 anywhere; the reader only in
        // the list, and skips it in other fields, as Python's json (Flask)
        // reads it as inf. Not a property of the reader; nothing to compare.
        if let Ok(t) = &result {
            check_tensor(t);
        }
        return result.is_ok();
    }
    let expected = parsed.ok().map(|Entries(entries)| {
        let list = entries.into_iter().find(|(k, _)| k == "array_list")?.1;
        let mut scalars = Vec::new();
        let shape = numpy_shape(&list, 0, &mut scalars);
        Some(shape.map(|s| (s, scalars)))
    });
    match (&result, expected) {
        (Err(ListError::Missing), Some(None)) => {}
        (Err(ListError::Invalid(_)), None | Some(Some(None))) => {}
        (Ok(t), Some(Some(Some((shape, scalars))))) => {
            check_tensor(t);
            assert_eq!(t.shape_u64(), shape);
            let dtype = if scalars.is_empty()
                || scalars
                    .iter()
                    .any(|s| s.as_f64().is_some() && !s.is_i64() && !s.is_u64())
            {
                DType::Float64
            } else if scalars.iter().all(Value::is_boolean) {
                DType::Bool
            } else if scalars
                .iter()
                .any(|s| s.as_u64().is_some_and(|u| u > i64::MAX as u64))
            {
                DType::UInt64
            } else {
                DType::Int64
            };
            assert_eq!(t.dtype(), dtype);
            for (chunk, s) in t.data().chunks_exact(dtype.itemsize()).zip(&scalars) {
                let want: Vec<u8> = match (dtype, s) {
                    (_, Value::Bool(b)) if dtype == DType::Bool => vec![u8::from(*b)],
                    (DType::Float64, Value::Bool(b)) => {
                        f64::from(u8::from(*b)).to_le_bytes().to_vec()
                    }
                    (_, Value::Bool(b)) => u64::from(*b).to_le_bytes().to_vec(),
                    (DType::Float64, _) => s.as_f64().unwrap().to_le_bytes().to_vec(),
                    (DType::UInt64, _) => s.as_u64().unwrap().to_le_bytes().to_vec(),
                    _ => s.as_i64().unwrap().to_le_bytes().to_vec(),
                };
                assert_eq!(chunk, want, "{s}");
            }
        }
        (Err(ListError::Invalid(m)), Some(Some(Some(_))))
            if m.contains("do not all fit in int64 or uint64") => {}
        (got, want) => panic!("json_list: {got:?}, expected {want:?}"),
    }
    result.is_ok()
}

// -------------------------------------------------------------- image_header

/// `image_header`: byte 0 picks a filename hint, byte 1 the piece size and
/// byte 2 the `max_header_bytes` of the incremental reader; the rest is the
/// image. Both readers must answer without panicking (decoder panics are
/// caught by `image::header`), and when both find a header, the same one.
pub fn image_header(input: &[u8]) -> bool {
    let [hint, piece, max, image @ ..] = input else {
        return false;
    };
    let hint =
        [None, Some("x.tga"), Some("png"), Some("a.JPG"), Some("tga")][usize::from(*hint) % 5];
    let whole = read_image_header(image, hint);
    if let Ok(h) = &whole {
        assert!(h.channels <= 4 && h.bit_depth <= 64, "{h:?}");
    }
    let limits = ImageLimits {
        max_header_bytes: 16 + usize::from(*max) * 64,
        ..ImageLimits::default()
    };
    let mut reader = HeaderReader::new(hint, &limits);
    let mut streamed = None;
    for chunk in image.chunks(1 + usize::from(*piece)) {
        match reader.push(chunk) {
            Ok(None) => {}
            Ok(Some(h)) => {
                streamed = Some(Ok(h));
                break;
            }
            Err(e) => {
                streamed = Some(Err(e));
                break;
            }
        }
        assert!(reader.bytes_buffered() <= limits.max_header_bytes);
    }
    let streamed = streamed.unwrap_or_else(|| reader.finish());
    if let (Ok(a), Ok(b)) = (&whole, &streamed) {
        assert_eq!(a, b, "streamed and whole headers differ");
    }
    if let Err(ImageError::Internal(m)) = &whole {
        panic!("internal error: {m}");
    }
    whole.is_ok()
}

// --------------------------------------------------------------- kserve_rest

/// `kserve_rest`: byte 0 bit 0 set: bytes 1-2 (little-endian) are the
/// `Inference-Header-Content-Length` and the rest is the body; clear: the
/// rest is a JSON body. The body goes through `kserve::rest`'s
/// `read_infer_request` as the gateway reads it. An accepted request has a
/// JSON part that `serde_json::Value` reads too, one raw content per input,
/// and every input whose data came as JSON has exactly the bytes its shape
/// needs; inputs that the service then takes (`checked_shape`, `input_data`)
/// go back out through `write_infer_response` in binary (the tail is their
/// bytes) and as JSON, and the JSON answer, read again as a request, gives
/// the same bytes (bools as 0/1; not compared when a float is not finite,
/// which JSON cannot carry).
pub fn kserve_rest(input: &[u8]) -> bool {
    let Some((&mode, rest)) = input.split_first() else {
        return false;
    };
    let (header_length, body) = match rest {
        [lo, hi, body @ ..] if mode & 1 == 1 => {
            (Some(usize::from(u16::from_le_bytes([*lo, *hi]))), body)
        }
        _ => (None, rest),
    };
    let read = read_infer_request(
        "gaussian_filter",
        "",
        header_length,
        Bytes::copy_from_slice(body),
    );
    let Ok((request, _)) = read else {
        return false;
    };
    let json_part = &body[..header_length.unwrap_or(body.len())];
    let inputs = match serde_json::from_slice::<Value>(json_part) {
        Ok(mut value) => match value["inputs"].take() {
            Value::Array(inputs) => inputs,
            other => panic!("an accepted request has an inputs array, not {other}"),
        },
        // As in `json_list`: a huge number in a field the codec skips.
        Err(e) if e.to_string().contains("number out of range") => return true,
        Err(e) => panic!("kserve_rest accepted JSON that serde_json refuses: {e}"),
    };
    assert_eq!(request.inputs.len(), inputs.len());
    assert_eq!(request.raw_input_contents.len(), inputs.len());
    let mut outputs = Vec::new();
    let mut datas = Vec::new();
    for ((tensor, raw), json) in request
        .inputs
        .iter()
        .zip(&request.raw_input_contents)
        .zip(&inputs)
    {
        let Ok(dtype) = kserve_dtype_of(&tensor.datatype, "input") else {
            continue;
        };
        let Ok((_, valid)) = checked_shape(dtype, &tensor.shape, &SMALL_LIMITS, "input") else {
            continue;
        };
        let taken = input_data(dtype, &valid, Some(raw.clone()), None, "input");
        if json.get("data").is_some() {
            // JSON data was counted against the shape: always the right size.
            assert_eq!(raw.len(), valid.nbytes, "{tensor:?}");
        }
        let Ok(data) = taken else {
            assert_ne!(raw.len(), valid.nbytes, "input_data refused the right size");
            continue;
        };
        outputs.push(kserve_pb::model_infer_response::InferOutputTensor {
            name: tensor.name.clone(),
            datatype: tensor.datatype.clone(),
            shape: tensor.shape.clone(),
            ..Default::default()
        });
        datas.push((dtype, data));
    }
    let response = kserve_pb::ModelInferResponse {
        model_name: "m".into(),
        outputs,
        raw_output_contents: datas.iter().map(|(_, d)| d.clone()).collect(),
        ..Default::default()
    };
    // In binary: the tail is the outputs' bytes, in order.
    let (_, all_binary) = read_infer_request(
        "m",
        "",
        None,
        Bytes::from_static(br#"{"inputs": [], "parameters": {"binary_data_output": true}}"#),
    )
    .expect("a request with no inputs");
    let (answer, json_len) =
        write_infer_response(response.clone(), &all_binary).expect("a binary answer");
    let json_len = json_len.expect("a binary answer says its JSON length");
    let tail = datas
        .iter()
        .map(|(_, d)| &d[..])
        .collect::<Vec<_>>()
        .concat();
    assert_eq!(&answer[json_len..], &tail[..]);
    // As JSON, read back as a request.
    let (answer, json_len) =
        write_infer_response(response, &BinaryOutputs::default()).expect("a JSON answer");
    assert_eq!(json_len, None);
    let mut answer: Value = serde_json::from_slice(&answer).expect("the answer is JSON");
    let outputs = answer["outputs"].take();
    let again = serde_json::to_vec(&serde_json::json!({ "inputs": outputs })).unwrap();
    let finite = |dtype: DType, data: &[u8]| match dtype {
        DType::Float16 | DType::BFloat16 => data
            .chunks_exact(2)
            .all(|c| half_to_f64(dtype, [c[0], c[1]]).is_finite()),
        DType::Float32 => data
            .chunks_exact(4)
            .all(|c| f32::from_le_bytes(c.try_into().unwrap()).is_finite()),
        DType::Float64 => data
            .chunks_exact(8)
            .all(|c| f64::from_le_bytes(c.try_into().unwrap()).is_finite()),
        _ => true,
    };
    match read_infer_request("m", "", None, Bytes::from(again)) {
        Ok((back, _)) => {
            for ((dtype, data), raw) in datas.iter().zip(&back.raw_input_contents) {
                if !finite(*dtype, data) {
                    continue;
                }
                if *dtype == DType::Bool {
                    let want: Vec<u8> = data.iter().map(|&b| u8::from(b != 0)).collect();
                    assert_eq!(raw[..], want[..]);
                } else {
                    assert_eq!(raw[..], data[..], "{dtype:?}");
                }
            }
        }
        Err(e) => assert!(
            datas.iter().any(|(dtype, data)| !finite(*dtype, data)),
            "the JSON answer of finite values does not read back: {e}"
        ),
    }
    true
}

// ----------------------------------------------------------------- multipart

/// A runtime for the gateway's async handlers, one per thread.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// The gateway's router, built once (as a server builds it) with an
/// upstream on port 9 (discard) of loopback: nothing listens there, so a call
/// fails at once with UNAVAILABLE.
fn gateway_app() -> &'static axum::Router {
    static APP: std::sync::OnceLock<axum::Router> = std::sync::OnceLock::new();
    APP.get_or_init(|| {
        // The lazy channel starts its worker on the runtime.
        let _runtime = runtime().enter();
        tensorwire::gateway::router(
            tensorwire::gateway::connect_upstream("http://127.0.0.1:9").expect("a valid URL"),
            tensorwire::gateway::GatewayConfig::default(),
        )
    })
}

/// `multipart`: byte 0 even: the rest is the body of `POST /` (a multipart
/// `array` file, `.npy`); odd: of `POST /im_size` (`image` files, a `key`
/// field). The boundary is `XyZ`. The request goes through the gateway's
/// whole router (axum's multipart parser, the field loop, the `.npy` and
/// image header readers, the memory budget) with an upstream that refuses
/// every connection. Every answer is JSON of the error shape, with a 4xx
/// status (the gateway refused the body) or 503 (it accepted the upload and
/// called the upstream), never a 500 nor a panic.
pub fn multipart(input: &[u8]) -> bool {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let Some((&route, body)) = input.split_first() else {
        return false;
    };
    let path = if route & 1 == 0 { "/" } else { "/im_size" };
    let request = http::Request::post(path)
        .header(
            http::header::CONTENT_TYPE,
            "multipart/form-data; boundary=XyZ",
        )
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(axum::body::Body::from(body.to_vec()))
        .expect("a request");
    let (status, answer) = runtime().block_on(async {
        let response = gateway_app()
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("the answer body")
            .to_bytes();
        (status, bytes)
    });
    let json: Value = serde_json::from_slice(&answer).unwrap_or_else(|e| {
        panic!(
            "{status}: not JSON ({e}): {}",
            String::from_utf8_lossy(&answer)
        )
    });
    assert!(
        json["message"].is_string() && json["code"].is_string(),
        "{status}: {json}"
    );
    assert!(
        status.is_client_error() || status == http::StatusCode::SERVICE_UNAVAILABLE,
        "{status}: {json}"
    );
    status == http::StatusCode::SERVICE_UNAVAILABLE
}
