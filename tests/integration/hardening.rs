//! Hardening, over the network as a client sees it: TLS on both listeners
//! (certificate made here with rcgen), deadlines (`DEADLINE_EXCEEDED`, and
//! the reservation freed), stalled uploads and slowloris headers, unary
//! messages reserved before they are read (gRPC `RESOURCE_EXHAUSTED`, HTTP
//! 429 + `Retry-After`), API keys checked before an upload is read, and the
//! metrics that show all of it.

use crate::common;
use crate::common::gateway;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use tensorwire::config::ServeConfig;
use tensorwire::proto::pb::{self, gaussian_filter_chunk::Part};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tonic::Code;

fn tiny_tensor() -> pb::Tensor {
    pb::Tensor {
        dtype: pb::DType::DtypeUint8 as i32,
        shape: vec![3],
        data: Bytes::from_static(&[1, 2, 9]),
    }
}

/// The header of a float32 filter stream of `len` elements.
fn filter_start(len: u64) -> pb::GaussianFilterChunk {
    pb::GaussianFilterChunk {
        part: Some(Part::Start(pb::GaussianFilterStart {
            header: Some(pb::TensorHeader {
                dtype: pb::DType::DtypeFloat32 as i32,
                shape: vec![len],
            }),
            params: Some(pb::GaussianParams {
                sigma: vec![1.0],
                ..Default::default()
            }),
        })),
    }
}

/// The sending side of a held filter stream, and the call's outcome.
type HeldStream = (
    tokio::sync::mpsc::Sender<pb::GaussianFilterChunk>,
    tokio::task::JoinHandle<Result<(), tonic::Status>>,
);

/// Starts a filter stream that sends its header and then nothing, holding
/// its reservation (input + result) until `sender` is dropped. Returns once
/// the server has answered the header, with whether it accepted the call
/// (then the reservation is held). The call finishes when it is refused or
/// its answer ends (an error follows the result's header).
async fn start_held_stream(server: &common::TestServer, len: u64) -> (HeldStream, bool) {
    let mut client = server.client().await;
    let (sender, receiver) = tokio::sync::mpsc::channel(2);
    sender.send(filter_start(len)).await.unwrap();
    let (answered, accepted) = tokio::sync::oneshot::channel();
    let call = tokio::spawn(async move {
        let request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(receiver));
        let answer = client.gaussian_filter_stream(request).await;
        let _ = answered.send(answer.is_ok());
        read_to_the_end(answer?).await
    });
    let accepted = accepted.await.unwrap_or(false);
    ((sender, call), accepted)
}

/// [`start_held_stream`] once the budget has room for it: a reservation
/// still being released (of a call answered a moment ago, or ended by a
/// deadline) refuses the first tries, so this retries for up to 20 s and
/// fails the test if the stream is still refused then.
async fn hold_reservation(server: &common::TestServer, len: u64) -> HeldStream {
    let started = Instant::now();
    loop {
        let (held, accepted) = start_held_stream(server, len).await;
        if accepted {
            return held;
        }
        let refusal = held.1.await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the stream was refused for 20 s: {refusal:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a filter stream to its end: its refusal, or the error its answer
/// ends with after the result's header (or `Ok` once it ends cleanly).
async fn filter_stream_outcome(
    client: &mut tensorwire::proto::pb::tensor_service_client::TensorServiceClient<
        tonic::transport::Channel,
    >,
    request: tonic::Request<tokio_stream::wrappers::ReceiverStream<pb::GaussianFilterChunk>>,
) -> Result<(), tonic::Status> {
    read_to_the_end(client.gaussian_filter_stream(request).await?).await
}

/// Reads a filter stream's answer to its end: the error it ends with, or
/// `Ok` once it ends cleanly.
async fn read_to_the_end(
    answer: tonic::Response<tonic::Streaming<pb::TensorChunk>>,
) -> Result<(), tonic::Status> {
    let mut answer = answer.into_inner();
    while answer.message().await?.is_some() {}
    Ok(())
}

/// Waits until `check` holds, polling for up to 20 s (a loaded CI machine
/// runs the whole suite at once on two cores).
async fn eventually(mut check: impl AsyncFnMut() -> bool, what: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_serves_grpc_and_https_and_refuses_plain_text() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    let mut config = ServeConfig::ephemeral();
    config.tls.tls_cert = Some(cert_path);
    config.tls.tls_key = Some(key_path);
    let server = common::start_server_with(config).await;

    // gRPC over TLS, trusting the test certificate.
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(
            certified.cert.pem(),
        ))
        .domain_name("localhost");
    let channel = tonic::transport::Endpoint::from_shared(format!("https://{}", server.grpc_addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("TLS connection to the gRPC listener");
    let mut client = pb::tensor_service_client::TensorServiceClient::new(channel);
    let info = client.describe(tiny_tensor()).await.unwrap().into_inner();
    assert_eq!(info.max, Some(9.0));

    // Plain-text gRPC to the TLS listener fails.
    let plain = tonic::transport::Endpoint::from_shared(format!("http://{}", server.grpc_addr))
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect_lazy();
    let refused = pb::tensor_service_client::TensorServiceClient::new(plain)
        .describe(tiny_tensor())
        .await
        .unwrap_err();
    assert_ne!(refused.code(), Code::Ok);

    // HTTPS on the gateway, through the same certificate: the gateway's
    // call of the service works too.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let body = r#"{"array_list": [[1, 2], [3, 4]]}"#;
    let request = format!(
        "POST /receive_list HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let tcp = tokio::net::TcpStream::connect(server.http_addr)
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .expect("TLS handshake with the gateway");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await.unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""shape":[2,2]"#), "{answer}");

    // Plain HTTP to the TLS gateway gets no HTTP answer.
    let mut tcp = tokio::net::TcpStream::connect(server.http_addr)
        .await
        .unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut buf)).await;
    assert!(
        !buf.starts_with(b"HTTP/1.1 200"),
        "plain HTTP was served over the TLS port"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_deadline_is_deadline_exceeded_and_frees_the_reservation() {
    let mut config = ServeConfig::ephemeral();
    // Room for one 16 MiB float32 filter (input + result), not two.
    config.limits.memory_budget = 40 << 20;
    config.limits.grpc_request_timeout_secs = 1;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;
    let len = 4 << 20;

    // A stream that sends its header and then stalls, with no deadline of
    // its own: the server's cap (1 s) ends it with DEADLINE_EXCEEDED.
    let (sender, receiver) = tokio::sync::mpsc::channel(2);
    sender.send(filter_start(len)).await.unwrap();
    let started = Instant::now();
    let request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(receiver));
    let status = filter_stream_outcome(&mut client, request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("--grpc-request-timeout-secs"),
        "{}",
        status.message()
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    drop(sender);

    // A client deadline (grpc-timeout 300 ms) ends the call too; tonic's
    // client reports its own expiry as CANCELLED, other clients as
    // DEADLINE_EXCEEDED.
    let (sender, receiver) = tokio::sync::mpsc::channel(2);
    sender.send(filter_start(len)).await.unwrap();
    let mut request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(receiver));
    request.set_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let status = filter_stream_outcome(&mut client, request)
        .await
        .unwrap_err();
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // Its reservation comes back (the client's cancel and the server's own
    // deadline race; allow a moment): a stream of the same size is accepted,
    // where it would be refused at once while the first is held.
    let (second, _call) = hold_reservation(&server, len).await;
    drop(second);
    drop(sender);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_grpc_upload_times_out_and_frees_the_budget() {
    let mut config = ServeConfig::ephemeral();
    config.timeouts.body_read_timeout_secs = 1;
    config.limits.memory_budget = 40 << 20;
    let server = common::start_server_with(config).await;
    let (sender, call) = hold_reservation(&server, 4 << 20).await;
    let status = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("the stalled upload was not timed out")
        .unwrap()
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("--body-read-timeout-secs"),
        "{}",
        status.message()
    );
    drop(sender);
    // The budget is free again: a 32 MiB reservation fits.
    let (_second, second_call) = hold_reservation(&server, 4 << 20).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!second_call.is_finished(), "the second upload was refused");
}

#[tokio::test(flavor = "multi_thread")]
async fn slowloris_headers_are_cut_off_and_stalled_bodies_get_408() {
    let mut config = ServeConfig::ephemeral();
    config.timeouts.header_read_timeout_secs = 1;
    config.timeouts.body_read_timeout_secs = 1;
    let server = common::start_server_with(config).await;

    // Headers that never finish: the connection is closed.
    let mut slow = tokio::net::TcpStream::connect(server.http_addr)
        .await
        .unwrap();
    slow.write_all(b"POST /v1/describe HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "the slow-header connection was kept open");
    assert!(started.elapsed() >= Duration::from_millis(900));

    // A body that stops half way: 408 with the JSON error.
    let mut stalled = tokio::net::TcpStream::connect(server.http_addr)
        .await
        .unwrap();
    stalled
        .write_all(b"POST /receive_list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"array_list\": [")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("--body-read-timeout-secs"), "{answer}");

    // And the server still serves.
    let ok = gateway::client()
        .get(format!("http://{}/healthz", server.http_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unary_message_is_reserved_before_it_is_read() {
    let mut config = ServeConfig::ephemeral();
    config.limits.memory_budget = 34 << 20;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;
    let big = pb::Tensor {
        dtype: pb::DType::DtypeUint8 as i32,
        shape: vec![12 << 20],
        data: Bytes::from(vec![7u8; 12 << 20]),
    };
    // Fits while the budget is free.
    client
        .describe(big.clone())
        .await
        .expect("accepted with a free budget");

    // A stream holding 32 MiB leaves 2 MiB: the 12 MiB message is refused
    // from its length prefix, as retryable.
    let (sender, call) = hold_reservation(&server, 4 << 20).await;
    let mut refused = None;
    eventually(
        async || match client.describe(big.clone()).await {
            Err(status) if status.code() == Code::ResourceExhausted => {
                refused = Some(status);
                true
            }
            _ => false,
        },
        "the budget is held",
    )
    .await;
    let refused = refused.unwrap();
    assert!(refused.message().contains("busy"), "{}", refused.message());
    assert_eq!(refused.metadata().get("retry-after").unwrap(), "1");
    // The rich error details say the same: reason BUSY, and RetryInfo.
    {
        use tonic_types::StatusExt;
        let info = refused.get_details_error_info().unwrap();
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("BUSY", "tensorwire")
        );
        let retry = refused.get_details_retry_info().unwrap();
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(1)));
        let err = tensorwire::client::ClientError::Status(refused.clone());
        assert_eq!(err.reason(), Some(tensorwire::client::Reason::Busy));
        assert_eq!(err.retry_delay(), Some(Duration::from_secs(1)));
    }
    // A small call still fits.
    client.describe(tiny_tensor()).await.expect("small call");

    // The same through the gateway (3 MiB: under its streaming threshold,
    // so one unary call): 429 with Retry-After.
    let http = gateway::client();
    let npy = gateway::npy(&gateway::tensor(
        tensorwire::tensor::DType::UInt8,
        &[3 << 20],
        vec![7u8; 3 << 20],
    ));
    let response = http
        .post(format!("http://{}/v1/describe", server.http_addr))
        .header("content-type", "application/octet-stream")
        .body(npy.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "RESOURCE_EXHAUSTED");
    assert!(body["message"].as_str().unwrap().contains("busy"), "{body}");

    // Released: accepted again (the server's stages let go of the
    // reservation a moment after the client sees the call end).
    drop(sender);
    let _ = call.await;
    eventually(
        async || client.describe(big.clone()).await.is_ok(),
        "the released budget accepts the large call again",
    )
    .await;
}

/// A body that sends `first` and then never ends.
fn endless_body(first: Vec<u8>) -> reqwest::Body {
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) })
        .chain(futures::stream::pending());
    reqwest::Body::wrap_stream(stream)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_refuses_an_upload_without_a_key_before_reading_it() {
    let mut config = ServeConfig::ephemeral();
    config.auth.api_keys = vec!["s3cret".into()];
    let server = common::start_server_with(config).await;
    let http = gateway::client();
    let base = format!("http://{}", server.http_addr);
    let npy = gateway::npy(&gateway::counting_i32(&[1 << 20]));

    // A native upload with no key: 401 while the body is still coming.
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        http.post(format!("{base}/v1/describe"))
            .header("content-type", "application/octet-stream")
            .body(endless_body(npy[..4096].to_vec()))
            .send(),
    )
    .await
    .expect("the gateway waited for the upload instead of refusing it");
    let answer = answer.unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(answer.headers()["www-authenticate"], "Bearer");

    // A wrong key in a header: 401.
    let answer = http
        .post(format!("{base}/v1/describe"))
        .header("x-api-key", "wrong")
        .body(npy.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "UNAUTHENTICATED");

    // A multipart form whose file comes before any key: refused on the
    // file's headers, the rest of the upload never read.
    let boundary = "XyZ";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
    );
    let mut first = head.into_bytes();
    first.extend_from_slice(&gateway::png(8, 8)[..16]);
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        http.post(format!("{base}/im_size"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(endless_body(first))
            .send(),
    )
    .await
    .expect("the gateway read the file before checking the key");
    assert_eq!(answer.unwrap().status(), 401);

    // The key as a form field ahead of the file (what `requests` sends).
    let form = reqwest::multipart::Form::new().text("key", "s3cret").part(
        "image",
        reqwest::multipart::Part::bytes(gateway::png(5, 3)).file_name("a.png"),
    );
    let answer = http
        .post(format!("{base}/im_size"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body = gateway::json(answer, 200).await;
    assert_eq!(body["size"], serde_json::json!([5, 3]));

    // A wrong form key: 401.
    let form = reqwest::multipart::Form::new().text("key", "nope").part(
        "image",
        reqwest::multipart::Part::bytes(gateway::png(5, 3)).file_name("a.png"),
    );
    let answer = http
        .post(format!("{base}/im_size"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);

    // Health stays open; /metrics is open by default.
    for path in ["/healthz", "/metrics"] {
        let answer = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_calls_bytes_refusals_and_the_budget() {
    let mut config = ServeConfig::ephemeral();
    config.limits.memory_budget = 40 << 20;
    config.limits.max_radius = 10;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;
    client.describe(tiny_tensor()).await.unwrap();
    let refused = client
        .gaussian_filter(pb::GaussianFilterRequest {
            tensor: Some(tiny_tensor()),
            params: Some(pb::GaussianParams {
                sigma: vec![1.0],
                radius: vec![11],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let (sender, call) = hold_reservation(&server, 4 << 20).await;
    let http = gateway::client();
    let base = format!("http://{}", server.http_addr);
    let answer = http
        .post(format!("{base}/receive_list"))
        .json(&serde_json::json!({"array_list": [1, 2, 3]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    let mut text = String::new();
    eventually(
        async || {
            text = http
                .get(format!("{base}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            text.contains("tensorwire_memory_budget_in_flight_bytes 33554432")
        },
        "the held stream shows in the budget gauge",
    )
    .await;
    for expected in [
        r#"tensorwire_grpc_calls_total{method="Describe",code="OK"} 2"#,
        r#"tensorwire_grpc_calls_total{method="GaussianFilter",code="INVALID_ARGUMENT"} 1"#,
        r#"tensorwire_grpc_refused_calls_total{reason="invalid_argument"} 1"#,
        "tensorwire_memory_budget_bytes 41943040",
        r#"tensorwire_http_requests_total{method="POST",route="/receive_list",status="200"} 1"#,
        r#"tensorwire_grpc_call_duration_seconds_count{method="Describe"} 2"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    let bytes_of = |name: &str, label: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name) && l.contains(label))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name}{{{label}}} in\n{text}"))
    };
    assert!(bytes_of("tensorwire_grpc_received_bytes_total", "Describe") > 0);
    assert!(bytes_of("tensorwire_grpc_sent_bytes_total", "Describe") > 0);
    let list_body = serde_json::to_vec(&serde_json::json!({"array_list": [1, 2, 3]})).unwrap();
    assert!(
        bytes_of("tensorwire_http_request_body_bytes_total", "/receive_list")
            >= list_body.len() as u64
    );
    assert!(bytes_of("tensorwire_http_response_body_bytes_total", "/receive_list") > 0);
    drop(sender);
    let _ = call.await;
}
