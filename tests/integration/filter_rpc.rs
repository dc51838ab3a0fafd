//! `GaussianFilter` and `GaussianFilterStream` over the network: results
//! equal the engine's, streams of any piece size equal the unary call, and
//! malformed or oversized calls are refused with the right status.

use crate::common;

use bytes::Bytes;
use futures::StreamExt;
use tensorwire::config::ServeConfig;
use tensorwire::filter::gaussian_filter;
use tensorwire::proto::pb::{self, gaussian_filter_chunk::Part};
use tensorwire::proto::{tensor_from_wire, tensor_to_wire};
use tensorwire::tensor::{Tensor, TensorLimits};
use tonic::Code;

fn ramp_f32(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|i| ((i * 2654435761) % 1000) as f32 / 7.0)
        .collect();
    Tensor::from_array(&ndarray::ArrayD::from_shape_vec(shape.to_vec(), values).unwrap())
}

fn params(sigma: &[f64]) -> pb::GaussianParams {
    pb::GaussianParams {
        sigma: sigma.to_vec(),
        ..Default::default()
    }
}

fn start(header: &Tensor, p: pb::GaussianParams) -> pb::GaussianFilterChunk {
    pb::GaussianFilterChunk {
        part: Some(Part::Start(pb::GaussianFilterStart {
            header: Some(tensorwire::proto::header_to_wire(
                header.dtype(),
                header.shape(),
            )),
            params: Some(p),
        })),
    }
}

fn data(piece: Bytes) -> pb::GaussianFilterChunk {
    pb::GaussianFilterChunk {
        part: Some(Part::Data(piece)),
    }
}

/// Collects a streamed answer into a tensor, checking its framing.
async fn collect(mut answer: tonic::Streaming<pb::TensorChunk>) -> Tensor {
    let first = answer.message().await.unwrap().unwrap();
    let Some(pb::tensor_chunk::Part::Header(header)) = first.part else {
        panic!("the answer must start with a header");
    };
    let mut buffer = Vec::new();
    while let Some(m) = answer.message().await.unwrap() {
        match m.part {
            Some(pb::tensor_chunk::Part::Data(d)) => buffer.extend_from_slice(&d),
            other => panic!("unexpected message {other:?}"),
        }
    }
    tensor_from_wire(
        pb::Tensor {
            dtype: header.dtype,
            shape: header.shape,
            data: Bytes::from(buffer),
        },
        &TensorLimits {
            max_rank: 32,
            max_bytes: u64::MAX,
        },
    )
    .unwrap()
}

#[tokio::test]
async fn unary_filter_equals_the_engine() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    let input = ramp_f32(&[31, 17, 3]);
    let p = pb::GaussianParams {
        sigma: vec![1.5, 0.7],
        mode: vec![pb::Mode::Wrap as i32, pb::Mode::Constant as i32],
        cval: 2.0,
        axes: vec![1, 0],
        order: vec![0, 1],
        ..Default::default()
    };
    let answer = client
        .gaussian_filter(pb::GaussianFilterRequest {
            tensor: Some(tensor_to_wire(input.clone())),
            params: Some(p.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    let expected = gaussian_filter(
        &input,
        &tensorwire::proto::params_from_wire(p).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let got = tensor_from_wire(answer, &TensorLimits::default()).unwrap();
    assert_eq!(got, expected);
    assert_ne!(got, input, "the filter changed nothing");
}

#[tokio::test]
async fn stream_equals_unary_for_any_piece_size() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    let input = ramp_f32(&[64, 50]);
    let unary = client
        .gaussian_filter(pb::GaussianFilterRequest {
            tensor: Some(tensor_to_wire(input.clone())),
            params: Some(params(&[2.0])),
        })
        .await
        .unwrap()
        .into_inner();
    let unary = tensor_from_wire(unary, &TensorLimits::default()).unwrap();
    for piece in [1usize, 999, 4096, 1 << 20] {
        let mut messages = vec![start(&input, params(&[2.0]))];
        messages.extend(
            input
                .data()
                .chunks(piece)
                .map(|p| data(Bytes::copy_from_slice(p))),
        );
        let answer = client
            .gaussian_filter_stream(futures::stream::iter(messages))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(collect(answer).await, unary, "piece {piece}");
    }
}

#[tokio::test]
async fn a_256_mib_tensor_streams_through_both_rpcs() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    let input = ramp_f32(&[64, 1024, 1024]);
    assert_eq!(input.nbytes(), 256 << 20);
    let pieces = || {
        let d = input.data().clone();
        futures::stream::iter(
            (0..d.len())
                .step_by(1 << 20)
                .map(move |i| d.slice(i..(i + (1 << 20)).min(d.len()))),
        )
    };
    let header = pb::TensorChunk {
        part: Some(pb::tensor_chunk::Part::Header(
            tensorwire::proto::header_to_wire(input.dtype(), input.shape()),
        )),
    };
    let described = client
        .describe_stream(
            futures::stream::iter([header]).chain(pieces().map(|d| pb::TensorChunk {
                part: Some(pb::tensor_chunk::Part::Data(d)),
            })),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(described.nbytes, 256 << 20);

    let p = pb::GaussianParams {
        sigma: vec![1.0],
        axes: vec![1, 2],
        ..Default::default()
    };
    let messages = futures::stream::iter([start(&input, p.clone())]).chain(pieces().map(data));
    let answer = client
        .gaussian_filter_stream(messages)
        .await
        .unwrap()
        .into_inner();
    let got = collect(answer).await;
    assert_eq!(got.shape(), input.shape());
    // Compare one slab with the engine run locally on that slab alone (the
    // filter does not cross axis 0 here).
    let slab_bytes = 1024 * 1024 * 4;
    let slab = Tensor::new(
        input.dtype(),
        &[1, 1024, 1024],
        input.data().slice(..slab_bytes),
        &TensorLimits::default(),
    )
    .unwrap();
    let expected = gaussian_filter(
        &slab,
        &tensorwire::proto::params_from_wire(p).unwrap(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(&got.data()[..slab_bytes], &expected.data()[..]);
}

#[tokio::test]
async fn malformed_filter_streams_are_refused() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    let input = ramp_f32(&[4]);
    let d = |n: usize| data(Bytes::from(vec![0u8; n]));
    let no_header = pb::GaussianFilterChunk {
        part: Some(Part::Start(pb::GaussianFilterStart {
            header: None,
            params: Some(params(&[1.0])),
        })),
    };
    let cases: Vec<(Vec<pb::GaussianFilterChunk>, &str)> = vec![
        (vec![], "ended before its header"),
        (vec![d(16)], "first message must be the header"),
        (vec![no_header], "no tensor header"),
        (
            vec![
                start(&input, params(&[1.0])),
                d(8),
                start(&input, params(&[1.0])),
            ],
            "second header",
        ),
        (vec![start(&input, params(&[1.0])), d(17)], "overruns"),
        (vec![start(&input, params(&[1.0])), d(15)], "ended after 15"),
        (vec![start(&input, params(&[]))], "sigma is required"),
        (
            vec![start(
                &input,
                pb::GaussianParams {
                    sigma: vec![1.0],
                    mode: vec![42],
                    ..Default::default()
                },
            )],
            "mode 42",
        ),
        (
            vec![start(
                &input,
                pb::GaussianParams {
                    sigma: vec![1.0],
                    order: vec![4],
                    ..Default::default()
                },
            )],
            "order 4",
        ),
        (
            vec![start(
                &input,
                pb::GaussianParams {
                    sigma: vec![1.0],
                    axes: vec![3],
                    ..Default::default()
                },
            )],
            "out of range",
        ),
        (
            vec![start(
                &input,
                pb::GaussianParams {
                    sigma: vec![1.0],
                    radius: vec![1_000_000],
                    ..Default::default()
                },
            )],
            "exceeds the limit",
        ),
    ];
    for (messages, needle) in cases {
        let status = match client
            .gaussian_filter_stream(futures::stream::iter(messages))
            .await
        {
            Err(status) => status,
            // A stream whose start message is valid is answered with the
            // result's header at once; errors in its data end the answer.
            Ok(answer) => {
                let mut answer = answer.into_inner();
                loop {
                    match answer.next().await.expect("the answer ends with an error") {
                        Err(status) => break status,
                        Ok(pb::TensorChunk {
                            part: Some(pb::tensor_chunk::Part::Header(_)),
                        }) => {}
                        Ok(other) => panic!("{needle:?}: answered {other:?}"),
                    }
                }
            }
        };
        assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
        assert!(
            status.message().contains(needle),
            "{:?} lacks {needle:?}",
            status.message()
        );
    }
    let ok = client
        .gaussian_filter(pb::GaussianFilterRequest {
            tensor: Some(tensor_to_wire(input)),
            params: Some(params(&[1.0])),
        })
        .await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test]
async fn unary_filter_refuses_a_missing_tensor_and_an_oversized_result() {
    let mut config = ServeConfig::ephemeral();
    config.limits.max_message_bytes = 1 << 20;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;
    let status = client
        .gaussian_filter(pb::GaussianFilterRequest {
            tensor: None,
            params: Some(params(&[1.0])),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("no tensor"),
        "{}",
        status.message()
    );
    // 200 KiB of uint8 in, 1.6 MiB of float64 out: over the 1 MiB message cap.
    let input = Tensor::new(
        tensorwire::tensor::DType::UInt8,
        &[200 * 1024],
        Bytes::from(vec![1u8; 200 * 1024]),
        &TensorLimits::default(),
    )
    .unwrap();
    let p = pb::GaussianParams {
        sigma: vec![1.0],
        output_dtype: pb::DType::DtypeFloat64 as i32,
        ..Default::default()
    };
    let status = client
        .gaussian_filter(pb::GaussianFilterRequest {
            tensor: Some(tensor_to_wire(input)),
            params: Some(p),
        })
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("GaussianFilterStream"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_cancelled_upload_gives_its_reservation_back() {
    let mut config = ServeConfig::ephemeral();
    // Room for one 64 MiB float32 filter (input + result), not two.
    config.limits.memory_budget = 160 << 20;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;
    let input = ramp_f32(&[16, 1024, 1024]);
    let p = params(&[1.0]);

    // Upload half, then hold the stream open while a second call arrives.
    let (sender, receiver) = tokio::sync::mpsc::channel::<pb::GaussianFilterChunk>(4);
    sender.send(start(&input, p.clone())).await.unwrap();
    sender
        .send(data(input.data().slice(..32 << 20)))
        .await
        .unwrap();
    let mut first_client = client.clone();
    let first = tokio::spawn(async move {
        first_client
            .gaussian_filter_stream(tokio_stream::wrappers::ReceiverStream::new(receiver))
            .await
    });
    // While the first upload holds its reservation, the same size is refused.
    let mut refused = None;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let probe = futures::stream::iter(vec![start(&input, p.clone())]);
        match client.gaussian_filter_stream(probe).await {
            Err(status) if status.code() == Code::ResourceExhausted => {
                refused = Some(status);
                break;
            }
            _ => {}
        }
    }
    let refused =
        refused.expect("a second 64 MiB call was not refused while the first held the budget");
    assert!(refused.message().contains("busy"), "{}", refused.message());

    // Cancel the first: drop its request stream and its call.
    first.abort();
    drop(sender);

    // The reservation comes back once the server has read the end of the
    // cut-short upload (32 MiB to move first: allow a loaded machine 10 s).
    let started = std::time::Instant::now();
    let answer = loop {
        let all = input.data().clone();
        let messages =
            futures::stream::iter([start(&input, p.clone())]).chain(futures::stream::iter(
                (0..all.len())
                    .step_by(1 << 20)
                    .map(move |i| data(all.slice(i..i + (1 << 20)))),
            ));
        match client.gaussian_filter_stream(messages).await {
            Ok(answer) => break answer,
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(10),
                    "not accepted after the cancel: {status:?}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    };
    let got = collect(answer.into_inner()).await;
    assert_eq!(got.shape(), input.shape());
}
