//! Sizes read straight from header fields, for files whose size Pillow's
//! `Image.open(f).size` gives (what the seeds' `/im_size` answered) but the
//! `image` crate's decoders do not, because they want more than the fields
//! that hold the size:
//! - TGA has no signature; Pillow recognises it from its 18-byte header
//!   ([`looks_like_tga`]), and sizes it from those 18 bytes alone, while the
//!   crate's decoder also reads the colour map;
//! - QOI: Pillow sizes 13 bytes (magic, width, height, channels), the crate
//!   wants the whole 14-byte header;
//! - PNG: Pillow sizes a file whose chunks reach IDAT's header, or IEND with
//!   no IDAT at all (a header-only probe); the crate refuses the latter;
//! - PNM: Pillow sizes once the width, height and the first digit of maxval
//!   are there; the crate wants maxval's terminating whitespace.
//!
//! [`header`] is asked only when the crate gave no header (see
//! `header::attempt`), so a file the crate reads keeps the crate's answer.
//! The checks are Pillow's (`TgaImagePlugin`, `QoiImagePlugin`,
//! `PngImagePlugin`, `PpmImagePlugin`, Pillow 13), re-written here: no crate
//! reads these headers without also requiring what follows them.

use super::{ImageHeader, format_name};
use ::image::ImageFormat;

/// Length of a TGA file header.
pub(super) const TGA_HEADER_BYTES: usize = 18;

/// The size from header fields, when Pillow would give one from `bytes`
/// read as `format`; `None` when the fields are not all there or fail
/// Pillow's checks.
pub(super) fn header(format: ImageFormat, bytes: &[u8]) -> Option<ImageHeader> {
    match format {
        ImageFormat::Tga => tga(bytes),
        ImageFormat::Qoi => qoi(bytes),
        ImageFormat::Png => png(bytes),
        ImageFormat::Pnm => pnm(bytes),
        _ => None,
    }
}

/// True when the first 18 bytes pass Pillow's checks of a TGA header: colour
/// map type 0 or 1, image type 1, 2, 3, 9, 10 or 11, non-zero width and
/// height, 1, 8, 16, 24 or 32 bits per pixel, and a colour map of 16, 24 or
/// 32 bits per entry when there is one.
pub(super) fn looks_like_tga(bytes: &[u8]) -> bool {
    let Some(h) = bytes.get(..TGA_HEADER_BYTES) else {
        return false;
    };
    let (colour_map, image_type, map_depth, depth) = (h[1], h[2], h[7], h[16]);
    colour_map <= 1
        && matches!(image_type, 1 | 2 | 3 | 9 | 10 | 11)
        && u16::from_le_bytes([h[12], h[13]]) > 0
        && u16::from_le_bytes([h[14], h[15]]) > 0
        && matches!(depth, 1 | 8 | 16 | 24 | 32)
        && (colour_map == 0 || matches!(map_depth, 16 | 24 | 32))
}

fn tga(bytes: &[u8]) -> Option<ImageHeader> {
    if !looks_like_tga(bytes) {
        return None;
    }
    let (image_type, depth) = (bytes[2] & 7, bytes[16]);
    let color = match (image_type, depth) {
        (3, 8) => Some(("L8", 1, 8)),
        (3, 16) => Some(("La8", 2, 8)),
        (2, 24) => Some(("Rgb8", 3, 8)),
        (2, 32) => Some(("Rgba8", 4, 8)),
        _ => None,
    };
    Some(made(
        ImageFormat::Tga,
        u32::from(u16::from_le_bytes([bytes[12], bytes[13]])),
        u32::from(u16::from_le_bytes([bytes[14], bytes[15]])),
        color,
    ))
}

fn qoi(bytes: &[u8]) -> Option<ImageHeader> {
    let h = bytes.get(..13)?;
    if &h[..4] != b"qoif" {
        return None;
    }
    let width = u32::from_be_bytes(h[4..8].try_into().ok()?);
    let height = u32::from_be_bytes(h[8..12].try_into().ok()?);
    let color = if h[12] == 3 {
        ("Rgb8", 3, 8)
    } else {
        ("Rgba8", 4, 8)
    };
    sized(ImageFormat::Qoi, width, height, Some(color))
}

/// Walks the chunks as Pillow does, each complete and with a correct CRC,
/// up to the first IDAT, fdAT or IEND; the size is the IHDR's.
fn png(bytes: &[u8]) -> Option<ImageHeader> {
    let rest = bytes.strip_prefix(b"\x89PNG\r\n\x1a\n")?;
    let mut at = 0usize;
    let mut ihdr: Option<&[u8]> = None;
    loop {
        let length = u32::from_be_bytes(rest.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind = rest.get(at + 4..at + 8)?;
        if !kind.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_') {
            return None; // Pillow: "broken PNG file (chunk ...)"
        }
        if matches!(kind, b"IDAT" | b"fdAT" | b"IEND") {
            break;
        }
        let end = (at + 8).checked_add(length)?;
        let data = rest.get(at + 8..end)?;
        let crc = u32::from_be_bytes(rest.get(end..end.checked_add(4)?)?.try_into().ok()?);
        if crc32fast::hash(&rest[at + 4..end]) != crc {
            return None;
        }
        if kind == b"IHDR" {
            if data.len() < 13 || data[11] != 0 {
                return None; // Pillow: "Truncated IHDR chunk", "unknown filter category"
            }
            ihdr = Some(data);
        }
        at = end + 4;
    }
    let ihdr = ihdr?;
    let width = u32::from_be_bytes(ihdr[0..4].try_into().ok()?);
    let height = u32::from_be_bytes(ihdr[4..8].try_into().ok()?);
    let (depth, colour) = (ihdr[8], ihdr[9]);
    let color = match (colour, depth) {
        (0, 1) => Some(("L1", 1, 1)),
        (0, 2) => Some(("L2", 1, 2)),
        (0, 4) => Some(("L4", 1, 4)),
        (0, 8) => Some(("L8", 1, 8)),
        (0, 16) => Some(("L16", 1, 16)),
        (2, 8) => Some(("Rgb8", 3, 8)),
        (2, 16) => Some(("Rgb16", 3, 16)),
        (4, 8) => Some(("La8", 2, 8)),
        (4, 16) => Some(("La16", 2, 16)),
        (6, 8) => Some(("Rgba8", 4, 8)),
        (6, 16) => Some(("Rgba16", 4, 16)),
        _ => None,
    };
    sized(ImageFormat::Png, width, height, color)
}

/// `P1`..`P6`: width and height each ended by whitespace (so not cut short),
/// then, except for bitmaps, a maxval Pillow accepts (1..65535; its digits
/// may be cut short: the size does not depend on them).
fn pnm(bytes: &[u8]) -> Option<ImageHeader> {
    let kind = match bytes.get(..2)? {
        [b'P', k @ b'1'..=b'6'] => *k,
        _ => return None,
    };
    let mut at = 2;
    let (width, ended) = pnm_token(bytes, &mut at)?;
    let (height, ended_too) = pnm_token(bytes, &mut at)?;
    if !(ended && ended_too) {
        return None;
    }
    if !matches!(kind, b'1' | b'4') {
        let (maxval, _) = pnm_token(bytes, &mut at)?;
        if !(1..65536).contains(&maxval) {
            return None;
        }
    }
    let color = match kind {
        b'1' | b'4' => None,
        b'2' | b'5' => Some(("L8", 1, 8)),
        _ => Some(("Rgb8", 3, 8)),
    };
    sized(
        ImageFormat::Pnm,
        u32::try_from(width).ok()?,
        u32::try_from(height).ok()?,
        color,
    )
}

/// The next decimal token from `at` (whitespace and `#` comments skipped, at
/// most 10 digits as Pillow allows), and whether whitespace ended it.
fn pnm_token(bytes: &[u8], at: &mut usize) -> Option<(u64, bool)> {
    loop {
        match bytes.get(*at)? {
            b if b.is_ascii_whitespace() => *at += 1,
            b'#' => {
                while !matches!(bytes.get(*at)?, b'\r' | b'\n') {
                    *at += 1;
                }
            }
            _ => break,
        }
    }
    let start = *at;
    while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
        *at += 1;
    }
    let digits = &bytes[start..*at];
    let ended = match bytes.get(*at) {
        None => false,
        Some(b) if b.is_ascii_whitespace() => true,
        Some(_) => return None,
    };
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    let value = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((value, ended))
}

/// A header of `width` × `height`, or `None` for a zero side (Pillow
/// refuses those).
fn sized(
    format: ImageFormat,
    width: u32,
    height: u32,
    color: Option<(&str, u32, u32)>,
) -> Option<ImageHeader> {
    (width > 0 && height > 0).then(|| made(format, width, height, color))
}

fn made(
    format: ImageFormat,
    width: u32,
    height: u32,
    color: Option<(&str, u32, u32)>,
) -> ImageHeader {
    let (name, channels, bit_depth) = match color {
        Some((name, channels, bits)) => (Some(name.to_owned()), channels, bits),
        None => (None, 0, 0),
    };
    ImageHeader {
        width,
        height,
        format: format_name(format).to_owned(),
        color_type: name,
        channels,
        bit_depth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::fixtures;

    fn tga_header(colour_map: u8, image_type: u8, width: u16, height: u16, depth: u8) -> Vec<u8> {
        let mut h = vec![0u8; TGA_HEADER_BYTES];
        h[1] = colour_map;
        h[2] = image_type;
        h[7] = if colour_map == 1 { 24 } else { 0 };
        h[12..14].copy_from_slice(&width.to_le_bytes());
        h[14..16].copy_from_slice(&height.to_le_bytes());
        h[16] = depth;
        h
    }

    #[test]
    fn tga_fields_are_checked_as_pillow_checks_them() {
        assert!(looks_like_tga(&tga_header(0, 2, 7, 5, 24)));
        assert!(looks_like_tga(&tga_header(1, 9, 7, 5, 8)));
        assert!(!looks_like_tga(&tga_header(0, 2, 7, 5, 24)[..17]));
        assert!(!looks_like_tga(&tga_header(2, 2, 7, 5, 24)));
        assert!(!looks_like_tga(&tga_header(0, 4, 7, 5, 24)));
        assert!(!looks_like_tga(&tga_header(0, 2, 0, 5, 24)));
        assert!(!looks_like_tga(&tga_header(0, 2, 7, 0, 24)));
        assert!(!looks_like_tga(&tga_header(0, 2, 7, 5, 15)));
        let mut odd_map = tga_header(1, 1, 7, 5, 8);
        odd_map[7] = 15;
        assert!(!looks_like_tga(&odd_map));
        let h = header(ImageFormat::Tga, &tga_header(0, 10, 300, 2, 32)).unwrap();
        assert_eq!((h.width, h.height, h.channels), (300, 2, 4));
    }

    #[test]
    fn qoi_is_sized_from_13_bytes_not_12() {
        let qoi = fixtures::encode(&fixtures::rgb8(3, 7), ImageFormat::Qoi);
        assert_eq!(header(ImageFormat::Qoi, &qoi[..12]), None);
        let h = header(ImageFormat::Qoi, &qoi[..13]).unwrap();
        assert_eq!((h.width, h.height, h.format.as_str()), (3, 7, "qoi"));
    }

    #[test]
    fn png_is_sized_up_to_idat_or_iend_with_every_crc_checked() {
        let png = fixtures::lying_png(100_000, 100_000);
        assert_eq!(header(ImageFormat::Png, &png).unwrap().width, 100_000);
        // Cut inside IHDR's CRC: not yet.
        assert_eq!(header(ImageFormat::Png, &png[..32]), None);
        let mut bad = png.clone();
        bad[20] ^= 1;
        assert_eq!(header(ImageFormat::Png, &bad), None);
        let whole = fixtures::encode(&fixtures::rgb8(3, 7), ImageFormat::Png);
        assert_eq!(header(ImageFormat::Png, &whole).unwrap().height, 7);
    }

    #[test]
    fn pnm_needs_width_and_height_ended_and_a_maxval() {
        for (text, size) in [
            (&b"P6\n7 5\n2"[..], Some((7, 5))),
            (b"P6\n7 5\n", None),
            (b"P6\n7 5", None),
            (b"P6 # c\n70 5 255\n", Some((70, 5))),
            (b"P6\n7 5\n0\n", None),
            (b"P4\n7 5\n", Some((7, 5))),
            (b"P4\n7 5", None),
            (b"P6\n7x 5\n2", None),
        ] {
            let got = header(ImageFormat::Pnm, text).map(|h| (h.width, h.height));
            assert_eq!(got, size, "{:?}", String::from_utf8_lossy(text));
        }
    }
}
