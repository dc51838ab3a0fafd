//! Encoded images: what their headers say, and images as tensors.
//!
//! Three jobs, none of which knows anything of gRPC or HTTP:
//! - [`read_image_header`] and the incremental [`HeaderReader`] learn an
//!   image's width, height, format, colour type and bit depth from its header
//!   alone, for every format the `image` crate reads, without decoding a pixel
//!   (`header.rs`). The format is detected from the bytes; a filename is only
//!   a hint, used for a TGA (the one format without a signature) whose header
//!   fields fail Pillow's checks. Where the crate gives no size but Pillow
//!   does (a TGA or QOI cut short, a PNG without IDAT), the size comes from
//!   the header fields alone (`header_fields.rs`).
//! - [`decode_to_tensor`] turns an image into an H×W×C tensor and
//!   [`encode_png`] turns an H×W or H×W×C tensor into a PNG (`codec.rs`).
//!   Decoding is checked against [`ImageLimits`] after the header is read and
//!   before the pixel buffer is allocated, so a decompression bomb costs a
//!   header's worth of work.
//! - [`spatial_axes`] names the axes a filter of an image runs over.
//!
//! Every failure is an [`ImageError`] that says what is wrong with the input;
//! no input makes this module panic (decoder panics are caught, see
//! `header.rs`).

mod codec;
mod header;
mod header_fields;

#[cfg(test)]
mod fixtures;

pub use codec::{decode_to_tensor, decode_to_tensor_hinted, encode_png};
pub use header::{HeaderReader, read_image_header};

use crate::tensor::Tensor;
use ::image::ImageFormat;
use thiserror::Error;

/// Bounds on what the image module reads and decodes; every number is checked
/// before memory is allocated from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageLimits {
    /// Widest image [`decode_to_tensor`] decodes, in pixels. Default 65 535,
    /// the largest JPEG (and more than any camera or scanner produces).
    pub max_width: u32,
    /// Tallest image [`decode_to_tensor`] decodes, in pixels. Default 65 535.
    pub max_height: u32,
    /// Most pixels (width × height) [`decode_to_tensor`] decodes. Default
    /// 2^27 ≈ 134 Mpx — Pillow refuses images over ≈ 179 Mpx as bombs.
    pub max_pixels: u64,
    /// Most bytes decoding may allocate: the decoded pixels themselves
    /// (checked exactly before allocating) plus the decoder's working memory
    /// (enforced by the `image` crate, per format, on a best-effort basis).
    /// Default 1 GiB, which holds 2^27 pixels of RGBA at 16 bits.
    pub max_decode_bytes: u64,
    /// Most bytes [`HeaderReader`] buffers while it looks for the header
    /// before it gives up. Default 16 MiB: a JPEG may put up to ~1 MiB of
    /// APP segments (EXIF thumbnails, ICC profiles, XMP, often several)
    /// before its frame header, a PNG's ancillary chunks (iCCP, text) all
    /// precede the first IDAT, and a TIFF's first directory may sit at any
    /// offset — some writers put it after the pixel data.
    pub max_header_bytes: usize,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_width: 65_535,
            max_height: 65_535,
            max_pixels: 1 << 27,
            max_decode_bytes: 1 << 30,
            max_header_bytes: 16 << 20,
        }
    }
}

/// What an image's header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageHeader {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Format, lower case: `png`, `jpeg`, `gif`, `bmp`, `ico`, `tiff`,
    /// `webp`, `pnm`, `tga`, `dds`, `farbfeld`, `qoi`, `hdr`, `openexr`.
    pub format: String,
    /// The colour type stored in the file, as the `image` crate names it
    /// (`"Rgb8"`, `"La16"`, `"L1"`, `"Cmyk8"`, `"Rgb32F"`, ...). When the
    /// crate cannot name the stored type it is the type decoding yields.
    /// `None` when the size came from header fields alone (a file the
    /// crate does not read, see `header_fields.rs`) that name no such type.
    pub color_type: Option<String>,
    /// Channels of the stored colour type (1..4); 0 when unknown.
    pub channels: u32,
    /// Bits per channel of the stored colour type; 0 when unknown.
    pub bit_depth: u32,
}

/// Lower-case format name, as `ImageHeader::format` reports it.
fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "png",
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Gif => "gif",
        ImageFormat::WebP => "webp",
        ImageFormat::Pnm => "pnm",
        ImageFormat::Tiff => "tiff",
        ImageFormat::Tga => "tga",
        ImageFormat::Dds => "dds",
        ImageFormat::Bmp => "bmp",
        ImageFormat::Ico => "ico",
        ImageFormat::Hdr => "hdr",
        ImageFormat::OpenExr => "openexr",
        ImageFormat::Farbfeld => "farbfeld",
        ImageFormat::Avif => "avif",
        ImageFormat::Qoi => "qoi",
        // `ImageFormat` is non-exhaustive; a format added later still gets
        // a readable (if not curated) name.
        _ => "other",
    }
}

/// Why an image could not be read, decoded or encoded.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ImageError {
    /// No bytes at all.
    #[error("the image is empty (0 bytes)")]
    Empty,
    /// The first bytes match no image signature (and no usable filename hint).
    #[error(
        "unknown image format: the first bytes ({first_bytes}) match none of PNG, JPEG, GIF, \
         BMP, ICO, TIFF, WebP, PNM, DDS, farbfeld, QOI, HDR, OpenEXR, nor a TGA header (a TGA \
         whose header fields are unusual is recognised with a .tga filename)"
    )]
    UnknownFormat {
        /// Up to the first 8 bytes, in hex.
        first_bytes: String,
    },
    /// A format, or a feature of one, this build cannot read; or a tensor
    /// [`encode_png`] cannot write.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The bytes end before the header (or the pixel data) does.
    #[error(
        "the {format} image is truncated: it ends after {len} bytes, before its {part} is complete"
    )]
    Truncated {
        /// Format, lower case.
        format: &'static str,
        /// Bytes there were.
        len: u64,
        /// `"header"` or `"pixel data"`.
        part: &'static str,
    },
    /// The bytes are not a valid image of the format their signature names.
    #[error("malformed {format} image: {reason}")]
    Malformed {
        /// Format, lower case.
        format: &'static str,
        /// What the decoder found wrong.
        reason: String,
    },
    /// The header is fine but decoding the image would exceed a limit; the
    /// size is still reported by [`read_image_header`].
    #[error(
        "the {width}×{height} image is too large to decode: {what} is {value}, over the limit \
         {limit} = {max}"
    )]
    TooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// What was measured: `"width"`, `"height"`, `"pixel count"`,
        /// `"decoded size in bytes"`.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The [`ImageLimits`] field that refused it.
        limit: &'static str,
        /// The limit's value.
        max: u64,
    },
    /// A decoder needed more working memory than allowed.
    #[error("reading the {format} image needs more than {max} bytes of working memory ({limit})")]
    DecodeMemory {
        /// Format, lower case.
        format: &'static str,
        /// The limit in bytes.
        max: u64,
        /// Which limit: `"max_decode_bytes"` or the header reader's own.
        limit: &'static str,
    },
    /// [`HeaderReader`] buffered `max_header_bytes` without finding a header.
    #[error(
        "no complete image header in the first {max} bytes (limit max_header_bytes): the \
         image's metadata is longer than that, the data is not an image, or it is a TIFF whose \
         directory follows the pixel data (send it whole, not streamed)"
    )]
    HeaderTooLong {
        /// The limit.
        max: usize,
    },
    /// The header gives a width or height of 0, which Pillow (and so the
    /// Flask apps tensorwire replaces) cannot identify as an image.
    #[error(
        "the {format} image is {width}×{height}: an image with a zero width or height is not an image"
    )]
    ZeroSize {
        /// Format, lower case.
        format: &'static str,
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
    },
    /// A bug: something this module guarantees did not hold.
    #[error("internal error in the image module: {0}")]
    Internal(String),
}

impl ImageError {
    /// True when the input is refused for a size limit rather than for being
    /// wrong (a caller maps these to RESOURCE_EXHAUSTED, the rest of the
    /// input errors to INVALID_ARGUMENT).
    pub fn is_over_limit(&self) -> bool {
        matches!(
            self,
            ImageError::TooLarge { .. }
                | ImageError::DecodeMemory { .. }
                | ImageError::HeaderTooLong { .. }
        )
    }
}

/// The axes a filter of an image runs over: the two spatial axes `[0, 1]` of
/// an H×W or H×W×C tensor, so a Gaussian blur never mixes the colour
/// channels. For a tensor of rank below 2 it is every axis. A caller who
/// wants other axes (say, to blur across channels too) passes the axes
/// explicitly in the filter's parameters instead of calling this.
pub fn spatial_axes(tensor: &Tensor) -> Vec<i64> {
    let rank = tensor.shape().len().min(2);
    (0..rank as i64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{DType, TensorLimits};
    use bytes::Bytes;

    fn zeros(shape: &[u64]) -> Tensor {
        let len: u64 = shape.iter().product();
        Tensor::new(
            DType::UInt8,
            shape,
            Bytes::from(vec![0u8; len as usize]),
            &TensorLimits::default(),
        )
        .unwrap()
    }

    #[test]
    fn spatial_axes_are_height_and_width_whatever_the_channel_count() {
        assert_eq!(spatial_axes(&zeros(&[5, 7])), vec![0, 1]);
        assert_eq!(spatial_axes(&zeros(&[5, 7, 1])), vec![0, 1]);
        assert_eq!(spatial_axes(&zeros(&[5, 7, 4])), vec![0, 1]);
    }

    #[test]
    fn spatial_axes_of_a_vector_is_its_only_axis() {
        assert_eq!(spatial_axes(&zeros(&[9])), vec![0]);
        assert_eq!(spatial_axes(&zeros(&[])), Vec::<i64>::new());
    }

    #[test]
    fn limit_errors_are_told_apart_from_bad_input() {
        assert!(ImageError::HeaderTooLong { max: 1 }.is_over_limit());
        assert!(!ImageError::Empty.is_over_limit());
        assert!(
            !ImageError::Malformed {
                format: "png",
                reason: String::new()
            }
            .is_over_limit()
        );
    }
}
