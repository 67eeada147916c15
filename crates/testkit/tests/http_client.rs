//! The typed API client against the real server over a fresh database:
//! every call it offers, each answer read, and a refused step named.

use serde_json::{Value, json};
use tenantry_server::{Application, AuthSettings, Settings};
use tenantry_testkit::TestDb;
use tenantry_testkit::http_client::{ApiClient, ApiError};

const PASSWORD: &str = "correct horse battery staple";

async fn serve(test: &TestDb) -> ApiClient {
    let auth = AuthSettings::new(b"test-secret-at-least-32-characters-long".to_vec());
    let app = Application::build(
        Settings::new(test.db.clone(), auth).rate_limits(tenantry_server::RateLimits::off()),
    )
    .await
    .expect("build");
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    ApiClient::new(format!("http://{addr}"))
}

fn email(label: &str) -> String {
    format!("{label}-{}@example.com", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn every_call_of_the_client_reaches_the_api_and_reads_its_answer() {
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.expect("seed");
    let api = serve(&test).await;

    let owner = api.sign_up("Ada", &email("ada"), PASSWORD).await.unwrap();
    assert!(
        !owner.user_id.is_empty() && !owner.session.is_empty(),
        "{owner:?}"
    );
    let again = api.sign_in(&owner.email, PASSWORD).await.unwrap();
    assert_eq!(again.user_id, owner.user_id);
    assert_ne!(again.session, owner.session, "a sign-in is a new session");
    match api.sign_in(&owner.email, "not the password").await {
        Err(ApiError::Status { what, status, .. }) => {
            assert_eq!((what, status), ("sign-in", 401));
        }
        other => panic!("a wrong password signed in: {other:?}"),
    }

    let org = api
        .create_organization(
            &owner.session,
            "Ada's",
            &format!("ada-{}", uuid::Uuid::new_v4().simple()),
        )
        .await
        .unwrap();
    let member = api.sign_up("Bo", &email("bo"), PASSWORD).await.unwrap();
    let invitation = api
        .invite_member(&owner.session, &org, &member.email, "member")
        .await
        .unwrap();
    let verified = test
        .owner()
        .await
        .execute(
            "update \"user\" set email_verified = true where email = $1",
            &[&member.email],
        )
        .await
        .unwrap();
    assert_eq!(verified, 1);
    api.accept_invitation(&member.session, &invitation)
        .await
        .unwrap();
    let pat = api.create_pat(&owner.session, "client test").await.unwrap();

    let first = api
        .create_project(&pat, "first")
        .await
        .unwrap()
        .expect("create project", 201)
        .unwrap();
    assert_eq!(first["organizationId"], org.as_str(), "{first}");
    let id = first["id"].as_str().unwrap();
    let read = api.get_project(&pat, id).await.unwrap();
    assert_eq!((read.status, &read.body), (200, &first));
    let second = api.create_project(&pat, "second").await.unwrap();
    assert_eq!(second.status, 201, "{second:?}");

    let page = api.list_projects(&pat, 1, None).await.unwrap();
    assert_eq!(page.status, 200);
    let cursor = page.body["nextCursor"].as_str().expect("a second page");
    let next = api.list_projects(&pat, 1, Some(cursor)).await.unwrap();
    let names: Vec<&Value> = [&page.body, &next.body]
        .iter()
        .map(|p| &p["items"][0]["name"])
        .collect();
    assert_eq!(names, [&json!("first"), &json!("second")]);

    let renamed = api.rename_project(&pat, id, "renamed").await.unwrap();
    assert_eq!(
        (renamed.status, renamed.str_field("name")),
        (200, "renamed")
    );

    let usage =
        json!({"model": "gpt-4o-mini", "inputTokens": 10, "outputTokens": 5, "projectId": id});
    let recorded = api.record_usage(&member.session, &usage).await.unwrap();
    assert_eq!(recorded.status, 201, "{recorded:?}");
    let now = chrono::Utc::now();
    let query = format!(
        "from={}&to={}",
        (now - chrono::Duration::days(1)).format("%Y-%m-%dT00:00:00Z"),
        (now + chrono::Duration::days(1)).format("%Y-%m-%dT00:00:00Z")
    );
    let report = api.usage_report(&pat, &query).await.unwrap();
    assert_eq!(report.status, 200, "{report:?}");
    assert_eq!(report.body["days"][0]["events"], 1, "{report:?}");

    let members = api.list_members(&pat).await.unwrap();
    assert_eq!(members.status, 200);
    assert_eq!(
        members.body.as_array().map(Vec::len),
        Some(2),
        "{members:?}"
    );

    let deleted = api.delete_project(&pat, id).await.unwrap();
    assert_eq!((deleted.status, &deleted.body), (204, &Value::Null));
    let gone = api.get_project(&pat, id).await.unwrap();
    assert_eq!(gone.status, 404);
    let refused = gone.expect("get project", 200).unwrap_err();
    assert!(
        refused.to_string().starts_with("get project: 404 "),
        "{refused}"
    );
}
