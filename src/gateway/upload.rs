//! Reading request payloads piece by piece.
//!
//! A payload (a raw body, a multipart file, base64 text being decoded) is a
//! source of [`Pieces`]. [`read_npy_upload`] reads a `.npy` from one: a small
//! file is gathered whole and parsed, a large one is parsed as soon as its
//! header has arrived and its data goes on to the streaming RPC piece by piece
//! while the rest of the body is still arriving, so the gateway never holds a
//! large upload whole (let alone twice).

use std::future::Future;

use axum::body::BodyDataStream;
use axum::extract::multipart::Field;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http_body_util::LengthLimitError;

use super::GatewayError;
use super::memory::{Account, RequestMemory, content_length};
use crate::npy::{NpyError, read_npy, read_npy_header};
use crate::tensor::{DType, Tensor, TensorLimits, validate_shape};

/// The gateway's own tensor limits when it parses a payload: only what the
/// format allows (NumPy's 64 axes; the data is already in memory, so its size
/// is bounded by the body). The service applies the configured limits.
pub(crate) const PARSE_LIMITS: TensorLimits = TensorLimits {
    max_rank: 64,
    max_bytes: u64::MAX,
};

/// A source of payload pieces, read in order.
pub(crate) trait Pieces: Send {
    /// The next piece, or `None` at the end of the payload.
    fn next_piece(&mut self) -> impl Future<Output = Result<Option<Bytes>, GatewayError>> + Send;
}

/// The pieces of a raw request body.
pub(crate) struct BodyPieces {
    stream: BodyDataStream,
    limit: u64,
}

impl BodyPieces {
    pub(crate) fn new(body: axum::body::Body, limit: u64) -> BodyPieces {
        BodyPieces {
            stream: body.into_data_stream(),
            limit,
        }
    }
}

/// Turns a body read error into 413 when it is the limit, 400 otherwise.
pub(crate) fn body_error(err: axum::Error, limit: u64) -> GatewayError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if e.is::<LengthLimitError>() {
            return GatewayError::BodyTooLarge { limit };
        }
        if e.is::<tower_http::timeout::TimeoutError>() {
            return GatewayError::BodyStalled;
        }
        source = e.source();
    }
    GatewayError::Body(err.to_string())
}

impl Pieces for BodyPieces {
    async fn next_piece(&mut self) -> Result<Option<Bytes>, GatewayError> {
        loop {
            match self.stream.next().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(body_error(e, self.limit)),
                Some(Ok(piece)) if piece.is_empty() => continue,
                Some(Ok(piece)) => return Ok(Some(piece)),
            }
        }
    }
}

/// The pieces of one multipart field.
pub(crate) struct FieldPieces<'a> {
    field: Field<'a>,
    limit: u64,
}

impl<'a> FieldPieces<'a> {
    pub(crate) fn new(field: Field<'a>, limit: u64) -> FieldPieces<'a> {
        FieldPieces { field, limit }
    }
}

/// Turns a multipart error into 413 when it is the body limit, 400 otherwise.
pub(crate) fn multipart_error(
    err: axum::extract::multipart::MultipartError,
    limit: u64,
) -> GatewayError {
    if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        GatewayError::BodyTooLarge { limit }
    } else {
        GatewayError::BadRequest(format!("malformed multipart body: {}", err.body_text()))
    }
}

impl Pieces for FieldPieces<'_> {
    async fn next_piece(&mut self) -> Result<Option<Bytes>, GatewayError> {
        loop {
            match self.field.chunk().await {
                Err(e) => return Err(multipart_error(e, self.limit)),
                Ok(Some(piece)) if piece.is_empty() => continue,
                Ok(other) => return Ok(other),
            }
        }
    }
}

/// Pieces of a payload already in memory (slices, not copies).
pub(crate) struct MemoryPieces {
    data: Bytes,
    chunk: usize,
}

impl MemoryPieces {
    pub(crate) fn new(data: Bytes, chunk: usize) -> MemoryPieces {
        MemoryPieces {
            data,
            chunk: chunk.max(1),
        }
    }
}

impl Pieces for MemoryPieces {
    async fn next_piece(&mut self) -> Result<Option<Bytes>, GatewayError> {
        if self.data.is_empty() {
            return Ok(None);
        }
        let take = self.chunk.min(self.data.len());
        Ok(Some(self.data.split_to(take)))
    }
}

/// Decodes base64 text a piece at a time, so a large encoded payload is never
/// decoded whole: the text (the request body) is held once, plus one piece.
pub(crate) struct Base64Pieces<'a> {
    text: &'a [u8],
    /// Encoded characters per piece: a multiple of 4, so pieces decode
    /// independently.
    chunk_chars: usize,
    what: &'static str,
}

impl<'a> Base64Pieces<'a> {
    /// `text` must hold only base64 characters (see [`clean_base64`]).
    pub(crate) fn new(
        text: &'a [u8],
        decoded_chunk: usize,
        what: &'static str,
    ) -> Base64Pieces<'a> {
        Base64Pieces {
            text,
            chunk_chars: (decoded_chunk.max(3) / 3) * 4,
            what,
        }
    }
}

/// The base64 engine: the standard alphabet, padding optional (Python's
/// `b64encode` always pads; other encoders may not).
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// Removes the line breaks and spaces that `base64.encodebytes`, the `base64`
/// command and form encoding leave in base64 text (a form's `+` arrives as a
/// space when the client did not escape it). Borrows when already clean.
pub(crate) fn clean_base64(text: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !text.iter().any(|b| b.is_ascii_whitespace()) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.iter()
            .filter_map(|&b| match b {
                b' ' => Some(b'+'),
                b'\n' | b'\r' | b'\t' | 0x0b | 0x0c => None,
                other => Some(other),
            })
            .collect(),
    )
}

/// Decodes a whole base64 text: with SIMD when it is clean and padded (as
/// Python's `b64encode` writes it), else through [`clean_base64`] and the
/// lenient decoder, whose error says what is wrong.
pub(crate) fn decode_base64(text: &[u8], what: &'static str) -> Result<Vec<u8>, GatewayError> {
    if let Ok(decoded) = base64_simd::STANDARD.decode_to_vec(text) {
        return Ok(decoded);
    }
    BASE64
        .decode(clean_base64(text))
        .map_err(|e| GatewayError::Decode {
            what,
            detail: format!("invalid base64: {e}"),
        })
}

impl Pieces for Base64Pieces<'_> {
    async fn next_piece(&mut self) -> Result<Option<Bytes>, GatewayError> {
        if self.text.is_empty() {
            return Ok(None);
        }
        let take = self.chunk_chars.min(self.text.len());
        let (piece, rest) = self.text.split_at(take);
        self.text = rest;
        Ok(Some(Bytes::from(decode_base64(piece, self.what)?)))
    }
}

/// A `.npy` payload, read whole or ready to stream.
pub(crate) enum NpyUpload<P> {
    /// Small (or not in C order, little-endian): parsed whole.
    Whole(Tensor),
    /// Large: the header is read, the data follows from `rest`.
    Streaming(StreamingTensor<P>),
}

/// A tensor whose data is still arriving.
pub(crate) struct StreamingTensor<P> {
    pub(crate) dtype: DType,
    pub(crate) shape: Vec<usize>,
    pub(crate) nbytes: usize,
    /// Data already read past the header.
    pub(crate) first: Vec<Bytes>,
    /// The rest of the data.
    pub(crate) rest: P,
}

/// Wraps the reason a `.npy` is refused in the route's error.
pub(crate) type NpyRefusal = fn(String) -> GatewayError;

/// Reads a `.npy` payload from `pieces`. Up to `threshold` bytes are gathered
/// and parsed whole; beyond that, a C-order little-endian file is handed over
/// for streaming with its header parsed, and anything else (Fortran order,
/// big-endian), which needs all its data to reorder, is gathered whole.
/// What is gathered is covered in `memory`'s `account` before it is kept
/// (twice when it must be joined, for the joined copy).
pub(crate) async fn read_npy_upload<P: Pieces>(
    mut pieces: P,
    threshold: usize,
    refuse: NpyRefusal,
    (memory, account): (&RequestMemory, Account),
) -> Result<NpyUpload<P>, GatewayError> {
    let mut parts: Vec<Bytes> = Vec::new();
    let mut total = 0usize;
    let mut gather_whole = false;
    loop {
        let Some(piece) = pieces.next_piece().await? else {
            // Joining holds the parts and the whole; reordering a Fortran
            // or big-endian file makes one more copy.
            let copies = if gather_whole {
                3
            } else if parts.len() > 1 {
                2
            } else {
                1
            };
            memory.cover(account, copies * total as u64)?;
            let whole = concat(parts, total);
            let tensor = read_npy(whole, &PARSE_LIMITS).map_err(|e| npy_refusal(e, refuse))?;
            return Ok(NpyUpload::Whole(tensor));
        };
        total += piece.len();
        memory.cover(account, total as u64)?;
        parts.push(piece);
        if gather_whole || total <= threshold {
            continue;
        }
        // Large: parse the header, which is in the first bytes (join the
        // parts only while the first alone is too short to hold it).
        let header = loop {
            match read_npy_header(&parts[0]).map_err(|e| npy_refusal(e, refuse))? {
                Some(header) => break Some(header),
                None if parts.len() > 1 => {
                    let joined = concat(std::mem::take(&mut parts), total);
                    parts.push(joined);
                }
                None => break None,
            }
        };
        let Some(header) = header else { continue };
        if !header.is_native() {
            gather_whole = true;
            continue;
        }
        let valid = validate_shape(header.dtype, &header.shape, &PARSE_LIMITS)
            .map_err(|e| npy_refusal(NpyError::Tensor(e), refuse))?;
        parts[0] = parts[0].slice(header.data_offset..);
        parts.retain(|p| !p.is_empty());
        return Ok(NpyUpload::Streaming(StreamingTensor {
            dtype: header.dtype,
            shape: valid.shape,
            nbytes: valid.nbytes,
            first: parts,
            rest: pieces,
        }));
    }
}

fn npy_refusal(err: NpyError, refuse: NpyRefusal) -> GatewayError {
    refuse(err.to_string())
}

/// Joins pieces into one buffer, without copying when there is only one.
pub(crate) fn concat(mut parts: Vec<Bytes>, total: usize) -> Bytes {
    match parts.len() {
        0 => Bytes::new(),
        1 => parts.pop().unwrap_or_default(),
        _ => {
            let mut joined = BytesMut::with_capacity(total);
            for part in parts {
                joined.extend_from_slice(&part);
            }
            joined.freeze()
        }
    }
}

/// Reads a whole request body into one buffer, `per_byte` bytes of the
/// request's memory (`Account::Body`) reserved for each of its bytes: up
/// front from `Content-Length` when it is declared (a request that does not
/// fit is refused before its body is read), else as the body arrives. A
/// handler that will make copies of the body passes a `per_byte` above 1.
/// The body is read straight into one buffer of the declared size, never
/// gathered in pieces and joined (which would hold it twice).
pub(crate) async fn read_body(
    body: axum::body::Body,
    headers: &axum::http::HeaderMap,
    limit: u64,
    memory: &RequestMemory,
    per_byte: u64,
) -> Result<Bytes, GatewayError> {
    let declared = content_length(headers).filter(|&n| n <= limit);
    if let Some(declared) = declared {
        memory.cover(Account::Body, declared.saturating_mul(per_byte))?;
    }
    let mut pieces = BodyPieces::new(body, limit);
    let mut buffer = BytesMut::with_capacity(declared.unwrap_or(0) as usize);
    let mut total = 0u64;
    while let Some(piece) = pieces.next_piece().await? {
        total = total.saturating_add(piece.len() as u64);
        if total > limit {
            return Err(GatewayError::BodyTooLarge { limit });
        }
        memory.cover(Account::Body, total.saturating_mul(per_byte))?;
        buffer.extend_from_slice(&piece);
    }
    Ok(buffer.freeze())
}

/// Cuts the payload into messages of exactly `target` bytes (the last one
/// shorter), so a body that arrives in 16 KiB reads does not become thousands
/// of tiny messages and a large read never makes a message over the limit.
/// Large pieces are sliced without a copy; small ones are gathered.
pub(crate) struct Coalescer {
    buffer: BytesMut,
    target: usize,
}

impl Coalescer {
    pub(crate) fn new(target: usize) -> Coalescer {
        Coalescer {
            buffer: BytesMut::new(),
            target: target.max(1),
        }
    }

    /// Adds a piece; returns what is ready to send, in order.
    pub(crate) fn push(&mut self, mut piece: Bytes) -> impl Iterator<Item = Bytes> + use<> {
        let mut ready = Vec::new();
        while !piece.is_empty() {
            if self.buffer.is_empty() && piece.len() >= self.target {
                ready.push(piece.split_to(self.target));
                continue;
            }
            if self.buffer.capacity() < self.target {
                self.buffer.reserve(self.target - self.buffer.len());
            }
            let take = (self.target - self.buffer.len()).min(piece.len());
            self.buffer.extend_from_slice(&piece.split_to(take));
            if self.buffer.len() == self.target {
                ready.push(self.buffer.split().freeze());
            }
        }
        ready.into_iter()
    }

    /// What is left at the end.
    pub(crate) fn finish(&mut self) -> Option<Bytes> {
        (!self.buffer.is_empty()).then(|| self.buffer.split().freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::write_npy;

    fn tensor(n: usize) -> Tensor {
        let values: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        Tensor::new(
            DType::UInt8,
            &[n as u64],
            Bytes::from(values),
            &PARSE_LIMITS,
        )
        .unwrap()
    }

    fn refuse(detail: String) -> GatewayError {
        GatewayError::BadRequest(detail)
    }

    fn memory() -> (RequestMemory, Account) {
        let budget = crate::budget::MemoryBudget::new(1 << 30);
        (RequestMemory::new(&budget), Account::Body)
    }

    #[tokio::test]
    async fn small_npy_is_read_whole() {
        let t = tensor(100);
        let file = Bytes::from(write_npy(&t));
        let (memory, account) = memory();
        match read_npy_upload(MemoryPieces::new(file, 7), 1000, refuse, (&memory, account)).await {
            Ok(NpyUpload::Whole(got)) => assert_eq!(got, t),
            _ => panic!("expected a whole tensor"),
        }
    }

    #[tokio::test]
    async fn large_npy_streams_after_its_header() {
        let t = tensor(10_000);
        let file = Bytes::from(write_npy(&t));
        let (memory, account) = memory();
        let Ok(NpyUpload::Streaming(mut s)) = read_npy_upload(
            MemoryPieces::new(file, 3000),
            1000,
            refuse,
            (&memory, account),
        )
        .await
        else {
            panic!("expected a stream");
        };
        assert_eq!(
            (s.dtype, s.shape.clone(), s.nbytes),
            (DType::UInt8, vec![10_000], 10_000)
        );
        let mut data = concat(std::mem::take(&mut s.first), 0).to_vec();
        while let Some(p) = s.rest.next_piece().await.unwrap() {
            data.extend_from_slice(&p);
        }
        assert_eq!(data, t.data().to_vec());
    }

    #[tokio::test]
    async fn garbage_is_refused_with_the_npy_reason() {
        let (memory, account) = memory();
        let err = read_npy_upload(
            MemoryPieces::new(Bytes::from_static(b"hello"), 2),
            1,
            refuse,
            (&memory, account),
        )
        .await
        .err()
        .unwrap();
        assert!(err.to_string().contains("NUMPY"), "{err}");
    }

    #[tokio::test]
    async fn base64_decodes_piece_by_piece() {
        let raw: Vec<u8> = (0..=255u8).cycle().take(10_001).collect();
        let text = BASE64.encode(&raw);
        let mut pieces = Base64Pieces::new(text.as_bytes(), 1000, "array");
        let mut out = Vec::new();
        while let Some(p) = pieces.next_piece().await.unwrap() {
            out.extend_from_slice(&p);
        }
        assert_eq!(out, raw);
        assert_eq!(clean_base64(b"YW Jj\nZA==").as_ref(), b"YW+JjZA==");
    }

    #[test]
    fn coalescer_cuts_messages_of_the_target_size() {
        let mut c = Coalescer::new(10);
        assert_eq!(c.push(Bytes::from_static(b"abc")).count(), 0);
        let out: Vec<Bytes> = c.push(Bytes::from_static(b"defghijk")).collect();
        assert_eq!(out, vec![Bytes::from_static(b"abcdefghij")]);
        let out: Vec<Bytes> = c.push(Bytes::from_static(b"0123456789AB")).collect();
        assert_eq!(out, vec![Bytes::from_static(b"k012345678")]);
        let out: Vec<Bytes> = c.push(Bytes::from(vec![7u8; 25])).collect();
        assert_eq!(out.iter().map(Bytes::len).collect::<Vec<_>>(), vec![10, 10]);
        assert_eq!(c.finish().map(|b| b.len()), Some(8));
        assert_eq!(c.finish(), None);
    }
}
