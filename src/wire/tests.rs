//! The protocol alone: encoding then decoding gives back any header and
//! data, whatever the piece size; every malformed sequence is refused with
//! the error that names it.

use bytes::Bytes;
use futures::StreamExt;
use futures::executor::block_on;
use proptest::prelude::*;
use tonic::{Code, Status};

use super::*;

fn header(dtype: i32, shape: Vec<u64>) -> pb::TensorHeader {
    pb::TensorHeader { dtype, shape }
}

/// Decodes `messages` whose data must be `expected` bytes: the header and
/// the pieces, or the first error.
fn decode<M: Framed>(
    messages: Vec<Result<M, Status>>,
    expected: usize,
) -> Result<(M::Header, Vec<Bytes>), DecodeError> {
    block_on(async {
        let mut messages = futures::stream::iter(messages);
        let header = read_header(&mut messages).await?;
        let mut pieces = Pieces::new(messages, expected);
        let mut out = Vec::new();
        while let Some(piece) = pieces.next().await? {
            out.push(piece);
            assert_eq!(pieces.received(), out.iter().map(Bytes::len).sum::<usize>());
        }
        Ok((header, out))
    })
}

fn malformed<M: Framed>(messages: Vec<M>, expected: usize) -> Malformed {
    match decode(messages.into_iter().map(Ok).collect(), expected) {
        Err(DecodeError::Malformed(m)) => m,
        Err(DecodeError::Status(s)) => panic!("a status, not a refusal: {s:?}"),
        Ok(_) => panic!("a malformed sequence was accepted"),
    }
}

fn h() -> pb::TensorChunk {
    pb::TensorChunk::header(header(1, vec![2, 3]))
}

fn d(n: usize) -> pb::TensorChunk {
    pb::TensorChunk::data(Bytes::from(vec![7u8; n]))
}

fn empty() -> pb::TensorChunk {
    pb::TensorChunk { part: None }
}

proptest! {
    #[test]
    fn encode_then_decode_round_trips(
        dtype in 0i32..20,
        shape in proptest::collection::vec(0u64..1000, 0..5),
        data in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(0usize..600, 0..6),
        piece_bytes in 1usize..700,
        filter in any::<bool>(),
    ) {
        // The source's own pieces: `data` cut at `cuts` (empty ones too).
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort_unstable();
        let source: Vec<Bytes> = cuts
            .windows(2)
            .map(|w| Bytes::copy_from_slice(&data[w[0]..w[1]]))
            .collect();
        let head = header(dtype, shape);
        let received = if filter {
            let start = pb::GaussianFilterStart {
                header: Some(head),
                params: None,
            };
            round_trip::<pb::GaussianFilterChunk>(start, source, piece_bytes, data.len())
        } else {
            round_trip::<pb::TensorChunk>(head, source, piece_bytes, data.len())
        };
        prop_assert_eq!(received.concat(), data);
    }

    /// Whatever the pieces, one byte too many or too few is refused.
    #[test]
    fn a_wrong_length_is_refused(
        len in 0usize..300,
        piece_bytes in 1usize..50,
        more in any::<bool>(),
    ) {
        let data = Bytes::from(vec![1u8; len + usize::from(more)]);
        let expected = if more { len } else { len + 1 };
        let messages: Vec<pb::TensorChunk> =
            block_on(encode::<pb::TensorChunk>(header(1, vec![]), futures::stream::once(async { data }), piece_bytes).collect());
        let refusal = malformed(messages, expected);
        if more {
            prop_assert!(matches!(refusal, Malformed::Overrun { expected: e, .. } if e == len), "{refusal:?}");
        } else {
            prop_assert_eq!(refusal, Malformed::Short { received: len, expected });
        }
    }
}

/// Encodes `header` and `source`, checks the messages' pieces, decodes
/// them, checks the header came back, and returns the data pieces.
fn round_trip<M: Framed + Clone>(
    header: M::Header,
    source: Vec<Bytes>,
    piece_bytes: usize,
    len: usize,
) -> Vec<Bytes>
where
    M::Header: Clone + PartialEq + std::fmt::Debug,
{
    let messages: Vec<M> =
        block_on(encode::<M>(header.clone(), futures::stream::iter(source), piece_bytes).collect());
    check_pieces(&messages, piece_bytes);
    let (got, pieces) = decode(messages.into_iter().map(Ok).collect(), len).unwrap();
    assert_eq!(got, header);
    pieces
}

/// Every message but the first is data, non-empty, of at most `piece_bytes`.
fn check_pieces<M: Framed + Clone>(messages: &[M], piece_bytes: usize) {
    assert!(matches!(messages[0].clone().into_part(), Part::Header(_)));
    for message in &messages[1..] {
        match message.clone().into_part() {
            Part::Data(piece) => assert!(!piece.is_empty() && piece.len() <= piece_bytes),
            _ => panic!("a message after the header carries no data"),
        }
    }
}

#[test]
fn malformed_sequences_are_named() {
    let cases: Vec<(&str, Vec<pb::TensorChunk>, usize, Malformed)> = vec![
        ("no message", vec![], 0, Malformed::NoHeader),
        ("data first", vec![d(4), h()], 4, Malformed::DataFirst),
        ("empty first", vec![empty(), d(4)], 4, Malformed::EmptyFirst),
        (
            "two headers",
            vec![h(), d(2), h(), d(2)],
            4,
            Malformed::SecondHeader,
        ),
        (
            "empty message",
            vec![h(), d(2), empty(), d(2)],
            4,
            Malformed::EmptyMessage,
        ),
        (
            "overrun",
            vec![h(), d(3), d(3)],
            4,
            Malformed::Overrun {
                end: 6,
                expected: 4,
            },
        ),
        (
            "short",
            vec![h(), d(3)],
            4,
            Malformed::Short {
                received: 3,
                expected: 4,
            },
        ),
        (
            "header alone",
            vec![h()],
            1,
            Malformed::Short {
                received: 0,
                expected: 1,
            },
        ),
    ];
    for (name, messages, expected, refusal) in cases {
        assert_eq!(malformed(messages, expected), refusal, "{name}");
    }
}

#[test]
fn refusals_keep_their_messages() {
    // Clients and tests match these words (tests/integration/describe.rs, filter_rpc.rs).
    assert_eq!(
        Malformed::Short {
            received: 7,
            expected: 8
        }
        .to_string(),
        "the stream ended after 7 data bytes, but the header declares 8"
    );
    assert_eq!(
        Malformed::Overrun {
            end: 9,
            expected: 8
        }
        .to_string(),
        "data overruns the header: 9 bytes or more arrived, but the header declares 8"
    );
    assert_eq!(
        Malformed::SecondHeader.to_string(),
        "a second header arrived; only the first message may carry one"
    );
}

#[test]
fn empty_pieces_are_skipped_and_exact_data_ends_cleanly() {
    let (_, pieces) = decode(
        vec![Ok(h()), Ok(d(0)), Ok(d(2)), Ok(d(0)), Ok(d(2)), Ok(d(0))],
        4,
    )
    .unwrap();
    assert_eq!(pieces.iter().map(Bytes::len).collect::<Vec<_>>(), [2, 2]);
}

#[test]
fn a_status_is_passed_on() {
    let status = || Err(Status::new(Code::Unavailable, "gone"));
    for messages in [vec![status()], vec![Ok(h()), Ok(d(1)), status()]] {
        match decode(messages, 4) {
            Err(DecodeError::Status(s)) => assert_eq!(s.code(), Code::Unavailable),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
}

#[test]
fn try_encode_passes_errors_on_in_place() {
    let source =
        futures::stream::iter([Ok(Bytes::from_static(b"abcde")), Err("x"), Ok(Bytes::new())]);
    let messages: Vec<Result<pb::TensorChunk, &str>> =
        block_on(try_encode::<pb::TensorChunk, _>(header(1, vec![5]), source, 2).collect());
    let kinds: Vec<String> = messages
        .into_iter()
        .map(|m| match m.map(Framed::into_part) {
            Ok(Part::Header(_)) => "h".to_owned(),
            Ok(Part::Data(p)) => p.len().to_string(),
            Ok(Part::Empty) => "empty".to_owned(),
            Err(e) => e.to_owned(),
        })
        .collect();
    assert_eq!(kinds, ["h", "2", "2", "1", "x"]);
}
