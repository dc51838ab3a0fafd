//! Every operation of `ops::ALL` on every front of a real server: gRPC
//! `Apply` (unary) and `ApplyStream` (in slabs of a few rows), the Rust
//! client, `POST /v1/<name>` and the KServe model `<name>` over REST, each
//! equal to the engine's result for the same parameters; and the refusals
//! that only these operations have.

use crate::common::{self, gateway};

use bytes::Bytes;
use serde_json::{Value, json};
use tensorwire::client::{Client, ClientOptions};
use tensorwire::filter::FilterLimits;
use tensorwire::ops::{self, Operation};
use tensorwire::proto::pb::{self, apply_chunk::Part};
use tensorwire::proto::{params_from_wire, tensor_from_wire, tensor_to_wire};
use tensorwire::tensor::{Tensor, TensorLimits};
use tonic::Code;

/// A 2-D float32 tensor of uneven values.
fn ramp(rows: usize, cols: usize) -> Tensor {
    let values: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 2654435761) % 1000) as f32 / 7.0 - 60.0)
        .collect();
    Tensor::from_array(&ndarray::ArrayD::from_shape_vec(vec![rows, cols], values).unwrap())
}

/// Parameters each operation takes, in the common form: sigma per axis,
/// and the operation's own (axis and order for gaussian_filter1d).
fn common_params(op: &Operation) -> pb::GaussianParams {
    let mut p = pb::GaussianParams::default();
    let pairs: &[(&str, &str)] = match op.name {
        "gaussian_filter1d" => &[("sigma", "1.5"), ("axis", "0"), ("order", "1")],
        "gaussian_filter" => &[("sigma", "1.5,0.8"), ("order", "0,1"), ("mode", "nearest")],
        _ => &[("sigma", "1.5,0.8"), ("mode", "nearest,wrap")],
    };
    for (name, value) in pairs {
        op.set_text(&mut p, name, value, "test", true).unwrap();
    }
    p
}

/// The query string of the same parameters.
fn query(op: &Operation) -> &'static str {
    match op.name {
        "gaussian_filter1d" => "sigma=1.5&axis=0&order=1",
        "gaussian_filter" => "sigma=1.5,0.8&order=0,1&mode=nearest",
        _ => "sigma=1.5,0.8&mode=nearest,wrap",
    }
}

/// The engine's result, computed in the test.
fn engine(op: &Operation, input: &Tensor) -> Tensor {
    let params = params_from_wire(common_params(op)).unwrap();
    op.plan(
        input.dtype(),
        input.shape(),
        &params,
        &FilterLimits::default(),
    )
    .unwrap()
    .run(input)
}

fn start(input: &Tensor, params: pb::OpParams) -> pb::ApplyChunk {
    pb::ApplyChunk {
        part: Some(Part::Start(pb::ApplyStart {
            input_id: String::new(),
            header: Some(tensorwire::proto::header_to_wire(
                input.dtype(),
                input.shape(),
            )),
            params: Some(params),
        })),
    }
}

/// Collects a streamed answer into a tensor.
async fn collect(mut answer: tonic::Streaming<pb::TensorChunk>) -> Tensor {
    let first = answer.message().await.unwrap().unwrap();
    let Some(pb::tensor_chunk::Part::Header(header)) = first.part else {
        panic!("the answer must start with a header");
    };
    let mut data = Vec::new();
    while let Some(m) = answer.message().await.unwrap() {
        match m.part {
            Some(pb::tensor_chunk::Part::Data(d)) => data.extend_from_slice(&d),
            other => panic!("unexpected message {other:?}"),
        }
    }
    tensor_from_wire(
        pb::Tensor {
            dtype: header.dtype,
            shape: header.shape,
            data: data.into(),
        },
        &TensorLimits::default(),
    )
    .unwrap()
}

#[tokio::test]
async fn every_operation_equals_the_engine_unary_and_streamed_in_slabs() {
    // Slabs of 1 KiB: the 64×48 float32 input is cut into many slabs.
    let server = common::start_server_with({
        let mut config = tensorwire::config::ServeConfig::ephemeral();
        config.limits.stream_slab_bytes = 1 << 10;
        config
    })
    .await;
    let mut grpc = server.client().await;
    let input = ramp(64, 48);
    for op in ops::ALL {
        let want = engine(op, &input);
        let params = op.to_wire(common_params(op)).unwrap();
        let unary = grpc
            .apply(pb::ApplyRequest {
                input_id: String::new(),
                tensor: Some(tensor_to_wire(input.clone())),
                params: Some(params.clone()),
            })
            .await
            .unwrap()
            .into_inner();
        let unary = tensor_from_wire(unary, &TensorLimits::default()).unwrap();
        assert_eq!(unary, want, "{} unary", op.name);
        let pieces: Vec<pb::ApplyChunk> = std::iter::once(start(&input, params.clone()))
            .chain(input.data().chunks(1000).map(|c| pb::ApplyChunk {
                part: Some(Part::Data(Bytes::copy_from_slice(c))),
            }))
            .collect();
        let answer = grpc
            .apply_stream(futures::stream::iter(pieces))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(collect(answer).await, want, "{} streamed", op.name);
        // The Rust client streams above its threshold.
        let mut client = Client::connect_with(
            &format!("http://{}", server.grpc_addr),
            ClientOptions {
                stream_threshold: 1024,
                ..ClientOptions::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            client.apply(&input, &params).await.unwrap(),
            want,
            "{} client",
            op.name
        );
    }
}

#[tokio::test]
async fn every_operation_is_a_route_and_a_model() {
    let gw = gateway::start().await;
    let input = ramp(12, 9);
    for op in ops::ALL {
        let want = engine(op, &input);
        let answer = gw
            .http
            .post(gw.url(&format!("/v1/{}?{}", op.name, query(op))))
            .header("content-type", "application/x-npy")
            .body(gateway::npy(&input))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{}", op.name);
        let got = gateway::read_npy(&answer.bytes().await.unwrap());
        assert_eq!(got, want, "/v1/{}", op.name);

        let values: Vec<f32> = input
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let mut parameters = serde_json::Map::new();
        for pair in query(op).split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            parameters.insert(k.to_owned(), json!(v));
        }
        let body = json!({
            "inputs": [{"name": "INPUT", "shape": [12, 9], "datatype": "FP32", "data": values}],
            "parameters": parameters,
        });
        let answer = gw
            .http
            .post(gw.url(&format!("/v2/models/{}/infer", op.name)))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(status, 200, "{}: {answer}", op.name);
        let got: Vec<f32> = answer["outputs"][0]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let want_values: Vec<f32> = want
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(got, want_values, "model {}", op.name);
        let metadata: Value = gw
            .http
            .get(gw.url(&format!("/v2/models/{}", op.name)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(metadata["name"], op.name);
    }
}

#[tokio::test]
async fn refusals_name_what_is_wrong() {
    let gw = gateway::start().await;
    let mut grpc = gw.server.client().await;
    let input = ramp(4, 5);
    let call = |params: pb::OpParams| pb::ApplyRequest {
        input_id: String::new(),
        tensor: Some(tensor_to_wire(input.clone())),
        params: Some(params),
    };
    let none = grpc
        .apply(call(pb::OpParams { op: None }))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::InvalidArgument);
    assert!(none.message().contains("names no operation"), "{none:?}");
    let zero = pb::OpParams {
        op: Some(pb::op_params::Op::GaussianFilter1d(
            pb::GaussianFilter1dParams {
                sigma: Some(0.0),
                ..Default::default()
            },
        )),
    };
    let zero = grpc.apply(call(zero)).await.unwrap_err();
    assert_eq!(zero.code(), Code::InvalidArgument);
    assert!(zero.message().contains("sigma must not be 0"), "{zero:?}");
    let pairs = pb::OpParams {
        op: Some(pb::op_params::Op::GaussianLaplace(
            pb::GaussianDerivativeSumParams {
                sigma: vec![1.0],
                kernels: vec![pb::Kernel1D { weights: vec![1.0] }],
                ..Default::default()
            },
        )),
    };
    let pairs = grpc.apply(call(pairs)).await.unwrap_err();
    assert!(pairs.message().contains("two per axis"), "{pairs:?}");
    // A parameter the operation does not take, over HTTP.
    let order = gw
        .http
        .post(gw.url("/v1/gaussian_laplace?sigma=1&order=1"))
        .header("content-type", "application/x-npy")
        .body(gateway::npy(&input))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), 400);
    let body: Value = order.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("/v1/gaussian_laplace reads sigma, output_dtype, mode"),
        "{body}"
    );
    let list = gw
        .http
        .post(gw.url("/v1/gaussian_filter1d?sigma=1,2"))
        .header("content-type", "application/x-npy")
        .body(gateway::npy(&input))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 400);
    // The server serves on after every refusal.
    let fine = grpc
        .apply(call(
            ops::by_name("gaussian_laplace")
                .unwrap()
                .to_wire(pb::GaussianParams {
                    sigma: vec![1.0],
                    ..Default::default()
                })
                .unwrap(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fine.dtype, pb::DType::DtypeFloat32 as i32);
}
