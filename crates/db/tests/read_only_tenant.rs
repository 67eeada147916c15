//! A read-only tenant (`Tenant::read_only`, how a read-only personal access
//! token acts): PostgreSQL itself refuses every write, in a transaction and
//! in an autocommit statement, in both statement modes, and the work cannot
//! make itself writable again. Reads still see the tenant's rows, and the
//! pooled connection is clean afterwards for the next, writable, tenant.

use tenantry_db::diagnostics::pooled_connection_state;
use tenantry_db::prelude::*;
use tenantry_db::seed::demo;
use tenantry_db::{
    DbError, OrganizationId, StatementMode, Tenant, autocommit, with_tenant_context,
};
use tenantry_testkit::TestDb;
use uuid::Uuid;

fn modes() -> Vec<StatementMode> {
    if tenantry_testkit::pgbouncer::enabled() {
        vec![StatementMode::Unnamed]
    } else {
        vec![StatementMode::Prepared, StatementMode::Unnamed]
    }
}

fn acme() -> Tenant {
    Tenant::without_membership_check(OrganizationId::from_uuid(demo::ACME))
}

async fn seeded(mode: StatementMode) -> TestDb {
    // One connection, so every statement below shares it with the next tenant.
    let test = TestDb::with_config(|c| {
        c.app_pool_size = 1;
        c.statement_mode = mode;
    })
    .await;
    tenantry_db::seed(&test.db).await.expect("seed");
    test
}

const INSERT: &str = "insert into project (name) values ($1) returning id";

async fn projects_named(test: &TestDb, name: &str) -> i64 {
    test.owner()
        .await
        .query_one("select count(*) from project where name = $1", &[&name])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn an_autocommit_write_is_refused_by_postgresql() {
    for mode in modes() {
        let test = seeded(mode).await;
        let reader = autocommit(&test.db, acme().read_only());
        let names: Vec<String> = reader
            .query("select name from project order by name", &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert!(
            !names.is_empty(),
            "{mode:?}: a read-only tenant still reads"
        );

        let refused = reader.query_one(INSERT, &[&"read-only write"]).await;
        assert!(
            matches!(refused, Err(DbError::ReadOnly)),
            "{mode:?}: {refused:?}"
        );
        // A writable CTE inside a select is a write too.
        let sneaky = reader
            .query(
                "with made as (insert into project (name) values ('cte write') returning id) select id from made",
                &[],
            )
            .await;
        assert!(
            matches!(sneaky, Err(DbError::ReadOnly)),
            "{mode:?}: {sneaky:?}"
        );
        // Turning it off again, in the same implicit transaction, is refused.
        let escape = reader
            .query_one(
                "select set_config('transaction_read_only', 'off', true)",
                &[],
            )
            .await;
        assert!(
            escape.is_err(),
            "{mode:?}: read-only was undone: {escape:?}"
        );
        assert_eq!(projects_named(&test, "read-only write").await, 0);
        assert_eq!(projects_named(&test, "cte write").await, 0);

        // The same pooled connection, next tenant: writable, and clean.
        let written = autocommit(&test.db, acme())
            .query_one(INSERT, &[&"writable again"])
            .await;
        assert!(written.is_ok(), "{mode:?}: {written:?}");
        assert_eq!(projects_named(&test, "writable again").await, 1);
        let state = pooled_connection_state(&test.db).await.unwrap();
        assert!(state.is_clean(), "{mode:?}: {state:?}");
    }
}

#[tokio::test]
async fn a_transactions_writes_are_refused_and_it_cannot_become_writable() {
    for mode in modes() {
        let test = seeded(mode).await;
        let outcome = with_tenant_context(&test.db, acme().read_only(), async |tx| {
            let count: i64 = tx
                .query_one("select count(*) from project", &[])
                .await?
                .get(0);
            assert!(count > 0, "reads work");
            tx.query_one(INSERT, &[&"tx write"]).await?;
            Ok::<_, DbError>(())
        })
        .await;
        assert!(
            matches!(outcome, Err(DbError::ReadOnly)),
            "{mode:?}: {outcome:?}"
        );

        // The first statement already ran (and set the tenant), so the
        // transaction's mode is fixed: PostgreSQL refuses to make it
        // read-write (25001), and the refusal aborts the transaction.
        let mut set = None;
        let outcome = with_tenant_context(&test.db, acme().read_only(), async |tx| {
            tx.query_one("select 1", &[]).await?;
            set = Some(tx.execute("set transaction read write", &[]).await);
            Ok::<_, DbError>(())
        })
        .await;
        match set {
            Some(Err(DbError::Postgres(error))) => assert_eq!(
                error.code(),
                Some(&tokio_postgres::error::SqlState::ACTIVE_SQL_TRANSACTION),
                "{mode:?}: {error}"
            ),
            other => panic!("{mode:?}: set transaction read write: {other:?}"),
        }
        assert!(
            matches!(outcome, Err(DbError::TransactionAborted)),
            "{mode:?}: {outcome:?}"
        );
        let escape = with_tenant_context(&test.db, acme().read_only(), async |tx| {
            tx.query_one(
                "select set_config('transaction_read_only', 'off', true)",
                &[],
            )
            .await?;
            tx.query_one(INSERT, &[&"tx escape"]).await?;
            Ok::<_, DbError>(())
        })
        .await;
        assert!(escape.is_err(), "{mode:?}: read-only was undone");
        assert_eq!(projects_named(&test, "tx write").await, 0);
        assert_eq!(projects_named(&test, "tx escape").await, 0);

        let state = pooled_connection_state(&test.db).await.unwrap();
        assert!(state.is_clean(), "{mode:?}: {state:?}");
        let id: Uuid = with_tenant_context(&test.db, acme(), async |tx| {
            Ok::<_, DbError>(tx.query_one(INSERT, &[&"tx writable"]).await?.get(0))
        })
        .await
        .unwrap();
        assert!(!id.is_nil());
    }
}

#[test]
fn read_only_only_narrows() {
    let tenant = acme();
    assert!(!tenant.is_read_only());
    assert!(tenant.read_only().is_read_only());
    assert!(tenant.read_only().acting_as(demo_user()).is_read_only());
}

fn demo_user() -> tenantry_db::UserId {
    tenantry_db::UserId::from_uuid(demo::ALICE)
}
