//! The service's answers as the JSON the HTTP routes send: a tensor's
//! summary, an image's size, a stored tensor's handle. Dtypes are named
//! (`"float32"`), not coded; fields a message leaves unknown are left out.

use serde::Serialize;

use crate::proto::pb;

/// `TensorInfo` as JSON.
#[derive(Debug, Serialize)]
pub(crate) struct TensorInfoJson {
    dtype: String,
    shape: Vec<u64>,
    nbytes: u64,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<f64>,
}

impl From<pb::TensorInfo> for TensorInfoJson {
    fn from(info: pb::TensorInfo) -> TensorInfoJson {
        let dtype = if info.dtype_name.is_empty() {
            crate::proto::dtype_from_wire(info.dtype)
                .map(|d| d.name().to_owned())
                .unwrap_or_default()
        } else {
            info.dtype_name
        };
        TensorInfoJson {
            dtype,
            shape: info.shape,
            nbytes: info.nbytes,
            size: info.size,
            min: info.min,
            max: info.max,
            mean: info.mean,
        }
    }
}

/// A stored tensor's handle as JSON.
#[derive(Debug, Serialize)]
pub(crate) struct StoredJson {
    id: String,
    dtype: String,
    shape: Vec<u64>,
    nbytes: u64,
    expires_in_ms: u64,
}

impl From<pb::StoredTensor> for StoredJson {
    fn from(stored: pb::StoredTensor) -> StoredJson {
        StoredJson {
            dtype: crate::proto::dtype_from_wire(stored.dtype)
                .map(|d| d.name().to_owned())
                .unwrap_or_default(),
            id: stored.id,
            shape: stored.shape,
            nbytes: stored.nbytes,
            expires_in_ms: stored.expires_in_ms,
        }
    }
}

/// `ImageInfo` as JSON.
#[derive(Debug, Serialize)]
pub(crate) struct ImageInfoJson {
    width: u32,
    height: u32,
    format: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    channels: u32,
    #[serde(skip_serializing_if = "is_zero")]
    bit_depth: u32,
}

/// Whether a size is unknown (0), for `skip_serializing_if`.
fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl From<pb::ImageInfo> for ImageInfoJson {
    fn from(info: pb::ImageInfo) -> ImageInfoJson {
        ImageInfoJson {
            width: info.width,
            height: info.height,
            format: info.format,
            color_type: info.color_type,
            channels: info.channels,
            bit_depth: info.bit_depth,
        }
    }
}
