//! What the gateway's routes share about a request, so that no route
//! borrows from another: whether it may go without an API key
//! ([`is_public`], read by `auth`), its body's media type, the reservation
//! of a `.npy` body that may stream, and the answers to a path or a method
//! no route takes.

use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use tonic::Code;

use super::GatewayError;
use super::error::error_response;
use super::memory::{Account, content_length};
use super::upstream::Calls;

/// Whether a request may go without an API key: reading a page, an asset or
/// the OpenAPI document, which a browser loads before anyone can type a key.
pub(crate) fn is_public(method: &Method, path: &str) -> bool {
    let reads = method == Method::GET || method == Method::HEAD;
    reads
        && (path == "/"
            || path == "/docs"
            || path == "/openapi.json"
            || path.starts_with("/assets/"))
}

/// The media type of the body, lower case, without parameters.
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// What a `.npy` body that may stream holds, reserved from its declared
/// length before it is read: up to the streaming threshold, gathered.
pub(crate) fn reserve_npy_body(calls: &Calls, headers: &HeaderMap) -> Result<(), GatewayError> {
    if let Some(declared) = content_length(headers) {
        calls
            .memory()
            .cover(Account::Gathered, declared.min(calls.threshold() as u64))?;
    }
    Ok(())
}

/// [`reserve_npy_body`] for a body that is filtered: its answer, about as
/// large, may have to be held for a client that sends the whole body before
/// it reads, so that room is prepaid from the declared length too.
pub(crate) fn reserve_npy_filter_body(
    calls: &Calls,
    headers: &HeaderMap,
) -> Result<(), GatewayError> {
    reserve_npy_body(calls, headers)?;
    if let Some(declared) = content_length(headers) {
        calls.prepay_answer(declared)?;
    }
    Ok(())
}

/// Any path that is not a route.
pub(crate) async fn not_found(uri: Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        &format!(
            "no route {}; GET /openapi.json lists the routes",
            uri.path()
        ),
        Code::NotFound,
    )
}

/// A route asked with a method it does not answer.
pub(crate) async fn method_not_allowed(uri: Uri) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!(
            "{} does not answer this method; GET /openapi.json lists the routes",
            uri.path()
        ),
        Code::Unimplemented,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_assets_and_the_document_are_public_and_nothing_else() {
        for path in ["/", "/docs", "/assets/docs.js", "/openapi.json"] {
            assert!(is_public(&Method::GET, path), "{path}");
            assert!(is_public(&Method::HEAD, path), "{path}");
        }
        assert!(!is_public(&Method::POST, "/"));
        assert!(!is_public(&Method::POST, "/docs"));
        for path in [
            "/v1/describe",
            "/im_size",
            "/metrics",
            "/docs/x",
            "/assetsx",
        ] {
            assert!(!is_public(&Method::GET, path), "{path}");
        }
    }
}
