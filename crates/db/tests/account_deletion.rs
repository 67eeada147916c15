//! An account deletion and an owner leaving the same organization at the
//! same moment must not leave it with members and no owner.
//!
//! The leave runs in a tenant transaction held open after the member is
//! removed; the deletion starts meanwhile. Both lock the organization row
//! before counting owners (and the leave's audit entry holds a key-share
//! lock on it too), so the deletion waits for the leave, then counts one
//! owner (the user being deleted) beside another member, and refuses.

use std::time::Duration;

use tenantry_db::organizations::{create_organization, remove_member};
use tenantry_db::users::create_user_with_password;
use tenantry_db::{
    DbError, MemberId, OrganizationId, Tenant, UserId, organizations, with_tenant_context,
};
use tenantry_testkit::TestDb;
use uuid::Uuid;

async fn a_user(test: &TestDb, name: &str) -> UserId {
    let display = tenantry_domain::BoundedName::parse("name", name, 200).unwrap();
    create_user_with_password(
        &test.db,
        &display,
        &format!("{}@example.com", name.to_lowercase()),
        "not-a-real-hash",
    )
    .await
    .unwrap()
    .id
}

async fn add_member(test: &TestDb, org: OrganizationId, user: UserId, role: &str) -> Uuid {
    test.owner()
        .await
        .query_one(
            "insert into member (organization_id, user_id, role) values ($1, $2, $3::text) returning id",
            &[&org.as_uuid(), &user.as_uuid(), &role],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn an_owner_leaving_during_an_account_deletion_is_counted() {
    let test = TestDb::new().await;
    let (ada, bo, cy) = (
        a_user(&test, "Ada").await,
        a_user(&test, "Bo").await,
        a_user(&test, "Cy").await,
    );
    let name = tenantry_domain::BoundedName::parse("name", "Ada Co", 200).unwrap();
    let org = create_organization(&test.db, ada, &name, "ada-co", None, None)
        .await
        .unwrap()
        .id;
    let bo_member = add_member(&test, org, bo, "owner").await;
    add_member(&test, org, cy, "member").await;

    let (removed_tx, removed) = tokio::sync::oneshot::channel();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let db = test.db.clone();
    let leave = tokio::spawn(async move {
        let tenant = Tenant::without_membership_check(org).acting_as(bo);
        with_tenant_context(&db, tenant, async |tx| {
            remove_member(tx, MemberId::from_uuid(bo_member)).await?;
            removed_tx.send(()).unwrap();
            released.await.unwrap();
            Ok::<_, DbError>(())
        })
        .await
    });
    removed.await.unwrap();
    let db = test.db.clone();
    let deletion = tokio::spawn(async move { organizations::delete_user_account(&db, ada).await });
    // Long enough for the deletion to reach its count if nothing holds it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    release.send(()).unwrap();
    leave.await.unwrap().unwrap();

    let refused = deletion.await.unwrap().unwrap_err();
    assert!(
        matches!(
            refused,
            DbError::Refused {
                code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
                ..
            }
        ),
        "{refused:?}"
    );
    let owners: i64 = test
        .owner()
        .await
        .query_one(
            "select count(*) from member where organization_id = $1 and role = 'owner'",
            &[&org.as_uuid()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(owners, 1, "the organization keeps an owner");
}
