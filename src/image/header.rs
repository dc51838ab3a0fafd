//! Reading an image's header — size, format, colour type — without decoding
//! its pixels, from a whole body ([`read_image_header`]) or from pieces as
//! they arrive ([`HeaderReader`]).
//!
//! The `image` crate's decoders read the header when they are built, so a
//! header read is "build the decoder, ask it, drop it". Each attempt runs the
//! decoder over a prefix of the bytes through a [`PrefixReader`], which
//! records whether the decoder ever asked for a byte past the prefix (or for
//! the stream's length). That is what tells "needs more bytes" from "is
//! wrong": a decoder that failed without looking past the prefix would fail
//! the same way on the whole image, since it never saw the rest. Only at the
//! very end — the whole image is there — does an end-of-data failure become
//! [`ImageError::Truncated`].
//!
//! Attempts happen at doubling prefix sizes, so reading a header of `n`
//! bytes costs O(n) in total however small the pieces, and the incremental
//! reader holds at most `max_header_bytes`.

use super::{ImageError, ImageHeader, ImageLimits, format_name, header_fields};
use ::image::{ColorType, ExtendedColorType, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::cell::Cell;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Every signature `image::guess_format` knows fits in this many bytes (the
/// longest, AVIF's and WebP's, need 12); a shorter prefix that matches none
/// may still become one.
const SIGNATURE_BYTES: usize = 16;

/// First prefix [`read_image_header`] tries: headers of common images are a
/// few hundred bytes, and JPEG's decoder copies the prefix it is given, so
/// the whole body is not handed over unless the header needs it.
const FIRST_WHOLE_BODY_TRY: usize = 64 << 10;

/// Working memory a decoder may use while reading a header (PNG's text and
/// ICC chunks, TIFF's tag arrays); the header of a sane image needs far less.
const HEADER_ALLOC_LIMIT: u64 = 64 << 20;

/// Reads the header of a complete encoded image. `filename_hint` (a file name
/// or a bare extension) is used only when the bytes carry no signature, which
/// among the supported formats happens only for TGA. Works for any body size:
/// the image is never decoded, so a 100000×100000 header is answered.
pub fn read_image_header(
    bytes: &[u8],
    filename_hint: Option<&str>,
) -> Result<ImageHeader, ImageError> {
    let hint = hinted_format(filename_hint);
    let mut len = FIRST_WHOLE_BODY_TRY;
    while len < bytes.len() {
        match attempt(&bytes[..len], hint, false) {
            Attempt::Header(header) => return Ok(header),
            Attempt::Failed(err) => return Err(err),
            Attempt::NeedMore => len = len.saturating_mul(2),
        }
    }
    attempt(bytes, hint, true).into_final(bytes.len())
}

/// Reads an image header from an upload that arrives in pieces, answering as
/// soon as the header is known, while buffering at most
/// [`ImageLimits::max_header_bytes`].
///
/// Feed pieces with [`push`](HeaderReader::push) until it returns `Some`, then
/// stop reading the upload; call [`finish`](HeaderReader::finish) when the
/// upload ends without an answer.
#[derive(Debug)]
pub struct HeaderReader {
    hint: Option<ImageFormat>,
    max_header_bytes: usize,
    buffer: Vec<u8>,
    /// Buffer length at which the next attempt is made; doubles after each
    /// failed attempt, so 1-byte pieces cost O(n) attempts' worth of work in
    /// total instead of O(n²).
    next_attempt: usize,
    received: u64,
    outcome: Option<Result<ImageHeader, ImageError>>,
    attempts: u32,
}

impl HeaderReader {
    /// A reader for one upload; `filename_hint` as for [`read_image_header`].
    pub fn new(filename_hint: Option<&str>, limits: &ImageLimits) -> Self {
        HeaderReader {
            hint: hinted_format(filename_hint),
            max_header_bytes: limits.max_header_bytes,
            buffer: Vec::new(),
            next_attempt: SIGNATURE_BYTES,
            received: 0,
            outcome: None,
            attempts: 0,
        }
    }

    /// Takes the next piece of the upload. Returns `Some` once the header is
    /// known (and again for every later piece, which is ignored), `None`
    /// while more bytes are needed, and an error as soon as the bytes cannot
    /// be an image or `max_header_bytes` arrived without a complete header.
    pub fn push(&mut self, piece: &[u8]) -> Result<Option<ImageHeader>, ImageError> {
        if let Some(outcome) = &self.outcome {
            return outcome.clone().map(Some);
        }
        self.received = self.received.saturating_add(piece.len() as u64);
        let room = self.max_header_bytes - self.buffer.len();
        let overflowing = piece.len() > room;
        self.buffer
            .extend_from_slice(&piece[..piece.len().min(room)]);
        let full = overflowing || self.buffer.len() >= self.max_header_bytes;
        if self.buffer.len() < self.next_attempt && !full {
            return Ok(None);
        }
        self.attempts += 1;
        let result = if full {
            // No more bytes will be looked at, so this prefix is all there
            // is; an image that merely runs past it is "header too long",
            // anything else keeps the decoder's own complaint. A header is
            // only taken from a decoder that did not look past the prefix:
            // one that did may have taken the end of the buffer for the end
            // of a field (a PNM maxval "10000" cut to "100" read as 8-bit;
            // found by the `image_header` fuzz target, see
            // tests/fuzz_regressions/image_header/).
            let too_long = ImageError::HeaderTooLong {
                max: self.max_header_bytes,
            };
            match attempt(&self.buffer, self.hint, false) {
                Attempt::Header(header) => Ok(header),
                Attempt::Failed(err) => Err(err),
                Attempt::NeedMore => {
                    self.attempts += 1;
                    match attempt(&self.buffer, self.hint, true) {
                        Attempt::Failed(ImageError::Truncated { .. })
                        | Attempt::NeedMore
                        | Attempt::Header(_) => Err(too_long),
                        Attempt::Failed(err) => Err(err),
                    }
                }
            }
        } else {
            match attempt(&self.buffer, self.hint, false) {
                Attempt::NeedMore => {
                    self.next_attempt = self
                        .buffer
                        .len()
                        .saturating_mul(2)
                        .min(self.max_header_bytes);
                    return Ok(None);
                }
                Attempt::Header(header) => Ok(header),
                Attempt::Failed(err) => Err(err),
            }
        };
        // The answer is final either way; the buffered prefix is not needed.
        self.buffer = Vec::new();
        self.outcome = Some(result.clone());
        result.map(Some)
    }

    /// The upload ended: the header if it is known, else a last attempt on
    /// everything buffered, which names what is wrong (empty, truncated, ...).
    pub fn finish(self) -> Result<ImageHeader, ImageError> {
        match self.outcome {
            Some(outcome) => outcome,
            None => attempt(&self.buffer, self.hint, true).into_final(self.buffer.len()),
        }
    }

    /// Bytes pushed so far, including any ignored after the answer.
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// Bytes held right now; never more than `max_header_bytes`.
    pub fn bytes_buffered(&self) -> usize {
        self.buffer.len()
    }

    /// How many times a decoder was run on the buffer.
    #[cfg(test)]
    pub(super) fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// What one attempt on a prefix learned.
#[derive(Debug)]
pub(super) enum Attempt {
    /// The header.
    Header(ImageHeader),
    /// The prefix ends before the header does.
    NeedMore,
    /// The bytes are not a readable image, whatever follows.
    Failed(ImageError),
}

impl Attempt {
    /// The result when `len` bytes are all there is.
    fn into_final(self, len: usize) -> Result<ImageHeader, ImageError> {
        match self {
            Attempt::Header(header) => Ok(header),
            Attempt::Failed(err) => Err(err),
            // `attempt` with `complete` never says NeedMore; stay truthful
            // rather than panic if that changes.
            Attempt::NeedMore => Err(ImageError::Truncated {
                format: "image",
                len: len as u64,
                part: "header",
            }),
        }
    }
}

/// Runs the format's decoder over `bytes` far enough to read the header.
/// `complete` says `bytes` is the whole image, so running out of data is
/// truncation rather than a reason to wait.
pub(super) fn attempt(bytes: &[u8], hint: Option<ImageFormat>, complete: bool) -> Attempt {
    let format = match detect_format(bytes, hint, complete) {
        Ok(Some(format)) => format,
        Ok(None) => return Attempt::NeedMore,
        Err(err) => return Attempt::Failed(err),
    };
    let found = match decoder_attempt(bytes, format, complete) {
        // The crate gave no header, and no more bytes will come or more
        // would not help: the header fields alone may still give the size,
        // as they do for Pillow.
        Attempt::Failed(err) => match header_fields::header(format, bytes) {
            Some(header) => Attempt::Header(header),
            None => Attempt::Failed(err),
        },
        other => other,
    };
    match found {
        Attempt::Header(header) if header.width == 0 || header.height == 0 => {
            Attempt::Failed(ImageError::ZeroSize {
                format: format_name(format),
                width: header.width,
                height: header.height,
            })
        }
        other => other,
    }
}

/// [`attempt`] with the `image` crate's decoder for `format`.
fn decoder_attempt(bytes: &[u8], format: ImageFormat, complete: bool) -> Attempt {
    let name = format_name(format);
    let hit_end = Cell::new(false);
    let result = guarded(name, || {
        let mut reader = ImageReader::with_format(PrefixReader::new(bytes, &hit_end), format);
        reader.limits(header_crate_limits());
        reader
            .into_decoder()
            .map(|decoder| header_of(&decoder, name))
    });
    match result {
        // A decoder that succeeded after looking past the prefix may have
        // taken the end of the data for the end of a field (Radiance HDR
        // reads "+X 40" from a prefix of "+X 4000"): wait for more. JPEG's
        // decoder copies all its input before parsing, so it always "looks
        // past"; its parser fails on a cut segment rather than guessing.
        Ok(Ok(_)) if !complete && hit_end.get() && format != ImageFormat::Jpeg => Attempt::NeedMore,
        Ok(Ok(header)) => Attempt::Header(header),
        Ok(Err(_)) if !complete && hit_end.get() => Attempt::NeedMore,
        Ok(Err(err)) => Attempt::Failed(classify(
            err,
            name,
            bytes.len(),
            hit_end.get(),
            "header",
            (HEADER_ALLOC_LIMIT, "the header reader's working memory"),
        )),
        Err(panicked) => Attempt::Failed(panicked),
    }
}

/// The format named by the bytes' signature; else TGA when the filename says
/// so or the first 18 bytes pass Pillow's checks of a TGA header (TGA has no
/// signature); `Ok(None)` when a longer prefix may still tell.
pub(super) fn detect_format(
    bytes: &[u8],
    hint: Option<ImageFormat>,
    complete: bool,
) -> Result<Option<ImageFormat>, ImageError> {
    if let Ok(format) = ::image::guess_format(bytes) {
        return Ok(Some(format));
    }
    if hint == Some(ImageFormat::Tga) || header_fields::looks_like_tga(bytes) {
        return Ok(Some(ImageFormat::Tga));
    }
    if !complete && bytes.len() < SIGNATURE_BYTES.max(header_fields::TGA_HEADER_BYTES) {
        return Ok(None);
    }
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let first_bytes = bytes
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    Err(ImageError::UnknownFormat { first_bytes })
}

/// The format a filename's extension (or a bare extension) names.
pub(super) fn hinted_format(filename_hint: Option<&str>) -> Option<ImageFormat> {
    let name = filename_hint?;
    let extension = name.rsplit('.').next().unwrap_or(name);
    ImageFormat::from_extension(extension)
}

/// The `image` crate's limits while reading a header: no bound on the
/// declared size (a header is answered whatever it claims), a bound on the
/// decoder's working memory.
fn header_crate_limits() -> Limits {
    let mut limits = Limits::no_limits();
    limits.max_alloc = Some(HEADER_ALLOC_LIMIT);
    limits
}

/// The header fields a built decoder knows.
fn header_of(decoder: &impl ImageDecoder, format: &'static str) -> ImageHeader {
    let (width, height) = decoder.dimensions();
    let decoded: ColorType = decoder.color_type();
    let (name, channels, bits) = match decoder.original_color_type() {
        // The crate knows only the bits per pixel; report what decoding gives.
        ExtendedColorType::Unknown(_) => (
            format!("{decoded:?}"),
            u32::from(decoded.channel_count()),
            u32::from(decoded.bits_per_pixel()),
        ),
        stored => (
            format!("{stored:?}"),
            u32::from(stored.channel_count()),
            u32::from(stored.bits_per_pixel()),
        ),
    };
    ImageHeader {
        width,
        height,
        format: format.to_string(),
        color_type: Some(name),
        channels,
        bit_depth: bits.checked_div(channels).unwrap_or(0),
    }
}

/// Turns a decoder's error into ours. `hit_end` says the decoder asked for
/// bytes past the end, which with an end-of-data complaint means truncation;
/// `(max, limit)` names the memory limit a limit error refers to.
pub(super) fn classify(
    err: ::image::ImageError,
    format: &'static str,
    len: usize,
    hit_end: bool,
    part: &'static str,
    (max, limit): (u64, &'static str),
) -> ImageError {
    match &err {
        ::image::ImageError::Unsupported(what) => {
            ImageError::Unsupported(format!("{format} image: {what}"))
        }
        ::image::ImageError::Limits(_) => ImageError::DecodeMemory { format, max, limit },
        _ if hit_end && ends_early(&err) => ImageError::Truncated {
            format,
            len: len as u64,
            part,
        },
        _ => ImageError::Malformed {
            format,
            reason: err.to_string(),
        },
    }
}

/// Words decoders use when the data ran out; they wrap `UnexpectedEof` in
/// their own error types, often as text only.
const END_OF_DATA_WORDS: [&str; 10] = [
    "missing bytes",
    "failed to fill whole buffer",
    "eof",
    "end of file",
    "unexpected end",
    "no more",
    "not enough",
    "truncated",
    "ran out",
    "end of stream",
];

/// True when the error, or one it wraps, says the data ended too soon.
fn ends_early(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::UnexpectedEof
        {
            return true;
        }
        let text = e.to_string().to_ascii_lowercase();
        if END_OF_DATA_WORDS.iter().any(|w| text.contains(w)) {
            return true;
        }
        current = e.source();
    }
    false
}

/// Runs a decoder, turning a panic inside it into an error: decoders are
/// third-party code fed with bytes from the network, and one bad upload must
/// not take a server thread (or an async task) down.
pub(super) fn guarded<T>(format: &'static str, f: impl FnOnce() -> T) -> Result<T, ImageError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        ImageError::Malformed {
            format,
            reason: format!("the {format} decoder failed on this input ({what})"),
        }
    })
}

/// A reader over a prefix of an image that records whether the decoder
/// asked for anything past it: a read that found nothing left, a seek beyond the
/// end, or a seek relative to the end (the answer depends on the length).
pub(super) struct PrefixReader<'a> {
    bytes: &'a [u8],
    pos: u64,
    hit_end: &'a Cell<bool>,
}

impl<'a> PrefixReader<'a> {
    /// A reader at the start of `bytes`, reporting into `hit_end`.
    pub(super) fn new(bytes: &'a [u8], hit_end: &'a Cell<bool>) -> Self {
        PrefixReader {
            bytes,
            pos: 0,
            hit_end,
        }
    }

    fn rest(&self) -> &'a [u8] {
        let start = usize::try_from(self.pos).map_or(self.bytes.len(), |p| p.min(self.bytes.len()));
        &self.bytes[start..]
    }
}

impl Read for PrefixReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let rest = self.rest();
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.pos += n as u64;
        // Only an empty read means "wanted more": a short one is how
        // buffering readers (gif's 8 KiB BufReader) fill up, and they ask
        // again if they need more.
        if n == 0 && !out.is_empty() {
            self.hit_end.set(true);
        }
        Ok(n)
    }
}

impl BufRead for PrefixReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let rest = self.rest();
        if rest.is_empty() {
            self.hit_end.set(true);
        }
        Ok(rest)
    }

    fn consume(&mut self, amount: usize) {
        self.pos = self.pos.saturating_add(amount as u64);
    }
}

impl Seek for PrefixReader<'_> {
    fn seek(&mut self, from: SeekFrom) -> io::Result<u64> {
        let len = self.bytes.len() as u64;
        let target = match from {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
            SeekFrom::End(delta) => {
                self.hit_end.set(true);
                len.checked_add_signed(delta)
            }
        }
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )
        })?;
        if target > len {
            self.hit_end.set(true);
        }
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::fixtures::{self, every_encodable_format};
    use ::image::{DynamicImage, ImageBuffer, LumaA};
    use proptest::prelude::*;

    fn pieces(bytes: &[u8], size: usize, hint: Option<&str>) -> (ImageHeader, u64) {
        let mut reader = HeaderReader::new(hint, &ImageLimits::default());
        for piece in bytes.chunks(size) {
            if let Some(header) = reader.push(piece).unwrap() {
                return (header, reader.bytes_received());
            }
        }
        let received = reader.bytes_received();
        (reader.finish().unwrap(), received)
    }

    /// The start of a PNG whose IHDR is followed by a 2^30-byte text chunk,
    /// all of which comes before the first IDAT the decoder reads up to.
    fn long_first_chunk_png() -> Vec<u8> {
        let ihdr = &fixtures::lying_png(3, 7)[..33];
        [ihdr, &(1u32 << 30).to_be_bytes(), b"tEXt"].concat()
    }

    #[test]
    fn reads_dds_whose_size_is_a_multiple_of_4_and_refuses_others_clearly() {
        for (width, height) in [(4, 4), (12, 28), (4000, 4)] {
            let header = read_image_header(&fixtures::dds_dxt1(width, height), None).unwrap();
            assert_eq!(
                (header.width, header.height, header.format.as_str()),
                (width, height, "dds")
            );
        }
        let err = read_image_header(&fixtures::dds_dxt1(3, 7), None).unwrap_err();
        assert!(
            matches!(err, ImageError::Malformed { format: "dds", .. }),
            "{err}"
        );
    }

    #[test]
    fn reads_the_size_and_format_of_every_format_at_odd_sizes() {
        for (width, height) in [(1, 1), (3, 7), (4000, 1)] {
            for (format, bytes, hint, color) in every_encodable_format(width, height) {
                // Only TGA needs the hint; the others are read without one.
                let hint = (format == "tga").then_some(hint);
                let header = read_image_header(&bytes, hint)
                    .unwrap_or_else(|e| panic!("{format} {width}×{height}: {e}"));
                assert_eq!(
                    (header.width, header.height, header.format.as_str()),
                    (width, height, format),
                    "{format}"
                );
                assert_eq!(header.color_type.as_deref(), Some(color), "{format}");
            }
        }
    }

    #[test]
    fn reports_channels_and_bit_depth_of_16_bit_and_gray_alpha_pngs() {
        let rgb16 = DynamicImage::ImageRgb16(fixtures::rgb8(5, 3).to_rgb16());
        let header = read_image_header(&fixtures::encode(&rgb16, ImageFormat::Png), None).unwrap();
        assert_eq!(
            (
                header.color_type.as_deref(),
                header.channels,
                header.bit_depth
            ),
            (Some("Rgb16"), 3, 16)
        );
        let la8 = DynamicImage::ImageLumaA8(ImageBuffer::from_fn(2, 9, |x, y| {
            LumaA([(x + y) as u8, 200])
        }));
        let header = read_image_header(&fixtures::encode(&la8, ImageFormat::Png), None).unwrap();
        assert_eq!(
            (
                header.color_type.as_deref(),
                header.channels,
                header.bit_depth
            ),
            (Some("La8"), 2, 8)
        );
        let exr = &every_encodable_format(2, 2)
            .into_iter()
            .find(|f| f.0 == "openexr")
            .unwrap()
            .1;
        let header = read_image_header(exr, None).unwrap();
        assert_eq!((header.channels, header.bit_depth), (4, 32));
    }

    #[test]
    fn a_tga_is_recognised_from_its_header_fields_or_a_filename_hint() {
        let tga = fixtures::encode(&fixtures::rgb8(3, 7), ImageFormat::Tga);
        let header = read_image_header(&tga, None).unwrap();
        assert_eq!(
            (header.width, header.height, header.format.as_str()),
            (3, 7, "tga")
        );
        // Fields Pillow does not take for a TGA (colour map type 5): only a
        // filename says it is one.
        let mut odd = tga.clone();
        odd[1] = 5;
        let err = read_image_header(&odd, None).unwrap_err();
        assert!(matches!(err, ImageError::UnknownFormat { .. }), "{err}");
        assert!(err.to_string().contains(".tga"), "{err}");
        for hint in ["photo.TGA", "dir/x.tga", "tga"] {
            assert_eq!(
                read_image_header(&tga, Some(hint)).unwrap().width,
                3,
                "{hint}"
            );
        }
    }

    #[test]
    fn sizes_what_pillow_sizes_from_header_fields_alone() {
        let tga = fixtures::encode(&fixtures::rgb8(3, 7), ImageFormat::Tga);
        let qoi = fixtures::encode(&fixtures::rgb8(3, 7), ImageFormat::Qoi);
        // Signature and IHDR, then IEND: no IDAT at all.
        let mut png = fixtures::lying_png(100_000, 100_000)[..33].to_vec();
        png.extend_from_slice(b"\0\0\0\0IEND\xae\x42\x60\x82");
        for (bytes, size) in [
            (&tga[..18], (3, 7)),
            (&qoi[..13], (3, 7)),
            (&png[..], (100_000, 100_000)),
            (&b"P6\n3 7\n2"[..], (3, 7)),
        ] {
            let whole = read_image_header(bytes, None).unwrap();
            assert_eq!((whole.width, whole.height), size);
            assert_eq!(pieces(bytes, 5, None).0, whole);
        }
    }

    #[test]
    fn the_signature_wins_over_a_misleading_filename() {
        let png = fixtures::encode(&fixtures::rgb8(3, 7), ImageFormat::Png);
        for hint in ["x.jpg", "x.tga", "noextension"] {
            assert_eq!(read_image_header(&png, Some(hint)).unwrap().format, "png");
        }
    }

    #[test]
    fn refuses_images_of_zero_width_or_height_as_pillow_does() {
        let mut gif = b"GIF89a".to_vec();
        gif.extend([0u8; 20]);
        let mut wide = b"GIF89a".to_vec();
        wide.extend([5, 0, 0, 0]);
        wide.extend([0u8; 16]);
        for bytes in [&gif[..], &wide[..], &b"P6\n0 7\n255\n"[..]] {
            let err = read_image_header(bytes, None).unwrap_err();
            assert!(matches!(err, ImageError::ZeroSize { .. }), "{err}");
            assert!(err.to_string().contains("zero width or height"), "{err}");
            let mut reader = HeaderReader::new(None, &ImageLimits::default());
            let streamed = bytes
                .chunks(3)
                .find_map(|piece| reader.push(piece).err())
                .unwrap_or_else(|| reader.finish().unwrap_err());
            assert_eq!(streamed, err);
        }
    }

    #[test]
    fn refuses_an_empty_body() {
        assert_eq!(read_image_header(&[], None), Err(ImageError::Empty));
        let reader = HeaderReader::new(None, &ImageLimits::default());
        assert_eq!(reader.finish(), Err(ImageError::Empty));
    }

    #[test]
    fn refuses_an_unknown_format_naming_its_first_bytes() {
        let err = read_image_header(b"hello, world! this is text", None).unwrap_err();
        assert_eq!(
            err,
            ImageError::UnknownFormat {
                first_bytes: "68 65 6c 6c 6f 2c 20 77".into()
            }
        );
        // A short body matching no signature is unknown too, not "truncated".
        let err = read_image_header(b"hi", None).unwrap_err();
        assert!(matches!(err, ImageError::UnknownFormat { .. }), "{err}");
    }

    #[test]
    fn a_header_cut_short_is_reported_as_truncated() {
        for (format, bytes, hint, _) in every_encodable_format(3, 7) {
            // Past the signature, before the header ends: 20 bytes cuts
            // every format here but the two with the shortest headers.
            let cut = match format {
                "qoi" | "tga" | "farbfeld" => 12,
                _ => 20,
            };
            let err = read_image_header(&bytes[..cut], Some(hint)).unwrap_err();
            assert!(
                matches!(err, ImageError::Truncated { part: "header", .. }),
                "{format}: {err}"
            );
            assert!(err.to_string().contains(format), "{format}: {err}");
        }
    }

    #[test]
    fn answers_the_size_of_a_png_whose_header_claims_100000_by_100000() {
        let png = fixtures::lying_png(100_000, 100_000);
        let header = read_image_header(&png, None).unwrap();
        assert_eq!((header.width, header.height), (100_000, 100_000));
        let mut reader = HeaderReader::new(None, &ImageLimits::default());
        assert_eq!(reader.push(&png).unwrap(), Some(header));
    }

    #[test]
    fn a_corrupt_png_header_is_malformed_not_truncated() {
        let mut png = fixtures::lying_png(10, 10);
        png[20] ^= 0xff; // inside IHDR: the CRC no longer matches
        let err = read_image_header(&png, None).unwrap_err();
        assert!(
            matches!(err, ImageError::Malformed { format: "png", .. }),
            "{err}"
        );
        // The incremental reader says so without waiting for the end.
        let mut reader = HeaderReader::new(None, &ImageLimits::default());
        let err = reader.push(&png).unwrap_err();
        assert!(matches!(err, ImageError::Malformed { .. }), "{err}");
    }

    #[test]
    fn no_prefix_of_an_image_yields_a_header_other_than_the_whole_images() {
        // Multi-digit sizes matter: a text header cut inside "4000" reads "40".
        for (format, bytes, hint, _) in every_encodable_format(3, 7)
            .into_iter()
            .chain(every_encodable_format(4000, 12))
        {
            let whole = read_image_header(&bytes, Some(hint)).unwrap();
            for len in 0..bytes.len().min(3000) {
                match attempt(&bytes[..len], hinted_format(Some(hint)), false) {
                    Attempt::Header(h) => assert_eq!(h, whole, "{format} prefix {len}"),
                    Attempt::NeedMore => {}
                    Attempt::Failed(e) => panic!("{format} prefix {len} failed: {e}"),
                }
            }
        }
    }

    #[test]
    fn reading_in_1_byte_and_64_kib_pieces_gives_the_same_header_as_all_at_once() {
        for (width, height) in [(1, 1), (3, 7), (4000, 1)] {
            for (format, bytes, hint, _) in every_encodable_format(width, height) {
                let whole = read_image_header(&bytes, Some(hint)).unwrap();
                for size in [1, 7, 64 << 10] {
                    let (header, _) = pieces(&bytes, size, Some(hint));
                    assert_eq!(
                        header, whole,
                        "{format} {width}×{height} in {size}-byte pieces"
                    );
                }
            }
        }
    }

    #[test]
    fn the_reader_answers_long_before_a_large_image_has_arrived() {
        // 1000×1000 of noise: a ~3 MB PNG, incompressible.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let noise = ImageBuffer::from_fn(1000, 1000, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ::image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
        });
        let png = fixtures::encode(&DynamicImage::ImageRgb8(noise), ImageFormat::Png);
        assert!(png.len() > 2_000_000);
        for size in [1, 4096] {
            let (header, received) = pieces(&png, size, None);
            assert_eq!((header.width, header.height), (1000, 1000));
            assert!(
                received <= 8192,
                "{size}-byte pieces: answered after {received} bytes"
            );
        }
    }

    #[test]
    fn the_reader_buffers_at_most_max_header_bytes_then_gives_up() {
        let limits = ImageLimits {
            max_header_bytes: 5000,
            ..ImageLimits::default()
        };
        // A PNG whose first chunk claims 100 000 bytes of text before IHDR.
        let mut reader = HeaderReader::new(None, &limits);
        let mut outcome = reader.push(&long_first_chunk_png());
        let mut pushed = 41;
        while let Ok(None) = outcome {
            assert!(reader.bytes_buffered() <= 5000);
            outcome = reader.push(&[0u8; 333]);
            pushed += 333;
            assert!(pushed < 10_000, "never gave up");
        }
        let err = outcome.unwrap_err();
        assert!(err.is_over_limit(), "{err}");
        assert_eq!(err, ImageError::HeaderTooLong { max: 5000 });
        assert_eq!(reader.bytes_buffered(), 0);
    }

    #[test]
    fn one_byte_pieces_cost_a_logarithmic_number_of_attempts() {
        let limits = ImageLimits {
            max_header_bytes: 1 << 20,
            ..ImageLimits::default()
        };
        let mut reader = HeaderReader::new(None, &limits);
        reader.push(&long_first_chunk_png()).unwrap();
        let mut outcome = Ok(None);
        for _ in 0..(1 << 20) {
            outcome = reader.push(&[0]);
            if outcome.is_err() {
                break;
            }
        }
        assert_eq!(outcome, Err(ImageError::HeaderTooLong { max: 1 << 20 }));
        // 16, 32, ..., 2^20: 17 attempts, and one more on the full buffer
        // to tell a malformed header from a long one.
        assert!(reader.attempts() <= 18, "{} attempts", reader.attempts());
    }

    #[test]
    fn a_full_buffer_that_cuts_a_header_field_is_too_long_not_misread() {
        // Found by the `image_header` fuzz target: a PGM whose maxval 10000
        // (16-bit samples) was cut to "000100" by max_header_bytes and read
        // as 8-bit. Kept in tests/fuzz_regressions/image_header/ (with a
        // height of 0, which is now refused as Pillow refuses it; here 1).
        let pgm = b"P5\n25\n \n1\n00010000 00800";
        let whole = read_image_header(pgm, None).unwrap();
        assert_eq!(whole.color_type.as_deref(), Some("L16"));
        let limits = ImageLimits {
            max_header_bytes: 16,
            ..ImageLimits::default()
        };
        let mut reader = HeaderReader::new(None, &limits);
        let outcome = pgm
            .chunks(5)
            .map(|piece| reader.push(piece))
            .find(|r| !matches!(r, Ok(None)));
        assert_eq!(outcome, Some(Err(ImageError::HeaderTooLong { max: 16 })));
    }

    #[test]
    fn a_stream_that_ends_inside_the_header_is_truncated() {
        let png = fixtures::encode(&fixtures::rgb8(3, 7), ImageFormat::Png);
        let mut reader = HeaderReader::new(None, &ImageLimits::default());
        assert_eq!(reader.push(&png[..30]), Ok(None));
        let err = reader.finish().unwrap_err();
        assert_eq!(
            err,
            ImageError::Truncated {
                format: "png",
                len: 30,
                part: "header"
            }
        );
    }

    #[test]
    fn a_failed_reader_keeps_failing_and_an_answered_one_keeps_answering() {
        let mut reader = HeaderReader::new(None, &ImageLimits::default());
        let err = reader.push(b"definitely not an image").unwrap_err();
        assert_eq!(reader.push(b"\x89PNG"), Err(err));
        let png = fixtures::encode(&fixtures::rgb8(3, 7), ImageFormat::Png);
        let mut reader = HeaderReader::new(None, &ImageLimits::default());
        let header = reader.push(&png).unwrap();
        assert!(header.is_some());
        assert_eq!(reader.push(b"trailing"), Ok(header.clone()));
        assert_eq!(reader.finish().ok(), header);
    }

    #[test]
    fn measures_bytes_needed_before_the_header_is_known() {
        // Smallest prefix each decoder answers on (the reader answers at the
        // next doubling of that at most); bounded so a regression that makes
        // a format wait for its pixel data fails here.
        for (format, bytes, hint, _) in every_encodable_format(300, 200) {
            let hint = hinted_format(Some(hint));
            let needed = (0..=bytes.len())
                .find(|&len| matches!(attempt(&bytes[..len], hint, false), Attempt::Header(_)))
                .unwrap_or(usize::MAX);
            println!(
                "{format:>9}: header known after {needed} of {} bytes",
                bytes.len()
            );
            // TIFF as the crate writes it keeps its directory after the pixels.
            let bound = if format == "tiff" { bytes.len() } else { 1024 };
            assert!(needed <= bound, "{format} needs {needed} bytes");
        }
    }

    #[test]
    fn a_panicking_decoder_becomes_a_malformed_image_error() {
        let err = guarded("png", || -> u8 { panic!("index out of bounds") }).unwrap_err();
        assert_eq!(
            err,
            ImageError::Malformed {
                format: "png",
                reason: "the png decoder failed on this input (index out of bounds)".into()
            }
        );
    }

    proptest! {
        #[test]
        fn random_bytes_after_a_signature_give_an_error_or_a_header_never_a_panic(
            signature in prop::sample::select(vec![
                &b"\x89PNG\r\n\x1a\n"[..], b"\xff\xd8\xff", b"GIF89a", b"RIFF\0\0\0\0WEBP",
                b"II*\0", b"MM\0*", b"DDS ", b"BM", b"\0\0\x01\0", b"#?RADIANCE\n",
                b"\x76\x2f\x31\x01", b"qoif", b"P6", b"P7", b"farbfeld",
            ]),
            tail in prop::collection::vec(any::<u8>(), 0..300),
            piece in 1usize..64,
        ) {
            let bytes = [signature, &tail[..]].concat();
            let whole = read_image_header(&bytes, None);
            // The incremental reader agrees with the one-shot reader.
            let mut reader = HeaderReader::new(None, &ImageLimits::default());
            let mut streamed = None;
            for p in bytes.chunks(piece) {
                match reader.push(p) {
                    Ok(None) => {}
                    Ok(Some(h)) => { streamed = Some(Ok(h)); break; }
                    Err(e) => { streamed = Some(Err(e)); break; }
                }
            }
            let streamed = match streamed { Some(r) => r, None => reader.finish() };
            prop_assert_eq!(streamed.is_ok(), whole.is_ok(), "{:?} vs {:?}", streamed, whole);
            if let Ok(h) = &whole {
                prop_assert_eq!(streamed.as_ref().ok(), Some(h));
            }
        }
    }
}
