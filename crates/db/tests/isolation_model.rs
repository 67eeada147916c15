//! Isolation as a property (the reliability issue, part 1): random sequences
//! of creates, reads, lists, renames and deletes of projects, each by one of
//! four users acting in one of three organizations, often aimed at other
//! organizations' rows, checked against a plain in-memory model of who may
//! see what. Through the public Rust API (`with_tenant_context`,
//! `autocommit` and the project and audit functions), as the `authenticated`
//! role, on a real PostgreSQL, one operation at a time (the concurrent
//! counterpart is `concurrent_isolation.rs`).
//!
//! Organization k has two members, users k and k + 1 (so users 1 and 2
//! belong to two organizations each); every operation's tenant comes from
//! `find_membership`, so it carries its acting user. Names are unique per
//! step except for a few shared ones, so a name taken in the same
//! organization is a conflict and one taken in another organization is not.
//! Checked at every step: a create lands in the acting organization with the
//! acting user as `created_by`; a rename returns the name asked for (the
//! model keeps the requested name, not the returned one); a read returns the
//! model's name and creator; a list, paged through to the end with its
//! cursor, returns exactly the model's (id, name) pairs in creation order;
//! every attempt on another organization's row, or a deleted one, is "not
//! found". After the sequence, for every organization: the full listing, a
//! `count(*)` in its own tenant context and its full audit log (action,
//! target, actor, name) equal the model.
//!
//! 20 cases of 500 operations = 10,000 operations per run. On a failure
//! proptest shrinks the sequence the way the HTTP suite's does
//! ([`sequence`](tenantry_testkit::sequence::sequence): dropping halves,
//! quarters, ... then single operations, then simplifying the ones left), so
//! the minimal case printed is the few operations that matter, with their
//! original step numbers; it also saves the case's seed in
//! `isolation_model.proptest-regressions` next to this file (committed), and
//! every run replays the seeds there first. `PROPTEST_CASES` changes the
//! number of cases.

use std::collections::BTreeMap;
use std::fmt;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use tenantry_db::page::MAX_PAGE_SIZE;
use tenantry_db::prelude::*;
use tenantry_db::{
    Database, DbError, OrganizationId, ProjectId, Tenant, UserId, audit, autocommit, organizations,
    projects, users, with_tenant_context,
};
use tenantry_testkit::TestDb;
use tenantry_testkit::sequence::sequence;
use uuid::Uuid;

const ORGS: usize = 3;
/// Organization k's members are users k and k + 1.
const USERS: usize = ORGS + 1;
const MEMBERS_PER_ORG: usize = 2;
const OPS_PER_CASE: usize = 500;
/// Names shared by every organization, so that creates and renames collide.
const SHARED_NAMES: u8 = 4;
/// Page sizes a list asks for: small ones make it follow the cursor.
const PAGE_SIZES: [i64; 3] = [5, 17, MAX_PAGE_SIZE];

/// Which entry point runs a read or a list.
#[derive(Clone, Copy, Debug)]
enum Via {
    Transaction,
    Autocommit,
}

/// One operation, by member `who` (0 or 1) of organization `by`.
#[derive(Clone, Debug)]
struct Op {
    by: usize,
    who: usize,
    action: Action,
}

/// `target` picks a row among every row created so far, whoever owns it;
/// `name` picks a shared name, or (`None`) one unique to the step.
#[derive(Clone, Copy, Debug)]
enum Action {
    Create { name: Option<u8> },
    Read { target: usize, via: Via },
    Rename { target: usize, name: Option<u8> },
    Delete { target: usize },
    List { page_size: usize, via: Via },
}

fn op() -> impl Strategy<Value = Op> {
    let target = 0..64usize;
    let name = prop_oneof![3 => Just(None), 1 => (0..SHARED_NAMES).prop_map(Some)];
    let via = prop_oneof![Just(Via::Transaction), Just(Via::Autocommit)];
    let action = prop_oneof![
        3 => name.clone().prop_map(|name| Action::Create { name }),
        3 => (target.clone(), via.clone()).prop_map(|(target, via)| Action::Read { target, via }),
        2 => (target.clone(), name).prop_map(|(target, name)| Action::Rename { target, name }),
        1 => target.prop_map(|target| Action::Delete { target }),
        1 => (0..PAGE_SIZES.len(), via)
            .prop_map(|(page_size, via)| Action::List { page_size, via }),
    ];
    (0..ORGS, 0..MEMBERS_PER_ORG, action).prop_map(|(by, who, action)| Op { by, who, action })
}

/// A case's operations, `None` where shrinking dropped one.
#[derive(Clone)]
struct Steps(Vec<Option<Op>>);

impl fmt::Debug for Steps {
    /// Only the steps shrinking kept, with their positions: the minimal case
    /// reads as a few lines instead of 500 entries, mostly `None`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f)?;
        for (i, op) in self.0.iter().enumerate() {
            if let Some(op) = op {
                writeln!(f, "  step {i}: {op:?}")?;
            }
        }
        Ok(())
    }
}

/// A live project as the model knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    name: String,
    created_by: Uuid,
    /// The step that created it: lists are oldest first.
    step: usize,
}

/// One audit entry as the model expects it: action, target id, actor, the
/// name in its details.
type AuditRow = (String, String, Option<Uuid>, Option<String>);

#[derive(Default)]
struct OrgModel {
    rows: BTreeMap<Uuid, Row>,
    audit: Vec<AuditRow>,
}

impl OrgModel {
    /// The (id, name) pairs a full listing must return, in its order.
    fn listing(&self) -> Vec<(Uuid, String)> {
        let mut rows: Vec<_> = self.rows.iter().collect();
        rows.sort_by_key(|(_, row)| row.step);
        rows.into_iter()
            .map(|(id, row)| (*id, row.name.clone()))
            .collect()
    }

    /// Whether another live row of this organization has `name`.
    fn name_taken(&self, name: &str, except: Option<Uuid>) -> bool {
        self.rows
            .iter()
            .any(|(id, row)| row.name == name && Some(*id) != except)
    }

    fn audit(&mut self, action: &str, target: Uuid, actor: Uuid, name: &str) {
        self.audit.push((
            action.to_owned(),
            target.to_string(),
            Some(actor),
            Some(name.to_owned()),
        ));
    }
}

/// This case's users and organizations, and the tenant each member acts as.
struct World {
    users: Vec<Uuid>,
    orgs: Vec<Uuid>,
    /// `tenants[org][who]`, from `find_membership`.
    tenants: Vec<Vec<Tenant>>,
}

impl World {
    fn member(&self, org: usize, who: usize) -> Uuid {
        self.users[org + who]
    }
}

/// Users and organizations made through the product's own functions; the
/// second member of each organization is added by the owner (a fixture).
async fn set_up(test: &TestDb, model: &mut [OrgModel]) -> Result<World, String> {
    let db = &test.db;
    let mut world = World {
        users: Vec::new(),
        orgs: Vec::new(),
        tenants: Vec::new(),
    };
    let tag = Uuid::new_v4().simple().to_string();
    for u in 0..USERS {
        let email = format!("u{u}-{tag}@example.com");
        let user =
            users::create_user_with_password(db, &bounded(&format!("user {u}")), &email, "unused")
                .await
                .map_err(|e| format!("create user {u}: {e}"))?;
        world.users.push(user.id.as_uuid());
    }
    let owner = test.owner().await;
    for (org, state) in model.iter_mut().enumerate() {
        let creator = world.member(org, 0);
        let slug = format!("m{org}-{tag}");
        let organization = organizations::create_organization(
            db,
            UserId::from_uuid(creator),
            &bounded(&slug),
            &slug,
            None,
            None,
        )
        .await
        .map_err(|e| format!("create organization {org}: {e}"))?;
        let id = organization.id.as_uuid();
        state.audit.push((
            "organization.create".to_owned(),
            id.to_string(),
            Some(creator),
            Some(slug),
        ));
        owner
            .execute(
                "insert into member (organization_id, user_id, role) values ($1, $2, 'member')",
                &[&id, &world.member(org, 1)],
            )
            .await
            .map_err(|e| format!("add the second member of organization {org}: {e}"))?;
        let mut tenants = Vec::new();
        for who in 0..MEMBERS_PER_ORG {
            let user = UserId::from_uuid(world.member(org, who));
            let membership =
                organizations::find_membership(db, user, OrganizationId::from_uuid(id))
                    .await
                    .map_err(|e| format!("membership: {e}"))?
                    .ok_or_else(|| format!("user {} is not in organization {org}", org + who))?;
            tenants.push(membership.tenant());
        }
        world.orgs.push(id);
        world.tenants.push(tenants);
    }
    Ok(world)
}

fn name_for(step: usize, prefix: char, name: Option<u8>) -> String {
    match name {
        Some(k) => format!("shared {k}"),
        None => format!("{prefix}{step}"),
    }
}

/// Every project `tenant` can list, following the cursor to the end, as
/// (id, name) pairs in the order returned.
async fn list_all(
    db: &Database,
    tenant: Tenant,
    page_size: i64,
    via: Via,
) -> Result<Vec<(Uuid, String)>, String> {
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let cursor_ref = cursor.as_deref();
        let page = match via {
            Via::Transaction => {
                with_tenant_context(db, tenant, async |tx| {
                    projects::list_projects(tx, page_size, cursor_ref).await
                })
                .await
            }
            Via::Autocommit => {
                projects::list_projects(&autocommit(db, tenant), page_size, cursor_ref).await
            }
        }
        .map_err(|e| format!("list failed: {e}"))?;
        if page.next_cursor.is_some() && page.items.len() as i64 != page_size {
            return Err(format!(
                "a page of {} with a next cursor, asked for {page_size}",
                page.items.len()
            ));
        }
        listed.extend(page.items.into_iter().map(|p| (p.id, p.name)));
        if listed.len() > 10 * OPS_PER_CASE {
            return Err("the cursor never ends".to_owned());
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(listed),
        }
    }
}

/// Run the kept `steps` against fresh users and organizations and return the
/// first disagreement with the model, if any.
async fn run(test: &TestDb, steps: &Steps) -> Result<(), String> {
    let mut model: Vec<OrgModel> = (0..ORGS).map(|_| OrgModel::default()).collect();
    let world = set_up(test, &mut model).await?;
    // Every id ever created, including deleted ones, so targets hit foreign
    // and missing rows as well as own ones.
    let mut every_id: Vec<Uuid> = Vec::new();
    let db = &test.db;
    for (step, op) in steps.0.iter().enumerate() {
        let Some(op) = op else { continue };
        step_once(db, &world, &mut model, &mut every_id, step, op)
            .await
            .map_err(|e| format!("step {step}: {op:?}: {e}"))?;
    }
    final_check(db, &world, &model).await
}

async fn step_once(
    db: &Database,
    world: &World,
    model: &mut [OrgModel],
    every_id: &mut Vec<Uuid>,
    step: usize,
    op: &Op,
) -> Result<(), String> {
    let (by, who) = (op.by, op.who);
    let tenant = world.tenants[by][who];
    match op.action {
        Action::Create { name } => {
            let name = name_for(step, 'p', name);
            let result = with_tenant_context(db, tenant, async |tx| {
                projects::create_project(tx, &bounded(&name), None).await
            })
            .await;
            if model[by].name_taken(&name, None) {
                return match result {
                    Err(DbError::Conflict { .. }) => Ok(()),
                    other => Err(format!("expected a conflict, got {other:?}")),
                };
            }
            let project = result.map_err(|e| format!("create failed: {e}"))?;
            let actor = world.member(by, who);
            if project.organization_id.as_uuid() != world.orgs[by]
                || project.name != name
                || project.created_by.as_ref().map(UserId::as_uuid) != Some(actor)
            {
                return Err(format!("created {project:?}"));
            }
            model[by].rows.insert(
                project.id,
                Row {
                    name: name.clone(),
                    created_by: actor,
                    step,
                },
            );
            model[by].audit("project.create", project.id, actor, &name);
            every_id.push(project.id);
        }
        Action::Read { target, via } => {
            let Some(id) = pick(every_id, target) else {
                return Ok(());
            };
            let result = match via {
                Via::Transaction => {
                    with_tenant_context(db, tenant, async |tx| {
                        projects::get_project(tx, ProjectId::from_uuid(id)).await
                    })
                    .await
                }
                Via::Autocommit => {
                    projects::get_project(&autocommit(db, tenant), ProjectId::from_uuid(id)).await
                }
            };
            match (model[by].rows.get(&id), result) {
                (Some(row), Ok(project)) => {
                    if project.name != row.name
                        || project.created_by.as_ref().map(UserId::as_uuid) != Some(row.created_by)
                        || project.organization_id.as_uuid() != world.orgs[by]
                    {
                        return Err(format!("read {project:?}, model has {row:?}"));
                    }
                }
                (None, result) => expect_not_found(result)?,
                (Some(_), Err(e)) => return Err(format!("an own row: {e}")),
            }
        }
        Action::Rename { target, name } => {
            let Some(id) = pick(every_id, target) else {
                return Ok(());
            };
            let requested = name_for(step, 'r', name);
            let result = with_tenant_context(db, tenant, async |tx| {
                projects::update_project(
                    tx,
                    ProjectId::from_uuid(id),
                    Some(&bounded(&requested)),
                    None,
                )
                .await
            })
            .await;
            if !model[by].rows.contains_key(&id) {
                return expect_not_found(result);
            }
            if model[by].name_taken(&requested, Some(id)) {
                return match result {
                    Err(DbError::Conflict { .. }) => Ok(()),
                    other => Err(format!("expected a conflict, got {other:?}")),
                };
            }
            let project = result.map_err(|e| format!("an own row: {e}"))?;
            let row = model[by].rows.get_mut(&id).expect("checked above");
            if project.id != id
                || project.name != requested
                || project.created_by.as_ref().map(UserId::as_uuid) != Some(row.created_by)
            {
                return Err(format!("renamed to {requested:?}, returned {project:?}"));
            }
            row.name.clone_from(&requested);
            model[by].audit("project.update", id, world.member(by, who), &requested);
        }
        Action::Delete { target } => {
            let Some(id) = pick(every_id, target) else {
                return Ok(());
            };
            let result = with_tenant_context(db, tenant, async |tx| {
                projects::delete_project(tx, ProjectId::from_uuid(id)).await
            })
            .await;
            match model[by].rows.remove(&id) {
                Some(row) => {
                    result.map_err(|e| format!("an own row: {e}"))?;
                    model[by].audit("project.delete", id, world.member(by, who), &row.name);
                }
                None => expect_not_found(result)?,
            }
        }
        Action::List { page_size, via } => {
            let listed = list_all(db, tenant, PAGE_SIZES[page_size], via).await?;
            let expected = model[by].listing();
            if listed != expected {
                return Err(format!("listed {listed:?}, model has {expected:?}"));
            }
        }
    }
    Ok(())
}

/// The row `target` names among every one created so far, if any.
fn pick(every_id: &[Uuid], target: usize) -> Option<Uuid> {
    every_id.get(target % every_id.len().max(1)).copied()
}

fn expect_not_found<T: fmt::Debug>(result: Result<T, DbError>) -> Result<(), String> {
    match result {
        Err(DbError::NotFound(_)) => Ok(()),
        Ok(value) => Err(format!("reached a row it must not see: {value:?}")),
        Err(e) => Err(format!("expected not found, got {e}")),
    }
}

/// After a case: every organization, as its own members see it, holds
/// exactly the model's projects and audit trail.
async fn final_check(db: &Database, world: &World, model: &[OrgModel]) -> Result<(), String> {
    for (org, expected) in model.iter().enumerate() {
        let tenant = world.tenants[org][0];
        let fail = |what: String| format!("final check of organization {org}: {what}");
        let listed = list_all(db, tenant, MAX_PAGE_SIZE, Via::Transaction)
            .await
            .map_err(fail)?;
        if listed != expected.listing() {
            return Err(fail(format!(
                "listed {listed:?}, model has {:?}",
                expected.listing()
            )));
        }
        let (count, audit) = with_tenant_context(db, tenant, async |tx| {
            let count: i64 = tx
                .query_one("select count(*) from project", &[])
                .await?
                .get(0);
            let mut entries = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = audit::list_audit_log(tx, MAX_PAGE_SIZE, cursor.as_deref()).await?;
                entries.extend(page.items);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            Ok::<_, DbError>((count, entries))
        })
        .await
        .map_err(|e| fail(e.to_string()))?;
        if count != expected.rows.len() as i64 {
            return Err(fail(format!(
                "count(*) is {count}, model has {}",
                expected.rows.len()
            )));
        }
        // Newest first; compared as a multiset, since entries made in the
        // same microsecond have no defined order.
        let mut logged: Vec<AuditRow> = audit
            .into_iter()
            .map(|entry| {
                (
                    entry.action,
                    entry.target_id.unwrap_or_default(),
                    entry.actor_user_id.as_ref().map(UserId::as_uuid),
                    entry.details["name"].as_str().map(str::to_owned),
                )
            })
            .collect();
        let mut wanted = expected.audit.clone();
        logged.sort();
        wanted.sort();
        if logged != wanted {
            return Err(fail(format!(
                "the audit log has {logged:?}, model has {wanted:?}"
            )));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(20),
        max_shrink_iters: 200,
        // Next to this file: `tests/` has no lib.rs for the default
        // `SourceParallel`, which warns and falls back to this anyway.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_sequence_of_operations_crosses_tenants(steps in sequence(op(), OPS_PER_CASE).prop_map(Steps)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outcome = runtime.block_on(async {
            let test = TestDb::new().await;
            run(&test, &steps).await
        });
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

/// A name the test knows to be valid.
fn bounded(name: &str) -> tenantry_db::BoundedName {
    tenantry_db::BoundedName::parse("name", name, 200).expect("a valid name")
}
