//! Bearer-token authentication of the `/api/` routes.
//!
//! [`AdminTokens`] keeps only the SHA-256 digest of each configured token; a
//! presented token is hashed and compared with every digest in constant time
//! (`subtle`), always visiting all of them, so neither the position of a
//! match nor a token's length shows in the timing. With no token configured
//! every `/api/` request is refused: the API fails closed.
//!
//! The check runs as middleware on the whole router, keyed on the path
//! prefix, before routing: an unauthenticated caller cannot tell an existing
//! route from a missing one, and a route added later under `/api/` is
//! protected without anyone remembering to. Public paths: the probes,
//! `/metrics`, `/api/openapi.json`, and anything outside `/api/` (such as the
//! static `/admin` page, which calls the API with a token).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::error::ApiError;

/// Shortest token accepted: 16 characters (e.g. 96 random bits in base64).
pub const MIN_TOKEN_LEN: usize = 16;

/// The path served without a token under `/api/`.
pub(crate) const PUBLIC_API_PATH: &str = "/api/openapi.json";

/// The bearer tokens that may call the API. Holds digests only: `Debug`
/// prints how many there are, never a token.
#[derive(Clone, Default)]
pub struct AdminTokens {
    digests: Arc<[[u8; 32]]>,
}

/// Why a configured token was refused. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Token number `index` (0-based, counting non-empty entries) is shorter
    /// than [`MIN_TOKEN_LEN`].
    #[error("admin token #{index} is shorter than {MIN_TOKEN_LEN} characters")]
    TooShort { index: usize },
    /// Token number `index` has a character a bearer token cannot carry
    /// (whitespace, control or non-ASCII).
    #[error(
        "admin token #{index} contains a character a bearer token cannot carry (only visible ASCII)"
    )]
    InvalidCharacter { index: usize },
}

impl AdminTokens {
    /// The tokens given, each trimmed; empty entries are skipped. An empty
    /// list is allowed and refuses every request.
    pub fn new<I, S>(tokens: I) -> Result<Self, TokenError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut digests = Vec::new();
        for (index, token) in tokens
            .into_iter()
            .filter(|t| !t.as_ref().trim().is_empty())
            .enumerate()
        {
            let token = token.as_ref().trim();
            if !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(TokenError::InvalidCharacter { index });
            }
            if token.len() < MIN_TOKEN_LEN {
                return Err(TokenError::TooShort { index });
            }
            digests.push(digest(token));
        }
        Ok(Self {
            digests: digests.into(),
        })
    }

    /// A comma-separated list, as an environment variable carries it
    /// (`MRE_ADMIN_API_TOKENS=tok1,tok2`); several tokens allow rotation.
    pub fn parse_list(list: &str) -> Result<Self, TokenError> {
        Self::new(list.split(','))
    }

    /// How many tokens are configured.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// No token configured: every `/api/` request is refused.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `presented` is one of the tokens, in time independent of
    /// which one (if any) matches and of the presented token's length.
    pub fn verify(&self, presented: &str) -> bool {
        let presented = digest(presented);
        let matched = self
            .digests
            .iter()
            .fold(Choice::from(0), |acc, d| acc | d.ct_eq(&presented));
        bool::from(matched)
    }
}

impl std::fmt::Debug for AdminTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminTokens")
            .field("count", &self.digests.len())
            .finish_non_exhaustive()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `path` needs a token.
pub(crate) fn is_protected(path: &str) -> bool {
    (path == "/api" || path.starts_with("/api/")) && path != PUBLIC_API_PATH
}

/// The token of an `Authorization: Bearer <token>` header (scheme name
/// case-insensitive, RFC 7235).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The middleware: 401 with `WWW-Authenticate: Bearer …` unless the request
/// is public or carries one of `tokens`. It is given the tokens alone, not
/// the whole `ApiState`: authentication needs nothing else, and the state
/// (which holds the tokens) does not have to be known here.
pub(crate) async fn require_token(
    State(tokens): State<AdminTokens>,
    request: Request,
    next: Next,
) -> Response {
    if !is_protected(request.uri().path()) {
        return next.run(request).await;
    }
    if tokens.is_empty() {
        return ApiError::unauthorized(
            "API access is disabled: no admin token is configured on the server",
        )
        .into_response();
    }
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().ok().and_then(bearer_token));
    match header {
        None => ApiError::unauthorized("an `Authorization: Bearer <token>` header is required")
            .into_response(),
        Some(Some(token)) if tokens.verify(token) => next.run(request).await,
        Some(_) => ApiError::invalid_token().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "token-a-0123456789abcdef";
    const B: &str = "token-b-0123456789abcdef";

    #[test]
    fn verifies_every_configured_token_and_nothing_else() {
        let tokens = AdminTokens::parse_list(&format!(" {A} , ,{B}")).expect("valid");
        assert_eq!(tokens.len(), 2);
        assert!(tokens.verify(A));
        assert!(tokens.verify(B));
        assert!(!tokens.verify(""));
        assert!(!tokens.verify(&A[..A.len() - 1]));
        assert!(!tokens.verify(&format!("{A}x")));
    }

    #[test]
    fn empty_configuration_refuses_everything() {
        let tokens = AdminTokens::parse_list(" , ").expect("valid");
        assert!(tokens.is_empty());
        assert!(!tokens.verify(""));
        assert!(!AdminTokens::default().verify(A));
    }

    #[test]
    fn weak_or_unsendable_tokens_are_refused_at_startup() {
        assert_eq!(
            AdminTokens::new([A, "short"]).map(|_| ()),
            Err(TokenError::TooShort { index: 1 })
        );
        assert_eq!(
            AdminTokens::new(["has a space in the middle"]).map(|_| ()),
            Err(TokenError::InvalidCharacter { index: 0 })
        );
        assert_eq!(
            AdminTokens::new(["ünïcödé-0123456789abcdef"]).map(|_| ()),
            Err(TokenError::InvalidCharacter { index: 0 })
        );
    }

    #[test]
    fn debug_never_prints_a_token() {
        let tokens = AdminTokens::new([A]).expect("valid");
        let printed = format!("{tokens:?}");
        assert!(!printed.contains("token-a"), "{printed}");
        assert!(printed.contains("count: 1"), "{printed}");
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer  "), None);
    }

    #[test]
    fn protected_paths() {
        assert!(is_protected("/api/v1/tracks"));
        assert!(is_protected("/api/v1/unknown"));
        assert!(is_protected("/api"));
        assert!(!is_protected("/api/openapi.json"));
        assert!(!is_protected("/apis"));
        assert!(!is_protected("/healthz"));
        assert!(!is_protected("/metrics"));
        assert!(!is_protected("/admin"));
    }
}
