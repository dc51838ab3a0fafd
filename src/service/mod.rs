//! The tonic implementation of `tensorwire.v1.TensorService`: thin handlers
//! that validate what arrives, hand the work to the engine off the async
//! runtime, and shape the answer.
//!
//! Unary and streaming RPCs share one path: the unary handler builds the same
//! input the stream assembles, then calls the same function.

mod error;
mod filter;
mod filter_stream;
mod image;
mod store;
mod stream;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status, Streaming};

pub use error::{ServiceError, bad_argument, internal, rewrite_codec_refusal};
#[cfg(test)]
pub(crate) use error::{busy_status, limit_exceeded};

use crate::budget::{MemoryBudget, Reservation};
use crate::config::Limits;
use crate::describe::{TensorSummary, describe};
use crate::proto::pb::tensor_service_server::TensorService;
use crate::proto::{self, pb};
use crate::store::{StoreLimits, TensorStore};
use crate::tensor::{Tensor, TensorLimits};

/// A stream of response messages, as tonic wants it.
pub type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The service: limits and the pool of computation slots.
#[derive(Clone, Debug)]
pub struct TensorServiceImpl {
    limits: Limits,
    tensor_limits: TensorLimits,
    compute_slots: Arc<Semaphore>,
    budget: MemoryBudget,
    /// Tensors kept between calls.
    store: TensorStore,
    /// How long a streamed answer waits for its client to read before the
    /// call ends (`--body-read-timeout-secs`).
    answer_idle: Duration,
}

impl TensorServiceImpl {
    /// A service enforcing `limits` that reserves from `budget` (shared with
    /// the server's layers, which reserve unary messages before they are
    /// read, and with the metrics).
    pub fn with_budget(limits: Limits, budget: MemoryBudget) -> TensorServiceImpl {
        TensorServiceImpl {
            tensor_limits: limits.tensor(),
            compute_slots: Arc::new(Semaphore::new(limits.concurrency())),
            budget,
            store: TensorStore::new(StoreLimits::from_config(&limits)),
            limits,
            answer_idle: crate::config::ConnectionTimeouts::default().body_read(),
        }
    }

    /// The same service whose streamed answers wait at most `idle` for
    /// their client to read (the body-idle timeout, applied to answers);
    /// 60 s by default.
    pub fn with_answer_idle(self, idle: Duration) -> TensorServiceImpl {
        TensorServiceImpl {
            answer_idle: idle,
            ..self
        }
    }

    /// The same service keeping tensors in `store` (shared with the
    /// server, which sweeps its expired tensors and shows its counts in
    /// `/metrics`); by default a store of its own, sized by `limits`.
    pub fn with_store(self, store: TensorStore) -> TensorServiceImpl {
        TensorServiceImpl { store, ..self }
    }

    /// Runs CPU work on the blocking pool once a computation slot is free, so
    /// the async runtime keeps serving while it runs.
    ///
    /// The slot goes with the work, and so must the call's memory
    /// reservation (callers move it into `work`): a blocking task cannot be
    /// stopped, so when the client goes away or its deadline passes, the
    /// work runs on and keeps its slot and its bytes until it ends. Were
    /// they dropped with the call, cancelled calls could run any number of
    /// computations at once, over the concurrency limit and the budget.
    async fn compute<T, F>(&self, work: F) -> Result<T, ServiceError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = self
            .compute_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ServiceError::Internal("computation pool closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("computation failed: {e}")))
    }

    /// Describes a whole tensor off the runtime.
    async fn describe_tensor(&self, tensor: Tensor) -> Result<TensorSummary, ServiceError> {
        self.compute(move || describe(&tensor)).await
    }
}

#[tonic::async_trait]
impl TensorService for TensorServiceImpl {
    async fn describe(
        &self,
        request: Request<pb::Tensor>,
    ) -> Result<Response<pb::TensorInfo>, Status> {
        let tensor = proto::tensor_from_wire(request.into_inner(), &self.tensor_limits)
            .map_err(ServiceError::from)?;
        let summary = self.describe_tensor(tensor).await?;
        Ok(Response::new(summary.into()))
    }

    async fn describe_stream(
        &self,
        request: Request<Streaming<pb::TensorChunk>>,
    ) -> Result<Response<pb::TensorInfo>, Status> {
        let mut messages = request.into_inner();
        let (dtype, valid) = stream::read_tensor_header(&mut messages, &self.tensor_limits).await?;
        // Summarised as the pieces arrive, in O(piece) memory.
        let stats = stream::DataPieces::new(messages, dtype, valid.nbytes)
            .summarise()
            .await?;
        let summary = TensorSummary {
            dtype,
            nbytes: valid.nbytes as u64,
            size: valid.len as u64,
            shape: valid.shape,
            stats,
        };
        Ok(Response::new(summary.into()))
    }

    async fn gaussian_filter(
        &self,
        request: Request<pb::GaussianFilterRequest>,
    ) -> Result<Response<pb::Tensor>, Status> {
        let (owner, request) = store::owned(request);
        let params = pb::OpParams {
            op: Some(pb::op_params::Op::GaussianFilter(
                request.params.unwrap_or_default(),
            )),
        };
        let request = pb::ApplyRequest {
            tensor: request.tensor,
            params: Some(params),
            input_id: String::new(),
        };
        Ok(Response::new(self.apply_unary(&owner, request).await?))
    }

    type GaussianFilterStreamStream = ResponseStream<pb::TensorChunk>;

    async fn gaussian_filter_stream(
        &self,
        request: Request<Streaming<pb::GaussianFilterChunk>>,
    ) -> Result<Response<Self::GaussianFilterStreamStream>, Status> {
        let (owner, messages) = store::owned(request);
        Ok(Response::new(self.apply_stream(&owner, messages).await?))
    }

    async fn apply(
        &self,
        request: Request<pb::ApplyRequest>,
    ) -> Result<Response<pb::Tensor>, Status> {
        let (owner, request) = store::owned(request);
        Ok(Response::new(self.apply_unary(&owner, request).await?))
    }

    type ApplyStreamStream = ResponseStream<pb::TensorChunk>;

    async fn apply_stream(
        &self,
        request: Request<Streaming<pb::ApplyChunk>>,
    ) -> Result<Response<Self::ApplyStreamStream>, Status> {
        let (owner, messages) = store::owned(request);
        Ok(Response::new(
            TensorServiceImpl::apply_stream(self, &owner, messages).await?,
        ))
    }

    async fn image_size(
        &self,
        request: Request<pb::ImageRequest>,
    ) -> Result<Response<pb::ImageInfo>, Status> {
        Ok(Response::new(
            self.image_size_unary(request.into_inner()).await?,
        ))
    }

    async fn image_size_stream(
        &self,
        request: Request<Streaming<pb::ImageChunk>>,
    ) -> Result<Response<pb::ImageInfo>, Status> {
        Ok(Response::new(
            self.image_size_streamed(request.into_inner()).await?,
        ))
    }

    async fn put_tensor(
        &self,
        request: Request<Streaming<pb::TensorChunk>>,
    ) -> Result<Response<pb::StoredTensor>, Status> {
        let (owner, messages) = store::owned(request);
        Ok(Response::new(
            TensorServiceImpl::put_tensor(self, &owner, messages).await?,
        ))
    }

    type GetTensorStream = ResponseStream<pb::TensorChunk>;

    async fn get_tensor(
        &self,
        request: Request<pb::TensorRef>,
    ) -> Result<Response<Self::GetTensorStream>, Status> {
        let (owner, stored) = store::owned(request);
        let answer = TensorServiceImpl::get_tensor(self, &owner, &stored.id)?;
        Ok(Response::new(answer))
    }

    async fn stat_tensor(
        &self,
        request: Request<pb::TensorRef>,
    ) -> Result<Response<pb::StoredTensor>, Status> {
        let (owner, stored) = store::owned(request);
        let info = self.store.stat(&owner, &stored.id);
        Ok(Response::new(store::stored_to_wire(
            info.map_err(ServiceError::from)?,
        )))
    }

    async fn delete_tensor(
        &self,
        request: Request<pb::TensorRef>,
    ) -> Result<Response<pb::StoredTensor>, Status> {
        let (owner, stored) = store::owned(request);
        let info = self.store.delete(&owner, &stored.id);
        Ok(Response::new(store::stored_to_wire(
            info.map_err(ServiceError::from)?,
        )))
    }

    async fn list_tensors(
        &self,
        request: Request<pb::ListTensorsRequest>,
    ) -> Result<Response<pb::ListTensorsResponse>, Status> {
        let (owner, _) = store::owned(request);
        let tensors = self.store.list(&owner).into_iter();
        Ok(Response::new(pb::ListTensorsResponse {
            tensors: tensors.map(store::stored_to_wire).collect(),
        }))
    }

    async fn describe_stored(
        &self,
        request: Request<pb::TensorRef>,
    ) -> Result<Response<pb::TensorInfo>, Status> {
        let (owner, stored) = store::owned(request);
        let tensor = self.store.get(&owner, &stored.id);
        let summary = self
            .describe_tensor(tensor.map_err(ServiceError::from)?)
            .await?;
        Ok(Response::new(summary.into()))
    }

    async fn apply_keep(
        &self,
        request: Request<pb::ApplyRequest>,
    ) -> Result<Response<pb::StoredTensor>, Status> {
        let (owner, request) = store::owned(request);
        Ok(Response::new(
            TensorServiceImpl::apply_keep(self, &owner, request).await?,
        ))
    }
}

impl TensorServiceImpl {
    /// The limits this service enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Reserves `bytes` of the memory budget for the rest of a request.
    fn reserve(&self, bytes: u64) -> Result<Reservation, ServiceError> {
        self.budget.try_reserve(bytes).map_err(ServiceError::from)
    }

    /// The filter engine's limits, derived from the service limits.
    fn filter_limits(&self) -> crate::filter::FilterLimits {
        crate::filter::FilterLimits {
            max_radius: self.limits.max_radius,
            max_output_bytes: self.limits.max_tensor_bytes,
            max_taps: self.limits.max_filter_taps,
        }
    }
}
