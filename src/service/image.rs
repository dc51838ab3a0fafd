//! The image-size RPCs: the header alone is read, never the pixels. The
//! streamed variant answers as soon as the header is known and stops
//! reading, so a huge upload costs at most `--max-image-header-bytes`.

use tonic::Streaming;

use super::{ServiceError, TensorServiceImpl};
use crate::image::{HeaderReader, ImageHeader, read_image_header};
use crate::proto::pb;

impl From<ImageHeader> for pb::ImageInfo {
    fn from(h: ImageHeader) -> pb::ImageInfo {
        pb::ImageInfo {
            width: h.width,
            height: h.height,
            format: h.format,
            color_type: h.color_type.unwrap_or_default(),
            channels: h.channels,
            bit_depth: h.bit_depth,
        }
    }
}

fn hint(filename: &str) -> Option<&str> {
    (!filename.is_empty()).then_some(filename)
}

impl TensorServiceImpl {
    /// `ImageSize`: the header of a whole image in one message.
    pub(super) async fn image_size_unary(
        &self,
        request: pb::ImageRequest,
    ) -> Result<pb::ImageInfo, ServiceError> {
        // A header parse is cheap for most formats but can scan megabytes
        // (a TIFF whose directory sits after the pixels), so it runs off the
        // async runtime.
        let header = tokio::task::spawn_blocking(move || {
            read_image_header(&request.data, hint(&request.filename))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("image header task failed: {e}")))??;
        Ok(header.into())
    }

    /// `ImageSizeStream`: pieces are fed to the incremental header reader,
    /// which buffers at most the header limit; the answer goes out as soon as
    /// the header is known, without reading the rest of the upload.
    pub(super) async fn image_size_streamed(
        &self,
        mut messages: Streaming<pb::ImageChunk>,
    ) -> Result<pb::ImageInfo, ServiceError> {
        let limits = self.limits.image();
        let mut reader: Option<HeaderReader> = None;
        while let Some(chunk) = messages.message().await? {
            let reader =
                reader.get_or_insert_with(|| HeaderReader::new(hint(&chunk.filename), &limits));
            if let Some(header) = reader.push(&chunk.data)? {
                return Ok(header.into());
            }
        }
        let reader = reader.unwrap_or_else(|| HeaderReader::new(None, &limits));
        Ok(reader.finish()?.into())
    }
}
