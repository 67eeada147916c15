//! Pool hygiene under abuse (the reliability issue, part 2): thousands of
//! tenant transactions on a two-connection pool, with injected errors,
//! panics inside the closure, futures dropped mid-query, statement timeouts,
//! and two tenants' work open at the same time on both connections, through
//! `with_tenant_context` and `autocommit`. After every one, the next checkout
//! is inspected (after two tenants at once, both connections, held at the
//! same time): it must carry no role, no tenant, no user and no open
//! transaction. Zero leaks allowed.
//!
//! A future counts as dropped mid-query only when it was dropped while the
//! server was running its statement (`pg_stat_activity` shows the statement
//! active, started after the abuse began); one that finished first counts as
//! completed, and the summary prints both numbers.
//!
//! `TENANTRY_HYGIENE_TRANSACTIONS` sets the count (default 10,000). With
//! `TENANTRY_TEST_PGBOUNCER=1` the same run goes through PgBouncer in
//! transaction mode (see `tenantry_testkit::pgbouncer`).

use std::future::Future;
use std::pin::pin;
use std::time::{Duration, SystemTime};

use futures_util::future::join;
use tenantry_db::diagnostics::{ConnectionState, pooled_connection_state};
use tenantry_db::prelude::*;
use tenantry_db::{
    Database, DbError, OrganizationId, Tenant, UserId, autocommit, with_tenant_context,
};
use tenantry_testkit::TestDb;
use tokio::sync::Barrier;
use tokio_postgres::Client;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Abuse {
    Commit,
    ErrorReturned,
    ServerError,
    Panic,
    DroppedMidQuery,
    StatementTimeout,
    AutocommitRead,
    AutocommitDropped,
    /// Two tenants' transactions open at once, one on each connection; the
    /// second fails after both have run a statement.
    TwoTransactionsAtOnce,
    /// A tenant transaction open on one connection while another tenant's
    /// autocommit statement runs on the other.
    TransactionAndAutocommitAtOnce,
}

const MIX: [Abuse; 12] = [
    Abuse::Commit,
    Abuse::Commit,
    Abuse::AutocommitRead,
    Abuse::ErrorReturned,
    Abuse::ServerError,
    Abuse::TwoTransactionsAtOnce,
    Abuse::ServerError,
    Abuse::Panic,
    Abuse::DroppedMidQuery,
    Abuse::StatementTimeout,
    Abuse::AutocommitDropped,
    Abuse::TransactionAndAutocommitAtOnce,
];

/// The statement the dropped futures are dropped in.
const SLEEP_SQL: &str = "select pg_sleep(0.05)";

/// How often each abuse ran, and for the dropping ones how many futures
/// were dropped with their statement running and how many finished first.
#[derive(Default)]
struct Tally(Vec<(Abuse, Counts)>);

#[derive(Default)]
struct Counts {
    runs: usize,
    dropped_in_flight: usize,
    finished_first: usize,
}

impl Tally {
    fn of(&mut self, abuse: Abuse) -> &mut Counts {
        let at = match self.0.iter().position(|(a, _)| *a == abuse) {
            Some(at) => at,
            None => {
                self.0.push((abuse, Counts::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[at].1
    }
}

/// The run's tenants and the owner connection that watches the server.
struct Setting {
    tenants: Vec<Tenant>,
    owner: Client,
}

async fn run_one(db: &Database, setting: &Setting, i: usize, abuse: Abuse, tally: &mut Tally) {
    let tenant = setting.tenants[i % setting.tenants.len()];
    let other = setting.tenants[(i + 1) % setting.tenants.len()];
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
            let work = with_tenant_context(db, tenant, async |tx| tx.query(SLEEP_SQL, &[]).await);
            drop_while_running(&setting.owner, work, tally.of(abuse)).await;
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
            let statement = autocommit(db, tenant);
            let work = statement.query(SLEEP_SQL, &[]);
            drop_while_running(&setting.owner, work, tally.of(abuse)).await;
        }
        Abuse::TwoTransactionsAtOnce => {
            let both_open = Barrier::new(2);
            let (committed, failed) = join(
                sees_only_itself_while_open(db, tenant, &both_open, false),
                sees_only_itself_while_open(db, other, &both_open, true),
            )
            .await;
            committed.expect("the first transaction commits");
            assert!(failed.is_err(), "the second transaction fails");
        }
        Abuse::TransactionAndAutocommitAtOnce => {
            let both_open = Barrier::new(2);
            let statement = autocommit(db, other);
            let (open, row) = join(
                sees_only_itself_while_open(db, tenant, &both_open, false),
                async {
                    meet(&both_open).await;
                    statement
                        .query_one(
                            "select current_setting('app.tenant_id'),
                                    (select array_agg(distinct organization_id) from project)",
                            &[],
                        )
                        .await
                },
            )
            .await;
            open.expect("the transaction commits");
            let row = row.expect("the autocommit statement runs");
            let expected = other.organization_id().as_uuid();
            assert_eq!(row.get::<_, String>(0), expected.to_string());
            assert_eq!(row.get::<_, Vec<Uuid>>(1), [expected]);
        }
    }
}

/// Wait (bounded) until the other tenant's work has got this far too.
async fn meet(both_open: &Barrier) {
    tokio::time::timeout(Duration::from_secs(30), both_open.wait())
        .await
        .expect("the other tenant's work got there too (two connections in the pool)");
}

/// A transaction as `tenant` that meets the other tenant's work at
/// `both_open` after its first statement, so that both hold a connection
/// at once, then checks that it still sees only its own tenant and rows;
/// with `fail`, it then errors.
async fn sees_only_itself_while_open(
    db: &Database,
    tenant: Tenant,
    both_open: &Barrier,
    fail: bool,
) -> Result<(), DbError> {
    let expected = tenant.organization_id().as_uuid();
    with_tenant_context(db, tenant, async |tx| {
        tx.query("select id from project limit 1", &[]).await?;
        meet(both_open).await;
        let row = tx
            .query_one(
                "select current_setting('app.tenant_id'),
                        (select array_agg(distinct organization_id) from project)",
                &[],
            )
            .await?;
        assert_eq!(row.get::<_, String>(0), expected.to_string());
        assert_eq!(row.get::<_, Vec<Uuid>>(1), [expected]);
        if fail {
            tx.query("select 1/0", &[]).await?;
        }
        Ok(())
    })
    .await
}

/// Poll `work` until the server shows [`SLEEP_SQL`] running for it, then
/// drop it; a `work` that finishes first is counted as completed.
async fn drop_while_running<T>(owner: &Client, work: impl Future<Output = T>, counts: &mut Counts) {
    let since = SystemTime::now();
    let mut work = pin!(work);
    // The statement sleeps 50 ms; this bounds a wait that never sees it.
    for _ in 0..2_000 {
        let running = async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            owner
                .query_one(
                    "select exists (select 1 from pg_stat_activity
                     where datname = current_database() and state = 'active'
                       and query = $1 and query_start >= $2)",
                    &[&SLEEP_SQL, &since],
                )
                .await
                .expect("pg_stat_activity")
                .get::<_, bool>(0)
        };
        tokio::select! {
            biased;
            _ = &mut work => {
                counts.finished_first += 1;
                return;
            }
            running = running => if running {
                counts.dropped_in_flight += 1;
                return; // `work` is dropped here, its statement on the server
            },
        }
    }
    panic!("the statement neither ran nor finished");
}

/// The next checkout, or after two tenants at once, both connections checked
/// out together so that neither check can land on the other's connection.
async fn next_checkouts(db: &Database, abuse: Abuse) -> Vec<ConnectionState> {
    let two = matches!(
        abuse,
        Abuse::TwoTransactionsAtOnce | Abuse::TransactionAndAutocommitAtOnce
    );
    if !two {
        let state = pooled_connection_state(db).await;
        return vec![state.expect("a connection after the abuse")];
    }
    // An interrupted transaction's connection is discarded by a task of its
    // own; until that task has run, the pool counts it as taken, and the
    // second check waits for the first's connection instead of a new one.
    // So look again, briefly, until the two checks land on two connections.
    for _ in 0..50 {
        let (first, second) = join(pooled_connection_state(db), pooled_connection_state(db)).await;
        let states = vec![first.expect("a connection"), second.expect("a connection")];
        // Behind PgBouncer two checks at once may share a server connection.
        if tenantry_testkit::pgbouncer::enabled() || states[0].backend_pid != states[1].backend_pid
        {
            return states;
        }
        assert!(
            states.iter().all(ConnectionState::is_clean),
            "a connection came back dirty: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("two checks at once never got two connections: both connections were not checked");
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
        let org = TestDb::insert_organization(&owner, &format!("h{n}")).await;
        owner
            .execute(
                "insert into project (organization_id, name) values ($1, 'one')",
                &[&org],
            )
            .await
            .unwrap();
        tenants.push(
            Tenant::without_membership_check(OrganizationId::from_uuid(org))
                .acting_as(UserId::from_uuid(Uuid::new_v4())),
        );
    }
    let setting = Setting { tenants, owner };
    let mut leaks = Vec::new();
    let mut tally = Tally::default();
    for i in 0..transactions {
        let abuse = MIX[i % MIX.len()];
        tally.of(abuse).runs += 1;
        run_one(&test.db, &setting, i, abuse, &mut tally).await;
        for state in next_checkouts(&test.db, abuse).await {
            if !state.is_clean() {
                leaks.push((i, abuse, state));
            }
        }
    }
    let runs: Vec<String> = tally
        .0
        .iter()
        .map(|(abuse, counts)| match counts.dropped_in_flight + counts.finished_first {
            0 => format!("{} {abuse:?}", counts.runs),
            _ => format!(
                "{} {abuse:?} ({} dropped while the server ran their statement, {} finished first)",
                counts.runs, counts.dropped_in_flight, counts.finished_first
            ),
        })
        .collect();
    println!(
        "{transactions} transactions: {}; {} leaks",
        runs.join(", "),
        leaks.len()
    );
    assert!(
        leaks.is_empty(),
        "leaked context: {:?}",
        &leaks[..leaks.len().min(5)]
    );
    for (abuse, counts) in &tally.0 {
        assert!(
            counts.finished_first == 0 || counts.dropped_in_flight > 0,
            "{abuse:?}: no future was dropped with its statement running"
        );
    }
}
