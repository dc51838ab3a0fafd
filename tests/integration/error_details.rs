//! The rich error model over the network, as a client sees it: each kind of
//! refusal carries its `ErrorInfo` reason, and the details of its kind
//! (`BadRequest` naming the field, `QuotaFailure` naming the limit), read
//! with `tonic-types` from a real server on port 0; the gateway answers the
//! HTTP status of the reason. (A busy budget's `RetryInfo`:
//! `tests/integration/hardening.rs`, `a_unary_message_is_reserved_before_it_is_read`;
//! bytes that are no protobuf message stay `INVALID_ARGUMENT`:
//! `tests/integration/bad_inputs.rs`.)

use crate::common;
use crate::common::gateway;

use bytes::Bytes;
use tensorwire::client::ClientError;
use tensorwire::client::{ERROR_DOMAIN, Reason};
use tensorwire::config::ServeConfig;
use tensorwire::proto::pb;
use tonic::Code;
use tonic_types::StatusExt;

fn uint8(len: u64) -> pb::Tensor {
    pb::Tensor {
        dtype: pb::DType::DtypeUint8 as i32,
        shape: vec![len],
        data: Bytes::from(vec![1u8; len as usize]),
    }
}

fn filter_request(tensor: pb::Tensor, params: pb::GaussianParams) -> pb::GaussianFilterRequest {
    pb::GaussianFilterRequest {
        tensor: Some(tensor),
        params: Some(params),
    }
}

/// The `ErrorInfo` of a status: its reason, after checking its domain.
fn reason(status: &tonic::Status) -> Reason {
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.domain, ERROR_DOMAIN);
    Reason::of(status).unwrap_or_else(|| panic!("unknown reason {}", info.reason))
}

#[tokio::test]
async fn each_refusal_carries_its_reason_and_details() {
    let mut config = ServeConfig::ephemeral();
    config.limits.max_tensor_bytes = 1000;
    config.limits.max_message_bytes = 64 << 10;
    config.limits.memory_budget = 16 << 10;
    let server = common::start_server_with(config).await;
    let mut client = server.client().await;

    // A bad argument names the field: here an order above 3.
    let params = pb::GaussianParams {
        sigma: vec![1.0],
        order: vec![7],
        ..Default::default()
    };
    let status = client
        .gaussian_filter(filter_request(uint8(8), params))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), Reason::BadArgument);
    let violations = status.get_details_bad_request().unwrap().field_violations;
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].field, "order");
    assert_eq!(violations[0].description, status.message());
    assert!(status.get_details_retry_info().is_none());

    // A tensor over --max-tensor-bytes: a quota on that limit, no retry.
    let status = client.describe(uint8(1001)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(reason(&status), Reason::LimitExceeded);
    let quota = status.get_details_quota_failure().unwrap();
    assert_eq!(quota.violations[0].subject, "--max-tensor-bytes");
    assert!(status.get_details_retry_info().is_none());

    // A message over --max-message-bytes, refused by tonic from its frame
    // header and given its meaning by the server.
    let status = client.describe(uint8(65 << 10)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(reason(&status), Reason::LimitExceeded);
    let quota = status.get_details_quota_failure().unwrap();
    assert_eq!(quota.violations[0].subject, "--max-message-bytes");

    // A stream that alone needs more than the whole memory budget.
    let start = pb::GaussianFilterChunk {
        part: Some(pb::gaussian_filter_chunk::Part::Start(
            pb::GaussianFilterStart {
                header: Some(pb::TensorHeader {
                    dtype: pb::DType::DtypeUint8 as i32,
                    shape: vec![900],
                }),
                params: Some(pb::GaussianParams {
                    sigma: vec![1.0],
                    output_dtype: pb::DType::DtypeFloat64 as i32,
                    ..Default::default()
                }),
            },
        )),
    };
    let mut config = ServeConfig::ephemeral();
    config.limits.memory_budget = 4 << 10;
    let small_budget = common::start_server_with(config).await;
    let status = small_budget
        .client()
        .await
        .gaussian_filter_stream(tokio_stream::iter(vec![start]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(reason(&status), Reason::BudgetExceeded);
    let quota = status.get_details_quota_failure().unwrap();
    assert_eq!(quota.violations[0].subject, "--memory-budget");
    assert!(status.get_details_retry_info().is_none());

    // The Rust client hands the details on.
    let err = ClientError::Status(status);
    assert_eq!(err.reason(), Some(Reason::BudgetExceeded));
    assert!(err.details().quota_failure().is_some());
    assert_eq!(err.retry_delay(), None);
    small_budget.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn the_gateway_answers_the_http_status_of_the_reason() {
    let server = gateway::start_with(|config| {
        config.limits.max_tensor_bytes = 1000;
    })
    .await;
    let http = gateway::client();
    let post = |path: &str, body: Vec<u8>| {
        http.post(server.url(path))
            .header("content-type", "application/x-npy")
            .body(body)
            .send()
    };
    let small = gateway::npy(&gateway::tensor(
        tensorwire::tensor::DType::UInt8,
        &[8],
        vec![1; 8],
    ));
    let big = gateway::npy(&gateway::tensor(
        tensorwire::tensor::DType::UInt8,
        &[1001],
        vec![1; 1001],
    ));
    // LIMIT_EXCEEDED: 413.
    let body = gateway::json(post("/v1/describe", big).await.unwrap(), 413).await;
    assert_eq!(body["code"], "RESOURCE_EXHAUSTED");
    // BAD_ARGUMENT: 400.
    let body = gateway::json(
        post("/v1/gaussian_filter?sigma=1&order=7", small)
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(body["code"], "INVALID_ARGUMENT");
}
