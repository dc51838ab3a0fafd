//! The unary Gaussian-filter RPC and the parameters from the wire: the plan
//! is checked before the engine runs off the async runtime. The streaming
//! RPC is `filter_stream`.

use super::{ServiceError, TensorServiceImpl};
use crate::filter::GaussianParams;
use crate::proto::{self, pb};

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
    let exp = proto::kernel_exp_from_wire(params.exp).ok_or_else(|| ServiceError::BadField {
        field: "exp",
        message: format!(
            "exp {} is not a known KernelExp (0 = KERNEL_EXP_LIBM, 1 = KERNEL_EXP_NUMPY_AVX512)",
            params.exp
        ),
    })?;
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
        exp,
        kernels: params.kernels.into_iter().map(|k| k.weights).collect(),
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
}
