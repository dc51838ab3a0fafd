//! The native routes: `/v1/describe`, `/v1/<operation>` for every operation
//! of `ops::ALL` (`/v1/gaussian_filter`, `/v1/gaussian_laplace`, ...),
//! `/v1/image_size`, and the operational ones (`/healthz`, `/metrics`,
//! `/openapi.json`). Bodies are raw (`.npy` or image bytes), parameters are
//! query parameters named as the operation's table names them, answers are
//! JSON — or, for an operation, whatever `Accept` asks among `.npy`, PNG and
//! JSON.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tonic::Code;

use super::accept::{Format, negotiate};
use super::error::error_response;
use super::image_codec::{decode_image, encode_png};
use super::memory::{Account, RequestMemory, content_length};
use super::request::{media_type, reserve_npy_body, reserve_npy_filter_body};
use super::upload::{BodyPieces, NpyUpload, read_body, read_npy_upload};
use super::upstream::{Calls, Credentials, Filtered};
use super::{AppState, GatewayError, metrics, openapi};
use crate::filter::param_text::Param;
use crate::json::answers::{ImageInfoJson, StoredJson, TensorInfoJson};
use crate::json::document::tensor_to_json;
use crate::ops::Operation;
use crate::proto::pb;
use crate::tensor::Tensor;

/// Answers larger than this are encoded (JSON, PNG) on the blocking pool.
const INLINE_ENCODE_BYTES: usize = 1 << 20;

/// A `.npy` body that cannot be read, as the routes that read one say it.
pub(crate) fn refuse_npy(detail: String) -> GatewayError {
    GatewayError::BadRequest(format!("the body is not a usable .npy file: {detail}"))
}

/// What a body is, by its Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// A `.npy` file (also an empty body).
    Npy,
    /// An encoded image.
    Image,
}

/// The kind of `headers`' body; 415 for a media type `route` does not read
/// (images only where `images`).
pub(crate) fn body_kind(
    headers: &HeaderMap,
    route: &str,
    images: bool,
) -> Result<BodyKind, GatewayError> {
    let media = media_type(headers);
    match media.as_str() {
        "" | "application/x-npy" | "application/octet-stream" => Ok(BodyKind::Npy),
        m if images && m.starts_with("image/") => Ok(BodyKind::Image),
        other => Err(GatewayError::UnsupportedMediaType(format!(
            "{route} reads a .npy body (Content-Type: application/x-npy or \
             application/octet-stream){}, not {other}",
            if images {
                " or an image (image/png, image/jpeg, ...)"
            } else {
                ""
            }
        ))),
    }
}

/// `POST /v1/describe`: a `.npy` body → its `TensorInfo` as JSON;
/// `?input={id}` describes a stored tensor instead.
pub(crate) async fn describe(
    State(state): State<AppState>,
    memory: RequestMemory,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<TensorInfoJson>, GatewayError> {
    body_kind(&headers, "/v1/describe", false)?;
    let calls = state.calls(Credentials::from_headers(&headers), &memory);
    let input = only_param(&uri, "/v1/describe", ("input", "the id of a stored tensor"))?;
    if let Some(id) = input {
        no_body_with_input(&headers)?;
        let info = calls.client().describe_stored(&id).await?;
        return Ok(Json(info.into()));
    }
    reserve_npy_body(&calls, &headers)?;
    let upload = npy_upload(&calls, &memory, body, state.body_limit()).await?;
    let info = calls.describe_upload(upload, refuse_npy).await?;
    Ok(Json(info.into()))
}

/// The value of the one query parameter `route` reads (its name and what
/// it is); any other parameter is refused, naming it.
fn only_param(
    uri: &Uri,
    route: &str,
    (param, meaning): (&str, &str),
) -> Result<Option<String>, GatewayError> {
    let mut value = None;
    for (name, given) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if name != param {
            return Err(GatewayError::BadRequest(format!(
                "unknown query parameter {name:?}; {route} reads only '{param}' ({meaning})"
            )));
        }
        value = Some(given.into_owned());
    }
    Ok(value)
}

/// A call on a stored tensor (`?input=`) takes its input from the store:
/// a body besides is refused rather than ignored.
fn no_body_with_input(headers: &HeaderMap) -> Result<(), GatewayError> {
    match content_length(headers) {
        None | Some(0) => Ok(()),
        Some(_) => Err(GatewayError::BadRequest(
            "?input= names a stored tensor as the input; the body must then be empty".into(),
        )),
    }
}

/// Reads a `.npy` body that may stream: gathered whole under the streaming
/// threshold (held in the request's memory), otherwise passed on in pieces.
pub(crate) async fn npy_upload(
    calls: &Calls,
    memory: &RequestMemory,
    body: Body,
    limit: u64,
) -> Result<NpyUpload<BodyPieces>, GatewayError> {
    let pieces = BodyPieces::new(body, limit);
    read_npy_upload(
        pieces,
        calls.threshold(),
        refuse_npy,
        (memory, Account::Gathered),
    )
    .await
}

/// `POST /v1/<operation>?sigma=…`: a `.npy` or image body → the result as
/// `.npy`, PNG or JSON, by `Accept`.
pub(crate) async fn apply(
    op: &'static Operation,
    State(state): State<AppState>,
    memory: RequestMemory,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let route = format!("/v1/{}", op.name);
    let kind = body_kind(&headers, &route, true)?;
    let mut query = OpQuery::parse(op, uri.query().unwrap_or(""))?;
    let offers: &[Format] = match kind {
        BodyKind::Npy => &[Format::Npy, Format::Png, Format::Json],
        BodyKind::Image => &[Format::Png, Format::Npy, Format::Json],
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = negotiate(accept, offers).ok_or_else(|| {
        GatewayError::NotAcceptable(format!(
            "{route} answers application/x-npy, image/png or application/json; \
             Accept: {} allows none of them",
            accept.unwrap_or_default()
        ))
    })?;
    let calls = state.calls(Credentials::from_headers(&headers), &memory);
    let (input, keep) = (query.input.take(), query.keep);
    if let Some(id) = input {
        no_body_with_input(&headers)?;
        let params = query.into_wire(op, None)?;
        if keep {
            return Ok(created(calls.client().apply_keep(&id, &params).await?));
        }
        let filtered = calls.stored_answer(id, Some(params)).await?;
        return answer(filtered, format, &memory).await;
    }
    let limit = state.body_limit();
    if keep {
        return Err(GatewayError::BadRequest(format!(
            "{route}?keep=true keeps a result computed from a stored tensor: store the input first (POST /v1/tensors), then call {route}?input=ID&keep=true"
        )));
    }
    let filtered = match kind {
        BodyKind::Npy => {
            reserve_npy_filter_body(&calls, &headers)?;
            let upload = npy_upload(&calls, &memory, body, limit).await?;
            let params = query.into_wire(op, None)?;
            calls.filter_upload(upload, params, refuse_npy).await?
        }
        BodyKind::Image => {
            let bytes = read_body(body, &headers, limit, &memory, 1).await?;
            memory.add(Account::Decoded, decoded_image_bytes(&bytes, &state))?;
            let limits = state.config().image_limits;
            let decoded = tokio::task::spawn_blocking(move || decode_image(&bytes, &limits))
                .await
                .map_err(|e| GatewayError::Internal(format!("image decoding failed: {e}")))??;
            let params = query.into_wire(op, Some(&decoded.spatial_axes))?;
            calls.filter_tensor(decoded.tensor, params).await?
        }
    };
    answer(filtered, format, &memory).await
}

/// The most bytes decoding an image body allocates for its pixels, from its
/// header (up to four channels of its bit depth, within
/// `max_decode_bytes`); a body whose header cannot be read is left to the
/// decoder, which refuses it.
fn decoded_image_bytes(bytes: &[u8], state: &AppState) -> u64 {
    let most = state.config().image_limits.max_decode_bytes;
    match crate::image::read_image_header(bytes, None) {
        Ok(header) => {
            let per_channel: u64 = match header.bit_depth {
                0..=8 => 1,
                9..=16 => 2,
                _ => 4,
            };
            let channels = u64::from(header.channels.max(4));
            u64::from(header.width)
                .saturating_mul(u64::from(header.height))
                .saturating_mul(channels * per_channel)
                .min(most)
        }
        Err(_) => 0,
    }
}

/// Bytes of a tensor written as JSON, at most: a number takes at most 32
/// characters with its separator, and the brackets fewer than that again.
fn json_answer_bytes(tensor: &Tensor) -> u64 {
    let elements = tensor.nbytes() / tensor.dtype().itemsize().max(1);
    (elements as u64).saturating_mul(48).saturating_add(1 << 10)
}

/// Writes a filter result in the negotiated format; a result that must be
/// gathered and encoded whole (JSON, PNG) is reserved in `memory` first.
/// The result as `format`: `.npy` streamed, JSON or PNG encoded whole.
pub(crate) async fn answer(
    filtered: Filtered,
    format: Format,
    memory: &RequestMemory,
) -> Result<Response, GatewayError> {
    let content_type = HeaderValue::from_static(format.content_type());
    if format == Format::Npy {
        let (length, body) = filtered.into_npy();
        let mut response = body.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        return Ok(response);
    }
    let tensor = filtered.collect(memory).await?;
    let encoded = match format {
        Format::Json => json_answer_bytes(&tensor),
        // The pixels handed to the encoder, and the PNG itself (no larger
        // than the pixels and the zlib framing).
        _ => 2 * tensor.nbytes() as u64 + tensor.nbytes() as u64 / 8 + (1 << 16),
    };
    memory.add(Account::Answer, encoded)?;
    let encode = move |tensor: Tensor| match format {
        Format::Json => Ok(tensor_to_json(&tensor)),
        _ => encode_png(&tensor),
    };
    let bytes = if tensor.nbytes() <= INLINE_ENCODE_BYTES {
        encode(tensor)?
    } else {
        tokio::task::spawn_blocking(move || encode(tensor))
            .await
            .map_err(|e| GatewayError::Internal(format!("encoding the answer failed: {e}")))??
    };
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// An operation's query parameters, in the common form of `ops`.
struct OpQuery {
    params: pb::GaussianParams,
    axes_given: bool,
    /// `input`: a stored tensor to use as the input.
    input: Option<String>,
    /// `keep=true`: keep the result in the store, answer its handle.
    keep: bool,
}

impl OpQuery {
    /// Lists are comma-separated (`sigma=1,2`) or repeated (`sigma=1&sigma=2`);
    /// names are the operation's (`Operation::set_text`), values are read by
    /// [`crate::filter::param_text`]. `output`, scipy's argument name, is
    /// read as `output_dtype` too.
    fn parse(op: &Operation, query: &str) -> Result<OpQuery, GatewayError> {
        let route = format!("/v1/{}", op.name);
        let mut params = pb::GaussianParams::default();
        let mut axes_given = false;
        let (mut input, mut keep) = (None, false);
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "input" => {
                    input = Some(value.into_owned());
                    continue;
                }
                "keep" => {
                    keep = parse_flag(&value).ok_or_else(|| {
                        GatewayError::BadRequest(format!(
                            "{route}: keep is true or false, not {value:?}"
                        ))
                    })?;
                    continue;
                }
                _ => {}
            }
            let name = if name == "output" {
                Param::OutputDtype.name()
            } else {
                name.as_ref()
            };
            axes_given |= name == Param::Axes.name();
            op.set_text(&mut params, name, &value, &route, true)?;
        }
        if params.sigma.is_empty() {
            return Err(GatewayError::BadRequest(format!(
                "the query parameter 'sigma' is required ({route}?sigma=1.5{})",
                if op.takes(Param::Sigma).is_some_and(|s| s.list) {
                    ", or one per axis: ?sigma=1,2"
                } else {
                    ""
                }
            )));
        }
        Ok(OpQuery {
            params,
            axes_given,
            input,
            keep,
        })
    }

    /// The call's `OpParams`. For an image (its `spatial_axes` given), an
    /// operation that takes `axes` filters the image's rows and columns
    /// unless the query names the axes: its channels are not an axis to
    /// smooth.
    fn into_wire(
        self,
        op: &Operation,
        spatial_axes: Option<&[i64]>,
    ) -> Result<pb::OpParams, GatewayError> {
        let mut params = self.params;
        if let Some(spatial) = spatial_axes
            && !self.axes_given
            && op.takes(Param::Axes).is_some()
        {
            params.axes = spatial
                .iter()
                .map(|&a| i32::try_from(a).unwrap_or(i32::MAX))
                .collect();
        }
        op.to_wire(params)
            .map_err(|e| GatewayError::BadRequest(e.to_string()))
    }
}

/// A query flag: `true`/`1`/`yes` or `false`/`0`/`no`.
fn parse_flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// A new stored tensor's answer: 201 with its handle and `Location`.
pub(crate) fn created(stored: pb::StoredTensor) -> Response {
    let location = HeaderValue::try_from(format!("/v1/tensors/{}", stored.id)).ok();
    let mut response = (StatusCode::CREATED, Json(StoredJson::from(stored))).into_response();
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `POST /v1/image_size?filename=…`: raw image bytes → `ImageInfo` as JSON.
pub(crate) async fn image_size(
    State(state): State<AppState>,
    memory: RequestMemory,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImageInfoJson>, GatewayError> {
    let hint = "a hint for formats without a signature, such as .tga";
    let filename = only_param(&uri, "/v1/image_size", ("filename", hint))?.unwrap_or_default();
    let calls = state.calls(Credentials::from_headers(&headers), &memory);
    if let Some(declared) = content_length(&headers) {
        // Gathered, then joined, up to the streaming threshold.
        memory.cover(
            Account::Gathered,
            2 * declared.min(calls.threshold() as u64),
        )?;
    }
    let info = calls
        .image_size_pieces(BodyPieces::new(body, state.body_limit()), filename)
        .await?;
    Ok(Json(info.into()))
}

/// `GET /healthz`: 200 when the gateway is up and its upstream answers a
/// `Describe` of an empty tensor within a second; 503 otherwise. Needs no
/// API key (a refusal for want of one still proves the upstream is up).
pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
    let probe = Tensor::from_array(&ndarray::ArrayD::<u8>::zeros(vec![0]));
    let mut client = state
        .upstream()
        .for_call(None, Some(Duration::from_secs(1)));
    let call = tokio::time::timeout(Duration::from_secs(2), client.describe(&probe)).await;
    let upstream_up = match &call {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err))
            if err.status().is_some_and(|status| {
                matches!(
                    status.code(),
                    Code::Unauthenticated | Code::PermissionDenied
                )
            }) =>
        {
            Ok(())
        }
        Ok(Err(err)) => Err(err
            .status()
            .map_or_else(|| err.to_string(), |status| status.message().to_owned())),
        Err(_) => Err("no answer within 2 seconds".to_owned()),
    };
    match upstream_up {
        Ok(()) => Json(json!({"status": "serving"})).into_response(),
        Err(reason) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the gRPC upstream is not serving: {reason}"),
            Code::Unavailable,
        ),
    }
}

/// `GET /metrics`: Prometheus (OpenMetrics) text.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics().render(),
    )
        .into_response()
}

/// `GET /openapi.json`: the OpenAPI 3.1 document of every route.
pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::document(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian_filter() -> &'static Operation {
        crate::ops::by_name("gaussian_filter").unwrap()
    }

    #[test]
    fn reads_every_filter_parameter() {
        let q = OpQuery::parse(
            gaussian_filter(),
            "sigma=1,2&sigma=3&order=0,1&mode=grid-wrap&mode=nearest&cval=2.5&truncate=3\
             &radius=4&axes=-1,0&cval_imag=1&output_dtype=float32",
        )
        .unwrap();
        let p = q.params;
        assert_eq!(p.sigma, vec![1.0, 2.0, 3.0]);
        assert_eq!(p.order, vec![0, 1]);
        assert_eq!(
            p.mode,
            vec![pb::Mode::GridWrap as i32, pb::Mode::Nearest as i32]
        );
        assert_eq!((p.cval, p.truncate, p.cval_imag), (2.5, Some(3.0), 1.0));
        assert_eq!((p.radius, p.axes), (vec![4], vec![-1, 0]));
        assert_eq!(p.output_dtype, pb::DType::DtypeFloat32 as i32);
        assert!(q.axes_given);
    }

    #[test]
    fn refuses_unknown_and_malformed_parameters() {
        for bad in [
            "sigma=x",
            "sigma=1&mode=bogus",
            "sigma=1&sigmas=2",
            "order=1",
            "sigma=1&order=-1",
        ] {
            assert!(OpQuery::parse(gaussian_filter(), bad).is_err(), "{bad}");
        }
        let Err(GatewayError::BadRequest(message)) =
            OpQuery::parse(gaussian_filter(), "sigma=1&sigmas=2")
        else {
            panic!("an unknown parameter is a bad request");
        };
        assert!(
            message.starts_with("unknown parameter \"sigmas\": /v1/gaussian_filter reads sigma,")
                && message.ends_with("cval_imag, output_dtype, exp"),
            "{message}"
        );
        let q = OpQuery::parse(gaussian_filter(), "sigma=1&output=uint8").unwrap();
        assert_eq!(q.params.output_dtype, pb::DType::DtypeUint8 as i32);
    }

    #[test]
    fn each_operation_reads_its_own_parameters() {
        let laplace = crate::ops::by_name("gaussian_laplace").unwrap();
        assert!(OpQuery::parse(laplace, "sigma=1&order=1").is_err());
        let one_d = crate::ops::by_name("gaussian_filter1d").unwrap();
        let q = OpQuery::parse(one_d, "sigma=2&axis=0&order=1").unwrap();
        assert_eq!(q.params.axes, vec![0]);
        let wire = q.into_wire(one_d, None).unwrap();
        assert!(matches!(
            wire.op,
            Some(pb::op_params::Op::GaussianFilter1d(
                pb::GaussianFilter1dParams {
                    sigma: Some(2.0),
                    axis: Some(0),
                    order: 1,
                    ..
                }
            ))
        ));
        let two = OpQuery::parse(one_d, "sigma=1,2").unwrap();
        assert!(two.into_wire(one_d, None).is_err());
        assert!(OpQuery::parse(one_d, "sigma=1&axes=0").is_err());
    }
}
