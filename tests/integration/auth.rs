//! API keys: with keys set, every RPC and gateway route except health needs
//! a valid key; health stays open.

use crate::common;

use bytes::Bytes;
use tensorwire::config::ServeConfig;
use tensorwire::proto::pb;
use tonic::Code;
use tonic::metadata::MetadataValue;

async fn keyed_server() -> common::TestServer {
    let mut config = ServeConfig::ephemeral();
    config.auth.api_keys = vec!["s3cret".into(), "other-key".into()];
    common::start_server_with(config).await
}

fn tiny_tensor() -> pb::Tensor {
    pb::Tensor {
        dtype: pb::DType::DtypeUint8 as i32,
        shape: vec![2],
        data: Bytes::from_static(&[1, 2]),
    }
}

fn with_auth<T>(message: T, value: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", MetadataValue::try_from(value).unwrap());
    request
}

#[tokio::test]
async fn grpc_calls_need_a_valid_key_and_health_stays_open() {
    let server = keyed_server().await;
    let mut client = server.client().await;
    let status = client.describe(tiny_tensor()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(
        status.message().contains("authorization: Bearer"),
        "{}",
        status.message()
    );
    let status = client
        .describe(with_auth(tiny_tensor(), "Bearer wrong"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    for key in ["Bearer s3cret", "Bearer other-key"] {
        let ok = client.describe(with_auth(tiny_tensor(), key)).await;
        assert!(ok.is_ok(), "{key}: {ok:?}");
    }

    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.grpc_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await;
    assert!(answer.is_ok(), "health must not need a key: {answer:?}");
}

#[tokio::test]
async fn the_gateway_forwards_header_and_form_keys() {
    let server = keyed_server().await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.http_addr);
    let npy = tensorwire::npy::write_npy(&tensorwire::tensor::Tensor::from_array(
        &ndarray::Array::from_vec(vec![1.0f32, 2.0]).into_dyn(),
    ));
    let body = serde_json::json!({
        "array_data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &npy)
    });
    let post = |builder: reqwest::RequestBuilder| builder.json(&body).send();

    let none = post(http.post(format!("{base}/receive_array")))
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    let json: serde_json::Value = none.json().await.unwrap();
    assert_eq!(json["code"], "UNAUTHENTICATED", "{json}");

    let wrong = post(
        http.post(format!("{base}/receive_array"))
            .header("x-api-key", "nope"),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    let by_header = post(
        http.post(format!("{base}/receive_array"))
            .header("x-api-key", "s3cret"),
    )
    .await
    .unwrap();
    assert_eq!(by_header.status(), 200);
    let by_bearer = post(
        http.post(format!("{base}/receive_array"))
            .header("authorization", "Bearer other-key"),
    )
    .await
    .unwrap();
    assert_eq!(by_bearer.status(), 200);

    let png = {
        let mut out = std::io::Cursor::new(Vec::new());
        image::GrayImage::new(5, 3)
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    let form = |key: Option<&str>| {
        let mut form = reqwest::multipart::Form::new().text("id", "7");
        if let Some(key) = key {
            form = form.text("key", key.to_owned());
        }
        form.part(
            "image",
            reqwest::multipart::Part::bytes(png.clone()).file_name("a.png"),
        )
    };
    let no_key = http
        .post(format!("{base}/im_size"))
        .multipart(form(None))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);
    let form_key = http
        .post(format!("{base}/im_size"))
        .multipart(form(Some("s3cret")))
        .send()
        .await
        .unwrap();
    assert_eq!(form_key.status(), 200);
    let json: serde_json::Value = form_key.json().await.unwrap();
    assert_eq!(json["size"], serde_json::json!([5, 3]));

    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "health must not need a key");
}

/// One reading of `authorization` on both transports: the Bearer scheme in
/// any case then the key; a bare key or another scheme is refused by both,
/// saying what is expected.
#[tokio::test]
async fn grpc_and_the_gateway_read_authorization_the_same_way() {
    let server = keyed_server().await;
    let mut client = server.client().await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/receive_array", server.http_addr);
    let npy = tensorwire::npy::write_npy(&tensorwire::tensor::Tensor::from_array(
        &ndarray::Array::from_vec(vec![1u8, 2]).into_dyn(),
    ));
    let body = serde_json::json!({
        "array_data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &npy)
    });
    // (value, accepted, words of the refusal)
    let cases = [
        ("Bearer s3cret", true, ""),
        ("bearer s3cret", true, ""),
        ("BEARER   other-key ", true, ""),
        ("s3cret", false, "must be `Bearer KEY`"),
        ("Basic s3cret", false, "must be `Bearer KEY`"),
        ("Bearer", false, "must be `Bearer KEY`"),
        ("Bearer nope", false, "not valid"),
    ];
    for (value, accepted, words) in cases {
        let grpc = client.describe(with_auth(tiny_tensor(), value)).await;
        let gateway = http
            .post(&url)
            .header("authorization", value)
            .json(&body)
            .send()
            .await
            .unwrap();
        if accepted {
            assert!(grpc.is_ok(), "{value:?} over gRPC: {grpc:?}");
            assert_eq!(gateway.status(), 200, "{value:?} over HTTP");
            continue;
        }
        let status = grpc.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{value:?}");
        assert!(
            status.message().contains(words),
            "{value:?}: {}",
            status.message()
        );
        assert_eq!(gateway.status(), 401, "{value:?} over HTTP");
        let json: serde_json::Value = gateway.json().await.unwrap();
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{value:?} over HTTP: {json}");
    }
}
