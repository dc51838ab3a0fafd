//! `ImageSize` and `ImageSizeStream` over the network.

use crate::common;

use std::io::Cursor;

use bytes::Bytes;
use futures::StreamExt;
use image::{ImageFormat, RgbImage};
use tensorwire::proto::pb;
use tonic::Code;

fn encoded(width: u32, height: u32, format: ImageFormat) -> Bytes {
    let img = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([x as u8, y as u8, (x ^ y) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    Bytes::from(out.into_inner())
}

fn pieces(data: &Bytes, size: usize) -> Vec<pb::ImageChunk> {
    (0..data.len())
        .step_by(size)
        .map(|i| pb::ImageChunk {
            data: data.slice(i..(i + size).min(data.len())),
            filename: String::new(),
        })
        .collect()
}

#[tokio::test]
async fn image_size_reads_width_height_and_format() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    for (format, name) in [
        (ImageFormat::Png, "png"),
        (ImageFormat::Jpeg, "jpeg"),
        (ImageFormat::Gif, "gif"),
        (ImageFormat::Bmp, "bmp"),
        (ImageFormat::Tiff, "tiff"),
        (ImageFormat::WebP, "webp"),
        (ImageFormat::Qoi, "qoi"),
    ] {
        for (w, h) in [(1, 1), (3, 7), (4000, 1)] {
            let data = encoded(w, h, format);
            let info = client
                .image_size(pb::ImageRequest {
                    data: data.clone(),
                    filename: "ignored.xyz".into(),
                })
                .await
                .unwrap_or_else(|s| panic!("{name} {w}x{h}: {s}"))
                .into_inner();
            assert_eq!(
                (info.width, info.height, info.format.as_str()),
                (w, h, name)
            );
            for size in [1, 64 << 10] {
                let streamed = client
                    .image_size_stream(futures::stream::iter(pieces(&data, size)))
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(streamed, info, "{name} {w}x{h} in {size}-byte pieces");
            }
        }
    }
}

#[tokio::test]
async fn image_size_stream_answers_before_the_upload_ends() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    let png = encoded(640, 480, ImageFormat::Png);
    // The header, then filler forever: only an early answer can end this call.
    let head = pb::ImageChunk {
        data: png.slice(..64),
        filename: "a.png".into(),
    };
    let endless =
        futures::stream::iter([head]).chain(futures::stream::repeat_with(|| pb::ImageChunk {
            data: Bytes::from(vec![0u8; 64 << 10]),
            filename: String::new(),
        }));
    let info = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        client.image_size_stream(endless),
    )
    .await
    .expect("no answer while the upload was still going")
    .unwrap()
    .into_inner();
    assert_eq!((info.width, info.height), (640, 480));
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

/// A PNG whose IHDR (correct CRC) claims `width`×`height` but whose IDAT is
/// a few bytes: the size is answered from the header, nothing is decoded.
fn png_header_claiming(width: u32, height: u32) -> Bytes {
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
    Bytes::from(png)
}

#[tokio::test]
async fn a_lying_header_is_answered_and_bad_images_are_refused() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    let liar = png_header_claiming(100_000, 100_000);
    let info = client
        .image_size(pb::ImageRequest {
            data: liar,
            filename: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((info.width, info.height), (100_000, 100_000));

    let png = encoded(50, 40, ImageFormat::Png);
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for (data, needle) in [
        (Bytes::new(), "empty"),
        (Bytes::from(random), "format"),
        (png.slice(..20), "truncated"),
    ] {
        for streamed in [false, true] {
            let result = if streamed {
                client
                    .image_size_stream(futures::stream::iter(pieces(&data, 7)))
                    .await
            } else {
                client
                    .image_size(pb::ImageRequest {
                        data: data.clone(),
                        filename: String::new(),
                    })
                    .await
            };
            let status = result.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
            assert!(
                status.message().to_lowercase().contains(needle),
                "{:?} lacks {needle:?}",
                status.message()
            );
        }
    }
    let ok = client
        .image_size(pb::ImageRequest {
            data: png,
            filename: String::new(),
        })
        .await;
    assert!(ok.is_ok());
}
