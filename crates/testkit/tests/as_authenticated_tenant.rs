//! The seed's `asAuthenticatedTenant`: the work runs as `authenticated`
//! with the tenant set transaction-locally, and nothing of it, neither the
//! role, the tenant nor the rows written, outlives the call.

use tenantry_testkit::{OrganizationId, TenantContext, TestDb, as_authenticated_tenant};
use uuid::Uuid;

/// `current_user` and `app.tenant_id` as the statement sees them.
const WHO: &str = "select current_user::text, nullif(current_setting('app.tenant_id', true), '')";

#[tokio::test]
async fn the_work_runs_as_authenticated_in_its_tenant_and_leaves_nothing_behind() {
    let test = TestDb::new().await;
    let owner = test.owner().await;
    let acme = TestDb::insert_organization(&owner, "acme").await;
    let mut app = test.app_login().await;

    let (who, written) =
        as_authenticated_tenant(&mut app, OrganizationId::from_uuid(acme), async |tx| {
            let row = tx.query_one(WHO, &[]).await.unwrap();
            let written = tx
                .execute("insert into project (name) values ('kept?')", &[])
                .await
                .unwrap();
            (
                (row.get::<_, String>(0), row.get::<_, Option<String>>(1)),
                written,
            )
        })
        .await;
    assert_eq!(who, ("authenticated".to_owned(), Some(acme.to_string())));
    assert_eq!(
        written, 1,
        "the project's organization defaults to the tenant"
    );

    // Rolled back, and the role and tenant were transaction-local.
    let row = app.query_one(WHO, &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "tenantry_app");
    assert_eq!(row.get::<_, Option<String>>(1), None);
    let kept: i64 = owner
        .query_one(
            "select count(*) from project where organization_id = $1",
            &[&acme],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 0, "the work is rolled back");
}

#[tokio::test]
async fn every_form_of_tenant_sets_the_same_context() {
    let test = TestDb::new().await;
    let acme = TestDb::insert_organization(&test.owner().await, "acme").await;
    let text = acme.to_string();
    let expected = Some(text.clone());
    let forms: [TenantContext; 5] = [
        OrganizationId::from_uuid(acme).into(),
        acme.into(),
        Some(acme).into(),
        text.as_str().into(),
        Some(text.as_str()).into(),
    ];
    for form in forms {
        let seen = test
            .as_authenticated_tenant(form.clone(), async |tx| {
                tx.query_one(WHO, &[])
                    .await
                    .unwrap()
                    .get::<_, Option<String>>(1)
            })
            .await;
        assert_eq!(seen, expected, "{form:?}");
    }
    for empty in [TenantContext::NoTenant, None::<Uuid>.into(), "".into()] {
        let (seen, projects) = test
            .as_authenticated_tenant(empty.clone(), async |tx| {
                let seen = tx
                    .query_one(WHO, &[])
                    .await
                    .unwrap()
                    .get::<_, Option<String>>(1);
                let projects = tx
                    .execute("insert into project (name) values ('x')", &[])
                    .await;
                (seen, projects)
            })
            .await;
        assert_eq!(seen, None, "{empty:?}");
        assert!(projects.is_err(), "{empty:?}: no tenant, no writes");
    }
}
