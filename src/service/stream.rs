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
use crate::wire::{self, DecodeError, Framed};

/// A stream that cannot be read: the transport's status as it is, a
/// malformed stream as `INVALID_ARGUMENT`.
fn refusal(e: DecodeError) -> ServiceError {
    match e {
        DecodeError::Status(status) => status.into(),
        DecodeError::Malformed(malformed) => ServiceError::Stream(malformed.to_string()),
    }
}

/// Reads the first message, which must be the header.
pub(crate) async fn read_first<M: Framed>(
    messages: &mut Streaming<M>,
) -> Result<M::Header, ServiceError> {
    wire::read_header(messages).await.map_err(refusal)
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

/// The data pieces after the header, checked against the declared size
/// (`wire::Pieces`) and, for bool tensors, for bytes other than 0 and 1.
pub(crate) struct DataPieces<M> {
    pieces: wire::Pieces<Streaming<M>>,
    dtype: DType,
}

impl<M: Framed> DataPieces<M> {
    /// Reads data pieces that must add up to `expected` bytes of `dtype`.
    pub(crate) fn new(messages: Streaming<M>, dtype: DType, expected: usize) -> DataPieces<M> {
        DataPieces {
            pieces: wire::Pieces::new(messages, expected),
            dtype,
        }
    }

    /// The next non-empty piece, or `None` once the stream ended with exactly
    /// the declared number of bytes.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, ServiceError> {
        let piece = self.pieces.next().await.map_err(refusal)?;
        if let Some(piece) = &piece
            && self.dtype == DType::Bool
        {
            check_bool_bytes(piece, self.pieces.received() - piece.len())?;
        }
        Ok(piece)
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
