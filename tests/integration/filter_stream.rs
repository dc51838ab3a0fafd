//! `GaussianFilterStream` filters in slabs while the upload arrives: the
//! first result piece comes back before the last input piece is sent, a
//! client that stops reading stalls its own upload instead of growing the
//! server's memory, and a stream larger than the memory budget is filtered
//! exactly while the server's peak memory stays far below input + result.
//!
//! The large stream's size is `TENSORWIRE_TEST_STREAM_MIB` (default 512:
//! 45-75 s in the dev build on two shared cores; the 2 GiB run is
//! quoted in BENCHMARKS.md).

use crate::common;
use crate::common::gateway;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tensorwire::config::ServeConfig;
use tensorwire::filter::{GaussianParams, gaussian_filter};
use tensorwire::proto::pb::{self, gaussian_filter_chunk::Part, tensor_chunk};
use tensorwire::tensor::{DType, Tensor, TensorLimits};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Element `i` of row `row` of the test tensors: reproducible from its
/// position alone, so a client can regenerate any rows.
fn value(row: usize, i: usize) -> f32 {
    let h = (row.wrapping_mul(0x9e37_79b9) ^ i.wrapping_mul(2_654_435_761)) % 10_007;
    h as f32 / 13.0 - 300.0
}

/// Rows `rows` of a float32 tensor whose rows hold `row_len` elements.
fn rows_bytes(rows: std::ops::Range<usize>, row_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * row_len * 4);
    for row in rows {
        for i in 0..row_len {
            out.extend_from_slice(&value(row, i).to_le_bytes());
        }
    }
    out
}

fn tensor(shape: &[usize], data: Vec<u8>) -> Tensor {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    Tensor::new(
        DType::Float32,
        &shape,
        Bytes::from(data),
        &TensorLimits::default(),
    )
    .unwrap()
}

fn start(shape: &[usize], sigma: f64) -> pb::GaussianFilterChunk {
    pb::GaussianFilterChunk {
        part: Some(Part::Start(pb::GaussianFilterStart {
            header: Some(tensorwire::proto::header_to_wire(DType::Float32, shape)),
            params: Some(pb::GaussianParams {
                sigma: vec![sigma],
                ..Default::default()
            }),
        })),
    }
}

fn data(piece: Vec<u8>) -> pb::GaussianFilterChunk {
    pb::GaussianFilterChunk {
        part: Some(Part::Data(Bytes::from(piece))),
    }
}

/// The next data piece of an answer (`None` at its end); panics on a header.
async fn next_piece(answer: &mut tonic::Streaming<pb::TensorChunk>) -> Option<Bytes> {
    let message = answer
        .message()
        .await
        .expect("the answer is not an error")?;
    match message.part {
        Some(tensor_chunk::Part::Data(d)) => Some(d),
        other => panic!("expected data, got {other:?}"),
    }
}

async fn header(answer: &mut tonic::Streaming<pb::TensorChunk>) -> pb::TensorHeader {
    match answer.message().await.unwrap().unwrap().part {
        Some(tensor_chunk::Part::Header(h)) => h,
        other => panic!("expected the header, got {other:?}"),
    }
}

/// Opens a `GaussianFilterStream` call fed from `requests`; its answer.
async fn open_stream(
    client: &mut pb::tensor_service_client::TensorServiceClient<tonic::transport::Channel>,
    requests: mpsc::Receiver<pb::GaussianFilterChunk>,
) -> tonic::Streaming<pb::TensorChunk> {
    client
        .gaussian_filter_stream(ReceiverStream::new(requests))
        .await
        .unwrap()
        .into_inner()
}

fn with_slabs(slab_bytes: u64) -> ServeConfig {
    let mut config = ServeConfig::ephemeral();
    config.limits.stream_slab_bytes = slab_bytes;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_result_piece_arrives_before_the_last_input_piece_is_sent() {
    let server = common::start_server_with(with_slabs(256 << 10)).await;
    let shape = [256, 64, 64];
    let row_len = 64 * 64;
    let input = rows_bytes(0..256, row_len);
    let (send, requests) = mpsc::channel(4);
    send.send(start(&shape, 2.0)).await.unwrap();
    let mut answer = open_stream(&mut server.client().await, requests).await;
    // The header comes back before any data is sent.
    let head = tokio::time::timeout(Duration::from_secs(10), header(&mut answer))
        .await
        .expect("the header comes before the data");
    assert_eq!(head.shape, vec![256, 64, 64]);
    let pieces: Vec<&[u8]> = input.chunks(64 << 10).collect();
    let (last, most) = pieces.split_last().unwrap();
    for piece in most {
        send.send(data(piece.to_vec())).await.unwrap();
    }
    let first = tokio::time::timeout(Duration::from_secs(30), next_piece(&mut answer))
        .await
        .expect("a result piece arrives while the last input piece is unsent")
        .expect("data");
    send.send(data(last.to_vec())).await.unwrap();
    drop(send);
    let mut got = first.to_vec();
    while let Some(piece) = next_piece(&mut answer).await {
        got.extend_from_slice(&piece);
    }
    let want = gaussian_filter(
        &tensor(&shape, input),
        &GaussianParams::with_sigma(2.0),
        &Default::default(),
    )
    .unwrap();
    assert!(got == want.data()[..], "the streamed result differs");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_stalls_its_upload() {
    let server = common::start_server_with(with_slabs(1 << 20)).await;
    let rows = 2048;
    let row_len = 128 * 128;
    let shape = [rows, 128, 128];
    let total = rows * row_len * 4; // 128 MiB
    let sent = Arc::new(AtomicUsize::new(0));
    let (send, requests) = mpsc::channel(1);
    send.send(start(&shape, 1.0)).await.unwrap();
    let producer = {
        let sent = Arc::clone(&sent);
        tokio::spawn(async move {
            for first in (0..rows).step_by(16) {
                let piece = rows_bytes(first..first + 16, row_len);
                let len = piece.len();
                if send.send(data(piece)).await.is_err() {
                    return;
                }
                sent.fetch_add(len, Ordering::SeqCst);
            }
        })
    };
    let mut answer = open_stream(&mut server.client().await, requests).await;
    header(&mut answer).await;
    // Not reading: the upload must come to a halt, far from its end.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = usize::MAX;
    let mut still_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = sent.load(Ordering::SeqCst);
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() > Duration::from_secs(2) {
            break;
        }
        assert!(Instant::now() < deadline, "the upload never stalled");
    }
    assert!(
        last < total / 4,
        "{last} of {total} bytes went up while the answer was not read"
    );
    // Reading again lets it finish.
    let mut received = 0;
    while let Some(piece) = next_piece(&mut answer).await {
        received += piece.len();
    }
    producer.await.unwrap();
    assert_eq!(received, total);
    assert_eq!(sent.load(Ordering::SeqCst), total);
    server.stop().await;
}

/// Checks output rows `rows` against the engine run on those rows plus a
/// halo of `halo` rows on each side (clipped at the tensor's ends, where the
/// sub-tensor's reflect boundary is the real one): the slab principle,
/// written here independently of the server's slab code.
fn check_rows(rows: std::ops::Range<usize>, n: usize, row_len: usize, halo: usize, got: &[u8]) {
    let lo = rows.start.saturating_sub(halo);
    let hi = (rows.end + halo).min(n);
    let sub = tensor(&[hi - lo, 256, 256], rows_bytes(lo..hi, row_len));
    let want =
        gaussian_filter(&sub, &GaussianParams::with_sigma(2.0), &Default::default()).unwrap();
    let from = (rows.start - lo) * row_len * 4;
    let want = &want.data()[from..from + rows.len() * row_len * 4];
    assert!(got == want, "output rows {rows:?} differ from the engine's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_larger_than_the_budget_is_filtered_exactly_in_bounded_memory() {
    let mib: usize = std::env::var("TENSORWIRE_TEST_STREAM_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let row_len = 256 * 256;
    let row_bytes = row_len * 4;
    let n = (mib << 20) / row_bytes;
    let shape = [n, 256, 256];
    let (server, url) =
        common::spawn_server_process(&["--memory-budget", "512MiB", "--max-tensor-bytes", "1TiB"])
            .await;
    let idle = common::peak_rss_mib(server.pid());
    let mut client =
        tensorwire::proto::pb::tensor_service_client::TensorServiceClient::connect(url)
            .await
            .unwrap();
    let (send, requests) = mpsc::channel(4);
    send.send(start(&shape, 2.0)).await.unwrap();
    let producer = tokio::spawn(async move {
        for first in (0..n).step_by(4) {
            let piece = rows_bytes(first..(first + 4).min(n), row_len);
            send.send(data(piece)).await.unwrap();
        }
    });
    let mut answer = open_stream(&mut client, requests).await;
    header(&mut answer).await;
    // σ 2 at truncate 4: radius 8 along axis 0.
    let (halo, block) = (8, 64);
    let mut pending = Vec::new();
    let mut done = 0;
    while let Some(piece) = next_piece(&mut answer).await {
        pending.extend_from_slice(&piece);
        while pending.len() >= block * row_bytes
            || (done + pending.len() / row_bytes == n && !pending.is_empty())
        {
            let rows = (pending.len() / row_bytes).min(block);
            let got: Vec<u8> = pending.drain(..rows * row_bytes).collect();
            check_rows(done..done + rows, n, row_len, halo, &got);
            done += rows;
        }
    }
    producer.await.unwrap();
    assert_eq!(done, n, "every row came back");
    let peak = common::peak_rss_mib(server.pid());
    let bound = (mib as u64 / 2 + 128).min(1024);
    eprintln!(
        "{mib} MiB streamed: server peak RSS {peak} MiB (idle {idle} MiB), bound {bound} MiB"
    );
    assert!(
        peak < bound,
        "the server's peak RSS was {peak} MiB for a {mib} MiB stream (bound {bound} MiB)"
    );
}

/// A `.npy` POST to the gateway whose body is the pieces sent into the
/// returned channel, as they are sent; the request goes once it is polled.
fn post_npy_in_pieces(
    gw: &gateway::Gateway,
    path: &str,
) -> (
    mpsc::Sender<Result<Bytes, std::io::Error>>,
    impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + use<>,
) {
    let (send, body) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let request = gw
        .http
        .post(gw.url(path))
        .header("content-type", "application/x-npy")
        .body(reqwest::Body::wrap_stream(ReceiverStream::new(body)))
        .send();
    (send, request)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_answers_a_large_npy_while_its_body_is_still_arriving() {
    let gw = gateway::start_with(|c| c.limits.stream_slab_bytes = 256 << 10).await;
    let shape = [512, 64, 64]; // 8 MiB: above the gateway's 4 MiB stream threshold
    let input = tensor(&shape, rows_bytes(0..512, 64 * 64));
    let file = gateway::npy(&input);
    let pieces: Vec<Bytes> = file.chunks(64 << 10).map(Bytes::copy_from_slice).collect();
    let (last, most) = pieces.split_last().unwrap();
    let (send, request) = post_npy_in_pieces(&gw, "/v1/gaussian_filter?sigma=2");
    let answer = tokio::spawn(async move {
        let mut answer = request.await.expect("the gateway answers");
        assert_eq!(answer.status(), 200);
        let first = answer.chunk().await.unwrap().expect("a first piece");
        (answer, first)
    });
    for piece in most {
        send.send(Ok(piece.clone())).await.unwrap();
    }
    // The last piece of the body waits for the answer's first piece.
    let (mut answer, first) = tokio::time::timeout(Duration::from_secs(30), answer)
        .await
        .expect("the answer starts while the last body piece is unsent")
        .unwrap();
    send.send(Ok(last.clone())).await.unwrap();
    drop(send);
    let mut got = first.to_vec();
    while let Some(piece) = answer.chunk().await.unwrap() {
        got.extend_from_slice(&piece);
    }
    let want = gaussian_filter(
        &input,
        &GaussianParams::with_sigma(2.0),
        &Default::default(),
    )
    .unwrap();
    let got = gateway::read_npy(&got);
    assert!(
        got.data()[..] == want.data()[..],
        "the gateway's streamed result differs"
    );
}

/// A gateway client that sends a large `.npy` and does not read the answer:
/// the gateway holds at most `--answer-buffer-bytes` of the answer, so the
/// service stops, and with it the upload, long before the body is sent.
/// When the client reads, the rest goes through and the result is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_client_that_stops_reading_stalls_its_upload() {
    let gw = gateway::start_with(|c| {
        c.gateway.answer_buffer_bytes = 1 << 20;
        c.limits.stream_slab_bytes = 256 << 10;
    })
    .await;
    // 128 MiB: several times what the sockets, windows and pipelines
    // between the client and the engine hold (tens of MiB on loopback).
    let shape = [8192, 64, 64];
    let input = tensor(&shape, rows_bytes(0..8192, 64 * 64));
    let file = gateway::npy(&input);
    let total = file.len();
    let pieces: Vec<Bytes> = file.chunks(256 << 10).map(Bytes::copy_from_slice).collect();
    drop(file);
    let (send, request) = post_npy_in_pieces(&gw, "/v1/gaussian_filter?sigma=1&axes=0");
    let (start_reading, reading) = tokio::sync::oneshot::channel::<()>();
    let answer = tokio::spawn(async move {
        let mut answer = request.await.expect("the gateway answers");
        assert_eq!(answer.status(), 200);
        reading.await.unwrap();
        let mut got = Vec::new();
        while let Some(piece) = answer.chunk().await.unwrap() {
            got.extend_from_slice(&piece);
        }
        got
    });
    let mut sent = 0;
    let mut pieces = pieces.into_iter().peekable();
    while let Some(piece) = pieces.peek() {
        let len = piece.len();
        match tokio::time::timeout(Duration::from_secs(3), send.send(Ok(piece.clone()))).await {
            Ok(result) => {
                result.unwrap();
                sent += len;
                pieces.next();
            }
            Err(_) => break, // stalled
        }
    }
    eprintln!(
        "{} of {} MiB went up while the answer was not read",
        sent >> 20,
        total >> 20
    );
    assert!(
        sent < total / 2,
        "{sent} of {total} bytes went up while the answer was not read: the gateway buffered it"
    );
    start_reading.send(()).unwrap();
    for piece in pieces {
        send.send(Ok(piece)).await.unwrap();
    }
    drop(send);
    let got = tokio::time::timeout(Duration::from_secs(120), answer)
        .await
        .expect("the answer completes once it is read")
        .unwrap();
    let params = GaussianParams {
        sigma: vec![1.0],
        axes: vec![0],
        ..Default::default()
    };
    let want = gaussian_filter(&input, &params, &Default::default()).unwrap();
    assert!(
        gateway::read_npy(&got).data()[..] == want.data()[..],
        "the gateway's streamed result differs"
    );
}
