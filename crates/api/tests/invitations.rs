//! Only a proven address can take an invitation (issue 17, vulnerability 1).
//!
//! Each test runs the real server on its own database; invitation states and
//! memberships are read back through the owner connection, so a refusal that
//! still wrote a row would fail.

mod common;

use common::{Member, TestApp, expect_error, expect_status, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

const NOT_VERIFIED: &str = "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION";

/// Invite `email` as `role` into the inviter's active organization.
async fn try_invite(app: &TestApp, inviter: &Member, email: &str, role: &str) -> reqwest::Response {
    app.post(
        "/api/auth/organization/invite-member",
        &inviter.session,
        json!({ "email": email, "role": role }),
    )
    .send()
    .await
    .unwrap()
}

/// [`try_invite`], which must work; the invitation's id.
async fn invite(app: &TestApp, inviter: &Member, email: &str, role: &str) -> String {
    let invitation = expect_status(try_invite(app, inviter, email, role).await, 200).await;
    invitation["id"].as_str().unwrap().to_owned()
}

async fn accept(app: &TestApp, invitee: &Member, invitation: &str) -> reqwest::Response {
    app.post(
        "/api/auth/organization/accept-invitation",
        &invitee.session,
        json!({ "invitationId": invitation }),
    )
    .send()
    .await
    .unwrap()
}

/// Sign up with `email` and prove it.
async fn verified(app: &TestApp, name: &str, email: &str) -> Member {
    let member = app.sign_up(name, email).await;
    app.verify_email(email).await;
    member
}

/// Bring a verified `email` in as `role`, invited by `inviter`; the new
/// member and their membership id.
async fn join(
    app: &TestApp,
    inviter: &Member,
    name: &str,
    email: &str,
    role: &str,
) -> (Member, String) {
    let invitation = invite(app, inviter, email, role).await;
    let member = verified(app, name, email).await;
    let accepted = expect_status(accept(app, &member, &invitation).await, 200).await;
    assert_eq!(accepted["member"]["role"], role);
    let id = accepted["member"]["id"].as_str().unwrap().to_owned();
    (member, id)
}

async fn status_of(app: &TestApp, invitation: &str) -> String {
    let id = Uuid::parse_str(invitation).unwrap();
    let owner = app.test.owner().await;
    let row = owner
        .query_one("select status from invitation where id = $1", &[&id])
        .await
        .unwrap();
    row.get(0)
}

async fn is_member(app: &TestApp, organization: &str, user: &Member) -> bool {
    let (organization, user) = (
        Uuid::parse_str(organization).unwrap(),
        Uuid::parse_str(&user.id).unwrap(),
    );
    let owner = app.test.owner().await;
    let row = owner
        .query_one(
            "select count(*) from member where organization_id = $1 and user_id = $2",
            &[&organization, &user],
        )
        .await
        .unwrap();
    row.get::<_, i64>(0) == 1
}

/// The audit entries with `action`, newest first, as an owner reads them.
async fn audit_entries(app: &TestApp, owner: &Member, action: &str) -> Vec<Value> {
    let response = app
        .get("/api/audit-log?limit=100", &owner.session)
        .send()
        .await
        .unwrap();
    let page = expect_status(response, 200).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_invitation_needs_a_verified_email_and_members_cannot_read_the_audit_log() {
    let app = spawn_app().await;
    let (olga, org) = app.owner_of("Olga", "olga@example.com", "olgas").await;
    let (mia, _) = join(&app, &olga, "Mia", "mia@example.com", "member").await;
    let invitation = invite(&app, &olga, "newhire@example.com", "owner").await;

    // The audit log names invitees and invitation ids, which the rest of the
    // API shows only to owners and admins.
    let by_member = app
        .get("/api/audit-log", &mia.session)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(by_member, 403).await, "FORBIDDEN");
    let created = audit_entries(&app, &olga, "invitation.create").await;
    assert!(created.iter().any(|e| e["targetId"] == invitation.as_str()));

    // Registering the address first proves nothing about owning it.
    let claimant = app.sign_up("Mallory", "newhire@example.com").await;
    assert_eq!(
        expect_error(accept(&app, &claimant, &invitation).await, 403).await,
        NOT_VERIFIED
    );
    assert!(!is_member(&app, &org, &claimant).await);
    assert_eq!(status_of(&app, &invitation).await, "pending");

    // Someone else's invitation looks exactly like a missing one.
    let stranger = verified(&app, "Sam", "sam@example.com").await;
    let missing = Uuid::new_v4().to_string();
    for id in [invitation.as_str(), missing.as_str()] {
        assert_eq!(
            expect_error(accept(&app, &stranger, id).await, 404).await,
            "NOT_FOUND"
        );
    }

    // Once the link from the address's mailbox is followed, it may accept.
    app.verify_email("newhire@example.com").await;
    let accepted = expect_status(accept(&app, &claimant, &invitation).await, 200).await;
    assert_eq!(accepted["member"]["role"], "owner");
    assert!(is_member(&app, &org, &claimant).await);
}
