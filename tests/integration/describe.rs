//! `Describe` and `DescribeStream` over the network, as a gRPC client sees them.

use crate::common;

use bytes::Bytes;
use tensorwire::config::ServeConfig;
use tensorwire::proto::pb::{self, tensor_chunk::Part};
use tonic::Code;

fn tensor(dtype: pb::DType, shape: &[u64], data: Vec<u8>) -> pb::Tensor {
    pb::Tensor {
        dtype: dtype as i32,
        shape: shape.to_vec(),
        data: Bytes::from(data),
    }
}

fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[tokio::test]
async fn describe_reports_shape_size_and_statistics() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    let info = client
        .describe(tensor(
            pb::DType::DtypeFloat64,
            &[2, 2],
            f64_bytes(&[1.0, -2.0, 3.5, 5.5]),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.shape, vec![2, 2]);
    assert_eq!((info.nbytes, info.size), (32, 4));
    assert_eq!(info.dtype_name, "float64");
    assert_eq!(
        (info.min, info.max, info.mean),
        (Some(-2.0), Some(5.5), Some(2.0))
    );
    server.stop().await;
}

#[tokio::test]
async fn describe_refuses_invalid_tensors_and_keeps_serving() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    let cases = [
        (
            tensor(pb::DType::DtypeUnspecified, &[1], vec![0]),
            "unspecified",
        ),
        (
            pb::Tensor {
                dtype: 99,
                shape: vec![1],
                data: Bytes::from_static(&[0]),
            },
            "unknown",
        ),
        (tensor(pb::DType::DtypeInt32, &[3], vec![0; 11]), "needs 12"),
        (
            tensor(pb::DType::DtypeUint8, &[u64::MAX, 3], vec![]),
            "does not fit",
        ),
        (tensor(pb::DType::DtypeBool, &[2], vec![1, 7]), "0 or 1"),
        (tensor(pb::DType::DtypeUint8, &[1; 40], vec![0]), "rank 40"),
    ];
    for (message, needle) in cases {
        let status = client.describe(message).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
        assert!(
            status.message().contains(needle),
            "{:?} lacks {needle:?}",
            status.message()
        );
    }
    let ok = client
        .describe(tensor(pb::DType::DtypeUint8, &[3], vec![1, 2, 3]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.mean, Some(2.0));
}

#[tokio::test]
async fn describe_refuses_tensors_over_the_byte_limit_as_resource_exhausted() {
    let mut config = ServeConfig::ephemeral();
    config.limits.max_tensor_bytes = 1024;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;
    let ok = client
        .describe(tensor(pb::DType::DtypeUint8, &[1024], vec![0; 1024]))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    let status = client
        .describe(tensor(pb::DType::DtypeUint8, &[1025], vec![0; 1025]))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "{}",
        status.message()
    );
}

fn chunk(part: Part) -> pb::TensorChunk {
    pb::TensorChunk { part: Some(part) }
}

fn header(dtype: pb::DType, shape: &[u64]) -> Part {
    Part::Header(pb::TensorHeader {
        dtype: dtype as i32,
        shape: shape.to_vec(),
    })
}

#[tokio::test]
async fn describe_stream_equals_describe_for_any_piece_size() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    let values: Vec<f64> = (0..10_000)
        .map(|i| ((i * 7919) % 1000) as f64 - 300.25)
        .collect();
    let data = f64_bytes(&values);
    let unary = client
        .describe(tensor(pb::DType::DtypeFloat64, &[100, 100], data.clone()))
        .await
        .unwrap()
        .into_inner();
    for piece in [1usize, 5, 4096, 80_000] {
        let mut messages = vec![chunk(header(pb::DType::DtypeFloat64, &[100, 100]))];
        messages.extend(
            data.chunks(piece)
                .map(|p| chunk(Part::Data(Bytes::copy_from_slice(p)))),
        );
        let streamed = client
            .describe_stream(futures::stream::iter(messages))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (streamed.min, streamed.max),
            (unary.min, unary.max),
            "piece {piece}"
        );
        assert!((streamed.mean.unwrap() - unary.mean.unwrap()).abs() < 1e-9);
        assert_eq!(
            (streamed.shape.clone(), streamed.nbytes),
            (unary.shape.clone(), unary.nbytes)
        );
    }
}

#[tokio::test]
async fn describe_stream_refuses_every_malformed_stream() {
    let server = common::start_server().await;
    let mut client = server.client().await;
    let h = || chunk(header(pb::DType::DtypeUint16, &[4]));
    let d = |n: usize| chunk(Part::Data(Bytes::from(vec![0u8; n])));
    let cases: Vec<(Vec<pb::TensorChunk>, &str)> = vec![
        (vec![], "ended before its header"),
        (vec![d(8)], "first message must be the header"),
        (
            vec![pb::TensorChunk { part: None }],
            "first message must be the header",
        ),
        (vec![h(), d(4), h(), d(4)], "second header"),
        (vec![h(), d(6), d(4)], "overruns"),
        (vec![h(), d(7)], "ended after 7 data bytes"),
        (
            vec![h(), d(4), pb::TensorChunk { part: None }],
            "neither header nor data",
        ),
        (
            vec![chunk(header(pb::DType::DtypeUnspecified, &[4]))],
            "unspecified",
        ),
        (
            vec![
                chunk(header(pb::DType::DtypeBool, &[2])),
                chunk(Part::Data(Bytes::from_static(&[0, 3]))),
            ],
            "0 or 1",
        ),
    ];
    for (messages, needle) in cases {
        let status = client
            .describe_stream(futures::stream::iter(messages))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
        assert!(
            status.message().contains(needle),
            "{:?} lacks {needle:?}",
            status.message()
        );
    }
    let ok = client
        .describe_stream(futures::stream::iter(vec![h(), d(8)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.size, 4);
}

#[tokio::test]
async fn health_and_reflection_are_served() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let server = common::start_server().await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.grpc_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    for service in ["", "tensorwire.v1.TensorService"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }

    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(futures::stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("unexpected reflection answer {answer:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"tensorwire.v1.TensorService".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );
}

#[tokio::test]
async fn a_unary_message_over_the_message_limit_is_resource_exhausted() {
    let mut config = ServeConfig::ephemeral();
    config.limits.max_message_bytes = 1 << 20;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;
    let status = client
        .describe(tensor(pb::DType::DtypeUint8, &[2 << 20], vec![0; 2 << 20]))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("DescribeStream"),
        "{}",
        status.message()
    );
    let ok = client
        .describe(tensor(pb::DType::DtypeUint8, &[1000], vec![0; 1000]))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
}
