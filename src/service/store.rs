//! The tensor store's RPCs (`PutTensor`, `GetTensor`, `StatTensor`,
//! `DeleteTensor`, `ListTensors`, `DescribeStored`, `ApplyKeep`) and the
//! stored inputs of `Apply` / `ApplyStream`. The store itself, its limits
//! and expiry are `crate::store`'s; here a call finds its owner (the API
//! key it carries) and turns store answers into wire messages.

use bytes::BytesMut;
use tonic::Streaming;

use super::stream::{DataPieces, off_runtime, read_tensor_header};
use super::{ResponseStream, ServiceError, TensorServiceImpl};
use crate::proto::{self, pb};
use crate::store::{Owner, StoredInfo};
use crate::tensor::Tensor;

/// A request's message and its owner, who may use what it stored: the API
/// key the call carries.
pub(super) fn owned<T>(request: tonic::Request<T>) -> (Owner, T) {
    let authorization = request.metadata().get("authorization");
    let owner = Owner::from_authorization(authorization.map(|v| v.as_bytes()));
    (owner, request.into_inner())
}

/// A stored tensor's description on the wire.
pub(super) fn stored_to_wire(info: StoredInfo) -> pb::StoredTensor {
    pb::StoredTensor {
        id: info.id,
        dtype: pb::DType::from(info.dtype) as i32,
        shape: info.shape.iter().map(|&d| d as u64).collect(),
        nbytes: info.nbytes,
        expires_in_ms: u64::try_from(info.expires_in.as_millis()).unwrap_or(u64::MAX),
    }
}

impl TensorServiceImpl {
    /// `PutTensor`: the header is checked against the limits and the
    /// tensor's room held in the store before any data is read; the data is
    /// gathered into one buffer of exactly the declared size.
    pub(super) async fn put_tensor(
        &self,
        owner: &Owner,
        mut messages: Streaming<pb::TensorChunk>,
    ) -> Result<pb::StoredTensor, ServiceError> {
        let (dtype, valid) = read_tensor_header(&mut messages, &self.tensor_limits).await?;
        let room = self.store.reserve(owner, valid.nbytes as u64)?;
        let mut pieces = DataPieces::new(messages, dtype, valid.nbytes);
        let mut data = BytesMut::with_capacity(valid.nbytes);
        while let Some(piece) = pieces.next().await? {
            off_runtime(|| data.extend_from_slice(&piece));
        }
        let tensor = Tensor::from_valid(dtype, valid, data.freeze())?;
        Ok(stored_to_wire(self.store.insert(room, tensor)))
    }

    /// `GetTensor`: the stored tensor's header, then its data in pieces of
    /// `--stream-chunk-bytes` (slices of the stored bytes, not copies).
    pub(super) fn get_tensor(
        &self,
        owner: &Owner,
        id: &str,
    ) -> Result<ResponseStream<pb::TensorChunk>, ServiceError> {
        let tensor = self.store.get(owner, id)?;
        Ok(send_tensor(tensor, self.limits.chunk_bytes()))
    }

    /// The input of an operation: the request's tensor, or the stored one
    /// `input_id` names (one of the two).
    pub(super) fn input_tensor(
        &self,
        owner: &Owner,
        tensor: Option<pb::Tensor>,
        input_id: &str,
    ) -> Result<InputTensor, ServiceError> {
        match (tensor, input_id.is_empty()) {
            (Some(_), false) => Err(ServiceError::BadField {
                field: "input_id",
                message: "the request has both a tensor and an input_id; send one".into(),
            }),
            (None, false) => Ok(InputTensor::Stored(self.store.get(owner, input_id)?)),
            (Some(tensor), true) => Ok(InputTensor::Sent(proto::tensor_from_wire(
                tensor,
                &self.tensor_limits,
            )?)),
            (None, true) => Err(ServiceError::BadField {
                field: "tensor",
                message: "the request has no tensor (and no input_id)".into(),
            }),
        }
    }

    /// `ApplyKeep`: the operation's result kept in the store. Its room in
    /// the store is held before the engine runs, so a full store refuses
    /// the call before any work; the computation reserves the result in
    /// the memory budget until the store takes it.
    pub(super) async fn apply_keep(
        &self,
        owner: &Owner,
        request: pb::ApplyRequest,
    ) -> Result<pb::StoredTensor, ServiceError> {
        let (input, plan) = self.plan_request(owner, request)?;
        let room = self.store.reserve(owner, plan.output_nbytes() as u64)?;
        let result = self.run_plan(plan, input).await?;
        Ok(stored_to_wire(self.store.insert(room, result)))
    }
}

/// An operation's input: sent with the call (its bytes reserved in the
/// memory budget like any request's) or read from the store (held there).
pub(super) enum InputTensor {
    /// In the request.
    Sent(Tensor),
    /// In the store.
    Stored(Tensor),
}

impl InputTensor {
    /// The tensor.
    pub(super) fn tensor(&self) -> &Tensor {
        match self {
            InputTensor::Sent(tensor) | InputTensor::Stored(tensor) => tensor,
        }
    }

    /// Bytes the call must reserve for its input: none for a stored one,
    /// whose bytes the store already counts.
    pub(super) fn reserved_bytes(&self) -> usize {
        match self {
            InputTensor::Sent(tensor) => tensor.nbytes(),
            InputTensor::Stored(_) => 0,
        }
    }
}

/// A whole tensor as a streamed answer: its header, then its data in
/// pieces of `chunk` bytes.
pub(super) fn send_tensor(tensor: Tensor, chunk: usize) -> ResponseStream<pb::TensorChunk> {
    let header = proto::header_to_wire(tensor.dtype(), tensor.shape());
    let data = futures::stream::once(std::future::ready(Ok(tensor.into_data())));
    Box::pin(crate::wire::try_encode::<pb::TensorChunk, _>(
        header, data, chunk,
    ))
}
