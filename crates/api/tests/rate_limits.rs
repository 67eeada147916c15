//! Abuse limits against the real server with limits on (docs/rate-limits.md):
//! Better Auth's per-route rules by client address, 429 with `Retry-After`
//! and `X-Retry-After` in our error format, trusted proxies, and the
//! failed-credential limit that refuses a token-guessing run before it costs
//! a query.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::{SECRET, TestApp, expect_error, spawn_app_limited};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use tenantry_api::AuthSettings;
use tenantry_api::limits::{RateLimits, Rule, TrustedProxies};
use tenantry_testkit::TestDb;

const SIGN_IN: &str = "/api/auth/sign-in/email";

async fn spawn(limits: RateLimits) -> TestApp {
    spawn_app_limited(
        TestDb::new().await,
        AuthSettings::new(SECRET.to_vec()),
        limits,
    )
    .await
}

/// A client whose connections come from `address` (any 127/8 address is
/// this machine's loopback on Linux).
fn client_from(address: Ipv4Addr) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(address))
        .build()
        .unwrap()
}

async fn wrong_password(app: &TestApp, http: &Client, forwarded: Option<&str>) -> Response {
    let mut request = http
        .post(app.url(SIGN_IN))
        .json(&json!({ "email": "nobody@example.com", "password": "not the password" }));
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    request.send().await.unwrap()
}

/// A 429 in our format with both retry headers; the seconds it gives.
async fn expect_limited(response: Response) -> u64 {
    let retry_after = header_seconds(&response, "retry-after");
    assert_eq!(
        header_seconds(&response, "x-retry-after"),
        retry_after,
        "Better Auth's header agrees"
    );
    assert_eq!(expect_error(response, 429).await, "TOO_MANY_REQUESTS");
    retry_after
}

fn header_seconds(response: &Response, name: &str) -> u64 {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{} has no {name}", response.status()))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_defaults_are_better_auths() {
    let limits = RateLimits::default();
    assert!(limits.enabled);
    assert_eq!(limits.credentials, Rule::new(3, Duration::from_secs(10)));
    assert_eq!(limits.mail, Rule::new(3, Duration::from_secs(60)));
    assert_eq!(limits.auth, Rule::new(100, Duration::from_secs(10)));
    assert!(limits.trusted_proxies.is_empty());
    assert!(
        tenantry_server::Settings::new(
            TestDb::new().await.db.clone(),
            AuthSettings::new(SECRET.to_vec())
        )
        .rate_limits
        .enabled,
        "a library user is protected by default"
    );
}

#[tokio::test]
async fn the_fourth_sign_in_within_ten_seconds_gets_429_with_retry_after() {
    let app = spawn(RateLimits::default()).await;
    for _ in 0..3 {
        expect_error(wrong_password(&app, &app.http, None).await, 401).await;
    }
    let retry_after = expect_limited(wrong_password(&app, &app.http, None).await).await;
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    // The top-level code and message Better Auth's client reads are there too.
    let body: Value = wrong_password(&app, &app.http, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["code"], "TOO_MANY_REQUESTS");
    // Counted per route: sign-up from the same address still answers.
    let sign_up = app
        .http
        .post(app.url("/api/auth/sign-up/email"))
        .json(&json!({ "name": "Ann", "email": "ann@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(sign_up.status(), 200);
}

#[tokio::test]
async fn the_limit_lifts_after_the_window() {
    // Long enough that three paced refusals fit in it on a loaded machine
    // (each is an argon2 hash plus the refusal floor); the wait below is
    // what Retry-After says, not a guess.
    let window = Duration::from_secs(6);
    let app = spawn(RateLimits {
        credentials: Rule::new(3, window),
        ..RateLimits::default()
    })
    .await;
    for _ in 0..3 {
        expect_error(wrong_password(&app, &app.http, None).await, 401).await;
    }
    let retry_after = expect_limited(wrong_password(&app, &app.http, None).await).await;
    assert!(
        (1..=window.as_secs()).contains(&retry_after),
        "{retry_after}"
    );
    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(100)).await;
    expect_error(wrong_password(&app, &app.http, None).await, 401).await;
}

#[tokio::test]
async fn another_address_is_not_affected() {
    let app = spawn(RateLimits::default()).await;
    for _ in 0..4 {
        wrong_password(&app, &app.http, None).await;
    }
    expect_limited(wrong_password(&app, &app.http, None).await).await;
    let neighbour = client_from(Ipv4Addr::new(127, 0, 0, 2));
    expect_error(wrong_password(&app, &neighbour, None).await, 401).await;
}

#[tokio::test]
async fn a_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn(RateLimits::default()).await;
    for n in 0..3 {
        let spoofed = format!("198.51.100.{n}");
        expect_error(wrong_password(&app, &app.http, Some(&spoofed)).await, 401).await;
    }
    expect_limited(wrong_password(&app, &app.http, Some("198.51.100.99")).await).await;

    // Nor is it what the session records (signed in from another address,
    // this one being limited).
    let member = app.sign_up("Ann", "ann@example.com").await;
    let signed_in = client_from(Ipv4Addr::new(127, 0, 0, 3))
        .post(app.url(SIGN_IN))
        .header("x-forwarded-for", "198.51.100.1")
        .json(&json!({ "email": member.email, "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    let session = session_of(&app, signed_in).await;
    assert_eq!(session["session"]["ipAddress"], "127.0.0.3");
}

async fn session_of(app: &TestApp, signed_in: Response) -> Value {
    let body: Value = signed_in.json().await.unwrap();
    let token = body["token"].as_str().expect("signed in").to_owned();
    app.get("/api/auth/get-session", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_counted_apart() {
    let app = spawn(RateLimits {
        trusted_proxies: TrustedProxies::parse_list("127.0.0.1").unwrap(),
        ..RateLimits::default()
    })
    .await;
    // The proxy appends the address it saw; what the client wrote is left of it.
    let first = "6.6.6.6, 198.51.100.1";
    for _ in 0..3 {
        expect_error(wrong_password(&app, &app.http, Some(first)).await, 401).await;
    }
    expect_limited(wrong_password(&app, &app.http, Some(first)).await).await;
    expect_limited(wrong_password(&app, &app.http, Some("7.7.7.7, 198.51.100.1")).await).await;
    expect_error(
        wrong_password(&app, &app.http, Some("198.51.100.2")).await,
        401,
    )
    .await;

    // The session records the forwarded client.
    app.sign_up("Ann", "ann@example.com").await;
    let signed_in = app
        .http
        .post(app.url(SIGN_IN))
        .header("x-forwarded-for", "203.0.113.5")
        .json(&json!({ "email": "ann@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    let session = session_of(&app, signed_in).await;
    assert_eq!(session["session"]["ipAddress"], "203.0.113.5");
}

#[tokio::test]
async fn mail_routes_allow_three_a_minute() {
    let app = spawn(RateLimits::default()).await;
    let ask = || {
        app.http
            .post(app.url("/api/auth/request-password-reset"))
            .json(&json!({ "email": "nobody@example.com" }))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(ask().await.unwrap().status(), 200);
    }
    let retry_after = expect_limited(ask().await.unwrap()).await;
    assert!((11..=60).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn the_tenant_api_is_not_throttled_for_a_valid_token() {
    let app = spawn(RateLimits::default()).await;
    let (owner, _) = app.owner_of("Ann", "ann@example.com", "ann-org").await;
    let pat = app.create_pat(&owner.session, "agent").await;
    for _ in 0..150 {
        let response = app.get("/api/projects", &pat).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
}

/// The server over `test`, with the bare pool (where tokens and sessions are
/// looked up) behind a proxy that counts its round trips.
async fn spawn_counting_lookups(limits: RateLimits) -> (TestApp, tenantry_testkit::RoundTripProxy) {
    let mut test = TestDb::new().await;
    let mut config = test.db.config().clone();
    // user:password@host:port/database
    let bare = config.bare_url.clone();
    let host = &bare[bare.rfind('@').unwrap() + 1..];
    let host = &host[..host.find('/').unwrap()];
    let proxy = tenantry_testkit::RoundTripProxy::start(host.parse().unwrap()).await;
    config.bare_url = bare.replace(
        &format!("@{host}/"),
        &format!("@127.0.0.1:{}/", proxy.port()),
    );
    test.db = tenantry_db::Database::connect(config).unwrap();
    let app = spawn_app_limited(test, AuthSettings::new(SECRET.to_vec()), limits).await;
    (app, proxy)
}

#[tokio::test]
async fn token_guessing_gets_429_before_any_lookup() {
    let (app, proxy) = spawn_counting_lookups(RateLimits::default()).await;
    let (owner, _) = app.owner_of("Ann", "ann@example.com", "ann-org").await;
    let pat = app.create_pat(&owner.session, "agent").await;

    let before = proxy.round_trips();
    for _ in 0..10 {
        let guess = tenantry_auth::pat::mint_pat().token;
        let response = app.get("/api/projects", &guess).send().await.unwrap();
        expect_error(response, 401).await;
    }
    let looked_up = proxy.round_trips();
    assert!(looked_up > before, "a well-formed guess is looked up");

    for _ in 0..20 {
        let guess = tenantry_auth::pat::mint_pat().token;
        expect_limited(app.get("/api/projects", &guess).send().await.unwrap()).await;
    }
    // Even a valid token from this address waits: it cannot be told apart
    // without the lookup the limit exists to save.
    expect_limited(app.get("/api/projects", &pat).send().await.unwrap()).await;
    assert_eq!(proxy.round_trips(), looked_up, "no query once limited");

    // MCP counts in the same table.
    let mcp = app
        .http
        .post(app.url("/mcp"))
        .bearer_auth(&pat)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    expect_limited(mcp).await;

    // Another address keeps working.
    let neighbour = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let response = neighbour
        .get(app.url("/api/projects"))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn guessed_session_tokens_and_mcp_guesses_count_too() {
    let app = spawn(RateLimits::default()).await;
    for n in 0..5 {
        let guess = format!("guessedsessiontoken{n:013}");
        let response = app.get("/api/tokens", &guess).send().await.unwrap();
        expect_error(response, 401).await;
    }
    for _ in 0..5 {
        let guess = tenantry_auth::pat::mint_pat().token;
        let response = app
            .http
            .post(app.url("/mcp"))
            .bearer_auth(&guess)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    expect_limited(
        app.get("/api/tokens", "yetanotherguess")
            .send()
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_stale_signed_cookie_does_not_count_as_a_guess() {
    let app = spawn(RateLimits::default()).await;
    let member = app.sign_up("Ann", "ann@example.com").await;
    let signed = tenantry_auth::token::sign_cookie_value(&member.session, SECRET);
    app.post("/api/auth/sign-out", &member.session, json!({}))
        .send()
        .await
        .unwrap();
    for _ in 0..15 {
        let response = app
            .http
            .get(app.url("/api/tokens"))
            .header("cookie", format!("better-auth.session_token={signed}"))
            .send()
            .await
            .unwrap();
        expect_error(response, 401).await;
    }
}

#[tokio::test]
async fn with_limits_off_nothing_is_counted() {
    let app = spawn(RateLimits::off()).await;
    for _ in 0..20 {
        expect_error(wrong_password(&app, &app.http, None).await, 401).await;
    }
    for _ in 0..20 {
        let guess = tenantry_auth::pat::mint_pat().token;
        expect_error(app.get("/api/projects", &guess).send().await.unwrap(), 401).await;
    }
}
