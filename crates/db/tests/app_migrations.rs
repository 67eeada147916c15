//! An application's migrations: applied after tenantry's, once each,
//! recorded apart, with the same checksum rule.

use tenantry_db::DbError;
use tenantry_db::migrate::{AppMigrations, Migration, MigrationSet, migrate_with};
use tenantry_testkit::TestDb;

const TICKET: &str = "create table ticket_note (organization_id uuid not null, id uuid not null, primary key (organization_id, id));";

fn app(sql: &'static str) -> AppMigrations {
    AppMigrations::embedded(&[Migration::new(1, "0001_ticket_note.sql", sql)]).unwrap()
}

#[tokio::test]
async fn application_migrations_apply_once_and_are_recorded_apart() {
    let test = TestDb::new().await;
    let first = migrate_with(&test.db, &app(TICKET)).await.unwrap();
    assert!(first.applied.is_empty(), "the template had tenantry's");
    assert_eq!(first.app_applied, [1]);
    let again = migrate_with(&test.db, &app(TICKET)).await.unwrap();
    assert!(again.app_applied.is_empty());
    assert_eq!(again.app_already_applied, [1]);

    let owner = test.owner().await;
    let recorded: Vec<String> = owner
        .query(
            "select name from tenantry_app_migration order by version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(recorded, ["0001_ticket_note.sql"]);
    let in_tenantrys: i64 = owner
        .query_one(
            "select count(*) from tenantry_migration where name = '0001_ticket_note.sql'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(in_tenantrys, 0);
}

#[tokio::test]
async fn an_edited_application_migration_is_refused() {
    let test = TestDb::new().await;
    migrate_with(&test.db, &app(TICKET)).await.unwrap();
    let edited = app("create table ticket_note (id uuid primary key);");
    let error = migrate_with(&test.db, &edited).await.unwrap_err();
    assert!(
        matches!(
            error,
            DbError::MigrationEdited {
                set: MigrationSet::Application,
                version: 1,
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_failing_application_migration_names_its_file_and_leaves_nothing() {
    let test = TestDb::new().await;
    let broken = app("create table half_done (id int); select no_such_function();");
    let error = migrate_with(&test.db, &broken).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("0001_ticket_note.sql"), "{text}");
    assert!(text.contains("no_such_function"), "{text}");
    let left: Option<String> = test
        .owner()
        .await
        .query_one("select to_regclass('half_done')::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, None, "the failed migration's first statement stayed");
}
