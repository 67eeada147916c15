//! A fresh database per test cloned from a template that also holds an
//! application's migrations: the application's tables are there, each clone
//! is its own database, and a different set of migrations is a different
//! template.

use tenantry_testkit::isolation::TenantTable;
use tenantry_testkit::{AppMigrations, Migration, OrganizationId, TestDb, as_authenticated_tenant};

const WIDGET: &str = "
create table widget (
  organization_id uuid not null references organization (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  label text not null,
  primary key (organization_id, id),
  constraint widget_organization_id_label_key unique (organization_id, label)
);
alter table widget enable row level security;
alter table widget force row level security;
create policy widget_tenant_isolation on widget for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));
grant select, insert, update, delete on widget to authenticated;
";

const MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_widget.sql", WIDGET)];

fn app() -> AppMigrations {
    AppMigrations::embedded(MIGRATIONS).expect("numbered migrations")
}

async fn widgets(test: &TestDb) -> i64 {
    test.owner()
        .await
        .query_one("select count(*) from widget", &[])
        .await
        .expect("the application's table is in the clone")
        .get(0)
}

#[tokio::test]
async fn clones_hold_the_applications_tables_and_not_each_others_rows() {
    let first = TestDb::with_app_migrations(&app()).await;
    let second = TestDb::builder()
        .app_migrations(&app())
        .config(|c| c.app_pool_size = 2)
        .build()
        .await;
    assert_eq!(first.template(), second.template());
    assert_eq!(second.db.config().app_pool_size, 2);

    let owner = first.owner().await;
    let org = TestDb::insert_organization(&owner, "widgets").await;
    owner
        .execute(
            "insert into widget (organization_id, label) values ($1, 'first only')",
            &[&org],
        )
        .await
        .unwrap();
    assert_eq!(widgets(&first).await, 1);
    assert_eq!(widgets(&second).await, 0, "the clones share no rows");

    let recorded: Vec<String> = owner
        .query("select name from tenantry_app_migration", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(recorded, ["0001_widget.sql"]);

    // The application's table under the public helpers, as `authenticated`.
    let mut app_login = first.app_login().await;
    let seen: i64 =
        as_authenticated_tenant(&mut app_login, OrganizationId::from_uuid(org), async |tx| {
            tx.query_one("select count(*) from widget", &[])
                .await
                .unwrap()
                .get(0)
        })
        .await;
    assert_eq!(seen, 1);
    TenantTable::new("widget")
        .insert("insert into widget (organization_id, label) values ($1, $2)")
        .unique_column("label")
        .assert_isolated(&first)
        .await;
}

#[tokio::test]
async fn the_template_name_carries_a_hash_of_each_set_of_migrations() {
    let plain = TestDb::new().await;
    let with_app = TestDb::with_app_migrations(&app()).await;
    let edited = AppMigrations::new(vec![Migration::new(
        1,
        "0001_widget.sql",
        "create table widget (organization_id uuid not null, id uuid not null, primary key (organization_id, id));",
    )])
    .unwrap();
    let with_edited = TestDb::with_app_migrations(&edited).await;

    assert!(
        with_app.template().starts_with(plain.template()),
        "{} extends {}",
        with_app.template(),
        plain.template()
    );
    assert_ne!(with_app.template(), plain.template());
    assert_ne!(
        with_app.template(),
        with_edited.template(),
        "an edit builds a new template"
    );
    assert!(
        with_app.template().len() + "_building".len() <= 63,
        "within PostgreSQL's limit"
    );
    // No application migrations is tenantry's template.
    let none = TestDb::with_app_migrations(&AppMigrations::none()).await;
    assert_eq!(none.template(), plain.template());

    let error = plain
        .owner()
        .await
        .query_one("select count(*) from widget", &[])
        .await
        .expect_err("tenantry's template has no application table");
    assert_eq!(
        error.code(),
        Some(&tenantry_testkit::tokio_postgres::error::SqlState::UNDEFINED_TABLE)
    );
}

#[tokio::test]
#[should_panic(expected = "0001_broken.sql")]
async fn a_failing_application_migration_fails_the_test_naming_its_file() {
    let broken = AppMigrations::new(vec![Migration::new(
        1,
        "0001_broken.sql",
        "create table half (id int); select no_such_function();",
    )])
    .unwrap();
    TestDb::with_app_migrations(&broken).await;
}
