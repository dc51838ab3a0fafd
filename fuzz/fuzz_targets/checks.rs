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
use tensorwire::gateway::json_list::{ListError, MAX_DEPTH, tensor_from_json_body};
use tensorwire::image::{HeaderReader, ImageError, ImageLimits, read_image_header};
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
