//! Optional API keys. When keys are configured, every gRPC call except
//! health checks and the Open Inference Protocol's liveness and readiness
//! probes ([`OpenProbes`]) must carry `authorization: Bearer KEY` with one of them
//! (the HTTP gateway takes `Authorization: Bearer KEY`, `X-API-Key: KEY` or
//! the form field `key`, and forwards the key as that metadata), otherwise
//! it is refused with `UNAUTHENTICATED`. Keys are compared in constant time.
//!
//! [`bearer_key`] is the one reading of an `authorization` value, for gRPC
//! metadata and the gateway's HTTP header alike: the `Bearer` scheme (any
//! case, RFC 6750) then the key. A bare key or another scheme is refused
//! on both transports, saying so.

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use subtle::ConstantTimeEq;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The accepted keys; empty means authentication is off.
#[derive(Clone, Debug, Default)]
pub struct ApiKeys {
    keys: Arc<Vec<Vec<u8>>>,
}

impl ApiKeys {
    /// Keys given on the command line plus those in `file` (one per line;
    /// blank lines and `#` comments ignored).
    pub fn load(keys: &[String], file: Option<&Path>) -> anyhow::Result<ApiKeys> {
        let mut all: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
            .map(|k| k.as_bytes().to_vec())
            .collect();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("cannot read the API key file {}: {e}", path.display())
            })?;
            all.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| l.as_bytes().to_vec()),
            );
        }
        Ok(ApiKeys {
            keys: Arc::new(all),
        })
    }

    /// True when at least one key is configured.
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// True when `candidate` equals one of the keys. Every key is compared
    /// (in constant time), so timing tells nothing about which one matched.
    pub fn accepts(&self, candidate: &[u8]) -> bool {
        self.keys
            .iter()
            .fold(false, |found, key| found | bool::from(key.ct_eq(candidate)))
    }

    /// Checks an `authorization` metadata value of the form `Bearer KEY`.
    pub fn check_authorization(&self, value: Option<&[u8]>) -> Result<(), Status> {
        if !self.enabled() {
            return Ok(());
        }
        let Some(value) = value else {
            return Err(Status::unauthenticated(MISSING_KEY));
        };
        match bearer_key(value) {
            None => Err(Status::unauthenticated(NOT_BEARER)),
            Some(key) if self.accepts(key) => Ok(()),
            Some(_) => Err(Status::unauthenticated(INVALID_KEY)),
        }
    }
}

/// The refusal when no key came with a call.
pub const MISSING_KEY: &str =
    "an API key is required: send the metadata `authorization: Bearer KEY`";
/// The refusal of an `authorization` value that is not `Bearer KEY`.
pub const NOT_BEARER: &str =
    "the authorization value must be `Bearer KEY` (the Bearer scheme, a space, the key)";
/// The refusal of a key that is not one of the configured keys.
pub const INVALID_KEY: &str = "the API key is not valid";

/// The key of an `authorization` value `Bearer KEY`: the scheme in any case,
/// then whitespace, then the key (surrounding whitespace trimmed). `None`
/// for anything else: a bare key, another scheme (`Basic ...`), an empty key.
pub fn bearer_key(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let split = value.iter().position(u8::is_ascii_whitespace)?;
    let (scheme, key) = value.split_at(split);
    let key = key.trim_ascii();
    (scheme.eq_ignore_ascii_case(b"Bearer") && !key.is_empty()).then_some(key)
}

impl Interceptor for ApiKeys {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let value = request
            .metadata()
            .get("authorization")
            .map(|v| v.as_bytes());
        self.check_authorization(value)?;
        Ok(request)
    }
}

/// A gRPC service whose calls need a key (as [`ApiKeys`]' interceptor
/// asks), but for the methods named in `open`: probes that hold no data,
/// which a Kubernetes probe written for Triton or KServe calls without one.
/// Written as a tower service because an interceptor does not see the
/// method it guards.
#[derive(Clone)]
pub(crate) struct OpenProbes<S> {
    inner: S,
    keys: ApiKeys,
    open: &'static [&'static str],
}

impl<S> OpenProbes<S> {
    /// `inner` behind `keys`, with the methods `open` (bare names, such as
    /// `"ServerLive"`) left open.
    pub(crate) fn new(inner: S, keys: ApiKeys, open: &'static [&'static str]) -> OpenProbes<S> {
        OpenProbes { inner, keys, open }
    }
}

impl<S: NamedService> NamedService for OpenProbes<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tower::Service<http::Request<Body>> for OpenProbes<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + NamedService,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let method = request
            .uri()
            .path()
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(S::NAME))
            .and_then(|p| p.strip_prefix('/'));
        let open = method.is_some_and(|m| self.open.contains(&m));
        if !open {
            let value = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            if let Err(status) = self.keys.check_authorization(value) {
                return Box::pin(std::future::ready(Ok(status.into_http())));
            }
        }
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_key_takes_the_bearer_scheme_in_any_case_and_nothing_else() {
        for (value, key) in [
            (&b"Bearer k1"[..], Some(&b"k1"[..])),
            (b"bearer k1", Some(b"k1")),
            (b"BEARER \t k1 ", Some(b"k1")),
            (b" Bearer k1", Some(b"k1")),
            (b"k1", None),
            (b"Bearer", None),
            (b"Bearer   ", None),
            (b"Basic k1", None),
            (b"Bearerk1", None),
            (b"", None),
        ] {
            assert_eq!(
                bearer_key(value),
                key,
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn a_bare_key_is_refused_saying_bearer_is_needed() {
        let keys = ApiKeys::load(&["alpha".into()], None).unwrap();
        let err = keys.check_authorization(Some(b"alpha")).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        assert_eq!(err.message(), NOT_BEARER);
        let err = keys.check_authorization(Some(b"Bearer beta")).unwrap_err();
        assert_eq!(err.message(), INVALID_KEY);
        assert!(keys.check_authorization(Some(b"bearer alpha")).is_ok());
    }

    #[test]
    fn accepts_only_configured_keys() {
        let keys = ApiKeys::load(&["alpha".into(), " beta ".into(), "".into()], None).unwrap();
        assert!(keys.enabled());
        assert!(keys.check_authorization(Some(b"Bearer alpha")).is_ok());
        assert!(keys.check_authorization(Some(b"Bearer beta")).is_ok());
        assert!(keys.check_authorization(Some(b"Bearer alph")).is_err());
        assert!(keys.check_authorization(Some(b"Bearer ")).is_err());
        assert!(keys.check_authorization(None).is_err());
    }

    #[test]
    fn without_keys_everything_is_allowed() {
        let keys = ApiKeys::load(&[], None).unwrap();
        assert!(!keys.enabled());
        assert!(keys.check_authorization(None).is_ok());
    }

    #[test]
    fn reads_keys_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, "# team keys\nk1\n\n  k2  \n").unwrap();
        let keys = ApiKeys::load(&[], Some(&path)).unwrap();
        assert!(keys.accepts(b"k1") && keys.accepts(b"k2") && !keys.accepts(b"# team keys"));
        assert!(ApiKeys::load(&[], Some(&dir.path().join("missing"))).is_err());
    }
}
