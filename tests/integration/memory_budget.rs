//! One memory budget for the whole process (#28): every large buffer the
//! gateway holds for a request is reserved in `--memory-budget`, so many
//! clients at once against a small budget get exact answers or a busy
//! refusal (429 + Retry-After, 413 when a request could never fit), and the
//! server's peak RSS stays within the budget plus the fixed overhead
//! ARCHITECTURE.md states (the "Memory" paragraph).
//!
//! Each test runs the real binary in a process of its own (the peak RSS,
//! `VmHWM`, is per process) and talks to it over HTTP/1 the way the
//! operators' clients did: the whole body sent, the answer read later. Sizes
//! are modest (a 64 MiB budget, tensors of 16 MiB) so the suite stays fast
//! on 2 cores. On the code before #28 every one of these tests fails its
//! RSS assertion: the gateway's buffers were outside the budget.

use crate::common::{self, ServerProcess};

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use tensorwire::tensor::Tensor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BUDGET_MIB: u64 = 64;
/// What the process may hold beyond its budget (ARCHITECTURE.md, Memory):
/// the process itself and its allocator's slack, and what each connection
/// holds outside the budget (HTTP/2 windows of the gateway's one upstream
/// connection, 16 MiB each way; HTTP/1 buffers of each client connection).
const OVERHEAD_MIB: u64 = 64;

/// The flags every test's server gets: a small budget, small slabs and a
/// small streaming threshold so that one request fits in it.
const SMALL: [&str; 6] = [
    "--memory-budget",
    "64MiB",
    "--stream-slab-bytes",
    "2MiB",
    "--stream-threshold-bytes",
    "1MiB",
];

/// `tensorwire ARGS` in a process of its own, and the address it logs as
/// `key=ADDRESS` (`http_addr`, `grpc_addr`). `TENSORWIRE_TEST_BIN` runs
/// another build instead (how these tests were checked against the code
/// before #28).
fn spawn(args: &[&str], key: &'static str) -> (ServerProcess, SocketAddr) {
    let bin = std::env::var("TENSORWIRE_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_tensorwire").to_owned());
    let mut child = Command::new(bin)
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tensorwire");
    let stderr = child.stderr.take().unwrap();
    let server = ServerProcess::from_child(child);
    let (found, address) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split(&format!("{key}=")).nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                let _ = found.send(addr.to_owned());
            }
        }
    });
    let addr = address
        .recv_timeout(Duration::from_secs(30))
        .expect("the server did not log its address");
    (server, addr.parse().expect("a socket address"))
}

/// `tensorwire serve` on port 0 with `args`; its HTTP address.
fn serve(args: &[&str]) -> (ServerProcess, SocketAddr) {
    let mut all = vec![
        "serve",
        "--grpc-addr",
        "127.0.0.1:0",
        "--http-addr",
        "127.0.0.1:0",
    ];
    all.extend_from_slice(args);
    spawn(&all, "http_addr")
}

/// An HTTP/1 answer: status, headers (lower-case names) and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `POST path` with `body` whole over a connection of its own, waits
/// `before_reading`, then reads the answer at `read_rate` bytes a second
/// (0: as fast as it comes). Like the clients of the issue: Python
/// `requests` sends the whole body before it reads anything.
async fn post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    extra_headers: &str,
    body: Bytes,
    before_reading: Duration,
    read_rate: usize,
) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n{extra_headers}Connection: close\r\n\r\n",
        body.len()
    );
    let (mut reader, mut writer) = stream.split();
    // A refused request is answered before its body is read; the server
    // drains what follows, so the write still completes (or fails, if the
    // server closed: the answer is read anyway).
    let _ = writer.write_all(head.as_bytes()).await;
    let _ = writer.write_all(&body).await;
    tokio::time::sleep(before_reading).await;
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let want = if read_rate == 0 {
            buf.len()
        } else {
            (read_rate / 10).clamp(1, buf.len())
        };
        match reader.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        if read_rate > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    parse_answer(&raw)
}

fn parse_answer(raw: &[u8]) -> Answer {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Answer {
            status: 0,
            headers: Vec::new(),
            body: Bytes::new(),
        };
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body: Bytes::from(body),
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        raw = &raw[line_end + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[(size + 2).min(raw.len())..];
    }
    out
}

/// What a load ended with (the accepted count and the peak are asserted in
/// `judge`).
struct Outcome {
    refused: usize,
}

/// Checks every answer: `exact` for a 200, the busy answer (429 with
/// `Retry-After`) otherwise; returns the counts and the server's peak RSS,
/// and asserts the peak is within the budget plus the overhead.
fn judge(
    what: &str,
    server: &ServerProcess,
    answers: Vec<Answer>,
    exact: impl Fn(&Answer) -> bool,
) -> Outcome {
    let mut accepted = 0;
    let mut refused = 0;
    for answer in &answers {
        match answer.status {
            200 => {
                assert!(exact(answer), "{what}: an accepted answer is not exact");
                accepted += 1;
            }
            429 => {
                assert!(
                    answer.header("retry-after").is_some(),
                    "{what}: 429 without Retry-After"
                );
                // The gateway's JSON error (`code`), or the KServe
                // protocol's `{"error": ...}` with the same message.
                let text = String::from_utf8_lossy(&answer.body);
                assert!(
                    text.contains("RESOURCE_EXHAUSTED") || text.contains("the server is busy"),
                    "{what}: {text}"
                );
                refused += 1;
            }
            other => panic!(
                "{what}: answered {other}: {}",
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
            ),
        }
    }
    let peak_mib = common::peak_rss_mib(server.pid());
    println!(
        "{what}: {accepted} accepted, {refused} refused; server peak RSS {peak_mib} MiB \
         (budget {BUDGET_MIB} MiB + {OVERHEAD_MIB} MiB allowed)"
    );
    assert!(accepted >= 1, "{what}: nothing was accepted");
    assert!(
        peak_mib <= BUDGET_MIB + OVERHEAD_MIB,
        "{what}: server peak RSS {peak_mib} MiB over budget {BUDGET_MIB} + {OVERHEAD_MIB} MiB"
    );
    Outcome { refused }
}

/// A float32 tensor of `elements` values, not constant (so results differ).
fn floats(elements: usize, seed: u32) -> Tensor {
    let values: Vec<f32> = (0..elements)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 7.0)
        .collect();
    Tensor::from_array(
        &ndarray::ArrayD::from_shape_vec(vec![elements / 1024, 1024], values).unwrap(),
    )
}

fn filtered(tensor: &Tensor, sigma: f64) -> Tensor {
    let params = tensorwire::proto::params_from_wire(tensorwire::proto::pb::GaussianParams {
        sigma: vec![sigma],
        ..Default::default()
    })
    .unwrap();
    tensorwire::filter::gaussian_filter(tensor, &params, &Default::default()).unwrap()
}

async fn all<F: std::future::Future<Output = Answer> + Send + 'static>(
    calls: impl IntoIterator<Item = F>,
) -> Vec<Answer> {
    let tasks: Vec<_> = calls.into_iter().map(tokio::spawn).collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

const MIB: usize = 1 << 20;

/// Row 1 of the issue: HTTP/1 clients POST a large `.npy` to
/// `/v1/gaussian_filter`, send it whole and leave the answer unread for a
/// while. The answer buffer was outside the budget (1 GiB per request).
#[tokio::test(flavor = "multi_thread")]
async fn filter_answers_left_unread_stay_within_the_budget() {
    let (server, addr) = serve(&SMALL);
    let input = floats(4 * MIB, 1); // 16 MiB
    let expected = common::gateway::npy(&filtered(&input, 1.0));
    let body = Bytes::from(common::gateway::npy(&input));
    let answers = all((0..10).map(|_| {
        post(
            addr,
            "/v1/gaussian_filter?sigma=1",
            "application/x-npy",
            "",
            body.clone(),
            Duration::from_secs(3),
            0,
        )
    }))
    .await;
    let outcome = judge("filter, answers unread", &server, answers, |a| {
        a.body == expected
    });
    assert!(outcome.refused >= 1, "the budget did not bite");
}

/// Row 2 of the issue: `requests` clients POST a `.npy` as base64 JSON to
/// `/receive_array`; the body must be held whole, and was outside the
/// budget (up to `--max-body-bytes` per request, any number at once).
#[tokio::test(flavor = "multi_thread")]
async fn base64_json_bodies_stay_within_the_budget() {
    let (server, addr) = serve(&SMALL);
    let input = floats(4 * MIB, 2); // 16 MiB, 21 MiB of base64
    let body = Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "array_data": common::gateway::b64(&common::gateway::npy(&input))
        }))
        .unwrap(),
    );
    let answers = all((0..10).map(|_| {
        post(
            addr,
            "/receive_array",
            "application/json",
            "",
            body.clone(),
            Duration::ZERO,
            0,
        )
    }))
    .await;
    judge("receive_array, base64 JSON", &server, answers, |a| {
        let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        v["shape"] == serde_json::json!([4096, 1024])
    });
}

/// Nested JSON lists (`/receive_list`): the body, the numbers as read and
/// the tensor are all held while the list is read.
#[tokio::test(flavor = "multi_thread")]
async fn json_lists_stay_within_the_budget() {
    let (server, addr) = serve(&SMALL);
    let rows: Vec<Vec<f64>> = (0..512)
        .map(|r| {
            (0..1024)
                .map(|c| f64::from((r * 7 + c) % 97) / 4.0)
                .collect()
        })
        .collect();
    let body = Bytes::from(serde_json::to_vec(&serde_json::json!({ "array_list": rows })).unwrap());
    let answers = all((0..12).map(|_| {
        post(
            addr,
            "/receive_list",
            "application/json",
            "",
            body.clone(),
            Duration::ZERO,
            0,
        )
    }))
    .await;
    judge("receive_list", &server, answers, |a| {
        let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        v["shape"] == serde_json::json!([512, 1024])
    });
}

/// An RGBA image of noise (PNG barely compresses it): 16 MiB decoded.
fn noise_png(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x1234_5678u32;
    let img = image::RgbaImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        image::Rgba(state.to_le_bytes())
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Image bodies of `/v1/gaussian_filter`: the body, its decoded pixels, the
/// result gathered and the PNG written, with the answer read slowly.
#[tokio::test(flavor = "multi_thread")]
async fn image_decodes_stay_within_the_budget() {
    let (server, addr) = serve(&SMALL);
    let png = Bytes::from(noise_png(1024, 1024)); // 4 MiB of pixels
    let call = |delay| {
        post(
            addr,
            "/v1/gaussian_filter?sigma=1",
            "image/png",
            "Accept: image/png\r\n",
            png.clone(),
            delay,
            0,
        )
    };
    let mut answers = all((0..10).map(|_| call(Duration::from_secs(2)))).await;
    // An image's reservation grows in steps (body, pixels, result, PNG), so
    // when all ten bodies arrive first, the next steps can refuse every one
    // of them (seen twice on a loaded machine). A client retries a 429: the
    // retry, alone, must then be accepted.
    if answers.iter().all(|a| a.status == 429) {
        answers.push(call(Duration::ZERO).await);
    }
    judge("image filter", &server, answers, |a| {
        image::load_from_memory(&a.body).is_ok_and(|i| i.width() == 1024)
    });
}

/// The KServe REST codec: a JSON request's value tree and contents, the
/// messages both ways and the JSON answer.
#[tokio::test(flavor = "multi_thread")]
async fn kserve_rest_requests_stay_within_the_budget() {
    let (server, addr) = serve(&SMALL);
    let n = 256 * 1024;
    let data: Vec<f32> = (0..n).map(|i| (i % 101) as f32).collect();
    let body = Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "inputs": [{"name": "INPUT", "shape": [512, 512], "datatype": "FP32", "data": data}],
            "parameters": {"sigma": 1.0}
        }))
        .unwrap(),
    );
    let answers = all((0..12).map(|_| {
        post(
            addr,
            "/v2/models/gaussian_filter/infer",
            "application/json",
            "",
            body.clone(),
            Duration::from_secs(1),
            0,
        )
    }))
    .await;
    judge("kserve REST", &server, answers, |a| {
        let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        v["outputs"][0]["data"]
            .as_array()
            .is_some_and(|d| d.len() == n)
    });
}

/// The seed's `POST /` (multipart `.npy`) is answered once its body is in,
/// so its whole answer is queued for the client; the clients here read it
/// slowly.
#[tokio::test(flavor = "multi_thread")]
async fn answers_queued_for_slow_readers_stay_within_the_budget() {
    let (server, addr) = serve(&SMALL);
    let input = floats(2 * MIB, 3); // 8 MiB
    let expected = common::gateway::npy(&filtered(&input, 0.5));
    let boundary = "tensorwireboundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"array\"; filename=\"a.npy\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&common::gateway::npy(&input));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let body = Bytes::from(body);
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let call = |delay| {
        let content_type = content_type.clone();
        let body = body.clone();
        async move { post(addr, "/", &content_type, "", body, delay, 16 * MIB).await }
    };
    let mut answers = all((0..12).map(|_| call(Duration::from_secs(1)))).await;
    // The gateway reserves a body, then its answer, then the service its
    // call: when all twelve bodies are in first, the later stages can
    // refuse every one of them (1 run in 4 here, on a loaded machine). A
    // client retries a 429: the retry, alone, must then be accepted.
    if answers.iter().all(|a| a.status == 429) {
        answers.push(call(Duration::ZERO).await);
    }
    judge("seed POST /, slow readers", &server, answers, |a| {
        a.body == expected
    });
}

/// `tensorwire gateway` alone has its own `--memory-budget`: the row 1 load
/// against a gateway process in front of a server, the gateway's RSS read.
#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_alone_keeps_its_own_budget() {
    let (_upstream, grpc) = {
        let mut args = vec![
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--http-addr",
            "127.0.0.1:0",
            "--stream-slab-bytes",
            "2MiB",
        ];
        args.extend_from_slice(&["--memory-budget", "1GiB"]);
        spawn(&args, "grpc_addr")
    };
    let upstream = format!("http://{grpc}");
    let (gateway, addr) = spawn(
        &[
            "gateway",
            "--upstream",
            &upstream,
            "--http-addr",
            "127.0.0.1:0",
            "--memory-budget",
            "64MiB",
            "--stream-threshold-bytes",
            "1MiB",
        ],
        "http_addr",
    );
    let input = floats(4 * MIB, 4);
    let expected = common::gateway::npy(&filtered(&input, 1.0));
    let body = Bytes::from(common::gateway::npy(&input));
    let answers = all((0..10).map(|_| {
        post(
            addr,
            "/v1/gaussian_filter?sigma=1",
            "application/x-npy",
            "",
            body.clone(),
            Duration::from_secs(3),
            0,
        )
    }))
    .await;
    let outcome = judge("gateway alone", &gateway, answers, |a| a.body == expected);
    assert!(outcome.refused >= 1, "the gateway's budget did not bite");
}

/// A request that could never fit is refused with 413 before its body is
/// read; the next one is served.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_larger_than_the_budget_is_413_before_it_is_read() {
    let (_server, addr) = serve(&SMALL);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Declares 100 MiB and sends none of it: the answer comes anyway.
    stream
        .write_all(
            b"POST /receive_array HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
              Content-Length: 104857600\r\n\r\n",
        )
        .await
        .unwrap();
    let mut raw = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut raw))
        .await
        .expect("answered before the body was sent")
        .unwrap();
    let answer = parse_answer(&raw[..n]);
    assert_eq!(answer.status, 413, "{answer:?}");
    let small = Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "array_data": common::gateway::b64(&common::gateway::npy(&floats(1024, 5)))
        }))
        .unwrap(),
    );
    let ok = post(
        addr,
        "/receive_array",
        "application/json",
        "",
        small,
        Duration::ZERO,
        0,
    )
    .await;
    assert_eq!(ok.status, 200);
}
