//! Which origins are ours, and the cross-site request forgery guard for
//! cookie-authenticated writes.
//!
//! A browser attaches the session cookie to requests from any site, so a
//! state-changing request that carries it must come from a trusted origin:
//! the server's own (`http://` and its `Host`, or `https://` when it sets
//! `Secure` cookies, that is when it is served over TLS) or one listed in
//! [`AuthSettings::trusted_origins`](crate::AuthSettings). An origin is a
//! scheme, a host and a port, compared exactly: `http://` is not the origin
//! of a site served over `https://`, whose cookies it could otherwise ride.
//! Better Auth does the same, with the same error codes. Bearer-token
//! requests are not affected: no browser adds those on its own.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use url::{Origin, Url};

use crate::error::ApiError;
use crate::identity::SESSION_COOKIE;
use crate::state::AppState;

/// The origins, besides the server's own, whose pages may send
/// cookie-authenticated writes and receive emailed links.
#[derive(Clone, Debug, Default)]
pub struct TrustedOrigins(Vec<Origin>);

impl TrustedOrigins {
    /// Parse entries such as `https://app.example.com` (empty entries are
    /// skipped). An entry with more than a scheme, a host and a port (a
    /// path, a query, credentials) is refused rather than cut down, so that
    /// no entry trusts more than it says.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| entry.trim())
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                Url::parse(entry)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https"))
                    .and_then(|url| bare_origin(&url))
                    .ok_or_else(|| {
                        format!(
                            "trusted origin {entry:?} is not a scheme, a host and an optional port, like https://app.example.com"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedOrigins)
    }

    /// Whether `origin` is one of them (a default port counts as written out).
    pub fn contains(&self, origin: &Origin) -> bool {
        origin.is_tuple() && self.0.contains(origin)
    }
}

/// The origin of a URL that is nothing but one (`scheme://host[:port]`,
/// with at most a `/` after it).
fn bare_origin(url: &Url) -> Option<Origin> {
    let bare = url.has_host()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    bare.then(|| url.origin())
}

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
    let own = own_origin(request.headers(), state.auth.secure_cookies);
    match request_origin(request.headers()) {
        None => ApiError::CrossOrigin {
            code: "MISSING_OR_NULL_ORIGIN",
        }
        .into_response(),
        Some(origin) if is_trusted(&origin, own.as_ref(), &state.auth.trusted_origins) => {
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

/// `Origin`, else the origin of `Referer`; "null" counts as none, and a
/// value that is not a URL as an origin nobody trusts.
fn request_origin(headers: &HeaderMap) -> Option<Origin> {
    let origin_of = |value: &axum::http::HeaderValue| {
        value
            .to_str()
            .ok()
            .and_then(|text| Url::parse(text).ok())
            .map_or_else(Origin::new_opaque, |url| url.origin())
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        return (origin != "null").then(|| origin_of(origin));
    }
    headers.get(header::REFERER).map(origin_of)
}

/// The server's own origin: its `Host`, with the scheme it is served over.
fn own_origin(headers: &HeaderMap, served_over_tls: bool) -> Option<Origin> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if served_over_tls { "https" } else { "http" };
    bare_origin(&Url::parse(&format!("{scheme}://{host}")).ok()?)
}

fn is_trusted(origin: &Origin, own: Option<&Origin>, trusted: &TrustedOrigins) -> bool {
    origin.is_tuple() && (Some(origin) == own || trusted.contains(origin))
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

    fn origin(text: &str) -> Origin {
        Url::parse(text).unwrap().origin()
    }

    fn trusted(entries: &[&str]) -> TrustedOrigins {
        TrustedOrigins::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn origins_come_from_origin_or_referer() {
        assert_eq!(
            request_origin(&headers(&[("origin", "https://app.example")])),
            Some(origin("https://app.example"))
        );
        assert_eq!(
            request_origin(&headers(&[("referer", "https://app.example/settings?x=1")])),
            Some(origin("https://app.example"))
        );
        assert_eq!(request_origin(&headers(&[("origin", "null")])), None);
        assert_eq!(request_origin(&headers(&[])), None);
        let garbage = request_origin(&headers(&[("origin", "not a url")])).unwrap();
        assert!(!garbage.is_tuple());
    }

    #[test]
    fn the_own_origin_has_the_scheme_the_server_is_served_over() {
        let request = headers(&[("host", "api.example:8080")]);
        let plain = own_origin(&request, false);
        let tls = own_origin(&request, true);
        let none = TrustedOrigins::default();
        assert!(is_trusted(
            &origin("http://api.example:8080"),
            plain.as_ref(),
            &none
        ));
        assert!(!is_trusted(
            &origin("https://api.example:8080"),
            plain.as_ref(),
            &none
        ));
        assert!(is_trusted(
            &origin("https://api.example:8080"),
            tls.as_ref(),
            &none
        ));
        assert!(!is_trusted(
            &origin("http://api.example:8080"),
            tls.as_ref(),
            &none
        ));
        assert!(!is_trusted(
            &origin("http://api.example"),
            plain.as_ref(),
            &none
        ));
        assert!(!is_trusted(
            &origin("http://evil.example"),
            plain.as_ref(),
            &none
        ));
        // A default port is the same origin written either way.
        let default_port = own_origin(&headers(&[("host", "api.example")]), true);
        assert!(is_trusted(
            &origin("https://api.example:443"),
            default_port.as_ref(),
            &none
        ));
        // A Host that is more than a host names no origin.
        assert_eq!(
            own_origin(&headers(&[("host", "api.example/x")]), false),
            None
        );
        assert_eq!(
            own_origin(&headers(&[("host", "a@api.example")]), false),
            None
        );
    }

    #[test]
    fn trusted_origins_compare_scheme_host_and_port_exactly() {
        let list = trusted(&["https://app.example/", " http://localhost:3000 ", ""]);
        assert!(is_trusted(&origin("https://app.example"), None, &list));
        assert!(is_trusted(&origin("https://APP.example:443"), None, &list));
        assert!(is_trusted(&origin("http://localhost:3000"), None, &list));
        assert!(!is_trusted(&origin("http://app.example"), None, &list));
        assert!(!is_trusted(
            &origin("https://app.example:8443"),
            None,
            &list
        ));
        assert!(!is_trusted(&origin("https://sub.app.example"), None, &list));
        assert!(!is_trusted(&origin("http://localhost:3001"), None, &list));
        assert!(!is_trusted(&Origin::new_opaque(), None, &list));
    }

    #[test]
    fn a_trusted_origin_is_nothing_but_an_origin() {
        for bad in [
            "app.example",
            "https://app.example/app",
            "https://app.example?x=1",
            "https://user@app.example",
            "javascript:alert(1)",
            "file:///etc",
        ] {
            assert!(TrustedOrigins::parse(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }
}
