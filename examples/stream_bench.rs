//! Streaming throughput of a running server, for `bench/streaming.sh`.
//!
//! Prints, for a 256 MiB float32 tensor:
//!
//! - the `DescribeStream` upload time of our client against the server at
//!   the URL given, beside a "plain tonic" baseline measured in the same run:
//!   the generated tonic client with default settings uploading the same
//!   tensor in 1 MiB pieces to a trivial `DescribeStream` server (it only
//!   counts the bytes and answers) that this process starts on port 0 with
//!   tonic's defaults, on a runtime of its own. The two crossings (our client
//!   to the plain server, the plain client to ours) tell which side costs
//!   what. Runs are interleaved, so load from other processes falls on both;
//! - the end-to-end time of `GaussianFilterStream`, the filter time of the
//!   engine alone in this process on the same data, and the ratio the issue
//!   asks for; then one 1 GiB `GaussianFilterStream` so the script can read
//!   the server's peak memory.
//!
//! `STREAM_BENCH_UPLOAD_ONLY=1` stops after the upload figures;
//! `STREAM_BENCH_CHUNK=BYTES` sets our client's piece size.
//!
//! ```sh
//! cargo run --release --example stream_bench -- http://127.0.0.1:50051 [runs]
//! ```

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::Stream;
use tensorwire::client::{Client, ClientOptions};
use tensorwire::proto::pb;
use tensorwire::proto::pb::tensor_service_client::TensorServiceClient;
use tensorwire::proto::pb::tensor_service_server::{TensorService, TensorServiceServer};
use tensorwire::tensor::Tensor;
use tonic::transport::Channel;
use tonic::{Request, Response, Status, Streaming};

/// Pieces of the plain tonic upload.
const PLAIN_PIECE: usize = 1 << 20;

fn tensor_f32(len: usize) -> Tensor {
    let values: Vec<f32> = (0..len).map(|i| ((i * 2654435761) % 4093) as f32).collect();
    Tensor::from_array(
        &ndarray::Array::from_vec(values)
            .into_shape_with_order(vec![len / (1 << 20), 1024, 1024])
            .expect("whole MiB")
            .into_dyn(),
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The trivial server of the baseline: `DescribeStream` counts the data
/// bytes and answers with the count; every other method is unimplemented.
struct PlainService;

type Unsupported<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl TensorService for PlainService {
    async fn describe(&self, _: Request<pb::Tensor>) -> Result<Response<pb::TensorInfo>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    async fn describe_stream(
        &self,
        request: Request<Streaming<pb::TensorChunk>>,
    ) -> Result<Response<pb::TensorInfo>, Status> {
        let mut messages = request.into_inner();
        let mut nbytes = 0u64;
        while let Some(message) = messages.message().await? {
            if let Some(pb::tensor_chunk::Part::Data(piece)) = message.part {
                nbytes += piece.len() as u64;
            }
        }
        Ok(Response::new(pb::TensorInfo {
            nbytes,
            ..Default::default()
        }))
    }

    async fn gaussian_filter(
        &self,
        _: Request<pb::GaussianFilterRequest>,
    ) -> Result<Response<pb::Tensor>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    type GaussianFilterStreamStream = Unsupported<pb::TensorChunk>;

    async fn gaussian_filter_stream(
        &self,
        _: Request<Streaming<pb::GaussianFilterChunk>>,
    ) -> Result<Response<Self::GaussianFilterStreamStream>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    async fn apply(&self, _: Request<pb::ApplyRequest>) -> Result<Response<pb::Tensor>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    type ApplyStreamStream = Unsupported<pb::TensorChunk>;

    async fn apply_stream(
        &self,
        _: Request<Streaming<pb::ApplyChunk>>,
    ) -> Result<Response<Self::ApplyStreamStream>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    async fn image_size(
        &self,
        _: Request<pb::ImageRequest>,
    ) -> Result<Response<pb::ImageInfo>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    async fn image_size_stream(
        &self,
        _: Request<Streaming<pb::ImageChunk>>,
    ) -> Result<Response<pb::ImageInfo>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    async fn put_tensor(
        &self,
        _: Request<Streaming<pb::TensorChunk>>,
    ) -> Result<Response<pb::StoredTensor>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    type GetTensorStream = Unsupported<pb::TensorChunk>;

    async fn get_tensor(
        &self,
        _: Request<pb::TensorRef>,
    ) -> Result<Response<Self::GetTensorStream>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    async fn stat_tensor(
        &self,
        _: Request<pb::TensorRef>,
    ) -> Result<Response<pb::StoredTensor>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    async fn delete_tensor(
        &self,
        _: Request<pb::TensorRef>,
    ) -> Result<Response<pb::StoredTensor>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    async fn list_tensors(
        &self,
        _: Request<pb::ListTensorsRequest>,
    ) -> Result<Response<pb::ListTensorsResponse>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    async fn describe_stored(
        &self,
        _: Request<pb::TensorRef>,
    ) -> Result<Response<pb::TensorInfo>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }

    async fn apply_keep(
        &self,
        _: Request<pb::ApplyRequest>,
    ) -> Result<Response<pb::StoredTensor>, Status> {
        Err(Status::unimplemented("plain baseline"))
    }
}

/// HTTP/2 settings of a plain tonic server and its client.
#[derive(Clone, Copy, Debug)]
enum Transport {
    /// tonic's defaults on both sides.
    Defaults,
    /// The settings our server and client use: 8 MiB stream and 16 MiB
    /// connection windows, 1 MiB frames.
    Windows,
    /// tonic's defaults plus `http2_adaptive_window` on both sides.
    Adaptive,
}

/// Starts a plain server on 127.0.0.1:0 on a runtime of its own (two worker
/// threads, like the real server on this machine).
fn start_plain_server(transport: Transport) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("plain server runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the plain server");
            tx.send(listener.local_addr().expect("address"))
                .expect("send the address");
            let builder = tonic::transport::Server::builder();
            let mut builder = match transport {
                Transport::Defaults => builder,
                Transport::Windows => builder
                    .initial_stream_window_size(Some(8 << 20))
                    .initial_connection_window_size(Some(16 << 20))
                    .max_frame_size(Some(1 << 20)),
                Transport::Adaptive => builder.http2_adaptive_window(Some(true)),
            };
            builder
                .add_service(TensorServiceServer::new(PlainService))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .expect("plain server");
        });
    });
    rx.recv().expect("plain server address")
}

/// A plain tonic client of `url` with `transport`'s settings.
async fn plain_client(
    url: &str,
    transport: Transport,
) -> Result<TensorServiceClient<Channel>, tonic::transport::Error> {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())?;
    let endpoint = match transport {
        Transport::Defaults => endpoint,
        Transport::Windows => endpoint
            .initial_stream_window_size(Some(8 << 20))
            .initial_connection_window_size(Some(16 << 20))
            .max_frame_size(Some(1 << 20)),
        Transport::Adaptive => endpoint.http2_adaptive_window(true),
    };
    Ok(TensorServiceClient::new(endpoint.connect().await?))
}

/// The plain tonic upload: the generated client, default channel, header
/// then 1 MiB pieces (slices of the tensor, not copies).
async fn plain_upload(
    client: &mut TensorServiceClient<Channel>,
    tensor: &Tensor,
) -> Result<pb::TensorInfo, Status> {
    let header = pb::TensorChunk {
        part: Some(pb::tensor_chunk::Part::Header(
            tensorwire::proto::header_to_wire(tensor.dtype(), tensor.shape()),
        )),
    };
    let data = tensor.data().clone();
    let pieces = (0..data.len())
        .step_by(PLAIN_PIECE)
        .map(move |at| pb::TensorChunk {
            part: Some(pb::tensor_chunk::Part::Data(
                data.slice(at..(at + PLAIN_PIECE).min(data.len())),
            )),
        });
    let messages = futures::stream::iter(std::iter::once(header).chain(pieces));
    Ok(client.describe_stream(messages).await?.into_inner())
}

/// Our client, as the CLI and the gateway use it.
async fn our_upload(
    client: &mut Client,
    tensor: &Tensor,
) -> Result<(), Box<dyn std::error::Error>> {
    client.describe(tensor).await?;
    Ok(())
}

fn line(name: &str, time: Duration, bytes: f64, plain: Duration) {
    let gib = (1u64 << 30) as f64;
    println!(
        "  {name:<34} median {:7.1} ms = {:.2} GiB/s  ({:.2} x plain)",
        time.as_secs_f64() * 1e3,
        bytes / gib / time.as_secs_f64(),
        plain.as_secs_f64() / time.as_secs_f64(),
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let runs: usize = std::env::args()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let options = ClientOptions {
        stream_threshold: 0,
        chunk_bytes: std::env::var("STREAM_BENCH_CHUNK")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(ClientOptions::default().chunk_bytes),
        ..Default::default()
    };
    let chunk_bytes = options.chunk_bytes;
    let mut client = Client::connect_with(&url, options.clone()).await?;

    let tensor = tensor_f32(64 << 20); // 256 MiB of float32
    let bytes = tensor.nbytes() as f64;

    // The plain baselines, and the two crossings with the plain server of
    // the same HTTP/2 settings as ours.
    let mut plains = Vec::new();
    for transport in [Transport::Defaults, Transport::Windows, Transport::Adaptive] {
        let url = format!("http://{}", start_plain_server(transport));
        plains.push((transport, url.clone(), plain_client(&url, transport).await?));
    }
    let windows_url = plains[1].1.clone();
    let mut ours_to_plain = Client::connect_with(&windows_url, options).await?;
    let mut plain_to_ours = plain_client(&url, Transport::Windows).await?;

    // One warm-up call on each connection, then interleaved runs.
    our_upload(&mut client, &tensor).await?;
    our_upload(&mut ours_to_plain, &tensor).await?;
    plain_upload(&mut plain_to_ours, &tensor).await?;
    for (_, _, plain) in &mut plains {
        plain_upload(plain, &tensor).await?;
    }
    let mut ours = Vec::new();
    let mut crossings: [Vec<Duration>; 2] = Default::default();
    let mut plain_times = vec![Vec::new(); plains.len()];
    for _ in 0..runs {
        let t = Instant::now();
        our_upload(&mut client, &tensor).await?;
        ours.push(t.elapsed());
        for ((_, _, plain), times) in plains.iter_mut().zip(&mut plain_times) {
            let t = Instant::now();
            let info = plain_upload(plain, &tensor).await?;
            times.push(t.elapsed());
            assert_eq!(info.nbytes, tensor.nbytes() as u64);
        }
        let t = Instant::now();
        our_upload(&mut ours_to_plain, &tensor).await?;
        crossings[0].push(t.elapsed());
        let t = Instant::now();
        plain_upload(&mut plain_to_ours, &tensor).await?;
        crossings[1].push(t.elapsed());
    }
    let ours = median(ours);
    let plain_medians: Vec<Duration> = plain_times.into_iter().map(median).collect();
    let [ours_plain, plain_ours] = crossings.map(median);
    // The reference is the plain tonic upload with our HTTP/2 settings.
    let plain = plain_medians[1];
    println!(
        "DescribeStream 256 MiB upload, medians of {runs} interleaved runs \
         (ours: {} KiB pieces; plain tonic: {} KiB pieces; ratio = plain (windows) time / time):",
        chunk_bytes >> 10,
        PLAIN_PIECE >> 10
    );
    line("ours (client -> server)", ours, bytes, plain);
    for ((transport, _, _), time) in plains.iter().zip(&plain_medians) {
        line(&format!("plain tonic, {transport:?}"), *time, bytes, plain);
    }
    line(
        "our client -> plain server (Windows)",
        ours_plain,
        bytes,
        plain,
    );
    line(
        "plain client (Windows) -> our server",
        plain_ours,
        bytes,
        plain,
    );
    if std::env::var_os("STREAM_BENCH_UPLOAD_ONLY").is_some() {
        return Ok(());
    }
    let upload = ours;

    let params = pb::GaussianParams {
        sigma: vec![1.0],
        ..Default::default()
    };
    let engine_params = tensorwire::proto::params_from_wire(params.clone())?;
    let mut filters = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out =
            tensorwire::filter::gaussian_filter(&tensor, &engine_params, &Default::default())?;
        filters.push(t.elapsed());
        drop(out);
    }
    let filter = median(filters);
    let mut ends = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        client.gaussian_filter(&tensor, &params).await?;
        ends.push(t.elapsed());
    }
    let end_to_end = median(ends);
    // Transfer = the upload measured above, twice (the result comes back the same size).
    let transfer = upload * 2;
    println!(
        "engine filter 256 MiB float32 sigma 1: median {:.1} ms",
        filter.as_secs_f64() * 1e3
    );
    println!(
        "GaussianFilterStream end to end: median {:.1} ms",
        end_to_end.as_secs_f64() * 1e3
    );
    println!(
        "end-to-end / (filter + 1.5 x transfer) = {:.2} (target <= 1.00; transfer = 2 x upload = {:.1} ms)",
        end_to_end.as_secs_f64() / (filter.as_secs_f64() + 1.5 * transfer.as_secs_f64()),
        transfer.as_secs_f64() * 1e3
    );

    let big = tensor_f32(256 << 20); // 1 GiB
    let t = Instant::now();
    let out = client.gaussian_filter(&big, &params).await?;
    println!(
        "GaussianFilterStream 1 GiB float32: {:.2} s, {} bytes back",
        t.elapsed().as_secs_f64(),
        out.nbytes()
    );
    Ok(())
}
