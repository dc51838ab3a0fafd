//! The seed-compatible routes: what Python clients written for the Flask
//! originals already POST, answered with the same status codes, JSON field
//! names and messages (SPEC §3), so those clients work unchanged.
//!
//! | route | calls |
//! |---|---|
//! | `POST /receive_array`, `/receive_tensor` | `Describe` (`DescribeStream` when large) of the base64 `.npy` |
//! | `POST /receive_list` | `Describe` of the tensor read from the nested list |
//! | `POST /im_size` | `ImageSize` (`ImageSizeStream` when large) per `image` |
//! | `POST /` | `GaussianFilter` (or the stream) with sigma 0.5 |

use std::borrow::Cow;
use std::fmt;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::json;
use tonic::Code;

use super::AppState;
use super::GatewayError;
use super::auth::FormKey;
use super::memory::{Account, RequestMemory, content_length};
use super::request::{media_type, reserve_npy_filter_body};
use super::upload::{
    Base64Pieces, FieldPieces, PARSE_LIMITS, clean_base64, decode_base64, multipart_error,
    read_body, read_npy_upload,
};
use super::upstream::Credentials;
use crate::json::list::{ListError, tensor_from_json_body};
use crate::npy::read_npy;
use crate::proto::pb;

/// Bodies larger than this are parsed on the blocking pool, so one large
/// JSON body does not hold up the other requests of its runtime thread.
const INLINE_PARSE_BYTES: usize = 1 << 20;

/// Memory reading a JSON list holds per number: the number as read (16
/// bytes) and its place in the tensor (8).
const LIST_BYTES_PER_NUMBER: u64 = 24;

/// `POST /receive_array`: `{"array_data": "<base64 .npy>"}` → its shape.
pub(crate) async fn receive_array(
    State(state): State<AppState>,
    memory: RequestMemory,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, GatewayError> {
    receive_base64_npy(state, memory, headers, body, SeedNpy::ARRAY).await
}

/// `POST /receive_tensor`: `{"tensor_data": "<base64 .npy>"}` → its shape.
pub(crate) async fn receive_tensor(
    State(state): State<AppState>,
    memory: RequestMemory,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, GatewayError> {
    receive_base64_npy(state, memory, headers, body, SeedNpy::TENSOR).await
}

/// What differs between `/receive_array` and `/receive_tensor`.
struct SeedNpy {
    field: &'static str,
    what: &'static str,
    received: &'static str,
    refuse: fn(String) -> GatewayError,
}

impl SeedNpy {
    const ARRAY: SeedNpy = SeedNpy {
        field: "array_data",
        what: "array",
        received: "Array received successfully",
        refuse: refuse_array,
    };
    const TENSOR: SeedNpy = SeedNpy {
        field: "tensor_data",
        what: "tensor",
        received: "Tensor received successfully",
        refuse: refuse_tensor,
    };
}

fn refuse_array(detail: String) -> GatewayError {
    GatewayError::Decode {
        what: "array",
        detail,
    }
}

fn refuse_tensor(detail: String) -> GatewayError {
    GatewayError::Decode {
        what: "tensor",
        detail,
    }
}

/// An upstream refusal of the payload reads as the seed's decoding error;
/// other failures (unavailable, deadline, ...) keep their own status.
fn payload_refusal(err: GatewayError, what: &'static str) -> GatewayError {
    match err {
        GatewayError::Upstream(status) if status.code() == Code::InvalidArgument => {
            GatewayError::Decode {
                what,
                detail: status.message().to_owned(),
            }
        }
        other => other,
    }
}

/// The JSON body must be held whole (the field may come last): it is
/// reserved from `Content-Length` before it is read, and every copy made
/// from it before the copy is made.
async fn receive_base64_npy(
    state: AppState,
    memory: RequestMemory,
    headers: HeaderMap,
    body: Body,
    seed: SeedNpy,
) -> Result<Json<serde_json::Value>, GatewayError> {
    let limit = state.body_limit();
    let body = read_body(body, &headers, limit, &memory, 1).await?;
    if body.contains(&b'\\') {
        // Escapes: serde_json unescapes the string into its scratch buffer,
        // then it is copied out.
        memory.add(Account::Decoded, 2 * body.len() as u64)?;
    }
    let text = find_base64_field(body, seed.field, seed.what).await?;
    let calls = state.calls(Credentials::from_headers(&headers), &memory);
    let described = if text.len() / 4 * 3 <= calls.threshold() {
        // Small: decoded whole, in one go (and maybe reordered).
        memory.add(Account::Decoded, 2 * (text.len() / 4 * 3) as u64)?;
        let decoded = Bytes::from(decode_base64(&text, seed.what)?);
        let tensor = read_npy(decoded, &PARSE_LIMITS).map_err(|e| (seed.refuse)(e.to_string()))?;
        calls.describe_tensor(tensor).await
    } else {
        // Large: decoded a piece at a time into the streaming call, so the
        // body is held once and the decoded tensor never whole.
        if text.iter().any(u8::is_ascii_whitespace) {
            memory.add(Account::Decoded, text.len() as u64)?;
        }
        let text = clean_base64(&text);
        let piece = usize::try_from(state.config().upload_chunk_bytes).unwrap_or(usize::MAX);
        let pieces = Base64Pieces::new(&text, piece, seed.what);
        let upload = read_npy_upload(
            pieces,
            calls.threshold(),
            seed.refuse,
            (&memory, Account::Gathered),
        )
        .await?;
        calls.describe_upload(upload, seed.refuse).await
    };
    let info = described.map_err(|e| payload_refusal(e, seed.what))?;
    Ok(Json(json!({"message": seed.received, "shape": info.shape})))
}

/// The string value of `field` in a JSON object body, as a slice of the body
/// when it has no escapes (base64 has none), else a copy.
async fn find_base64_field(
    body: Bytes,
    field: &'static str,
    what: &'static str,
) -> Result<Bytes, GatewayError> {
    let small = body.len() <= INLINE_PARSE_BYTES;
    let find = move || -> Result<Bytes, GatewayError> {
        match string_field(&body, field) {
            Ok(FieldValue::Text(Cow::Borrowed(text))) => {
                let start = text.as_ptr() as usize - body.as_ptr() as usize;
                Ok(body.slice(start..start + text.len()))
            }
            Ok(FieldValue::Text(Cow::Owned(text))) => Ok(Bytes::from(text)),
            Ok(FieldValue::Missing) => Err(GatewayError::MissingField(field)),
            Ok(FieldValue::NotText) => Err(GatewayError::Decode {
                what,
                detail: format!("'{field}' must be a string: the base64 text of a .npy file"),
            }),
            Err(e) => Err(GatewayError::Decode {
                what,
                detail: format!("the body is not a JSON object with a '{field}' field: {e}"),
            }),
        }
    };
    if small {
        find()
    } else {
        tokio::task::spawn_blocking(find)
            .await
            .map_err(|e| GatewayError::Internal(format!("JSON parsing failed: {e}")))?
    }
}

/// What a JSON body holds under a key.
enum FieldValue<'a> {
    Missing,
    NotText,
    Text(Cow<'a, str>),
}

/// Reads `{"...": ..., "<field>": "<text>", ...}`, skipping other keys
/// without building them.
fn string_field<'a>(body: &'a [u8], field: &str) -> Result<FieldValue<'a>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = FieldSeed { field }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct FieldSeed<'f> {
    field: &'f str,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = FieldValue<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = FieldValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a JSON object with a '{}' field", self.field)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = FieldValue::Missing;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == self.field && matches!(found, FieldValue::Missing) {
                found = map.next_value_seed(TextSeed)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A string value, borrowed when possible; anything else is `NotText`.
struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = FieldValue<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = FieldValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(FieldValue::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(FieldValue::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(FieldValue::Text(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(FieldValue::NotText)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(FieldValue::NotText)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(FieldValue::NotText)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(FieldValue::NotText)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(FieldValue::NotText)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FieldValue::NotText)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FieldValue::NotText)
    }
}

/// `POST /receive_list`: `{"array_list": [[...], ...]}` → its shape.
pub(crate) async fn receive_list(
    State(state): State<AppState>,
    memory: RequestMemory,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, GatewayError> {
    let limit = state.body_limit();
    let body = read_body(body, &headers, limit, &memory, 1).await?;
    // Reading a list holds each number as it was read (16 bytes), then the
    // tensor (8 bytes each); there are at most one more numbers than commas.
    let commas = body.iter().filter(|&&b| b == b',').count() as u64;
    memory.add(Account::Decoded, LIST_BYTES_PER_NUMBER * (commas + 1))?;
    let small = body.len() <= INLINE_PARSE_BYTES;
    let parse = move || tensor_from_json_body(&body, "array_list");
    let parsed = if small {
        parse()
    } else {
        tokio::task::spawn_blocking(parse)
            .await
            .map_err(|e| GatewayError::Internal(format!("JSON parsing failed: {e}")))?
    };
    let tensor = parsed.map_err(|e| match e {
        ListError::Missing => GatewayError::MissingField("array_list"),
        ListError::Invalid(detail) => refuse_array(detail),
    })?;
    let info = state
        .calls(Credentials::from_headers(&headers), &memory)
        .describe_tensor(tensor)
        .await
        .map_err(|e| payload_refusal(e, "array"))?;
    Ok(Json(
        json!({"message": "Array received successfully", "shape": info.shape}),
    ))
}

/// `POST /im_size`: one or several images, as multipart files or as base64
/// in a urlencoded form → `{"msg": "success", "size": [w, h]}`, plus
/// `"sizes"` for several. A `key` form field is the API key.
pub(crate) async fn im_size(
    State(state): State<AppState>,
    memory: RequestMemory,
    mut request: Request,
) -> Result<Json<serde_json::Value>, GatewayError> {
    let mut form_key = FormKey::take(&mut request);
    let limit = state.body_limit();
    let mut calls = state.calls(Credentials::from_headers(request.headers()), &memory);
    let content_type = media_type(request.headers());
    let mut sizes: Vec<[u32; 2]> = Vec::new();
    match content_type.as_str() {
        "multipart/form-data" => {
            if let Some(declared) = content_length(request.headers()) {
                // An image is gathered, then joined, up to the threshold.
                memory.cover(
                    Account::Gathered,
                    2 * declared.min(calls.threshold() as u64),
                )?;
            }
            let mut multipart = Multipart::from_request(request, &state)
                .await
                .map_err(|e| GatewayError::BadRequest(e.body_text()))?;
            // Fields are read in order: a `key` field counts for the images
            // after it (clients send form fields before files).
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|e| multipart_error(e, limit))?
            {
                match field.name() {
                    Some("image") => {
                        form_key.before_payload()?;
                        let filename = field.file_name().unwrap_or_default().to_owned();
                        let info = calls
                            .image_size_pieces(FieldPieces::new(field, limit), filename)
                            .await
                            .map_err(|e| payload_refusal(e, "image"))?;
                        sizes.push([info.width, info.height]);
                    }
                    Some("key") => {
                        let key = field.text().await.map_err(|e| multipart_error(e, limit))?;
                        form_key.offer(&key)?;
                        calls.set_credentials(Credentials::from_key(&key));
                    }
                    _ => {}
                }
            }
        }
        "application/x-www-form-urlencoded" => {
            // The form held whole, its fields unescaped (a copy), and one
            // image decoded at a time: three bytes per byte of body at most.
            let (parts, body) = request.into_parts();
            let body = read_body(body, &parts.headers, limit, &memory, 3).await?;
            let mut images = Vec::new();
            for (name, value) in form_urlencoded::parse(&body) {
                match name.as_ref() {
                    "image" => images.push(value),
                    "key" => {
                        form_key.offer(&value)?;
                        calls.set_credentials(Credentials::from_key(&value));
                    }
                    _ => {}
                }
            }
            form_key.before_payload()?;
            for text in images {
                let data = decode_base64(text.as_bytes(), "image")?;
                let info = calls
                    .image_size(Bytes::from(data), String::new())
                    .await
                    .map_err(|e| payload_refusal(e, "image"))?;
                sizes.push([info.width, info.height]);
            }
        }
        other => {
            return Err(GatewayError::UnsupportedMediaType(format!(
                "/im_size reads multipart/form-data (an 'image' file) or \
                 application/x-www-form-urlencoded (an 'image' field of base64), not {:?}",
                if other.is_empty() {
                    "no Content-Type"
                } else {
                    other
                }
            )));
        }
    }
    let Some(&first) = sizes.first() else {
        return Err(GatewayError::MissingField("image"));
    };
    let mut answer = json!({"msg": "success", "size": first});
    if sizes.len() > 1 {
        answer["sizes"] = json!(sizes);
    }
    Ok(Json(answer))
}

/// `POST /`: a multipart `array` file (.npy) → the `.npy` of
/// `gaussian_filter(array, 0.5)`, streamed back as the service answers.
pub(crate) async fn filter_upload(
    State(state): State<AppState>,
    memory: RequestMemory,
    mut request: Request,
) -> Result<Response, GatewayError> {
    let mut form_key = FormKey::take(&mut request);
    let limit = state.body_limit();
    let mut calls = state.calls(Credentials::from_headers(request.headers()), &memory);
    if media_type(request.headers()) != "multipart/form-data" {
        return Err(GatewayError::NoInputFile);
    }
    // The file streams, but its whole answer is held until the body is in.
    reserve_npy_filter_body(&calls, request.headers())?;
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|_| GatewayError::NoInputFile)?;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        match field.name() {
            Some("array") => form_key.before_payload()?,
            Some("key") => {
                let key = field.text().await.map_err(|e| multipart_error(e, limit))?;
                form_key.offer(&key)?;
                calls.set_credentials(Credentials::from_key(&key));
                continue;
            }
            _ => continue,
        }
        let upload = read_npy_upload(
            FieldPieces::new(field, limit),
            calls.threshold(),
            refuse_array,
            (&memory, Account::Gathered),
        )
        .await?;
        let params = pb::OpParams {
            op: Some(pb::op_params::Op::GaussianFilter(pb::GaussianParams {
                sigma: vec![0.5],
                ..Default::default()
            })),
        };
        let filtered = calls
            .filter_upload_in_place(upload, params, refuse_array)
            .await
            .map_err(|e| payload_refusal(e, "array"))?;
        let (length, body) = filtered.into_npy();
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        return Ok(response);
    }
    Err(GatewayError::NoInputFile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_borrowed_and_skips_the_rest() {
        let body = br#"{"id": [1, {"x": "y"}], "array_data": "k05VTVBZ", "z": null}"#;
        match string_field(body, "array_data").unwrap() {
            FieldValue::Text(Cow::Borrowed(t)) => assert_eq!(t, "k05VTVBZ"),
            _ => panic!("expected borrowed text"),
        }
        assert!(matches!(
            string_field(br#"{"a": 1}"#, "array_data").unwrap(),
            FieldValue::Missing
        ));
        assert!(matches!(
            string_field(br#"{"array_data": 5}"#, "array_data").unwrap(),
            FieldValue::NotText
        ));
        assert!(string_field(b"[1]", "array_data").is_err());
        assert!(string_field(b"{\"array_data\": \"x\"", "array_data").is_err());
    }
}
