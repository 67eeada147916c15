//! The help desk served as in production (tenantry's server with the
//! help desk's extension) on a fresh database, and two organizations with
//! a member each.

#![allow(dead_code)]

use serde_json::{Value, json};
use tenantry_server::{Application, AuthSettings, RateLimits, Settings};
use tenantry_testkit::TestDb;
use tenantry_testkit::http_client::{ApiClient, Reply};

/// A running help desk and its database.
pub struct Helpdesk {
    pub api: ApiClient,
    pub addr: std::net::SocketAddr,
    pub test: TestDb,
}

/// One user, owner of one organization, with a session and a PAT.
pub struct Customer {
    pub organization_id: String,
    pub session: String,
    pub pat: String,
}

/// A fresh database cloned from a template migrated with tenantry's and
/// the help desk's migrations.
pub async fn database() -> TestDb {
    let migrations = tenantry_db::AppMigrations::embedded(helpdesk::MIGRATIONS).unwrap();
    TestDb::with_app_migrations(&migrations).await
}

pub async fn start() -> Helpdesk {
    let test = database().await;
    let auth = AuthSettings::new(b"helpdesk-test-secret-of-32-characters".to_vec());
    let settings = Settings::new(test.db.clone(), auth)
        // Many sign-ups from 127.0.0.1.
        .rate_limits(RateLimits::off())
        .extension(helpdesk::extension());
    let app = Application::build(settings)
        .await
        .expect("the help desk starts");
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    Helpdesk {
        api: ApiClient::new(format!("http://{addr}")),
        addr,
        test,
    }
}

impl Helpdesk {
    pub async fn customer(&self, slug: &str) -> Customer {
        let email = format!("{slug}@example.com");
        let user = self
            .api
            .sign_up(slug, &email, "correct horse battery staple")
            .await
            .unwrap();
        let organization_id = self
            .api
            .create_organization(&user.session, slug, slug)
            .await
            .unwrap();
        let pat = self.api.create_pat(&user.session, "agent").await.unwrap();
        Customer {
            organization_id,
            session: user.session,
            pat,
        }
    }

    pub async fn get(&self, bearer: &str, path: &str) -> Reply {
        self.api
            .call(reqwest::Method::GET, path, Some(bearer), None)
            .await
            .unwrap()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        bearer: &str,
        path: &str,
        body: Value,
    ) -> Reply {
        self.api
            .call(method, path, Some(bearer), Some(&body))
            .await
            .unwrap()
    }

    pub async fn open_ticket(&self, bearer: &str, subject: &str) -> String {
        let reply = self
            .send(
                reqwest::Method::POST,
                bearer,
                "/api/tickets",
                json!({ "subject": subject, "body": "It does not work." }),
            )
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        reply.str_field("id").to_owned()
    }
}
