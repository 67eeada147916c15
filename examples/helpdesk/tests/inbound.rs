//! The one cross-tenant piece of the help desk: finding a ticket's
//! organization from a mailed reply, through the named bypass, reading only
//! what migration 0003 grants.

mod common;

use helpdesk::inbound::organization_of_ticket;
use helpdesk::tickets::TicketId;

#[tokio::test]
async fn a_tickets_organization_is_found_across_tenants_and_nothing_else_is_readable() {
    let test = common::database().await;
    let owner = test.owner().await;
    let globex = tenantry_testkit::TestDb::insert_organization(&owner, "globex").await;
    let ticket: uuid::Uuid = owner
        .query_one(
            "insert into ticket (organization_id, subject, body) values ($1, 'Reply', 'hi') returning id",
            &[&globex],
        )
        .await
        .unwrap()
        .get(0);

    let found = organization_of_ticket(&test.db, TicketId(ticket))
        .await
        .unwrap();
    assert_eq!(found.map(|o| o.as_uuid()), Some(globex));
    let unknown = organization_of_ticket(&test.db, TicketId(uuid::Uuid::new_v4()))
        .await
        .unwrap();
    assert_eq!(unknown, None);

    // Its role reads those two columns and nothing else of a ticket.
    let subject: bool = owner
        .query_one(
            "select has_column_privilege('tenantry_cross_tenant', 'ticket', 'subject', 'SELECT')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!subject, "the cross-tenant role may read ticket subjects");
    let comments: bool = owner
        .query_one(
            "select has_table_privilege('tenantry_cross_tenant', 'ticket_comment', 'SELECT')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!comments, "the cross-tenant role may read comments");
}
