//! `crates/db/schema.sql` is the schema as the migrations leave it: this test
//! migrates a fresh database, regenerates the file's text and fails when the
//! committed file differs, so a migration's effect is reviewed as a diff of
//! the schema and the file cannot fall behind.
//!
//! `UPDATE_SCHEMA=1 cargo test -p tenantry-db --test schema_drift` rewrites
//! the file instead of comparing.
//!
//! The text is `pg_dump --schema-only`, normalised so that it does not vary
//! between runs or machines (no `SET` lines, no version comments, no
//! per-object table-of-contents comments, no database name), followed by
//! what pg_dump leaves out: the roles the migrations create, with their
//! attributes, memberships and settings (never passwords), and the
//! database's own privileges.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tenantry_db::migrate::MIGRATIONS;
use tenantry_testkit::TestDb;
use tokio_postgres::Client;

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.sql");

/// Stands for the database's name, which differs for every test database.
const DATABASE_PLACEHOLDER: &str = "<database>";

#[tokio::test]
async fn the_committed_schema_is_what_the_migrations_build() {
    let test = TestDb::new().await;
    let generated = generate(&test).await;

    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(SCHEMA_FILE, &generated).expect("write schema.sql");
        eprintln!("rewrote {SCHEMA_FILE}");
        return;
    }

    let committed = std::fs::read_to_string(SCHEMA_FILE).unwrap_or_else(|e| {
        panic!(
            "cannot read {SCHEMA_FILE} ({e}); generate it with\n\
             \x20   UPDATE_SCHEMA=1 cargo test -p tenantry-db --test schema_drift"
        )
    });
    if committed != generated {
        let fresh = Path::new(env!("CARGO_TARGET_TMPDIR")).join("schema.generated.sql");
        std::fs::write(&fresh, &generated).expect("write the generated schema");
        panic!(
            "crates/db/schema.sql differs from the schema a freshly migrated database has.\n\
             If a migration changed the schema on purpose, regenerate the file and review the diff:\n\
             \x20   UPDATE_SCHEMA=1 cargo test -p tenantry-db --test schema_drift\n\
             Compare by hand: diff -u {SCHEMA_FILE} {}\n\n{}",
            fresh.display(),
            first_difference(&committed, &generated)
        );
    }
}

async fn generate(test: &TestDb) -> String {
    let owner = test.owner().await;
    let roles = roles_the_migrations_create();
    let (major, dump) = pg_dump(test.owner_url());

    let mut out = String::new();
    out.push_str(&header(&major));
    out.push('\n');
    out.push_str(&normalise(&dump, test.name()));
    out.push('\n');
    out.push_str(&roles_section(&owner, &roles).await);
    out.push('\n');
    out.push_str(&database_privileges(&owner).await);
    out
}

fn header(major: &str) -> String {
    format!(
        "\
-- tenantry's database schema as the migrations (crates/db/migrations) leave it.
-- GENERATED: do not edit. Change the schema with a new migration, then run
--   UPDATE_SCHEMA=1 cargo test -p tenantry-db --test schema_drift
-- to rewrite this file, and review its diff with the migration. Without
-- UPDATE_SCHEMA that test (crates/db/tests/schema_drift.rs) fails when this file
-- and a freshly migrated database differ.
--
-- Made with pg_dump --schema-only (PostgreSQL {major}) and normalised: no SET
-- lines, no version or per-object comments, no database name. pg_dump does not
-- dump roles; they follow at the end, from pg_roles and pg_auth_members,
-- without passwords. The owner is the role that ran the migrations.
"
    )
}

/// The bin directory the test cluster runs from holds the matching pg_dump.
fn pg_dump(owner_url: &str) -> (String, String) {
    let bin = tenantry_cluster::find_bin_dir().expect("PostgreSQL binaries");
    let pg_dump: PathBuf = bin.join("pg_dump");
    let version = Command::new(&pg_dump)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", pg_dump.display()));
    let version = String::from_utf8_lossy(&version.stdout);
    let major = version
        .split_whitespace()
        .last()
        .and_then(|v| v.split('.').next())
        .expect("pg_dump --version ends with the version")
        .to_owned();
    let output = Command::new(&pg_dump)
        .args(["--schema-only", "--no-password", "--dbname", owner_url])
        .output()
        .expect("run pg_dump");
    assert!(
        output.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        major,
        String::from_utf8(output.stdout).expect("pg_dump writes UTF-8"),
    )
}

/// pg_dump's text without what varies between runs, machines and versions of
/// the same major: session settings, version and table-of-contents comments,
/// `\restrict` keys (random per run) and the database's name.
fn normalise(dump: &str, database: &str) -> String {
    let mut out = String::new();
    let mut blank = true;
    for line in dump.lines() {
        let line = line.trim_end();
        let dropped = line.starts_with("SET ")
            || line.starts_with("SELECT pg_catalog.set_config('search_path'")
            || line.starts_with("\\restrict")
            || line.starts_with("\\unrestrict")
            || line == "--"
            || line.starts_with("-- Name: ")
            || line.starts_with("-- Dumped from database version")
            || line.starts_with("-- Dumped by pg_dump version")
            || line.starts_with("-- PostgreSQL database dump");
        if dropped {
            continue;
        }
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
            continue;
        }
        out.push_str(&line.replace(database, DATABASE_PLACEHOLDER));
        out.push('\n');
        blank = false;
    }
    out.trim_end().to_owned() + "\n"
}

/// Roles are cluster-wide and other tests create their own in the same
/// cluster, so the section lists exactly the roles the migrations' SQL
/// creates (`create role NAME`), and memberships among them.
fn roles_the_migrations_create() -> Vec<String> {
    let mut roles = Vec::new();
    for migration in MIGRATIONS {
        let sql = migration.sql.to_lowercase();
        for (at, _) in sql.match_indices("create role ") {
            let name: String = sql[at + "create role ".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !roles.contains(&name) {
                roles.push(name);
            }
        }
    }
    roles.sort();
    assert!(
        !roles.is_empty(),
        "the migrations create roles; the parser found none"
    );
    roles
}

async fn roles_section(owner: &Client, roles: &[String]) -> String {
    let mut out = String::from("-- Roles the migrations create (cluster-wide).\n\n");
    let rows = owner
        .query(
            "select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
                    rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil::text
               from pg_catalog.pg_roles
              where rolname = any($1)
              order by rolname",
            &[&roles],
        )
        .await
        .expect("read pg_roles");
    let found: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(found, roles, "every role the migrations create exists");
    for row in &rows {
        let flag = |index: usize, yes: &str| {
            let set: bool = row.get(index);
            if set {
                format!(" {yes}")
            } else {
                format!(" NO{yes}")
            }
        };
        let name: String = row.get(0);
        let mut line = format!("CREATE ROLE {name}");
        line += &flag(1, "SUPERUSER");
        line += &flag(2, "INHERIT");
        line += &flag(3, "CREATEROLE");
        line += &flag(4, "CREATEDB");
        line += &flag(5, "LOGIN");
        line += &flag(6, "REPLICATION");
        line += &flag(7, "BYPASSRLS");
        let limit: i32 = row.get(8);
        if limit != -1 {
            write!(line, " CONNECTION LIMIT {limit}").unwrap();
        }
        if let Some(until) = row.get::<_, Option<String>>(9) {
            write!(line, " VALID UNTIL '{until}'").unwrap();
        }
        out.push_str(&line);
        out.push_str(";\n");
    }

    let memberships = owner
        .query(
            "select r.rolname, m.rolname, a.admin_option
               from pg_catalog.pg_auth_members a
               join pg_catalog.pg_roles r on r.oid = a.roleid
               join pg_catalog.pg_roles m on m.oid = a.member
              where r.rolname = any($1) and m.rolname = any($1)
              order by 1, 2",
            &[&roles],
        )
        .await
        .expect("read pg_auth_members");
    if !memberships.is_empty() {
        out.push('\n');
    }
    for row in &memberships {
        let (role, member, admin): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
        let admin = if admin { " WITH ADMIN OPTION" } else { "" };
        writeln!(out, "GRANT {role} TO {member}{admin};").unwrap();
    }

    let settings = owner
        .query(
            "select r.rolname, s.setdatabase <> 0, c.setting
               from pg_catalog.pg_db_role_setting s
               join pg_catalog.pg_roles r on r.oid = s.setrole
               cross join lateral unnest(s.setconfig) as c(setting)
              where r.rolname = any($1)
                and s.setdatabase in (0, (select oid from pg_catalog.pg_database
                                           where datname = current_database()))
              order by 1, 2, 3",
            &[&roles],
        )
        .await
        .expect("read pg_db_role_setting");
    if !settings.is_empty() {
        out.push('\n');
    }
    for row in &settings {
        let (role, here, setting): (String, bool, String) = (row.get(0), row.get(1), row.get(2));
        let (name, value) = setting.split_once('=').unwrap_or((&setting, ""));
        let scope = if here {
            format!(" IN DATABASE {DATABASE_PLACEHOLDER}")
        } else {
            String::new()
        };
        writeln!(out, "ALTER ROLE {role}{scope} SET {name} = '{value}';").unwrap();
    }
    out
}

/// pg_dump writes a database's own privileges only with `--create`, which
/// would also name it.
async fn database_privileges(owner: &Client) -> String {
    let mut out = String::from("-- Privileges on the database itself, by grantee.\n\n");
    let rows = owner
        .query(
            "select case when a.grantee = 0 then 'PUBLIC' else pg_catalog.pg_get_userbyid(a.grantee) end,
                    string_agg(a.privilege_type, ', ' order by a.privilege_type)
               from pg_catalog.pg_database d,
                    aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) a
              where d.datname = current_database()
              group by 1
              order by 1",
            &[],
        )
        .await
        .expect("read the database's privileges");
    for row in &rows {
        let (grantee, privileges): (String, String) = (row.get(0), row.get(1));
        writeln!(out, "-- {grantee}: {privileges}").unwrap();
    }
    out
}

/// The first region where the two texts differ, with a little context, in
/// the form of a unified diff's hunk (`-` committed, `+` generated).
fn first_difference(committed: &str, generated: &str) -> String {
    const CONTEXT: usize = 3;
    const SHOWN: usize = 40;
    let old: Vec<&str> = committed.lines().collect();
    let new: Vec<&str> = generated.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let start = prefix.saturating_sub(CONTEXT);
    let mut out = format!("first difference at line {}:\n", prefix + 1);
    for line in &old[start..prefix] {
        writeln!(out, "  {line}").unwrap();
    }
    for line in old[prefix..old.len() - suffix].iter().take(SHOWN) {
        writeln!(out, "- {line}").unwrap();
    }
    for line in new[prefix..new.len() - suffix].iter().take(SHOWN) {
        writeln!(out, "+ {line}").unwrap();
    }
    let end = (new.len() - suffix + CONTEXT).min(new.len());
    for line in &new[new.len() - suffix..end] {
        writeln!(out, "  {line}").unwrap();
    }
    out
}
