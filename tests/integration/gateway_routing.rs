//! The gateway's routing and the refusals it makes before calling its
//! upstream, tested on the router itself with `tower::ServiceExt::oneshot`:
//! no socket, no server. Unknown routes (404) and methods (405), the OpenAPI
//! document, a body of the wrong media type (415), bad filter parameters
//! (400) and an `Accept` the route cannot answer (406). The upstream channel
//! is lazy and never used: each refusal happens before any call.

use axum::body::Body;
use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tensorwire::gateway::{GatewayConfig, connect_upstream, router};
use tensorwire::tensor::{DType, Tensor, TensorLimits};
use tower::ServiceExt;

/// The router with an upstream that is never connected.
fn app() -> axum::Router {
    router(
        connect_upstream("http://127.0.0.1:9").unwrap(),
        GatewayConfig::default(),
    )
}

/// Sends `request` through a fresh router; the status and the JSON answer.
async fn send(request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn post(path: &str, content_type: &str, body: &'static [u8]) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

/// A `.npy` file of one float32 element.
fn npy() -> Vec<u8> {
    let tensor = Tensor::new(
        DType::Float32,
        &[1],
        Bytes::from_static(&[0, 0, 128, 63]),
        &TensorLimits::default(),
    )
    .unwrap();
    tensorwire::npy::write_npy(&tensor)
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let (status, body) = send(get("/nowhere")).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "NOT_FOUND");
    assert!(
        body["message"].as_str().unwrap().contains("/nowhere"),
        "{body}"
    );
    let (status, body) = send(get("/receive_array")).await;
    assert_eq!(status, 405);
    assert_eq!(body["code"], "UNIMPLEMENTED");
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let (status, doc) = send(get("/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for path in [
        "/",
        "/receive_array",
        "/receive_tensor",
        "/receive_list",
        "/im_size",
        "/v1/describe",
        "/v1/gaussian_filter",
        "/v1/image_size",
        "/healthz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains(&path), "{path} is not documented");
    }
}

#[tokio::test]
async fn describe_refuses_a_body_that_is_not_npy_with_415() {
    let (status, body) = send(post("/v1/describe", "text/plain", b"hello")).await;
    assert_eq!(status, 415);
    assert_eq!(body["code"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn gaussian_filter_refuses_bad_parameters_with_400() {
    for (query, needle) in [
        ("", "'sigma' is required"),
        ("?sigma=abc", "\"abc\""),
        ("?sigma=1&mode=sideways", "\"sideways\""),
        ("?sigma=1&colour=red", "unknown parameter \"colour\""),
        ("?sigma=1&output_dtype=object", "\"object\""),
        ("?sigma=1&truncate=1,2", "\"truncate\" takes one value"),
    ] {
        let path = format!("/v1/gaussian_filter{query}");
        let request = Request::post(path.as_str())
            .header(header::CONTENT_TYPE, "application/x-npy")
            .body(Body::from(npy()))
            .unwrap();
        let (status, err) = send(request).await;
        assert_eq!(status, 400, "{query}: {err}");
        assert_eq!(err["code"], "INVALID_ARGUMENT", "{query}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(needle), "{query}: {message}");
    }
}

#[tokio::test]
async fn gaussian_filter_answers_406_when_accept_allows_nothing_it_writes() {
    let request = Request::post("/v1/gaussian_filter?sigma=1")
        .header(header::CONTENT_TYPE, "application/x-npy")
        .header(header::ACCEPT, "text/html")
        .body(Body::from(npy()))
        .unwrap();
    let (status, body) = send(request).await;
    assert_eq!(status, 406);
    assert_eq!(body["code"], "INVALID_ARGUMENT");
}
