//! The unary Gaussian-filter RPC: the parameters are read from the wire
//! (`proto::params_from_wire`) and the plan is checked before the engine
//! runs off the async runtime. The streaming RPC is `filter_stream`.

use super::{ServiceError, TensorServiceImpl};
use crate::proto::{self, pb};

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
        let params = proto::params_from_wire(request.params.unwrap_or_default())?;
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
