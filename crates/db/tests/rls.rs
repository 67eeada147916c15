//! Row-level security, table by table, acting as production does: a
//! `tenantry_app` login that takes the `authenticated` role inside a
//! transaction (the seed's `asAuthenticatedTenant`). Data is seeded as the
//! owner. Each test has its own database.

use tenantry_db::prelude::*;
use tenantry_db::seed::demo;
use tenantry_db::{DbError, OrganizationId, Tenant, UserId, with_tenant_context};
use tenantry_testkit::{TestDb, as_authenticated_tenant};
use tokio_postgres::Transaction;
use uuid::Uuid;

/// Every tenant table, with an insert that works for organization `$1`
/// (`$2`: a user who belongs to no organization, or an AI model).
const TENANT_TABLES: &[(&str, &str)] = &[
    (
        "member",
        "insert into member (organization_id, user_id, role) values ($1, $2, 'member')",
    ),
    (
        "invitation",
        "insert into invitation (organization_id, email, expires_at, inviter_id)
         values ($1, 'new@example.com', now() + interval '1 day', $2)",
    ),
    (
        "project",
        "insert into project (organization_id, name) values ($1, 'p-' || gen_random_uuid())",
    ),
    (
        "usage_event",
        "insert into usage_event (organization_id, model_id, input_tokens, output_tokens) values ($1, $2, 1, 1)",
    ),
    (
        "audit_log",
        "insert into audit_log (organization_id, action) values ($1, 'test.insert')",
    ),
];

/// A seeded database plus the ids the inserts need.
struct Fixture {
    test: TestDb,
    outsider: Uuid,
    model: Uuid,
}

async fn seeded() -> Fixture {
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.expect("seed");
    let owner = test.owner().await;
    let outsider: Uuid = owner
        .query_one(
            "insert into \"user\" (name, email) values ('Olive Outsider', 'olive@example.com') returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let model: Uuid = owner
        .query_one("select id from ai_model order by name limit 1", &[])
        .await
        .unwrap()
        .get(0);
    Fixture {
        test,
        outsider,
        model,
    }
}

fn tenant(id: Uuid) -> Option<String> {
    Some(id.to_string())
}

async fn count(tx: &Transaction<'_>, sql: &str) -> i64 {
    tx.query_one(sql, &[]).await.unwrap().get(0)
}

async fn owner_count(f: &Fixture, table: &str, org: Uuid) -> i64 {
    f.test
        .owner()
        .await
        .query_one(
            &format!("select count(*) from {table} where organization_id = $1"),
            &[&org],
        )
        .await
        .unwrap()
        .get(0)
}

/// The server's message: tokio-postgres's Display only says "db error".
fn db_message(error: &tokio_postgres::Error) -> String {
    error
        .as_db_error()
        .map(|e| e.message().to_owned())
        .unwrap_or_else(|| error.to_string())
}

fn is_rls_violation(error: &tokio_postgres::Error) -> bool {
    let message = db_message(error);
    message.contains("row-level security") || message.contains("permission denied")
}

#[tokio::test]
async fn every_tenant_table_has_rows_in_two_organizations_after_seeding() {
    let f = seeded().await;
    for (table, _) in TENANT_TABLES {
        let owner = f.test.owner().await;
        let orgs: i64 = owner
            .query_one(
                &format!("select count(distinct organization_id) from {table}"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(orgs >= 2, "{table} has rows in {orgs} organization(s)");
    }
}

#[tokio::test]
async fn reads_see_only_the_current_tenants_rows() {
    let f = seeded().await;
    let mut app = f.test.app_login().await;
    for (table, _) in TENANT_TABLES {
        let acme_total = owner_count(&f, table, demo::ACME).await;
        assert!(acme_total > 0, "{table}: fixture has Acme rows");
        let (visible, foreign) =
            as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
                let visible = count(tx, &format!("select count(*) from {table}")).await;
                let foreign = count(
                    tx,
                    &format!(
                        "select count(*) from {table} where organization_id <> '{}'",
                        demo::ACME
                    ),
                )
                .await;
                (visible, foreign)
            })
            .await;
        assert_eq!(
            visible, acme_total,
            "{table}: Acme sees all and only its rows"
        );
        assert_eq!(foreign, 0, "{table}: Acme sees no foreign row");
    }
}

#[tokio::test]
async fn inserts_naming_another_organization_fail_with_check() {
    let f = seeded().await;
    let mut app = f.test.app_login().await;
    for (table, insert) in TENANT_TABLES {
        let before = owner_count(&f, table, demo::GLOBEX).await;
        let result = as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
            tx.execute(*insert, &param_refs(table, &demo::GLOBEX, &f))
                .await
        })
        .await;
        let error = result.expect_err(&format!("{table}: insert into Globex as Acme must fail"));
        assert!(is_rls_violation(&error), "{table}: {}", db_message(&error));
        assert_eq!(
            owner_count(&f, table, demo::GLOBEX).await,
            before,
            "{table}: nothing written"
        );

        // The same insert for the current tenant works: the failure above is the policy.
        let own = as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
            tx.execute(*insert, &param_refs(table, &demo::ACME, &f))
                .await
        })
        .await;
        assert_eq!(
            own.unwrap_or_else(|e| panic!("{table}: own insert: {e}")),
            1
        );
    }
}

/// Parameters for an insert template: the organization, then whatever else it mentions.
fn param_refs<'a>(
    table: &str,
    org: &'a Uuid,
    f: &'a Fixture,
) -> Vec<&'a (dyn tokio_postgres::types::ToSql + Sync)> {
    match table {
        "member" | "invitation" => vec![org, &f.outsider],
        "usage_event" => vec![org, &f.model],
        _ => vec![org],
    }
}

#[tokio::test]
async fn updates_cannot_move_rows_to_another_tenant_nor_touch_foreign_rows() {
    let f = seeded().await;
    let mut app = f.test.app_login().await;
    for (table, _) in TENANT_TABLES {
        let globex_before = owner_count(&f, table, demo::GLOBEX).await;
        // Moving one of our own rows to Globex violates WITH CHECK (audit_log: no UPDATE at all).
        let moved = as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
            tx.execute(
                &format!("update {table} set organization_id = $1"),
                &[&demo::GLOBEX],
            )
            .await
        })
        .await;
        let error = moved.expect_err(&format!("{table}: moving rows to Globex must fail"));
        assert!(is_rls_violation(&error), "{table}: {}", db_message(&error));

        if *table == "audit_log" {
            continue; // append-only: UPDATE and DELETE are refused outright (tested below)
        }
        let (updated, deleted) =
            as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
                let updated = tx
                    .execute(
                        &format!(
                            "update {table} set created_at = created_at where organization_id = $1"
                        ),
                        &[&demo::GLOBEX],
                    )
                    .await
                    .unwrap();
                let deleted = tx
                    .execute(
                        &format!("delete from {table} where organization_id = $1"),
                        &[&demo::GLOBEX],
                    )
                    .await
                    .unwrap();
                (updated, deleted)
            })
            .await;
        assert_eq!(
            (updated, deleted),
            (0, 0),
            "{table}: foreign rows untouched"
        );
        assert_eq!(
            owner_count(&f, table, demo::GLOBEX).await,
            globex_before,
            "{table}"
        );
    }
}

#[tokio::test]
async fn audit_log_is_append_only_for_tenants() {
    let f = seeded().await;
    let mut app = f.test.app_login().await;
    for statement in ["update audit_log set action = 'x'", "delete from audit_log"] {
        let result = as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
            tx.execute(statement, &[]).await
        })
        .await;
        let error = result.expect_err(statement);
        assert!(
            is_rls_violation(&error),
            "{statement}: {}",
            db_message(&error)
        );
    }
    // Even the owner cannot rewrite history.
    let owner = f.test.owner().await;
    let error = owner
        .execute("update audit_log set action = 'x'", &[])
        .await
        .unwrap_err();
    assert!(
        db_message(&error).contains("append-only"),
        "{}",
        db_message(&error)
    );
    // The one update let through (0009) is a deleted user's cascade: an
    // actor who still exists cannot be erased from an entry.
    let error = owner
        .execute(
            "update audit_log set actor_user_id = null where actor_user_id is not null",
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        db_message(&error).contains("append-only"),
        "{}",
        db_message(&error)
    );
}

#[tokio::test]
async fn no_context_and_empty_context_see_nothing_and_write_nothing() {
    let f = seeded().await;
    let mut app = f.test.app_login().await;
    for context in [None, Some(String::new())] {
        for (table, insert) in TENANT_TABLES {
            let visible = as_authenticated_tenant(&mut app, context.as_deref(), async |tx| {
                count(tx, &format!("select count(*) from {table}")).await
            })
            .await;
            assert_eq!(visible, 0, "{table} with context {context:?}");
            let before = owner_count(&f, table, demo::ACME).await;
            let written = as_authenticated_tenant(&mut app, context.as_deref(), async |tx| {
                tx.execute(*insert, &param_refs(table, &demo::ACME, &f))
                    .await
            })
            .await;
            assert!(written.is_err(), "{table}: write without tenant must fail");
            assert_eq!(owner_count(&f, table, demo::ACME).await, before);
        }
    }
}

#[tokio::test]
async fn the_login_role_without_set_role_is_refused_everything() {
    let f = seeded().await;
    let app = f.test.app_login().await;
    for (table, _) in TENANT_TABLES {
        let error = app
            .query(&format!("select * from {table}"), &[])
            .await
            .expect_err(table);
        assert!(
            db_message(&error).contains("permission denied"),
            "{table}: {}",
            db_message(&error)
        );
    }
    for table in [
        "\"user\"",
        "organization",
        "personal_access_token",
        "session",
    ] {
        let error = app
            .query(&format!("select * from {table}"), &[])
            .await
            .expect_err(table);
        assert!(
            db_message(&error).contains("permission denied"),
            "{table}: {}",
            db_message(&error)
        );
    }
}

#[tokio::test]
async fn a_unique_value_held_by_one_tenant_tells_another_nothing() {
    let f = seeded().await;
    let mut app = f.test.app_login().await;
    // "Website relaunch" exists in Acme only. Globex can create its own.
    let created = as_authenticated_tenant(&mut app, tenant(demo::GLOBEX).as_deref(), async |tx| {
        tx.execute(
            "insert into project (name) values ('Website relaunch')",
            &[],
        )
        .await
    })
    .await;
    assert_eq!(created.unwrap(), 1);
    // Within one tenant the name is unique.
    let duplicate = as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
        tx.execute(
            "insert into project (name) values ('Website relaunch')",
            &[],
        )
        .await
    })
    .await;
    let error = duplicate.unwrap_err();
    assert_eq!(
        error.as_db_error().unwrap().constraint(),
        Some("project_organization_id_name_key")
    );
}

#[tokio::test]
async fn referencing_another_tenants_row_fails_like_referencing_a_missing_one() {
    let f = seeded().await;
    let mut app = f.test.app_login().await;
    let globex_project: Uuid = f
        .test
        .owner()
        .await
        .query_one(
            "select id from project where organization_id = $1 limit 1",
            &[&demo::GLOBEX],
        )
        .await
        .unwrap()
        .get(0);
    let mut outcomes = Vec::new();
    for project in [globex_project, Uuid::new_v4()] {
        let result = as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
            tx.execute(
                "insert into usage_event (project_id, model_id, input_tokens, output_tokens) values ($1, $2, 1, 1)",
                &[&project, &f.model],
            )
            .await
        })
        .await;
        let error = result.expect_err("reference must fail");
        let db = error.as_db_error().expect("server error");
        outcomes.push((db.code().clone(), db.constraint().map(str::to_owned)));
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "foreign and missing look the same"
    );
    assert_eq!(outcomes[0].1.as_deref(), Some("usage_event_project_fkey"));
}

#[tokio::test]
async fn a_tenant_sees_only_its_own_organization_and_its_members() {
    let f = seeded().await;
    let mut app = f.test.app_login().await;
    let (orgs, users) =
        as_authenticated_tenant(&mut app, tenant(demo::INITECH).as_deref(), async |tx| {
            let orgs: Vec<Uuid> = tx
                .query("select id from organization", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            let users: Vec<Uuid> = tx
                .query("select id from \"user\"", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            (orgs, users)
        })
        .await;
    assert_eq!(orgs, vec![demo::INITECH]);
    assert_eq!(users, vec![demo::CAROL]);
}

#[tokio::test]
async fn authenticated_holds_no_privilege_on_secrets_tables() {
    let f = seeded().await;
    let mut app = f.test.app_login().await;
    for table in [
        "personal_access_token",
        "session",
        "account",
        "verification",
    ] {
        let result = as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
            tx.query(&format!("select 1 from {table} limit 1"), &[])
                .await
        })
        .await;
        let error = result.expect_err(table);
        assert!(
            db_message(&error).contains("permission denied"),
            "{table}: {}",
            db_message(&error)
        );
    }
    let owner = f.test.owner().await;
    let granted: i64 = owner
        .query_one(
            "select count(*) from information_schema.role_table_grants
             where grantee in ('authenticated', 'PUBLIC')
               and table_name in ('personal_access_token', 'session', 'account', 'verification')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(granted, 0);
}

/// The policy pins the actor to the transaction's acting user: a statement
/// that reaches SQL as `authenticated` cannot write history in someone
/// else's name, nor claim an actor when there is none.
#[tokio::test]
async fn an_audit_entry_names_the_acting_user_and_no_one_else() {
    let f = seeded().await;
    let acme = Tenant::without_membership_check(OrganizationId::from_uuid(demo::ACME));
    let as_alice = acme.acting_as(UserId::from_uuid(demo::ALICE));
    let insert = "insert into audit_log (action, actor_user_id) values ('forged', $1)";
    for (tenant, actor) in [
        (as_alice, Some(demo::BOB)),
        (as_alice, None),
        (acme, Some(demo::ALICE)),
    ] {
        let written = with_tenant_context(&f.test.db, tenant, async |tx| {
            tx.execute(insert, &[&actor]).await
        })
        .await;
        assert!(
            matches!(written, Err(DbError::PolicyViolation)),
            "actor {actor:?} as {tenant:?}: {written:?}"
        );
    }
    let own = with_tenant_context(&f.test.db, as_alice, async |tx| {
        tx.execute(insert, &[&Some(demo::ALICE)]).await?;
        tx.query_one(
            "insert into audit_log (action) values ('defaulted') returning actor_user_id",
            &[],
        )
        .await
        .map(|row| row.get::<_, Option<Uuid>>(0))
    })
    .await
    .expect("an entry in one's own name");
    assert_eq!(own, Some(demo::ALICE));
    let forged: i64 = f
        .test
        .owner()
        .await
        .query_one(
            "select count(*) from audit_log where action = 'forged'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(forged, 1, "only Alice's own entry");
}

/// A temporary table outlives its transaction on a pooled connection and,
/// earlier on the search path, shadows the real table for the next borrower.
/// Neither tenant work nor the logins themselves may create one.
#[tokio::test]
async fn no_temporary_table_can_outlive_a_tenant_transaction() {
    let test = TestDb::with_config(|c| c.app_pool_size = 1).await;
    tenantry_db::seed(&test.db).await.expect("seed");
    let acme = Tenant::without_membership_check(OrganizationId::from_uuid(demo::ACME));
    let shadow = with_tenant_context(&test.db, acme, async |tx| {
        tx.execute("create temporary table project (name text)", &[])
            .await
    })
    .await;
    assert!(
        matches!(&shadow, Err(DbError::Postgres(e))
            if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)),
        "tenant work created a temporary table: {shadow:?}"
    );
    // The next borrower of the one pooled connection reads the real table.
    let names = with_tenant_context(&test.db, acme, async |tx| {
        let temporary: i64 = tx
            .query_one(
                "select count(*) from pg_catalog.pg_class where relpersistence = 't'",
                &[],
            )
            .await?
            .get(0);
        let projects: i64 = tx
            .query_one("select count(*) from project", &[])
            .await?
            .get(0);
        Ok::<_, DbError>((temporary, projects))
    })
    .await
    .unwrap();
    assert_eq!(names.0, 0, "a temporary table is left on the connection");
    assert!(names.1 > 0, "Acme's real projects are visible");
    // Nor may the login create one before it takes a role.
    let app = test.app_login().await;
    let error = app
        .batch_execute("create temporary table t (x int)")
        .await
        .expect_err("tenantry_app created a temporary table");
    assert!(
        db_message(&error).contains("permission denied"),
        "{}",
        db_message(&error)
    );
}

/// The one organization `authenticated` may create is the current tenant's
/// own (migration 0008, so that an organization and its owner are written in
/// one tenant transaction): any other id, or no tenant at all, is refused.
/// Likewise a tenant changes or removes only its own organization row
/// (migration 0009): another tenant's row, or any row without a tenant, is
/// out of reach, and the id and creation time of its own cannot change.
#[tokio::test]
async fn a_tenant_may_insert_only_the_organization_whose_id_is_the_current_tenant() {
    let f = seeded().await;
    let mut app = f.test.app_login().await;
    let fresh = Uuid::now_v7();
    let other = Uuid::now_v7();
    let insert = "insert into organization (id, name, slug) values ($1, 'New', $2)";

    for (context, id) in [
        (tenant(fresh), other),
        (None, other),
        (tenant(fresh), demo::ACME),
    ] {
        let result = as_authenticated_tenant(&mut app, context.as_deref(), async |tx| {
            tx.execute(insert, &[&id, &format!("slug-{}", id.simple())])
                .await
        })
        .await;
        let error = result.expect_err(&format!("insert of {id} as {context:?} must fail"));
        assert!(
            is_rls_violation(&error),
            "{id} as {context:?}: {}",
            db_message(&error)
        );
    }
    for statement in [
        "update organization set name = 'Renamed' where id = $1",
        "delete from organization where id = $1",
    ] {
        for (context, target) in [
            (tenant(demo::ACME), demo::GLOBEX),
            (None, demo::GLOBEX),
            (None, demo::ACME),
        ] {
            let touched = as_authenticated_tenant(&mut app, context.as_deref(), async |tx| {
                tx.execute(statement, &[&target]).await
            })
            .await
            .unwrap_or_else(|e| panic!("{statement} as {context:?}: {}", db_message(&e)));
            assert_eq!(touched, 0, "{statement} reached {target} as {context:?}");
        }
        let own = as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
            tx.execute(statement, &[&demo::ACME]).await
        })
        .await;
        assert_eq!(own.expect(statement), 1, "{statement} on its own row");
    }
    for statement in [
        "update organization set id = gen_random_uuid()",
        "update organization set created_at = now()",
    ] {
        let result = as_authenticated_tenant(&mut app, tenant(demo::ACME).as_deref(), async |tx| {
            tx.execute(statement, &[]).await
        })
        .await;
        let error = result.expect_err(statement);
        assert!(
            is_rls_violation(&error),
            "{statement}: {}",
            db_message(&error)
        );
    }

    let own = as_authenticated_tenant(&mut app, tenant(fresh).as_deref(), async |tx| {
        tx.execute(insert, &[&fresh, &"slug-own"]).await
    })
    .await;
    assert_eq!(own.expect("the current tenant's own organization"), 1);
}
