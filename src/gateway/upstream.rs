//! Calls of the gRPC service: each one unary when the payload is small and
//! streaming when it is large, so a handler only says what it wants done.
//!
//! A streamed upload runs two things at once in the request's task: the pump,
//! which reads the payload piece by piece and sends it up a short channel, and
//! the call, which carries that channel to the service. The channel's bound is
//! the back-pressure: the gateway reads the client's body no faster than the
//! service takes it, and holds a few pieces at most.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};

use super::memory::{Account, RequestMemory};
use super::upload::{
    Coalescer, MemoryPieces, NpyRefusal, NpyUpload, PARSE_LIMITS, Pieces, StreamingTensor,
};
use super::{GatewayConfig, GatewayError};
use crate::budget::{MemoryBudget, Reservation};
use crate::client::{Client, ClientError, ClientOptions, FilterAnswer};
use crate::npy::{Bf16Widener, write_npy_header};
use crate::proto::dtype_from_wire;
use crate::proto::pb;
use crate::tensor::{DType, Tensor};

/// Pieces in flight between the pump and the call.
const PIPELINE_DEPTH: usize = 4;

/// Pieces a streaming call holds at once, each at most a chunk: those in
/// the channel, the one the coalescer gathers, the one being encoded.
const PIPELINE_PIECES: u64 = PIPELINE_DEPTH as u64 + 2;

/// The caller's API key, passed on as gRPC `authorization` metadata.
#[derive(Clone, Debug, Default)]
pub(crate) struct Credentials(Option<AsciiMetadataValue>);

impl Credentials {
    /// Reads `Authorization: Bearer KEY` or `X-API-Key: KEY`.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Credentials {
        if let Some(value) = headers.get(axum::http::header::AUTHORIZATION)
            && let Ok(value) = MetadataValue::try_from(value.as_bytes())
        {
            return Credentials(Some(value));
        }
        if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
            return Credentials::from_key(key);
        }
        Credentials(None)
    }

    /// A bare key, as the `key` form field of the seed clients carries it.
    pub(crate) fn from_key(key: &str) -> Credentials {
        Credentials(MetadataValue::try_from(format!("Bearer {}", key.trim())).ok())
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

/// The calls one request makes, with its deadline and credentials.
pub(crate) struct Calls {
    client: Client,
    threshold: usize,
    chunk: usize,
    timeout: Option<Duration>,
    credentials: Credentials,
    /// Most answer bytes held for a client that has not read them.
    answer_buffer: usize,
    /// The request's reservation in the memory budget.
    memory: RequestMemory,
    /// Bytes of a streamed answer's buffer already reserved in `memory`
    /// (from the request's declared size); pieces beyond wait for the
    /// budget.
    prepaid_answer: AtomicUsize,
}

/// The answer of a filter: whole, or a header and data still arriving.
pub(crate) enum Filtered {
    Whole(Tensor),
    Streamed(Box<FilteredStream>),
}

/// A filtered tensor coming back from the streaming RPC.
pub(crate) struct FilteredStream {
    pub(crate) dtype: DType,
    pub(crate) shape: Vec<usize>,
    pub(crate) nbytes: usize,
    /// What the answer's reader (and a spawned pump) report, in order.
    queue: mpsc::UnboundedReceiver<AnswerEvent>,
    /// The first data piece, read before the answer started.
    first: Option<Bytes>,
    /// The answer's end has been read.
    ended: bool,
    /// The tasks working for this answer, stopped when it is dropped.
    tasks: Vec<tokio::task::AbortHandle>,
}

/// What the tasks of a streamed filter report. Each data piece holds its
/// share of the answer's buffer (`--answer-buffer-bytes`) until the HTTP
/// answer takes it, so the queue holds at most that many bytes: an HTTP/1
/// client that sends its whole body before it reads the answer (as most do)
/// finds the answer the service computed meanwhile here, and a client that
/// stops reading stops the upstream answer, and with it the upload.
enum AnswerEvent {
    Header(DType, Vec<usize>, usize),
    Data(Bytes, PieceHold),
    End,
    Failed(GatewayError),
}

/// What a queued answer piece holds until the HTTP answer takes it: its
/// share of `--answer-buffer-bytes`, and its bytes in the memory budget,
/// either from the request's prepaid reservation or reserved for it.
type PieceHold = (
    OwnedSemaphorePermit,
    Option<OwnedSemaphorePermit>,
    Option<Reservation>,
);

impl FilteredStream {
    /// Reads the answer's header, then waits for its first data piece, the
    /// end of an empty answer, or a refusal, whichever comes first: a
    /// refused body is answered with its error, not with a broken answer.
    async fn wait_for_data(&mut self) -> Result<(), GatewayError> {
        let (dtype, shape, nbytes) = match self.queue.recv().await {
            Some(AnswerEvent::Header(dtype, shape, nbytes)) => (dtype, shape, nbytes),
            Some(AnswerEvent::Failed(e)) => return Err(e),
            _ => {
                return Err(GatewayError::Internal(
                    "the upstream's filter stream did not start with a header".into(),
                ));
            }
        };
        self.dtype = dtype;
        self.shape = shape;
        self.nbytes = nbytes;
        self.first = self.next_data().await?;
        Ok(())
    }

    /// The next data piece of the answer, `None` at its end.
    async fn next_data(&mut self) -> Result<Option<Bytes>, GatewayError> {
        if let Some(first) = self.first.take() {
            return Ok(Some(first));
        }
        if self.ended {
            return Ok(None);
        }
        match self.queue.recv().await {
            Some(AnswerEvent::Data(piece, _share)) => Ok(Some(piece)),
            Some(AnswerEvent::End) => {
                self.ended = true;
                Ok(None)
            }
            Some(AnswerEvent::Failed(e)) => Err(e),
            Some(AnswerEvent::Header(..)) => Err(GatewayError::Internal(
                "the upstream's answer has a second header".into(),
            )),
            None => Err(GatewayError::Internal(
                "the upstream's answer stopped without an end".into(),
            )),
        }
    }
}

impl Drop for FilteredStream {
    fn drop(&mut self) {
        self.tasks.iter().for_each(tokio::task::AbortHandle::abort);
    }
}

impl Calls {
    pub(crate) fn new(
        client: Client,
        config: &GatewayConfig,
        credentials: Credentials,
        memory: RequestMemory,
    ) -> Calls {
        let options = client_options(config);
        Calls {
            client,
            threshold: options.stream_threshold,
            chunk: options.chunk_bytes,
            timeout: config.request_timeout(),
            credentials,
            answer_buffer: usize::try_from(config.answer_buffer_bytes)
                .unwrap_or(usize::MAX)
                .max(1),
            memory,
            prepaid_answer: AtomicUsize::new(0),
        }
    }

    /// Reserves room for a streamed answer of about `bytes` (the declared
    /// size of the request, at most `--answer-buffer-bytes`) up front, so
    /// that a request whose answer could not be held is refused before its
    /// body is read; an answer larger than that waits for the budget.
    pub(crate) fn prepay_answer(&self, bytes: u64) -> Result<(), GatewayError> {
        let bytes = bytes.min(self.answer_buffer as u64);
        if bytes <= self.prepaid_answer.load(Ordering::Relaxed) as u64 {
            return Ok(());
        }
        self.memory.cover(Account::Answer, bytes)?;
        self.prepaid_answer.store(
            usize::try_from(bytes).unwrap_or(usize::MAX),
            Ordering::Relaxed,
        );
        Ok(())
    }

    /// The request's reservation in the memory budget.
    pub(crate) fn memory(&self) -> &RequestMemory {
        &self.memory
    }

    /// Reserves what a streaming call holds in flight.
    fn reserve_pipeline(&self) -> Result<(), GatewayError> {
        self.memory
            .cover(Account::Pipeline, PIPELINE_PIECES * self.chunk as u64)
    }

    /// Replaces the credentials (a `key` form field overrides headers).
    pub(crate) fn set_credentials(&mut self, credentials: Credentials) {
        if credentials.is_set() {
            self.credentials = credentials;
        }
    }

    /// The client with this request's credentials and deadline (for the
    /// store's small calls the routes make themselves).
    pub(crate) fn client(&self) -> Client {
        self.client
            .for_call(self.credentials.0.clone(), self.timeout)
    }

    /// The size above which payloads are streamed.
    pub(crate) fn threshold(&self) -> usize {
        self.threshold
    }

    /// Wraps a message with the deadline and the credentials.
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
        if let Some(value) = &self.credentials.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        request
    }

    /// `Describe` of a tensor in memory (streamed when large).
    pub(crate) async fn describe_tensor(
        &self,
        tensor: Tensor,
    ) -> Result<pb::TensorInfo, GatewayError> {
        if tensor.nbytes() <= self.threshold {
            // The message is encoded into a buffer of its own.
            self.memory.add(Account::Decoded, tensor.nbytes() as u64)?;
            return Ok(self.client().describe(&tensor).await?);
        }
        let streaming = in_memory(tensor, self.chunk);
        self.describe_stream(streaming, reject_stream_data).await
    }

    /// `Describe` of an uploaded `.npy`.
    pub(crate) async fn describe_upload<P: Pieces>(
        &self,
        upload: NpyUpload<P>,
        refuse: NpyRefusal,
    ) -> Result<pb::TensorInfo, GatewayError> {
        match upload {
            NpyUpload::Whole(tensor) => self.describe_tensor(tensor).await,
            NpyUpload::Streaming(streaming) => self.describe_stream(streaming, refuse).await,
        }
    }

    async fn describe_stream<P: Pieces>(
        &self,
        upload: StreamingTensor<P>,
        refuse: NpyRefusal,
    ) -> Result<pb::TensorInfo, GatewayError> {
        self.upload_call(
            upload,
            refuse,
            |mut client, dtype, shape, data| async move {
                client.describe_pieces(dtype, &shape, data).await
            },
        )
        .await
    }

    /// A call that uploads `upload` as a streamed tensor: `call` makes it
    /// with the request's client, the tensor's dtype and shape and the
    /// stream of its data, which the pump fills as the body arrives.
    async fn upload_call<P, T, F, Fut>(
        &self,
        upload: StreamingTensor<P>,
        refuse: NpyRefusal,
        call: F,
    ) -> Result<T, GatewayError>
    where
        P: Pieces,
        F: FnOnce(Client, DType, Vec<usize>, ReceiverStream<Bytes>) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        self.reserve_pipeline()?;
        let (sender, receiver) = mpsc::channel(PIPELINE_DEPTH);
        let call = call(
            self.client(),
            upload.dtype,
            upload.shape.clone(),
            ReceiverStream::new(receiver),
        );
        let call = async move { Ok::<_, GatewayError>(call.await?) };
        let pump = pump(
            upload.first,
            upload.rest,
            Some(upload.nbytes),
            sender,
            self.chunk,
            refuse,
        );
        let ((), answer) = tokio::try_join!(pump, call)?;
        Ok(answer)
    }

    /// `Apply` of a tensor in memory (streamed when large).
    pub(crate) async fn filter_tensor(
        &self,
        tensor: Tensor,
        params: pb::OpParams,
    ) -> Result<Filtered, GatewayError> {
        if tensor.nbytes() <= self.threshold {
            // The request encoded, the answer's message and its tensor.
            let result = answer_bytes(tensor.dtype(), tensor.nbytes(), &params);
            self.memory.add(Account::Decoded, tensor.nbytes() as u64)?;
            self.memory.add(Account::Answer, 2 * result)?;
            let tensor = self.client().apply(&tensor, &params).await?;
            return Ok(Filtered::Whole(tensor));
        }
        self.prepay_answer(answer_bytes(tensor.dtype(), tensor.nbytes(), &params))?;
        let streaming = in_memory(tensor, self.chunk);
        self.filter_stream(streaming, params, reject_stream_data)
            .await
    }

    /// `Apply` of an uploaded `.npy`. The body is pumped by a task
    /// of its own and the answer starts as soon as its first piece is back,
    /// while the body is still arriving (see [`Calls::filter_stream`]).
    pub(crate) async fn filter_upload<P: Pieces + 'static>(
        &self,
        upload: NpyUpload<P>,
        params: pb::OpParams,
        refuse: NpyRefusal,
    ) -> Result<Filtered, GatewayError> {
        match upload {
            NpyUpload::Whole(tensor) => self.filter_tensor(tensor, params).await,
            NpyUpload::Streaming(streaming) => {
                let (sender, events, mut answer) = self.filter_call(&streaming, params)?;
                let pump = pump_filter(streaming, sender, self.chunk, refuse);
                let pump = tokio::spawn(async move {
                    if let Err(e) = pump.await {
                        let _ = events.send(AnswerEvent::Failed(e));
                    }
                });
                answer.tasks.push(pump.abort_handle());
                answer.wait_for_data().await?;
                Ok(Filtered::Streamed(Box::new(answer)))
            }
        }
    }

    /// `GaussianFilter` of an uploaded `.npy` whose pieces borrow the
    /// request (a multipart field): the body is pumped in the request's task
    /// and the answer starts once the body is in, its pieces queued in the
    /// meantime (the service answers while the upload arrives and would stop
    /// reading if its answer were left unread).
    pub(crate) async fn filter_upload_in_place<P: Pieces>(
        &self,
        upload: NpyUpload<P>,
        params: pb::OpParams,
        refuse: NpyRefusal,
    ) -> Result<Filtered, GatewayError> {
        match upload {
            NpyUpload::Whole(tensor) => self.filter_tensor(tensor, params).await,
            NpyUpload::Streaming(streaming) => self.filter_stream(streaming, params, refuse).await,
        }
    }

    /// An `ApplyStream` of a tensor arriving in pieces: pumps them
    /// all, then answers. The answer's pieces are read by a task of their
    /// own while the pump runs, so a service that answers during the upload
    /// never waits for this gateway (which would stall the upload).
    async fn filter_stream<P: Pieces>(
        &self,
        upload: StreamingTensor<P>,
        params: pb::OpParams,
        refuse: NpyRefusal,
    ) -> Result<Filtered, GatewayError> {
        let (sender, events, mut answer) = self.filter_call(&upload, params)?;
        drop(events);
        pump_filter(upload, sender, self.chunk, refuse).await?;
        answer.wait_for_data().await?;
        Ok(Filtered::Streamed(Box::new(answer)))
    }

    /// Starts the call: the start message queued, the answer read into a
    /// queue by a task. Returns the sender for the data pieces, a sender
    /// into the answer's queue (for the pump's refusal; drop it otherwise,
    /// so the queue ends with the reader) and the answer.
    fn filter_call<P>(
        &self,
        upload: &StreamingTensor<P>,
        params: pb::OpParams,
    ) -> Result<
        (
            mpsc::Sender<Bytes>,
            mpsc::UnboundedSender<AnswerEvent>,
            FilteredStream,
        ),
        GatewayError,
    > {
        self.reserve_pipeline()?;
        let (sender, receiver) = mpsc::channel(PIPELINE_DEPTH);
        let call = AnswerCall::Apply {
            client: self.client(),
            dtype: upload.dtype,
            shape: upload.shape.clone(),
            params,
            data: ReceiverStream::new(receiver),
        };
        let (events, answer) = self.answer_queue(call);
        Ok((sender, events, answer))
    }

    /// Starts `call`, its answer read into a queue by a task: a sender into
    /// that queue (for a pump's refusal; dropped otherwise, so the queue
    /// ends with the reader) and the answer.
    fn answer_queue(
        &self,
        call: AnswerCall,
    ) -> (mpsc::UnboundedSender<AnswerEvent>, FilteredStream) {
        let (events, queue) = mpsc::unbounded_channel();
        let into = events.clone();
        let buffer = AnswerBuffer {
            cap: self.answer_buffer,
            prepaid: self.prepaid_answer.load(Ordering::Relaxed),
            budget: self.memory.budget().clone(),
        };
        let reader = tokio::spawn(async move {
            if let Err(e) = read_answer(call, &into, buffer).await {
                let _ = into.send(AnswerEvent::Failed(e));
            }
        });
        let answer = FilteredStream {
            dtype: DType::Bool,
            shape: Vec::new(),
            nbytes: 0,
            queue,
            first: None,
            ended: false,
            tasks: vec![reader.abort_handle()],
        };
        (events, answer)
    }

    /// A stored tensor (`GetTensor`), or an operation's result on one
    /// (`ApplyStream` with `input_id`, when `params` are given), as a
    /// streamed answer.
    pub(crate) async fn stored_answer(
        &self,
        id: String,
        params: Option<pb::OpParams>,
    ) -> Result<Filtered, GatewayError> {
        let call = AnswerCall::Stored {
            client: self.client(),
            id,
            params,
        };
        let (events, mut answer) = self.answer_queue(call);
        drop(events);
        answer.wait_for_data().await?;
        Ok(Filtered::Streamed(Box::new(answer)))
    }

    /// `PutTensor` of an uploaded `.npy`: its handle.
    pub(crate) async fn put_upload<P: Pieces>(
        &self,
        upload: NpyUpload<P>,
        refuse: NpyRefusal,
    ) -> Result<pb::StoredTensor, GatewayError> {
        let upload = match upload {
            // Sent in pieces of the tensor's own bytes: no copy.
            NpyUpload::Whole(tensor) => return Ok(self.client().put(&tensor).await?),
            NpyUpload::Streaming(streaming) => streaming,
        };
        self.upload_call(upload, refuse, |mut client, dtype, shape, data| async move {
            client.put_pieces(dtype, &shape, data).await
        })
        .await
    }

    /// `ImageSize` of an encoded image in memory.
    pub(crate) async fn image_size(
        &self,
        data: Bytes,
        filename: String,
    ) -> Result<pb::ImageInfo, GatewayError> {
        if data.len() <= self.threshold {
            self.memory.add(Account::Decoded, data.len() as u64)?;
            return Ok(self.client().image_size(data, &filename).await?);
        }
        self.image_size_stream(vec![], MemoryPieces::new(data, self.chunk), filename)
            .await
    }

    /// `ImageSize` of an image arriving in pieces: one unary call when it is
    /// small, else the streaming RPC, which may answer from the header alone;
    /// the rest of the upload is then not sent.
    pub(crate) async fn image_size_pieces<P: Pieces>(
        &self,
        mut pieces: P,
        filename: String,
    ) -> Result<pb::ImageInfo, GatewayError> {
        let mut first = Vec::new();
        let mut total = 0usize;
        loop {
            match pieces.next_piece().await? {
                Some(piece) if total + piece.len() <= self.threshold => {
                    total += piece.len();
                    // Held, then joined: twice.
                    self.memory.cover(Account::Gathered, 2 * total as u64)?;
                    first.push(piece);
                }
                None => {
                    let data = super::upload::concat(first, total);
                    return self.image_size(data, filename).await;
                }
                Some(piece) => {
                    total += piece.len();
                    first.push(piece);
                    if total > self.threshold {
                        return self.image_size_stream(first, pieces, filename).await;
                    }
                }
            }
        }
    }

    async fn image_size_stream<P: Pieces>(
        &self,
        first: Vec<Bytes>,
        rest: P,
        filename: String,
    ) -> Result<pb::ImageInfo, GatewayError> {
        self.reserve_pipeline()?;
        let (sender, receiver) = mpsc::channel(PIPELINE_DEPTH);
        let data = ReceiverStream::new(receiver);
        let mut client = self.client();
        let call =
            async move { Ok::<_, GatewayError>(client.image_size_pieces(&filename, data).await?) };
        let pump = pump(first, rest, None, sender, self.chunk, reject_stream_data);
        // The service may answer before the whole image has been sent: then
        // stop pumping and answer.
        tokio::pin!(pump, call);
        let mut pumped = false;
        loop {
            tokio::select! {
                result = &mut pump, if !pumped => {
                    result?;
                    pumped = true;
                }
                answer = &mut call => return answer,
            }
        }
    }
}

/// The refusal for data that does not match its header when the gateway
/// itself built the header (cannot happen; a bug if it does).
fn reject_stream_data(detail: String) -> GatewayError {
    GatewayError::Internal(detail)
}

/// A tensor in memory, as a stream of its data slices.
fn in_memory(tensor: Tensor, chunk: usize) -> StreamingTensor<MemoryPieces> {
    StreamingTensor {
        dtype: tensor.dtype(),
        shape: tensor.shape().to_vec(),
        nbytes: tensor.nbytes(),
        first: Vec::new(),
        rest: MemoryPieces::new(tensor.into_data(), chunk),
    }
}

/// Sends the payload's pieces (gathered to about `chunk` bytes) up the
/// channel, to the message stream of the call. With `expected`, the data must be exactly that long: a longer
/// payload is refused before its extra bytes are sent, so the service never
/// sees a tensor the client did not describe. Stops quietly when the call
/// has ended (its error, if any, is the call's to report).
async fn pump<P: Pieces>(
    first: Vec<Bytes>,
    mut rest: P,
    expected: Option<usize>,
    sender: mpsc::Sender<Bytes>,
    chunk: usize,
    refuse: NpyRefusal,
) -> Result<(), GatewayError> {
    let mut coalescer = Coalescer::new(chunk);
    let mut first = first.into_iter();
    let mut sent = 0usize;
    loop {
        let piece = match first.next() {
            Some(piece) => piece,
            None => match rest.next_piece().await? {
                Some(piece) => piece,
                None => break,
            },
        };
        sent = sent.saturating_add(piece.len());
        if let Some(expected) = expected
            && sent > expected
        {
            return Err(refuse(format!(
                "the data is longer than its header declares ({expected} bytes)"
            )));
        }
        for ready in coalescer.push(piece) {
            if sender.send(ready).await.is_err() {
                return Ok(());
            }
        }
    }
    if let Some(last) = coalescer.finish()
        && sender.send(last).await.is_err()
    {
        return Ok(());
    }
    if let Some(expected) = expected
        && sent < expected
    {
        return Err(refuse(format!(
            "the data ends after {sent} bytes, but its header declares {expected}"
        )));
    }
    Ok(())
}

impl Filtered {
    /// The whole result in memory (for answers that need it all: JSON, PNG),
    /// reserved in `memory` before it is gathered.
    pub(crate) async fn collect(self, memory: &RequestMemory) -> Result<Tensor, GatewayError> {
        match self {
            Filtered::Whole(tensor) => Ok(tensor),
            Filtered::Streamed(mut s) => {
                memory.add(Account::Answer, s.nbytes as u64)?;
                // The reader checked the data's length against the header.
                let mut data = bytes::BytesMut::with_capacity(s.nbytes);
                while let Some(piece) = s.next_data().await? {
                    data.extend_from_slice(&piece);
                }
                let shape: Vec<u64> = s.shape.iter().map(|&d| d as u64).collect();
                Tensor::new(s.dtype, &shape, data.freeze(), &PARSE_LIMITS).map_err(|e| {
                    GatewayError::Internal(format!("the upstream answered an invalid tensor: {e}"))
                })
            }
        }
    }

    /// The result as a `.npy` file: its length and its body, streamed as the
    /// pieces come back from the service. bfloat16 (which NumPy lacks) is
    /// widened to float32, as `npy::write_npy` does.
    pub(crate) fn into_npy(self) -> (u64, axum::body::Body) {
        let (dtype, shape, nbytes) = match &self {
            Filtered::Whole(t) => (t.dtype(), t.shape().to_vec(), t.nbytes()),
            Filtered::Streamed(s) => (s.dtype, s.shape.clone(), s.nbytes),
        };
        let header = Bytes::from(write_npy_header(dtype, &shape));
        let widen = dtype == DType::BFloat16;
        let data_len = if widen {
            nbytes as u64 * 2
        } else {
            nbytes as u64
        };
        let length = header.len() as u64 + data_len;
        let body = match self {
            Filtered::Whole(tensor) if !widen => {
                let pieces = [Ok::<_, GatewayError>(header), Ok(tensor.into_data())];
                axum::body::Body::from_stream(futures::stream::iter(pieces))
            }
            Filtered::Whole(tensor) => {
                let pieces = [
                    Ok::<_, GatewayError>(header),
                    Ok(Bf16Widener::default().widen(&tensor.into_data())),
                ];
                axum::body::Body::from_stream(futures::stream::iter(pieces))
            }
            Filtered::Streamed(mut s) => {
                // The reader checked the data's length against the header: a
                // short or long answer ends the body with its error.
                let stream = async_stream::try_stream! {
                    yield header;
                    let mut widener = Bf16Widener::default();
                    while let Some(piece) = s.next_data().await? {
                        yield if widen { widener.widen(&piece) } else { piece };
                    }
                };
                let stream: std::pin::Pin<
                    Box<dyn futures::Stream<Item = Result<Bytes, GatewayError>> + Send>,
                > = Box::pin(stream);
                axum::body::Body::from_stream(stream)
            }
        };
        (length, body)
    }
}

/// Sends the data pieces of `upload` up `sender`, in pieces of `chunk`.
async fn pump_filter<P: Pieces>(
    upload: StreamingTensor<P>,
    sender: mpsc::Sender<Bytes>,
    chunk: usize,
    refuse: NpyRefusal,
) -> Result<(), GatewayError> {
    pump(
        upload.first,
        upload.rest,
        Some(upload.nbytes),
        sender,
        chunk,
        refuse,
    )
    .await
}

/// A call whose answer is a streamed tensor.
enum AnswerCall {
    /// `ApplyStream` of an upload: its header and parameters, and the
    /// stream its data pieces come up.
    Apply {
        client: Client,
        dtype: DType,
        shape: Vec<usize>,
        params: pb::OpParams,
        data: ReceiverStream<Bytes>,
    },
    /// A stored tensor, or (with `params`) an operation's result on it.
    Stored {
        client: Client,
        id: String,
        params: Option<pb::OpParams>,
    },
}

impl AnswerCall {
    /// Makes the call: its answer, header read.
    async fn start(self) -> Result<FilterAnswer, ClientError> {
        match self {
            AnswerCall::Apply {
                mut client,
                dtype,
                shape,
                params,
                data,
            } => client.apply_pieces(dtype, &shape, &params, data).await,
            AnswerCall::Stored {
                mut client,
                id,
                params: Some(params),
            } => client.apply_stored_pieces(&id, &params).await,
            AnswerCall::Stored {
                mut client,
                id,
                params: None,
            } => client.get_pieces(&id).await,
        }
    }
}

/// Makes the filter call and reports its answer's header and pieces into
/// `into` as they arrive (the client checks that the data is exactly as
/// long as the header declares); stops when nobody listens.
async fn read_answer(
    call: AnswerCall,
    into: &mpsc::UnboundedSender<AnswerEvent>,
    buffer: AnswerBuffer,
) -> Result<(), GatewayError> {
    // Shares of the buffer, a byte each; a piece takes at most the whole
    // buffer (and a semaphore hands out at most u32::MAX at once).
    let held = Arc::new(Semaphore::new(buffer.cap.min(Semaphore::MAX_PERMITS)));
    let prepaid = Arc::new(Semaphore::new(buffer.prepaid.min(Semaphore::MAX_PERMITS)));
    let mut answer = call.start().await?;
    let header = AnswerEvent::Header(answer.dtype, answer.shape.clone(), answer.nbytes);
    if into.send(header).is_err() {
        return Ok(());
    }
    while let Some(piece) = answer.next_piece().await? {
        let len = piece.len().min(buffer.cap).min(u32::MAX as usize) as u32;
        let Ok(share) = Arc::clone(&held).acquire_many_owned(len).await else {
            return Ok(()); // never closed
        };
        // From the prepaid room when it has some, else from the budget,
        // waiting for it: a full budget stops reading the upstream's answer
        // (back-pressure), as a full buffer does.
        let hold = match Arc::clone(&prepaid).try_acquire_many_owned(len) {
            Ok(paid) => (share, Some(paid), None),
            Err(_) => {
                let most = buffer.budget.total_bytes().max(1);
                let reserved = buffer
                    .budget
                    .reserve_waiting(u64::from(len).min(most))
                    .await?;
                (share, None, Some(reserved))
            }
        };
        if into.send(AnswerEvent::Data(piece, hold)).is_err() {
            return Ok(());
        }
    }
    let _ = into.send(AnswerEvent::End);
    Ok(())
}

/// Where a streamed answer's pieces are held while the HTTP answer has not
/// taken them.
struct AnswerBuffer {
    /// `--answer-buffer-bytes`.
    cap: usize,
    /// Bytes already reserved for the answer in the request's memory.
    prepaid: usize,
    /// The budget pieces beyond `prepaid` are reserved in.
    budget: MemoryBudget,
}

/// The size of an operation's answer: the input's elements in the output
/// dtype the parameters ask for (the input's own by default).
fn answer_bytes(dtype: DType, nbytes: usize, params: &pb::OpParams) -> u64 {
    let elements = nbytes / dtype.itemsize().max(1);
    let code = crate::ops::from_wire(params).map_or(0, |(_, p)| p.output_dtype);
    let output = match code {
        0 => dtype,
        wire => dtype_from_wire(wire).unwrap_or(dtype),
    };
    (elements as u64).saturating_mul(output.itemsize().max(dtype.itemsize()) as u64)
}

/// The client settings of the gateway's calls: payloads above
/// `--stream-threshold-bytes` streamed in pieces of `--upload-chunk-bytes`
/// (never above the threshold, which is kept under the upstream's message
/// limit), and answers trusted whatever their size: they are bounded by the
/// service's own limits, and refusing them here would only turn a good
/// answer into an error.
pub(crate) fn client_options(config: &GatewayConfig) -> ClientOptions {
    ClientOptions {
        stream_threshold: usize::try_from(config.stream_threshold_bytes).unwrap_or(usize::MAX),
        chunk_bytes: usize::try_from(config.upload_chunk_bytes.min(config.stream_threshold_bytes))
            .unwrap_or(usize::MAX)
            .max(1),
        max_answer_bytes: u64::MAX,
        ..ClientOptions::default()
    }
}
