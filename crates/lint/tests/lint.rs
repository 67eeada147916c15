//! `tenantry audit`: our own schema audits clean, and a database with one
//! planted violation per lint reports exactly those, nothing else.
//!
//! The planted objects are created through the owner connection (the bare
//! client's `Migration` reason) in the test's own database; the roles the
//! `app_role_*` lints need are cluster-wide, so they carry a suffix unique to
//! the test database and are dropped at the end.

use std::collections::BTreeSet;

use tenantry_db::{Database, DatabaseConfig};
use tenantry_lint::{self as lint, Finding, LINTS, Level, LintConfig};
use tenantry_testkit::TestDb;

const PINNED: &str = "organization_id = (select app.current_tenant())";

/// A tenant table with `key` (if any), RLS enabled and forced, and one
/// pinned policy for `authenticated`.
fn tenant_table(name: &str, key: Option<&str>) -> String {
    let key = key.map(|k| format!(", {k}")).unwrap_or_default();
    format!(
        "create table {name} (
           organization_id uuid not null references organization (id),
           id uuid not null default gen_random_uuid(){key}
         );
         alter table {name} enable row level security;
         alter table {name} force row level security;
         create policy {name}_tenant on {name} for all to authenticated
           using ({PINNED}) with check ({PINNED});"
    )
}

/// A tenant table that follows every invariant; plants start from it and
/// break one thing.
fn perfect(name: &str) -> String {
    tenant_table(name, Some("primary key (organization_id, id)"))
}

fn plants() -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let with_policy = |name: &str, policy: &str| {
        format!(
            "{} drop policy {name}_tenant on {name}; create policy {name}_tenant on {name} {policy};",
            perfect(name)
        )
    };
    vec![
        // Controls: nothing to report.
        (perfect("lint_ok"), vec![]),
        (
            "create view lint_models as select name from ai_model;
             create view lint_invoker_view with (security_invoker = true) as select id from project;
             create function public.lint_private_count() returns bigint language sql stable
               security definer set search_path = '' as $$ select count(*) from public.project $$;
             revoke execute on function public.lint_private_count() from public;"
                .into(),
            vec![],
        ),
        // Security.
        (
            // A tenant table outside the audited schemas is read by no
            // other lint, however it is shaped.
            "create schema lint_elsewhere;
             create table lint_elsewhere.ticket (organization_id uuid not null, id uuid not null);"
                .into(),
            vec![("table_outside_audited_schemas", "lint_elsewhere.ticket")],
        ),
        (
            // Marked as reference data, yet writable by tenants (the
            // default privileges grant every write) and pointing at an
            // organization.
            "create table lint_shared_files (id uuid primary key, org uuid references organization (id), body bytea);
             comment on table lint_shared_files is 'tenantry:reference-table: shared files';"
                .into(),
            vec![
                ("reference_table_not_read_only", "public.lint_shared_files"),
                (
                    "reference_table_not_read_only",
                    "lint_shared_files_org_fkey on public.lint_shared_files",
                ),
            ],
        ),
        (
            // The same, read-only and pointing at nothing: a reference table.
            "create table lint_shared_codes (id uuid primary key, code text not null);
             comment on table lint_shared_codes is 'tenantry:reference-table: codes every organization reads';
             revoke all on lint_shared_codes from public, authenticated;
             grant select on lint_shared_codes to authenticated;"
                .into(),
            vec![],
        ),
        (
            format!("{} alter table lint_rls_off disable row level security;", perfect("lint_rls_off")),
            vec![("rls_disabled", "public.lint_rls_off")],
        ),
        (
            format!("{} alter table lint_not_forced no force row level security;", perfect("lint_not_forced")),
            vec![("rls_not_forced", "public.lint_not_forced")],
        ),
        (
            format!("{} drop policy lint_no_policy_tenant on lint_no_policy;", perfect("lint_no_policy")),
            vec![("rls_enabled_without_policy", "public.lint_no_policy")],
        ),
        (
            format!(
                "{} alter policy lint_bare_policy_tenant on lint_bare_policy to tenantry_bare;",
                perfect("lint_bare_policy")
            ),
            vec![("no_authenticated_policy", "public.lint_bare_policy")],
        ),
        (
            with_policy("lint_no_check", &format!("for all to authenticated using ({PINNED})")),
            vec![("policy_missing_with_check", "lint_no_check_tenant on public.lint_no_check")],
        ),
        (
            with_policy("lint_open", "for all to authenticated using (true) with check (true)"),
            vec![("policy_not_pinned_to_tenant", "lint_open_tenant on public.lint_open")],
        ),
        (
            format!("{} alter policy lint_public_tenant on lint_public to public;", perfect("lint_public")),
            vec![("policy_to_public", "lint_public_tenant on public.lint_public")],
        ),
        (
            with_policy(
                "lint_null_escape",
                &format!(
                    "for all to authenticated
                     using ({PINNED} or (select app.current_tenant()) is null)
                     with check ({PINNED})"
                ),
            ),
            vec![("policy_fails_open", "lint_null_escape_tenant on public.lint_null_escape")],
        ),
        (
            with_policy(
                "lint_coalesce",
                &format!(
                    "for all to authenticated
                     using (organization_id = coalesce((select app.current_tenant()), organization_id))
                     with check ({PINNED})"
                ),
            ),
            vec![("policy_fails_open", "lint_coalesce_tenant on public.lint_coalesce")],
        ),
        (
            "create table lint_unlisted (id uuid primary key);".into(),
            vec![("unlisted_non_tenant_table", "public.lint_unlisted")],
        ),
        (
            // Declared non-tenant in the database itself, with its reason:
            // neither unlisted nor, referenced by a tenant table, a Citus
            // problem.
            format!(
                "create table lint_marked (id uuid primary key);
                 comment on table lint_marked is 'tenantry:reference-table: lint fixture, the same for every tenant';
                 revoke insert, update, delete, truncate on lint_marked from public, authenticated;
                 {} alter table lint_marked_ref add column lint_marked_id uuid references lint_marked (id);",
                perfect("lint_marked_ref")
            ),
            vec![],
        ),
        (
            // The marker exempts nothing on a table with organization_id.
            format!(
                "{} comment on table lint_marked_tenant is 'tenantry:reference-table: says so';
                 alter table lint_marked_tenant disable row level security;",
                perfect("lint_marked_tenant")
            ),
            vec![("rls_disabled", "public.lint_marked_tenant")],
        ),
        (
            "create table lint_marked_blank (id uuid primary key);
             comment on table lint_marked_blank is 'tenantry:reference-table:  ';"
                .into(),
            vec![("unlisted_non_tenant_table", "public.lint_marked_blank")],
        ),
        (
            // On the allow-list (see `config`), with a policy but RLS off.
            "create table lint_reference (id uuid primary key);
             create policy lint_reference_read on lint_reference for select to authenticated using (true);"
                .into(),
            vec![("policies_on_rls_disabled_table", "public.lint_reference")],
        ),
        (
            format!(
                "{} alter table lint_unique add column email text,
                   add constraint lint_unique_email_key unique (email);",
                perfect("lint_unique")
            ),
            vec![("unique_without_tenant", "lint_unique_email_key on public.lint_unique")],
        ),
        (
            format!(
                "{} alter table lint_unique_index add column code text;
                 create unique index lint_unique_index_code_idx on lint_unique_index (code);",
                perfect("lint_unique_index")
            ),
            vec![("unique_without_tenant", "lint_unique_index_code_idx on public.lint_unique_index")],
        ),
        (
            format!(
                "{} alter table lint_fk add column other_organization_id uuid, add column project_id uuid,
                   add constraint lint_fk_project_fkey foreign key (other_organization_id, project_id)
                   references project (organization_id, id);",
                perfect("lint_fk")
            ),
            vec![("foreign_key_without_tenant", "lint_fk_project_fkey on public.lint_fk")],
        ),
        (
            "create view lint_view as select id from project;
             create view lint_view_over_view as select id from lint_invoker_view;"
                .into(),
            vec![
                ("view_without_security_invoker", "public.lint_view"),
                ("view_without_security_invoker", "public.lint_view_over_view"),
            ],
        ),
        (
            "create function public.lint_count_projects() returns bigint language sql stable
               security definer set search_path = '' as $$ select count(*) from public.project $$;"
                .into(),
            vec![("security_definer_reads_tenant_table", "public.lint_count_projects()")],
        ),
        (
            "create function public.lint_no_search_path(n integer) returns integer
               language sql immutable as $$ select n $$;"
                .into(),
            vec![("function_without_search_path", "public.lint_no_search_path(n integer)")],
        ),
        (
            "grant select on verification to authenticated;
             grant select (id) on account to public;"
                .into(),
            vec![
                ("secrets_table_privilege", "public.verification"),
                ("secrets_table_privilege", "public.account"),
            ],
        ),
        // Performance.
        (
            with_policy(
                "lint_per_row",
                "for all to authenticated
                 using (organization_id = app.current_tenant())
                 with check (organization_id = app.current_tenant())",
            ),
            vec![("policy_per_row_tenant_call", "lint_per_row_tenant on public.lint_per_row")],
        ),
        (
            tenant_table("lint_no_index", Some("primary key (id, organization_id)")),
            vec![("no_tenant_leading_index", "public.lint_no_index")],
        ),
        (
            format!(
                "{} create policy lint_two_policies_read on lint_two_policies for select
                   to authenticated using ({PINNED});",
                perfect("lint_two_policies")
            ),
            vec![("multiple_permissive_policies", "public.lint_two_policies to authenticated")],
        ),
        // Citus.
        (
            format!(
                "{} create index on lint_no_pk (organization_id);",
                tenant_table("lint_no_pk", None)
            ),
            vec![("citus_primary_key_without_tenant", "public.lint_no_pk")],
        ),
        (
            // Both a security error and a scale-out warning, on the same key.
            format!(
                "{} create index on lint_pk_id (organization_id);",
                tenant_table("lint_pk_id", Some("primary key (id)"))
            ),
            vec![
                ("unique_without_tenant", "lint_pk_id_pkey on public.lint_pk_id"),
                ("citus_primary_key_without_tenant", "lint_pk_id_pkey on public.lint_pk_id"),
            ],
        ),
        (
            format!(
                "{} alter table lint_session_ref add column session_id uuid references session (id);",
                perfect("lint_session_ref")
            ),
            vec![(
                "citus_foreign_key_to_non_reference_table",
                "lint_session_ref_session_id_fkey on public.lint_session_ref",
            )],
        ),
    ]
}

fn config() -> LintConfig {
    let mut config = LintConfig::default();
    config.non_tenant_tables.push("lint_reference".into());
    config
}

type Reported = Vec<(String, String)>;

fn reported(findings: &[Finding]) -> Reported {
    let mut list: Reported = findings
        .iter()
        .map(|f| (f.lint.to_owned(), f.object.clone()))
        .collect();
    list.sort();
    list
}

fn expected(items: impl IntoIterator<Item = (String, String)>) -> Reported {
    let mut list: Reported = items.into_iter().collect();
    list.sort();
    list
}

async fn run(test: &TestDb, config: &LintConfig) -> Vec<Finding> {
    let owner = test.owner().await;
    lint::run_lints(&owner, config).await.expect("lints run")
}

#[tokio::test]
async fn the_migrated_and_seeded_schema_audits_clean() {
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.unwrap();
    let findings = lint::audit(&test.db, &LintConfig::default()).await.unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(!lint::has_errors(&findings));
    assert!(
        lint::check_safe_to_serve(&test.db, &LintConfig::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn every_planted_violation_is_found_and_nothing_else() {
    let test = TestDb::new().await;
    let owner = test.owner().await;
    let plants = plants();
    for (sql, _) in &plants {
        owner
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("planting failed: {e}\n{sql}"));
    }
    let schema_findings: Reported = expected(
        plants
            .iter()
            .flat_map(|(_, expected)| expected.iter())
            .map(|(lint, object)| (lint.to_string(), object.to_string())),
    );

    // The app_role_* lints need roles of their own: one per lint.
    let suffix = &test.name()[14..26];
    let role = |kind: &str| format!("lint_{kind}_{suffix}");
    let (superuser, bypass, owner_role, inherits) = (
        role("super"),
        role("bypass"),
        role("owner"),
        role("inherit"),
    );
    owner
        .batch_execute(&format!(
            "create role {superuser} login superuser;
             create role {bypass} login noinherit bypassrls;
             create role {owner_role} nologin noinherit;
             create role {inherits} login inherit;
             grant authenticated to {inherits};
             {}
             alter table lint_owned owner to {owner_role};",
            perfect("lint_owned")
        ))
        .await
        .unwrap();

    let mut runs = Vec::new();
    runs.push((
        "tenantry_app".to_owned(),
        run(&test, &config()).await,
        vec![],
    ));
    for (app_role, lint, object) in [
        (superuser.clone(), "app_role_superuser", superuser.clone()),
        (bypass.clone(), "app_role_bypassrls", bypass.clone()),
        (
            owner_role.clone(),
            "app_role_owns_tenant_table",
            "public.lint_owned".into(),
        ),
        (inherits.clone(), "app_role_inherits", inherits.clone()),
        (role("missing"), "app_role_missing", role("missing")),
    ] {
        let config = LintConfig {
            app_role: app_role.clone(),
            ..config()
        };
        let findings = run(&test, &config).await;
        runs.push((app_role, findings, vec![(lint.to_owned(), object)]));
    }

    // PostgreSQL's default for a new database, which `migrate` revokes.
    owner
        .batch_execute(&format!(
            "grant temporary on database \"{}\" to public",
            test.name()
        ))
        .await
        .unwrap();
    runs.push((
        "tenantry_app, with TEMP granted to PUBLIC".to_owned(),
        run(&test, &config()).await,
        vec![("temp_tables_allowed".to_owned(), test.name().to_owned())],
    ));

    // Clean up the cluster-wide roles before asserting.
    owner
        .batch_execute(&format!(
            "drop table lint_owned; drop role {superuser}, {bypass}, {owner_role}, {inherits};"
        ))
        .await
        .unwrap();

    let mut seen = BTreeSet::new();
    for (app_role, findings, extra) in &runs {
        let want = expected(schema_findings.iter().cloned().chain(extra.iter().cloned()));
        assert_eq!(reported(findings), want, "app role {app_role}");
        for finding in findings {
            seen.insert(finding.lint);
            let lint = LINTS.iter().find(|l| l.name == finding.lint).unwrap();
            assert_eq!(
                (finding.level, finding.category),
                (lint.level, lint.category)
            );
            assert!(!finding.message.is_empty());
        }
    }
    let unplanted: Vec<&str> = LINTS
        .iter()
        .map(|l| l.name)
        .filter(|name| !seen.contains(name))
        .collect();
    assert!(unplanted.is_empty(), "no plant for {unplanted:?}");
}

/// The fixes the findings suggest are SQL that runs and makes the finding go
/// away. (The ones without a single-statement fix are left out.)
#[tokio::test]
async fn the_suggested_fixes_apply_cleanly() {
    let test = TestDb::new().await;
    let owner = test.owner().await;
    for (sql, _) in plants() {
        owner.batch_execute(&sql).await.unwrap();
    }
    let before = run(&test, &config()).await;
    let fixes: Vec<String> = before.iter().filter_map(|f| f.fix.clone()).collect();
    assert!(fixes.len() > 15, "{fixes:?}");
    for fix in &fixes {
        owner
            .batch_execute(fix)
            .await
            .unwrap_or_else(|e| panic!("fix failed: {e}\n{fix}"));
    }
    let after: Vec<&'static str> = run(&test, &config()).await.iter().map(|f| f.lint).collect();
    // What needs a decision rather than a statement.
    let left: BTreeSet<&str> = after.into_iter().collect();
    assert_eq!(
        left,
        BTreeSet::from([
            "citus_foreign_key_to_non_reference_table",
            "multiple_permissive_policies",
            "reference_table_not_read_only",
            "table_outside_audited_schemas",
            "unlisted_non_tenant_table",
        ])
    );
}

/// An application's non-tenant table declares itself in a table comment,
/// since the audit reads the catalog, not the application's code; the marker
/// counts only with a reason, and the error names the marker.
#[tokio::test]
async fn a_reference_table_marker_with_a_reason_declares_a_non_tenant_table() {
    let test = TestDb::new().await;
    test.owner()
        .await
        .batch_execute(&format!(
            "create table country (id uuid primary key, code text not null);
             comment on table country is 'tenantry:reference-table: ISO country codes, the same for every tenant';
             revoke insert, update, delete, truncate on country from public, authenticated;
             create table plan_tier (id uuid primary key);
             comment on table plan_tier is 'tenantry:reference-table:';
             create table ledger (id uuid primary key, amount numeric not null);
             {} alter table lint_address add column country_id uuid references country (id),
                                         add column plan_tier_id uuid references plan_tier (id);",
            perfect("lint_address")
        ))
        .await
        .unwrap();
    let findings = lint::audit(&test.db, &LintConfig::default()).await.unwrap();
    let found: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.lint, f.object.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("unlisted_non_tenant_table", "public.ledger"),
            ("unlisted_non_tenant_table", "public.plan_tier"),
            (
                "citus_foreign_key_to_non_reference_table",
                "lint_address_plan_tier_id_fkey on public.lint_address"
            ),
        ],
        "{findings:#?}"
    );
    let message = |object: &str| {
        findings
            .iter()
            .find(|f| f.object == object)
            .map(|f| f.message.clone())
            .unwrap()
    };
    assert!(
        message("public.ledger")
            .contains("comment on table public.ledger is 'tenantry:reference-table: <why it holds no tenant data>'"),
        "{findings:#?}"
    );
    assert!(
        message("public.plan_tier").contains("gives no reason"),
        "{findings:#?}"
    );
    // The marker holds whatever list the operator passes.
    let config = LintConfig {
        non_tenant_tables: vec![],
        reference_tables: vec![],
        ..LintConfig::default()
    };
    let findings = lint::audit(&test.db, &config).await.unwrap();
    assert!(
        !findings.iter().any(|f| f.object.contains("country")),
        "{findings:#?}"
    );
}

/// On a table Citus distributes, the bare tenant call is the form Citus
/// accepts, so the initPlan warning is not raised there. The test cluster
/// has no Citus: the snapshot is read from the database, then the table is
/// flagged as the catalog flags it from `pg_dist_partition`.
#[tokio::test]
async fn the_per_row_tenant_call_is_the_required_form_on_citus_distributed_tables() {
    let test = TestDb::new().await;
    let owner = test.owner().await;
    owner
        .batch_execute(&format!(
            "{} drop policy lint_citus_tenant on lint_citus;
             create policy lint_citus_tenant on lint_citus for all to authenticated
               using (organization_id = app.current_tenant())
               with check (organization_id = app.current_tenant());",
            perfect("lint_citus")
        ))
        .await
        .unwrap();
    let config = LintConfig::default();
    let mut snapshot = tenantry_db::catalog::read(&owner, &config.scope())
        .await
        .unwrap();
    let per_row = |snapshot: &lint::Snapshot| -> Vec<String> {
        lint::check(snapshot, &config)
            .into_iter()
            .map(|f| format!("{} {}", f.lint, f.object))
            .collect()
    };
    assert_eq!(
        per_row(&snapshot),
        ["policy_per_row_tenant_call lint_citus_tenant on public.lint_citus"]
    );
    let table = snapshot
        .tables
        .iter_mut()
        .find(|t| t.name == "lint_citus")
        .unwrap();
    assert!(!table.citus_distributed, "no Citus here");
    table.citus_distributed = true;
    assert_eq!(per_row(&snapshot), Vec::<String>::new());
}

#[tokio::test]
async fn the_server_refuses_a_database_whose_tenant_tables_are_not_forced() {
    let test = TestDb::new().await;
    let owner = test.owner().await;
    owner
        .batch_execute(
            "alter table project no force row level security;
             alter table member disable row level security;
             -- A warning does not stop the server.
             alter policy invitation_tenant_isolation on invitation
               using (organization_id = app.current_tenant());",
        )
        .await
        .unwrap();
    let problems: Vec<String> = serve_refusals(&test)
        .await
        .iter()
        .map(|f| format!("{} ({})", f.lint, f.object))
        .collect();
    assert_eq!(
        problems,
        [
            "rls_disabled (public.member)",
            "rls_not_forced (public.project)"
        ]
    );
    let all = lint::audit(&test.db, &LintConfig::default()).await.unwrap();
    assert!(
        all.iter()
            .any(|f| f.lint == "policy_per_row_tenant_call" && f.level == Level::Warning)
    );
}

#[tokio::test]
async fn the_server_checks_the_login_it_actually_uses() {
    let test = TestDb::new().await;
    let owner = test.owner().await;
    // Roles are cluster-wide: use a role of this test's own, not tenantry_app.
    let role = format!("bypass_{}", &test.name()[14..26]);
    owner
        .batch_execute(&format!(
            "create role {role} login noinherit bypassrls password 'pw'; grant authenticated to {role}"
        ))
        .await
        .unwrap();
    let url = tenantry_db::setup::url_with_login(test.owner_url(), &role, "pw").unwrap();
    let config = DatabaseConfig {
        app_url: url,
        ..test.db.config().clone()
    };
    let db = Database::connect(config).unwrap();
    // The configured app_role (tenantry_app) is not what the pool logs in as.
    let problems = lint::check_safe_to_serve(&db, &LintConfig::default())
        .await
        .unwrap();
    drop(db);
    owner.batch_execute(&format!("drop role {role}")).await.ok();
    let problems: Vec<(&str, &str)> = problems
        .iter()
        .map(|f| (f.lint, f.object.as_str()))
        .collect();
    assert_eq!(problems, [("app_role_bypassrls", role.as_str())]);
}

#[test]
fn docs_audit_md_describes_every_lint() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/audit.md"))
        .expect("docs/audit.md");
    let missing: Vec<&str> = LINTS
        .iter()
        .map(|l| l.name)
        .filter(|name| !doc.contains(&format!("### `{name}`")))
        .collect();
    assert!(missing.is_empty(), "docs/audit.md lacks {missing:?}");
}

#[tokio::test]
async fn the_server_refuses_a_database_where_tenant_work_can_create_temporary_tables() {
    let test = TestDb::new().await;
    let safe = serve_refusals(&test).await;
    assert!(safe.is_empty(), "{safe:#?}");
    test.owner()
        .await
        .batch_execute(&format!(
            "grant temporary on database \"{}\" to public",
            test.name()
        ))
        .await
        .unwrap();
    let problems: Vec<String> = serve_refusals(&test)
        .await
        .iter()
        .map(|f| format!("{} ({}): {}", f.lint, f.object, f.message))
        .collect();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with(&format!("temp_tables_allowed ({})", test.name()))
            && problems[0].contains("authenticated, tenantry_app, tenantry_bare may"),
        "{problems:#?}"
    );
}

/// What the start-up check finds, which makes `serve` refuse to start.
async fn serve_refusals(test: &TestDb) -> Vec<Finding> {
    lint::check_safe_to_serve(&test.db, &LintConfig::default())
        .await
        .unwrap()
}

/// The allow-lists name tenantry's tables, which live in `public`: a table
/// of the same name in an application's own schema is not exempt.
#[tokio::test]
async fn a_listed_name_in_another_schema_is_not_tenantrys_table() {
    let test = TestDb::new().await;
    test.owner()
        .await
        .batch_execute(
            "create schema crm;
             create table crm.organization (id uuid primary key, name text not null);",
        )
        .await
        .unwrap();
    let mut config = LintConfig::default();
    config.schemas.push("crm".into());
    let findings = lint::audit(&test.db, &config).await.unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f.lint == "unlisted_non_tenant_table" && f.object == "crm.organization"),
        "{findings:#?}"
    );
    // Named by its qualified name, it is listed.
    config.non_tenant_tables.push("crm.organization".into());
    let findings = lint::audit(&test.db, &config).await.unwrap();
    assert!(
        !findings.iter().any(|f| f.object == "crm.organization"),
        "{findings:#?}"
    );
}
