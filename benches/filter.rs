//! Criterion benchmarks of the Gaussian filter engine on the two workloads
//! of issue #3, next to a memcpy of the same byte size into a fresh buffer
//! (the memory-bandwidth floor: one read and one write of the array).
//!
//! Run: `cargo bench --bench filter`. The comparison with scipy itself is
//! `bench/filter_vs_scipy.sh`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tensorwire::filter::{FilterLimits, GaussianParams, plan};
use tensorwire::tensor::{DType, Tensor, TensorLimits};

/// Deterministic pseudo-random bytes (xorshift), so runs compare.
fn noise(len: usize, mut state: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn tensor(dtype: DType, shape: &[u64], data: Vec<u8>) -> Tensor {
    let limits = TensorLimits {
        max_rank: 8,
        max_bytes: u64::MAX,
    };
    Tensor::new(dtype, shape, Bytes::from(data), &limits).expect("valid benchmark tensor")
}

/// 1024×768×3 int32 (an RGB image), sigma 0.5 on every axis.
fn seed_image() -> Tensor {
    let data: Vec<u8> = noise(1024 * 768 * 3, 1)
        .into_iter()
        .flat_map(|b| i32::from(b).to_le_bytes())
        .collect();
    tensor(DType::Int32, &[1024, 768, 3], data)
}

/// 4096×4096 float64 in [0, 1).
fn big_float() -> Tensor {
    let data: Vec<u8> = noise(4096 * 4096 * 8, 2)
        .chunks_exact(8)
        .flat_map(|c| {
            let v = (u64::from_le_bytes(c.try_into().expect("8 bytes")) >> 11) as f64
                / (1u64 << 53) as f64;
            v.to_le_bytes()
        })
        .collect();
    tensor(DType::Float64, &[4096, 4096], data)
}

fn bench_workload(c: &mut Criterion, name: &str, input: &Tensor, sigma: f64) {
    let params = GaussianParams::with_sigma(sigma);
    let plan = plan(
        input.dtype(),
        input.shape(),
        &params,
        &FilterLimits::default(),
    )
    .expect("valid parameters");
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(input.nbytes() as u64));
    group.sample_size(20);
    group.bench_function("gaussian_filter", |b| {
        b.iter(|| black_box(plan.run(black_box(input))))
    });
    // A copy into a new allocation pays the page faults a result pays...
    group.bench_function("memcpy_to_new_buffer", |b| {
        b.iter(|| black_box(black_box(input.data().as_ref()).to_vec()))
    });
    // ...a copy into a buffer already mapped is the pure bandwidth floor.
    let mut target = vec![0u8; input.nbytes()];
    group.bench_function("memcpy_to_mapped_buffer", |b| {
        b.iter(|| {
            target.copy_from_slice(black_box(input.data().as_ref()));
            black_box(&target);
        })
    });
    group.finish();
}

fn workloads(c: &mut Criterion) {
    bench_workload(c, "seed_1024x768x3_int32_sigma0.5", &seed_image(), 0.5);
    bench_workload(c, "float64_4096x4096_sigma2", &big_float(), 2.0);
}

criterion_group!(benches, workloads);
criterion_main!(benches);
