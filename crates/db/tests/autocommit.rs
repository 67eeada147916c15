//! `autocommit`: one statement per implicit transaction, setup under the same Sync.
//!
//! Each behaviour is checked in both statement modes: prepared (the default)
//! and unnamed (for PgBouncer in transaction mode).

use std::time::{Duration, Instant};

use tenantry_db::diagnostics::pooled_connection_state;
use tenantry_db::prelude::*;
use tenantry_db::seed::demo;
use tenantry_db::{
    Database, DatabaseConfig, DbError, OrganizationId, StatementMode, Tenant, autocommit,
};
use tenantry_testkit::{RoundTripProxy, TestDb};
use uuid::Uuid;

/// Both modes, or only the unnamed one when the run goes through PgBouncer
/// (which cannot carry prepared statements).
fn modes() -> Vec<StatementMode> {
    if tenantry_testkit::pgbouncer::enabled() {
        vec![StatementMode::Unnamed]
    } else {
        vec![StatementMode::Prepared, StatementMode::Unnamed]
    }
}

fn tenant(organization: Uuid) -> Tenant {
    Tenant::without_membership_check(OrganizationId::from_uuid(organization))
}

async fn seeded(mode: StatementMode) -> TestDb {
    let test = TestDb::with_config(|c| {
        c.app_pool_size = 1;
        c.statement_mode = mode;
    })
    .await;
    tenantry_db::seed(&test.db).await.expect("seed");
    test
}

async fn organizations_of_projects(db: &Database, organization: Uuid) -> Vec<Uuid> {
    autocommit(db, tenant(organization))
        .query("select organization_id from project", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test]
async fn reads_see_only_the_tenants_rows_and_writes_commit_in_it() {
    for mode in modes() {
        let test = seeded(mode).await;
        let db = &test.db;
        let before = organizations_of_projects(db, demo::ACME).await;
        assert!(!before.is_empty(), "{mode:?}: acme has demo projects");
        assert!(before.iter().all(|org| *org == demo::ACME), "{mode:?}");

        let inserted = autocommit(db, tenant(demo::ACME))
            .execute(
                "insert into project (name) values ($1)",
                &[&format!("autocommit {mode:?}")],
            )
            .await
            .unwrap();
        assert_eq!(inserted, 1, "{mode:?}");
        let after = organizations_of_projects(db, demo::ACME).await;
        assert_eq!(after.len(), before.len() + 1, "{mode:?}: committed");

        let globex = organizations_of_projects(db, demo::GLOBEX).await;
        assert!(globex.iter().all(|org| *org == demo::GLOBEX), "{mode:?}");
        let foreign_update = autocommit(db, tenant(demo::GLOBEX))
            .execute(
                "update project set name = 'taken' where organization_id = $1",
                &[&demo::ACME],
            )
            .await
            .unwrap();
        assert_eq!(
            foreign_update, 0,
            "{mode:?}: another tenant's rows are invisible"
        );
    }
}

#[tokio::test]
async fn a_failed_statement_commits_nothing() {
    for mode in modes() {
        let test = seeded(mode).await;
        let db = &test.db;
        let before = organizations_of_projects(db, demo::ACME).await.len();
        // Two rows, the second violating the per-organization unique name:
        // the statement fails as a whole and its implicit transaction with it.
        let result = autocommit(db, tenant(demo::ACME))
            .execute(
                "insert into project (name) values ('twice'), ('twice')",
                &[],
            )
            .await;
        assert!(
            matches!(result, Err(DbError::Conflict { .. })),
            "{mode:?}: {result:?}"
        );
        let after = organizations_of_projects(db, demo::ACME).await.len();
        assert_eq!(after, before, "{mode:?}");
    }
}

#[tokio::test]
async fn the_pooled_connection_is_clean_after_success_error_and_cancellation() {
    for mode in modes() {
        let test = seeded(mode).await;
        let db = &test.db;
        let first = pooled_connection_state(db).await.unwrap();
        assert!(first.is_clean(), "{mode:?}: {first:?}");

        organizations_of_projects(db, demo::ACME).await;
        let after_read = pooled_connection_state(db).await.unwrap();
        assert!(after_read.is_clean(), "{mode:?}: {after_read:?}");
        assert_eq!(
            after_read.backend_pid, first.backend_pid,
            "{mode:?}: reused"
        );

        let failed = autocommit(db, tenant(demo::ACME))
            .query("select no_such_column from project", &[])
            .await;
        assert!(failed.is_err(), "{mode:?}");
        let after_error = pooled_connection_state(db).await.unwrap();
        assert!(after_error.is_clean(), "{mode:?}: {after_error:?}");
        assert_eq!(
            after_error.backend_pid, first.backend_pid,
            "{mode:?}: reused"
        );

        // Cancelled mid-statement: the connection is discarded, so the next
        // checkout neither waits for the sleep nor inherits anything.
        let cancelled = tokio::time::timeout(
            Duration::from_millis(300),
            autocommit(db, tenant(demo::ACME)).execute("select pg_sleep(30)", &[]),
        )
        .await;
        assert!(cancelled.is_err(), "{mode:?}: timed out");
        let started = Instant::now();
        let after_cancel = pooled_connection_state(db).await.unwrap();
        assert!(after_cancel.is_clean(), "{mode:?}: {after_cancel:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{mode:?}: the next checkout waited {:?}",
            started.elapsed()
        );
        assert_ne!(
            after_cancel.backend_pid, first.backend_pid,
            "{mode:?}: replaced"
        );
    }
}

#[tokio::test]
async fn the_setup_is_in_force_for_the_statement_and_gone_after_it() {
    for mode in modes() {
        let test = seeded(mode).await;
        let row = autocommit(&test.db, tenant(demo::INITECH))
            .query_one(
                "select current_user::text, current_setting('app.tenant_id')",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "authenticated", "{mode:?}");
        assert_eq!(
            row.get::<_, String>(1),
            demo::INITECH.to_string(),
            "{mode:?}"
        );
        let state = pooled_connection_state(&test.db).await.unwrap();
        assert!(state.is_clean(), "{mode:?}: {state:?}");
    }
}

#[tokio::test]
async fn query_one_and_query_opt_check_the_row_count() {
    for mode in modes() {
        let test = seeded(mode).await;
        let acme = autocommit(&test.db, tenant(demo::ACME));
        let none = acme
            .query_opt("select 1 from project where id = $1", &[&Uuid::nil()])
            .await
            .unwrap();
        assert!(none.is_none(), "{mode:?}");
        let many = acme.query_one("select id from project", &[]).await;
        assert!(
            matches!(many, Err(DbError::RowCount { .. })),
            "{mode:?}: {many:?}"
        );
    }
}

/// Counted from the protocol at a proxy in front of whatever the tenant pool
/// connects to (PostgreSQL, or PgBouncer when the run goes through it).
#[tokio::test]
async fn an_autocommit_point_read_costs_one_round_trip() {
    for mode in modes() {
        let test = seeded(mode).await;
        let proxy = RoundTripProxy::start(test.app_addr()).await;
        let config = DatabaseConfig {
            app_url: test.app_url_via(proxy.port()),
            ..test.db.config().clone()
        };
        let db = Database::connect(config).unwrap();
        let read = async |db: &Database| {
            autocommit(db, tenant(demo::ACME))
                .query_opt("select name from project where id = $1", &[&Uuid::nil()])
                .await
                .unwrap()
        };
        read(&db).await; // connect, and prepare or describe, once
        let before = proxy.round_trips();
        read(&db).await;
        assert_eq!(proxy.round_trips() - before, 1, "{mode:?}");
    }
}
