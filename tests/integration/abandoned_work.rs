//! A computation abandoned by its client (cancelled, or past its deadline)
//! cannot be stopped, so it keeps its memory reservation (and its
//! computation slot) until its work ends: otherwise cancelled calls could
//! run any number of computations at once, over the limits.
//!
//! In a file of its own: the abandoned filter keeps both cores busy for a
//! second or two, which would slow the timed checks of other tests running
//! beside it in the same process.

use crate::common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use tensorwire::config::ServeConfig;
use tensorwire::proto::pb;
use tonic::Code;

/// A 512×512 float64 filter request (2 MiB in, 2 MiB out) with `radius`.
fn float64_filter(radius: u32) -> pb::GaussianFilterRequest {
    let data: Vec<u8> = (0..512 * 512)
        .flat_map(|i| f64::from(i % 251).to_le_bytes())
        .collect();
    pb::GaussianFilterRequest {
        tensor: Some(pb::Tensor {
            dtype: pb::DType::DtypeFloat64 as i32,
            shape: vec![512, 512],
            data: Bytes::from(data),
        }),
        params: Some(pb::GaussianParams {
            sigma: vec![1.0],
            radius: vec![radius],
            ..Default::default()
        }),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_filter_keeps_its_reservation_until_its_work_ends() {
    let mut config = ServeConfig::ephemeral();
    // A call reserves its 2 MiB message while it is read, then 4 MiB (input
    // and result) while it computes: room for one call at a time.
    config.limits.memory_budget = (6 << 20) + (64 << 10);
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;

    // A long computation (radius 2000: 2·10⁹ taps, seconds of work) whose
    // client gives up after 200 ms. The engine cannot be stopped mid-way,
    // so the work runs on; its reservation must stay with it.
    let mut slow = tonic::Request::new(float64_filter(2000));
    slow.set_timeout(Duration::from_millis(200));
    let status = client.gaussian_filter(slow).await.map(|_| ()).unwrap_err();
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );

    // Right after: the budget is still taken, so the same request is busy.
    let status = client
        .gaussian_filter(float64_filter(2))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.metadata().get("retry-after").is_some(),
        "a busy refusal says when to retry: {status:?}"
    );

    // Once the abandoned work ends, the bytes come back.
    let started = Instant::now();
    loop {
        match client.gaussian_filter(float64_filter(2)).await.map(|_| ()) {
            Ok(()) => break,
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert!(
                    started.elapsed() < Duration::from_secs(300),
                    "the reservation never came back: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => panic!("unexpected refusal: {status:?}"),
        }
    }
}
