//! The Rust client of `bench/clients.sh`: times the same calls as
//! `bench/clients_python.py` and `bench/clients_node.js` (the generated tonic
//! client, the windows `tensorwire::client` uses) and prints
//! `workload median_ms [extra]` lines.
//!
//! ```sh
//! cargo run --release --example clients_bench -- http://127.0.0.1:50051 [runs]
//! ```

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use tensorwire::proto::pb::tensor_service_client::TensorServiceClient;
use tensorwire::proto::pb::{self, gaussian_filter_chunk, tensor_chunk};
use tonic::transport::{Channel, Endpoint};

const PIECE: usize = 1 << 20;

type Client = TensorServiceClient<Channel>;

fn xorshift_bytes(n: usize, mut state: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(n);
    out
}

fn floats(n: usize, seed: u64) -> Bytes {
    let raw = xorshift_bytes(n * 4, seed);
    raw.chunks_exact(4)
        .flat_map(|c| {
            (u32::from_le_bytes(c.try_into().unwrap()) as f32 / 4_294_967_296.0).to_le_bytes()
        })
        .collect::<Vec<u8>>()
        .into()
}

async fn unary(client: &mut Client, dtype: pb::DType, shape: &[u64], data: &Bytes, sigma: f64) {
    let request = pb::GaussianFilterRequest {
        tensor: Some(pb::Tensor {
            dtype: dtype as i32,
            shape: shape.to_vec(),
            data: data.clone(),
        }),
        params: Some(pb::GaussianParams {
            sigma: vec![sigma],
            ..Default::default()
        }),
    };
    let answer = client.gaussian_filter(request).await.unwrap().into_inner();
    assert_eq!(answer.data.len(), data.len());
}

/// GiB/s from the first data piece of the answer to its end.
async fn download(client: &mut Client, data: &Bytes, side: u64) -> f64 {
    let start = pb::GaussianFilterChunk {
        part: Some(gaussian_filter_chunk::Part::Start(
            pb::GaussianFilterStart {
                header: Some(pb::TensorHeader {
                    dtype: pb::DType::DtypeFloat32 as i32,
                    shape: vec![side, side],
                }),
                params: Some(pb::GaussianParams {
                    sigma: vec![0.0],
                    ..Default::default()
                }),
            },
        )),
    };
    let data = data.clone();
    let pieces = (0..data.len())
        .step_by(PIECE)
        .map(move |i| pb::GaussianFilterChunk {
            part: Some(gaussian_filter_chunk::Part::Data(
                data.slice(i..(i + PIECE).min(data.len())),
            )),
        });
    let requests = futures::stream::iter(std::iter::once(start).chain(pieces));
    let mut answer = client
        .gaussian_filter_stream(requests)
        .await
        .unwrap()
        .into_inner();
    answer.next().await.unwrap().unwrap();
    let mut received = 0;
    answer.next().await.unwrap().unwrap();
    let first = Instant::now();
    while let Some(message) = answer.next().await {
        if let Some(pb::tensor_chunk::Part::Data(piece)) = message.unwrap().part {
            received += piece.len();
        }
    }
    received as f64 / first.elapsed().as_secs_f64() / f64::from(1 << 30)
}

async fn upload(client: &mut Client, data: &Bytes) {
    let header = pb::TensorChunk {
        part: Some(tensor_chunk::Part::Header(pb::TensorHeader {
            dtype: pb::DType::DtypeUint8 as i32,
            shape: vec![data.len() as u64],
        })),
    };
    let len = data.len();
    let data = data.clone();
    let pieces = (0..len).step_by(PIECE).map(move |i| pb::TensorChunk {
        part: Some(tensor_chunk::Part::Data(
            data.slice(i..(i + PIECE).min(data.len())),
        )),
    });
    let requests = futures::stream::iter(std::iter::once(header).chain(pieces));
    let info = client.describe_stream(requests).await.unwrap().into_inner();
    assert_eq!(info.nbytes, len as u64);
}

async fn time<F, Fut>(name: &str, runs: usize, mut call: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<f64>>,
{
    call().await;
    let mut times = Vec::new();
    let mut extras = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        if let Some(extra) = call().await {
            extras.push(extra);
        }
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut line = format!("{name} {:.1}", median(&mut times));
    if !extras.is_empty() {
        line += &format!(" {:.2}", median(&mut extras));
    }
    println!("{line}");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or("http://127.0.0.1:50051".into());
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    let channel = Endpoint::from_shared(url)
        .unwrap()
        .initial_stream_window_size(Some(8 << 20))
        .initial_connection_window_size(Some(16 << 20))
        .max_frame_size(Some(1 << 20))
        .tcp_nodelay(true)
        .connect()
        .await
        .unwrap();
    let client = TensorServiceClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    let seed: Bytes = xorshift_bytes(1024 * 768 * 3, 7)
        .iter()
        .flat_map(|b| i32::from(*b).to_le_bytes())
        .collect::<Vec<u8>>()
        .into();
    let big = floats(2048 * 2048, 11);
    let down = floats(8192 * 8192, 13);
    let up = Bytes::from(xorshift_bytes(1 << 30, 17));
    let c = client.clone();
    time("seed", runs, || {
        let (mut c, seed) = (c.clone(), seed.clone());
        async move {
            unary(&mut c, pb::DType::DtypeInt32, &[1024, 768, 3], &seed, 0.5).await;
            None
        }
    })
    .await;
    time("big", runs, || {
        let (mut c, big) = (c.clone(), big.clone());
        async move {
            unary(&mut c, pb::DType::DtypeFloat32, &[2048, 2048], &big, 8.0).await;
            None
        }
    })
    .await;
    time("download", (runs / 2).max(3), || {
        let (mut c, down) = (c.clone(), down.clone());
        async move { Some(download(&mut c, &down, 8192).await) }
    })
    .await;
    time("upload", 3, || {
        let (mut c, up) = (c.clone(), up.clone());
        async move {
            upload(&mut c, &up).await;
            None
        }
    })
    .await;
}
