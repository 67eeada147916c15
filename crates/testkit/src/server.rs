//! The real server on a test database, as `tenantry serve` runs it, with
//! an application's [`Extension`]: its routes and MCP tools behind
//! tenantry's authentication, and a way to make a signed-up customer with
//! an organization, a session and a PAT in one line.
//!
//! ```no_run
//! use tenantry_testkit::TestDb;
//! use tenantry_testkit::server::TestServer;
//!
//! # async fn example(extension: tenantry_server::Extension) {
//! let test = TestDb::new().await;
//! let server = TestServer::start(&test, extension).await;
//! let acme = server.customer("acme").await;
//! let reply = server.api.list_projects(&acme.pat, 10, None).await.unwrap();
//! assert_eq!(reply.status, 200);
//! # }
//! ```

use tenantry_server::{Application, AuthSettings, Extension, RateLimits, Settings};

use crate::TestDb;
use crate::http_client::ApiClient;

/// The password [`TestServer::customer`] signs users up with.
pub const PASSWORD: &str = "correct horse battery staple";

/// A running server on a test database; it stops with the test's runtime.
pub struct TestServer {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// A client of its HTTP API.
    pub api: ApiClient,
}

/// A user who signed up and owns one organization (its active one).
#[derive(Clone, Debug)]
pub struct Customer {
    /// The user's id.
    pub user_id: String,
    /// The organization's id.
    pub organization_id: String,
    /// A session token (a bearer credential).
    pub session: String,
    /// A personal access token, as an agent would hold.
    pub pat: String,
    /// A read-only token bound to the organization: every write an
    /// application's route or tool makes with it must be refused (403
    /// `INSUFFICIENT_SCOPE`, or PostgreSQL's read-only transaction).
    pub read_only_pat: String,
}

impl TestServer {
    /// Serve `test`'s database with `extension`, migrated (its migrations
    /// too, if the template did not have them) and safety-checked like
    /// production, abuse limits off (tests sign up many users from one
    /// address), links to the log.
    pub async fn start(test: &TestDb, extension: Extension) -> TestServer {
        let auth = AuthSettings::new(b"tenantry-testkit-secret-of-32-characters".to_vec());
        let settings = Settings::new(test.db.clone(), auth)
            .rate_limits(RateLimits::off())
            .extension(extension);
        let app = Application::build(settings)
            .await
            .unwrap_or_else(|e| panic!("the server does not start: {e}"));
        let addr = app.local_addr();
        tokio::spawn(app.run_until(std::future::pending()));
        TestServer {
            addr,
            api: ApiClient::new(format!("http://{addr}")),
        }
    }

    /// `http://ADDR/mcp`, for an MCP client.
    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Sign up `slug@example.com`, create the organization `slug` and a PAT.
    pub async fn customer(&self, slug: &str) -> Customer {
        let email = format!("{slug}@example.com");
        let user = self
            .api
            .sign_up(slug, &email, PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("sign up {email}: {e}"));
        let organization_id = self
            .api
            .create_organization(&user.session, slug, slug)
            .await
            .unwrap_or_else(|e| panic!("create organization {slug}: {e}"));
        let pat = self
            .api
            .create_pat(&user.session, "agent")
            .await
            .unwrap_or_else(|e| panic!("create a PAT for {email}: {e}"));
        let read_only_pat = self
            .api
            .create_scoped_pat(&user.session, "reader", &["read"], Some(&organization_id))
            .await
            .unwrap_or_else(|e| panic!("create a read-only PAT for {email}: {e}"));
        Customer {
            user_id: user.user_id,
            organization_id,
            session: user.session,
            pat,
            read_only_pat,
        }
    }
}
