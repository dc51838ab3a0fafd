//! API keys at the gateway, checked before any upload is read.
//!
//! When the gateway knows the keys (`tensorwire serve`, or `tensorwire
//! gateway --api-key …`), a request is let in only with a valid key in
//! `Authorization: Bearer KEY` or `X-API-Key: KEY` — or, for the form routes
//! (`/im_size`, `POST /`), in a `key` form field. That field must come before
//! the files (where `requests` puts form fields): a file met before a valid
//! key is refused with 401 without reading it. `/healthz` and the Open
//! Inference Protocol's probes (`/v2/health/live`, `/v2/health/ready`, as
//! in Triton) stay open, and
//! `/metrics` too unless `--metrics-require-key`; so do the browser pages,
//! their assets and `/openapi.json` (read before anyone can type a key; see
//! `request::is_public`).
//!
//! The service checks the key again (the gateway forwards it), so a gateway
//! without keys of its own still lets nobody through; it only buffers more.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::request::is_public;
use super::{AppState, GatewayError};
use crate::auth::{ApiKeys, bearer_key};

/// The refusal when no key came with the request.
const MISSING: &str = "an API key is required: send Authorization: Bearer KEY, X-API-Key: KEY, or a 'key' form field before the files";
/// The refusal of a wrong key.
const INVALID: &str = crate::auth::INVALID_KEY;
/// The refusal of an `Authorization` header that is not `Bearer KEY`.
const NOT_BEARER: &str = crate::auth::NOT_BEARER;

/// Routes whose forms may carry the key as a field.
const FORM_ROUTES: [&str; 2] = ["/im_size", "/"];

/// A key still to be found among a form's fields (a request extension).
#[derive(Clone, Debug)]
struct PendingFormKey(ApiKeys);

/// What a form handler checks while it reads fields.
#[derive(Debug, Default)]
pub(crate) struct FormKey(Option<ApiKeys>);

impl FormKey {
    /// The pending check of `request`, if the middleware left one.
    pub(crate) fn take(request: &mut Request) -> FormKey {
        FormKey(
            request
                .extensions_mut()
                .remove::<PendingFormKey>()
                .map(|p| p.0),
        )
    }

    /// A `key` field: accepted, or 401 if it is wrong.
    pub(crate) fn offer(&mut self, key: &str) -> Result<(), GatewayError> {
        match &self.0 {
            None => Ok(()),
            Some(keys) if keys.accepts(key.trim().as_bytes()) => {
                self.0 = None;
                Ok(())
            }
            Some(_) => Err(GatewayError::Unauthenticated(INVALID)),
        }
    }

    /// Before reading a payload: 401 unless a valid key was seen.
    pub(crate) fn before_payload(&self) -> Result<(), GatewayError> {
        match self.0 {
            None => Ok(()),
            Some(_) => Err(GatewayError::Unauthenticated(MISSING)),
        }
    }
}

/// The key in `Authorization: Bearer KEY` (read by [`bearer_key`], as the
/// service reads its metadata: `Err` when the header is not of that form) or
/// `X-API-Key: KEY`; `None` when neither header is there.
fn header_key(headers: &HeaderMap) -> Option<Result<&[u8], &'static str>> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        return Some(bearer_key(value.as_bytes()).ok_or(NOT_BEARER));
    }
    headers
        .get("x-api-key")
        .map(|v| Ok(v.as_bytes().trim_ascii()))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.trim_start().to_ascii_lowercase();
            ct.starts_with("multipart/form-data")
                || ct.starts_with("application/x-www-form-urlencoded")
        })
}

/// Middleware: refuses requests without a valid key before their bodies are
/// read (forms: see [`FormKey`]).
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let keys = state.api_keys();
    if !keys.enabled() {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let open = path == "/healthz"
        || path == "/v2/health/live"
        || path == "/v2/health/ready"
        || (path == "/metrics" && !state.config().metrics_require_key)
        || is_public(request.method(), path);
    if open {
        return next.run(request).await;
    }
    match header_key(request.headers()) {
        Some(Ok(key)) if keys.accepts(key) => return next.run(request).await,
        Some(Ok(_)) => return GatewayError::Unauthenticated(INVALID).into_response(),
        Some(Err(refusal)) => return GatewayError::Unauthenticated(refusal).into_response(),
        None => {}
    }
    if FORM_ROUTES.contains(&path) && is_form(request.headers()) {
        let pending = PendingFormKey(keys.clone());
        request.extensions_mut().insert(pending);
        return next.run(request).await;
    }
    GatewayError::Unauthenticated(MISSING).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_key_must_be_valid_and_come_before_the_payload() {
        let keys = ApiKeys::load(&["s3cret".into()], None).unwrap();
        let mut pending = FormKey(Some(keys.clone()));
        assert!(matches!(
            pending.before_payload(),
            Err(GatewayError::Unauthenticated(_))
        ));
        assert!(pending.offer("wrong").is_err());
        pending.offer(" s3cret ").unwrap();
        pending.before_payload().unwrap();
        FormKey::default().before_payload().unwrap();
    }

    #[test]
    fn keys_are_read_from_either_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(header_key(&headers), None);
        headers.insert("x-api-key", "abc".parse().unwrap());
        assert_eq!(header_key(&headers), Some(Ok(&b"abc"[..])));
        headers.insert("authorization", "Bearer xyz".parse().unwrap());
        assert_eq!(header_key(&headers), Some(Ok(&b"xyz"[..])));
        headers.insert("authorization", "bearer xyz".parse().unwrap());
        assert_eq!(header_key(&headers), Some(Ok(&b"xyz"[..])));
        for other in ["Basic xyz", "xyz"] {
            headers.insert("authorization", other.parse().unwrap());
            assert_eq!(header_key(&headers), Some(Err(NOT_BEARER)), "{other}");
        }
    }
}
