//! An application's cross-tenant connection crosses tenants on what its
//! migrations grant, and reaches nothing of tenantry's own: not the users,
//! sessions, credentials or tokens the bare login works with.

use tenantry_db::DbError;
use tenantry_db::cross_tenant::{self, CrossTenant};
use tenantry_db::prelude::*;
use tenantry_testkit::TestDb;

const REPORT: CrossTenant = CrossTenant::new(
    "nightly_report",
    "an operator's totals over every organization",
);

#[tokio::test]
async fn it_reads_across_tenants_what_was_granted_and_nothing_of_tenantrys() {
    // One bare connection, so the check below borrows the same one.
    let test = TestDb::with_config(|config| config.bare_pool_size = 1).await;
    let owner = test.owner().await;
    owner
        .batch_execute(
            "create table report_row (organization_id uuid not null, id int not null, primary key (organization_id, id));
             alter table report_row enable row level security;
             alter table report_row force row level security;
             grant select on report_row to tenantry_cross_tenant;",
        )
        .await
        .unwrap();
    for slug in ["acme", "globex"] {
        let org = TestDb::insert_organization(&owner, slug).await;
        owner
            .execute("insert into report_row values ($1, 1)", &[&org])
            .await
            .unwrap();
    }

    let client = cross_tenant::connect(&test.db, &REPORT).await.unwrap();
    let rows: i64 = client
        .query_one("select count(*) from report_row", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 2, "RLS is bypassed for what was granted");
    let role: String = client
        .query_one("select current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, cross_tenant::CROSS_TENANT_ROLE);

    for table in [
        "account",
        "session",
        "personal_access_token",
        "\"user\"",
        "member",
        "project",
    ] {
        let refused = client
            .query_one(&format!("select count(*) from {table}"), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, DbError::Postgres(e) if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)),
            "{table}: {refused}"
        );
    }
    // The role lasts one statement: the next borrower of the pooled
    // connection (here tenantry's own health check) is the login again.
    drop(client);
    let bare = tenantry_db::testing::client::bare(
        &test.db,
        tenantry_db::testing::client::BypassReason::HealthCheck,
    )
    .await
    .unwrap();
    let user: String = bare
        .connection()
        .query_one("select current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(user, tenantry_db::setup::BARE_ROLE);
}
