//! The unary operation RPCs (`Apply`, and `GaussianFilter`, which is
//! `Apply` of `gaussian_filter`): the operation and its parameters are read
//! from the wire (`ops::from_wire`, `proto::params_from_wire`) and its plan
//! is checked before the engine runs off the async runtime. The streaming
//! RPCs are `filter_stream`'s.

use super::store::InputTensor;
use super::{ServiceError, TensorServiceImpl};
use crate::filter::OpPlan;
use crate::proto::{self, pb};
use crate::store::Owner;
use crate::tensor::{DType, Tensor};

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

    /// A unary request's input (its tensor, or a stored one: `input_id`)
    /// and the plan of its operation for it.
    pub(super) fn plan_request(
        &self,
        owner: &Owner,
        request: pb::ApplyRequest,
    ) -> Result<(InputTensor, OpPlan), ServiceError> {
        let input = self.input_tensor(owner, request.tensor, &request.input_id)?;
        let tensor = input.tensor();
        let params = request.params.unwrap_or_default();
        let plan = self.plan_op(&params, tensor.dtype(), tensor.shape())?;
        Ok((input, plan))
    }

    /// One message in, one message out. The input is the request's tensor
    /// or a stored one (`input_id`).
    pub(super) async fn apply_unary(
        &self,
        owner: &Owner,
        request: pb::ApplyRequest,
    ) -> Result<pb::Tensor, ServiceError> {
        let (input, plan) = self.plan_request(owner, request)?;
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
        Ok(proto::tensor_to_wire(self.run_plan(plan, input).await?))
    }

    /// Runs `plan` on `input` off the runtime, its input (when sent) and
    /// result buffers reserved in the memory budget.
    pub(super) async fn run_plan(
        &self,
        plan: OpPlan,
        input: InputTensor,
    ) -> Result<Tensor, ServiceError> {
        let result_bytes = plan.output_nbytes() * plan.result_buffers();
        let reservation = self.reserve((input.reserved_bytes() + result_bytes) as u64)?;
        // The reservation goes with the work (see `compute`).
        self.compute(move || {
            let _held = reservation;
            plan.run(input.tensor())
        })
        .await
    }
}
