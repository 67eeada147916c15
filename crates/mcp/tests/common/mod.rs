//! The real server (the HTTP API and `/mcp`) on a free port over a seeded
//! database, and raw JSON-RPC over HTTP to it, with any personal access token.

#![allow(dead_code)]

pub mod client;

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};
use tenantry_db::pats::{self, NewPat};
use tenantry_db::seed::demo;
use tenantry_db::{Database, UserId};
use tenantry_server::{Application, AuthSettings, Settings};
use tenantry_testkit::TestDb;

pub const ACCEPT: &str = "application/json, text/event-stream";
pub const PROTOCOL: &str = "2025-06-18";

pub struct Server {
    pub http: reqwest::Client,
    pub addr: std::net::SocketAddr,
    pub url: String,
    /// Alice's token.
    pub token: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text))
    }

    /// The JSON-RPC messages of an SSE body (or the one message of a JSON body).
    pub fn messages(&self) -> Vec<Value> {
        if self.content_type().starts_with("text/event-stream") {
            self.text
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(str::trim)
                .filter(|data| !data.is_empty())
                .map(|data| serde_json::from_str(data).expect("SSE data is JSON"))
                .collect()
        } else {
            vec![self.json()]
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Server {
    /// A request to `/mcp` as the owner of `token`, in `session` if given.
    pub fn request(
        &self,
        method: reqwest::Method,
        token: &str,
        session: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, &self.url)
            .bearer_auth(token)
            .header("accept", ACCEPT);
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", PROTOCOL);
        }
        request
    }

    /// `DELETE /mcp` for `session` as the owner of `token`: ends the session.
    pub async fn delete_as(&self, token: &str, session: &str) -> Answer {
        let request = self.request(reqwest::Method::DELETE, token, Some(session));
        read_answer(request.send().await.expect("DELETE sent")).await
    }

    pub async fn post_as(
        &self,
        token: &str,
        body: impl Into<reqwest::Body>,
        session: Option<&str>,
    ) -> Answer {
        let request = self
            .request(reqwest::Method::POST, token, session)
            .header("content-type", "application/json")
            .body(body);
        read_answer(request.send().await.expect("request sent")).await
    }

    pub async fn post(&self, body: impl Into<reqwest::Body>, session: Option<&str>) -> Answer {
        self.post_as(&self.token, body, session).await
    }

    /// Open a session as the owner of `token`: its id.
    pub async fn initialize_as(&self, token: &str) -> String {
        let answer = self
            .post_as(
                token,
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": PROTOCOL, "capabilities": {},
                    "clientInfo": {"name": "tenantry-mcp-test", "version": "1"}}})
                .to_string(),
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let session = answer
            .headers
            .get("mcp-session-id")
            .expect("a session id")
            .to_str()
            .unwrap()
            .to_owned();
        let initialized = self
            .post_as(
                token,
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
                Some(&session),
            )
            .await;
        assert_eq!(
            initialized.status,
            StatusCode::ACCEPTED,
            "{}",
            initialized.text
        );
        session
    }

    pub async fn initialize(&self) -> String {
        self.initialize_as(&self.token).await
    }

    /// One request in a session as the owner of `token`; its JSON-RPC answer.
    pub async fn call_as(&self, token: &str, session: &str, message: Value) -> Value {
        let id = message["id"].clone();
        let answer = self
            .post_as(token, message.to_string(), Some(session))
            .await;
        assert!(
            !answer.status.is_server_error(),
            "{}: {}",
            answer.status,
            answer.text
        );
        answer
            .messages()
            .into_iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("no answer with id {id}: {}", answer.text))
    }

    pub async fn call(&self, session: &str, message: Value) -> Value {
        self.call_as(&self.token, session, message).await
    }
}

/// A `tools/call` request.
pub fn tool_call(id: i64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}})
}

pub async fn read_answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Answer {
        status,
        headers,
        text,
    }
}

/// Mint and store a personal access token for `user`.
pub async fn pat_for(db: &Database, user: uuid::Uuid) -> String {
    let minted = tenantry_auth::pat::mint_pat();
    pats::create_pat(
        db,
        NewPat {
            user_id: UserId::from_uuid(user),
            name: &tenantry_db::BoundedName::parse("name", "mcp test", 100).unwrap(),
            token_prefix: &minted.lookup_prefix,
            token_hash: &minted.hash,
            expires_at: None,
            scopes: tenantry_domain::Scopes::ALL,
            organization_id: None,
        },
    )
    .await
    .unwrap();
    minted.token
}

/// The server over a seeded database, with a token of Alice's.
pub async fn start() -> (TestDb, Server) {
    start_with(|settings| settings).await
}

/// [`start`] with the settings `adjust` makes of the defaults.
pub async fn start_with(adjust: impl FnOnce(Settings) -> Settings) -> (TestDb, Server) {
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.unwrap();
    let token = pat_for(&test.db, demo::ALICE).await;
    let settings = Settings::new(
        test.db.clone(),
        AuthSettings::new(b"mcp-test-secret-at-least-32-characters".to_vec()),
    )
    .rate_limits(tenantry_server::RateLimits::off());
    let app = Application::build(adjust(settings))
        .await
        .expect("the server starts");
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    let server = Server {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
        addr,
        url: format!("http://{addr}/mcp"),
        token,
    };
    (test, server)
}
