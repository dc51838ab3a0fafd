//! `GaussianFilterStream` as a pipeline: the answer's header goes out as soon
//! as the start message is checked, the input is cut into slabs along axis 0
//! as it arrives (`filter::SlabCutter`), each slab is filtered on the
//! blocking pool while the next one arrives, and its result is sent while the
//! client is still sending.
//!
//! Three stages joined by bounded channels, so memory stays bounded and a
//! slow reader slows the whole call down: when the client stops reading its
//! answer, the answer channel fills, the filtering stage waits to send, the
//! slab channel fills, the reading stage stops reading, and HTTP/2 flow
//! control stops the client's upload. The body-idle timeout (a layer around
//! the request body) still ends a client that stops sending while the server
//! is reading. The call reserves its working set in the memory budget
//! (`SlabPlan::working_set_bytes`), not its input and result (except where
//! the slabs must wait for the whole input: see `filter::SlabPlan`).

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use super::stream::{DataPieces, check_header, off_runtime, read_first};
use super::{ResponseStream, ServiceError, TensorServiceImpl, params_from_wire};
use crate::budget::Reservation;
use crate::filter::{SlabCutter, SlabJob, SlabPlan};
use crate::proto::{self, pb};
use crate::tensor::byte_pieces;
use crate::wire;

/// Slabs gathered and waiting to be filtered (one more is being filtered).
const QUEUED_SLABS: usize = 1;
/// Answer messages waiting to be sent (each at most `--stream-chunk-bytes`).
const QUEUED_PIECES: usize = 4;

/// The answer's data pieces (the header goes ahead of them: `wire::try_encode`).
type Answer = mpsc::Sender<Result<Bytes, Status>>;

impl TensorServiceImpl {
    /// `GaussianFilterStream`: checks the start message (header, limits,
    /// parameters, the plan and its working set in the budget) before any
    /// data is read, answers with the result's header at once, and filters
    /// the data in slabs as it arrives.
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
        let slab_bytes = usize::try_from(self.limits.stream_slab_bytes).unwrap_or(usize::MAX);
        let slabs = SlabPlan::new(plan.clone(), slab_bytes);
        // Slabs with their halo can hold more than the input and result
        // themselves (a few tall rows, a wide halo): then the call is
        // filtered whole, reserving input + result as before the slabs.
        let whole = SlabPlan::with_height(plan, usize::MAX);
        let slabs = Arc::new(
            if slabs.working_set_bytes(QUEUED_SLABS) > whole.working_set_bytes(QUEUED_SLABS) {
                whole
            } else {
                slabs
            },
        );
        // Held by every stage and by each computation (see `compute`): the
        // bytes are free once the last of them ends.
        let reservation = Arc::new(self.reserve(slabs.working_set_bytes(QUEUED_SLABS))?);
        let (answer, answers) = mpsc::channel(QUEUED_PIECES);
        // The answer's header goes out at once, ahead of the data.
        let head = proto::header_to_wire(slabs.plan().output_dtype(), &valid.shape);
        let (jobs, queue) = mpsc::channel(QUEUED_SLABS);
        let pieces = DataPieces::new(messages, dtype, valid.nbytes);
        spawn_stage(
            &answer,
            read_slabs(
                pieces,
                SlabCutter::new(Arc::clone(&slabs)),
                jobs,
                answer.clone(),
                Arc::clone(&reservation),
            ),
        );
        spawn_stage(
            &answer,
            self.clone()
                .filter_slabs(slabs, queue, answer.clone(), Arc::clone(&reservation)),
        );
        let chunk = self.limits.chunk_bytes();
        Ok(Box::pin(futures::StreamExt::map(
            wire::try_encode::<pb::TensorChunk, _>(head, ReceiverStream::new(answers), chunk),
            move |piece| {
                let _held = &reservation;
                piece
            },
        )))
    }

    /// The filtering stage: filters each slab off the runtime (in order) and
    /// sends its result in pieces; stops when the client is gone.
    async fn filter_slabs(
        self,
        slabs: Arc<SlabPlan>,
        mut queue: mpsc::Receiver<SlabJob>,
        answer: Answer,
        reservation: Arc<Reservation>,
    ) {
        let chunk = self.limits.chunk_bytes();
        while let Some(job) = queue.recv().await {
            let work = Arc::clone(&slabs);
            let held = Arc::clone(&reservation);
            let result = self
                .compute(move || {
                    let _held = held;
                    work.run(&job)
                })
                .await;
            let result = match result {
                Ok(result) => result,
                Err(e) => {
                    let _ = answer.send(Err(e.into())).await;
                    return;
                }
            };
            for piece in byte_pieces(result, chunk) {
                if answer.send(Ok(piece)).await.is_err() {
                    return; // The client is gone.
                }
            }
        }
    }
}

/// Runs a stage until it ends or the answer's receiver is gone (the client
/// reset the call, or its deadline passed and the answer ended): the stage is
/// dropped at once, with its share of the reservation and the request
/// stream, instead of when its next read or send would notice (a stage
/// waiting for a stalled upload would notice only at the body-idle timeout).
fn spawn_stage(answer: &Answer, stage: impl Future<Output = ()> + Send + 'static) {
    let answer = answer.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = stage => {}
            () = answer.closed() => {}
        }
    });
}

/// The reading stage: gathers the data pieces into slabs and queues each one
/// as soon as its rows are in; a malformed stream ends the answer with its
/// error. Stops reading when the filtering stage stops taking slabs.
async fn read_slabs(
    mut pieces: DataPieces<pb::GaussianFilterChunk>,
    mut cutter: SlabCutter,
    jobs: mpsc::Sender<SlabJob>,
    answer: Answer,
    _reservation: Arc<Reservation>,
) {
    let part_bytes = cutter.plan().slab_input_bytes().max(1);
    loop {
        // Copying rows into a slab is a memcpy of up to a slab: off the
        // runtime's cooperative path, like the streaming Describe's folds.
        while let Some(job) = off_runtime(|| cutter.next_job()) {
            if jobs.send(job).await.is_err() {
                return;
            }
        }
        if cutter.is_done() {
            // Every slab is out: what remains must be the end of the stream.
            if let Err(e) = pieces.next().await.and_then(|rest| match rest {
                None => Ok(()),
                Some(_) => Err(ServiceError::Internal(
                    "data arrived after every slab was cut".into(),
                )),
            }) {
                let _ = answer.send(Err(e.into())).await;
            }
            return;
        }
        match pieces.next().await {
            Ok(Some(piece)) => {
                // A message may be far larger than a slab: taken a slab's
                // worth at a time, so the input held stays within a slab
                // window (the message itself is tonic's buffer).
                for part in piece.chunks(part_bytes) {
                    off_runtime(|| cutter.push(part));
                    while let Some(job) = off_runtime(|| cutter.next_job()) {
                        if jobs.send(job).await.is_err() {
                            return;
                        }
                    }
                }
            }
            Ok(None) => {
                let _ = answer
                    .send(Err(ServiceError::Internal(
                        "the input ended with slabs left to cut".into(),
                    )
                    .into()))
                    .await;
                return;
            }
            Err(e) => {
                // Dropping `jobs` lets the filtering stage finish what it
                // has; the error follows the results already sent.
                let _ = answer.send(Err(e.into())).await;
                return;
            }
        }
    }
}
