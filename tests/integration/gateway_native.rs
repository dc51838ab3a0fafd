//! The native routes (`/v1/*`, health, metrics, OpenAPI) and the gateway's
//! cross-cutting behaviour: error shape, status mapping, body limits,
//! compression, an upstream that is down. Routing and the refusals made
//! before any upstream call are tested without a socket in
//! `tests/integration/gateway_routing.rs`.

use crate::common::gateway;

use gateway::*;
use serde_json::json;
use tensorwire::gateway::GatewayConfig;
use tensorwire::proto::pb;
use tensorwire::tensor::DType;

#[tokio::test]
async fn describe_answers_tensor_info_as_json() {
    let gw = start().await;
    let data: Vec<u8> = [1.0f32, 2.0, 3.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let answer = gw
        .http
        .post(gw.url("/v1/describe"))
        .header("content-type", "application/x-npy")
        .body(npy(&tensor(DType::Float32, &[2, 2], data)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(answer, 200).await,
        json!({"dtype": "float32", "shape": [2, 2], "nbytes": 16, "size": 4,
               "min": 1.0, "max": 6.0, "mean": 3.0})
    );
}

#[tokio::test]
async fn describe_streams_a_body_larger_than_one_message() {
    let gw = start_with(|c| {
        c.limits.max_message_bytes = 1 << 20;
        c.gateway.stream_threshold_bytes = 512 << 10;
        c.gateway.upload_chunk_bytes = 256 << 10;
    })
    .await;
    let big = counting_i32(&[2048, 1024]);
    let answer = gw
        .http
        .post(gw.url("/v1/describe"))
        .body(npy(&big))
        .send()
        .await
        .unwrap();
    let info = json(answer, 200).await;
    assert_eq!(info["shape"], json!([2048, 1024]));
    assert_eq!(info["max"], json!(2048.0 * 1024.0 - 1.0));
}

#[tokio::test]
async fn describe_refuses_truncated_and_overlong_streamed_npy() {
    let gw = start_with(|c| c.gateway.stream_threshold_bytes = 64 << 10).await;
    let mut file = npy(&counting_i32(&[100_000]));
    let longer = [file.clone(), vec![0; 16]].concat();
    file.truncate(file.len() - 4);
    for body in [file, longer] {
        let answer = gw
            .http
            .post(gw.url("/v1/describe"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(json(answer, 400).await["code"], "INVALID_ARGUMENT");
    }
}

#[tokio::test]
async fn gaussian_filter_answers_npy_by_default() {
    let gw = start().await;
    let input = varied_f64(&[20, 30]);
    let answer = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=1.5,2&mode=nearest&truncate=3"))
        .header("content-type", "application/x-npy")
        .body(npy(&input))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/x-npy");
    let got = read_npy(&answer.bytes().await.unwrap());
    let params = pb::GaussianParams {
        sigma: vec![1.5, 2.0],
        mode: vec![pb::Mode::Nearest as i32],
        truncate: Some(3.0),
        ..Default::default()
    };
    assert_eq!(got, filter_over_grpc(&gw, &input, params).await);
}

#[tokio::test]
async fn gaussian_filter_answers_json_when_asked() {
    let gw = start().await;
    let input = counting_i32(&[2, 3]);
    let answer = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=0"))
        .header("accept", "application/json")
        .body(npy(&input))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(answer, 200).await,
        json!({"dtype": "int32", "shape": [2, 3], "data": [[0, 1, 2], [3, 4, 5]]})
    );
}

#[tokio::test]
async fn gaussian_filter_honours_output_dtype_and_axes() {
    let gw = start().await;
    let input = counting_i32(&[4, 5]);
    let answer = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=1&axes=-1&output_dtype=float64&order=1"))
        .body(npy(&input))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let got = read_npy(&answer.bytes().await.unwrap());
    let params = pb::GaussianParams {
        sigma: vec![1.0],
        order: vec![1],
        axes: vec![-1],
        output_dtype: pb::DType::DtypeFloat64 as i32,
        ..Default::default()
    };
    assert_eq!(got, filter_over_grpc(&gw, &input, params).await);
    assert_eq!(got.dtype(), DType::Float64);
}

#[tokio::test]
async fn gaussian_filter_streams_a_large_body() {
    let gw = start_with(|c| {
        c.limits.max_message_bytes = 1 << 20;
        c.gateway.stream_threshold_bytes = 256 << 10;
        c.gateway.upload_chunk_bytes = 128 << 10;
    })
    .await;
    let input = varied_f64(&[400, 500]);
    let answer = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=2"))
        .body(npy(&input))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let got = read_npy(&answer.bytes().await.unwrap());
    assert_eq!(got.shape(), &[400, 500]);
    // The unary reference is refused by this server's 1 MiB message limit;
    // compare a row against a small server instead.
    let small = start().await;
    let params = pb::GaussianParams {
        sigma: vec![2.0],
        ..Default::default()
    };
    assert_eq!(got, filter_over_grpc(&small, &input, params).await);
}

#[tokio::test]
async fn gaussian_filter_reads_an_image_body_and_answers_png() {
    let gw = start().await;
    let answer = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=1"))
        .header("content-type", "image/png")
        .body(png(12, 9))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "image/png");
    let out = image::load_from_memory(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!((out.width(), out.height()), (12, 9));
}

#[tokio::test]
async fn an_image_is_filtered_over_its_spatial_axes_only() {
    let gw = start().await;
    let answer = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=2"))
        .header("content-type", "image/png")
        .header("accept", "application/x-npy")
        .body(png(10, 7))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let got = read_npy(&answer.bytes().await.unwrap());
    assert_eq!(got.shape(), &[7, 10, 3]);
    let pixels = tensorwire::image::decode_to_tensor(&png(10, 7), &Default::default()).unwrap();
    let params = pb::GaussianParams {
        sigma: vec![2.0],
        axes: vec![0, 1],
        ..Default::default()
    };
    assert_eq!(got, filter_over_grpc(&gw, &pixels, params).await);
}

#[tokio::test]
async fn a_result_png_cannot_hold_is_406() {
    let gw = start().await;
    let answer = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=1"))
        .header("accept", "image/png")
        .body(npy(&varied_f64(&[4, 4])))
        .send()
        .await
        .unwrap();
    json(answer, 406).await;
    let garbage = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=1"))
        .header("content-type", "image/jpeg")
        .body(b"not a jpeg".to_vec())
        .send()
        .await
        .unwrap();
    json(garbage, 400).await;
}

#[tokio::test]
async fn image_size_answers_image_info() {
    let gw = start().await;
    let answer = gw
        .http
        .post(gw.url("/v1/image_size"))
        .header("content-type", "image/png")
        .body(png(33, 44))
        .send()
        .await
        .unwrap();
    let info = json(answer, 200).await;
    assert_eq!(
        (info["width"].clone(), info["height"].clone()),
        (json!(33), json!(44))
    );
    assert_eq!(info["format"], "png");
}

#[tokio::test]
async fn healthz_is_200_when_the_upstream_answers() {
    let gw = start().await;
    let answer = gw.http.get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(json(answer, 200).await["status"], "serving");
}

#[tokio::test]
async fn a_gateway_whose_upstream_is_down_answers_503() {
    // Port 1 on loopback: nothing listens there.
    let (base, token) = start_gateway_alone("http://127.0.0.1:1", GatewayConfig::default()).await;
    let http = client();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(json(health, 503).await["code"], "UNAVAILABLE");
    let answer = http
        .post(format!("{base}/receive_array"))
        .json(&json!({"array_data": b64(&npy(&counting_i32(&[3])))}))
        .send()
        .await
        .unwrap();
    let err = json(answer, 503).await;
    assert_eq!(err["code"], "UNAVAILABLE");
    token.cancel();
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_whether_declared_or_streamed() {
    let gw = start_with(|c| c.gateway.max_body_bytes = 1000).await;
    let file = npy(&counting_i32(&[1000]));
    let declared = gw
        .http
        .post(gw.url("/v1/describe"))
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(json(declared, 413).await["code"], "RESOURCE_EXHAUSTED");
    // Chunked: no Content-Length, so the limit trips while reading.
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        file.chunks(300).map(|c| Ok(c.to_vec())).collect();
    let chunked = gw
        .http
        .post(gw.url("/receive_array"))
        .body(reqwest::Body::wrap_stream(futures::stream::iter(pieces)))
        .send()
        .await
        .unwrap();
    assert_eq!(json(chunked, 413).await["code"], "RESOURCE_EXHAUSTED");
    let form = reqwest::multipart::Form::new().part(
        "array",
        reqwest::multipart::Part::bytes(file).file_name("a.npy"),
    );
    let multipart = gw
        .http
        .post(gw.url("/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(multipart.status(), 413);
}

#[tokio::test]
async fn a_tensor_over_the_service_limit_is_413() {
    let gw = start_with(|c| c.limits.max_tensor_bytes = 100).await;
    let answer = gw
        .http
        .post(gw.url("/v1/describe"))
        .body(npy(&counting_i32(&[1000])))
        .send()
        .await
        .unwrap();
    assert_eq!(json(answer, 413).await["code"], "RESOURCE_EXHAUSTED");
}

#[tokio::test]
async fn json_answers_are_compressed_when_asked_and_npy_never() {
    let gw = start().await;
    let openapi = gw
        .http
        .get(gw.url("/openapi.json"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(openapi.headers()["content-encoding"], "gzip");
    let plain = gw.http.get(gw.url("/openapi.json")).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let npy_answer = gw
        .http
        .post(gw.url("/v1/gaussian_filter?sigma=1"))
        .header("accept-encoding", "gzip")
        .body(npy(&counting_i32(&[64, 64])))
        .send()
        .await
        .unwrap();
    assert_eq!(npy_answer.status(), 200);
    assert!(npy_answer.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let gw = start().await;
    gw.http.get(gw.url("/healthz")).send().await.unwrap();
    gw.http.get(gw.url("/nowhere")).send().await.unwrap();
    let answer = gw.http.get(gw.url("/metrics")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let text = answer.text().await.unwrap();
    assert!(
        text.contains(
            r#"tensorwire_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(text.contains("tensorwire_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn every_documented_route_is_served() {
    // The document's own checks (its route list) run on the router alone:
    // tests/integration/gateway_routing.rs.
    let gw = start().await;
    let doc = json(
        gw.http.get(gw.url("/openapi.json")).send().await.unwrap(),
        200,
    )
    .await;
    // Every documented route answers something other than 404 (path
    // parameters filled in with a model that exists, and a tensor stored
    // for each call that names one).
    for (template, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let mut path = template
                .replace("{name}", "describe")
                .replace("{version}", "1");
            if path.contains("{id}") {
                let put = gw
                    .http
                    .post(gw.url("/v1/tensors"))
                    .body(npy(&counting_i32(&[2])))
                    .send()
                    .await
                    .unwrap();
                let stored = json(put, 201).await;
                path = path.replace("{id}", stored["id"].as_str().unwrap());
            }
            let request = match method.as_str() {
                "get" => gw.http.get(gw.url(&path)),
                "delete" => gw.http.delete(gw.url(&path)),
                _ => gw.http.post(gw.url(&path)),
            };
            let status = request.send().await.unwrap().status();
            assert_ne!(status, 404, "{method} {path}");
            assert_ne!(status, 405, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn api_keys_are_passed_on_as_bearer_metadata() {
    // Without auth configured upstream, a key is simply accepted: this checks
    // that forwarding one does not break a call.
    let gw = start().await;
    let answer = gw
        .http
        .post(gw.url("/receive_list"))
        .header("x-api-key", "secret")
        .json(&json!({"array_list": [1, 2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(answer, 200).await["shape"], json!([2]));
}
