//! Isolation as a property (the reliability issue, part 1): random sequences
//! of creates, reads, lists, updates and deletes, by members of random
//! organizations, often aimed at other organizations' rows, checked against
//! a plain in-memory model of who may see what. Through the public Rust API
//! (`with_tenant_context` and the project functions), as the `authenticated`
//! role, on a real PostgreSQL.
//!
//! 20 cases of 500 operations = 10,000 operations per run. On a failure
//! proptest shrinks the sequence the way the HTTP suite's does
//! ([`sequence`](tenantry_testkit::sequence::sequence): dropping halves,
//! quarters, ... then single operations, then simplifying the ones left), so
//! the minimal case printed is the few operations that matter, with their
//! original step numbers; it also saves the case's seed in
//! `isolation_model.proptest-regressions` next to this file, replayed first
//! on the next run. `PROPTEST_CASES` changes the number of cases.

use std::collections::BTreeMap;
use std::fmt;

use proptest::prelude::*;
use tenantry_db::{DbError, OrganizationId, Tenant, projects, with_tenant_context};
use tenantry_testkit::TestDb;
use tenantry_testkit::sequence::sequence;
use uuid::Uuid;

const ORGS: usize = 3;
const OPS_PER_CASE: usize = 500;

/// One operation, by a member of organization `by`. `target` picks a row
/// among every row created so far, whoever owns it.
#[derive(Clone, Debug)]
enum Op {
    Create { by: usize },
    Read { by: usize, target: usize },
    Update { by: usize, target: usize },
    Delete { by: usize, target: usize },
    List { by: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let by = 0..ORGS;
    let target = 0..64usize;
    prop_oneof![
        3 => by.clone().prop_map(|by| Op::Create { by }),
        3 => (by.clone(), target.clone()).prop_map(|(by, target)| Op::Read { by, target }),
        2 => (by.clone(), target.clone()).prop_map(|(by, target)| Op::Update { by, target }),
        1 => (by.clone(), target).prop_map(|(by, target)| Op::Delete { by, target }),
        1 => by.prop_map(|by| Op::List { by }),
    ]
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

/// What the model says each organization owns: id -> name.
type Model = Vec<BTreeMap<Uuid, String>>;

/// Run the kept `steps` against fresh organizations and return the first
/// disagreement with the model, if any.
async fn run(test: &TestDb, steps: &Steps) -> Result<(), String> {
    let owner = test.owner().await;
    let mut tenants = Vec::new();
    for _ in 0..ORGS {
        let slug = format!("m{}", Uuid::new_v4().simple());
        let id: Uuid = owner
            .query_one(
                "insert into organization (name, slug) values ($1, $1) returning id",
                &[&slug],
            )
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        tenants.push(Tenant::without_membership_check(OrganizationId::from_uuid(
            id,
        )));
    }
    let mut model: Model = vec![BTreeMap::new(); ORGS];
    // Every id ever created, including deleted ones, so targets hit foreign
    // and missing rows as well as own ones.
    let mut every_id: Vec<Uuid> = Vec::new();
    let db = &test.db;
    for (step, op) in steps.0.iter().enumerate() {
        let Some(op) = op else { continue };
        let owner_of = |id: &Uuid| model.iter().position(|rows| rows.contains_key(id));
        match *op {
            Op::Create { by } => {
                let name = format!("p{step}");
                let project = with_tenant_context(db, tenants[by], async |tx| {
                    projects::create_project(tx, &name, None).await
                })
                .await
                .map_err(|e| format!("step {step}: create failed: {e}"))?;
                if project.organization_id != tenants[by].organization_id() {
                    return Err(format!("step {step}: created in the wrong organization"));
                }
                model[by].insert(project.id, name);
                every_id.push(project.id);
            }
            Op::Read { by, target } | Op::Update { by, target } | Op::Delete { by, target } => {
                let Some(&id) = every_id.get(target % every_id.len().max(1)) else {
                    continue;
                };
                let visible = owner_of(&id) == Some(by);
                let result = match op {
                    Op::Read { .. } => {
                        with_tenant_context(db, tenants[by], async |tx| {
                            projects::get_project(tx, id).await.map(|p| p.name)
                        })
                        .await
                    }
                    Op::Update { .. } => {
                        with_tenant_context(db, tenants[by], async |tx| {
                            let renamed = format!("r{step}");
                            projects::update_project(tx, id, Some(&renamed), None)
                                .await
                                .map(|p| p.name)
                        })
                        .await
                    }
                    _ => {
                        with_tenant_context(db, tenants[by], async |tx| {
                            projects::delete_project(tx, id)
                                .await
                                .map(|()| String::new())
                        })
                        .await
                    }
                };
                match (visible, result) {
                    (true, Ok(name)) => match op {
                        Op::Read { .. } if model[by][&id] != name => {
                            return Err(format!(
                                "step {step}: read {name}, model has {}",
                                model[by][&id]
                            ));
                        }
                        Op::Update { .. } => {
                            model[by].insert(id, name);
                        }
                        Op::Delete { .. } => {
                            model[by].remove(&id);
                        }
                        _ => {}
                    },
                    (false, Err(DbError::NotFound(_))) => {}
                    (true, Err(e)) => {
                        return Err(format!("step {step}: {op:?} on an own row failed: {e}"));
                    }
                    (false, Ok(_)) => {
                        return Err(format!("step {step}: {op:?} reached a row it must not see"));
                    }
                    (false, Err(e)) => {
                        return Err(format!("step {step}: {op:?}: expected not found, got {e}"));
                    }
                }
            }
            Op::List { by } => {
                let page = with_tenant_context(db, tenants[by], async |tx| {
                    projects::list_projects(tx, tenantry_db::page::MAX_PAGE_SIZE, None).await
                })
                .await
                .map_err(|e| format!("step {step}: list failed: {e}"))?;
                let listed: Vec<Uuid> = page.items.iter().map(|p| p.id).collect();
                let foreign = listed
                    .iter()
                    .filter(|id| !model[by].contains_key(id))
                    .count();
                if foreign > 0 || (page.next_cursor.is_none() && listed.len() != model[by].len()) {
                    return Err(format!(
                        "step {step}: list for org {by} has {foreign} foreign rows, {} rows, model {}",
                        listed.len(),
                        model[by].len()
                    ));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(20),
        max_shrink_iters: 200,
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
