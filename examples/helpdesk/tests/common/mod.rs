//! The help desk served as in production (tenantry's server with the help
//! desk's extension, through tenantry-testkit's `TestServer`) on a fresh
//! database cloned from a template with the help desk's migrations.

#![allow(dead_code)]

use serde_json::{Value, json};
use tenantry_testkit::TestDb;
use tenantry_testkit::http_client::{ApiClient, Reply};
use tenantry_testkit::server::{Customer, TestServer};

/// A running help desk and its database.
pub struct Helpdesk {
    pub server: TestServer,
    pub api: ApiClient,
    pub test: TestDb,
}

/// A fresh database cloned from a template migrated with tenantry's and
/// the help desk's migrations.
pub async fn database() -> TestDb {
    let migrations = tenantry_db::AppMigrations::embedded(helpdesk::MIGRATIONS).unwrap();
    TestDb::with_app_migrations(&migrations).await
}

pub async fn start() -> Helpdesk {
    let test = database().await;
    let server = TestServer::start(&test, helpdesk::extension()).await;
    Helpdesk {
        api: server.api.clone(),
        server,
        test,
    }
}

impl Helpdesk {
    pub async fn customer(&self, slug: &str) -> Customer {
        self.server.customer(slug).await
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
