//! Isolation under concurrency: 16 tasks, four per organization (two acting
//! users each), run at once on a 12-connection tenant pool and interleave
//! tenant transactions that write and read with a pause between their
//! statements, transactions that write then fail, autocommit writes and
//! reads, and checks of an idle pooled connection. Every statement checks
//! that it runs as its own tenant and user and sees only its own
//! organization's rows, including everything its task has committed; a
//! checked-out idle connection must carry no context. At the end every
//! organization holds exactly what its tasks committed.
//!
//! With `TENANTRY_TEST_PGBOUNCER=1` the pool's 12 client connections share
//! PgBouncer's 4 server connections (transaction mode), so server
//! connections pass between clients all the time: the test checks that it
//! saw fewer server processes than client connections.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tenantry_db::diagnostics::pooled_connection_state;
use tenantry_db::prelude::*;
use tenantry_db::{
    Database, DbError, OrganizationId, Tenant, UserId, autocommit, projects, with_tenant_context,
};
use tenantry_testkit::TestDb;
use uuid::Uuid;

const ORGS: usize = 4;
const TASKS: usize = 16;
const ROUNDS: usize = 100;
const POOL_SIZE: usize = 12;

/// What one statement saw: its tenant and user settings, its server
/// process, and the rows of `project` (organization, name).
struct Seen {
    tenant_id: String,
    user_id: String,
    backend_pid: i32,
    rows: Vec<(Uuid, String)>,
}

const LOOK_SQL: &str = "select current_setting('app.tenant_id'), current_setting('app.user_id'),
        pg_backend_pid(),
        coalesce(array_agg(organization_id), '{}'), coalesce(array_agg(name), '{}')
     from project";

fn seen(row: &tokio_postgres::Row) -> Seen {
    let organizations: Vec<Uuid> = row.get(3);
    let names: Vec<String> = row.get(4);
    Seen {
        tenant_id: row.get(0),
        user_id: row.get(1),
        backend_pid: row.get(2),
        rows: organizations.into_iter().zip(names).collect(),
    }
}

/// One task: a member of one organization and what it has committed.
struct Task {
    number: usize,
    tenant: Tenant,
    organization: Uuid,
    user: Uuid,
    committed: BTreeSet<String>,
    pids: BTreeSet<i32>,
}

impl Task {
    /// The statement ran as this task's tenant and user, saw no foreign
    /// row and every row the task committed.
    fn check(&mut self, what: &str, seen: Seen) -> Result<(), String> {
        self.pids.insert(seen.backend_pid);
        let fail = |problem: String| format!("task {} ({what}): {problem}", self.number);
        if seen.tenant_id != self.organization.to_string() || seen.user_id != self.user.to_string()
        {
            return Err(fail(format!(
                "ran as tenant {:?}, user {:?}",
                seen.tenant_id, seen.user_id
            )));
        }
        if let Some((org, name)) = seen.rows.iter().find(|(org, _)| *org != self.organization) {
            return Err(fail(format!("saw {name:?} of organization {org}")));
        }
        let names: BTreeSet<&String> = seen.rows.iter().map(|(_, name)| name).collect();
        if let Some(missing) = self.committed.iter().find(|name| !names.contains(name)) {
            return Err(fail(format!("does not see its own {missing:?}")));
        }
        if let Some(failed) = names.iter().find(|name| name.starts_with('x')) {
            return Err(fail(format!("sees {failed:?}, which was rolled back")));
        }
        Ok(())
    }

    async fn round(&mut self, db: &Database, round: usize) -> Result<(), String> {
        let name = format!("t{}-{round}", self.number);
        match (self.number + round) % 5 {
            0 => {
                let tenant = self.tenant;
                let (first, second) = with_tenant_context(db, tenant, async |tx| {
                    projects::create_project(tx, &bounded(&name), None).await?;
                    let first = seen(&tx.query_one(LOOK_SQL, &[]).await?);
                    // Hold the connection while the other tasks work.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    let second = seen(&tx.query_one(LOOK_SQL, &[]).await?);
                    Ok::<_, DbError>((first, second))
                })
                .await
                .map_err(|e| format!("task {}: a transaction failed: {e}", self.number))?;
                self.committed.insert(name.clone());
                self.check("in a transaction", first)?;
                self.check("in a transaction, after a pause", second)?;
            }
            1 => {
                let failed = format!("x{}-{round}", self.number);
                let result: Result<(), DbError> =
                    with_tenant_context(db, self.tenant, async |tx| {
                        projects::create_project(tx, &bounded(&failed), None).await?;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        tx.query("select 1/0", &[]).await?;
                        Ok(())
                    })
                    .await;
                if result.is_ok() {
                    return Err(format!("task {}: a failing transaction", self.number));
                }
            }
            2 => {
                let row = autocommit(db, self.tenant)
                    .query_one(
                        "insert into project (name) values ($1)
                         returning organization_id, created_by",
                        &[&name],
                    )
                    .await
                    .map_err(|e| format!("task {}: an autocommit write: {e}", self.number))?;
                let (org, by): (Uuid, Option<Uuid>) = (row.get(0), row.get(1));
                if org != self.organization || by != Some(self.user) {
                    return Err(format!(
                        "task {}: an autocommit write landed in {org} by {by:?}",
                        self.number
                    ));
                }
                self.committed.insert(name);
            }
            3 => {
                let row = autocommit(db, self.tenant)
                    .query_one(LOOK_SQL, &[])
                    .await
                    .map_err(|e| format!("task {}: an autocommit read: {e}", self.number))?;
                self.check("autocommit", seen(&row))?;
            }
            _ => {
                let state = pooled_connection_state(db)
                    .await
                    .map_err(|e| format!("task {}: a checkout: {e}", self.number))?;
                if !state.is_clean() {
                    return Err(format!(
                        "task {}: an idle connection: {state:?}",
                        self.number
                    ));
                }
            }
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tenants_on_shared_connections_see_only_their_own_rows() {
    let test = TestDb::with_config(|c| c.app_pool_size = POOL_SIZE).await;
    let owner = test.owner().await;
    let mut members = Vec::new();
    for org in 0..ORGS {
        let organization = TestDb::insert_organization(&owner, &format!("c{org}")).await;
        for who in 0..2 {
            let user: Uuid = owner
                .query_one(
                    "insert into \"user\" (name, email) values ($1, $1) returning id",
                    &[&format!("c{org}-{who}@example.com")],
                )
                .await
                .unwrap()
                .get(0);
            owner
                .execute(
                    "insert into member (organization_id, user_id) values ($1, $2)",
                    &[&organization, &user],
                )
                .await
                .unwrap();
            members.push((organization, user));
        }
    }
    let mut handles = Vec::new();
    for number in 0..TASKS {
        let db = test.db.clone();
        // Tasks 0..8 and 8..16 each cover every member once.
        let (organization, user) = members[number % members.len()];
        let membership = tenantry_db::organizations::find_membership(
            &db,
            UserId::from_uuid(user),
            OrganizationId::from_uuid(organization),
        )
        .await
        .unwrap()
        .expect("a member");
        let mut task = Task {
            number,
            tenant: membership.tenant(),
            organization,
            user,
            committed: BTreeSet::new(),
            pids: BTreeSet::new(),
        };
        handles.push(tokio::spawn(async move {
            for round in 0..ROUNDS {
                task.round(&db, round).await?;
            }
            Ok::<_, String>(task)
        }));
    }
    let mut committed: BTreeMap<Uuid, BTreeSet<String>> = BTreeMap::new();
    let mut pids = BTreeSet::new();
    let mut failures = Vec::new();
    for handle in handles {
        match handle.await.expect("the task ran") {
            Ok(task) => {
                committed
                    .entry(task.organization)
                    .or_default()
                    .extend(task.committed);
                pids.extend(task.pids);
            }
            Err(failure) => failures.push(failure),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    for (organization, expected) in &committed {
        let tenant = Tenant::without_membership_check(OrganizationId::from_uuid(*organization));
        let names: BTreeSet<String> = with_tenant_context(&test.db, tenant, async |tx| {
            let rows = tx.query("select name from project", &[]).await?;
            Ok::<_, DbError>(rows.iter().map(|row| row.get(0)).collect())
        })
        .await
        .unwrap();
        assert_eq!(&names, expected, "organization {organization}");
    }
    let (clients, _) = test.db.tenant_pool_status();
    println!(
        "{TASKS} tasks x {ROUNDS} rounds over {ORGS} organizations: \
         {clients} client connections, {} server processes",
        pids.len()
    );
    if tenantry_testkit::pgbouncer::enabled() {
        assert!(
            pids.len() < clients,
            "{clients} client connections shared {} server connections",
            pids.len()
        );
    }
}

/// A name the test knows to be valid.
fn bounded(name: &str) -> tenantry_db::BoundedName {
    tenantry_db::BoundedName::parse("name", name, 200).expect("a valid name")
}
