//! Image bodies of `/v1/gaussian_filter`: pixels in, PNG out.
//!
//! Why the gateway decodes images itself: the gRPC contract has no
//! image-in-filter call, only tensors, so an image body has to become a tensor
//! somewhere before `GaussianFilter`. Decoding a PNG into its pixel array is
//! codec work of the same kind as parsing a `.npy` or a JSON list — a change
//! of representation, with no arithmetic on the values — so it sits with the
//! other translations here, while the filtering itself stays on the service.
//! The decoder is the crate's own `image` module (same limits against
//! decompression bombs, same H×W×C layout) that the service uses.

use super::GatewayError;
use crate::image::{ImageError, ImageLimits, spatial_axes};
use crate::tensor::Tensor;

/// An image decoded into an H×W×C tensor, with the axes a filter of it runs
/// over (the two spatial axes; never across the colour channels).
pub(crate) struct DecodedImage {
    pub(crate) tensor: Tensor,
    pub(crate) spatial_axes: Vec<i64>,
}

/// Decodes an encoded image body into a tensor.
pub(crate) fn decode_image(
    bytes: &[u8],
    limits: &ImageLimits,
) -> Result<DecodedImage, GatewayError> {
    let tensor = crate::image::decode_to_tensor(bytes, limits).map_err(|e| match e {
        e if e.is_over_limit() => GatewayError::TooLarge(e.to_string()),
        ImageError::Internal(m) => GatewayError::Internal(m),
        e => GatewayError::BadRequest(format!("the body is not a usable image: {e}")),
    })?;
    let spatial_axes = spatial_axes(&tensor);
    Ok(DecodedImage {
        tensor,
        spatial_axes,
    })
}

/// Encodes an H×W or H×W×C tensor of uint8 or uint16 as PNG.
pub(crate) fn encode_png(tensor: &Tensor) -> Result<Vec<u8>, GatewayError> {
    crate::image::encode_png(tensor).map_err(|e| {
        GatewayError::NotAcceptable(format!(
            "the result cannot be written as PNG ({e}); ask for application/x-npy or \
             application/json with Accept"
        ))
    })
}
