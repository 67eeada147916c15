//! Creating an organization writes the organization, its owner's membership
//! and the audit entry in one transaction: however the work is interrupted
//! between those statements, no organization is left without an owner.
//!
//! Another session holds `member` in EXCLUSIVE mode, so the creation blocks
//! after writing the organization, at the owner's membership; the creation
//! is then interrupted, the lock released, and the organizations counted.

use std::time::Duration;

use tenantry_db::organizations::create_organization;
use tenantry_db::users::create_user_with_password;
use tenantry_db::{DbError, UserId};
use tenantry_testkit::TestDb;
use tokio_postgres::Client;

async fn a_user(test: &TestDb) -> UserId {
    create_user_with_password(
        &test.db,
        &name("Olga"),
        "olga@example.com",
        "not-a-real-hash",
    )
    .await
    .unwrap()
    .id
}

/// Hold `member` in EXCLUSIVE mode (inserts wait, reads do not) until the
/// returned session commits.
async fn lock_member(test: &TestDb) -> Client {
    let locker = test.owner().await;
    locker
        .batch_execute("begin; lock table member in exclusive mode")
        .await
        .unwrap();
    locker
}

/// The backend of the creation once it waits for the lock on `member`.
async fn blocked_creation(observer: &Client) -> i32 {
    for _ in 0..500 {
        let row = observer
            .query_opt(
                "select pid from pg_stat_activity
                  where datname = current_database() and wait_event_type = 'Lock'
                    and query like 'insert into member%'",
                &[],
            )
            .await
            .unwrap();
        if let Some(row) = row {
            return row.get(0);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the creation never blocked on the member lock");
}

/// A creation of `slug` by a new user, started while another session holds
/// `member` locked, once it has written the organization and waits for the
/// lock: the task, the backend's pid, an observer and the lock's session.
async fn blocked_creation_of(
    test: &TestDb,
    slug: &'static str,
) -> (
    tokio::task::JoinHandle<Result<tenantry_db::organizations::Organization, DbError>>,
    i32,
    Client,
    Client,
) {
    let creator = a_user(test).await;
    let observer = test.owner().await;
    let locker = lock_member(test).await;
    let db = test.db.clone();
    let creation = tokio::spawn(async move {
        create_organization(&db, creator, &name(slug), slug, None, None).await
    });
    let pid = blocked_creation(&observer).await;
    (creation, pid, observer, locker)
}

async fn ownerless_organizations(observer: &Client) -> Vec<String> {
    observer
        .query(
            "select slug from organization o
              where not exists (select 1 from member m
                                 where m.organization_id = o.id and m.role = 'owner')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test]
async fn a_creation_dropped_after_the_organization_row_leaves_no_ownerless_organization() {
    let test = TestDb::new().await;
    let (creation, _, observer, locker) = blocked_creation_of(&test, "dropped").await;
    // What a client hanging up or a request timeout does to the handler.
    creation.abort();
    assert!(creation.await.unwrap_err().is_cancelled());
    locker.batch_execute("commit").await.unwrap();

    // The interrupted connection is closed, not pooled; give the server a
    // moment to see the socket go and roll back.
    for _ in 0..200 {
        let open: i64 = observer
            .query_one(
                "select count(*) from pg_stat_activity
                  where datname = current_database() and query like 'insert into member%'
                    and state <> 'idle'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        ownerless_organizations(&observer).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_creation_whose_backend_is_terminated_leaves_no_ownerless_organization() {
    let test = TestDb::new().await;
    let (creation, pid, observer, locker) = blocked_creation_of(&test, "killed").await;
    observer
        .execute("select pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    locker.batch_execute("commit").await.unwrap();
    let error: DbError = tokio::time::timeout(Duration::from_secs(10), creation)
        .await
        .expect("the creation returns once its backend is gone")
        .unwrap()
        .unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");

    assert_eq!(
        ownerless_organizations(&observer).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_created_organization_has_its_owner_and_its_audit_entry() {
    let test = TestDb::new().await;
    let creator = a_user(&test).await;
    let organization = create_organization(&test.db, creator, &name("Acme"), "acme", None, None)
        .await
        .unwrap();
    let observer = test.owner().await;
    let row = observer
        .query_one(
            "select (select user_id from member where organization_id = $1 and role = 'owner'),
                    (select count(*) from audit_log
                      where organization_id = $1 and action = 'organization.create'
                        and actor_user_id = (select user_id from member where organization_id = $1))",
            &[&organization.id.as_uuid()],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<uuid::Uuid>>(0), Some(creator.as_uuid()));
    assert_eq!(row.get::<_, i64>(1), 1);

    // A taken slug is still a conflict on organization_slug_key, and leaves nothing behind.
    let taken = create_organization(&test.db, creator, &name("Other"), "acme", None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&taken, DbError::Conflict { constraint } if constraint == "organization_slug_key"),
        "{taken:?}"
    );
    let count: i64 = observer
        .query_one("select count(*) from organization", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
    assert_eq!(
        ownerless_organizations(&observer).await,
        Vec::<String>::new()
    );
}

fn name(text: &str) -> tenantry_domain::BoundedName {
    tenantry_domain::BoundedName::parse("name", text, 200).expect("a valid name")
}
