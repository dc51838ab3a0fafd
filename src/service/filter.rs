//! The unary operation RPCs (`Apply`, and `GaussianFilter`, which is
//! `Apply` of `gaussian_filter`): the operation and its parameters are read
//! from the wire (`ops::from_wire`, `proto::params_from_wire`) and its plan
//! is checked before the engine runs off the async runtime. The streaming
//! RPCs are `filter_stream`'s.

use super::{ServiceError, TensorServiceImpl};
use crate::filter::OpPlan;
use crate::proto::{self, pb};
use crate::tensor::DType;

impl TensorServiceImpl {
    /// The operation `params` names, planned for an input of `dtype` and
    /// `shape`.
    pub(super) fn plan_op(
        &self,
        params: &pb::OpParams,
        dtype: DType,
        shape: &[usize],
    ) -> Result<OpPlan, ServiceError> {
        let (op, common) = crate::ops::from_wire(params).ok_or_else(|| ServiceError::BadField {
            field: "params",
            message: crate::ops::NO_OPERATION.into(),
        })?;
        let params = proto::params_from_wire(common)?;
        Ok(op.plan(dtype, shape, &params, &self.filter_limits())?)
    }

    /// One message in, one message out.
    pub(super) async fn apply_unary(
        &self,
        tensor: Option<pb::Tensor>,
        params: pb::OpParams,
    ) -> Result<pb::Tensor, ServiceError> {
        let tensor = tensor.ok_or_else(|| ServiceError::BadField {
            field: "tensor",
            message: "the request has no tensor".into(),
        })?;
        let tensor = proto::tensor_from_wire(tensor, &self.tensor_limits)?;
        let plan = self.plan_op(&params, tensor.dtype(), tensor.shape())?;
        let result_bytes = plan.output_nbytes() * plan.result_buffers();
        let reservation = self.reserve((tensor.nbytes() + result_bytes) as u64)?;
        if plan.output_nbytes() as u64 > self.limits.max_message_bytes {
            return Err(ServiceError::OverLimit {
                limit: "--max-message-bytes",
                message: format!(
                    "the result is {} bytes, over the {}-byte message limit; use the streaming form (ApplyStream, GaussianFilterStream)",
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
