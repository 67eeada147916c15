//! Invitations carry only the authority of an inviter who still has it, and
//! only a proven address can take one (issue 17, vulnerabilities 1 and 4).
//!
//! Each test runs the real server on its own database; invitation states and
//! memberships are read back through the owner connection, so a refusal that
//! still wrote a row would fail.

mod common;

use common::{Member, TestApp, expect_error, expect_status, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

const NOT_VERIFIED: &str = "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION";
const NOT_ALLOWED: &str = "INVITER_IS_NO_LONGER_ALLOWED_TO_INVITE_WITH_THIS_ROLE";

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

async fn remove(app: &TestApp, by: &Member, email: &str) {
    let response = app
        .post(
            "/api/auth/organization/remove-member",
            &by.session,
            json!({ "memberIdOrEmail": email }),
        )
        .send()
        .await
        .unwrap();
    expect_status(response, 200).await;
}

async fn change_role(app: &TestApp, by: &Member, member_id: &str, role: &str) {
    let response = app
        .post(
            "/api/auth/organization/update-member-role",
            &by.session,
            json!({ "memberId": member_id, "role": role }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_status(response, 200).await["role"], role);
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

/// Put an invitation back to `pending`, as one written before the inviter
/// lost their right (or by anything other than the API) would be.
async fn set_pending(app: &TestApp, invitation: &str) {
    let id = Uuid::parse_str(invitation).unwrap();
    let owner = app.test.owner().await;
    let changed = owner
        .execute(
            "update invitation set status = 'pending' where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);
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

/// `invitation` was withdrawn, so `invitee` cannot accept it. Put back to
/// pending (as one written before its inviter lost the right, or not through
/// the API, would be) it is refused with `code` and withdrawn again. No
/// membership either way.
async fn assert_withdrawn(
    app: &TestApp,
    organization: &str,
    invitee: &Member,
    invitation: &str,
    code: &str,
) {
    assert_eq!(status_of(app, invitation).await, "canceled");
    assert_eq!(
        expect_error(accept(app, invitee, invitation).await, 400).await,
        "INVITATION_NOT_PENDING"
    );
    set_pending(app, invitation).await;
    assert_eq!(
        expect_error(accept(app, invitee, invitation).await, 403).await,
        code
    );
    assert_eq!(status_of(app, invitation).await, "canceled");
    assert!(!is_member(app, organization, invitee).await);
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

#[tokio::test]
async fn a_removed_or_departed_admins_pending_invitations_cannot_be_accepted() {
    let app = spawn_app().await;
    let (olga, org) = app.owner_of("Olga", "olga@example.com", "olgas").await;
    let (adam, _) = join(&app, &olga, "Adam", "adam@example.com", "admin").await;
    let (alma, _) = join(&app, &olga, "Alma", "alma@example.com", "admin").await;
    let from_adam = invite(&app, &adam, "ines@example.com", "admin").await;
    let from_alma = invite(&app, &alma, "luz@example.com", "member").await;

    remove(&app, &olga, "adam@example.com").await;
    remove(&app, &alma, "alma@example.com").await;
    for invitation in [&from_adam, &from_alma] {
        assert_eq!(status_of(&app, invitation).await, "canceled");
    }
    let canceled = audit_entries(&app, &olga, "invitation.cancel").await;
    assert_eq!(canceled.len(), 2, "{canceled:?}");
    assert!(canceled.iter().all(|e| e["details"]["count"] == 1));

    let ines = verified(&app, "Ines", "ines@example.com").await;
    let gone = "INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION";
    assert_withdrawn(&app, &org, &ines, &from_adam, gone).await;

    // Someone who still may invite can invite her again.
    let again = invite(&app, &olga, "ines@example.com", "admin").await;
    expect_status(accept(&app, &ines, &again).await, 200).await;
}

#[tokio::test]
async fn a_demoted_admins_pending_invitations_cannot_be_accepted() {
    let app = spawn_app().await;
    let (olga, org) = app.owner_of("Olga", "olga@example.com", "olgas").await;
    let (adam, adam_id) = join(&app, &olga, "Adam", "adam@example.com", "admin").await;
    let invitation = invite(&app, &adam, "ines@example.com", "admin").await;

    change_role(&app, &olga, &adam_id, "member").await;
    let ines = verified(&app, "Ines", "ines@example.com").await;
    assert_withdrawn(&app, &org, &ines, &invitation, NOT_ALLOWED).await;
}

#[tokio::test]
async fn an_owner_demoted_to_admin_loses_only_their_owner_invitations() {
    let app = spawn_app().await;
    let (olga, org) = app.owner_of("Olga", "olga@example.com", "olgas").await;
    let (otto, otto_id) = join(&app, &olga, "Otto", "otto@example.com", "owner").await;
    let as_owner = invite(&app, &otto, "petra@example.com", "owner").await;
    let as_member = invite(&app, &otto, "quinn@example.com", "member").await;

    change_role(&app, &olga, &otto_id, "admin").await;
    assert_eq!(status_of(&app, &as_member).await, "pending");
    let petra = verified(&app, "Petra", "petra@example.com").await;
    assert_withdrawn(&app, &org, &petra, &as_owner, NOT_ALLOWED).await;

    // An admin may still invite members: that invitation stands.
    let quinn = verified(&app, "Quinn", "quinn@example.com").await;
    let accepted = expect_status(accept(&app, &quinn, &as_member).await, 200).await;
    assert_eq!(accepted["member"]["role"], "member");
}

#[tokio::test]
async fn an_expired_invitation_neither_blocks_a_new_one_nor_can_be_accepted() {
    let app = spawn_app().await;
    let (olga, org) = app.owner_of("Olga", "olga@example.com", "olgas").await;
    let old = invite(&app, &olga, "zoe@example.com", "member").await;
    let owner = app.test.owner().await;
    owner
        .execute(
            "update invitation set expires_at = now() - interval '1 hour' where id = $1",
            &[&Uuid::parse_str(&old).unwrap()],
        )
        .await
        .unwrap();

    let zoe = verified(&app, "Zoe", "zoe@example.com").await;
    assert_eq!(
        expect_error(accept(&app, &zoe, &old).await, 400).await,
        "INVITATION_NOT_PENDING"
    );
    assert!(!is_member(&app, &org, &zoe).await);

    let new = invite(&app, &olga, "zoe@example.com", "admin").await;
    assert_ne!(new, old);
    assert_eq!(status_of(&app, &old).await, "canceled");
    // A live invitation still blocks a second one.
    let twice = try_invite(&app, &olga, "zoe@example.com", "member").await;
    assert_eq!(expect_error(twice, 409).await, "USER_IS_ALREADY_INVITED");

    assert_eq!(
        expect_error(accept(&app, &zoe, &old).await, 400).await,
        "INVITATION_NOT_PENDING"
    );
    let accepted = expect_status(accept(&app, &zoe, &new).await, 200).await;
    assert_eq!(accepted["member"]["role"], "admin");
}
