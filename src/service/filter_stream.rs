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
//! control stops the client's upload. The body-idle timeout
//! (`--body-read-timeout-secs`) applies both ways: a layer around the
//! request body ends a client that stops sending while the server is
//! reading, and each answer send waits at most that long for the client to
//! read, so a client that stops reading is ended too (`DEADLINE_EXCEEDED`),
//! instead of holding its reservation for as long as its connection lives.
//!
//! The call reserves its working set in the memory budget
//! (`SlabPlan::working_set_bytes`), not its input and result (except where
//! the slabs must wait for the whole input: see `filter::SlabPlan`). The
//! stages (through `Answer`, which drops it at the first error, before the
//! error is queued) and the computations hold the reservation, the response stream
//! does not: a client that stops reading leaves its stream unpolled (HTTP/2
//! polls a body only when the client's window has room), so whatever the
//! stream held would be held until the connection closes. What the answer
//! channel still holds when the stages are gone, unreserved, is at most its
//! few queued messages: slices of the last slab results.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Status, Streaming};

use super::store::send_tensor;
use super::stream::{DataPieces, check_header, off_runtime, read_first};
use super::{ResponseStream, ServiceError, TensorServiceImpl};
use crate::budget::Reservation;
use crate::filter::{SlabCutter, SlabJob, SlabPlan};
use crate::proto::{self, pb};
use crate::store::Owner;
use crate::tensor::byte_pieces;
use crate::wire::{self, Framed};

/// The start message of a streamed operation: the tensor's header and the
/// operation with its parameters.
pub(super) trait OpStart {
    /// The header, the operation, and the id of a stored input (empty when
    /// the data follows).
    fn split(self) -> (Option<pb::TensorHeader>, pb::OpParams, String);
}

impl OpStart for pb::ApplyStart {
    fn split(self) -> (Option<pb::TensorHeader>, pb::OpParams, String) {
        (self.header, self.params.unwrap_or_default(), self.input_id)
    }
}

impl OpStart for pb::GaussianFilterStart {
    fn split(self) -> (Option<pb::TensorHeader>, pb::OpParams, String) {
        let params = pb::OpParams {
            op: Some(pb::op_params::Op::GaussianFilter(
                self.params.unwrap_or_default(),
            )),
        };
        (self.header, params, String::new())
    }
}

/// Slabs gathered and waiting to be filtered (one more is being filtered).
const QUEUED_SLABS: usize = 1;
/// Answer messages waiting to be sent (each at most `--stream-chunk-bytes`),
/// besides the slot kept for the call's error.
const QUEUED_PIECES: usize = 4;

/// One message of the answer's channel: a piece of the result's data, or
/// the error that ends the call (the header goes ahead of them:
/// `wire::try_encode`).
type Message = Result<Bytes, Status>;

/// The answer's sending side, shared by the stages.
#[derive(Clone)]
struct Answer {
    pieces: mpsc::Sender<Message>,
    /// The slot of the message that ends the call with an error, reserved
    /// at the start so an error never waits behind a full channel (a client
    /// that stops reading would otherwise keep the stage that fails
    /// waiting). Taken by the first error; later ones are not sent.
    last: Arc<Mutex<Option<mpsc::OwnedPermit<Message>>>>,
    /// The call's reservation, shared by the stages (each computation holds
    /// its own share while it runs). Dropped by the first error before the
    /// error is queued, so a client that reads the error finds the budget
    /// already free (unless a computation is still running).
    held: Arc<Mutex<Option<Arc<Reservation>>>>,
    /// Cancelled when the call has failed: every stage stops at once.
    failed: CancellationToken,
    /// How long one send may wait for the client to read
    /// (`--body-read-timeout-secs`).
    idle: Duration,
}

impl Answer {
    /// A channel for the answer's data, and its receiving end.
    fn open(
        idle: Duration,
        reservation: Reservation,
    ) -> Result<(Answer, mpsc::Receiver<Message>), ServiceError> {
        // The pieces, and the error's slot.
        let (pieces, answers) = mpsc::channel(QUEUED_PIECES + 1);
        let full = || ServiceError::Internal("the answer channel is full at its start".into());
        let last = pieces.clone().try_reserve_owned().map_err(|_| full())?;
        let answer = Answer {
            pieces,
            last: Arc::new(Mutex::new(Some(last))),
            held: Arc::new(Mutex::new(Some(Arc::new(reservation)))),
            failed: CancellationToken::new(),
            idle,
        };
        Ok((answer, answers))
    }

    /// Sends one result message, waiting while the client reads slower than
    /// the server answers. False when the call is over: the client is gone,
    /// or it read nothing for the idle timeout (then the call ends with
    /// `DEADLINE_EXCEEDED`).
    async fn send(&self, piece: Bytes) -> bool {
        match tokio::time::timeout(self.idle, self.pieces.send(Ok(piece))).await {
            Ok(sent) => sent.is_ok(),
            Err(_) => {
                self.fail(Status::deadline_exceeded(format!(
                    "the client read nothing of its answer for {} s (--body-read-timeout-secs)",
                    self.idle.as_secs_f64()
                )));
                false
            }
        }
    }

    /// Ends the answer with `status` after the messages already queued,
    /// without waiting, and stops every stage.
    fn fail(&self, status: Status) {
        drop(
            self.held
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let permit = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(permit) = permit {
            permit.send(Err(status));
        }
        self.failed.cancel();
    }

    /// A share of the call's reservation for one computation; `None` once
    /// the call has failed.
    fn reservation(&self) -> Option<Arc<Reservation>> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl TensorServiceImpl {
    /// `ApplyStream` (and `GaussianFilterStream`): checks the start message
    /// (header, limits, operation and parameters, the plan and its working
    /// set in the budget) before any data is read, answers with the
    /// result's header at once, and computes the data in slabs as it
    /// arrives.
    pub(super) async fn apply_stream<M>(
        &self,
        owner: &Owner,
        mut messages: Streaming<M>,
    ) -> Result<ResponseStream<pb::TensorChunk>, ServiceError>
    where
        M: Framed,
        M::Header: OpStart,
    {
        let (header, params, input_id) = read_first(&mut messages).await?.split();
        if !input_id.is_empty() {
            return self
                .apply_stored_stream(owner, header, params, &input_id)
                .await;
        }
        let header = header
            .ok_or_else(|| ServiceError::Stream("the start message has no tensor header".into()))?;
        let (dtype, valid) = check_header(&header, &self.tensor_limits)?;
        let plan = self.plan_op(&params, dtype, &valid.shape)?;
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
        // Held by the answer's stages and by each computation (see
        // `compute`): the bytes are free once the last of them ends, or at
        // the first error (`Answer::fail`).
        let reservation = self.reserve(slabs.working_set_bytes(QUEUED_SLABS))?;
        // The answer's header goes out at once, ahead of the data.
        let head = proto::header_to_wire(slabs.plan().output_dtype(), &valid.shape);
        let (answer, answers) = Answer::open(self.answer_idle, reservation)?;
        let (jobs, queue) = mpsc::channel(QUEUED_SLABS);
        let pieces = DataPieces::new(messages, dtype, valid.nbytes);
        spawn_stage(
            &answer,
            read_slabs(
                pieces,
                SlabCutter::new(Arc::clone(&slabs)),
                jobs,
                answer.clone(),
            ),
        );
        spawn_stage(
            &answer,
            self.clone().filter_slabs(slabs, queue, answer.clone()),
        );
        // The stream holds no share of the reservation (see the module's
        // notes): the stages and computations do.
        let chunk = self.limits.chunk_bytes();
        Ok(Box::pin(wire::try_encode::<pb::TensorChunk, _>(
            head,
            ReceiverStream::new(answers),
            chunk,
        )))
    }

    /// `ApplyStream` of a stored tensor: computed whole (its input is in
    /// memory already), the result sent in pieces.
    async fn apply_stored_stream(
        &self,
        owner: &Owner,
        header: Option<pb::TensorHeader>,
        params: pb::OpParams,
        input_id: &str,
    ) -> Result<ResponseStream<pb::TensorChunk>, ServiceError> {
        if header.is_some() {
            return Err(ServiceError::BadField {
                field: "input_id",
                message: "the start message has both a tensor header and an input_id; send one"
                    .into(),
            });
        }
        let request = pb::ApplyRequest {
            tensor: None,
            params: Some(params),
            input_id: input_id.to_owned(),
        };
        let (input, plan) = self.plan_request(owner, request)?;
        let result = self.run_plan(plan, input).await?;
        Ok(send_tensor(result, self.limits.chunk_bytes()))
    }

    /// The filtering stage: filters each slab off the runtime (in order) and
    /// sends its result in pieces; stops when the client is gone.
    async fn filter_slabs(
        self,
        slabs: Arc<SlabPlan>,
        mut queue: mpsc::Receiver<SlabJob>,
        answer: Answer,
    ) {
        let chunk = self.limits.chunk_bytes();
        while let Some(job) = queue.recv().await {
            let work = Arc::clone(&slabs);
            let Some(held) = answer.reservation() else {
                return; // The call has failed.
            };
            let result = self
                .compute(move || {
                    let _held = held;
                    work.run(&job)
                })
                .await;
            let result = match result {
                Ok(result) => result,
                Err(e) => {
                    answer.fail(e.into());
                    return;
                }
            };
            for piece in byte_pieces(result, chunk) {
                if !answer.send(piece).await {
                    return; // The client is gone, or read nothing for too long.
                }
            }
        }
    }
}

/// Runs a stage until it ends, the call has failed (in any stage), or the
/// answer's receiver is gone (the client reset the call, or its deadline
/// passed and the answer ended): the stage is dropped at once, with its
/// share of the reservation and the request stream, instead of when its
/// next read or send would notice (a stage waiting for a stalled upload
/// would notice only at the body-idle timeout).
fn spawn_stage(answer: &Answer, stage: impl Future<Output = ()> + Send + 'static) {
    let pieces = answer.pieces.clone();
    let failed = answer.failed.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = stage => {}
            () = failed.cancelled() => {}
            () = pieces.closed() => {}
        }
    });
}

/// The reading stage: gathers the data pieces into slabs and queues each one
/// as soon as its rows are in; a malformed stream ends the answer with its
/// error. Stops reading when the filtering stage stops taking slabs.
async fn read_slabs<M: Framed>(
    mut pieces: DataPieces<M>,
    mut cutter: SlabCutter,
    jobs: mpsc::Sender<SlabJob>,
    answer: Answer,
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
                answer.fail(e.into());
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
                answer.fail(
                    ServiceError::Internal("the input ended with slabs left to cut".into()).into(),
                );
                return;
            }
            Err(e) => {
                // The error follows the results already queued; the
                // filtering stage stops with this one.
                answer.fail(e.into());
                return;
            }
        }
    }
}
