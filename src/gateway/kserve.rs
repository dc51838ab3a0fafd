//! The Open Inference Protocol's REST routes (`/v2/...`): each one calls the
//! `inference.GRPCInferenceService` RPC of the same name with the caller's
//! key and deadline, and writes its answer in the protocol's JSON (the codec
//! is `crate::kserve::rest`). Errors are the protocol's `{"error": "..."}`
//! with the gateway's status table ([`protocol_errors`] rewrites every error
//! answer under `/v2`, the middleware's own refusals too).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::memory::{Account, RequestMemory};
use super::upload::read_body;
use super::upstream::Credentials;
use super::{AppState, GatewayError};
use crate::kserve::pb;
use crate::kserve::rest::{HEADER_LENGTH, read_infer_request, write_infer_response};

/// Memory reading a KServe JSON body holds per number: a `serde_json::Value`
/// (32 bytes) in a list that may have grown by doubling.
const KSERVE_BYTES_PER_NUMBER: u64 = 48;

/// The gRPC client of the protocol's service.
pub type KServeUpstream =
    pb::grpc_inference_service_client::GrpcInferenceServiceClient<tonic::transport::Channel>;

/// The client, with the caller's key and the request deadline on `message`.
fn call<T>(
    state: &AppState,
    headers: &HeaderMap,
    message: T,
) -> Result<(KServeUpstream, tonic::Request<T>), GatewayError> {
    let client = state.kserve().ok_or_else(|| {
        GatewayError::Internal("this gateway has no channel to the inference service".into())
    })?;
    // These calls hold nothing large but their request and answer messages,
    // which `infer` reserves itself.
    let memory = RequestMemory::new(state.budget());
    let request = state
        .calls(Credentials::from_headers(headers), &memory)
        .request(message);
    Ok((client, request))
}

fn metadata_json(m: pb::ModelMetadataResponse) -> Value {
    let tensors = |ts: Vec<pb::model_metadata_response::TensorMetadata>| {
        ts.into_iter()
            .map(|t| json!({"name": t.name, "datatype": t.datatype, "shape": t.shape}))
            .collect::<Vec<_>>()
    };
    json!({
        "name": m.name,
        "versions": m.versions,
        "platform": m.platform,
        "inputs": tensors(m.inputs),
        "outputs": tensors(m.outputs),
    })
}

/// `GET /v2/health/live`.
pub(crate) async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let (mut client, request) = call(&state, &headers, pb::ServerLiveRequest {})?;
    let live = client.server_live(request).await?.into_inner().live;
    Ok(axum::Json(json!({ "live": live })).into_response())
}

/// `GET /v2/health/ready`.
pub(crate) async fn ready(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let (mut client, request) = call(&state, &headers, pb::ServerReadyRequest {})?;
    let ready = client.server_ready(request).await?.into_inner().ready;
    Ok(axum::Json(json!({ "ready": ready })).into_response())
}

/// `GET /v2`: the server's metadata.
pub(crate) async fn server_metadata(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let (mut client, request) = call(&state, &headers, pb::ServerMetadataRequest {})?;
    let m = client.server_metadata(request).await?.into_inner();
    Ok(
        axum::Json(json!({"name": m.name, "version": m.version, "extensions": m.extensions}))
            .into_response(),
    )
}

/// The model name and version of a `/v2/models/...` path.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ModelPath {
    name: String,
    #[serde(default)]
    version: String,
}

/// `GET /v2/models/{name}[/versions/{version}]`.
pub(crate) async fn model_metadata(
    State(state): State<AppState>,
    Path(path): Path<ModelPath>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let message = pb::ModelMetadataRequest {
        name: path.name,
        version: path.version,
    };
    let (mut client, request) = call(&state, &headers, message)?;
    let m = client.model_metadata(request).await?.into_inner();
    Ok(axum::Json(metadata_json(m)).into_response())
}

/// `GET /v2/models/{name}[/versions/{version}]/ready`.
pub(crate) async fn model_ready(
    State(state): State<AppState>,
    Path(path): Path<ModelPath>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let message = pb::ModelReadyRequest {
        name: path.name.clone(),
        version: path.version,
    };
    let (mut client, request) = call(&state, &headers, message)?;
    let ready = client.model_ready(request).await?.into_inner().ready;
    Ok(axum::Json(json!({ "name": path.name, "ready": ready })).into_response())
}

/// `POST /v2/models/{name}[/versions/{version}]/infer`: JSON, or JSON and
/// binary tensor data (`Inference-Header-Content-Length`).
pub(crate) async fn infer(
    State(state): State<AppState>,
    Path(path): Path<ModelPath>,
    memory: RequestMemory,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let header_length = match headers.get(HEADER_LENGTH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    GatewayError::BadRequest(
                        "Inference-Header-Content-Length must be a byte count".into(),
                    )
                })?,
        ),
    };
    let limit = state.body_limit();
    let body = read_body(body, &headers, limit, &memory, 1).await?;
    // Reading the JSON builds a tree of its values (about 48 bytes per
    // number, at most one more number than commas), then the message's
    // contents; the message is encoded again to be sent.
    let json = &body[..header_length.unwrap_or(body.len()).min(body.len())];
    let commas = json.iter().filter(|&&b| b == b',').count() as u64;
    memory.add(
        Account::Decoded,
        KSERVE_BYTES_PER_NUMBER * (commas + 1) + body.len() as u64,
    )?;
    let (message, binary) = read_infer_request(&path.name, &path.version, header_length, body)
        .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    let size = prost::Message::encoded_len(&message) as u64;
    // Encoded to be sent; the answer (about as large) decoded.
    memory.add(Account::Decoded, size)?;
    memory.add(Account::Answer, 2 * size)?;
    let (mut client, request) = call(&state, &headers, message)?;
    let answer = client.model_infer(request).await?.into_inner();
    memory.cover(
        Account::Answer,
        2 * prost::Message::encoded_len(&answer) as u64,
    )?;
    // The answer written: JSON lists take up to 8 characters per byte of
    // data (a bool is `false,`), binary outputs their bytes.
    let written: u64 = answer
        .raw_output_contents
        .iter()
        .map(|raw| 8 * raw.len() as u64 + 1024)
        .sum();
    memory.add(Account::Answer, written)?;
    // JSON lists of large tensors take a while: off the runtime.
    let (body, json_length) =
        tokio::task::spawn_blocking(move || write_infer_response(answer, &binary))
            .await
            .map_err(|e| GatewayError::Internal(format!("encoding the answer failed: {e}")))?
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    match json_length {
        Some(length) => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            headers.insert(HEADER_LENGTH, HeaderValue::from(length));
        }
        None => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
    }
    Ok(response)
}

/// Middleware: error answers under `/v2` in the protocol's shape,
/// `{"error": "..."}` (the status, headers and message unchanged).
pub(crate) async fn protocol_errors(request: Request, next: Next) -> Response {
    let protocol = request.uri().path().starts_with("/v2");
    let response = next.run(request).await;
    let status = response.status();
    if !protocol || status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Error bodies are small JSON documents the gateway wrote itself.
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    let body = serde_json::to_vec(&json!({ "error": message })).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}
