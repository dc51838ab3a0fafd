//! Reading a streamed tensor: the header first, then data pieces whose total
//! must equal what the header declares. Every malformed stream (no header, a
//! second header, too many or too few bytes, bad bool bytes) is refused with
//! `INVALID_ARGUMENT`, and whatever was buffered is dropped with the call.

use bytes::Bytes;
use tonic::Streaming;

use super::ServiceError;
use crate::describe::{Stats, StatsAccumulator};
use crate::proto::{self, pb};
use crate::tensor::{DType, TensorLimits, ValidShape, check_bool_bytes, validate_shape};

/// What one message of a tensor stream carries.
pub(crate) enum StreamPart<H> {
    /// The header (first message only).
    Header(H),
    /// A piece of data.
    Data(Bytes),
    /// A message with no part set.
    Empty,
}

/// A message type that carries either a header or data.
pub(crate) trait StreamMessage: Send + 'static {
    /// What the first message carries.
    type Header;
    /// Splits the message into its part.
    fn into_part(self) -> StreamPart<Self::Header>;
}

impl StreamMessage for pb::TensorChunk {
    type Header = pb::TensorHeader;
    fn into_part(self) -> StreamPart<pb::TensorHeader> {
        match self.part {
            Some(pb::tensor_chunk::Part::Header(h)) => StreamPart::Header(h),
            Some(pb::tensor_chunk::Part::Data(d)) => StreamPart::Data(d),
            None => StreamPart::Empty,
        }
    }
}

impl StreamMessage for pb::GaussianFilterChunk {
    type Header = pb::GaussianFilterStart;
    fn into_part(self) -> StreamPart<pb::GaussianFilterStart> {
        match self.part {
            Some(pb::gaussian_filter_chunk::Part::Start(s)) => StreamPart::Header(s),
            Some(pb::gaussian_filter_chunk::Part::Data(d)) => StreamPart::Data(d),
            None => StreamPart::Empty,
        }
    }
}

/// Reads the first message, which must be the header.
pub(crate) async fn read_first<M: StreamMessage>(
    messages: &mut Streaming<M>,
) -> Result<M::Header, ServiceError> {
    match messages.message().await?.map(M::into_part) {
        Some(StreamPart::Header(h)) => Ok(h),
        Some(StreamPart::Data(_)) => Err(ServiceError::Stream(
            "the first message must be the header, but it carries data".into(),
        )),
        Some(StreamPart::Empty) => Err(ServiceError::Stream(
            "the first message must be the header, but it is empty".into(),
        )),
        None => Err(ServiceError::Stream(
            "the stream ended before its header".into(),
        )),
    }
}

/// Checks a header's dtype and shape against the limits.
pub(crate) fn check_header(
    header: &pb::TensorHeader,
    limits: &TensorLimits,
) -> Result<(DType, ValidShape), ServiceError> {
    let dtype = proto::dtype_from_wire(header.dtype)?;
    let valid = validate_shape(dtype, &header.shape, limits)?;
    Ok((dtype, valid))
}

/// Reads and checks the header of a `TensorChunk` stream.
pub(crate) async fn read_tensor_header(
    messages: &mut Streaming<pb::TensorChunk>,
    limits: &TensorLimits,
) -> Result<(DType, ValidShape), ServiceError> {
    let header = read_first(messages).await?;
    check_header(&header, limits)
}

/// Runs short CPU work (folding or copying one piece) on this thread inside
/// [`tokio::task::block_in_place`], so the runtime moves this worker's other
/// tasks elsewhere meanwhile; a current-thread runtime (tests) runs it inline.
pub(crate) fn off_runtime<T>(work: impl FnOnce() -> T) -> T {
    if tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::MultiThread
    {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// The data pieces after the header, checked against the declared size.
pub(crate) struct DataPieces<M> {
    messages: Streaming<M>,
    dtype: DType,
    expected: usize,
    received: usize,
}

impl<M: StreamMessage> DataPieces<M> {
    /// Reads data pieces that must add up to `expected` bytes of `dtype`.
    pub(crate) fn new(messages: Streaming<M>, dtype: DType, expected: usize) -> DataPieces<M> {
        DataPieces {
            messages,
            dtype,
            expected,
            received: 0,
        }
    }

    /// The next non-empty piece, or `None` once the stream ended with exactly
    /// the declared number of bytes.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, ServiceError> {
        loop {
            let Some(message) = self.messages.message().await? else {
                if self.received < self.expected {
                    return Err(ServiceError::Stream(format!(
                        "the stream ended after {} data bytes, but the header declares {}",
                        self.received, self.expected
                    )));
                }
                return Ok(None);
            };
            let piece = match message.into_part() {
                StreamPart::Data(piece) => piece,
                StreamPart::Header(_) => {
                    return Err(ServiceError::Stream(
                        "a second header arrived; only the first message may carry one".into(),
                    ));
                }
                StreamPart::Empty => {
                    return Err(ServiceError::Stream(
                        "a message carries neither header nor data".into(),
                    ));
                }
            };
            let end = self.received.saturating_add(piece.len());
            if end > self.expected {
                return Err(ServiceError::Stream(format!(
                    "data overruns the header: {end} bytes or more arrived, but the header declares {}",
                    self.expected
                )));
            }
            if self.dtype == DType::Bool {
                check_bool_bytes(&piece, self.received)?;
            }
            self.received = end;
            if !piece.is_empty() {
                return Ok(Some(piece));
            }
        }
    }

    /// The statistics of the data, summarised piece by piece as it arrives,
    /// in O(piece) memory.
    ///
    /// Each piece is folded on the thread that received it, inside
    /// [`tokio::task::block_in_place`] (the runtime moves this worker's other
    /// tasks elsewhere meanwhile), and dropped at once, so tonic reuses its
    /// warm decode buffer for the next message. Handing the pieces to a
    /// blocking thread through a queue (the earlier design) kept two or three
    /// pieces alive, so every message went to a fresh buffer, and cost a
    /// thread wake-up per piece: the 256 MiB upload ran at 0.5–0.65 x plain
    /// tonic that way, 0.9–1.0 x this way (BENCHMARKS.md, "Streaming"). A
    /// current-thread runtime (tests) folds inline.
    pub(crate) async fn summarise(mut self) -> Result<Option<Stats>, ServiceError> {
        let mut acc = StatsAccumulator::new(self.dtype);
        while let Some(piece) = self.next().await? {
            off_runtime(|| acc.update(&piece));
        }
        Ok(acc.finish())
    }
}
