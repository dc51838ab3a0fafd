//! The header-then-pieces protocol of the streaming RPCs, in one place: a
//! stream of messages whose first one carries the header (a
//! `TensorHeader`, or the `GaussianFilterStart` that wraps one) and whose
//! others carry consecutive pieces of the data, which must add up to the
//! length the header declares.
//!
//! [`encode`] (and [`try_encode`] for a fallible source) turns a header and
//! a byte source into that message sequence; [`read_header`] and [`Pieces`]
//! read it back, refusing every malformed sequence with a [`Malformed`]
//! that says what is wrong. The client, the gateway and the service all use
//! them, in both directions; what a header must satisfy (dtype, shape,
//! limits) stays with each of them, since their limits differ.

use std::convert::Infallible;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tonic::Status;

use crate::proto::pb;
use crate::tensor::byte_pieces;

#[cfg(test)]
mod tests;

/// What one message of a header-then-pieces stream carries.
pub(crate) enum Part<H> {
    /// The header (the first message only).
    Header(H),
    /// A piece of data.
    Data(Bytes),
    /// A message with no part set.
    Empty,
}

/// A message type of a header-then-pieces stream.
pub(crate) trait Framed: Sized + Send + 'static {
    /// What the first message carries.
    type Header: Send + 'static;
    /// The message carrying the header.
    fn header(header: Self::Header) -> Self;
    /// The message carrying a piece of data.
    fn data(piece: Bytes) -> Self;
    /// What the message carries.
    fn into_part(self) -> Part<Self::Header>;
    /// The bytes of data the message carries (0 for a header).
    fn data_len(&self) -> usize;
}

/// `Framed` for a message whose `part` oneof holds the header or the data.
macro_rules! framed {
    ($message:ty, $header:ty, $($part:ident)::+, $header_part:ident) => {
        impl Framed for $message {
            type Header = $header;
            fn header(header: $header) -> Self {
                Self {
                    part: Some($($part)::+::$header_part(header)),
                }
            }
            fn data(piece: Bytes) -> Self {
                Self {
                    part: Some($($part)::+::Data(piece)),
                }
            }
            fn into_part(self) -> Part<$header> {
                match self.part {
                    Some($($part)::+::$header_part(h)) => Part::Header(h),
                    Some($($part)::+::Data(d)) => Part::Data(d),
                    None => Part::Empty,
                }
            }
            fn data_len(&self) -> usize {
                match &self.part {
                    Some($($part)::+::Data(d)) => d.len(),
                    _ => 0,
                }
            }
        }
    };
}

framed!(
    pb::TensorChunk,
    pb::TensorHeader,
    pb::tensor_chunk::Part,
    Header
);
framed!(pb::ApplyChunk, pb::ApplyStart, pb::apply_chunk::Part, Start);
framed!(
    pb::GaussianFilterChunk,
    pb::GaussianFilterStart,
    pb::gaussian_filter_chunk::Part,
    Start
);

/// The message sequence of `header` and `data`: the header first, then one
/// message per piece of at most `piece_bytes` (at least 1). Larger pieces
/// are cut (slices, not copies), empty ones are left out, smaller ones go
/// as they are.
pub(crate) fn encode<M: Framed>(
    header: M::Header,
    data: impl Stream<Item = Bytes> + Send + 'static,
    piece_bytes: usize,
) -> impl Stream<Item = M> + Send + 'static {
    try_encode(header, data.map(Ok::<_, Infallible>), piece_bytes).map(|message| match message {
        Ok(message) => message,
        Err(never) => match never {},
    })
}

/// [`encode`] of a source that may fail: an error is passed on in its place
/// in the sequence (the header is always first).
pub(crate) fn try_encode<M: Framed, E: Send + 'static>(
    header: M::Header,
    data: impl Stream<Item = Result<Bytes, E>> + Send + 'static,
    piece_bytes: usize,
) -> impl Stream<Item = Result<M, E>> + Send + 'static {
    let data = data.flat_map(move |piece| {
        let messages: Box<dyn Iterator<Item = Result<M, E>> + Send> = match piece {
            Ok(piece) => Box::new(byte_pieces(piece, piece_bytes).map(|p| Ok(M::data(p)))),
            Err(e) => Box::new(std::iter::once(Err(e))),
        };
        futures::stream::iter(messages)
    });
    futures::stream::once(std::future::ready(Ok(M::header(header)))).chain(data)
}

/// Why a message sequence is not a header followed by exactly the data it
/// declares.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Malformed {
    /// The first message carries data.
    #[error("the first message must be the header, but it carries data")]
    DataFirst,
    /// The first message carries nothing.
    #[error("the first message must be the header, but it is empty")]
    EmptyFirst,
    /// The stream ended with no message.
    #[error("the stream ended before its header")]
    NoHeader,
    /// A message after the first carries a header.
    #[error("a second header arrived; only the first message may carry one")]
    SecondHeader,
    /// A message after the first carries nothing.
    #[error("a message carries neither header nor data")]
    EmptyMessage,
    /// More data arrived than the header declares.
    #[error(
        "data overruns the header: {end} bytes or more arrived, but the header declares {expected}"
    )]
    Overrun {
        /// The bytes received with the piece that overran.
        end: usize,
        /// The bytes the header declares.
        expected: usize,
    },
    /// The stream ended before all the declared data arrived.
    #[error("the stream ended after {received} data bytes, but the header declares {expected}")]
    Short {
        /// The bytes received.
        received: usize,
        /// The bytes the header declares.
        expected: usize,
    },
}

/// Why reading a header-then-pieces stream failed.
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// The transport failed, or the peer ended the call with a status.
    Status(Status),
    /// The messages do not follow the protocol.
    Malformed(Malformed),
}

impl From<Malformed> for DecodeError {
    fn from(malformed: Malformed) -> DecodeError {
        DecodeError::Malformed(malformed)
    }
}

/// Reads the first message of `messages`, which must be the header.
pub(crate) async fn read_header<M, S>(messages: &mut S) -> Result<M::Header, DecodeError>
where
    M: Framed,
    S: Stream<Item = Result<M, Status>> + Unpin,
{
    match messages.next().await {
        None => Err(Malformed::NoHeader.into()),
        Some(Err(status)) => Err(DecodeError::Status(status)),
        Some(Ok(message)) => match message.into_part() {
            Part::Header(header) => Ok(header),
            Part::Data(_) => Err(Malformed::DataFirst.into()),
            Part::Empty => Err(Malformed::EmptyFirst.into()),
        },
    }
}

/// The data pieces after the header, checked against the length it
/// declares: more is refused as soon as the piece that overruns arrives,
/// less when the stream ends.
pub(crate) struct Pieces<S> {
    messages: S,
    expected: usize,
    received: usize,
}

impl<M, S> Pieces<S>
where
    M: Framed,
    S: Stream<Item = Result<M, Status>> + Unpin,
{
    /// Reads the messages after the header, whose data must add up to
    /// `expected` bytes.
    pub(crate) fn new(messages: S, expected: usize) -> Pieces<S> {
        Pieces {
            messages,
            expected,
            received: 0,
        }
    }

    /// The data bytes returned so far (the last piece returned ends there).
    pub(crate) fn received(&self) -> usize {
        self.received
    }

    /// The next non-empty piece, or `None` once the stream has ended with
    /// exactly the declared number of bytes.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, DecodeError> {
        loop {
            let message = match self.messages.next().await {
                None if self.received < self.expected => {
                    return Err(Malformed::Short {
                        received: self.received,
                        expected: self.expected,
                    }
                    .into());
                }
                None => return Ok(None),
                Some(Err(status)) => return Err(DecodeError::Status(status)),
                Some(Ok(message)) => message,
            };
            let piece = match message.into_part() {
                Part::Data(piece) => piece,
                Part::Header(_) => return Err(Malformed::SecondHeader.into()),
                Part::Empty => return Err(Malformed::EmptyMessage.into()),
            };
            let end = self.received.saturating_add(piece.len());
            if end > self.expected {
                return Err(Malformed::Overrun {
                    end,
                    expected: self.expected,
                }
                .into());
            }
            if !piece.is_empty() {
                self.received = end;
                return Ok(Some(piece));
            }
        }
    }
}
