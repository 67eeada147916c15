//! Pool hygiene under abuse (the reliability issue, part 2): thousands of
//! tenant transactions on a two-connection pool, with injected errors,
//! panics inside the closure, futures dropped mid-query and statement
//! timeouts, through `with_tenant_context` and `autocommit`. After every
//! one, the next checkout is inspected: it must carry no role, no tenant, no
//! user and no open transaction. Zero leaks allowed.
//!
//! `TENANTRY_HYGIENE_TRANSACTIONS` sets the count (default 10,000). With
//! `TENANTRY_TEST_PGBOUNCER=1` the same run goes through PgBouncer in
//! transaction mode (see `tenantry_testkit::pgbouncer`).

use std::time::Duration;

use tenantry_db::diagnostics::pooled_connection_state;
use tenantry_db::{
    Database, DbError, OrganizationId, Tenant, UserId, autocommit, with_tenant_context,
};
use tenantry_testkit::TestDb;
use uuid::Uuid;

#[derive(Clone, Copy, Debug)]
enum Abuse {
    Commit,
    ErrorReturned,
    ServerError,
    Panic,
    DroppedMidQuery,
    StatementTimeout,
    AutocommitRead,
    AutocommitDropped,
}

const MIX: [Abuse; 10] = [
    Abuse::Commit,
    Abuse::Commit,
    Abuse::AutocommitRead,
    Abuse::ErrorReturned,
    Abuse::ServerError,
    Abuse::ServerError,
    Abuse::Panic,
    Abuse::DroppedMidQuery,
    Abuse::StatementTimeout,
    Abuse::AutocommitDropped,
];

async fn run_one(db: &Database, tenant: Tenant, abuse: Abuse) {
    match abuse {
        Abuse::Commit => {
            with_tenant_context(db, tenant, async |tx| {
                tx.query("select id from project limit 1", &[]).await
            })
            .await
            .expect("a plain read commits");
        }
        Abuse::ErrorReturned => {
            let result: Result<(), DbError> = with_tenant_context(db, tenant, async |tx| {
                tx.query("select id from project limit 1", &[]).await?;
                Err(DbError::invalid("test", "the caller gave up"))
            })
            .await;
            assert!(result.is_err());
        }
        Abuse::ServerError => {
            let result =
                with_tenant_context(db, tenant, async |tx| tx.query("select 1/0", &[]).await).await;
            assert!(result.is_err());
        }
        Abuse::Panic => {
            let db = db.clone();
            let joined = tokio::spawn(async move {
                with_tenant_context(&db, tenant, async |tx| {
                    tx.query("select id from project limit 1", &[]).await?;
                    panic!("injected panic inside the tenant closure");
                    #[allow(unreachable_code)]
                    Ok::<(), DbError>(())
                })
                .await
            })
            .await;
            assert!(joined.unwrap_err().is_panic());
        }
        Abuse::DroppedMidQuery => {
            let dropped = tokio::time::timeout(
                Duration::from_millis(2),
                with_tenant_context(db, tenant, async |tx| {
                    tx.query("select pg_sleep(0.05)", &[]).await
                }),
            )
            .await;
            assert!(dropped.is_err(), "the future was dropped mid-query");
        }
        Abuse::StatementTimeout => {
            // A short timeout of the transaction's own, so that the rest of
            // the run keeps the pool's generous one on a loaded machine.
            let result = with_tenant_context(db, tenant, async |tx| {
                tx.execute("set local statement_timeout = '20ms'", &[])
                    .await?;
                tx.query("select pg_sleep(1)", &[]).await
            })
            .await;
            assert!(
                matches!(result, Err(DbError::StatementTimeout)),
                "{result:?}"
            );
        }
        Abuse::AutocommitRead => {
            autocommit(db, tenant)
                .query("select id from project limit 1", &[])
                .await
                .expect("an autocommit read");
        }
        Abuse::AutocommitDropped => {
            let dropped = tokio::time::timeout(
                Duration::from_millis(2),
                autocommit(db, tenant).query("select pg_sleep(0.05)", &[]),
            )
            .await;
            assert!(dropped.is_err(), "the future was dropped mid-query");
        }
    }
}

/// A thousand expected panic messages would bury a real one.
fn silence_injected_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let injected = info
            .payload()
            .downcast_ref::<&str>()
            .is_some_and(|message| message.starts_with("injected panic"));
        if !injected {
            default(info);
        }
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_abused_transactions_leave_no_context_behind() {
    silence_injected_panics();
    let transactions: usize = std::env::var("TENANTRY_HYGIENE_TRANSACTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let test = TestDb::with_config(|c| {
        c.app_pool_size = 2;
        c.statement_timeout = Some(Duration::from_secs(5));
    })
    .await;
    let owner = test.owner().await;
    let mut tenants = Vec::new();
    for n in 0..4 {
        let org: Uuid = owner
            .query_one(
                "insert into organization (name, slug) values ($1, $1) returning id",
                &[&format!("h{n}")],
            )
            .await
            .unwrap()
            .get(0);
        tenants.push(
            Tenant::without_membership_check(OrganizationId::from_uuid(org))
                .acting_as(UserId::from_uuid(Uuid::new_v4())),
        );
    }
    let mut leaks = Vec::new();
    let mut counts = [0usize; 8];
    for i in 0..transactions {
        let abuse = MIX[i % MIX.len()];
        counts[abuse as usize] += 1;
        run_one(&test.db, tenants[i % tenants.len()], abuse).await;
        let state = pooled_connection_state(&test.db)
            .await
            .expect("a connection after the abuse");
        if !state.is_clean() {
            leaks.push((i, abuse, state));
        }
    }
    println!(
        "{transactions} transactions: {} committed, {} returned errors, {} server errors, {} panics, \
         {} dropped mid-query, {} statement timeouts, {} autocommit reads, \
         {} autocommit statements dropped mid-query; {} leaks",
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        counts[5],
        counts[6],
        counts[7],
        leaks.len()
    );
    assert!(
        leaks.is_empty(),
        "leaked context: {:?}",
        &leaks[..leaks.len().min(5)]
    );
}
