//! Cross-site request forgery guard for cookie-authenticated writes.
//!
//! A browser attaches the session cookie to requests from any site, so a
//! state-changing request that carries it must come from a trusted origin:
//! the server's own (its `Host`) or one listed in
//! [`AuthSettings::trusted_origins`](crate::AuthSettings). Better Auth does
//! the same, with the same error codes. Bearer-token requests are not
//! affected: no browser adds those on its own.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::identity::SESSION_COOKIE;
use crate::state::AppState;

/// Refuse unsafe requests that carry the session cookie from an untrusted origin.
pub async fn guard_cookie_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || !carries_session_cookie(request.headers()) {
        return next.run(request).await;
    }
    match request_origin(request.headers()) {
        None => ApiError::CrossOrigin {
            code: "MISSING_OR_NULL_ORIGIN",
        }
        .into_response(),
        Some(origin) if is_trusted(&origin, request.headers(), &state.auth.trusted_origins) => {
            next.run(request).await
        }
        Some(_) => ApiError::CrossOrigin {
            code: "INVALID_ORIGIN",
        }
        .into_response(),
    }
}

fn carries_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(SESSION_COOKIE))
}

/// `Origin`, else the origin part of `Referer`; "null" counts as none.
fn request_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return (origin != "null").then(|| origin.trim_end_matches('/').to_owned());
    }
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let (scheme, rest) = referer.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

fn is_trusted(origin: &str, headers: &HeaderMap, trusted: &[String]) -> bool {
    let own_host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let same_host = origin
        .split_once("://")
        .is_some_and(|(_, host)| Some(host) == own_host);
    same_host || trusted.iter().any(|t| t.trim_end_matches('/') == origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn origins_come_from_origin_or_referer() {
        assert_eq!(
            request_origin(&headers(&[("origin", "https://app.example")])).as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            request_origin(&headers(&[("referer", "https://app.example/settings?x=1")])).as_deref(),
            Some("https://app.example")
        );
        assert_eq!(request_origin(&headers(&[("origin", "null")])), None);
        assert_eq!(request_origin(&headers(&[])), None);
    }

    #[test]
    fn only_the_own_host_and_listed_origins_are_trusted() {
        let request = headers(&[("host", "api.example:8080")]);
        assert!(is_trusted("http://api.example:8080", &request, &[]));
        assert!(!is_trusted("http://evil.example", &request, &[]));
        assert!(is_trusted(
            "https://app.example",
            &request,
            &["https://app.example/".into()]
        ));
    }
}
