//! The soak's end: every organization's rows, through the API and in SQL,
//! against what the load saw acknowledged.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::scenario::{Ctx, PINNED, str_of};
use crate::data::connect;

/// Every organization holds exactly the acknowledged projects and usage
/// events, through the API and in SQL; nothing foreign, nothing by outsiders.
pub async fn check_consistency(ctx: &Ctx, owner_url: &str) -> anyhow::Result<Vec<(bool, String)>> {
    let api = &ctx.api;
    let mut lines = Vec::new();
    let (mut expected_projects, mut listed_projects, mut wrong) = (0usize, 0usize, Vec::new());
    let (mut creates, mut deletes, mut usage) = (0u64, 0u64, 0u64);
    for (n, tenant) in ctx.tenants.iter().enumerate() {
        let state = tenant.state.lock().await;
        let expected: BTreeSet<String> = tenant
            .fixed
            .pinned
            .iter()
            .chain(&state.created)
            .map(Uuid::to_string)
            .collect();
        (creates, deletes, usage) = (
            creates + state.creates,
            deletes + state.deletes,
            usage + state.usage_events,
        );
        let mut listed = BTreeSet::new();
        let mut cursor = None;
        loop {
            let page = api
                .list_projects(&tenant.fixed.owner_pat, 100, cursor.as_deref())
                .await?
                .expect("final listing", 200)?;
            for item in page["items"].as_array().cloned().unwrap_or_default() {
                if str_of(&item, "organizationId") != tenant.fixed.org_id {
                    wrong.push(format!("organization {n} lists a foreign project {item}"));
                }
                listed.insert(str_of(&item, "id"));
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        if listed != expected {
            wrong.push(format!(
                "organization {n}: {} listed, {} acknowledged",
                listed.len(),
                expected.len()
            ));
        }
        expected_projects += expected.len();
        listed_projects += listed.len();
    }
    lines.push((
        wrong.is_empty(),
        format!(
            "API: {listed_projects} projects listed in {} organizations = {} set-up + {creates} acknowledged creates - {deletes} acknowledged deletes ({expected_projects}), each listed only in its own organization{}",
            ctx.tenants.len(),
            ctx.tenants.len() * PINNED,
            if wrong.is_empty() {
                String::new()
            } else {
                format!("; {}", wrong.join("; "))
            }
        ),
    ));

    // In SQL, as the owner (a superuser: RLS does not filter it).
    let owner = connect(owner_url).await?;
    let orgs: Vec<Uuid> = ctx
        .tenants
        .iter()
        .map(|t| Uuid::try_parse(&t.fixed.org_id))
        .collect::<Result<_, _>>()?;
    let count = |sql: &'static str| {
        let (owner, orgs) = (&owner, &orgs);
        async move {
            let row = owner.query_one(sql, &[orgs]).await?;
            anyhow::Ok(row.get::<_, i64>(0))
        }
    };
    let in_sql = count("select count(*) from project where organization_id = any($1)").await?;
    lines.push((
        in_sql as usize == expected_projects,
        format!("SQL: {in_sql} project rows in these organizations, {expected_projects} expected"),
    ));
    let events = count("select count(*) from usage_event where organization_id = any($1)").await?;
    lines.push((
        events as u64 == usage,
        format!("SQL: {events} usage events, {usage} acknowledged records"),
    ));
    let by_outsiders = count(
        "select count(*) from project p where organization_id = any($1) and not exists
           (select 1 from member m where m.organization_id = p.organization_id and m.user_id = p.created_by)",
    )
    .await?;
    lines.push((
        by_outsiders == 0,
        format!(
            "SQL: {by_outsiders} projects created by someone not a member of their organization"
        ),
    ));
    let members = count("select count(*) from member where organization_id = any($1)").await?;
    lines.push((
        members as usize == 2 * ctx.tenants.len(),
        format!(
            "SQL: {members} memberships, {} expected (an owner and a member each)",
            2 * ctx.tenants.len()
        ),
    ));
    Ok(lines)
}
