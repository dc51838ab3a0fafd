//! The tensor store over HTTP: `POST /v1/tensors` (a `.npy` body → its
//! handle as JSON), `GET /v1/tensors` (the caller's handles),
//! `GET /v1/tensors/{id}` (the tensor, as `.npy` or JSON by `Accept`),
//! `DELETE /v1/tensors/{id}`. Operations read a stored input and keep their
//! result with `?input={id}` and `&keep=true` (`native::apply`); the store
//! itself is the service's (`crate::store`).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;

use super::accept::{Format, negotiate};
use super::memory::RequestMemory;
use super::native::{BodyKind, answer, body_kind, created, npy_upload, refuse_npy};
use super::request::reserve_npy_body;
use super::upstream::Credentials;
use super::{AppState, GatewayError};
use crate::json::answers::StoredJson;

/// `POST /v1/tensors`: keeps the `.npy` body in the store (streamed to the
/// service as it arrives when large).
pub(crate) async fn put(
    State(state): State<AppState>,
    memory: RequestMemory,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    if body_kind(&headers, "/v1/tensors", false)? != BodyKind::Npy {
        return Err(GatewayError::Internal("body_kind allowed an image".into()));
    }
    let calls = state.calls(Credentials::from_headers(&headers), &memory);
    reserve_npy_body(&calls, &headers)?;
    let upload = npy_upload(&calls, &memory, body, state.body_limit()).await?;
    Ok(created(calls.put_upload(upload, refuse_npy).await?))
}

/// `GET /v1/tensors`: the caller's stored tensors, least recently used
/// first.
pub(crate) async fn list(
    State(state): State<AppState>,
    memory: RequestMemory,
    headers: HeaderMap,
) -> Result<Json<Vec<StoredJson>>, GatewayError> {
    let calls = state.calls(Credentials::from_headers(&headers), &memory);
    let stored = calls.client().list().await?;
    Ok(Json(stored.into_iter().map(StoredJson::from).collect()))
}

/// `GET /v1/tensors/{id}`: the stored tensor, streamed as `.npy` (or
/// gathered into JSON for `Accept: application/json`).
pub(crate) async fn get(
    State(state): State<AppState>,
    memory: RequestMemory,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, GatewayError> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = negotiate(accept, &[Format::Npy, Format::Json]).ok_or_else(|| {
        GatewayError::NotAcceptable(format!(
            "/v1/tensors/{{id}} answers application/x-npy or application/json; Accept: {} allows neither",
            accept.unwrap_or_default()
        ))
    })?;
    let calls = state.calls(Credentials::from_headers(&headers), &memory);
    let stored = calls.stored_answer(id, None).await?;
    answer(stored, format, &memory).await
}

/// `DELETE /v1/tensors/{id}`: what the deleted tensor was.
pub(crate) async fn delete(
    State(state): State<AppState>,
    memory: RequestMemory,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<StoredJson>, GatewayError> {
    let calls = state.calls(Credentials::from_headers(&headers), &memory);
    Ok(Json(calls.client().delete(&id).await?.into()))
}
