//! Optional API keys. When keys are configured, every gRPC call except
//! health checks must carry `authorization: Bearer KEY` with one of them
//! (the HTTP gateway forwards `Authorization: Bearer`, `X-API-Key` or the form
//! field `key` as that metadata), otherwise it is refused with
//! `UNAUTHENTICATED`. Keys are compared in constant time.

use std::path::Path;
use std::sync::Arc;

use subtle::ConstantTimeEq;
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
            return Err(Status::unauthenticated(
                "an API key is required: send the metadata `authorization: Bearer KEY`",
            ));
        };
        let key = value
            .strip_prefix(b"Bearer ")
            .or_else(|| value.strip_prefix(b"bearer "))
            .unwrap_or(value);
        if self.accepts(key) {
            Ok(())
        } else {
            Err(Status::unauthenticated("the API key is not valid"))
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
