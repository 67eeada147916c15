//! An application migration that breaks a tenancy invariant: `tenantry
//! migrate --migrations DIR` applies it (it is valid SQL), then `tenantry
//! audit` exits 1 and `tenantry serve --migrations DIR` refuses to start,
//! each naming the table and the lint, and serve the fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tenantry_testkit::TestDb;

/// The tenancy shape, right, except for what `break_it` changes.
fn ticket_table(name: &str, unique: &str, policy: &str, force: bool) -> String {
    let force = if force {
        format!("alter table {name} force row level security;")
    } else {
        String::new()
    };
    format!(
        "create table {name} (
           organization_id uuid not null references organization (id) on delete cascade,
           id uuid not null default gen_random_uuid(),
           subject text not null,
           primary key (organization_id, id),
           {unique}
         );
         alter table {name} enable row level security;
         {force}
         {policy}
         grant select, insert, update, delete on {name} to authenticated;"
    )
}

fn pinned_policy(name: &str) -> String {
    format!(
        "create policy {name}_tenant on {name} for all to authenticated
           using (organization_id = (select app.current_tenant()))
           with check (organization_id = (select app.current_tenant()));"
    )
}

/// The four breaks of the issue, each as one migration, and the lint that
/// must name it.
fn broken_migrations() -> Vec<(&'static str, String, &'static str)> {
    let tenant_unique = "unique (organization_id, subject)";
    vec![
        (
            "unforced",
            ticket_table("unforced", tenant_unique, &pinned_policy("unforced"), false),
            "rls_not_forced",
        ),
        (
            "global_unique",
            ticket_table(
                "global_unique",
                "unique (subject)",
                &pinned_policy("global_unique"),
                true,
            ),
            "unique_without_tenant",
        ),
        (
            "no_with_check",
            ticket_table(
                "no_with_check",
                tenant_unique,
                "create policy no_with_check_tenant on no_with_check for all to authenticated
                   using (organization_id = (select app.current_tenant()));",
                true,
            ),
            "policy_missing_with_check",
        ),
        (
            "untenanted_reference",
            format!(
                "{}
                 create table untenanted_reference (
                   organization_id uuid not null references organization (id) on delete cascade,
                   id uuid not null default gen_random_uuid(),
                   parent_id uuid not null references parent_ticket (id),
                   primary key (organization_id, id)
                 );
                 create index on untenanted_reference (organization_id, parent_id);
                 alter table untenanted_reference enable row level security;
                 alter table untenanted_reference force row level security;
                 {}
                 grant select, insert, update, delete on untenanted_reference to authenticated;",
                ticket_table(
                    "parent_ticket",
                    "unique (id)",
                    &pinned_policy("parent_ticket"),
                    true
                ),
                pinned_policy("untenanted_reference"),
            ),
            "foreign_key_without_tenant",
        ),
    ]
}

fn tenantry(test: &TestDb, args: &[&str]) -> Output {
    let config = test.db.config();
    Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args(args)
        .env("DATABASE_URL", config.owner_url.clone().unwrap())
        .env("TENANTRY_APP_DATABASE_URL", &config.app_url)
        .env("TENANTRY_BARE_DATABASE_URL", &config.bare_url)
        .env(
            "TENANTRY_AUTH_SECRET",
            "unsafe-migration-test-secret-32-chars",
        )
        .env_remove("TENANTRY_MIGRATIONS_DIR")
        .env_remove("RUST_LOG")
        .output()
        .expect("tenantry runs")
}

fn migrations_dir(case: &str, sql: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("unsafe-{case}-{}", std::process::id()))
        .join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("0001_{case}.sql")), sql).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn audit_fails_and_serve_refuses_naming_the_table_that_breaks_an_invariant() {
    for (table, sql, lint) in broken_migrations() {
        let test = TestDb::new().await;
        let dir = migrations_dir(table, &sql);
        let dir = dir.to_str().unwrap();

        let migrated = tenantry(&test, &["migrate", "--migrations", dir]);
        assert!(migrated.status.success(), "{}", text(&migrated.stderr));
        assert!(
            text(&migrated.stdout).contains("application migrations: 1 applied"),
            "{}",
            text(&migrated.stdout)
        );

        let audit = tenantry(&test, &["audit"]);
        let report = text(&audit.stdout);
        assert_eq!(audit.status.code(), Some(1), "{table}: {report}");
        let line = report
            .lines()
            .find(|line| line.contains(lint) && line.contains(&format!("public.{table}")))
            .unwrap_or_else(|| panic!("{table}: no {lint} naming public.{table} in\n{report}"));
        assert!(line.starts_with("ERROR"), "{line}");

        let bind = format!("127.0.0.1:{}", tenantry_testkit::free_port());
        let serve = tenantry(
            &test,
            &["serve", "--no-seed", "--bind", &bind, "--migrations", dir],
        );
        let refusal = text(&serve.stderr);
        assert!(!serve.status.success(), "{table}: serve started");
        assert!(
            refusal.contains("refusing to serve an unsafe database"),
            "{table}: {refusal}"
        );
        let named = refusal
            .lines()
            .position(|line| line.contains(lint) && line.contains(&format!("public.{table}")))
            .unwrap_or_else(|| panic!("{table}: serve did not name {lint} on it:\n{refusal}"));
        assert!(
            refusal
                .lines()
                .nth(named + 1)
                .is_some_and(|l| l.contains("fix:")),
            "{table}: no fix after the finding:\n{refusal}"
        );
    }
}

#[tokio::test]
async fn serve_applies_the_application_migrations_itself_before_it_checks() {
    let test = TestDb::new().await;
    let (table, sql, lint) = broken_migrations().swap_remove(0);
    let dir = migrations_dir("serve_first", &sql);
    let bind = format!("127.0.0.1:{}", tenantry_testkit::free_port());
    let serve = tenantry(
        &test,
        &[
            "serve",
            "--no-seed",
            "--bind",
            &bind,
            "--migrations",
            dir.to_str().unwrap(),
        ],
    );
    let refusal = text(&serve.stderr);
    assert!(!serve.status.success());
    assert!(
        refusal.contains(lint) && refusal.contains(&format!("public.{table}")),
        "{refusal}"
    );
    assert!(text(&serve.stdout).contains("application migrations: 1 applied"));
}

#[tokio::test]
async fn a_misnamed_migration_file_is_refused_before_anything_is_applied() {
    let test = TestDb::new().await;
    let dir = migrations_dir("misnamed", "select 1;");
    std::fs::write(dir.join("tickets.sql"), "create table tickets (id int);").unwrap();
    let migrated = tenantry(&test, &["migrate", "--migrations", dir.to_str().unwrap()]);
    assert!(!migrated.status.success());
    assert!(
        text(&migrated.stderr).contains("tickets.sql"),
        "{}",
        text(&migrated.stderr)
    );
}
