//! `tenantry new` writes migrations that audit clean by construction: the
//! real binary generates a handful of tables into a directory, they are
//! applied as an application's migrations, and `tenantry audit`'s lints find
//! nothing; acting as `authenticated`, a tenant sees and writes only its own
//! rows. Bad input is refused with a message and writes nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tenantry_db::migrate::AppMigrations;
use tenantry_lint::{self as lint, LintConfig};
use tenantry_testkit::{TestDb, as_authenticated_tenant};

/// A fresh, empty directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("scaffold-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn tenantry_new(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .arg("new")
        .args(args)
        .arg("--migrations")
        .arg(dir)
        .env_remove("TENANTRY_MIGRATIONS_DIR")
        // `new` touches no database; this makes sure of it.
        .env("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
        .output()
        .expect("tenantry runs")
}

/// Run `tenantry new ARGS`, expect success, return the path it printed.
fn generate(dir: &Path, args: &[&str]) -> PathBuf {
    let output = tenantry_new(dir, args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "tenantry new {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(stdout.trim())
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The help desk of the issue, and a table with every column type.
fn generate_help_desk(dir: &Path) {
    let paths = [
        generate(
            dir,
            &[
                "reference-table",
                "ticket_category",
                "--reason",
                "the categories every help desk offers; no tenant's own data",
                "--column",
                "name:text",
                "--column",
                "position:integer",
            ],
        ),
        generate(
            dir,
            &[
                "tenant-table",
                "ticket",
                "--column",
                "subject:text",
                "--column",
                "status:text",
                "--references",
                "ticket_category",
                "--column",
                "closed_at:timestamptz:null",
                "--unique",
                "subject",
            ],
        ),
        generate(
            dir,
            &[
                "tenant-table",
                "ticket_comment",
                "--column",
                "body:text",
                "--references",
                "ticket",
            ],
        ),
        generate(
            dir,
            &[
                "tenant-table",
                "ticket_mention",
                "--references",
                "ticket",
                "--references",
                "ticket_comment",
                "--column",
                "handle:text",
                "--unique",
                "ticket_comment_id,handle",
            ],
        ),
        generate(
            dir,
            &[
                "tenant-table",
                "everything",
                "--column",
                "a_text:text",
                "--column",
                "an_integer:integer",
                "--column",
                "a_bigint:bigint",
                "--column",
                "a_boolean:boolean",
                "--column",
                "a_numeric:numeric",
                "--column",
                "a_date:date",
                "--column",
                "a_timestamptz:timestamptz",
                "--column",
                "a_jsonb:jsonb",
                "--column",
                "a_uuid:uuid",
                "--column",
                "maybe:text:null",
                "--unique",
                "a_text",
                "--unique",
                "a_bigint,a_date",
            ],
        ),
    ];
    let names: Vec<PathBuf> = paths
        .iter()
        .map(|p| dir.join(p.file_name().unwrap()))
        .collect();
    assert_eq!(paths.to_vec(), names, "printed paths are in --migrations");
    assert_eq!(
        files(dir),
        [
            "0001_ticket_category.sql",
            "0002_ticket.sql",
            "0003_ticket_comment.sql",
            "0004_ticket_mention.sql",
            "0005_everything.sql",
        ]
    );
}

async fn apply(test: &TestDb, dir: &Path) {
    let migrations = AppMigrations::from_dir(dir).expect("the generated files are migrations");
    let report = tenantry_db::migrate_with(&test.db, &migrations)
        .await
        .expect("the generated migrations apply");
    assert_eq!(report.app_applied.len(), migrations.len());
}

#[tokio::test]
async fn generated_tables_audit_clean_and_isolate_tenants() {
    let dir = scratch("help-desk");
    generate_help_desk(&dir);
    let test = TestDb::new().await;
    apply(&test, &dir).await;

    // The whole database, not only the new tables: tenantry's own schema
    // audits clean too, so any finding here is the generator's.
    let findings = lint::audit(&test.db, &LintConfig::default()).await.unwrap();
    assert!(
        findings.is_empty(),
        "findings on generated tables:\n{}",
        findings
            .iter()
            .map(|f| format!("{f}\n  fix: {:?}", f.fix))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        lint::check_safe_to_serve(&test.db, &LintConfig::default())
            .await
            .unwrap()
            .is_empty()
    );

    // The owner seeds, then the work runs as `authenticated`.
    let owner = test.owner().await;
    let a = TestDb::insert_organization(&owner, "acme").await;
    let b = TestDb::insert_organization(&owner, "globex").await;
    let category: uuid::Uuid = owner
        .query_one(
            "insert into ticket_category (name, position) values ('hardware', 1) returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let ticket: uuid::Uuid = owner
        .query_one(
            "insert into ticket (organization_id, ticket_category_id, subject, status)
             values ($1, $2, 'printer on fire', 'open') returning id",
            &[&a, &category],
        )
        .await
        .unwrap()
        .get(0);
    let (a, b) = (a.to_string(), b.to_string());
    let mut app = test.app_login().await;

    let seen_by_a = as_authenticated_tenant(&mut app, Some(a.as_str()), async |tx| {
        let tickets: i64 = tx
            .query_one("select count(*) from ticket", &[])
            .await
            .unwrap()
            .get(0);
        // organization_id defaults to the current tenant.
        tx.execute(
            "insert into ticket (ticket_category_id, subject, status) values ($1, 'toner low', 'open')",
            &[&category],
        )
        .await
        .expect("a tenant inserts its own ticket");
        tx.execute(
            "insert into ticket_comment (ticket_id, body) values ($1, 'on it')",
            &[&ticket],
        )
        .await
        .expect("a tenant comments on its own ticket");
        let categories: i64 = tx
            .query_one("select count(*) from ticket_category", &[])
            .await
            .unwrap()
            .get(0);
        (tickets, categories)
    })
    .await;
    assert_eq!(seen_by_a, (1, 1));

    let (tickets, foreign_insert, foreign_reference, category_write) =
        as_authenticated_tenant(&mut app, Some(b.as_str()), async |tx| {
            let tickets: i64 = tx
                .query_one("select count(*) from ticket", &[])
                .await
                .unwrap()
                .get(0);
            tx.execute("savepoint s", &[]).await.unwrap();
            let foreign_insert = tx
                .execute(
                    "insert into ticket (organization_id, ticket_category_id, subject, status)
                     values ($1::text::uuid, $2, 'planted', 'open')",
                    &[&a, &category],
                )
                .await;
            tx.execute("rollback to savepoint s", &[]).await.unwrap();
            let foreign_reference = tx
                .execute(
                    "insert into ticket_comment (ticket_id, body) values ($1, 'peeking')",
                    &[&ticket],
                )
                .await;
            tx.execute("rollback to savepoint s", &[]).await.unwrap();
            let category_write = tx
                .execute(
                    "insert into ticket_category (name, position) values ('mine', 2)",
                    &[],
                )
                .await;
            (tickets, foreign_insert, foreign_reference, category_write)
        })
        .await;
    assert_eq!(tickets, 0, "another tenant's tickets are invisible");
    let state = |r: Result<u64, tokio_postgres::Error>| {
        r.expect_err("refused")
            .code()
            .map(|c| c.code().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(
        state(foreign_insert),
        "42501",
        "WITH CHECK refuses another tenant's row"
    );
    assert_eq!(
        state(foreign_reference),
        "23503",
        "another tenant's ticket is like a missing one"
    );
    assert_eq!(
        state(category_write),
        "42501",
        "reference data is read-only for tenants"
    );

    let nothing: i64 = as_authenticated_tenant(
        &mut app,
        tenantry_testkit::TenantContext::NoTenant,
        async |tx| {
            tx.query_one("select count(*) from ticket", &[])
                .await
                .unwrap()
                .get(0)
        },
    )
    .await;
    assert_eq!(nothing, 0, "no tenant, no rows");

    // The audit above can fail: break one part of the generated shape.
    owner
        .batch_execute("alter table ticket_comment no force row level security")
        .await
        .unwrap();
    let findings = lint::audit(&test.db, &LintConfig::default()).await.unwrap();
    let found: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.lint, f.object.as_str()))
        .collect();
    assert_eq!(found, [("rls_not_forced", "public.ticket_comment")]);
}

/// The Citus form needs Citus; on plain PostgreSQL, with a stand-in for
/// `create_distributed_table`, it applies, isolates, and differs from the
/// single-PostgreSQL form only by the per-row tenant call the audit warns
/// about there.
#[tokio::test]
async fn the_citus_form_differs_only_in_its_per_row_tenant_call() {
    let dir = scratch("citus");
    generate(
        &dir,
        &[
            "reference-table",
            "ticket_category",
            "--engine",
            "citus",
            "--reason",
            "shared categories",
            "--column",
            "name:text",
        ],
    );
    generate(
        &dir,
        &[
            "tenant-table",
            "ticket",
            "--engine",
            "citus",
            "--column",
            "subject:text",
        ],
    );
    generate(
        &dir,
        &[
            "tenant-table",
            "ticket_comment",
            "--engine",
            "citus",
            "--references",
            "ticket",
            "--column",
            "body:text",
        ],
    );
    let test = TestDb::new().await;
    let owner = test.owner().await;
    // Stand-ins for Citus's functions, as the migration calls them, gone
    // again before the audit.
    owner
        .batch_execute(
            "create function public.create_distributed_table(table_name regclass, distribution_column text, colocate_with text)
               returns void language sql set search_path = '' as $$ select $$;
             create function public.create_reference_table(table_name regclass)
               returns void language sql set search_path = '' as $$ select $$;",
        )
        .await
        .unwrap();
    let migrations = AppMigrations::from_dir(&dir).unwrap();
    tenantry_db::migrate_with(&test.db, &migrations)
        .await
        .expect("the Citus form applies");
    owner
        .batch_execute(
            "drop function public.create_distributed_table(regclass, text, text);
             drop function public.create_reference_table(regclass);",
        )
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
            (
                "policy_per_row_tenant_call",
                "ticket_comment_tenant_isolation on public.ticket_comment"
            ),
            (
                "policy_per_row_tenant_call",
                "ticket_tenant_isolation on public.ticket"
            ),
        ],
        "{findings:#?}"
    );

    let a = TestDb::insert_organization(&owner, "acme")
        .await
        .to_string();
    let b = TestDb::insert_organization(&owner, "globex")
        .await
        .to_string();
    let mut app = test.app_login().await;
    let inserted = as_authenticated_tenant(&mut app, Some(a.as_str()), async |tx| {
        // No default on the distribution column: the insert names the tenant.
        tx.execute(
            "insert into ticket (organization_id, subject) values ($1::text::uuid, 'x')",
            &[&a],
        )
        .await
        .and(
            tx.query_one("select count(*) from ticket", &[])
                .await
                .map(|r| r.get::<_, i64>(0)),
        )
    })
    .await;
    assert_eq!(inserted.unwrap(), 1);
    let refused = as_authenticated_tenant(&mut app, Some(b.as_str()), async |tx| {
        tx.execute(
            "insert into ticket (organization_id, subject) values ($1::text::uuid, 'x')",
            &[&a],
        )
        .await
    })
    .await;
    assert!(refused.is_err(), "WITH CHECK holds in the Citus form too");
}

#[test]
fn refusals_exit_non_zero_name_the_problem_and_write_nothing() {
    let dir = scratch("refusals");
    let refused = |args: &[&str], needle: &str| {
        let before = files(&dir);
        let output = tenantry_new(&dir, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed a path");
        assert_eq!(files(&dir), before, "{args:?} wrote something");
    };
    refused(
        &["tenant-table", "Ticket"],
        "\"Ticket\" is not a lowercase SQL identifier",
    );
    refused(&["tenant-table", "project"], "one of tenantry's own tables");
    refused(&["tenant-table", "select"], "reserved word");
    refused(
        &["tenant-table", "ticket", "--column", "subject:varchar"],
        "unknown type \"varchar\"",
    );
    refused(
        &["tenant-table", "ticket", "--column", "subject"],
        "expected NAME:TYPE or NAME:TYPE:null",
    );
    refused(
        &["tenant-table", "ticket", "--column", "id:uuid"],
        "generated for every table",
    );
    refused(
        &["tenant-table", "ticket_comment", "--references", "Ticket;"],
        "not a lowercase SQL identifier",
    );
    refused(
        &["tenant-table", "ticket", "--engine", "mysql"],
        "invalid value 'mysql'",
    );
    refused(&["reference-table", "country"], "--reason");
    refused(
        &["reference-table", "country", "--reason", " "],
        "--reason is empty",
    );
    assert!(!dir.exists(), "a refused command created the directory");

    generate(
        &dir,
        &["tenant-table", "ticket", "--column", "subject:text"],
    );
    let written = std::fs::read_to_string(dir.join("0001_ticket.sql")).unwrap();
    refused(
        &["tenant-table", "ticket", "--column", "title:text"],
        "0001_ticket.sql already creates ticket",
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("0001_ticket.sql")).unwrap(),
        written,
        "the existing file is untouched"
    );
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let output = tenantry_new(&file, &["tenant-table", "ticket"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a directory"));
}
