//! The Gaussian-filter RPCs: parameters from the wire, the plan checked
//! before any data is read, the engine run off the async runtime, and the
//! result sent back whole (unary) or as a header and pieces (stream).

use std::sync::Arc;

use tonic::Streaming;

use super::stream::{DataPieces, check_header, read_first};
use super::{ResponseStream, ServiceError, TensorServiceImpl};
use crate::filter::GaussianParams;
use crate::proto::{self, pb};
use crate::tensor::{Tensor, byte_pieces};

/// Reads filter parameters from the wire. Unknown enum codes are refused;
/// everything else is checked by the engine's plan.
pub fn params_from_wire(params: pb::GaussianParams) -> Result<GaussianParams, ServiceError> {
    let mode = params
        .mode
        .iter()
        .map(|&code| {
            proto::mode_from_wire(code).ok_or_else(|| ServiceError::BadField {
                field: "mode",
                message: format!(
                    "mode {code} is not a known Mode (0 = MODE_REFLECT .. 7 = MODE_GRID_WRAP)"
                ),
            })
        })
        .collect::<Result<_, _>>()?;
    let output_dtype = match params.output_dtype {
        0 => None,
        code => Some(
            proto::dtype_from_wire(code).map_err(|_| ServiceError::BadField {
                field: "output_dtype",
                message: format!(
                    "output_dtype {code} is not a known DType (0 means the input's dtype)"
                ),
            })?,
        ),
    };
    Ok(GaussianParams {
        sigma: params.sigma,
        order: params.order.into_iter().map(i64::from).collect(),
        mode,
        cval: params.cval,
        cval_imag: params.cval_imag,
        truncate: params.truncate,
        radius: params.radius.into_iter().map(i64::from).collect(),
        axes: params.axes.into_iter().map(i64::from).collect(),
        output_dtype,
    })
}

impl TensorServiceImpl {
    /// `GaussianFilter`: one message in, one message out.
    pub(super) async fn filter_unary(
        &self,
        request: pb::GaussianFilterRequest,
    ) -> Result<pb::Tensor, ServiceError> {
        let tensor = request.tensor.ok_or_else(|| ServiceError::BadField {
            field: "tensor",
            message: "the request has no tensor".into(),
        })?;
        let tensor = proto::tensor_from_wire(tensor, &self.tensor_limits)?;
        let params = params_from_wire(request.params.unwrap_or_default())?;
        let plan = crate::filter::plan(
            tensor.dtype(),
            tensor.shape(),
            &params,
            &self.filter_limits(),
        )?;
        let reservation = self.reserve((tensor.nbytes() + plan.output_nbytes()) as u64)?;
        if plan.output_nbytes() as u64 > self.limits.max_message_bytes {
            return Err(ServiceError::OverLimit {
                limit: "--max-message-bytes",
                message: format!(
                    "the result is {} bytes, over the {}-byte message limit; use GaussianFilterStream",
                    plan.output_nbytes(),
                    self.limits.max_message_bytes
                ),
            });
        }
        // The reservation goes with the work (see `compute`).
        let result = self
            .compute(move || {
                let _held = reservation;
                plan.run(&tensor)
            })
            .await?;
        Ok(proto::tensor_to_wire(result))
    }

    /// `GaussianFilterStream`: the start message is checked (header, limits,
    /// parameters) before any data is read, the data is gathered into one
    /// buffer of its final size, and the result goes back as a header and
    /// pieces that are slices of the result (no copies).
    pub(super) async fn filter_stream(
        &self,
        mut messages: Streaming<pb::GaussianFilterChunk>,
    ) -> Result<ResponseStream<pb::TensorChunk>, ServiceError> {
        let start = read_first(&mut messages).await?;
        let header = start
            .header
            .ok_or_else(|| ServiceError::Stream("the start message has no tensor header".into()))?;
        let (dtype, valid) = check_header(&header, &self.tensor_limits)?;
        let params = params_from_wire(start.params.unwrap_or_default())?;
        let plan = crate::filter::plan(dtype, &valid.shape, &params, &self.filter_limits())?;
        // Held until the last piece of the answer is sent (it moves into the
        // response stream) and until the computation ends (see `compute`):
        // a client that goes away while the input arrives frees it at once.
        let reservation = Arc::new(self.reserve((valid.nbytes + plan.output_nbytes()) as u64)?);
        let data = DataPieces::new(messages, dtype, valid.nbytes)
            .collect()
            .await?;
        let tensor = Tensor::from_valid(dtype, valid, data)?;
        let held = Arc::clone(&reservation);
        let result = self
            .compute(move || {
                let _held = held;
                plan.run(&tensor)
            })
            .await?;
        let pieces = tensor_pieces(result, self.limits.chunk_bytes());
        Ok(Box::pin(futures::StreamExt::map(pieces, move |piece| {
            let _held = &reservation;
            piece
        })))
    }
}

/// A tensor as a stream of `TensorChunk`s: its header, then slices of its
/// data of at most `chunk` bytes.
fn tensor_pieces(
    tensor: Tensor,
    chunk: usize,
) -> impl futures::Stream<Item = Result<pb::TensorChunk, tonic::Status>> + Send + 'static {
    let header = pb::TensorChunk {
        part: Some(pb::tensor_chunk::Part::Header(proto::header_to_wire(
            tensor.dtype(),
            tensor.shape(),
        ))),
    };
    let pieces = byte_pieces(tensor.into_data(), chunk).map(|piece| {
        Ok(pb::TensorChunk {
            part: Some(pb::tensor_chunk::Part::Data(piece)),
        })
    });
    futures::stream::iter(std::iter::once(Ok(header)).chain(pieces))
}
