//! Abuse limits on the HTTP API (docs/rate-limits.md): Better Auth's
//! rate-limit rules per client address and route, and which address a
//! request comes from.
//!
//! Under `/api/auth`, every request counts against its route's rule
//! ([`RateLimits::rule_for`]); over it the answer is 429 with `Retry-After`
//! and Better Auth's `X-Retry-After`. The tenant API and `/mcp` have no
//! per-address request limit: their callers hold a credential, and refused
//! credentials are limited everywhere by the service layer
//! ([`tenantry_app::App::verify_pat_from`]), before any query.
//!
//! The counters live in this process ([`tenantry_app::limits`]); behind a
//! load balancer over N instances a client gets up to N times each limit.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
pub use ipnet::IpNet;
pub use tenantry_app::limits::{ClientAddress, Rule};
use tenantry_app::limits::{ClientKey, RateLimiter};

use crate::error::ApiError;
use crate::state::AppState;

/// The abuse-limit settings. [`RateLimits::default`] is on, with Better
/// Auth's rules.
#[derive(Clone, Debug)]
pub struct RateLimits {
    /// Off: no request is counted (Better Auth turns its limiter off in
    /// development); the client address is still resolved.
    pub enabled: bool,
    /// Sign-in, sign-up, change-password and change-email: 3 per 10 s
    /// (Better Auth's first special rule).
    pub credentials: Rule,
    /// Routes that send mail to an address the caller chooses (password
    /// reset, verification, invitations): 3 per 60 s.
    pub mail: Rule,
    /// Everything else under `/api/auth`: 100 per 10 s (Better Auth's
    /// `window` and `max`).
    pub auth: Rule,
    /// Refused credentials per address, on every route and on `/mcp`
    /// ([`tenantry_app::credentials::FAILED_CREDENTIALS`]).
    pub failed_credentials: Rule,
    /// Counters the per-route table holds at most (the refused-credential
    /// table of the service layer holds [`tenantry_app::limits::DEFAULT_CAPACITY`]).
    pub capacity: usize,
    /// Peers whose `X-Forwarded-For` is believed ([`client_address`]).
    pub trusted_proxies: TrustedProxies,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            enabled: true,
            credentials: Rule::new(3, Duration::from_secs(10)),
            mail: Rule::new(3, Duration::from_secs(60)),
            auth: Rule::new(100, Duration::from_secs(10)),
            failed_credentials: tenantry_app::credentials::FAILED_CREDENTIALS,
            capacity: tenantry_app::limits::DEFAULT_CAPACITY,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

impl RateLimits {
    /// No limits (`--rate-limit off`): for tests that sign up many users
    /// from one address, and for development.
    pub fn off() -> Self {
        RateLimits {
            enabled: false,
            ..RateLimits::default()
        }
    }

    /// The rule a request to `path` counts against, if any: Better Auth's
    /// path matchers, applied to the path after `/api/auth`.
    pub fn rule_for(&self, path: &str) -> Option<Rule> {
        let path = path.strip_prefix("/api/auth")?;
        if !(path.is_empty() || path.starts_with('/')) {
            return None;
        }
        let credentials = [
            "/sign-in",
            "/sign-up",
            "/change-password",
            "/change-email",
            "/delete-user",
        ];
        let mail_exact = [
            "/request-password-reset",
            "/send-verification-email",
            "/email-otp/send-verification-otp",
            "/email-otp/request-password-reset",
            "/organization/invite-member",
        ];
        if credentials.iter().any(|prefix| path.starts_with(prefix)) {
            Some(self.credentials)
        } else if mail_exact.contains(&path) || path.starts_with("/forget-password") {
            Some(self.mail)
        } else {
            Some(self.auth)
        }
    }

    /// What the service layer's failed-credential limit is under these settings.
    pub fn failed_credential_rule(&self) -> Option<Rule> {
        self.enabled.then_some(self.failed_credentials)
    }
}

/// The proxies whose forwarding header is believed: addresses or CIDR
/// networks (`10.0.0.0/8`, `::1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// From networks.
    pub fn new(networks: Vec<IpNet>) -> Self {
        TrustedProxies(networks)
    }

    /// A comma-separated list (`TENANTRY_TRUSTED_PROXIES`); blanks are skipped.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_network)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Whether `address` is one of them.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }

    /// Whether none is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One address or CIDR network.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if text.contains('/') {
        let net: IpNet = text
            .parse()
            .map_err(|_| format!("{text:?} is not an address or CIDR network"))?;
        Ok(net.trunc())
    } else {
        text.parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| format!("{text:?} is not an address or CIDR network"))
    }
}

/// The client a request comes from: the peer's address, unless the peer is
/// a trusted proxy, in which case `X-Forwarded-For` is read from the right
/// and the first hop that is not a trusted proxy is the client (hops left of
/// it were written by whoever the client is, so they prove nothing). A hop
/// that is not an address ends the walk at the last trusted one.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        let Some(address) = hop_address(hop) else {
            break;
        };
        client = address.to_canonical();
        if !trusted.contains(client) {
            break;
        }
    }
    client
}

/// The address of one `X-Forwarded-For` hop: a bare address, or one with a
/// port as some proxies write it (`203.0.113.5:4711`, `[2001:db8::1]:443`,
/// `[2001:db8::1]`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = hop.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// The middleware that records the request's [`ClientAddress`] (for the
/// limits, the failed-credential limit and the session's `ip_address`).
/// `tenantry-server` runs it in front of both surfaces.
pub async fn identify_client(
    State(trusted): State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.extensions().get::<ClientAddress>().is_none() {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let client =
            ClientAddress(peer.map(|peer| client_address(peer, request.headers(), &trusted)));
        if client.0.is_none() {
            warn_unknown_once();
        }
        request.extensions_mut().insert(client);
    }
    next.run(request).await
}

fn warn_unknown_once() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "the client address is unknown (serve with ConnectInfo<SocketAddr>): rate limits fall back to one shared counter per route"
        );
    });
}

/// The request's [`ClientAddress`] as an extractor (never fails: without
/// [`identify_client`] in front, the address is unknown).
#[derive(Clone, Copy, Debug)]
pub struct Client(pub ClientAddress);

impl Client {
    /// The address [`identify_client`] recorded on `parts`.
    pub fn of(parts: &axum::http::request::Parts) -> ClientAddress {
        parts
            .extensions
            .get::<ClientAddress>()
            .copied()
            .unwrap_or(ClientAddress(None))
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client(Client::of(parts)))
    }
}

/// The per-route request counters.
pub struct RequestLimiter {
    table: RateLimiter,
}

impl RequestLimiter {
    /// Counters for `limits`.
    pub fn new(limits: &RateLimits) -> Self {
        RequestLimiter {
            table: RateLimiter::new(if limits.enabled { limits.capacity } else { 0 }),
        }
    }

    /// The counters.
    pub fn table(&self) -> &RateLimiter {
        &self.table
    }
}

/// The middleware that applies [`RateLimits::rule_for`]. Runs after routing,
/// so a route is counted by its pattern: made-up paths share one counter and
/// cannot fill the table from one address.
pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = &state.limits;
    if !limits.enabled {
        return next.run(request).await;
    }
    let Some(rule) = limits.rule_for(request.uri().path()) else {
        return next.run(request).await;
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", |matched| matched.as_str());
    let client = request
        .extensions()
        .get::<ClientAddress>()
        .copied()
        .unwrap_or(ClientAddress(None));
    match state
        .request_limiter
        .table
        .hit(bucket(route), ClientKey::from(client), &rule)
    {
        Ok(()) => next.run(request).await,
        Err(limited) => ApiError::TooManyRequests {
            retry_after_secs: limited.retry_after_secs(),
        }
        .into_response(),
    }
}

fn bucket(route: &str) -> u64 {
    // Any stable hash: the table rehashes keys with a random key.
    let mut hasher = DefaultHasher::new();
    route.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn rules() -> RateLimits {
        RateLimits::default()
    }

    #[test]
    fn the_defaults_are_better_auths() {
        let limits = rules();
        assert!(limits.enabled);
        let ten = Duration::from_secs(10);
        let minute = Duration::from_secs(60);
        for path in [
            "/api/auth/sign-in/email",
            "/api/auth/sign-up/email",
            "/api/auth/change-password",
            "/api/auth/change-email",
        ] {
            assert_eq!(limits.rule_for(path), Some(Rule::new(3, ten)), "{path}");
        }
        for path in [
            "/api/auth/request-password-reset",
            "/api/auth/send-verification-email",
            "/api/auth/forget-password",
            "/api/auth/organization/invite-member",
        ] {
            assert_eq!(limits.rule_for(path), Some(Rule::new(3, minute)), "{path}");
        }
        for path in [
            "/api/auth/get-session",
            "/api/auth/organization/list",
            "/api/auth/list-sessions",
            "/api/auth/no-such-route",
        ] {
            assert_eq!(limits.rule_for(path), Some(Rule::new(100, ten)), "{path}");
        }
        for path in [
            "/api/projects",
            "/api/tokens",
            "/mcp",
            "/health",
            "/api/authx",
        ] {
            assert_eq!(limits.rule_for(path), None, "{path}");
        }
        assert_eq!(limits.failed_credentials, Rule::new(10, minute));
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = TrustedProxies::parse_list("10.0.0.0/8").unwrap();
        let headers = forwarded("198.51.100.1");
        assert_eq!(
            client_address(ip("203.0.113.9"), &headers, &trusted),
            ip("203.0.113.9")
        );
        let none = TrustedProxies::default();
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers, &none),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::parse_list("10.0.0.0/8, 192.0.2.1").unwrap();
        let peer = ip("10.0.0.1");
        // The client wrote the first hop itself: only what the proxies added counts.
        let headers = forwarded("1.1.1.1, 198.51.100.7, 192.0.2.1");
        assert_eq!(client_address(peer, &headers, &trusted), ip("198.51.100.7"));
        assert_eq!(client_address(peer, &HeaderMap::new(), &trusted), peer);
        assert_eq!(
            client_address(peer, &forwarded("garbage, 10.1.1.1"), &trusted),
            ip("10.1.1.1")
        );
        let mapped = ip("::ffff:10.0.0.1");
        assert_eq!(
            client_address(mapped, &forwarded("198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn forwarded_hops_with_ports_name_their_address() {
        let trusted = TrustedProxies::parse_list("10.0.0.0/8").unwrap();
        let peer = ip("10.0.0.1");
        for (hop, client) in [
            ("198.51.100.7:4711", "198.51.100.7"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
        ] {
            assert_eq!(
                client_address(peer, &forwarded(hop), &trusted),
                ip(client),
                "{hop}"
            );
        }
        // Unreadable still ends the walk at the last trusted hop.
        assert_eq!(client_address(peer, &forwarded("unknown"), &trusted), peer);
    }

    #[test]
    fn trusted_proxy_lists_parse_or_name_the_bad_entry() {
        let parsed = TrustedProxies::parse_list("10.0.0.0/8,::1, 192.0.2.1/32").unwrap();
        assert!(parsed.contains(ip("10.9.9.9")));
        assert!(parsed.contains(ip("::1")));
        assert!(!parsed.contains(ip("192.0.2.2")));
        assert!(TrustedProxies::parse_list("").unwrap().is_empty());
        let error = TrustedProxies::parse_list("10.0.0.0/8, nonsense").unwrap_err();
        assert!(error.contains("nonsense"), "{error}");
        assert!(parse_network("10.0.0.0/33").is_err());
    }
}
