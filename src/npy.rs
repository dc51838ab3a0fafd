//! The `.npy` codec: NumPy's array file format to and from a [`Tensor`].
//!
//! Reads every `.npy` NumPy writes for a numeric dtype: format versions 1, 2
//! and 3; `<`, `>`, `|` and `=` byte orders; C and Fortran order; float16 and
//! complex. Refuses object, string, structured, datetime and void dtypes with
//! an error that names the dtype.
//!
//! Written by hand rather than with `ndarray-npy` because that crate needs the
//! element type at compile time and keeps its header parser private, while
//! the service learns the dtype from the header at run time, parses the header
//! of a streamed upload before its data has arrived, and wants the common case
//! (C order, little-endian) without copying the data at all: the tensor's
//! bytes are a slice of the received buffer. `ndarray-npy` is used in the
//! tests as an independent writer to check this reader against.

use bytes::Bytes;
use ndarray::{ArrayViewD, IxDyn, ShapeBuilder};
use thiserror::Error;

use crate::tensor::{DType, Tensor, TensorError, TensorLimits, validate_shape};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Largest header accepted (NumPy itself refuses headers over 10 000 bytes
/// by default; this is generous and still bounds the parse).
const MAX_HEADER_LEN: usize = 1 << 20;

/// Why bytes are not a usable `.npy` file.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NpyError {
    /// Not a `.npy` file.
    #[error("not a .npy file: it does not start with the \\x93NUMPY magic string")]
    BadMagic,
    /// Fewer bytes than the preamble or the header needs.
    #[error("truncated .npy: the header needs {needed} bytes but only {available} were given")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// A format version other than 1.0, 2.0, 3.0.
    #[error("unsupported .npy format version {0}.{1} (1.0, 2.0 and 3.0 are supported)")]
    Version(u8, u8),
    /// The header length is over the limit.
    #[error("the .npy header is {0} bytes, over the limit of {MAX_HEADER_LEN}")]
    HeaderTooLong(usize),
    /// The header is not the Python dict literal NumPy writes.
    #[error("malformed .npy header: {0}")]
    Header(String),
    /// A dtype tensorwire does not carry.
    #[error(
        "unsupported .npy dtype {0:?}: only bool, integer, float and complex dtypes are accepted (not object, string, structured or datetime)"
    )]
    DType(String),
    /// Shape or size is invalid or over the limits.
    #[error("{0}")]
    Tensor(#[from] TensorError),
}

/// What the header of a `.npy` file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type.
    pub dtype: DType,
    /// Shape, as written in the file.
    pub shape: Vec<u64>,
    /// True when the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// True when the elements are big-endian.
    pub big_endian: bool,
    /// Offset of the first data byte in the file.
    pub data_offset: usize,
}

impl NpyHeader {
    /// True when the data bytes are already a tensor's: C order, little-endian.
    pub fn is_native(&self) -> bool {
        !self.big_endian
            && (!self.fortran_order || self.shape.iter().filter(|&&d| d > 1).count() <= 1)
    }
}

/// Parses the preamble and header of a `.npy` file. Returns `Ok(None)` when
/// `bytes` is a valid prefix that is too short to hold the whole header yet,
/// so a streamed upload can call it again with more bytes.
pub fn read_npy_header(bytes: &[u8]) -> Result<Option<NpyHeader>, NpyError> {
    let prefix = bytes.len().min(MAGIC.len());
    if bytes[..prefix] != MAGIC[..prefix] {
        return Err(NpyError::BadMagic);
    }
    if bytes.len() < 8 {
        return Ok(None);
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len_size, utf8) = match (major, minor) {
        (1, 0) => (2, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => return Err(NpyError::Version(major, minor)),
    };
    let preamble = 8 + len_size;
    if bytes.len() < preamble {
        return Ok(None);
    }
    let header_len = if len_size == 2 {
        usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    if header_len > MAX_HEADER_LEN {
        return Err(NpyError::HeaderTooLong(header_len));
    }
    let data_offset = preamble + header_len;
    if bytes.len() < data_offset {
        return Ok(None);
    }
    let raw = &bytes[preamble..data_offset];
    let text: String = if utf8 {
        std::str::from_utf8(raw)
            .map_err(|_| NpyError::Header("a version 3 header is not valid UTF-8".into()))?
            .to_owned()
    } else {
        // Versions 1 and 2 are latin-1: every byte is one character.
        raw.iter().map(|&b| char::from(b)).collect()
    };
    let dict = HeaderDict::parse(&text)?;
    let (dtype, big_endian) = parse_descr(&dict.descr)?;
    Ok(Some(NpyHeader {
        dtype,
        shape: dict.shape,
        fortran_order: dict.fortran_order,
        big_endian,
        data_offset,
    }))
}

/// Reads a whole `.npy` file into a C-order, little-endian tensor. In the
/// common case (C order, little-endian) the tensor's data is a slice of
/// `bytes`, not a copy.
pub fn read_npy(bytes: Bytes, limits: &TensorLimits) -> Result<Tensor, NpyError> {
    let header = read_npy_header(&bytes)?.ok_or_else(|| NpyError::Truncated {
        needed: header_bytes_needed(&bytes),
        available: bytes.len(),
    })?;
    let valid = validate_shape(header.dtype, &header.shape, limits)?;
    let available = bytes.len() - header.data_offset;
    if available != valid.nbytes {
        return Err(TensorError::DataLength {
            shape: valid.shape,
            dtype: header.dtype,
            expected: valid.nbytes,
            actual: available,
        }
        .into());
    }
    let body = bytes.slice(header.data_offset..);
    let data = if header.is_native() {
        body
    } else {
        Bytes::from(to_c_order_le(&header, &valid.shape, &body))
    };
    Ok(Tensor::from_valid(header.dtype, valid, data)?)
}

/// How many bytes the header of a truncated file claims, for the error.
fn header_bytes_needed(bytes: &[u8]) -> usize {
    match bytes.get(6) {
        Some(1) if bytes.len() >= 10 => 10 + usize::from(u16::from_le_bytes([bytes[8], bytes[9]])),
        Some(2 | 3) if bytes.len() >= 12 => {
            12 + u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
        }
        _ => 12.max(bytes.len() + 1),
    }
}

/// Copies big-endian and/or Fortran-order data into C order, little-endian.
fn to_c_order_le(header: &NpyHeader, shape: &[usize], body: &[u8]) -> Vec<u8> {
    let mut out = match header.dtype.itemsize() {
        1 => reorder::<1>(body, shape, header.fortran_order),
        2 => reorder::<2>(body, shape, header.fortran_order),
        4 => reorder::<4>(body, shape, header.fortran_order),
        8 => reorder::<8>(body, shape, header.fortran_order),
        _ => reorder::<16>(body, shape, header.fortran_order),
    };
    if header.big_endian {
        // Complex numbers swap each of their two parts separately.
        let part = if header.dtype.is_complex() {
            header.dtype.itemsize() / 2
        } else {
            header.dtype.itemsize()
        };
        out.chunks_exact_mut(part).for_each(<[u8]>::reverse);
    }
    out
}

/// Walks elements of `N` bytes in C order out of a C- or Fortran-order buffer.
fn reorder<const N: usize>(body: &[u8], shape: &[usize], fortran: bool) -> Vec<u8> {
    if !fortran {
        return body.to_vec();
    }
    let (elements, _) = body.as_chunks::<N>();
    let view = ArrayViewD::from_shape(IxDyn(shape).f(), elements)
        .expect("data length was checked against the shape");
    let mut out = Vec::with_capacity(body.len());
    view.iter().for_each(|e| out.extend_from_slice(e));
    out
}

/// Maps a NumPy type string (`'<f8'`, `'|b1'`, ...) to a dtype and byte order.
fn parse_descr(descr: &str) -> Result<(DType, bool), NpyError> {
    let refuse = || NpyError::DType(descr.to_owned());
    let (order, code) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('|', descr),
    };
    let dtype = match code {
        "b1" | "?" => DType::Bool,
        "u1" => DType::UInt8,
        "i1" => DType::Int8,
        "u2" => DType::UInt16,
        "i2" => DType::Int16,
        "u4" => DType::UInt32,
        "i4" => DType::Int32,
        "u8" => DType::UInt64,
        "i8" => DType::Int64,
        "f2" => DType::Float16,
        "f4" => DType::Float32,
        "f8" => DType::Float64,
        "c8" => DType::Complex64,
        "c16" => DType::Complex128,
        _ => return Err(refuse()),
    };
    Ok((dtype, order == '>' && dtype.itemsize() > 1))
}

/// The three keys of a `.npy` header dict.
struct HeaderDict {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

impl HeaderDict {
    /// Parses the Python dict literal NumPy writes, e.g.
    /// `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`.
    fn parse(text: &str) -> Result<HeaderDict, NpyError> {
        let mut p = LiteralParser {
            s: text.trim().as_bytes(),
            i: 0,
        };
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        p.expect(b'{')?;
        loop {
            p.skip_ws();
            if p.eat(b'}') {
                break;
            }
            let key = p.string()?;
            p.expect(b':')?;
            match key.as_str() {
                "descr" => {
                    p.skip_ws();
                    if p.peek() != Some(b'\'') && p.peek() != Some(b'"') {
                        return Err(NpyError::DType(
                            "a structured dtype (descr is not a string)".into(),
                        ));
                    }
                    descr = Some(p.string()?)
                }
                "fortran_order" => fortran = Some(p.boolean()?),
                "shape" => shape = Some(p.tuple()?),
                other => {
                    return Err(NpyError::Header(format!("unexpected key {other:?}")));
                }
            }
            p.skip_ws();
            if !p.eat(b',') {
                p.expect(b'}')?;
                break;
            }
        }
        let missing = |k: &str| NpyError::Header(format!("the header has no {k:?} key"));
        Ok(HeaderDict {
            descr: descr.ok_or_else(|| missing("descr"))?,
            fortran_order: fortran.ok_or_else(|| missing("fortran_order"))?,
            shape: shape.ok_or_else(|| missing("shape"))?,
        })
    }
}

/// A cursor over the handful of Python literals a `.npy` header uses.
struct LiteralParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl LiteralParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(NpyError::Header(format!(
                "expected {:?} at byte {} of the header",
                char::from(c),
                self.i
            )))
        }
    }

    fn string(&mut self) -> Result<String, NpyError> {
        self.skip_ws();
        let quote = self
            .peek()
            .filter(|&q| q == b'\'' || q == b'"')
            .ok_or_else(|| NpyError::Header(format!("expected a string at byte {}", self.i)))?;
        self.i += 1;
        let start = self.i;
        while self.peek().is_some_and(|c| c != quote) {
            self.i += 1;
        }
        if self.peek().is_none() {
            return Err(NpyError::Header("unterminated string".into()));
        }
        let value = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.i += 1;
        Ok(value)
    }

    fn boolean(&mut self) -> Result<bool, NpyError> {
        self.skip_ws();
        let rest = &self.s[self.i..];
        for (word, value) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if rest.starts_with(word) {
                self.i += word.len();
                return Ok(value);
            }
        }
        Err(NpyError::Header(
            "fortran_order is not True or False".into(),
        ))
    }

    fn tuple(&mut self) -> Result<Vec<u64>, NpyError> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            if self.eat(b')') {
                return Ok(dims);
            }
            self.skip_ws();
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
            let dim = digits.parse::<u64>().map_err(|_| {
                NpyError::Header(format!(
                    "shape entry at byte {start} is not a non-negative integer that fits in 64 bits"
                ))
            })?;
            dims.push(dim);
            // Python 2 wrote long integers with an `L` suffix.
            if self.peek() == Some(b'L') {
                self.i += 1;
            }
            self.skip_ws();
            if !matches!(self.peek(), Some(b',' | b')')) {
                // `(2.5,)`, `(3e2,)`, `(4-1,)`: not an integer dimension.
                return Err(NpyError::Header(format!(
                    "shape entry at byte {start} is not a non-negative integer that fits in 64 bits"
                )));
            }
            if !self.eat(b',') {
                self.expect(b')')?;
                return Ok(dims);
            }
        }
    }
}

/// The `.npy` preamble and header for a C-order tensor of this dtype and
/// shape, padded to a multiple of 64 bytes as NumPy does. `bfloat16` has no
/// NumPy dtype, so it is described as `<f4` and [`write_npy`] widens it
/// (exactly) to float32.
pub fn write_npy_header(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let descr = match dtype {
        DType::Bool => "|b1",
        DType::UInt8 => "|u1",
        DType::Int8 => "|i1",
        DType::UInt16 => "<u2",
        DType::Int16 => "<i2",
        DType::UInt32 => "<u4",
        DType::Int32 => "<i4",
        DType::UInt64 => "<u8",
        DType::Int64 => "<i8",
        DType::Float16 => "<f2",
        DType::BFloat16 | DType::Float32 => "<f4",
        DType::Float64 => "<f8",
        DType::Complex64 => "<c8",
        DType::Complex128 => "<c16",
    };
    let shape_text = match shape {
        [one] => format!("({one},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Version 1 stores the header length in 16 bits; longer headers need 2.0.
    let (version, len_size) = if dict.len() + 11 < usize::from(u16::MAX) - 64 {
        (1u8, 2)
    } else {
        (2u8, 4)
    };
    let unpadded = MAGIC.len() + 2 + len_size + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_size + dict.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if len_size == 2 {
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Appends little-endian bfloat16 elements to `out` as float32 — exactly,
/// since a bfloat16 is the top half of a float32. A trailing odd byte is
/// ignored; a caller that streams keeps it for the next piece.
pub fn widen_bfloat16(bf16: &[u8], out: &mut Vec<u8>) {
    let (pairs, _) = bf16.as_chunks::<2>();
    out.reserve(pairs.len() * 4);
    for [low, high] in pairs {
        out.extend_from_slice(&[0, 0, *low, *high]);
    }
}

/// Widens bfloat16 data arriving in pieces of any size to float32 (as
/// [`widen_bfloat16`]), holding the byte of an element split across two
/// pieces until the next one comes.
#[derive(Debug, Default)]
pub struct Bf16Widener {
    carry: Option<u8>,
}

impl Bf16Widener {
    /// The float32 bytes of `piece`'s whole elements, the carried byte's
    /// element first.
    pub fn widen(&mut self, piece: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(piece.len() * 2 + 2);
        let mut rest = piece;
        if let Some(low) = self.carry.take()
            && let Some((&high, tail)) = rest.split_first()
        {
            out.extend_from_slice(&[0, 0, low, high]);
            rest = tail;
        }
        widen_bfloat16(rest, &mut out);
        if rest.len() % 2 == 1 {
            self.carry = rest.last().copied();
        }
        Bytes::from(out)
    }
}

/// Encodes a tensor as a `.npy` file (bfloat16 widened to float32).
pub fn write_npy(tensor: &Tensor) -> Vec<u8> {
    let mut out = write_npy_header(tensor.dtype(), tensor.shape());
    if tensor.dtype() == DType::BFloat16 {
        widen_bfloat16(tensor.data(), &mut out);
    } else {
        out.extend_from_slice(tensor.data());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bfloat16_widens_across_split_pieces() {
        let mut widener = Bf16Widener::default();
        let a = widener.widen(&[0x80, 0x3f, 0x00]);
        let b = widener.widen(&[0x40]);
        let mut all = a.to_vec();
        all.extend_from_slice(&b);
        let values: Vec<f32> = all
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values, vec![1.0, 2.0]);
    }

    use super::*;
    use ndarray::{Array, ArrayD};
    use ndarray_npy::WriteNpyExt;

    fn limits() -> TensorLimits {
        TensorLimits::default()
    }

    fn npy_of<T: ndarray_npy::WritableElement>(a: &ArrayD<T>) -> Bytes {
        let mut buf = Vec::new();
        a.write_npy(&mut buf).unwrap();
        Bytes::from(buf)
    }

    #[test]
    fn reads_what_ndarray_npy_writes_in_c_and_fortran_order() {
        let c =
            Array::from_shape_fn((3, 4, 2), |(i, j, k)| (i * 100 + j * 10 + k) as i32).into_dyn();
        let f = c.t().as_standard_layout().reversed_axes().to_owned();
        assert!(!f.is_standard_layout());
        for arr in [&c, &f] {
            let t = read_npy(npy_of(arr), &limits()).unwrap();
            assert_eq!(t, Tensor::from_array(&c));
        }
    }

    #[test]
    fn round_trips_every_numpy_dtype() {
        for dtype in DType::ALL.into_iter().filter(|&d| d != DType::BFloat16) {
            let n = 5 * dtype.itemsize();
            let mut data: Vec<u8> = (0..n).map(|i| (i * 31 % 253) as u8).collect();
            if dtype == DType::Bool {
                data.iter_mut().for_each(|b| *b &= 1);
            }
            let t = Tensor::new(dtype, &[5], Bytes::from(data), &limits()).unwrap();
            let file = write_npy(&t);
            assert_eq!(file.len() % 64, (t.nbytes()) % 64, "header padded to 64");
            assert_eq!(
                read_npy(Bytes::from(file), &limits()).unwrap(),
                t,
                "{dtype}"
            );
        }
    }

    #[test]
    fn writes_bfloat16_as_float32() {
        let v = [half::bf16::from_f32(1.5), half::bf16::from_f32(-3.0)];
        let t = Tensor::from_array(&Array::from_vec(v.to_vec()).into_dyn());
        let back = read_npy(Bytes::from(write_npy(&t)), &limits()).unwrap();
        assert_eq!(back.dtype(), DType::Float32);
        let values: Vec<f32> = back
            .data()
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(values, vec![1.5, -3.0]);
    }

    fn handmade(version: u8, dict: &str, data: &[u8]) -> Bytes {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(dict.as_bytes());
        out.extend_from_slice(data);
        Bytes::from(out)
    }

    #[test]
    fn reads_big_endian_complex_in_version_3() {
        let mut data = Vec::new();
        for v in [1.0f32, 2.0, -3.0, 4.5] {
            data.extend_from_slice(&v.to_be_bytes());
        }
        let file = handmade(
            3,
            "{'descr': '>c8', 'fortran_order': False, 'shape': (2,), }\n",
            &data,
        );
        let t = read_npy(file, &limits()).unwrap();
        assert_eq!(t.dtype(), DType::Complex64);
        let parts: Vec<f32> = t
            .data()
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(parts, vec![1.0, 2.0, -3.0, 4.5]);
    }

    #[test]
    fn reads_big_endian_fortran_order_int16() {
        // 2x3 array [[1,2,3],[4,5,6]] stored column by column, big-endian.
        let data: Vec<u8> = [1i16, 4, 2, 5, 3, 6]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let file = handmade(
            2,
            "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }",
            &data,
        );
        let t = read_npy(file, &limits()).unwrap();
        let values: Vec<i16> = t
            .data()
            .chunks(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(values, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(t.shape(), &[2, 3]);
    }

    #[test]
    fn c_order_little_endian_data_is_not_copied() {
        let file = npy_of(&Array::from_vec(vec![1.0f64, 2.0]).into_dyn());
        let t = read_npy(file.clone(), &limits()).unwrap();
        assert_eq!(t.data().as_ptr(), file[file.len() - 16..].as_ptr());
    }

    #[test]
    fn refuses_object_string_structured_and_datetime_dtypes() {
        for descr in [
            "'|O'",
            "'<U5'",
            "'|S3'",
            "'<M8[ns]'",
            "[('a', '<i4')]",
            "'<f16'",
            "'|V4'",
        ] {
            let file = handmade(
                1,
                &format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}"),
                &[0; 16],
            );
            let err = read_npy(file, &limits()).unwrap_err();
            assert!(matches!(err, NpyError::DType(_)), "{descr}: {err}");
        }
    }

    #[test]
    fn refuses_data_shorter_or_longer_than_the_shape() {
        for len in [7, 9] {
            let file = handmade(
                1,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                &vec![0; len],
            );
            let err = read_npy(file, &limits()).unwrap_err();
            assert!(
                matches!(err, NpyError::Tensor(TensorError::DataLength { .. })),
                "{err}"
            );
        }
    }

    #[test]
    fn refuses_a_lying_shape_before_allocating() {
        let file = handmade(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (9999999, 9999999), }",
            &[],
        );
        let err = read_npy(file, &limits()).unwrap_err();
        assert!(
            matches!(err, NpyError::Tensor(TensorError::TooLarge { .. })),
            "{err}"
        );
        let file = handmade(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 3), }",
            &[],
        );
        let err = read_npy(file, &limits()).unwrap_err();
        assert!(
            matches!(err, NpyError::Tensor(TensorError::ShapeOverflow { .. })),
            "{err}"
        );
    }

    #[test]
    fn refuses_broken_headers_with_a_message() {
        let cases: [(&[u8], &str); 5] = [
            (b"PK\x03\x04rest", "magic"),
            (b"\x93NUMPY\x09\x00", "version"),
            (b"\x93NUMPY\x01\x00\x40\x00{'descr'", "truncated"),
            (
                &handmade(1, "{'descr': '<f8', 'shape': (1,), }", &[0; 8]),
                "fortran_order",
            ),
            (
                &handmade(
                    1,
                    "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1,)}",
                    &[0; 8],
                ),
                "True or False",
            ),
        ];
        for (bytes, needle) in cases {
            let err = read_npy(Bytes::copy_from_slice(bytes), &limits()).unwrap_err();
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn header_parser_asks_for_more_bytes_on_a_valid_prefix() {
        let file = npy_of(&Array::from_vec(vec![1u8, 2]).into_dyn());
        for cut in [0, 3, 8, 9, 20] {
            assert_eq!(read_npy_header(&file[..cut]).unwrap(), None, "cut {cut}");
        }
        let header = read_npy_header(&file).unwrap().unwrap();
        assert_eq!(header.shape, vec![2]);
        assert_eq!(header.data_offset, file.len() - 2);
    }

    #[test]
    fn reads_rank_zero_arrays() {
        let file = handmade(
            1,
            "{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
            &7i64.to_le_bytes(),
        );
        let t = read_npy(file, &limits()).unwrap();
        assert_eq!(t.shape(), &[] as &[usize]);
        assert_eq!(t.len(), 1);
        let again = read_npy(Bytes::from(write_npy(&t)), &limits()).unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn reads_the_golden_inputs_numpy_wrote() {
        // Every dtype, big-endian and Fortran-order files, rank 0, empty.
        let dir = crate::filter::golden_dir();
        let mut read = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path().join("input.npy");
            if let Ok(bytes) = std::fs::read(&path) {
                read_npy(Bytes::from(bytes), &limits())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                read += 1;
            }
        }
        assert_eq!(read, crate::filter::manifest_case_count(&dir));
    }
}
