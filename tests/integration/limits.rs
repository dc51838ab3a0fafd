//! Every configurable limit, just under (accepted) and just over (refused
//! with the right status and a message naming the limit), on a server whose
//! limits are set small. The memory budget, the longest gRPC call and the
//! timeouts have their own tests in `hardening.rs` and `overload.rs`.

use crate::common;
use crate::common::gateway;

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tensorwire::config::ServeConfig;
use tensorwire::proto::pb;
use tensorwire::tensor::DType;
use tonic::Code;

fn uint8(shape: Vec<u64>) -> pb::Tensor {
    let len: u64 = shape.iter().product();
    pb::Tensor {
        dtype: pb::DType::DtypeUint8 as i32,
        shape,
        data: Bytes::from(vec![1u8; len as usize]),
    }
}

fn filter(tensor: pb::Tensor, radius: u32) -> pb::GaussianFilterRequest {
    pb::GaussianFilterRequest {
        tensor: Some(tensor),
        params: Some(pb::GaussianParams {
            sigma: vec![1.0],
            radius: vec![radius],
            ..Default::default()
        }),
    }
}

fn assert_refused(result: Result<impl std::fmt::Debug, tonic::Status>, code: Code, word: &str) {
    let status = result.expect_err("over the limit, yet accepted");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(word),
        "{word:?} not in {}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tensor_bytes_rank_and_radius() {
    let mut config = ServeConfig::ephemeral();
    config.limits.max_tensor_bytes = 1024;
    config.limits.max_rank = 4;
    config.limits.max_radius = 10;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;

    client
        .describe(uint8(vec![1024]))
        .await
        .expect("1024 bytes: at the limit");
    assert_refused(
        client.describe(uint8(vec![1025])).await,
        Code::ResourceExhausted,
        "limit",
    );

    client
        .describe(uint8(vec![1, 2, 1, 2]))
        .await
        .expect("rank 4: at the limit");
    assert_refused(
        client.describe(uint8(vec![1, 2, 1, 2, 1])).await,
        Code::InvalidArgument,
        "rank",
    );

    client
        .gaussian_filter(filter(uint8(vec![32]), 10))
        .await
        .expect("radius 10: at the limit");
    assert_refused(
        client.gaussian_filter(filter(uint8(vec![32]), 11)).await,
        Code::InvalidArgument,
        "radius",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn filter_taps() {
    let mut config = ServeConfig::ephemeral();
    // 32 elements × 21 taps (radius 10) = 672 taps.
    config.limits.max_filter_taps = 672;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;
    client
        .gaussian_filter(filter(uint8(vec![32]), 10))
        .await
        .expect("672 taps: at the limit");
    assert_refused(
        client.gaussian_filter(filter(uint8(vec![33]), 10)).await,
        Code::InvalidArgument,
        "kernel taps",
    );
    // The streaming RPC checks its header against the same limit.
    let header = pb::GaussianFilterChunk {
        part: Some(pb::gaussian_filter_chunk::Part::Start(
            pb::GaussianFilterStart {
                header: Some(pb::TensorHeader {
                    dtype: pb::DType::DtypeUint8 as i32,
                    shape: vec![33],
                }),
                params: filter(uint8(vec![1]), 10).params,
            },
        )),
    };
    let result = client
        .gaussian_filter_stream(futures::stream::iter(vec![header]))
        .await;
    let status = match result {
        Ok(response) => response
            .into_inner()
            .next()
            .await
            .expect("an answer or an error")
            .expect_err("over the tap limit, yet accepted"),
        Err(status) => status,
    };
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("kernel taps"), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unary_message_size() {
    let mut config = ServeConfig::ephemeral();
    config.limits.max_message_bytes = 64 << 10;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;
    // The message is the data plus a few bytes of fields.
    client
        .describe(uint8(vec![(64 << 10) - 64]))
        .await
        .expect("just under the message limit");
    assert_refused(
        client.describe(uint8(vec![(64 << 10) + 1])).await,
        Code::ResourceExhausted,
        "--max-message-bytes",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_body_and_image_pixels() {
    let gw = gateway::start_with(|config| {
        config.gateway.max_body_bytes = 4096;
        config.limits.max_image_pixels = 100;
    })
    .await;
    let exact = gateway::npy(&gateway::tensor(
        DType::UInt8,
        &[4096 - 128],
        vec![2; 4096 - 128],
    ));
    assert_eq!(exact.len(), 4096, "the test body must be exactly the limit");
    let answer = gw
        .http
        .post(gw.url("/v1/describe"))
        .header("content-type", "application/octet-stream")
        .body(exact)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "a body at the limit");
    let over = gateway::npy(&gateway::tensor(
        DType::UInt8,
        &[4097 - 128],
        vec![2; 4097 - 128],
    ));
    let answer = gw
        .http
        .post(gw.url("/v1/describe"))
        .header("content-type", "application/octet-stream")
        .body(over)
        .send()
        .await
        .unwrap();
    let body = gateway::json(answer, 413).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--max-body-bytes"),
        "{body}"
    );

    let filter_png = |png: Vec<u8>| {
        gw.http
            .post(gw.url("/v1/gaussian_filter?sigma=1"))
            .header("content-type", "image/png")
            .header("accept", "image/png")
            .body(png)
            .send()
    };
    let answer = filter_png(gateway::png(10, 10)).await.unwrap();
    assert_eq!(answer.status(), 200, "100 pixels: at the limit");
    let answer = filter_png(gateway::png(10, 11)).await.unwrap();
    let body = gateway::json(answer, 413).await;
    assert!(
        body["message"].as_str().unwrap().contains("pixel"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_computations_wait_for_a_slot() {
    let mut config = ServeConfig::ephemeral();
    config.limits.max_concurrent = 1;
    let server = common::start_server_with(config).await;
    let client = server.client().await;
    let big = pb::Tensor {
        dtype: pb::DType::DtypeFloat32 as i32,
        shape: vec![2 << 20],
        data: Bytes::from(vec![0u8; 8 << 20]),
    };
    // Four filters at once with one slot: they queue, none is refused.
    let calls = (0..4).map(|_| {
        let mut client = client.clone();
        let request = filter(big.clone(), 4);
        async move { client.gaussian_filter(request).await }
    });
    let results = tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(calls))
        .await
        .unwrap();
    for result in results {
        let answer = result.expect("queued, not refused").into_inner();
        assert_eq!(answer.shape, vec![2 << 20]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn gateway_request_timeout_is_504() {
    let gw = gateway::start_with(|config| config.gateway.request_timeout_secs = 1).await;
    let answer = gw
        .http
        .post(gw.url("/receive_list"))
        .json(&serde_json::json!({"array_list": [1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "a quick request");
    // A body that trickles for longer than the request timeout.
    let slow = futures::stream::iter([&b"{\"array_list\": "[..], b"[1, ", b"2]}"]).then(
        |piece| async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            Ok::<_, std::io::Error>(Bytes::from_static(piece))
        },
    );
    let answer = gw
        .http
        .post(gw.url("/receive_list"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(slow))
        .send()
        .await
        .unwrap();
    let body = gateway::json(answer, 504).await;
    assert_eq!(body["code"], "DEADLINE_EXCEEDED");
}
