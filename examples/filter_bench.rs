//! Times the engine on one `.npy` file, for `bench/filter_vs_scipy.sh` (and
//! its `ops` table): reads the input, runs the operation (`--op`,
//! `gaussian_filter` by default) `--runs` times, writes the last result as
//! `.npy` and prints the median time.
//!
//! usage: cargo run --release --example filter_bench -- IN.npy OUT.npy
//!        --sigma S [--sigma S ...] [--order N] [--mode NAME] [--axis N]
//!        [--op NAME] [--runs N]

use std::time::Instant;

use bytes::Bytes;
use tensorwire::filter::{BoundaryMode, FilterLimits, GaussianParams};
use tensorwire::npy::{read_npy, write_npy};
use tensorwire::tensor::TensorLimits;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: filter_bench IN.npy OUT.npy --sigma S [--order N] [--mode NAME] [--axis N] [--op NAME] [--runs N]";
    let (input, output) = match (args.first(), args.get(1)) {
        (Some(i), Some(o)) => (i.clone(), o.clone()),
        _ => return Err(usage.into()),
    };
    let mut params = GaussianParams::default();
    let mut runs = 10usize;
    let mut op = tensorwire::ops::by_name("gaussian_filter").ok_or("no gaussian_filter")?;
    let mut rest = args[2..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or(usage)?;
        match flag.as_str() {
            "--sigma" => params.sigma.push(value.parse()?),
            "--order" => params.order.push(value.parse()?),
            "--mode" => params
                .mode
                .push(BoundaryMode::from_name(value).ok_or("unknown mode")?),
            "--axis" => params.axes.push(value.parse()?),
            "--runs" => runs = value.parse()?,
            "--op" => op = tensorwire::ops::by_name(value).ok_or("unknown operation")?,
            _ => return Err(usage.into()),
        }
    }
    let limits = TensorLimits {
        max_rank: 32,
        max_bytes: u64::MAX,
    };
    let tensor = read_npy(Bytes::from(std::fs::read(&input)?), &limits)?;
    let plan = op.plan(
        tensor.dtype(),
        tensor.shape(),
        &params,
        &FilterLimits::default(),
    )?;
    let mut times = Vec::with_capacity(runs);
    let mut result = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let out = plan.run(&tensor);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        // Dropped outside the timed region, as NumPy frees outside timeit too.
        result = Some(out);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    if let Some(out) = result {
        std::fs::write(&output, write_npy(&out))?;
    }
    println!(
        "median_ms {median:.3} min_ms {:.3} runs {}",
        times[0],
        times.len()
    );
    Ok(())
}
