//! A typed client for tenantry's HTTP API, for tests and benchmarks that
//! drive a running server the way a user does.
//!
//! Set-up steps (sign-up, organization, invitation, PAT) return what they
//! made or an [`ApiError`] naming the step; the resource calls return the
//! [`Reply`] as it came, so a caller that counts statuses (the soak) sees
//! every answer. No TLS: tests talk to loopback.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tenantry_testkit::http_client::ApiError> {
//! use tenantry_testkit::http_client::ApiClient;
//! let api = ApiClient::new("http://127.0.0.1:3000");
//! let owner = api.sign_up("Ada", "ada@example.com", "correct horse battery staple").await?;
//! let org = api.create_organization(&owner.session, "Ada's", "adas").await?;
//! let pat = api.create_pat(&owner.session, "ci").await?;
//! let project = api.create_project(&pat, "first").await?.expect("create project", 201)?;
//! assert_eq!(project["organizationId"], org.as_str());
//! # Ok(()) }
//! ```

/// The HTTP method type [`ApiClient::call`] takes.
pub use reqwest::Method;
use serde_json::{Value, json};

/// An answer: its status and its body as JSON (`Null` when empty, a JSON
/// string when the body is not JSON).
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
}

impl Reply {
    /// The body if the status is `status`, else an error naming `what`.
    pub fn expect(self, what: &'static str, status: u16) -> Result<Value, ApiError> {
        if self.status == status {
            Ok(self.body)
        } else {
            Err(ApiError::Status {
                what,
                status: self.status,
                body: self.body,
            })
        }
    }

    /// The string field `field` of the body, empty when absent.
    pub fn str_field(&self, field: &str) -> &str {
        self.body[field].as_str().unwrap_or_default()
    }
}

/// Why a step failed.
#[derive(Debug)]
pub enum ApiError {
    /// The request did not get an answer.
    Transport(reqwest::Error),
    /// The answer was not the one the step needs.
    Status {
        /// The step, e.g. `sign-up`.
        what: &'static str,
        /// The status received.
        status: u16,
        /// The body received.
        body: Value,
    },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Transport(error) => write!(f, "transport: {error}"),
            ApiError::Status { what, status, body } => write!(f, "{what}: {status} {body}"),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Transport(error) => Some(error),
            ApiError::Status { .. } => None,
        }
    }
}

impl From<reqwest::Error> for ApiError {
    fn from(error: reqwest::Error) -> Self {
        ApiError::Transport(error)
    }
}

/// A user just signed up or in.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// Their user id.
    pub user_id: String,
    /// Their email as sent.
    pub email: String,
    /// Their session token (a bearer credential).
    pub session: String,
}

/// The API of one server, at `base` (e.g. `http://127.0.0.1:3000`).
#[derive(Clone, Debug)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
}

impl ApiClient {
    /// A client with a connection pool of its own.
    pub fn new(base: impl Into<String>) -> Self {
        Self::with_http(reqwest::Client::new(), base)
    }

    /// A client on `http` (its pool and timeouts).
    pub fn with_http(http: reqwest::Client, base: impl Into<String>) -> Self {
        ApiClient {
            http,
            base: base.into(),
        }
    }

    /// The underlying HTTP client, for requests this type has no method for.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `base` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One request to `path`, with `bearer` if given and `body` as JSON if given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Reply, ApiError> {
        let mut request = self.http.request(method, self.url(path));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply { status, body })
    }

    async fn get(&self, path: &str, bearer: &str) -> Result<Reply, ApiError> {
        self.call(Method::GET, path, Some(bearer), None).await
    }

    async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> Result<Reply, ApiError> {
        self.call(Method::POST, path, bearer, Some(&body)).await
    }

    /// `POST /api/auth/sign-up/email`.
    pub async fn sign_up(
        &self,
        name: &str,
        email: &str,
        password: &str,
    ) -> Result<SignedIn, ApiError> {
        let body = json!({ "name": name, "email": email, "password": password });
        let reply = self.post("/api/auth/sign-up/email", None, body).await?;
        signed_in("sign-up", email, reply)
    }

    /// `POST /api/auth/sign-in/email`.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<SignedIn, ApiError> {
        let body = json!({ "email": email, "password": password });
        let reply = self.post("/api/auth/sign-in/email", None, body).await?;
        signed_in("sign-in", email, reply)
    }

    /// `POST /api/auth/organization/create`: the new organization's id. It
    /// becomes the session's active organization.
    pub async fn create_organization(
        &self,
        session: &str,
        name: &str,
        slug: &str,
    ) -> Result<String, ApiError> {
        let body = json!({ "name": name, "slug": slug });
        let reply = self
            .post("/api/auth/organization/create", Some(session), body)
            .await?;
        id_of("create organization", reply, 200, "id")
    }

    /// `POST /api/auth/organization/invite-member`: the invitation's id.
    pub async fn invite_member(
        &self,
        session: &str,
        organization_id: &str,
        email: &str,
        role: &str,
    ) -> Result<String, ApiError> {
        let body = json!({ "email": email, "role": role, "organizationId": organization_id });
        let reply = self
            .post("/api/auth/organization/invite-member", Some(session), body)
            .await?;
        id_of("invite", reply, 200, "id")
    }

    /// `POST /api/auth/organization/accept-invitation`.
    pub async fn accept_invitation(
        &self,
        session: &str,
        invitation_id: &str,
    ) -> Result<Value, ApiError> {
        let body = json!({ "invitationId": invitation_id });
        self.post(
            "/api/auth/organization/accept-invitation",
            Some(session),
            body,
        )
        .await?
        .expect("accept", 200)
    }

    /// `POST /api/tokens`: a new personal access token.
    pub async fn create_pat(&self, session: &str, name: &str) -> Result<String, ApiError> {
        let reply = self
            .post("/api/tokens", Some(session), json!({ "name": name }))
            .await?;
        id_of("create PAT", reply, 201, "token")
    }

    /// `POST /api/tokens` with `scopes` (e.g. `["read"]`) and, when given,
    /// the one organization it is bound to: a token an agent is trusted
    /// with less (docs/tokens.md).
    pub async fn create_scoped_pat(
        &self,
        session: &str,
        name: &str,
        scopes: &[&str],
        organization_id: Option<&str>,
    ) -> Result<String, ApiError> {
        let body = json!({ "name": name, "scopes": scopes, "organizationId": organization_id });
        let reply = self.post("/api/tokens", Some(session), body).await?;
        id_of("create scoped PAT", reply, 201, "token")
    }

    /// `POST /api/projects` with a name (201 and the project when created).
    pub async fn create_project(&self, bearer: &str, name: &str) -> Result<Reply, ApiError> {
        self.post("/api/projects", Some(bearer), json!({ "name": name }))
            .await
    }

    /// `GET /api/projects/{id}`.
    pub async fn get_project(&self, bearer: &str, id: &str) -> Result<Reply, ApiError> {
        self.get(&format!("/api/projects/{id}"), bearer).await
    }

    /// `GET /api/projects?limit=...[&cursor=...]`: one page.
    pub async fn list_projects(
        &self,
        bearer: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Reply, ApiError> {
        let cursor = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        self.get(&format!("/api/projects?limit={limit}{cursor}"), bearer)
            .await
    }

    /// `PATCH /api/projects/{id}` with a new name.
    pub async fn rename_project(
        &self,
        bearer: &str,
        id: &str,
        name: &str,
    ) -> Result<Reply, ApiError> {
        let body = json!({ "name": name });
        self.call(
            Method::PATCH,
            &format!("/api/projects/{id}"),
            Some(bearer),
            Some(&body),
        )
        .await
    }

    /// `DELETE /api/projects/{id}` (204 when deleted).
    pub async fn delete_project(&self, bearer: &str, id: &str) -> Result<Reply, ApiError> {
        self.call(
            Method::DELETE,
            &format!("/api/projects/{id}"),
            Some(bearer),
            None,
        )
        .await
    }

    /// `POST /api/usage` with `usage` (`model`, `inputTokens`,
    /// `outputTokens`, optionally `projectId` and `occurredAt`).
    pub async fn record_usage(&self, bearer: &str, usage: &Value) -> Result<Reply, ApiError> {
        self.call(Method::POST, "/api/usage", Some(bearer), Some(usage))
            .await
    }

    /// `GET /api/usage/report?{query}`, e.g. `from=...&to=...`.
    pub async fn usage_report(&self, bearer: &str, query: &str) -> Result<Reply, ApiError> {
        self.get(&format!("/api/usage/report?{query}"), bearer)
            .await
    }

    /// `GET /api/members`.
    pub async fn list_members(&self, bearer: &str) -> Result<Reply, ApiError> {
        self.get("/api/members", bearer).await
    }
}

fn signed_in(what: &'static str, email: &str, reply: Reply) -> Result<SignedIn, ApiError> {
    let body = reply.expect(what, 200)?;
    Ok(SignedIn {
        user_id: body["user"]["id"].as_str().unwrap_or_default().to_owned(),
        email: email.to_owned(),
        session: body["token"].as_str().unwrap_or_default().to_owned(),
    })
}

fn id_of(what: &'static str, reply: Reply, status: u16, field: &str) -> Result<String, ApiError> {
    let body = reply.expect(what, status)?;
    Ok(body[field].as_str().unwrap_or_default().to_owned())
}
