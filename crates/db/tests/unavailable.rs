//! A database that is down, restarting or that drops the connection is
//! "unavailable" (the API answers 503: try again), never an internal error,
//! and the pool recovers by itself once the server is back. Regression tests
//! for the fault-injection run (`crates/api/tests/faults.rs`), which found
//! refused connections, `57P01` (terminated backend, fast shutdown) and
//! `57P03` (starting up / shutting down) classified as internal errors.

use std::time::Duration;

use tenantry_db::prelude::*;
use tenantry_db::testing::client::{self, BypassReason};
use tenantry_db::{Database, DbError, OrganizationId, Tenant, with_tenant_context};
use tenantry_testkit::TestDb;
use uuid::Uuid;

fn some_tenant() -> Tenant {
    Tenant::without_membership_check(OrganizationId::from_uuid(Uuid::new_v4()))
}

async fn select_one(db: &Database) -> Result<i32, DbError> {
    with_tenant_context(db, some_tenant(), async |tx| {
        Ok::<i32, DbError>(tx.query_one("select 1", &[]).await?.get(0))
    })
    .await
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let db = tenantry_testkit::unreachable_database();

    let tenant_work = select_one(&db).await.unwrap_err();
    assert!(tenant_work.is_unavailable(), "{tenant_work:?}");
    assert!(!tenant_work.is_client_error());

    let bare_work =
        tenantry_db::users::find_user(&db, tenantry_db::UserId::from_uuid(Uuid::new_v4()))
            .await
            .unwrap_err();
    assert!(bare_work.is_unavailable(), "{bare_work:?}");
}

/// Terminate the backend of `role` running `pg_sleep` once it shows up.
async fn terminate_sleeper(test: &TestDb, role: &str) {
    let owner = test.owner().await;
    for _ in 0..500 {
        let killed: i64 = owner
            .query_one(
                "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity
                  where datname = current_database() and usename = $1
                    and state = 'active' and query like '%pg_sleep%'",
                &[&role],
            )
            .await
            .unwrap()
            .get(0);
        if killed > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no {role} backend ran pg_sleep");
}

#[tokio::test]
async fn a_statement_whose_backend_is_terminated_is_unavailable() {
    let test = TestDb::new().await;
    let db = test.db.clone();
    let sleeping = tokio::spawn(async move {
        let conn = client::bare(&db, BypassReason::HealthCheck).await?;
        conn.query("select pg_sleep(20)", &[]).await?;
        Ok::<(), DbError>(())
    });
    // What `pg_terminate_backend` and a fast shutdown do to a running statement.
    terminate_sleeper(&test, "tenantry_bare").await;
    let error = tokio::time::timeout(Duration::from_secs(10), sleeping)
        .await
        .expect("the killed statement returns promptly")
        .unwrap()
        .unwrap_err();
    assert!(error.to_string().contains("57P01"), "{error}");
    assert!(error.is_unavailable(), "{error:?}");
    assert!(!error.is_client_error());
}

#[tokio::test]
async fn a_tenant_transaction_killed_mid_statement_is_unavailable_and_the_pool_recovers() {
    let test = TestDb::with_config(|c| c.app_pool_size = 1).await;
    let db = test.db.clone();
    let sleeping = tokio::spawn(async move {
        with_tenant_context(&db, some_tenant(), async |tx| {
            tx.query("select pg_sleep(20)", &[]).await
        })
        .await
    });
    terminate_sleeper(&test, "tenantry_app").await;
    let error = tokio::time::timeout(Duration::from_secs(10), sleeping)
        .await
        .expect("the killed statement returns promptly")
        .unwrap()
        .unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    // The pool of one hands out a working connection next, not the dead one.
    assert_eq!(select_one(&test.db).await.unwrap(), 1);
}

#[tokio::test]
async fn an_idle_pooled_connection_killed_meanwhile_is_not_handed_out() {
    let test = TestDb::with_config(|c| c.app_pool_size = 1).await;
    assert_eq!(select_one(&test.db).await.unwrap(), 1);
    let owner = test.owner().await;
    let killed: i64 = owner
        .query_one(
            "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity
              where datname = current_database() and usename = 'tenantry_app'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(killed, 1);
    // The client notices the closed socket as soon as it is told; the pool
    // then throws the connection away at checkout.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(select_one(&test.db).await.unwrap(), 1);
}
