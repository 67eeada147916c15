//! The help desk's tables are isolated, checked with tenantry's ready-made
//! check (acting as `authenticated`, two organizations), and they audit
//! clean with tenantry's linter.

mod common;

use tenantry_testkit::isolation::TenantTable;

#[tokio::test]
async fn tickets_are_isolated_and_comments_cannot_reach_another_organizations_ticket() {
    let test = common::database().await;
    TenantTable::new("ticket")
        .insert("insert into ticket (organization_id, subject, body) values ($1, $2, 'It broke')")
        .references(
            "ticket_comment",
            "insert into ticket_comment (organization_id, ticket_id, body) values ($1, $2, 'Me too')",
        )
        .assert_isolated(&test)
        .await;
}

#[tokio::test]
async fn comments_are_isolated() {
    let test = common::database().await;
    TenantTable::new("ticket_comment")
        .fixture("insert into ticket (organization_id, subject, body) values ($1, $2, 'parent')")
        .insert(
            "insert into ticket_comment (organization_id, ticket_id, body)
             values ($1, (select id from ticket where organization_id = $1 limit 1), $2)",
        )
        .assert_isolated(&test)
        .await;
}

#[tokio::test]
async fn the_help_desks_tables_audit_clean() {
    let test = common::database().await;
    let findings = tenantry_lint::audit(&test.db, &tenantry_lint::LintConfig::default())
        .await
        .unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}
