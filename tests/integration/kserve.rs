//! The Open Inference Protocol (KServe v2) against the real server on port 0:
//! gRPC `inference.GRPCInferenceService` and the gateway's `/v2` routes,
//! answers and refusals, with the native service's keys, limits and metrics.

use crate::common;
use crate::common::gateway;

use bytes::Bytes;
use serde_json::{Value, json};
use tensorwire::config::ServeConfig;
use tensorwire::filter::{FilterLimits, GaussianParams, gaussian_filter};
use tensorwire::kserve::pb::{self, grpc_inference_service_client::GrpcInferenceServiceClient};
use tensorwire::tensor::{DType, Tensor, TensorLimits};
use tonic::Code;
use tonic::transport::Channel;

async fn client(server: &common::TestServer) -> GrpcInferenceServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{}", server.grpc_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    GrpcInferenceServiceClient::new(channel).max_decoding_message_size(usize::MAX)
}

/// `ServerLive` and `ServerReady` answer true (with no key).
async fn assert_live_and_ready(client: &mut GrpcInferenceServiceClient<Channel>) {
    let live = client.server_live(pb::ServerLiveRequest {}).await.unwrap();
    assert!(live.into_inner().live);
    let ready = client
        .server_ready(pb::ServerReadyRequest {})
        .await
        .unwrap();
    assert!(ready.into_inner().ready);
}

fn string(s: &str) -> pb::InferParameter {
    pb::InferParameter {
        parameter_choice: Some(pb::infer_parameter::ParameterChoice::StringParam(s.into())),
    }
}

fn infer(
    model: &str,
    input: &str,
    datatype: &str,
    shape: &[i64],
    raw: Vec<u8>,
) -> pb::ModelInferRequest {
    pb::ModelInferRequest {
        model_name: model.into(),
        id: "req-7".into(),
        inputs: vec![pb::model_infer_request::InferInputTensor {
            name: input.into(),
            datatype: datatype.into(),
            shape: shape.to_vec(),
            ..Default::default()
        }],
        raw_input_contents: vec![raw.into()],
        ..Default::default()
    }
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn ramp(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 37) % 23) as f32 - 7.5).collect()
}

/// The engine's own answer, the reference for the translated calls.
fn engine_filter(dtype: DType, shape: &[u64], data: Vec<u8>, params: GaussianParams) -> Vec<u8> {
    let tensor = Tensor::new(dtype, shape, Bytes::from(data), &TensorLimits::default()).unwrap();
    gaussian_filter(&tensor, &params, &FilterLimits::default())
        .unwrap()
        .into_data()
        .to_vec()
}

#[tokio::test]
async fn grpc_health_metadata_and_unserved_rpcs() {
    let server = common::start_server().await;
    let mut client = client(&server).await;
    assert_live_and_ready(&mut client).await;
    let meta = client
        .server_metadata(pb::ServerMetadataRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(meta.name, "tensorwire");
    assert_eq!(meta.extensions, ["binary_tensor_data"]);
    let ready = pb::ModelReadyRequest {
        name: "image_size".into(),
        version: "1".into(),
    };
    assert!(client.model_ready(ready).await.unwrap().into_inner().ready);
    let missing = pb::ModelReadyRequest {
        name: "resnet".into(),
        version: String::new(),
    };
    let status = client.model_ready(missing).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().contains("\"resnet\""),
        "{}",
        status.message()
    );
    let model = pb::ModelMetadataRequest {
        name: "describe".into(),
        version: String::new(),
    };
    let model = client.model_metadata(model).await.unwrap().into_inner();
    assert_eq!(model.versions, ["1"]);
    let outputs: Vec<_> = model.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outputs, ["SHAPE", "MIN", "MAX", "MEAN"]);

    // A method of the service that tensorwire does not serve.
    let mut grpc = tonic::client::Grpc::new(
        Channel::from_shared(format!("http://{}", server.grpc_addr))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    grpc.ready().await.unwrap();
    let path =
        http::uri::PathAndQuery::from_static("/inference.GRPCInferenceService/RepositoryIndex");
    let status = grpc
        .unary(
            tonic::Request::new(pb::ServerLiveRequest {}),
            path,
            tonic_prost::ProstCodec::<pb::ServerLiveRequest, pb::ServerLiveResponse>::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    assert!(
        status
            .message()
            .contains("RepositoryIndex is not implemented"),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("ModelInfer"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn grpc_gaussian_filter_equals_the_engine_with_string_and_typed_parameters() {
    let server = common::start_server().await;
    let mut client = client(&server).await;
    let values = ramp(6 * 7);
    let mut request = infer(
        "gaussian_filter",
        "INPUT",
        "FP32",
        &[6, 7],
        f32_bytes(&values),
    );
    request
        .parameters
        .insert("sigma".into(), string("1.5, 0.5"));
    request
        .parameters
        .insert("mode".into(), string("nearest,wrap"));
    request.parameters.insert(
        "truncate".into(),
        pb::InferParameter {
            parameter_choice: Some(pb::infer_parameter::ParameterChoice::DoubleParam(3.0)),
        },
    );
    let answer = client.model_infer(request).await.unwrap().into_inner();
    assert_eq!(answer.id, "req-7");
    assert_eq!(answer.model_version, "1");
    assert_eq!(answer.outputs[0].name, "OUTPUT");
    assert_eq!(answer.outputs[0].datatype, "FP32");
    assert_eq!(answer.outputs[0].shape, [6, 7]);
    let params = GaussianParams {
        sigma: vec![1.5, 0.5],
        mode: vec![
            tensorwire::filter::BoundaryMode::Nearest,
            tensorwire::filter::BoundaryMode::Wrap,
        ],
        truncate: Some(3.0),
        ..GaussianParams::default()
    };
    let want = engine_filter(DType::Float32, &[6, 7], f32_bytes(&values), params);
    assert_eq!(answer.raw_output_contents[0][..], want[..]);
}

#[tokio::test]
async fn grpc_typed_contents_in_give_typed_contents_out() {
    let server = common::start_server().await;
    let mut client = client(&server).await;
    let mut request = infer("gaussian_filter", "INPUT", "INT16", &[5], Vec::new());
    request.raw_input_contents.clear();
    request.inputs[0].contents = Some(pb::InferTensorContents {
        int_contents: vec![0, 1000, -1000, 30000, 7],
        ..Default::default()
    });
    request.parameters.insert("sigma".into(), string("1"));
    request
        .parameters
        .insert("output_dtype".into(), string("FP64"));
    let answer = client.model_infer(request).await.unwrap().into_inner();
    assert!(answer.raw_output_contents.is_empty());
    assert_eq!(answer.outputs[0].datatype, "FP64");
    let got = &answer.outputs[0].contents.as_ref().unwrap().fp64_contents;
    let input: Vec<u8> = [0i16, 1000, -1000, 30000, 7]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let params = GaussianParams {
        output_dtype: Some(DType::Float64),
        ..GaussianParams::with_sigma(1.0)
    };
    let want = engine_filter(DType::Int16, &[5], input, params);
    let want: Vec<f64> = want
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(got, &want);
}

#[tokio::test]
async fn grpc_describe_and_image_size() {
    let server = common::start_server().await;
    let mut client = client(&server).await;
    let answer = client
        .model_infer(infer(
            "describe",
            "INPUT",
            "FP32",
            &[2, 2],
            f32_bytes(&[1.0, -2.0, 4.0, 5.0]),
        ))
        .await
        .unwrap()
        .into_inner();
    let named: Vec<(&str, &[u8])> = answer
        .outputs
        .iter()
        .zip(&answer.raw_output_contents)
        .map(|(o, raw)| (o.name.as_str(), &raw[..]))
        .collect();
    assert_eq!(
        named[0],
        (
            "SHAPE",
            &[2i64.to_le_bytes(), 2i64.to_le_bytes()].concat()[..]
        )
    );
    assert_eq!(named[1], ("MIN", &(-2f64).to_le_bytes()[..]));
    assert_eq!(named[2], ("MAX", &5f64.to_le_bytes()[..]));
    assert_eq!(named[3], ("MEAN", &2f64.to_le_bytes()[..]));

    let mut png = Vec::new();
    image::RgbImage::new(33, 17)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut raw = (png.len() as u32).to_le_bytes().to_vec();
    raw.extend_from_slice(&png);
    let answer = client
        .model_infer(infer("image_size", "IMAGE", "BYTES", &[1], raw))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.outputs[0].shape, [2]);
    assert_eq!(
        answer.raw_output_contents[0][..],
        [33i64.to_le_bytes(), 17i64.to_le_bytes()].concat()[..]
    );
}

#[tokio::test]
async fn grpc_refusals_name_what_is_wrong() {
    let server = common::start_server().await;
    let mut client = client(&server).await;
    let cases: Vec<(pb::ModelInferRequest, Code, &str)> = vec![
        (
            infer("resnet", "INPUT", "FP32", &[1], vec![0; 4]),
            Code::NotFound,
            "\"resnet\"",
        ),
        (
            infer("describe", "PIXELS", "FP32", &[1], vec![0; 4]),
            Code::InvalidArgument,
            "\"PIXELS\"",
        ),
        (
            infer("describe", "INPUT", "FP32", &[2], vec![0; 4]),
            Code::InvalidArgument,
            "raw contents have 4 bytes",
        ),
        (
            infer("describe", "INPUT", "COMPLEX64", &[1], vec![0; 8]),
            Code::InvalidArgument,
            "tensorwire.v1",
        ),
        (
            infer("describe", "INPUT", "FP32", &[-1], vec![]),
            Code::InvalidArgument,
            "non-negative",
        ),
        (
            infer("image_size", "IMAGE", "UINT8", &[1], vec![0]),
            Code::InvalidArgument,
            "BYTES",
        ),
        (
            infer("image_size", "IMAGE", "BYTES", &[1], vec![9, 0, 0, 0, 1]),
            Code::InvalidArgument,
            "claims 9 bytes",
        ),
    ];
    for (request, code, needle) in cases {
        let status = client.model_infer(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{}", status.message());
        assert!(
            status.message().contains(needle),
            "{} lacks {needle}",
            status.message()
        );
    }
    let mut bad_param = infer("gaussian_filter", "INPUT", "FP32", &[1], vec![0; 4]);
    bad_param.parameters.insert("sigma".into(), string("1"));
    bad_param.parameters.insert("blur".into(), string("1"));
    let status = client.model_infer(bad_param).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("\"blur\""),
        "{}",
        status.message()
    );
    let mut output = infer("gaussian_filter", "INPUT", "FP32", &[1], vec![0; 4]);
    output.parameters.insert("sigma".into(), string("1"));
    output
        .outputs
        .push(pb::model_infer_request::InferRequestedOutputTensor {
            name: "OUT".into(),
            ..Default::default()
        });
    let status = client.model_infer(output).await.unwrap_err();
    assert!(status.message().contains("\"OUT\""), "{}", status.message());
}

#[tokio::test]
async fn grpc_model_infer_over_the_message_limit_names_the_streaming_rpcs() {
    let mut config = ServeConfig::ephemeral();
    config.limits.max_message_bytes = 64 << 10;
    let server = common::start_server_with(config).await;
    let mut client = client(&server).await;
    let request = infer("describe", "INPUT", "UINT8", &[100_000], vec![1; 100_000]);
    let status = client.model_infer(request).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("GaussianFilterStream"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn grpc_needs_the_api_key_like_the_native_service_but_for_the_probes() {
    let mut config = ServeConfig::ephemeral();
    config.auth.api_keys = vec!["s3cret".into()];
    let server = common::start_server_with(config).await;
    let mut client = client(&server).await;
    // Liveness and readiness hold no data and stay open, as in Triton, so a
    // Kubernetes probe written for it works with keys on.
    assert_live_and_ready(&mut client).await;
    let status = client
        .server_metadata(pb::ServerMetadataRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .model_ready(pb::ModelReadyRequest {
            name: "gaussian_filter".into(),
            version: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let mut request = tonic::Request::new(pb::ServerMetadataRequest {});
    request
        .metadata_mut()
        .insert("authorization", "Bearer s3cret".parse().unwrap());
    assert!(client.server_metadata(request).await.is_ok());
    let mut request = tonic::Request::new(pb::ServerMetadataRequest {});
    request
        .metadata_mut()
        .insert("authorization", "Bearer wrong".parse().unwrap());
    let status = client.server_metadata(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // The same over REST, through the in-process gateway.
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{}{path}", server.http_addr);
    for path in ["/v2/health/live", "/v2/health/ready"] {
        let answer = http.get(url(path)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
    }
    for path in [
        "/v2",
        "/v2/models/gaussian_filter",
        "/v2/models/gaussian_filter/ready",
    ] {
        let answer = http.get(url(path)).send().await.unwrap();
        assert_eq!(answer.status(), 401, "{path}");
    }
}

#[tokio::test]
async fn rest_health_metadata_and_errors_in_the_protocol_shape() {
    let gateway = gateway::start().await;
    let get = |path: &str| gateway.http.get(gateway.url(path)).send();
    let live: Value = get("/v2/health/live").await.unwrap().json().await.unwrap();
    assert_eq!(live, json!({"live": true}));
    let ready: Value = get("/v2/health/ready").await.unwrap().json().await.unwrap();
    assert_eq!(ready, json!({"ready": true}));
    let server: Value = get("/v2").await.unwrap().json().await.unwrap();
    assert_eq!(server["extensions"], json!(["binary_tensor_data"]));
    let model: Value = get("/v2/models/gaussian_filter/versions/1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(model["inputs"][0]["name"], "INPUT");
    assert_eq!(
        get("/v2/models/describe/ready").await.unwrap().status(),
        200
    );
    let missing = get("/v2/models/resnet/ready").await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["content-type"], "application/json");
    let body: Value = missing.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("\"resnet\""),
        "{body}"
    );
    let bad = gateway
        .http
        .post(gateway.url("/v2/models/gaussian_filter/infer"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );
}

#[tokio::test]
async fn rest_infer_json_and_binary_equal_the_engine() {
    let gateway = gateway::start().await;
    let values = ramp(3 * 4);
    let want = engine_filter(
        DType::Float32,
        &[3, 4],
        f32_bytes(&values),
        GaussianParams::with_sigma(0.8),
    );
    // JSON in (nested), JSON out.
    let nested: Vec<Vec<f32>> = values.chunks(4).map(|c| c.to_vec()).collect();
    let body = json!({
        "id": "j1",
        "inputs": [{"name": "INPUT", "shape": [3, 4], "datatype": "FP32", "data": nested}],
        "parameters": {"sigma": 0.8},
    });
    let answer: Value = gateway
        .http
        .post(gateway.url("/v2/models/gaussian_filter/infer"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["id"], "j1");
    let got: Vec<f32> = answer["outputs"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(f32_bytes(&got), want);
    // Binary in, binary out.
    let header = json!({
        "inputs": [{"name": "INPUT", "shape": [3, 4], "datatype": "FP32", "parameters": {"binary_data_size": 48}}],
        "outputs": [{"name": "OUTPUT", "parameters": {"binary_data": true}}],
        "parameters": {"sigma": "0.8"},
    })
    .to_string();
    let mut body = header.clone().into_bytes();
    body.extend_from_slice(&f32_bytes(&values));
    let response = gateway
        .http
        .post(gateway.url("/v2/models/gaussian_filter/versions/1/infer"))
        .header("Inference-Header-Content-Length", header.len())
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json_len: usize = response.headers()["inference-header-content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = response.bytes().await.unwrap();
    let head: Value = serde_json::from_slice(&bytes[..json_len]).unwrap();
    assert_eq!(head["outputs"][0]["parameters"]["binary_data_size"], 48);
    assert_eq!(bytes[json_len..], want[..]);
    // The route is counted in the gateway's metrics.
    let metrics = gateway
        .http
        .get(gateway.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("/v2/models/{name}/infer"),
        "no /v2 route in the metrics"
    );
    assert!(
        metrics.contains(r#"method="ModelInfer""#),
        "no ModelInfer in the gRPC metrics"
    );
}
