//! The two pages a person opens in a browser: `GET /docs`, Swagger UI of
//! `/openapi.json`, and `GET /`, a playground that calls the `/v1/*` routes
//! (the seed's `POST /` is unchanged: a method router holds both).
//!
//! Everything they load comes from this binary: the pages, their scripts and
//! styles are files beside this module (`pages/`, embedded with
//! `include_str!`), and Swagger UI's bundle and stylesheet are the ones the
//! `swagger-ui-dist` crate embeds. No page loads anything from another origin
//! (the service often runs where there is no internet), and each says so in
//! its `Content-Security-Policy`; no page needs inline script or style.
//!
//! The pages are not API routes, so they are not in the OpenAPI document.
//! They, their assets and the document are open when API keys are on (they
//! carry no data; the calls they make send the key), see `request::is_public`.

use std::sync::LazyLock;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use tower::ServiceExt;

use super::AppState;
use super::request::not_found;

/// What the playground may load: its own files, and the `blob:` URLs of the
/// images it shows (the picked file and the filtered PNG).
pub(crate) const PLAYGROUND_CSP: &str = "default-src 'self'; img-src 'self' blob:";

/// What Swagger UI may load: its own files, the `data:` SVG icons of its
/// stylesheet, and the `blob:` URLs of image answers it shows.
pub(crate) const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data: blob:";

const PLAYGROUND_HTML: &str = include_str!("pages/playground.html");
const DOCS_HTML: &str = include_str!("pages/docs.html");

/// Where the bytes of an asset come from.
enum Source {
    /// A file beside this module.
    Here(&'static str),
    /// A file of Swagger UI's distribution, as `swagger-ui-dist` serves it.
    SwaggerUi,
}

/// The files served under `/assets/`: name, Content-Type, source.
const ASSETS: [(&str, &str, Source); 7] = [
    (
        "playground.css",
        "text/css; charset=utf-8",
        Source::Here(include_str!("pages/playground.css")),
    ),
    (
        "playground.js",
        "text/javascript; charset=utf-8",
        Source::Here(include_str!("pages/playground.js")),
    ),
    (
        "docs.css",
        "text/css; charset=utf-8",
        Source::Here(include_str!("pages/docs.css")),
    ),
    (
        "docs.js",
        "text/javascript; charset=utf-8",
        Source::Here(include_str!("pages/docs.js")),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        Source::Here(include_str!("pages/favicon.svg")),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        Source::SwaggerUi,
    ),
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        Source::SwaggerUi,
    ),
];

/// The page routes: path and handler (the gateway adds them beside the API
/// routes of [`super::routes`]).
pub(crate) fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/", get(playground)),
        ("/docs", get(docs)),
        ("/assets/{name}", get(asset)),
    ]
}

/// `GET /`: the playground. With API keys on it shows a key field (the page
/// reads `data-api-keys` from its `<body>`).
async fn playground(State(state): State<AppState>) -> Response {
    let html = if state.api_keys().enabled() {
        PLAYGROUND_HTML.replacen("data-api-keys=\"off\"", "data-api-keys=\"required\"", 1)
    } else {
        PLAYGROUND_HTML.to_owned()
    };
    page(html, PLAYGROUND_CSP)
}

/// `GET /docs`: Swagger UI, started by `assets/docs.js`.
async fn docs() -> Response {
    page(DOCS_HTML.to_owned(), DOCS_CSP)
}

/// An HTML page with its policy; pages are small and may change with the
/// binary, so browsers check them again each time.
fn page(html: String, csp: &'static str) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /assets/{name}`: a script or stylesheet of the pages.
async fn asset(Path(name): Path<String>, uri: Uri) -> Response {
    let Some((_, content_type, source)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return not_found(uri).await;
    };
    let mut response = match source {
        Source::Here(text) => (*text).into_response(),
        Source::SwaggerUi => swagger_ui_file(&name).await,
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // An hour: long enough for a session of clicking, short enough that a
    // new binary's files are picked up the same day.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// `swagger-ui-dist` serves its files only as routes of an axum router (they
/// are not public constants), so its router answers the two files the docs
/// page loads; its own index page, which needs inline script, is never
/// reachable from outside.
static SWAGGER_UI: LazyLock<Router> = LazyLock::new(|| {
    swagger_ui_dist::generate_routes(swagger_ui_dist::ApiDefinition {
        uri_prefix: "/swagger-ui",
        api_definition: swagger_ui_dist::OpenApiSource::Uri("/openapi.json"),
        title: None,
    })
});

/// One file of Swagger UI's distribution, by name.
async fn swagger_ui_file(name: &str) -> Response {
    let request = Request::get(format!("/swagger-ui/{name}"))
        .body(Body::empty())
        .unwrap_or_default();
    match SWAGGER_UI.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use http_body_util::BodyExt;

    use super::*;

    /// A router of the page routes alone, in front of an upstream that is
    /// never called.
    fn pages_alone(keys: bool) -> Router {
        let extras = super::super::GatewayExtras {
            api_keys: if keys {
                crate::auth::ApiKeys::load(&["k".into()], None).unwrap()
            } else {
                crate::auth::ApiKeys::default()
            },
            service_metrics: None,
            kserve_channel: None,
            budget: None,
        };
        let state = AppState::new(
            super::super::connect_upstream("http://127.0.0.1:9").unwrap(),
            super::super::GatewayConfig::default(),
            extras,
        );
        let mut app = Router::new();
        for (path, handler) in routes() {
            app = app.route(path, handler);
        }
        app.with_state(state)
    }

    async fn get(app: Router, path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }

    #[tokio::test]
    async fn every_asset_is_served_with_its_content_type() {
        for (name, content_type, _) in &ASSETS {
            let (status, headers, body) = get(pages_alone(false), &format!("/assets/{name}")).await;
            assert_eq!(status, StatusCode::OK, "{name}");
            assert_eq!(headers[header::CONTENT_TYPE], *content_type, "{name}");
            assert!(body.len() > 100, "{name} is {} bytes", body.len());
        }
        let (_, _, bundle) = get(pages_alone(false), "/assets/swagger-ui-bundle.js").await;
        let bundle = String::from_utf8(bundle).unwrap();
        assert!(bundle.contains("SwaggerUIBundle"));
    }

    #[tokio::test]
    async fn only_listed_assets_are_served() {
        for path in [
            "/assets/index.html",
            "/assets/swagger-ui-bundle.js.map",
            "/assets/oauth2-redirect.html",
            "/assets/..%2Fopenapi.json",
        ] {
            let (status, _, _) = get(pages_alone(false), path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[tokio::test]
    async fn pages_are_html_with_their_policy() {
        for (path, csp) in [("/", PLAYGROUND_CSP), ("/docs", DOCS_CSP)] {
            let (status, headers, body) = get(pages_alone(false), path).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
            assert_eq!(headers[header::CONTENT_SECURITY_POLICY], csp);
            let html = String::from_utf8(body).unwrap();
            assert!(html.starts_with("<!DOCTYPE html>"), "{path}");
        }
    }

    /// The policies allow no inline script, so the pages must have none:
    /// every `<script>` loads a file, and no element has an event attribute.
    #[test]
    fn pages_have_no_inline_script_or_style() {
        for html in [PLAYGROUND_HTML, DOCS_HTML] {
            for (i, _) in html.match_indices("<script") {
                let tag = &html[i..i + html[i..].find('>').unwrap()];
                assert!(tag.contains(" src=\"assets/"), "inline script: {tag}");
                assert!(html[i..].contains("></script>"));
            }
            assert!(!html.contains("<style"), "inline style");
            assert!(!html.contains(" style=\""), "inline style attribute");
            assert!(!html.contains(" onclick="), "event attribute");
            assert!(!html.contains("http://") && !html.contains("https://"));
        }
    }

    #[tokio::test]
    async fn the_key_field_shows_only_when_keys_are_on() {
        let (_, _, off) = get(pages_alone(false), "/").await;
        assert!(
            String::from_utf8(off)
                .unwrap()
                .contains("data-api-keys=\"off\"")
        );
        let (_, _, on) = get(pages_alone(true), "/").await;
        assert!(
            String::from_utf8(on)
                .unwrap()
                .contains("data-api-keys=\"required\"")
        );
    }
}
