//! Issue #27 on every front: which `exp` builds the kernels (HTTP, KServe,
//! gRPC), kernels sent by the caller, JSON numbers read exactly, and images
//! of zero width or height refused.

use crate::common::gateway::{self, *};

use bytes::Bytes;
use serde_json::{Value, json};
use tensorwire::filter::{FilterLimits, GaussianParams, KernelExp, gaussian_filter};
use tensorwire::proto::{self, pb};
use tensorwire::tensor::{DType, Tensor, TensorLimits};
use tonic::Code;

/// The engine's result with the kernels built from `exp`, as raw bytes.
fn engine(input: &Tensor, sigma: f64, exp: KernelExp) -> Tensor {
    let params = GaussianParams {
        exp,
        ..GaussianParams::with_sigma(sigma)
    };
    gaussian_filter(input, &params, &FilterLimits::default()).unwrap()
}

/// POSTs a JSON body (as text, so numbers go as written) to a KServe
/// model's REST `infer`; the answer's JSON.
async fn infer(gw: &Gateway, model: &str, body: String) -> Value {
    gw.http
        .post(gw.url(&format!("/v2/models/{model}/infer")))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The numbers of output `index` of a KServe answer.
fn output_f64(answer: &Value, index: usize) -> Vec<f64> {
    answer["outputs"][index]["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// An input on which sigma 2 gives different results with the two `exp`s.
fn input() -> Tensor {
    varied_f64(&[64, 24, 3])
}

#[tokio::test]
async fn the_http_route_builds_kernels_with_the_exp_asked_for() {
    let gw = gateway::start().await;
    let input = input();
    let libm = engine(&input, 2.0, KernelExp::Libm);
    let avx = engine(&input, 2.0, KernelExp::NumpyAvx512);
    assert_ne!(libm.data(), avx.data(), "sigma 2 must tell the exps apart");
    for (query, want) in [
        ("sigma=2", &libm),
        ("sigma=2&exp=libm", &libm),
        ("sigma=2&exp=numpy-avx512", &avx),
        ("sigma=2&exp=NUMPY_AVX512", &avx),
    ] {
        let answer = gw
            .http
            .post(gw.url(&format!("/v1/gaussian_filter?{query}")))
            .body(npy(&input))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{query}");
        assert_eq!(&read_npy(&answer.bytes().await.unwrap()), want, "{query}");
    }
    let bad = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=2&exp=svml"))
        .body(npy(&input))
        .send()
        .await
        .unwrap();
    let body = json(bad, 400).await;
    assert!(body["message"].as_str().unwrap().contains("exp"), "{body}");
}

#[tokio::test]
async fn grpc_takes_the_exp_and_the_callers_kernels_and_checks_them() {
    let gw = gateway::start().await;
    let input = input();
    let avx = engine(&input, 2.0, KernelExp::NumpyAvx512);
    let by_exp = pb::GaussianParams {
        sigma: vec![2.0],
        exp: pb::KernelExp::NumpyAvx512 as i32,
        ..Default::default()
    };
    assert_eq!(filter_over_grpc(&gw, &input, by_exp).await, avx);

    // The caller's kernels (here: the AVX-512 ones, made by the engine's
    // own kernel code through a one-axis filter of a unit impulse).
    let mut impulse = [0.0f64; 17];
    impulse[8] = 1.0;
    let unit = Tensor::new(
        DType::Float64,
        &[17],
        Bytes::from(
            impulse
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        ),
        &TensorLimits::default(),
    )
    .unwrap();
    let kernel: Vec<f64> = engine(&unit, 2.0, KernelExp::NumpyAvx512)
        .data()
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let sent = pb::GaussianParams {
        sigma: vec![2.0],
        kernels: vec![
            pb::Kernel1D {
                weights: kernel.clone()
            };
            3
        ],
        ..Default::default()
    };
    assert_eq!(filter_over_grpc(&gw, &input, sent).await, avx);

    let mut client = gw.server.client().await;
    for (kernels, says) in [
        (vec![kernel.clone()], "3 axes are filtered"),
        (vec![kernel[1..].to_vec(); 3], "needs 17"),
        (vec![vec![f64::INFINITY; 17]; 3], "must be finite"),
        (
            vec![(0..17).map(f64::from).collect::<Vec<f64>>(); 3],
            "neither symmetric nor antisymmetric",
        ),
    ] {
        let status = client
            .gaussian_filter(pb::GaussianFilterRequest {
                tensor: Some(proto::tensor_to_wire(input.clone())),
                params: Some(pb::GaussianParams {
                    sigma: vec![2.0],
                    kernels: kernels
                        .into_iter()
                        .map(|weights| pb::Kernel1D { weights })
                        .collect(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(says), "{says}: {status:?}");
        assert!(status.message().contains("kernels"), "{status:?}");
    }
}

#[tokio::test]
async fn kserve_rest_takes_the_exp_and_reads_json_float64_exactly() {
    let gw = gateway::start().await;
    let input = varied_f64(&[20, 10]);
    let values: Vec<f64> = input
        .data()
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let avx = engine(&input, 2.0, KernelExp::NumpyAvx512);
    let body = json!({
        "inputs": [{"name": "INPUT", "shape": [20, 10], "datatype": "FP64", "data": values}],
        "parameters": {"sigma": 2.0, "exp": "numpy-avx512"},
    });
    let answer = infer(&gw, "gaussian_filter", body.to_string()).await;
    let got: Vec<u8> = output_f64(&answer, 0)
        .into_iter()
        .flat_map(f64::to_le_bytes)
        .collect();
    assert_eq!(got, avx.data().to_vec());

    // The identity (sigma 0) and describe's MAX give back every double
    // exactly as Python's json wrote it (issue #27: 208 of 2,000 changed).
    let texts = [
        "0.9997911436030891",
        "0.30000000000000004",
        "5e-324",
        "2.2250738585072014e-308",
        "-0.0",
        "1.7976931348623157e+308",
        "-1.7976931348623157e+308",
        "1e+23",
    ];
    let body = format!(
        r#"{{"inputs":[{{"name":"INPUT","shape":[{}],"datatype":"FP64","data":[{}]}}],"parameters":{{"sigma":"0"}}}}"#,
        texts.len(),
        texts.join(",")
    );
    let answer = infer(&gw, "gaussian_filter", body.clone()).await;
    let back: Vec<u64> = output_f64(&answer, 0)
        .into_iter()
        .map(f64::to_bits)
        .collect();
    let want: Vec<u64> = texts
        .iter()
        .map(|t| t.parse::<f64>().unwrap().to_bits())
        .collect();
    assert_eq!(back, want);
    let described = infer(
        &gw,
        "describe",
        body.replace(r#""parameters":{"sigma":"0"}"#, r#""parameters":{}"#),
    )
    .await;
    let outputs = described["outputs"]
        .as_array()
        .unwrap_or_else(|| panic!("{described}"));
    let index = outputs.iter().position(|o| o["name"] == "MAX").unwrap();
    let max = output_f64(&described, index)[0];
    assert_eq!(max.to_bits(), f64::MAX.to_bits());
}

#[tokio::test]
async fn the_seed_list_route_reads_json_numbers_exactly() {
    let gw = gateway::start().await;
    let answer = gw
        .http
        .post(gw.url("/v1/describe"))
        .body(npy(&tensor(
            DType::Float64,
            &[1],
            0.9997911436030891f64.to_le_bytes().to_vec(),
        )))
        .send()
        .await
        .unwrap();
    let info = json(answer, 200).await;
    assert_eq!(info["max"].as_f64().unwrap(), 0.9997911436030891);
    let listed = gw
        .http
        .post(gw.url("/receive_list"))
        .json(&json!({"array_list": [[0.9997911436030891, 5e-324], [-0.0, 1e23]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(listed, 200).await["shape"], json!([2, 2]));
}

#[tokio::test]
async fn images_of_zero_width_or_height_are_refused_on_every_front() {
    let gw = gateway::start().await;
    let mut gif = b"GIF89a".to_vec();
    gif.extend([0u8; 20]);
    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(gif.clone()).file_name("zero.gif"),
    );
    let seed = gw
        .http
        .post(gw.url("/im_size"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(seed.status(), 400);
    let text = seed.text().await.unwrap();
    assert!(text.contains("zero width or height"), "{text}");
    let native = gw
        .http
        .post(gw.url("/v1/image_size"))
        .body(gif.clone())
        .send()
        .await
        .unwrap();
    let body = json(native, 400).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("zero width or height"),
        "{body}"
    );
    let filtered = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=1"))
        .header("content-type", "image/gif")
        .body(gif.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.status(), 400);
    let mut client = gw.server.client().await;
    let status = client
        .image_size(pb::ImageRequest {
            data: gif.into(),
            filename: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("zero width or height"),
        "{status:?}"
    );
}
