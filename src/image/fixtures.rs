//! Test images: every format the `image` crate encodes, made in memory, plus
//! hand-made files for what it cannot write (DDS, lying PNG headers).

use ::image::{DynamicImage, ImageBuffer, ImageFormat, Rgb, Rgba};
use std::io::Cursor;

/// The colour of pixel (`x`, `y`) of the test picture.
fn colour(x: u32, y: u32) -> [u8; 3] {
    [
        (x * 37 + y * 11) as u8,
        (x * 5 + y * 71) as u8,
        (x ^ y) as u8,
    ]
}

/// A deterministic, non-constant RGB8 picture.
pub fn rgb8(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(width, height, |x, y| {
        Rgb(colour(x, y))
    }))
}

/// The same picture with alpha.
pub fn rgba8(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgba8(ImageBuffer::from_fn(width, height, |x, y| {
        let [r, g, b] = colour(x, y);
        Rgba([r, g, b, 255u8.wrapping_sub(x as u8)])
    }))
}

/// Encodes with the crate's encoder for `format`.
pub fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, format)
        .unwrap_or_else(|e| panic!("encoding {format:?}: {e}"));
    out.into_inner()
}

/// One image of `width`×`height` per format the crate encodes, in a colour
/// type that format holds: (format name, file bytes, filename hint, the
/// colour type the header should report).
pub fn every_encodable_format(
    width: u32,
    height: u32,
) -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    let rgb = rgb8(width, height);
    let rgba = rgba8(width, height);
    let mut all = vec![
        ("png", encode(&rgb, ImageFormat::Png), "x.png", "Rgb8"),
        ("jpeg", encode(&rgb, ImageFormat::Jpeg), "x.jpg", "Rgb8"),
        ("gif", encode(&rgba, ImageFormat::Gif), "x.gif", "Rgba8"),
        ("bmp", encode(&rgb, ImageFormat::Bmp), "x.bmp", "Rgb8"),
        ("tiff", encode(&rgb, ImageFormat::Tiff), "x.tif", "Rgb8"),
        ("webp", encode(&rgba, ImageFormat::WebP), "x.webp", "Rgba8"),
        ("pnm", encode(&rgb, ImageFormat::Pnm), "x.ppm", "Rgb8"),
        ("tga", encode(&rgb, ImageFormat::Tga), "x.tga", "Rgb8"),
        ("qoi", encode(&rgba, ImageFormat::Qoi), "x.qoi", "Rgba8"),
        (
            "farbfeld",
            encode(
                &DynamicImage::ImageRgba16(rgba.to_rgba16()),
                ImageFormat::Farbfeld,
            ),
            "x.ff",
            "Rgba16",
        ),
        (
            "hdr",
            encode(
                &DynamicImage::ImageRgb32F(rgb.to_rgb32f()),
                ImageFormat::Hdr,
            ),
            "x.hdr",
            "Rgb32F",
        ),
        (
            "openexr",
            encode(
                &DynamicImage::ImageRgba32F(rgba.to_rgba32f()),
                ImageFormat::OpenExr,
            ),
            "x.exr",
            "Rgba32F",
        ),
    ];
    // The crate's DXT decoder reads only sizes that are multiples of 4.
    if width.is_multiple_of(4) && height.is_multiple_of(4) {
        all.push(("dds", dds_dxt1(width, height), "x.dds", "Rgba8"));
    }
    // ICO holds at most 256×256.
    if width <= 256 && height <= 256 {
        all.push(("ico", encode(&rgba, ImageFormat::Ico), "x.ico", "Rgba8"));
    }
    all
}

/// A DDS file with DXT1 data (the crate reads DDS but cannot write it).
pub fn dds_dxt1(width: u32, height: u32) -> Vec<u8> {
    let blocks = width.div_ceil(4) * height.div_ceil(4);
    let mut out = b"DDS ".to_vec();
    let mut put = |v: u32| out.extend_from_slice(&v.to_le_bytes());
    // DDS_HEADER: size, flags (CAPS|HEIGHT|WIDTH|PIXELFORMAT|LINEARSIZE),
    // height, width, linear size, depth, mip count, 11 reserved.
    for v in [
        124,
        0x1 | 0x2 | 0x4 | 0x1000 | 0x80000,
        height,
        width,
        blocks * 8,
        0,
        1,
    ] {
        put(v);
    }
    for _ in 0..11 {
        put(0);
    }
    // DDS_PIXELFORMAT: size, flags (FOURCC), fourcc, bit count, 4 masks.
    put(32);
    put(0x4);
    put(u32::from_le_bytes(*b"DXT1"));
    for _ in 0..5 {
        put(0);
    }
    // caps (TEXTURE), caps2..4, reserved2.
    put(0x1000);
    for _ in 0..4 {
        put(0);
    }
    for i in 0..blocks {
        // Two RGB565 colours and 2-bit indices.
        out.extend_from_slice(&[0x1f, 0xf8, 0xe0, 0x07]);
        out.extend_from_slice(&(i.wrapping_mul(0x9e37_79b9)).to_le_bytes());
    }
    out
}

/// A PNG signature and IHDR chunk (valid CRC) claiming `width`×`height`
/// RGB8, then an IDAT chunk with a few bytes of zlib data and IEND: a small
/// file whose header lies about its size.
pub fn lying_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    push_chunk(&mut out, b"IHDR", &ihdr);
    // zlib stream of a few zero bytes: far fewer than the header promises.
    push_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
    );
    push_chunk(&mut out, b"IEND", &[]);
    out
}

fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (IEEE), bit by bit: slow, obviously right, enough for fixtures.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
