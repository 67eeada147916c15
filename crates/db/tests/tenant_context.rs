//! `with_tenant_context`: transactions, pool hygiene, concurrency and round trips.

use std::time::Duration;

use tenantry_db::diagnostics::pooled_connection_state;
use tenantry_db::prelude::*;
use tenantry_db::seed::demo;
use tenantry_db::{
    Database, DatabaseConfig, DbError, OrganizationId, Tenant, UserId, with_tenant_context,
};
use tenantry_testkit::{RoundTripProxy, TestDb};
use uuid::Uuid;

fn acme() -> Tenant {
    Tenant::without_membership_check(OrganizationId::from_uuid(demo::ACME))
}

async fn seeded_with_pool_of_one() -> TestDb {
    let test = TestDb::with_config(|c| c.app_pool_size = 1).await;
    tenantry_db::seed(&test.db).await.expect("seed");
    test
}

async fn project_count(db: &Database, tenant: Tenant) -> i64 {
    with_tenant_context(db, tenant, async |tx| {
        Ok::<i64, DbError>(
            tx.query_one("select count(*) from project", &[])
                .await?
                .get(0),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn commits_on_ok_and_rolls_back_on_err() {
    let test = seeded_with_pool_of_one().await;
    let before = project_count(&test.db, acme()).await;

    with_tenant_context(&test.db, acme(), async |tx| {
        tx.execute("insert into project (name) values ('kept')", &[])
            .await
    })
    .await
    .unwrap();
    assert_eq!(project_count(&test.db, acme()).await, before + 1);

    let result: Result<(), DbError> = with_tenant_context(&test.db, acme(), async |tx| {
        tx.execute("insert into project (name) values ('discarded')", &[])
            .await?;
        Err(DbError::invalid("test", "caller changed its mind"))
    })
    .await;
    assert!(matches!(
        result,
        Err(DbError::InvalidInput { field: "test", .. })
    ));
    assert_eq!(project_count(&test.db, acme()).await, before + 1);
}

#[tokio::test]
async fn a_swallowed_error_cannot_be_committed() {
    let test = seeded_with_pool_of_one().await;
    let before = project_count(&test.db, acme()).await;
    let result = with_tenant_context(&test.db, acme(), async |tx| {
        tx.execute("insert into project (name) values ('first')", &[])
            .await?;
        // Fails (duplicate name), and the closure carries on regardless.
        let _ignored = tx
            .execute("insert into project (name) values ('first')", &[])
            .await;
        Ok::<_, DbError>(())
    })
    .await;
    assert!(
        matches!(result, Err(DbError::TransactionAborted)),
        "{result:?}"
    );
    assert_eq!(project_count(&test.db, acme()).await, before);
    assert!(pooled_connection_state(&test.db).await.unwrap().is_clean());
}

#[tokio::test]
async fn the_acting_user_is_recorded_by_column_defaults() {
    let test = seeded_with_pool_of_one().await;
    let alice = UserId::from_uuid(demo::ALICE);
    let (created_by, actor): (Option<Uuid>, Option<Uuid>) =
        with_tenant_context(&test.db, acme().acting_as(alice), async |tx| {
            let project = tx
                .query_one("insert into project (name) values ('audited') returning created_by", &[])
                .await?;
            let audit = tx
                .query_one(
                    "insert into audit_log (action) values ('project.create') returning actor_user_id",
                    &[],
                )
                .await?;
            Ok::<_, DbError>((project.get(0), audit.get(0)))
        })
        .await
        .unwrap();
    assert_eq!(created_by, Some(demo::ALICE));
    assert_eq!(actor, Some(demo::ALICE));
}

#[tokio::test]
async fn the_pooled_connection_is_clean_after_commit_error_panic_and_cancellation() {
    let test = TestDb::with_config(|c| {
        c.app_pool_size = 1;
        // Behind PgBouncer no cancel request is sent (`StatementMode::Unnamed`):
        // the statement timeout is what stops an abandoned statement there.
        if tenantry_testkit::pgbouncer::enabled() {
            c.statement_timeout = Some(Duration::from_secs(1));
        }
    })
    .await;
    tenantry_db::seed(&test.db).await.expect("seed");
    let db = &test.db;
    let first = pooled_connection_state(db).await.unwrap();
    assert!(first.is_clean(), "{first:?}");

    // Committed: the same connection comes back, clean.
    project_count(db, acme()).await;
    let after_commit = pooled_connection_state(db).await.unwrap();
    assert!(after_commit.is_clean(), "{after_commit:?}");
    assert_eq!(
        after_commit.backend_pid, first.backend_pid,
        "reused, not replaced"
    );

    // Failed: rolled back, the same connection comes back, clean.
    let failed: Result<(), DbError> = with_tenant_context(db, acme(), async |tx| {
        tx.execute("select no_such_column from project", &[])
            .await?;
        Ok(())
    })
    .await;
    assert!(failed.is_err());
    let after_error = pooled_connection_state(db).await.unwrap();
    assert!(after_error.is_clean(), "{after_error:?}");
    assert_eq!(after_error.backend_pid, first.backend_pid);

    // Panicked inside the closure: the connection is discarded, the next is clean.
    let panicking = tokio::spawn({
        let db = db.clone();
        async move {
            with_tenant_context(&db, acme(), async |tx| {
                tx.execute("select 1 from project", &[]).await?;
                panic!("closure panics mid-transaction");
                #[allow(unreachable_code)]
                Ok::<(), DbError>(())
            })
            .await
        }
    });
    assert!(panicking.await.unwrap_err().is_panic());
    let after_panic = pooled_connection_state(db).await.unwrap();
    assert!(after_panic.is_clean(), "{after_panic:?}");

    // Cancelled mid-query: the future is dropped; the connection is discarded.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(300),
        with_tenant_context(db, acme(), async |tx| {
            tx.execute("select pg_sleep(30)", &[]).await?;
            Ok::<(), DbError>(())
        }),
    )
    .await;
    assert!(cancelled.is_err(), "timed out");
    let after_cancel = pooled_connection_state(db).await.unwrap();
    assert!(after_cancel.is_clean(), "{after_cancel:?}");

    // Nothing was left running on the server by the cancelled transaction.
    let owner = test.owner().await;
    let mut lingering = 1;
    for _ in 0..50 {
        lingering = owner
            .query_one(
                "select count(*) from pg_stat_activity
                 where datname = current_database() and query like 'select pg_sleep(30)%'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        if lingering == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        lingering, 0,
        "the cancelled statement was stopped on the server"
    );
}

#[tokio::test]
async fn a_statement_timeout_is_an_error_and_leaves_the_pool_clean() {
    let test = TestDb::with_config(|c| {
        c.app_pool_size = 1;
        c.statement_timeout = Some(Duration::from_millis(100));
    })
    .await;
    let result = with_tenant_context(&test.db, acme(), async |tx| {
        tx.execute("select pg_sleep(5)", &[]).await?;
        Ok::<(), DbError>(())
    })
    .await;
    assert!(
        matches!(result, Err(DbError::StatementTimeout)),
        "{result:?}"
    );
    assert!(pooled_connection_state(&test.db).await.unwrap().is_clean());
}

#[tokio::test]
async fn concurrent_tasks_over_many_tenants_never_see_a_foreign_row() {
    let test = TestDb::with_config(|c| c.app_pool_size = 8).await;
    let owner = test.owner().await;
    let mut tenants = Vec::new();
    for n in 0..16 {
        let org = TestDb::insert_organization(&owner, &format!("org-{n}")).await;
        owner
            .execute(
                "insert into project (organization_id, name) select $1, 'p' || g from generate_series(1, 20) g",
                &[&org],
            )
            .await
            .unwrap();
        tenants.push(OrganizationId::from_uuid(org));
    }
    let mut tasks = Vec::new();
    for task in 0..64 {
        let db = test.db.clone();
        let tenant = Tenant::without_membership_check(tenants[task % tenants.len()]);
        tasks.push(tokio::spawn(async move {
            let mut foreign = 0;
            for _ in 0..25 {
                foreign += with_tenant_context(&db, tenant, async |tx| {
                    let rows = tx.query("select organization_id from project", &[]).await?;
                    assert_eq!(rows.len(), 20);
                    Ok::<_, DbError>(
                        rows.iter()
                            .filter(|r| r.get::<_, OrganizationId>(0) != tenant.organization_id())
                            .count(),
                    )
                })
                .await
                .unwrap();
            }
            foreign
        }));
    }
    let mut foreign_total = 0;
    for task in tasks {
        foreign_total += task.await.unwrap();
    }
    assert_eq!(foreign_total, 0);
}

#[tokio::test]
async fn a_closure_that_sends_nothing_opens_no_transaction() {
    let test = seeded_with_pool_of_one().await;
    let value = with_tenant_context(&test.db, acme(), async |_tx| Ok::<_, DbError>(42))
        .await
        .unwrap();
    assert_eq!(value, 42);
    assert!(pooled_connection_state(&test.db).await.unwrap().is_clean());
}

/// Expect two round trips: BEGIN, the setup and the read in one flush, then
/// COMMIT (four would be the naive BEGIN / set_config / SELECT / COMMIT).
/// Counted from the protocol at a proxy in front of whatever the tenant pool
/// connects to (PostgreSQL, or PgBouncer when the run goes through it).
#[tokio::test]
async fn a_tenant_point_read_costs_two_round_trips() {
    let test = seeded_with_pool_of_one().await;
    let proxy = RoundTripProxy::start(test.app_addr()).await;
    let config = DatabaseConfig {
        app_url: test.app_url_via(proxy.port()),
        ..test.db.config().clone()
    };
    let db = Database::connect(config).unwrap();
    let project = Uuid::from_u128(0); // absent: the read still runs
    let read = async |db: &Database| {
        with_tenant_context(db, acme(), async |tx| {
            tx.query_opt("select name from project where id = $1", &[&project])
                .await
        })
        .await
        .unwrap()
    };
    read(&db).await; // connect and prepare once
    let before = proxy.round_trips();
    read(&db).await;
    assert_eq!(proxy.round_trips() - before, 2);
}

#[tokio::test]
async fn a_tenant_travels_into_spawned_tasks() {
    let test = seeded_with_pool_of_one().await;
    let membership = tenantry_db::organizations::find_membership(
        &test.db,
        UserId::from_uuid(demo::BOB),
        OrganizationId::from_uuid(demo::GLOBEX),
    )
    .await
    .unwrap()
    .expect("Bob is in Globex");
    let tenant = membership.tenant();
    let db = test.db.clone();
    let count = tokio::spawn(async move { project_count(&db, tenant).await })
        .await
        .unwrap();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn a_statement_whose_outcome_was_never_seen_cannot_be_committed() {
    let test = seeded_with_pool_of_one().await;
    let before = project_count(&test.db, acme()).await;
    let result = with_tenant_context(&test.db, acme(), async |tx| {
        tx.execute(
            "insert into project (name) values ('kept only if all is well')",
            &[],
        )
        .await?;
        // Given up on by the closure: it may yet fail on the server.
        let _ = tokio::time::timeout(
            Duration::from_millis(20),
            tx.execute("select pg_sleep(0.3)", &[]),
        )
        .await;
        Ok::<_, DbError>(())
    })
    .await;
    assert!(
        matches!(result, Err(DbError::TransactionAborted)),
        "{result:?}"
    );
    assert_eq!(project_count(&test.db, acme()).await, before);
    assert!(pooled_connection_state(&test.db).await.unwrap().is_clean());
}
