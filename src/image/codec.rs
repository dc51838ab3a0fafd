//! Images as tensors: decoding an encoded image into an H×W×C tensor and
//! encoding an image-shaped tensor as PNG.
//!
//! Decoding reads the header first and checks the declared size against
//! [`ImageLimits`] before the pixel buffer exists, so a small file that
//! claims to be huge (a decompression bomb) is refused after reading a few
//! bytes; the `image` crate's own limits bound the decoder's working memory.
//! Both directions are CPU-bound: callers run them on a blocking thread.

use super::header::{PrefixReader, classify, detect_format, guarded, hinted_format};
use super::{ImageError, ImageLimits, format_name};
use crate::tensor::{DType, Tensor, TensorLimits};
use ::image::codecs::png::PngEncoder;
use ::image::{ColorType, ExtendedColorType, ImageDecoder, ImageEncoder, ImageReader, Limits};
use bytes::Bytes;
use std::borrow::Cow;
use std::cell::Cell;

/// Decodes an image into an H×W×C tensor, C = 1 (gray), 2 (gray, alpha),
/// 3 (RGB) or 4 (RGBA), always rank 3 so a gray image is H×W×1.
///
/// The dtype is uint8 for 8-bit (and lower-depth, expanded) images, uint16
/// for 16-bit ones, and float32 for floating-point images (Radiance HDR,
/// OpenEXR, float TIFF). Pixels are returned as stored: no EXIF rotation,
/// no colour management (what `numpy.asarray(PIL.Image.open(f))` gives).
/// Palette images come out as RGB(A); an animated GIF, PNG or WebP gives its
/// first frame; CMYK JPEGs are converted to RGB by the decoder.
pub fn decode_to_tensor(bytes: &[u8], limits: &ImageLimits) -> Result<Tensor, ImageError> {
    decode_to_tensor_hinted(bytes, None, limits)
}

/// [`decode_to_tensor`] with a filename hint, for TGA, the one format whose
/// bytes carry no signature.
pub fn decode_to_tensor_hinted(
    bytes: &[u8],
    filename_hint: Option<&str>,
    limits: &ImageLimits,
) -> Result<Tensor, ImageError> {
    let format = detect_format(bytes, hinted_format(filename_hint), true)?.ok_or(
        // With `complete`, detection always decides; keep a truthful error
        // instead of a panic should that ever change.
        ImageError::Internal("format detection undecided on a complete image".into()),
    )?;
    let name = format_name(format);
    let hit_end = Cell::new(false);
    let memory_limit = (limits.max_decode_bytes, "max_decode_bytes");
    guarded(name, || {
        let mut crate_limits = Limits::no_limits();
        crate_limits.max_alloc = Some(limits.max_decode_bytes);
        let mut reader = ImageReader::with_format(PrefixReader::new(bytes, &hit_end), format);
        reader.limits(crate_limits.clone());
        let mut decoder = reader
            .into_decoder()
            .map_err(|e| classify(e, name, bytes.len(), hit_end.get(), "header", memory_limit))?;

        let (width, height) = decoder.dimensions();
        if width == 0 || height == 0 {
            return Err(ImageError::ZeroSize {
                format: name,
                width,
                height,
            });
        }
        let color = decoder.color_type();
        let nbytes = check_decode_limits(width, height, color, limits)?;
        let (dtype, channels) = tensor_layout(color)
            .ok_or_else(|| ImageError::Unsupported(format!("{name} image of colour {color:?}")))?;

        // The crate enforces width and height strictly during decoding too.
        crate_limits.max_image_width = Some(limits.max_width);
        crate_limits.max_image_height = Some(limits.max_height);
        decoder
            .set_limits(crate_limits)
            .map_err(|e| classify(e, name, bytes.len(), hit_end.get(), "header", memory_limit))?;

        let mut pixels = Vec::new();
        pixels
            .try_reserve_exact(nbytes)
            .map_err(|_| ImageError::DecodeMemory {
                format: name,
                max: limits.max_decode_bytes,
                limit: "max_decode_bytes (the allocation itself failed)",
            })?;
        pixels.resize(nbytes, 0);
        decoder.read_image(&mut pixels).map_err(|e| {
            classify(
                e,
                name,
                bytes.len(),
                hit_end.get(),
                "pixel data",
                memory_limit,
            )
        })?;
        native_to_little_endian(&mut pixels, dtype.itemsize());

        let shape = [u64::from(height), u64::from(width), channels];
        let unlimited = TensorLimits {
            max_rank: 3,
            max_bytes: u64::MAX,
        };
        Tensor::new(dtype, &shape, Bytes::from(pixels), &unlimited)
            .map_err(|e| ImageError::Internal(format!("decoded pixels do not fit the shape: {e}")))
    })?
}

/// Checks a declared size against the limits; returns the decoded size in
/// bytes, which then fits in `usize`.
fn check_decode_limits(
    width: u32,
    height: u32,
    color: ColorType,
    limits: &ImageLimits,
) -> Result<usize, ImageError> {
    let refuse = |what, value, limit, max| ImageError::TooLarge {
        width,
        height,
        what,
        value,
        limit,
        max,
    };
    if width > limits.max_width {
        return Err(refuse(
            "width",
            width.into(),
            "max_width",
            limits.max_width.into(),
        ));
    }
    if height > limits.max_height {
        return Err(refuse(
            "height",
            height.into(),
            "max_height",
            limits.max_height.into(),
        ));
    }
    // u32 × u32 fits in u64; times at most 16 bytes per pixel it may not.
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(refuse(
            "pixel count",
            pixels,
            "max_pixels",
            limits.max_pixels,
        ));
    }
    let nbytes = pixels.saturating_mul(u64::from(color.bytes_per_pixel()));
    if nbytes > limits.max_decode_bytes {
        return Err(refuse(
            "decoded size in bytes",
            nbytes,
            "max_decode_bytes",
            limits.max_decode_bytes,
        ));
    }
    usize::try_from(nbytes).map_err(|_| {
        refuse(
            "decoded size in bytes",
            nbytes,
            "the address space",
            usize::MAX as u64,
        )
    })
}

/// The tensor dtype and channel count a decoded colour type becomes.
fn tensor_layout(color: ColorType) -> Option<(DType, u64)> {
    let dtype = match color {
        ColorType::L8 | ColorType::La8 | ColorType::Rgb8 | ColorType::Rgba8 => DType::UInt8,
        ColorType::L16 | ColorType::La16 | ColorType::Rgb16 | ColorType::Rgba16 => DType::UInt16,
        ColorType::Rgb32F | ColorType::Rgba32F => DType::Float32,
        _ => return None,
    };
    Some((dtype, u64::from(color.channel_count())))
}

/// Decoders write multi-byte samples in native order; tensors are
/// little-endian. A no-op on little-endian hosts.
fn native_to_little_endian(pixels: &mut [u8], itemsize: usize) {
    if cfg!(target_endian = "big") && itemsize > 1 {
        for sample in pixels.chunks_exact_mut(itemsize) {
            sample.reverse();
        }
    }
}

/// Encodes an image-shaped tensor as PNG: shape H×W (gray) or H×W×C with
/// C = 1 (gray), 2 (gray, alpha), 3 (RGB) or 4 (RGBA), dtype uint8 or
/// uint16. Anything else is [`ImageError::Unsupported`] with what to change.
pub fn encode_png(tensor: &Tensor) -> Result<Vec<u8>, ImageError> {
    let shape = tensor.shape();
    let (height, width, channels) = match *shape {
        [h, w] => (h, w, 1),
        [h, w, c] => (h, w, c),
        _ => {
            return Err(ImageError::Unsupported(format!(
                "PNG encoding takes an H×W or H×W×C tensor; this one has shape {shape:?}"
            )));
        }
    };
    let color = match (tensor.dtype(), channels) {
        (DType::UInt8, 1) => ExtendedColorType::L8,
        (DType::UInt8, 2) => ExtendedColorType::La8,
        (DType::UInt8, 3) => ExtendedColorType::Rgb8,
        (DType::UInt8, 4) => ExtendedColorType::Rgba8,
        (DType::UInt16, 1) => ExtendedColorType::L16,
        (DType::UInt16, 2) => ExtendedColorType::La16,
        (DType::UInt16, 3) => ExtendedColorType::Rgb16,
        (DType::UInt16, 4) => ExtendedColorType::Rgba16,
        (DType::UInt8 | DType::UInt16, c) => {
            return Err(ImageError::Unsupported(format!(
                "PNG holds 1 to 4 channels (gray, gray+alpha, RGB, RGBA); shape {shape:?} has {c}"
            )));
        }
        (dtype, _) => {
            return Err(ImageError::Unsupported(format!(
                "PNG holds uint8 or uint16 samples; this tensor is {dtype} — scale and cast it \
                 to uint8 or uint16 first"
            )));
        }
    };
    // PNG's width and height are 1 ..= 2^31 - 1.
    let dimension = |n: usize, what: &str| {
        u32::try_from(n)
            .ok()
            .filter(|&n| (1..=i32::MAX as u32).contains(&n))
            .ok_or_else(|| {
                ImageError::Unsupported(format!(
                    "PNG {what} must be 1 to 2147483647 pixels; shape {shape:?} has {n}"
                ))
            })
    };
    let height = dimension(height, "height")?;
    let width = dimension(width, "width")?;

    // The encoder wants samples in native order; tensors are little-endian.
    let samples: Cow<[u8]> = if cfg!(target_endian = "big") && tensor.dtype() == DType::UInt16 {
        let mut swapped = tensor.data().to_vec();
        native_to_little_endian(&mut swapped, 2);
        Cow::Owned(swapped)
    } else {
        Cow::Borrowed(tensor.data())
    };
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&samples, width, height, color)
        .map_err(|e| ImageError::Internal(format!("PNG encoding failed: {e}")))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::fixtures::{self, every_encodable_format};
    use crate::image::read_image_header;
    use ::image::{DynamicImage, ImageBuffer, ImageFormat, Luma, LumaA};
    use proptest::prelude::*;

    fn limits() -> ImageLimits {
        ImageLimits::default()
    }

    fn u16s(tensor: &Tensor) -> Vec<u16> {
        tensor
            .data()
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    #[test]
    fn decodes_an_rgb_png_into_an_h_w_3_uint8_tensor_in_row_major_order() {
        let image = fixtures::rgb8(3, 7);
        let tensor =
            decode_to_tensor(&fixtures::encode(&image, ImageFormat::Png), &limits()).unwrap();
        assert_eq!(
            (tensor.dtype(), tensor.shape()),
            (DType::UInt8, &[7, 3, 3][..])
        );
        assert_eq!(tensor.data().as_ref(), image.as_bytes());
        // Row 1, column 2 is at (1 * 3 + 2) * 3.
        let px = image.as_rgb8().unwrap().get_pixel(2, 1).0;
        assert_eq!(&tensor.data()[15..18], &px);
    }

    #[test]
    fn decodes_a_16_bit_png_into_little_endian_uint16() {
        let image = DynamicImage::ImageRgb16(ImageBuffer::from_fn(4, 2, |x, y| {
            ::image::Rgb([x as u16 * 1000 + 1, y as u16 * 30000 + 2, 65535])
        }));
        let tensor =
            decode_to_tensor(&fixtures::encode(&image, ImageFormat::Png), &limits()).unwrap();
        assert_eq!(
            (tensor.dtype(), tensor.shape()),
            (DType::UInt16, &[2, 4, 3][..])
        );
        assert_eq!(u16s(&tensor), image.as_rgb16().unwrap().as_raw().clone());
    }

    #[test]
    fn decodes_gray_as_one_channel_and_gray_alpha_as_two() {
        let gray =
            DynamicImage::ImageLuma8(ImageBuffer::from_fn(5, 3, |x, y| Luma([(x * y) as u8])));
        let t = decode_to_tensor(&fixtures::encode(&gray, ImageFormat::Png), &limits()).unwrap();
        assert_eq!(t.shape(), &[3, 5, 1]);
        let la = DynamicImage::ImageLumaA16(ImageBuffer::from_fn(5, 3, |x, _| {
            LumaA([x as u16 * 9000, 7])
        }));
        let t = decode_to_tensor(&fixtures::encode(&la, ImageFormat::Png), &limits()).unwrap();
        assert_eq!((t.dtype(), t.shape()), (DType::UInt16, &[3, 5, 2][..]));
        assert_eq!(u16s(&t), la.as_luma_alpha16().unwrap().as_raw().clone());
    }

    #[test]
    fn decodes_every_format_to_the_shape_its_header_reports() {
        for (format, bytes, hint, _) in every_encodable_format(12, 8) {
            let header = read_image_header(&bytes, Some(hint)).unwrap();
            let tensor = decode_to_tensor_hinted(&bytes, Some(hint), &limits())
                .unwrap_or_else(|e| panic!("{format}: {e}"));
            assert_eq!(&tensor.shape()[..2], &[8, 12], "{format}");
            let expected_dtype = match format {
                "hdr" | "openexr" => DType::Float32,
                "farbfeld" => DType::UInt16,
                _ => DType::UInt8,
            };
            assert_eq!(tensor.dtype(), expected_dtype, "{format}");
            assert!((1..=4).contains(&tensor.shape()[2]), "{format}");
            assert!(header.channels >= 1);
        }
    }

    #[test]
    fn lossless_formats_decode_to_exactly_the_encoded_pixels() {
        let rgb = fixtures::rgb8(9, 5);
        for format in [
            ImageFormat::Png,
            ImageFormat::Bmp,
            ImageFormat::Tiff,
            ImageFormat::Qoi,
            ImageFormat::Pnm,
        ] {
            let tensor = decode_to_tensor(&fixtures::encode(&rgb, format), &limits()).unwrap();
            assert_eq!(tensor.data().as_ref(), rgb.as_bytes(), "{format:?}");
        }
        let rgba = fixtures::rgba8(9, 5);
        let tensor =
            decode_to_tensor(&fixtures::encode(&rgba, ImageFormat::WebP), &limits()).unwrap();
        assert_eq!(tensor.data().as_ref(), rgba.as_bytes(), "webp");
        let tga = fixtures::encode(&rgb, ImageFormat::Tga);
        let tensor = decode_to_tensor_hinted(&tga, Some("x.tga"), &limits()).unwrap();
        assert_eq!(tensor.data().as_ref(), rgb.as_bytes(), "tga");
    }

    #[test]
    fn refuses_to_decode_a_100000_by_100000_header_before_allocating() {
        let png = fixtures::lying_png(100_000, 100_000);
        // The size query answers; decoding is refused on the declared size
        // alone (10^10 pixels would need 30 GB; the refusal is immediate).
        assert_eq!(read_image_header(&png, None).unwrap().width, 100_000);
        let err = decode_to_tensor(&png, &limits()).unwrap_err();
        assert_eq!(
            err,
            ImageError::TooLarge {
                width: 100_000,
                height: 100_000,
                what: "width",
                value: 100_000,
                limit: "max_width",
                max: 65_535
            }
        );
        assert!(err.is_over_limit());
        let wide_open = ImageLimits {
            max_width: u32::MAX,
            max_height: u32::MAX,
            ..limits()
        };
        let err = decode_to_tensor(&png, &wide_open).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::TooLarge {
                    what: "pixel count",
                    ..
                }
            ),
            "{err}"
        );
        let no_pixel_cap = ImageLimits {
            max_pixels: u64::MAX,
            ..wide_open
        };
        let err = decode_to_tensor(&png, &no_pixel_cap).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::TooLarge {
                    what: "decoded size in bytes",
                    value: 30_000_000_000,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn every_limit_refuses_an_image_just_over_it_and_accepts_one_at_it() {
        let png = fixtures::encode(&fixtures::rgb8(10, 20), ImageFormat::Png);
        let at = ImageLimits {
            max_width: 10,
            max_height: 20,
            max_pixels: 200,
            max_decode_bytes: 600,
            ..limits()
        };
        assert!(decode_to_tensor(&png, &at).is_ok());
        for (over, what) in [
            (ImageLimits { max_width: 9, ..at }, "width"),
            (
                ImageLimits {
                    max_height: 19,
                    ..at
                },
                "height",
            ),
            (
                ImageLimits {
                    max_pixels: 199,
                    ..at
                },
                "pixel count",
            ),
            (
                ImageLimits {
                    max_decode_bytes: 599,
                    ..at
                },
                "decoded size in bytes",
            ),
        ] {
            let err = decode_to_tensor(&png, &over).unwrap_err();
            assert!(
                matches!(err, ImageError::TooLarge { what: w, .. } if w == what),
                "{err}"
            );
        }
    }

    #[test]
    fn reports_pixel_data_cut_short_as_truncated() {
        let png = fixtures::encode(&fixtures::rgb8(50, 50), ImageFormat::Png);
        let err = decode_to_tensor(&png[..png.len() / 2], &limits()).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::Truncated {
                    format: "png",
                    part: "pixel data",
                    ..
                }
            ),
            "{err}"
        );
        // The lying PNG ends properly (IEND) but its IDAT holds far fewer
        // bytes than 10×10 pixels: complete but wrong, so malformed.
        let err = decode_to_tensor(&fixtures::lying_png(10, 10), &limits()).unwrap_err();
        assert!(
            matches!(err, ImageError::Malformed { format: "png", .. }),
            "{err}"
        );
    }

    #[test]
    fn refuses_empty_and_unknown_bytes_when_decoding() {
        assert_eq!(decode_to_tensor(&[], &limits()), Err(ImageError::Empty));
        let err = decode_to_tensor(b"GIF? no, just text here", &limits()).unwrap_err();
        assert!(matches!(err, ImageError::UnknownFormat { .. }), "{err}");
    }

    #[test]
    fn png_round_trip_of_every_channel_count_and_depth_is_exact() {
        for channels in [1u64, 2, 3, 4] {
            let shape = [5, 3, channels];
            let n = (15 * channels) as usize;
            let t8 = Tensor::new(
                DType::UInt8,
                &shape,
                Bytes::from((0..n).map(|i| (i * 17) as u8).collect::<Vec<_>>()),
                &TensorLimits::default(),
            )
            .unwrap();
            let back = decode_to_tensor(&encode_png(&t8).unwrap(), &limits()).unwrap();
            assert_eq!(back, t8, "uint8 × {channels}");
            let data: Vec<u8> = (0..n)
                .flat_map(|i| ((i * 4099) as u16).to_le_bytes())
                .collect();
            let t16 = Tensor::new(
                DType::UInt16,
                &shape,
                Bytes::from(data),
                &TensorLimits::default(),
            )
            .unwrap();
            let back = decode_to_tensor(&encode_png(&t16).unwrap(), &limits()).unwrap();
            assert_eq!(back, t16, "uint16 × {channels}");
        }
    }

    #[test]
    fn an_h_w_tensor_encodes_as_gray_and_decodes_as_h_w_1() {
        let t = Tensor::new(
            DType::UInt8,
            &[2, 3],
            Bytes::from_static(&[0, 50, 100, 150, 200, 250]),
            &TensorLimits::default(),
        )
        .unwrap();
        let png = encode_png(&t).unwrap();
        assert_eq!(
            read_image_header(&png, None).unwrap().color_type.as_deref(),
            Some("L8")
        );
        let back = decode_to_tensor(&png, &limits()).unwrap();
        assert_eq!((back.shape(), back.data()), (&[2, 3, 1][..], t.data()));
    }

    #[test]
    fn encoding_refuses_wrong_dtypes_shapes_and_empty_images_saying_why() {
        let tl = TensorLimits::default();
        let f32s = Tensor::new(DType::Float32, &[2, 2], Bytes::from(vec![0u8; 16]), &tl).unwrap();
        let five = Tensor::new(DType::UInt8, &[2, 2, 5], Bytes::from(vec![0u8; 20]), &tl).unwrap();
        let rank4 =
            Tensor::new(DType::UInt8, &[1, 2, 2, 1], Bytes::from(vec![0u8; 4]), &tl).unwrap();
        let rank1 = Tensor::new(DType::UInt8, &[4], Bytes::from(vec![0u8; 4]), &tl).unwrap();
        let empty = Tensor::new(DType::UInt8, &[0, 4, 3], Bytes::new(), &tl).unwrap();
        for (tensor, says) in [
            (f32s, "float32"),
            (five, "has 5"),
            (rank4, "[1, 2, 2, 1]"),
            (rank1, "[4]"),
            (empty, "height must be 1"),
        ] {
            let err = encode_png(&tensor).unwrap_err();
            assert!(matches!(err, ImageError::Unsupported(_)), "{err}");
            assert!(err.to_string().contains(says), "{err} should say {says}");
        }
    }

    proptest! {
        #[test]
        fn png_round_trip_preserves_any_uint8_pixels(
            height in 1usize..9, width in 1usize..9, channels in 1usize..5, seed: u64,
        ) {
            let n = height * width * channels;
            let data: Vec<u8> = (0..n).map(|i| (seed.wrapping_mul(i as u64 + 1) >> 17) as u8).collect();
            let t = Tensor::new(DType::UInt8, &[height as u64, width as u64, channels as u64], Bytes::from(data), &TensorLimits::default()).unwrap();
            let back = decode_to_tensor(&encode_png(&t).unwrap(), &limits()).unwrap();
            prop_assert_eq!(back, t);
        }

        #[test]
        fn decoding_random_bytes_after_a_signature_never_panics(
            signature in prop::sample::select(vec![
                &b"\x89PNG\r\n\x1a\n"[..], b"\xff\xd8\xff", b"GIF89a", b"BM", b"qoif", b"P6\n", b"farbfeld",
            ]),
            tail in prop::collection::vec(any::<u8>(), 0..400),
        ) {
            let bytes = [signature, &tail[..]].concat();
            let small = ImageLimits { max_decode_bytes: 1 << 20, ..limits() };
            // Any result is fine but one that hides a decoder panic (caught
            // by `guarded`, which would mean a crate bug worth reporting).
            if let Err(ImageError::Malformed { reason, .. }) = decode_to_tensor(&bytes, &small) {
                prop_assert!(!reason.contains("decoder failed on this input"), "{}", reason);
            }
        }
    }
}
