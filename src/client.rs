//! The Rust client: `Client::connect(url)` and one method per operation,
//! taking a [`Tensor`] (or ndarray arrays / `.npy` bytes through
//! [`Tensor::from_array`] and [`crate::npy::read_npy`]).
//!
//! Each method chooses unary or streaming on its own: payloads up to
//! [`ClientOptions::stream_threshold`] travel as one message, larger ones as a
//! header followed by pieces of [`ClientOptions::chunk_bytes`], so a tensor of
//! any size goes through a server that keeps the default message cap.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use thiserror::Error;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

use crate::proto::pb::tensor_service_client::TensorServiceClient;
use crate::proto::{self, pb};
use crate::tensor::{Tensor, TensorError, TensorLimits, byte_pieces, validate_shape};
use crate::wire::{self, DecodeError, Framed};

/// The error model a refusal carries (`ErrorInfo` domain and reasons; see
/// README "The error model"), read with [`ClientError::reason`].
pub use crate::status::{ERROR_DOMAIN, Reason};

/// Why a client call failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The URL is not usable.
    #[error("invalid server URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection could not be made.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL given.
        url: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
    /// The API key cannot travel in a header (it is not printable ASCII).
    #[error("the API key is not printable ASCII")]
    ApiKey,
    /// The server answered with an error status.
    #[error("{}: {}", .0.code(), .0.message())]
    Status(#[from] Status),
    /// The server's answer is not a valid tensor.
    #[error("the server sent an invalid tensor: {0}")]
    BadAnswer(#[from] TensorError),
    /// The server's stream of pieces is malformed.
    #[error("the server sent a malformed stream: {0}")]
    BadStream(String),
}

impl ClientError {
    /// The server's status, when the server refused the call.
    pub fn status(&self) -> Option<&Status> {
        match self {
            ClientError::Status(status) => Some(status),
            _ => None,
        }
    }

    /// The rich error details of the server's refusal (`ErrorInfo`,
    /// `BadRequest` field violations, `QuotaFailure`, `RetryInfo`); empty
    /// details for other failures. See the README's error model.
    pub fn details(&self) -> tonic_types::ErrorDetails {
        use tonic_types::StatusExt;
        self.status()
            .map(StatusExt::get_error_details)
            .unwrap_or_default()
    }

    /// Why the server refused the call (its `ErrorInfo` reason), when it said.
    pub fn reason(&self) -> Option<Reason> {
        Reason::from_details(&self.details())
    }

    /// How long the server asked the client to wait before retrying
    /// (`RetryInfo`, sent when the server is busy).
    pub fn retry_delay(&self) -> Option<Duration> {
        self.details().retry_info()?.retry_delay
    }
}

/// Called with the number of payload bytes sent or received so far.
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

/// How the client talks to the server.
#[derive(Clone)]
pub struct ClientOptions {
    /// Sent as `authorization: Bearer KEY` on every call.
    pub api_key: Option<String>,
    /// Deadline of each call (sent as `grpc-timeout`).
    pub timeout: Option<Duration>,
    /// Compress requests and accept compressed answers (zstd).
    pub compression: bool,
    /// Payloads larger than this use the streaming RPCs.
    pub stream_threshold: usize,
    /// Size of the data pieces of streamed uploads.
    pub chunk_bytes: usize,
    /// Largest tensor accepted from the server.
    pub max_answer_bytes: u64,
    /// Called as payload bytes are sent (uploads) or received (downloads).
    pub progress: Option<ProgressFn>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            api_key: None,
            timeout: None,
            compression: false,
            stream_threshold: 4 << 20,
            chunk_bytes: 1 << 20,
            max_answer_bytes: 16 << 30,
            progress: None,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("stream_threshold", &self.stream_threshold)
            .field("chunk_bytes", &self.chunk_bytes)
            .finish_non_exhaustive()
    }
}

/// Adds the API key and the deadline to every request.
#[derive(Clone)]
pub struct CallInterceptor {
    authorization: Option<AsciiMetadataValue>,
    timeout: Option<Duration>,
}

impl Interceptor for CallInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        if let Some(timeout) = self.timeout {
            // Sent as `grpc-timeout`, so the server stops working on it too.
            request.set_timeout(timeout);
        }
        Ok(request)
    }
}

type Inner = TensorServiceClient<InterceptedService<Channel, CallInterceptor>>;

/// A connection to a tensorwire server.
#[derive(Clone)]
pub struct Client {
    channel: Channel,
    inner: Inner,
    options: ClientOptions,
    /// What every call sends as `authorization`.
    authorization: Option<AsciiMetadataValue>,
}

/// The endpoint of `url` with the transport settings every client of the
/// service uses: HTTP/2 windows large enough that a multi-megabyte tensor
/// crosses in a few round trips (instead of waiting for a window update
/// every 64 KiB), no Nagle delay, and TLS with the system's roots for
/// `https://`.
fn endpoint(url: &str) -> Result<Endpoint, ClientError> {
    let bad_url = |reason: String| ClientError::Url {
        url: url.to_owned(),
        reason,
    };
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| bad_url(e.to_string()))?
        .initial_stream_window_size(Some(8 << 20))
        .initial_connection_window_size(Some(16 << 20))
        .max_frame_size(Some(1 << 20))
        .tcp_nodelay(true);
    if url.starts_with("https://") {
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().with_enabled_roots())
            .map_err(|e| bad_url(e.to_string()))?;
    }
    Ok(endpoint)
}

/// The URL a Unix socket's channel is given: HTTP/2 needs an authority,
/// and the connector ignores it.
const UNIX_AUTHORITY: &str = "http://localhost";

/// The socket path of a `unix:PATH` (or `unix://PATH`) URL.
fn unix_path(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("unix:")?;
    Some(std::path::PathBuf::from(
        path.strip_prefix("//").unwrap_or(path),
    ))
}

/// Connects every new transport of a channel to the Unix socket at `path`
/// (hand-written as tonic documents it: tonic has no Unix socket client of
/// its own).
fn unix_connector(
    path: std::path::PathBuf,
) -> impl tower::Service<
    http::Uri,
    Response = hyper_util::rt::TokioIo<tokio::net::UnixStream>,
    Error = std::io::Error,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |_: http::Uri| {
        let path = path.clone();
        async move {
            let stream = tokio::net::UnixStream::connect(path).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }
    })
}

impl Client {
    /// Connects to `url` (`http://host:port`, or `https://` for TLS) with
    /// default options.
    pub async fn connect(url: &str) -> Result<Client, ClientError> {
        Client::connect_with(url, ClientOptions::default()).await
    }

    /// Connects to `url` with `options`: `http://host:port`, `https://…`,
    /// or `unix:PATH` for a server's Unix domain socket on this host
    /// (`serve --grpc-uds PATH`).
    pub async fn connect_with(url: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let connected = match unix_path(url) {
            Some(path) => {
                endpoint(UNIX_AUTHORITY)?
                    .connect_with_connector(unix_connector(path))
                    .await
            }
            None => endpoint(url)?.connect().await,
        };
        let channel = connected.map_err(|source| ClientError::Connect {
            url: url.to_owned(),
            source,
        })?;
        Client::on_channel(channel, options)
    }

    /// A client of `url` that connects on its first call (and reconnects
    /// after the server went away), as a gateway in front of a server that
    /// may start later needs.
    pub fn connect_lazy(url: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let channel = match unix_path(url) {
            Some(path) => {
                endpoint(UNIX_AUTHORITY)?.connect_with_connector_lazy(unix_connector(path))
            }
            None => endpoint(url)?.connect_lazy(),
        };
        Client::on_channel(channel, options)
    }

    /// The transport channel, shared by every clone of this client (the
    /// Open Inference Protocol's client of the same server uses it too).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A client of `channel` with `options`.
    fn on_channel(channel: Channel, options: ClientOptions) -> Result<Client, ClientError> {
        let authorization = match &options.api_key {
            Some(key) => Some(
                MetadataValue::try_from(format!("Bearer {key}"))
                    .map_err(|_| ClientError::ApiKey)?,
            ),
            None => None,
        };
        Ok(Client::build(channel, options, authorization))
    }

    fn build(
        channel: Channel,
        options: ClientOptions,
        authorization: Option<AsciiMetadataValue>,
    ) -> Client {
        let interceptor = CallInterceptor {
            authorization: authorization.clone(),
            timeout: options.timeout,
        };
        let mut inner = TensorServiceClient::with_interceptor(channel.clone(), interceptor)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        if options.compression {
            inner = inner
                .send_compressed(CompressionEncoding::Zstd)
                .accept_compressed(CompressionEncoding::Zstd);
        }
        Client {
            channel,
            inner,
            options,
            authorization,
        }
    }

    /// This client on the same connection with the transfer settings of
    /// `options` (threshold, pieces, answer limit, compression, deadline),
    /// keeping its own authorization: a gateway sets them once and passes
    /// each caller's key on with [`Client::for_call`].
    pub(crate) fn configured(&self, options: ClientOptions) -> Client {
        Client::build(self.channel.clone(), options, self.authorization.clone())
    }

    /// This client on the same connection, sending `authorization` as it
    /// came (a gateway passes its caller's header on) and the deadline
    /// `timeout`.
    pub(crate) fn for_call(
        &self,
        authorization: Option<AsciiMetadataValue>,
        timeout: Option<Duration>,
    ) -> Client {
        let options = ClientOptions {
            timeout,
            ..self.options.clone()
        };
        Client::build(self.channel.clone(), options, authorization)
    }

    fn report(&self, bytes: u64) {
        if let Some(progress) = &self.options.progress {
            progress(bytes);
        }
    }

    /// Counts the payload bytes sent and reports the total so far.
    fn sent_counter(&self) -> impl FnMut(usize) + Send + 'static {
        let progress = self.options.progress.clone();
        let mut sent = 0u64;
        move |bytes| {
            sent += bytes as u64;
            if let Some(progress) = &progress {
                progress(sent);
            }
        }
    }

    /// The messages of a streamed upload (`wire::encode`): `header`, then
    /// `data` in pieces of at most [`ClientOptions::chunk_bytes`], reporting
    /// the bytes sent so far as each piece goes.
    fn upload<M: Framed>(
        &self,
        header: M::Header,
        data: impl Stream<Item = Bytes> + Send + 'static,
    ) -> impl Stream<Item = M> + Send + 'static {
        let mut count = self.sent_counter();
        wire::encode(header, data, self.options.chunk_bytes)
            .inspect(move |m: &M| count(m.data_len()))
    }

    /// Validates and describes a tensor on the server.
    pub async fn describe(&mut self, tensor: &Tensor) -> Result<pb::TensorInfo, ClientError> {
        if tensor.nbytes() <= self.options.stream_threshold {
            let answer = self
                .inner
                .describe(proto::tensor_to_wire(tensor.clone()))
                .await?;
            self.report(tensor.nbytes() as u64);
            return Ok(answer.into_inner());
        }
        let data = futures::stream::iter([tensor.data().clone()]);
        self.describe_pieces(tensor.dtype(), tensor.shape(), data)
            .await
    }

    /// `scipy.ndimage.gaussian_filter` of `tensor` on the server.
    pub async fn gaussian_filter(
        &mut self,
        tensor: &Tensor,
        params: &pb::GaussianParams,
    ) -> Result<Tensor, ClientError> {
        self.apply(tensor, &gaussian_filter_op(params)).await
    }

    /// The operation `params` names (`ops::Operation::to_wire` makes them
    /// from the parameters' common form) of `tensor`, on the server: unary,
    /// or streamed in pieces both ways when the tensor is large.
    pub async fn apply(
        &mut self,
        tensor: &Tensor,
        params: &pb::OpParams,
    ) -> Result<Tensor, ClientError> {
        let limits = self.answer_limits();
        if tensor.nbytes() <= self.options.stream_threshold {
            let request = pb::ApplyRequest {
                tensor: Some(proto::tensor_to_wire(tensor.clone())),
                params: Some(params.clone()),
                input_id: String::new(),
            };
            let answer = self.inner.apply(request).await?.into_inner();
            self.report(tensor.nbytes() as u64);
            return Ok(proto::tensor_from_wire(answer, &limits)?);
        }
        let start = pb::ApplyStart {
            header: Some(proto::header_to_wire(tensor.dtype(), tensor.shape())),
            params: Some(params.clone()),
            input_id: String::new(),
        };
        let messages =
            self.upload::<pb::ApplyChunk>(start, futures::stream::iter([tensor.data().clone()]));
        let answer = self.inner.apply_stream(messages).await?.into_inner();
        self.collect_tensor(answer, &limits).await
    }

    /// Describes a tensor of `dtype` and `shape` whose data arrives as
    /// `data` (pieces of any size, e.g. read from a file), in O(piece)
    /// client memory.
    pub async fn describe_pieces(
        &mut self,
        dtype: crate::tensor::DType,
        shape: &[usize],
        data: impl Stream<Item = Bytes> + Send + 'static,
    ) -> Result<pb::TensorInfo, ClientError> {
        let messages = self.upload::<pb::TensorChunk>(proto::header_to_wire(dtype, shape), data);
        Ok(self.inner.describe_stream(messages).await?.into_inner())
    }

    /// `scipy.ndimage.gaussian_filter` of a tensor of `dtype` and `shape`
    /// whose data arrives as `data` (pieces of any size, e.g. read from a
    /// file), streamed both ways: the server filters it in slabs as it
    /// arrives, and the returned [`FilterAnswer`] yields the result's pieces
    /// while the upload is still going. Client memory is O(piece), so a
    /// tensor larger than memory can go from file to file.
    ///
    /// A `data` stream that ends early (e.g. on a read error) makes the
    /// server refuse the call with `INVALID_ARGUMENT`.
    pub async fn gaussian_filter_pieces(
        &mut self,
        dtype: crate::tensor::DType,
        shape: &[usize],
        params: &pb::GaussianParams,
        data: impl Stream<Item = Bytes> + Send + 'static,
    ) -> Result<FilterAnswer, ClientError> {
        self.apply_pieces(dtype, shape, &gaussian_filter_op(params), data)
            .await
    }

    /// [`Client::gaussian_filter_pieces`] for any operation.
    pub async fn apply_pieces(
        &mut self,
        dtype: crate::tensor::DType,
        shape: &[usize],
        params: &pb::OpParams,
        data: impl Stream<Item = Bytes> + Send + 'static,
    ) -> Result<FilterAnswer, ClientError> {
        let start = pb::ApplyStart {
            header: Some(proto::header_to_wire(dtype, shape)),
            params: Some(params.clone()),
            input_id: String::new(),
        };
        let messages = self.upload::<pb::ApplyChunk>(start, data);
        let answer = self.inner.apply_stream(messages).await?.into_inner();
        FilterAnswer::read(answer, &self.answer_limits()).await
    }

    /// Gathers a streamed tensor answer: the header, then data pieces, into
    /// one buffer allocated once after the header is checked.
    async fn collect_tensor(
        &self,
        answer: tonic::Streaming<pb::TensorChunk>,
        limits: &TensorLimits,
    ) -> Result<Tensor, ClientError> {
        let (dtype, valid, mut pieces) = read_answer_header(answer, limits).await?;
        let mut buffer = BytesMut::with_capacity(valid.nbytes);
        while let Some(piece) = pieces.next().await.map_err(bad_stream)? {
            buffer.extend_from_slice(&piece);
            self.report(buffer.len() as u64);
        }
        Ok(Tensor::from_valid(dtype, valid, buffer.freeze())?)
    }

    /// Keeps `tensor` in the server's tensor store: its handle, for
    /// [`Client::apply_stored`], [`Client::apply_keep`], [`Client::get`]...
    pub async fn put(&mut self, tensor: &Tensor) -> Result<pb::StoredTensor, ClientError> {
        let data = futures::stream::iter([tensor.data().clone()]);
        self.put_pieces(tensor.dtype(), tensor.shape(), data).await
    }

    /// [`Client::put`] of a tensor whose data arrives as `data` (pieces of
    /// any size), in O(piece) client memory.
    pub async fn put_pieces(
        &mut self,
        dtype: crate::tensor::DType,
        shape: &[usize],
        data: impl Stream<Item = Bytes> + Send + 'static,
    ) -> Result<pb::StoredTensor, ClientError> {
        let messages = self.upload::<pb::TensorChunk>(proto::header_to_wire(dtype, shape), data);
        Ok(self.inner.put_tensor(messages).await?.into_inner())
    }

    /// The stored tensor `id`, downloaded whole.
    pub async fn get(&mut self, id: &str) -> Result<Tensor, ClientError> {
        let answer = self.inner.get_tensor(tensor_ref(id)).await?.into_inner();
        self.collect_tensor(answer, &self.answer_limits()).await
    }

    /// The stored tensor `id`, as its pieces arrive.
    pub async fn get_pieces(&mut self, id: &str) -> Result<FilterAnswer, ClientError> {
        let answer = self.inner.get_tensor(tensor_ref(id)).await?.into_inner();
        FilterAnswer::read(answer, &self.answer_limits()).await
    }

    /// What the store holds under `id` (dtype, shape, size, expiry).
    pub async fn stat(&mut self, id: &str) -> Result<pb::StoredTensor, ClientError> {
        Ok(self.inner.stat_tensor(tensor_ref(id)).await?.into_inner())
    }

    /// Deletes the stored tensor `id`; what it was.
    pub async fn delete(&mut self, id: &str) -> Result<pb::StoredTensor, ClientError> {
        Ok(self.inner.delete_tensor(tensor_ref(id)).await?.into_inner())
    }

    /// This key's stored tensors, least recently used first.
    pub async fn list(&mut self) -> Result<Vec<pb::StoredTensor>, ClientError> {
        let answer = self.inner.list_tensors(pb::ListTensorsRequest {}).await?;
        Ok(answer.into_inner().tensors)
    }

    /// [`Client::describe`] of the stored tensor `id`.
    pub async fn describe_stored(&mut self, id: &str) -> Result<pb::TensorInfo, ClientError> {
        Ok(self
            .inner
            .describe_stored(tensor_ref(id))
            .await?
            .into_inner())
    }

    /// The operation `params` names of the stored tensor `id`, its result
    /// sent back (streamed, so of any size).
    pub async fn apply_stored(
        &mut self,
        id: &str,
        params: &pb::OpParams,
    ) -> Result<Tensor, ClientError> {
        let answer = self.apply_stored_call(id, params).await?;
        self.collect_tensor(answer, &self.answer_limits()).await
    }

    /// [`Client::apply_stored`], the result as its pieces arrive.
    pub async fn apply_stored_pieces(
        &mut self,
        id: &str,
        params: &pb::OpParams,
    ) -> Result<FilterAnswer, ClientError> {
        let answer = self.apply_stored_call(id, params).await?;
        FilterAnswer::read(answer, &self.answer_limits()).await
    }

    /// `ApplyStream` of the stored tensor `id`: one start message naming it.
    async fn apply_stored_call(
        &mut self,
        id: &str,
        params: &pb::OpParams,
    ) -> Result<tonic::Streaming<pb::TensorChunk>, ClientError> {
        let start = pb::ApplyStart {
            header: None,
            params: Some(params.clone()),
            input_id: id.to_owned(),
        };
        let messages = futures::stream::iter([pb::ApplyChunk {
            part: Some(pb::apply_chunk::Part::Start(start)),
        }]);
        Ok(self.inner.apply_stream(messages).await?.into_inner())
    }

    /// The operation `params` names of the stored tensor `id`, its result
    /// kept in the store: its handle. A pipeline of these runs on the
    /// server, and only what [`Client::get`] fetches travels.
    pub async fn apply_keep(
        &mut self,
        id: &str,
        params: &pb::OpParams,
    ) -> Result<pb::StoredTensor, ClientError> {
        let request = pb::ApplyRequest {
            tensor: None,
            params: Some(params.clone()),
            input_id: id.to_owned(),
        };
        Ok(self.inner.apply_keep(request).await?.into_inner())
    }

    /// The largest answer this client accepts.
    fn answer_limits(&self) -> TensorLimits {
        TensorLimits {
            max_rank: usize::MAX,
            max_bytes: self.options.max_answer_bytes,
        }
    }

    /// Width, height and format of an encoded image, from its header.
    pub async fn image_size(
        &mut self,
        image: Bytes,
        filename: &str,
    ) -> Result<pb::ImageInfo, ClientError> {
        if image.len() <= self.options.stream_threshold {
            let request = pb::ImageRequest {
                data: image.clone(),
                filename: filename.to_owned(),
            };
            return Ok(self.inner.image_size(request).await?.into_inner());
        }
        let pieces = byte_pieces(image, self.options.chunk_bytes);
        self.image_size_pieces(filename, futures::stream::iter(pieces))
            .await
    }

    /// Width, height and format of an encoded image arriving as `data`
    /// (pieces of any size), through the streaming RPC: the server may
    /// answer from the header alone, and the rest is then not sent.
    pub async fn image_size_pieces(
        &mut self,
        filename: &str,
        data: impl Stream<Item = Bytes> + Send + 'static,
    ) -> Result<pb::ImageInfo, ClientError> {
        let mut filename = Some(filename.to_owned());
        let mut count = self.sent_counter();
        let messages = data.map(move |piece| {
            count(piece.len());
            pb::ImageChunk {
                data: piece,
                filename: filename.take().unwrap_or_default(),
            }
        });
        Ok(self.inner.image_size_stream(messages).await?.into_inner())
    }
}

/// The answer of [`Client::gaussian_filter_pieces`]: the result's dtype and
/// shape, then its data in pieces as the server sends them.
pub struct FilterAnswer {
    /// Element type of the result.
    pub dtype: crate::tensor::DType,
    /// Shape of the result.
    pub shape: Vec<usize>,
    /// Bytes of the result's data.
    pub nbytes: usize,
    pieces: wire::Pieces<tonic::Streaming<pb::TensorChunk>>,
}

impl FilterAnswer {
    /// Reads the answer's header (checked against `limits`); its data
    /// follows with [`FilterAnswer::next_piece`].
    async fn read(
        answer: tonic::Streaming<pb::TensorChunk>,
        limits: &TensorLimits,
    ) -> Result<FilterAnswer, ClientError> {
        let (dtype, valid, pieces) = read_answer_header(answer, limits).await?;
        Ok(FilterAnswer {
            dtype,
            shape: valid.shape,
            nbytes: valid.nbytes,
            pieces,
        })
    }

    /// The next piece of the result's data, or `None` once exactly
    /// [`FilterAnswer::nbytes`] have arrived and the answer has ended.
    pub async fn next_piece(&mut self) -> Result<Option<Bytes>, ClientError> {
        self.pieces.next().await.map_err(bad_stream)
    }
}

/// Reads and checks the header of a streamed answer: its dtype, its shape
/// (within `limits`) and the reader of its data.
async fn read_answer_header(
    mut answer: tonic::Streaming<pb::TensorChunk>,
    limits: &TensorLimits,
) -> Result<
    (
        crate::tensor::DType,
        crate::tensor::ValidShape,
        wire::Pieces<tonic::Streaming<pb::TensorChunk>>,
    ),
    ClientError,
> {
    let header = wire::read_header(&mut answer).await.map_err(bad_stream)?;
    let dtype = proto::dtype_from_wire(header.dtype)?;
    let valid = validate_shape(dtype, &header.shape, limits)?;
    let pieces = wire::Pieces::new(answer, valid.nbytes);
    Ok((dtype, valid, pieces))
}

/// An answer stream that cannot be read: the server's status as it is, a
/// malformed stream as [`ClientError::BadStream`].
fn bad_stream(e: DecodeError) -> ClientError {
    match e {
        DecodeError::Status(status) => ClientError::Status(status),
        DecodeError::Malformed(malformed) => ClientError::BadStream(malformed.to_string()),
    }
}

/// The message naming a stored tensor.
fn tensor_ref(id: &str) -> pb::TensorRef {
    pb::TensorRef { id: id.to_owned() }
}

/// `gaussian_filter`'s parameters as an `OpParams`.
fn gaussian_filter_op(params: &pb::GaussianParams) -> pb::OpParams {
    pb::OpParams {
        op: Some(pb::op_params::Op::GaussianFilter(params.clone())),
    }
}
