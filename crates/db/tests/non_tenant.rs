//! The named non-tenant functions, migrations, roles and the catalog-level
//! invariants.

use std::time::{Duration, Instant};

use chrono::Utc;
use tenantry_db::organizations::{
    find_membership, list_user_organizations, resolve_organization_id, resolve_tenant,
};
use tenantry_db::pats::{
    NewPat, create_pat, find_pat_by_prefix, list_user_pats, record_pat_use, revoke_pat,
};
use tenantry_db::seed::demo;
use tenantry_db::{BoundedName, PatId};
use tenantry_db::{
    Database, DatabaseConfig, DbError, OrganizationId, UserId, check_database, migrate,
};
use tenantry_domain::name::MAX_PAT_NAME_CHARS;
use tenantry_testkit::TestDb;
use uuid::Uuid;

async fn seeded() -> TestDb {
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.expect("seed");
    test
}

fn user(id: Uuid) -> UserId {
    UserId::from_uuid(id)
}

fn org(id: Uuid) -> OrganizationId {
    OrganizationId::from_uuid(id)
}

/// How PostgreSQL prints migration 0007's pin of the audit entry's actor.
const AUDIT_ACTOR_PINNED: &str =
    "(NOT (actor_user_id IS DISTINCT FROM ( SELECT app.current_user_id() AS current_user_id)))";

/// What CI's first run of the hardening met: processes setting up databases
/// of one cluster at once (parallel test binaries, instances starting
/// together) change the same cluster-wide role rows, and PostgreSQL refuses
/// the loser ("tuple concurrently updated") instead of waiting. Each must
/// still succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_of_one_cluster_set_up_at_once_all_succeed() {
    let test = TestDb::new().await;
    let passwords = test.role_passwords().await;
    let owner = test.owner().await;
    let mut databases = Vec::new();
    for n in 0..6 {
        let name = format!("{}_at_once_{n}", test.name());
        owner
            .batch_execute(&format!("create database \"{name}\""))
            .await
            .unwrap();
        let url = test
            .owner_url()
            .replace(&format!("/{}", test.name()), &format!("/{name}"));
        databases.push((name, url));
    }
    let set_up = databases.iter().map(|(_, url)| {
        let passwords = passwords.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let db = Database::connect(DatabaseConfig::new(&url, &url).with_owner(&url))?;
            migrate(&db).await?;
            for _ in 0..5 {
                tenantry_db::setup::set_role_passwords(&db, &passwords).await?;
            }
            Ok::<_, tenantry_db::DbError>(())
        })
    });
    let outcomes: Vec<_> = futures_util::future::join_all(set_up).await;
    for (name, _) in &databases {
        owner
            .batch_execute(&format!("drop database \"{name}\" with (force)"))
            .await
            .unwrap();
    }
    for outcome in outcomes {
        outcome.unwrap().expect("a concurrent set-up succeeds");
    }
}

#[tokio::test]
async fn migrations_run_twice_change_nothing() {
    let test = TestDb::new().await;
    let again = migrate(&test.db).await.unwrap();
    assert!(again.applied.is_empty());
    let every: Vec<i32> = tenantry_db::migrate::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(again.already_applied, every);

    // A brand-new database in a cluster whose roles already exist.
    let owner = test.owner().await;
    let fresh = format!("{}_fresh", test.name());
    owner
        .batch_execute(&format!("create database \"{fresh}\""))
        .await
        .unwrap();
    let url = test
        .owner_url()
        .replace(&format!("/{}", test.name()), &format!("/{fresh}"));
    let db = Database::connect(DatabaseConfig::new(&url, &url).with_owner(&url)).unwrap();
    assert_eq!(migrate(&db).await.unwrap().applied, every);
    assert!(migrate(&db).await.unwrap().applied.is_empty());
    // What CREATE DATABASE grants PUBLIC by default, migrate takes back.
    let temp: bool = owner
        .query_one(
            "select has_database_privilege('tenantry_app', $1, 'TEMPORARY')",
            &[&fresh],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!temp, "tenantry_app may create temporary tables in {fresh}");
    drop(db);
    owner
        .batch_execute(&format!("drop database \"{fresh}\" with (force)"))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_edited_migration_is_refused() {
    let test = TestDb::new().await;
    test.owner()
        .await
        .execute(
            "update tenantry_migration set checksum = 'edited' where version = 2",
            &[],
        )
        .await
        .unwrap();
    let error = migrate(&test.db).await.unwrap_err();
    assert!(
        matches!(error, DbError::MigrationEdited { version: 2, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn seeding_twice_inserts_nothing_the_second_time() {
    let test = TestDb::new().await;
    assert!(tenantry_db::seed(&test.db).await.unwrap().inserted > 0);
    assert_eq!(tenantry_db::seed(&test.db).await.unwrap().inserted, 0);
}

#[tokio::test]
async fn the_application_login_cannot_bypass_rls_and_owns_nothing() {
    let test = TestDb::new().await;
    let owner = test.owner().await;
    let row = owner
        .query_one(
            "select r.rolsuper, r.rolbypassrls, r.rolinherit, r.rolcanlogin,
                    (select count(*) from pg_class c where c.relowner = r.oid),
                    pg_has_role('tenantry_app', 'authenticated', 'member'),
                    pg_has_role('tenantry_app', 'authenticated', 'usage'),
                    (select rolcanlogin from pg_roles where rolname = 'authenticated')
             from pg_roles r where r.rolname = 'tenantry_app'",
            &[],
        )
        .await
        .unwrap();
    let flags: (bool, bool, bool, bool, i64, bool, bool, bool) = (
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
        row.get(6),
        row.get(7),
    );
    // not superuser, no bypass, NOINHERIT, can log in, owns nothing,
    // may SET ROLE authenticated but inherits none of its privileges;
    // authenticated itself cannot log in.
    assert_eq!(flags, (false, false, false, true, 0, true, false, false));
}

/// A row of pg_policies: name, roles, command, USING, WITH CHECK.
type Policy = (String, Vec<String>, String, Option<String>, Option<String>);

/// docs/architecture.md invariant 1 and 2, read from the catalog for every table that
/// has an organization_id column, and invariant 7's list of the others.
#[tokio::test]
async fn every_tenant_table_follows_the_tenancy_invariants() {
    let test = TestDb::new().await;
    let owner = test.owner().await;
    let tables: Vec<(String, bool, bool, bool)> = owner
        .query(
            "select c.relname, c.relrowsecurity, c.relforcerowsecurity,
                    exists (select 1 from pg_attribute a where a.attrelid = c.oid
                            and a.attname = 'organization_id' and not a.attisdropped)
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();

    let non_tenant: Vec<&str> = tables
        .iter()
        .filter(|t| !t.3)
        .map(|t| t.0.as_str())
        .collect();
    assert_eq!(
        non_tenant,
        [
            "account",
            "ai_model",
            "ai_model_pricing",
            "organization",
            "personal_access_token",
            "session",
            "tenantry_migration",
            "user",
            "verification"
        ]
    );
    let tenant_tables: Vec<&str> = tables
        .iter()
        .filter(|t| t.3)
        .map(|t| t.0.as_str())
        .collect();
    assert_eq!(
        tenant_tables,
        [
            "audit_log",
            "invitation",
            "member",
            "project",
            "usage_event"
        ]
    );

    for (table, rls, forced, _) in tables.iter().filter(|t| t.3) {
        assert!(*rls && *forced, "{table}: RLS enabled and forced");
        // Every unique or primary key, and every FK to another tenant table, leads with organization_id.
        let keys: Vec<(String, String)> = owner
            .query(
                "select con.conname, pg_get_constraintdef(con.oid) from pg_constraint con
                 where con.conrelid = $1::text::regclass and (con.contype in ('p', 'u')
                   or (con.contype = 'f' and con.confrelid in (select attrelid from pg_attribute
                       where attname = 'organization_id' and attrelid <> 'organization'::regclass)))",
                &[&format!("public.{table}")],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert!(!keys.is_empty());
        for (name, definition) in keys {
            assert!(
                definition.contains("(organization_id, ")
                    || definition.contains("(organization_id)"),
                "{table}.{name}: {definition}"
            );
        }
        let unique_indexes: Vec<String> = owner
            .query(
                "select pg_get_indexdef(indexrelid) from pg_index where indrelid = $1::text::regclass and indisunique",
                &[&format!("public.{table}")],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        for index in unique_indexes {
            assert!(index.contains("(organization_id"), "{table}: {index}");
        }
        // Policies: to authenticated, initPlan form, both clauses for writes, nothing that fails open.
        let policies: Vec<Policy> = owner
            .query(
                "select policyname, roles::text[], cmd, qual, with_check from pg_policies
                 where schemaname = 'public' and tablename = $1",
                &[&table],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        assert!(
            policies.iter().any(|p| p.2 == "SELECT" || p.2 == "ALL"),
            "{table}: a SELECT policy"
        );
        for (name, roles, command, using, check) in policies {
            assert_eq!(roles, ["authenticated"], "{table}.{name}");
            let pinned = "(organization_id = ( SELECT app.current_tenant() AS current_tenant))";
            if command != "INSERT" {
                assert_eq!(using.as_deref(), Some(pinned), "{table}.{name} USING");
            }
            if matches!(command.as_str(), "ALL" | "INSERT" | "UPDATE") {
                // Audit entries also pin their actor to the acting user.
                let expected = if name == "audit_log_tenant_append" {
                    format!("({pinned} AND {AUDIT_ACTOR_PINNED})")
                } else {
                    pinned.to_owned()
                };
                assert_eq!(
                    check.as_deref(),
                    Some(expected.as_str()),
                    "{table}.{name} WITH CHECK"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_tenant_function_treats_missing_and_empty_as_no_tenant() {
    let test = TestDb::new().await;
    let owner = test.owner().await;
    let missing: Option<Uuid> = owner
        .query_one("select app.current_tenant()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(missing, None);
    let tx_value: (Option<Uuid>, Option<Uuid>) = {
        let row = owner
            .query_one(
                "select (select app.current_tenant() from (select set_config('app.tenant_id', '', false)) s),
                        (select app.current_tenant() from (select set_config('app.tenant_id', $1, false)) s)",
                &[&demo::ACME.to_string()],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(tx_value, (None, Some(demo::ACME)));
}

#[tokio::test]
async fn personal_access_tokens_are_created_listed_found_and_revoked() {
    let test = seeded().await;
    let db = &test.db;
    let alice = user(demo::ALICE);
    let hash = [7u8; 32];
    let first = create_pat(
        db,
        NewPat {
            user_id: alice,
            name: &pat_name("  laptop  "),
            token_prefix: "tnty_first",
            token_hash: &hash,
            expires_at: None,
            scopes: tenantry_domain::Scopes::ALL,
            organization_id: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(first.name, "laptop");
    let second = create_pat(
        db,
        NewPat {
            user_id: alice,
            name: &pat_name("ci"),
            token_prefix: "tnty_second",
            token_hash: &[8u8; 32],
            expires_at: Some(Utc::now() + chrono::Duration::days(30)),
            scopes: tenantry_domain::Scopes::ALL,
            organization_id: None,
        },
    )
    .await
    .unwrap();

    let listed = list_user_pats(db, alice).await.unwrap();
    assert_eq!(listed, vec![first.clone(), second.clone()]);
    assert!(
        list_user_pats(db, user(demo::BOB))
            .await
            .unwrap()
            .is_empty()
    );

    let found = find_pat_by_prefix(db, "tnty_first").await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.user_id, found.token_hash.as_slice()),
        (first.id, alice, &hash[..])
    );
    assert!(found.is_live(Utc::now()));
    assert!(
        find_pat_by_prefix(db, "tnty_nothing")
            .await
            .unwrap()
            .is_none()
    );

    // Someone else cannot revoke it; its owner can, once.
    assert!(
        !revoke_pat(db, user(demo::BOB), PatId::from_uuid(first.id))
            .await
            .unwrap()
    );
    assert!(
        revoke_pat(db, alice, PatId::from_uuid(first.id))
            .await
            .unwrap()
    );
    assert!(
        !revoke_pat(db, alice, PatId::from_uuid(first.id))
            .await
            .unwrap()
    );
    assert_eq!(list_user_pats(db, alice).await.unwrap(), vec![second]);
    assert!(
        !find_pat_by_prefix(db, "tnty_first")
            .await
            .unwrap()
            .unwrap()
            .is_live(Utc::now())
    );
}

#[tokio::test]
async fn pat_input_is_validated_before_any_query() {
    let test = seeded().await;
    // A name is a `BoundedName`: an empty or overlong one cannot reach the query.
    for name in ["", "   ", &*"n".repeat(MAX_PAT_NAME_CHARS + 1)] {
        let error = BoundedName::parse("name", name, MAX_PAT_NAME_CHARS).unwrap_err();
        assert_eq!(error.field, "name", "{name:?}");
    }
    let bad = [("tnty_bad'; --", 32), ("tnty_ok", 31), ("", 32)];
    for (prefix, hash_len) in bad {
        let name = pat_name("name");
        let error = create_pat(
            &test.db,
            NewPat {
                user_id: user(demo::ALICE),
                name: &name,
                token_prefix: prefix,
                token_hash: &vec![0; hash_len],
                expires_at: None,
                scopes: tenantry_domain::Scopes::ALL,
                organization_id: None,
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, DbError::InvalidInput { .. }),
            "{prefix:?}: {error}"
        );
    }
    assert!(find_pat_by_prefix(&test.db, "").await.is_err());
    assert!(
        list_user_pats(&test.db, user(demo::ALICE))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn pat_use_is_recorded_at_most_once_a_minute() {
    let test = seeded().await;
    let db = &test.db;
    create_pat(
        db,
        NewPat {
            user_id: user(demo::BOB),
            name: &pat_name("agent"),
            token_prefix: "tnty_agent",
            token_hash: &[1; 32],
            expires_at: None,
            scopes: tenantry_domain::Scopes::ALL,
            organization_id: None,
        },
    )
    .await
    .unwrap();
    let now = Utc::now();
    let pat = find_pat_by_prefix(db, "tnty_agent").await.unwrap().unwrap();
    assert!(
        record_pat_use(db, &pat, now).await.unwrap(),
        "first use writes"
    );
    let pat = find_pat_by_prefix(db, "tnty_agent").await.unwrap().unwrap();
    assert!(pat.last_used_at.is_some());
    assert!(
        !record_pat_use(db, &pat, now + chrono::Duration::seconds(30))
            .await
            .unwrap()
    );
    assert!(
        record_pat_use(db, &pat, now + chrono::Duration::seconds(90))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn organization_resolution_prefers_the_live_session_then_the_oldest_membership() {
    let test = seeded().await;
    let db = &test.db;
    // Alice: member of Acme (oldest) and Globex.
    assert_eq!(
        resolve_organization_id(db, user(demo::ALICE))
            .await
            .unwrap(),
        Some(org(demo::ACME))
    );
    let owner = test.owner().await;
    let add_session = async |active: Uuid, expires: &str, token: &str| {
        owner
            .execute(
                &format!(
                    "insert into session (user_id, token, expires_at, active_organization_id, updated_at)
                     values ($1, $2, now() + interval '{expires}', $3, clock_timestamp())"
                ),
                &[&demo::ALICE, &token, &active],
            )
            .await
            .unwrap();
    };
    add_session(demo::GLOBEX, "1 hour", "s1").await;
    assert_eq!(
        resolve_organization_id(db, user(demo::ALICE))
            .await
            .unwrap(),
        Some(org(demo::GLOBEX))
    );
    // An expired session does not count.
    add_session(demo::ACME, "-1 hour", "s2").await;
    assert_eq!(
        resolve_organization_id(db, user(demo::ALICE))
            .await
            .unwrap(),
        Some(org(demo::GLOBEX))
    );
    // The latest live session points at an organization she is not in: default.
    add_session(demo::INITECH, "1 hour", "s3").await;
    assert_eq!(
        resolve_organization_id(db, user(demo::ALICE))
            .await
            .unwrap(),
        Some(org(demo::ACME))
    );
    // A user with no membership resolves to none.
    assert_eq!(
        resolve_organization_id(db, user(Uuid::new_v4()))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn memberships_are_checked_before_a_tenant_is_handed_out() {
    let test = seeded().await;
    let db = &test.db;
    let bob = user(demo::BOB);
    let own = find_membership(db, bob, org(demo::GLOBEX))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(own.role(), tenantry_db::MemberRole::Owner);
    assert_eq!(own.tenant().organization_id(), org(demo::GLOBEX));
    assert_eq!(own.tenant().user_id(), Some(bob));
    assert!(
        find_membership(db, bob, org(demo::ACME))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        resolve_tenant(db, bob, Some(org(demo::ACME)))
            .await
            .unwrap()
            .is_none()
    );
    let resolved = resolve_tenant(db, bob, None).await.unwrap().unwrap();
    assert_eq!(resolved.organization_id(), org(demo::GLOBEX));
    let orgs = list_user_organizations(db, user(demo::ALICE))
        .await
        .unwrap();
    let slugs: Vec<&str> = orgs.iter().map(|o| o.slug.as_str()).collect();
    assert_eq!(slugs, ["acme", "globex"]);
}

#[tokio::test]
async fn the_health_check_answers_quickly_and_fails_fast_when_down() {
    let test = TestDb::new().await;
    let latency = check_database(&test.db).await.unwrap();
    assert!(latency < Duration::from_secs(2));

    // Nothing listens on this port: an error, not a hang.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("postgresql://nobody:x@127.0.0.1:{port}/none");
    let down = Database::connect(DatabaseConfig::new(&url, &url)).unwrap();
    let started = Instant::now();
    assert!(check_database(&down).await.is_err());
    assert!(started.elapsed() <= tenantry_db::HEALTH_CHECK_TIMEOUT + Duration::from_secs(1));
}

#[tokio::test]
async fn migrations_and_seeds_need_the_owner() {
    let test = TestDb::new().await;
    let config = DatabaseConfig {
        owner_url: None,
        ..test.db.config().clone()
    };
    let db = Database::connect(config).unwrap();
    assert!(matches!(
        migrate(&db).await,
        Err(DbError::OwnerNotConfigured)
    ));
    assert!(matches!(
        tenantry_db::seed(&db).await,
        Err(DbError::OwnerNotConfigured)
    ));
}

#[tokio::test]
async fn changing_a_password_ends_that_users_reset_links_and_nothing_else() {
    use tenantry_db::users::{
        PASSWORD_RESET_PREFIX, change_password, consume_verification, create_verification,
        find_credentials,
    };
    let test = seeded().await;
    let db = &test.db;
    let later = Utc::now() + chrono::Duration::hours(1);
    let (alice, bob) = (demo::ALICE.to_string(), demo::BOB.to_string());
    let reset = |token: &str| format!("{PASSWORD_RESET_PREFIX}{token}");
    for (identifier, value) in [
        (reset("alice1"), &alice),
        (reset("alice2"), &alice),
        ("verify-email:alice3".to_owned(), &alice),
        (reset("bob1"), &bob),
    ] {
        create_verification(db, &identifier, value, later)
            .await
            .unwrap();
    }
    change_password(db, user(demo::ALICE), "new-hash")
        .await
        .unwrap();
    let (_, stored) = find_credentials(db, "alice@example.com")
        .await
        .unwrap()
        .expect("alice signs in with a password");
    assert_eq!(stored, "new-hash");
    for gone in [reset("alice1"), reset("alice2")] {
        assert_eq!(
            consume_verification(db, &gone).await.unwrap(),
            None,
            "{gone}"
        );
    }
    assert_eq!(
        consume_verification(db, "verify-email:alice3")
            .await
            .unwrap(),
        Some(alice),
        "a verification link is not a reset link"
    );
    assert_eq!(
        consume_verification(db, &reset("bob1")).await.unwrap(),
        Some(bob),
        "another user's reset link"
    );
}

fn pat_name(name: &str) -> BoundedName {
    BoundedName::parse("name", name, MAX_PAT_NAME_CHARS).expect("a valid token name")
}
