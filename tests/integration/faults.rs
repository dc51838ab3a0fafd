//! Faults: a client that goes away mid-download, an upstream that vanishes
//! under the gateway and comes back, and a shutdown (what SIGTERM triggers)
//! while requests are in flight.

use crate::common;
use crate::common::gateway;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use tensorwire::config::ServeConfig;
use tensorwire::proto::pb::{self, gaussian_filter_chunk::Part};
use tonic::Code;

fn filter_messages(
    elements: usize,
    pause_every_mib: Option<Duration>,
) -> impl futures::Stream<Item = pb::GaussianFilterChunk> + Send + 'static {
    let start = pb::GaussianFilterChunk {
        part: Some(Part::Start(pb::GaussianFilterStart {
            header: Some(pb::TensorHeader {
                dtype: pb::DType::DtypeFloat32 as i32,
                shape: vec![elements as u64],
            }),
            params: Some(pb::GaussianParams {
                sigma: vec![1.0],
                ..Default::default()
            }),
        })),
    };
    let data = Bytes::from(vec![0u8; elements * 4]);
    let pieces = (0..data.len())
        .step_by(1 << 20)
        .map(move |i| pb::GaussianFilterChunk {
            part: Some(Part::Data(data.slice(i..(i + (1 << 20)).min(data.len())))),
        });
    futures::stream::iter([start]).chain(futures::stream::iter(pieces).then(
        move |piece| async move {
            if let Some(pause) = pause_every_mib {
                tokio::time::sleep(pause).await;
            }
            piece
        },
    ))
}

/// A server with room in its budget for one 64 MiB float32 filter (input +
/// result), not two, and a 1 s body-idle timeout; the filter's element count.
async fn one_filter_server() -> (common::TestServer, usize) {
    let mut config = ServeConfig::ephemeral();
    config.limits.memory_budget = 160 << 20;
    config.timeouts.body_read_timeout_secs = 1;
    (common::start_server_with(config).await, 16 << 20)
}

/// A client that reads the header and one piece and then drops its answer
/// while its upload is still being sent on a connection it keeps using: its
/// HTTP/2 stream is not reset (the upload still holds it), and back-pressure
/// stalls the server's answer and then the upload. Nothing arrives and
/// nothing is read, so the call ends when the body-idle timeout
/// (`--body-read-timeout-secs`, here 1 s) passes on the answer: the
/// reservation comes back then, not when the connection closes.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_gone_mid_download_frees_its_reservation() {
    let (server, elements) = one_filter_server().await;
    let mut client = server.client().await;

    let answer = client
        .gaussian_filter_stream(filter_messages(elements, None))
        .await
        .unwrap();
    let mut answer = answer.into_inner();
    // Read the header and one piece, then go away.
    assert!(answer.message().await.unwrap().is_some());
    assert!(answer.message().await.unwrap().is_some());
    // While the download is open, the budget is held.
    let refused = client
        .gaussian_filter_stream(filter_messages(elements, None))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    drop(answer);

    let started = Instant::now();
    loop {
        match client
            .gaussian_filter_stream(filter_messages(elements, None))
            .await
        {
            Ok(answer) => {
                let mut answer = answer.into_inner();
                let mut bytes = 0;
                while let Some(chunk) = answer.message().await.unwrap() {
                    if let Some(pb::tensor_chunk::Part::Data(piece)) = chunk.part {
                        bytes += piece.len();
                    }
                }
                assert_eq!(bytes, elements * 4);
                break;
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                // The idle timeout (1 s) and a margin for a loaded machine.
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "the abandoned download kept its reservation: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
}

/// A client that stops reading its answer (and keeps it) is ended after the
/// body-idle timeout: its reservation comes back, and when it reads again it
/// gets what was queued, then `DEADLINE_EXCEEDED` naming the flag.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_is_ended_after_the_idle_timeout() {
    let (server, elements) = one_filter_server().await;
    let mut client = server.client().await;

    let mut answer = client
        .gaussian_filter_stream(filter_messages(elements, None))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.message().await.unwrap().is_some());
    // Not reading: the reservation is held, then freed after about 1 s.
    let started = Instant::now();
    let mut refused_once = false;
    loop {
        match client
            .gaussian_filter_stream(filter_messages(elements, None))
            .await
        {
            Ok(_) => break,
            Err(status) if status.code() == Code::ResourceExhausted => {
                refused_once = true;
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "the stalled download kept its reservation: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    assert!(
        refused_once,
        "the budget was free while the download was open"
    );
    // Reading again: the pieces already queued, then the error.
    let status = loop {
        match answer.message().await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stalled answer ended cleanly"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("--body-read-timeout-secs"),
        "{}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_answers_503_while_its_upstream_is_gone_and_recovers() {
    let server = common::start_server().await;
    let grpc_addr = server.grpc_addr;
    let (base, _token) =
        gateway::start_gateway_alone(&format!("http://{grpc_addr}"), Default::default()).await;
    let http = gateway::client();
    let describe = || {
        http.post(format!("{base}/receive_list"))
            .json(&serde_json::json!({"array_list": [1, 2]}))
            .send()
    };
    assert_eq!(describe().await.unwrap().status(), 200);

    server.stop().await;
    let answer = describe().await.unwrap();
    let status = answer.status();
    let retry_after = answer.headers().get("retry-after").cloned();
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry_after.unwrap(), "1");
    assert_eq!(body["code"], "UNAVAILABLE");

    // The upstream comes back on the same address: the gateway recovers.
    let mut config = ServeConfig::ephemeral();
    config.grpc_addr = grpc_addr;
    let _back = common::start_server_with(config).await;
    let started = Instant::now();
    loop {
        let status = describe().await.unwrap().status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the gateway did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_lets_in_flight_calls_finish_and_refuses_new_ones() {
    let server = tensorwire::server::start(&ServeConfig::ephemeral())
        .await
        .unwrap();
    let grpc_addr = server.grpc_addr;
    let token = server.shutdown_token();
    let channel = tonic::transport::Channel::from_shared(format!("http://{grpc_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::tensor_service_client::TensorServiceClient::new(channel)
        .max_decoding_message_size(usize::MAX);

    // An upload that takes about a second (16 pieces, 60 ms apart).
    let elements = 4 << 20;
    let mut in_flight = client.clone();
    let call = tokio::spawn(async move {
        let answer = in_flight
            .gaussian_filter_stream(filter_messages(elements, Some(Duration::from_millis(60))))
            .await?;
        let mut answer = answer.into_inner();
        let mut bytes = 0;
        while let Some(chunk) = answer.message().await? {
            if let Some(pb::tensor_chunk::Part::Data(piece)) = chunk.part {
                bytes += piece.len();
            }
        }
        Ok::<usize, tonic::Status>(bytes)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = tokio::spawn(server.shutdown());

    // New connections are refused while the call finishes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fresh = tonic::transport::Channel::from_shared(format!("http://{grpc_addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await;
    assert!(
        fresh.is_err(),
        "a new connection was accepted after shutdown"
    );

    let bytes = call.await.unwrap().expect("the in-flight call finished");
    assert_eq!(bytes, elements * 4);
    tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("shutdown did not complete")
        .unwrap()
        .unwrap();
    assert!(token.is_cancelled());
    // The old connection takes no new call either.
    let after = client
        .describe(pb::Tensor {
            dtype: pb::DType::DtypeUint8 as i32,
            shape: vec![1],
            data: Bytes::from_static(&[1]),
        })
        .await;
    assert!(after.is_err(), "a call was served after shutdown");
}
