//! Streaming throughput of a running server, for `bench/streaming.sh`.
//!
//! Prints, for a 256 MiB float32 tensor: the `DescribeStream` upload rate,
//! the end-to-end time of `GaussianFilterStream`, the filter time of the
//! engine alone in this process on the same data, and the ratio the issue
//! asks for; then sends one 1 GiB `GaussianFilterStream` so the script can
//! read the server's peak memory.
//!
//! ```sh
//! cargo run --release --example stream_bench -- http://127.0.0.1:50051 [runs]
//! ```

use std::time::{Duration, Instant};

use tensorwire::client::{Client, ClientOptions};
use tensorwire::proto::pb;
use tensorwire::tensor::Tensor;

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let runs: usize = std::env::args()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let mut client = Client::connect_with(
        &url,
        ClientOptions {
            stream_threshold: 0,
            ..Default::default()
        },
    )
    .await?;
    let gib = (1u64 << 30) as f64;

    let tensor = tensor_f32(64 << 20); // 256 MiB of float32
    let bytes = tensor.nbytes() as f64;
    let mut uploads = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        client.describe(&tensor).await?;
        uploads.push(t.elapsed());
    }
    let upload = median(uploads);
    println!(
        "DescribeStream 256 MiB upload: median {:.1} ms = {:.2} GiB/s",
        upload.as_secs_f64() * 1e3,
        bytes / gib / upload.as_secs_f64()
    );

    let params = pb::GaussianParams {
        sigma: vec![1.0],
        ..Default::default()
    };
    let engine_params = tensorwire::service::params_from_wire(params.clone())?;
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
