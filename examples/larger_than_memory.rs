//! A float32 tensor larger than memory through `GaussianFilterStream`, for
//! `bench/larger_than_memory.sh`.
//!
//! The tensor (shape `[rows, 256, 256]`, `--gib` GiB) is generated row by row
//! as it is sent, and the answer is read at the same time. Every
//! `--check-every`-th block of 64 result rows is compared with the engine run
//! in this process on the same input rows plus an 8-row halo (σ 2, truncate
//! 4: radius 8), and `--dump DIR` writes the first, a middle and the last
//! block (input with halo, result rows) as `.npy` files for a scipy check.
//!
//! Modes, each timed on its own over the same data:
//! - `filter`: the stream itself (σ 2 along all axes);
//! - `upload`: `DescribeStream` of the same data (upload alone);
//! - `identity`: `GaussianFilterStream` with σ 0 (no pass: the server copies),
//!   upload and download of the same bytes with no engine;
//! - `engine`: this process's engine over the same rows, cut into the
//!   server's slabs (`SlabPlan` with the default slab size), no network.
//!
//! ```sh
//! cargo run --release --example larger_than_memory -- http://127.0.0.1:50051 filter --gib 2
//! ```

use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use tensorwire::client::{Client, ClientOptions};
use tensorwire::filter::{FilterLimits, GaussianParams, SlabCutter, SlabPlan, gaussian_filter};
use tensorwire::proto::pb;
use tensorwire::tensor::{DType, Tensor, TensorLimits};

const ROW_LEN: usize = 256 * 256;
const ROW_BYTES: usize = ROW_LEN * 4;
const HALO: usize = 8;
const BLOCK: usize = 64;
/// Rows per upload piece (1 MiB).
const PIECE_ROWS: usize = 4;

fn value(row: usize, i: usize) -> f32 {
    let h = (row.wrapping_mul(0x9e37_79b9) ^ i.wrapping_mul(2_654_435_761)) % 10_007;
    h as f32 / 13.0 - 300.0
}

fn rows_bytes(rows: std::ops::Range<usize>) -> Bytes {
    let mut out = Vec::with_capacity(rows.len() * ROW_BYTES);
    for row in rows {
        for i in 0..ROW_LEN {
            out.extend_from_slice(&value(row, i).to_le_bytes());
        }
    }
    Bytes::from(out)
}

fn tensor(rows: usize, data: Bytes) -> Tensor {
    Tensor::new(
        DType::Float32,
        &[rows as u64, 256, 256],
        data,
        &TensorLimits {
            max_rank: 8,
            max_bytes: u64::MAX,
        },
    )
    .expect("valid tensor")
}

/// The data as pieces of `PIECE_ROWS` rows, generated as they are sent.
fn pieces(n: usize) -> impl futures::Stream<Item = Bytes> + Send + 'static {
    futures::stream::iter((0..n).step_by(PIECE_ROWS))
        .map(move |first| rows_bytes(first..(first + PIECE_ROWS).min(n)))
}

/// Result rows `rows` checked against the engine on the same rows plus halo
/// (clipped at the ends, where the sub-tensor's reflect boundary is the
/// tensor's own); optionally written out for scipy.
fn check(rows: std::ops::Range<usize>, n: usize, got: &[u8], dump: Option<&std::path::Path>) {
    let lo = rows.start.saturating_sub(HALO);
    let hi = (rows.end + HALO).min(n);
    let sub = tensor(hi - lo, rows_bytes(lo..hi));
    let want = gaussian_filter(
        &sub,
        &GaussianParams::with_sigma(2.0),
        &FilterLimits::default(),
    )
    .expect("filter");
    let from = (rows.start - lo) * ROW_BYTES;
    let want = &want.data()[from..from + rows.len() * ROW_BYTES];
    assert!(got == want, "result rows {rows:?} differ from the engine's");
    if let Some(dir) = dump {
        let name = format!("block_{:09}", rows.start);
        std::fs::write(
            dir.join(format!("{name}_in.npy")),
            tensorwire::npy::write_npy(&sub),
        )
        .expect("write dump");
        let out = tensor(rows.len(), Bytes::copy_from_slice(got));
        std::fs::write(
            dir.join(format!("{name}_out.npy")),
            tensorwire::npy::write_npy(&out),
        )
        .expect("write dump");
        std::fs::write(
            dir.join(format!("{name}.txt")),
            format!("{} {} {} {}\n", lo, hi, rows.start, rows.end),
        )
        .expect("write dump");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or("http://127.0.0.1:50051".into());
    let mode = args.get(2).cloned().unwrap_or("filter".into());
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let gib: f64 = flag("--gib").map_or(Ok(32.0), |v| v.parse())?;
    let check_every: usize = flag("--check-every").map_or(Ok(1), |v| v.parse())?;
    let dump = flag("--dump").map(std::path::PathBuf::from);
    let n = ((gib * (1u64 << 30) as f64) as usize / ROW_BYTES).max(2 * HALO + 2);
    let nbytes = n * ROW_BYTES;
    let shape = [n, 256, 256];
    let started = Instant::now();
    match mode.as_str() {
        "engine" => {
            let params = GaussianParams::with_sigma(2.0);
            let plan = tensorwire::filter::plan(
                DType::Float32,
                &shape,
                &params,
                &FilterLimits {
                    max_output_bytes: u64::MAX,
                    max_taps: u64::MAX,
                    ..FilterLimits::default()
                },
            )?;
            let slab_bytes = tensorwire::config::Limits::default().stream_slab_bytes as usize;
            let slabs = std::sync::Arc::new(SlabPlan::new(plan, slab_bytes));
            let mut cutter = SlabCutter::new(std::sync::Arc::clone(&slabs));
            let mut out = 0usize;
            for first in (0..n).step_by(PIECE_ROWS) {
                cutter.push(&rows_bytes(first..(first + PIECE_ROWS).min(n)));
                while let Some(job) = cutter.next_job() {
                    out += slabs.run(&job).len();
                }
            }
            assert_eq!(out, nbytes);
        }
        "upload" => {
            let mut client = Client::connect_with(&url, options()).await?;
            let info = client
                .describe_pieces(DType::Float32, &shape, pieces(n))
                .await?;
            assert_eq!(info.nbytes as usize, nbytes);
        }
        "filter" | "identity" => {
            let sigma = if mode == "filter" { 2.0 } else { 0.0 };
            let mut client = Client::connect_with(&url, options()).await?;
            let params = pb::GaussianParams {
                sigma: vec![sigma],
                ..Default::default()
            };
            let mut answer = client
                .gaussian_filter_pieces(DType::Float32, &shape, &params, pieces(n))
                .await?;
            // Only the blocks that are checked are gathered: the others are
            // counted and dropped, as a client that streams its result on
            // (to a file, the next stage) would, with no copy of its own.
            let mut gathered = Vec::new();
            let (mut done, mut block, mut in_block) = (0, 0, 0);
            if let Some(dir) = &dump {
                std::fs::create_dir_all(dir)?;
            }
            let last_block = (n - 1) / BLOCK;
            while let Some(mut piece) = answer.next_piece().await? {
                if mode == "identity" {
                    done += piece.len() / ROW_BYTES;
                    continue;
                }
                while !piece.is_empty() {
                    assert!(done < n, "more rows came back than were sent");
                    let rows = BLOCK.min(n - done);
                    let take = (rows * ROW_BYTES - in_block).min(piece.len());
                    let sample = block == 0 || block == last_block || block == last_block / 2;
                    let checked = block % check_every == 0 || sample;
                    if checked {
                        gathered.extend_from_slice(&piece[..take]);
                    }
                    piece = piece.slice(take..);
                    in_block += take;
                    if in_block == rows * ROW_BYTES {
                        if checked {
                            let to = if sample { dump.as_deref() } else { None };
                            check(done..done + rows, n, &gathered, to);
                            gathered.clear();
                        }
                        done += rows;
                        block += 1;
                        in_block = 0;
                    }
                }
            }
            if mode == "filter" {
                assert_eq!(done, n, "every row came back");
            }
        }
        other => return Err(format!("unknown mode {other:?}").into()),
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{mode} {:.3} GiB {secs:.2} s {:.0} MiB/s, client CPU {:.2} s",
        nbytes as f64 / (1u64 << 30) as f64,
        nbytes as f64 / (1 << 20) as f64 / secs,
        cpu_seconds()
    );
    Ok(())
}

/// User + system CPU seconds of this process so far (all threads): what
/// the client's generation, checks and network code cost, next to the
/// server's, on the same two cores.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes one `rusage` into the zeroed value it is
    // given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn options() -> ClientOptions {
    ClientOptions {
        max_answer_bytes: u64::MAX,
        ..ClientOptions::default()
    }
}
