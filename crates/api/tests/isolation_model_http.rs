//! Isolation as a property, through HTTP (the reliability issue, part 1; the
//! Rust-API half is `crates/db/tests/isolation_model.rs`).
//!
//! Random sequences of operations on the tenant endpoints (projects: create,
//! read, list with pagination, rename, delete, attempts to move one to
//! another organization; usage: record, also against other organizations'
//! projects, and report; members; audit log, which only owners and admins
//! read) and on the routes that change who may see what (set the active
//! organization, verify one's email, invite and accept, leave; and the
//! organization administration routes: rename the organization, delete it
//! (every row it holds goes, and sessions acting in it act in none), leave
//! it through `organization/leave`, cancel an invitation as a manager of its
//! organization, reject one as its invitee), by several
//! users who belong to different organizations
//! (some to several, some to none), authenticating with a PAT (read and
//! write, read-only, bound to one organization, or both), a session
//! token as bearer, or the signed session cookie, choosing the organization
//! with `X-Organization-Id` (or a body field) or not at all: members of it,
//! outsiders, an organization that does not exist, a malformed id. Every
//! response is checked against a plain in-memory model of who may see what,
//! including the rule that picks an organization (`tenantry_app::App::resolve`,
//! `resolve_organization_id`), the rule that outsiders get 404, and the
//! invitation rules: an unverified invitee is refused and the invitation
//! stays pending (so inviting them again is a 409), and a member who leaves
//! takes their pending invitations with them. And the rules of scoped
//! tokens (issue 14): a read-only token's every write is 403
//! `INSUFFICIENT_SCOPE` naming `write` and changes nothing; a bound token
//! acts in its organization only (another is 404, even the user's own), not
//! on the account (403 `TOKEN_BOUND_TO_ORGANIZATION`), lists that
//! organization alone, and goes with it when it is deleted (401); token
//! management is a session's (403 `SESSION_REQUIRED`), but a token may
//! revoke itself (and only itself); the list of a user's tokens is the
//! model's.
//!
//! One server on one database for the whole run (the real `Application`
//! over reqwest; `synchronous_commit = off` on that database, which changes
//! nothing but the run time); each case signs up fresh users and creates
//! fresh organizations, so the model starts empty, and two runners work side
//! by side. 25 cases of 400 operations = 10,000 operations per run (and
//! the committed seeds, which each runner replays first), about 20 s on 2
//! busy cores (`PROPTEST_CASES` changes the number of cases).
//!
//! On failure, proptest shrinks the case (dropping halves, quarters, ...
//! then single operations, then simplifying the ones left; see
//! [`Sequence`](tenantry_testkit::sequence::Sequence)),
//! saves the case's seed in `isolation_model_http.proptest-regressions` next
//! to this file (replayed first on the next run) and prints it (`cc ...`);
//! the panic message prints the minimal sequence and the run's
//! `PROPTEST_RNG_SEED`, which replays the whole run.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use common::TestApp;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed, TestCaseError, TestRunner};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use tenantry_testkit::sequence::sequence;
use uuid::Uuid;

const USERS: usize = 4;
const ORGS: usize = 3;
const OPS_PER_CASE: usize = 400;
const DEFAULT_CASES: u32 = 25;
/// Runners working side by side on the one server.
const RUNNERS: u32 = 2;
/// Project names come from a small set, so names collide within an
/// organization (409) and across organizations (which must not matter).
const NAMES: u8 = 6;
/// Where usage is recorded, and the report's window around it.
const USAGE_AT: &str = "2025-03-01T12:00:00Z";
const REPORT_QUERY: &str = "from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z";

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

/// How the caller authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cred {
    /// One of the user's personal access tokens.
    Pat(Slot),
    /// The session token as `Authorization: Bearer`.
    Session,
    /// The signed session cookie (with the server's own `Origin`).
    Cookie,
}

/// Which of a user's personal access tokens: what each holds is in the
/// model ([`TokenState`]), so a slot says how the token was first minted,
/// not what it is now (`Mint` replaces the bound ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Read and write, every organization of the user's.
    Full,
    /// `"scopes": ["read"]`.
    Read,
    /// Bound to one of the user's organizations (`"organizationId"`).
    Bound,
    /// Read-only and bound.
    ReadBound,
}

impl Cred {
    fn is_pat(self) -> bool {
        matches!(self, Cred::Pat(_))
    }
}

/// Which organization the request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Org {
    /// None: the session's active one, else the default.
    Implicit,
    /// One of this case's organizations, member or not.
    Named(usize),
    /// A real organization outside the case, where nobody here is a member.
    Outside,
    /// A well-formed id of no organization.
    Unknown,
    /// Not a UUID.
    Malformed,
}

/// Which project an operation aims at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// Among every project created in this case (own, foreign, deleted).
    Case(usize),
    /// A project of the organization outside the case.
    Outside,
    /// A well-formed id of no project.
    Unknown,
    /// Not a UUID.
    Malformed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MoveHow {
    /// `PATCH {"organizationId": ...}`
    PatchCamel,
    /// `PATCH {"name": ..., "organization_id": ...}`
    PatchSnake,
    /// `POST /api/projects {"name": ..., "organizationId": ...}`
    CreateInto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Create {
        name: u8,
    },
    Read {
        target: Target,
    },
    Rename {
        target: Target,
        name: u8,
        describe: bool,
    },
    Delete {
        target: Target,
    },
    /// Try to put a project into another organization.
    Move {
        target: Target,
        to: Org,
        how: MoveHow,
    },
    List {
        limit: u8,
    },
    /// Usage, optionally referencing a project (perhaps someone else's).
    RecordUsage {
        project: Option<Target>,
        tokens: u16,
    },
    Report,
    Members,
    AuditLog,
    /// `set-active` with the organization named by `org` (`Implicit`: null).
    SetActive,
    /// Verify one's email (through the link in the mail).
    Verify,
    /// Invite `invitee` into the acting organization; they accept with
    /// `accept` (their credential of that kind).
    Invite {
        invitee: usize,
        admin: bool,
        accept: Cred,
    },
    /// Leave the acting organization (`remove-member` with one's own email).
    Leave,
    /// `organization/update` with a new name.
    UpdateOrg {
        name: u8,
    },
    /// `organization/delete` of the organization `org` names.
    DeleteOrg,
    /// `organization/leave` of the organization `org` names.
    LeaveOrg,
    /// `organization/cancel-invitation`.
    CancelInvitation {
        target: InvTarget,
    },
    /// `organization/reject-invitation`, by the operation's user or (with
    /// `by_invitee`) by whoever the invitation is addressed to.
    RejectInvitation {
        target: InvTarget,
        by_invitee: bool,
    },
    /// `GET /api/auth/organization/list`.
    ListOrgs,
    /// `POST /api/tokens` binding a new token to the organization `org`
    /// names (none: an unbound one), read-only or not; it replaces the
    /// user's `Bound` (or `ReadBound`) token.
    Mint {
        read_only: bool,
    },
    /// `GET /api/tokens`: a session's job.
    ListTokens,
    /// `DELETE /api/tokens/{id}`: a token of the user's other than the
    /// full one (so the case goes on) revokes itself, or (`other`) tries
    /// the full one; a session revokes the user's `Bound` token, or
    /// (`other`) an unknown id.
    Revoke {
        other: bool,
    },
}

/// Which invitation an operation aims at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InvTarget {
    /// Among every invitation sent in this case (any state, any organization).
    Case(usize),
    /// Among those still pending (any invitation when none is), so that
    /// cancelling and rejecting also succeed, not only get refused.
    Pending(usize),
    /// A well-formed id of no invitation.
    Unknown,
    /// Not a UUID.
    Malformed,
}

fn inv_target() -> impl Strategy<Value = InvTarget> {
    prop_oneof![
        4 => (0..64usize).prop_map(InvTarget::Case),
        6 => (0..64usize).prop_map(InvTarget::Pending),
        1 => Just(InvTarget::Unknown),
        1 => Just(InvTarget::Malformed),
    ]
}

/// One operation by user `who`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Op {
    who: usize,
    cred: Cred,
    org: Org,
    action: Action,
}

/// Mostly credentials that may write everywhere, so that the model's
/// state keeps growing; a scoped or bound token in two operations of five.
fn cred() -> impl Strategy<Value = Cred> {
    prop_oneof![
        3 => Just(Cred::Pat(Slot::Full)),
        3 => Just(Cred::Session),
        3 => Just(Cred::Cookie),
        2 => Just(Cred::Pat(Slot::Read)),
        2 => Just(Cred::Pat(Slot::Bound)),
        2 => Just(Cred::Pat(Slot::ReadBound)),
    ]
}

/// Accepting mostly with a session, so that memberships change.
fn accept_cred() -> impl Strategy<Value = Cred> {
    prop_oneof![
        8 => Just(Cred::Session),
        1 => Just(Cred::Pat(Slot::Full)),
        1 => Just(Cred::Pat(Slot::Read)),
        1 => Just(Cred::Pat(Slot::Bound)),
        1 => Just(Cred::Pat(Slot::ReadBound)),
    ]
}

fn org() -> impl Strategy<Value = Org> {
    prop_oneof![
        4 => Just(Org::Implicit),
        6 => (0..ORGS).prop_map(Org::Named),
        1 => Just(Org::Outside),
        1 => Just(Org::Unknown),
        1 => Just(Org::Malformed),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        12 => (0..64usize).prop_map(Target::Case),
        1 => Just(Target::Outside),
        1 => Just(Target::Unknown),
        1 => Just(Target::Malformed),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let name = 0..NAMES;
    let how = prop_oneof![
        Just(MoveHow::PatchCamel),
        Just(MoveHow::PatchSnake),
        Just(MoveHow::CreateInto)
    ];
    // Weights in thirds of the first model's, so that deleting an
    // organization (which ends most of what a case can do there) stays rare.
    prop_oneof![
        15 => name.clone().prop_map(|name| Action::Create { name }).boxed(),
        15 => target().prop_map(|target| Action::Read { target }).boxed(),
        9 => (target(), name.clone(), any::<bool>())
            .prop_map(|(target, name, describe)| Action::Rename { target, name, describe })
            .boxed(),
        6 => target().prop_map(|target| Action::Delete { target }).boxed(),
        6 => (target(), org(), how)
            .prop_map(|(target, to, how)| Action::Move { target, to, how })
            .boxed(),
        9 => prop_oneof![3 => 1u8..=4, 1 => Just(100u8)]
            .prop_map(|limit| Action::List { limit })
            .boxed(),
        6 => (proptest::option::of(target()), 1u16..1000)
            .prop_map(|(project, tokens)| Action::RecordUsage { project, tokens })
            .boxed(),
        3 => Just(Action::Report).boxed(),
        3 => Just(Action::Members).boxed(),
        3 => Just(Action::AuditLog).boxed(),
        3 => Just(Action::SetActive).boxed(),
        3 => Just(Action::Verify).boxed(),
        4 => (0..USERS, any::<bool>(), accept_cred())
            .prop_map(|(invitee, admin, accept)| Action::Invite { invitee, admin, accept })
            .boxed(),
        3 => Just(Action::Leave).boxed(),
        2 => name.prop_map(|name| Action::UpdateOrg { name }).boxed(),
        1 => Just(Action::DeleteOrg).boxed(),
        2 => Just(Action::LeaveOrg).boxed(),
        3 => inv_target()
            .prop_map(|target| Action::CancelInvitation { target })
            .boxed(),
        3 => (inv_target(), any::<bool>())
            .prop_map(|(target, by_invitee)| Action::RejectInvitation { target, by_invitee })
            .boxed(),
        2 => Just(Action::ListOrgs).boxed(),
        2 => any::<bool>().prop_map(|read_only| Action::Mint { read_only }).boxed(),
        1 => Just(Action::ListTokens).boxed(),
        1 => any::<bool>().prop_map(|other| Action::Revoke { other }).boxed(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    (0..USERS, cred(), org(), action()).prop_map(|(who, cred, org, action)| Op {
        who,
        cred,
        org,
        action,
    })
}

/// A case: the operations, which of this case's organizations each user
/// joins at the start (bit k: organization k; its lowest member creates it),
/// and, per user, which of those organizations their `Bound` and
/// `ReadBound` tokens are bound to (the n-th membership, counting round;
/// a user in none gets neither at the start).
#[derive(Clone)]
struct Case {
    steps: Vec<Option<Op>>,
    memberships: Vec<u8>,
    bindings: Vec<(u8, u8)>,
}

impl fmt::Debug for Case {
    /// Only the steps shrinking kept, with their positions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "memberships {:?} (bit k = organization k), bindings {:?}",
            self.memberships, self.bindings
        )?;
        for (i, op) in self.steps.iter().enumerate() {
            if let Some(op) = op {
                writeln!(f, "  step {i}: {op:?}")?;
            }
        }
        Ok(())
    }
}

fn case() -> impl Strategy<Value = Case> {
    // Operations first: proptest shrinks a tuple's parts in order, and
    // dropping operations first makes every later replay shorter.
    (
        sequence(op(), OPS_PER_CASE),
        proptest::collection::vec(0u8..(1 << ORGS), USERS),
        proptest::collection::vec((0..ORGS as u8, 0..ORGS as u8), USERS),
    )
        .prop_map(|(steps, memberships, bindings)| Case {
            steps,
            memberships,
            bindings,
        })
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Owner,
    Admin,
    Member,
}

/// A personal access token the model knows.
#[derive(Clone, Debug)]
struct TokenState {
    secret: String,
    id: String,
    /// `["read","write"]`, else `["read"]`.
    write: bool,
    /// The case organization it is bound to.
    bound: Option<usize>,
    /// Revoked through `DELETE /api/tokens/{id}`.
    revoked: bool,
}

struct UserState {
    id: String,
    email: String,
    session: String,
    /// `better-auth.session_token=<signed value>`
    cookie: String,
    /// By [`Slot`], an index into `minted`; an empty slot (a bound one,
    /// for a user in no organization at the start) means the `Full` token
    /// is used.
    tokens: [Option<usize>; 4],
    /// Every token minted for the user, replaced ones included: what
    /// `GET /api/tokens` lists while they live.
    minted: Vec<TokenState>,
    /// The session's active organization (a case organization, or none).
    active: Option<usize>,
    /// Whether the email is verified: only then does accepting work.
    verified: bool,
}

impl UserState {
    /// The index in `minted` of the token `slot` names.
    fn token_index(&self, slot: Slot) -> usize {
        self.tokens[slot as usize]
            .or(self.tokens[Slot::Full as usize])
            .expect("every user has a full token")
    }

    fn token(&self, slot: Slot) -> &TokenState {
        &self.minted[self.token_index(slot)]
    }

    /// Keep `token` in `slot`, replacing what it held there.
    fn hold(&mut self, slot: Slot, token: TokenState) {
        self.minted.push(token);
        self.tokens[slot as usize] = Some(self.minted.len() - 1);
    }
}

#[derive(Default)]
struct OrgState {
    id: String,
    /// Current members: user -> (role, when they joined, in join order).
    members: BTreeMap<usize, (Role, u64)>,
    /// Everyone who was ever a member, or rejected an invitation here
    /// (audit entries name them).
    ever_members: BTreeSet<String>,
    /// Deleted through `organization/delete`: nothing of it may remain.
    gone: bool,
    /// Live projects: id -> (name, description).
    projects: BTreeMap<Uuid, (String, String)>,
    /// Every project ever created here, and how many were deleted.
    created: BTreeSet<Uuid>,
    deleted: usize,
    usage_events: i64,
    usage_input_tokens: i64,
    /// Pending invitations: invitee -> inviter.
    pending: BTreeMap<usize, usize>,
}

/// What the model expects a request to act in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Acting {
    In(usize),
    /// 404: not a member, or nothing to act in.
    NotFound,
    /// 400: a malformed organization id.
    BadRequest,
    /// 401: a token bound to a deleted organization (deleted with it).
    Unauthorized,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InvStatus {
    Pending,
    Accepted,
    Canceled,
    Rejected,
    /// Its organization was deleted.
    Gone,
}

/// An invitation sent in this case.
struct InvState {
    id: String,
    org: usize,
    invitee: usize,
    inviter: usize,
    status: InvStatus,
}

struct Model {
    users: Vec<UserState>,
    orgs: Vec<OrgState>,
    /// Every invitation sent in this case, in order.
    invitations: Vec<InvState>,
    /// Every project id created in this case, deleted ones included.
    every_id: Vec<Uuid>,
    joins: u64,
}

impl Model {
    fn is_member(&self, user: usize, org: usize) -> bool {
        self.orgs[org].members.contains_key(&user)
    }

    fn join(&mut self, user: usize, org: usize, role: Role) {
        self.joins += 1;
        let state = &mut self.orgs[org];
        state.members.insert(user, (role, self.joins));
        state.ever_members.insert(self.users[user].id.clone());
    }

    /// `resolve_organization_id`: the (only) session's active organization
    /// if still a member, else the oldest membership.
    fn default_org(&self, user: usize) -> Acting {
        if let Some(active) = self.users[user].active
            && self.is_member(user, active)
        {
            return Acting::In(active);
        }
        (0..ORGS)
            .filter_map(|k| self.orgs[k].members.get(&user).map(|(_, seq)| (*seq, k)))
            .min()
            .map_or(Acting::NotFound, |(_, k)| Acting::In(k))
    }

    /// The token `cred` names, if it names one.
    fn token(&self, user: usize, cred: Cred) -> Option<&TokenState> {
        let Cred::Pat(slot) = cred else { return None };
        Some(self.users[user].token(slot))
    }

    /// Revoked, or its row went with its organization (`on delete cascade`).
    fn dead(&self, user: usize, cred: Cred) -> bool {
        self.token(user, cred).is_some_and(|t| !self.live(t))
    }

    fn live(&self, token: &TokenState) -> bool {
        !token.revoked && token.bound.is_none_or(|k| !self.orgs[k].gone)
    }

    fn read_only(&self, user: usize, cred: Cred) -> bool {
        self.token(user, cred).is_some_and(|t| !t.write)
    }

    fn bound(&self, user: usize, cred: Cred) -> Option<usize> {
        self.token(user, cred).and_then(|t| t.bound)
    }

    /// `tenantry_app::App::resolve`: the named organization, else the session's
    /// active one, else the default; non-members get 404. A bound token acts
    /// in its organization only: naming any other is a 404, even one the
    /// user belongs to; naming none is naming it. A malformed id is refused
    /// (400) before any of this, by the extractor.
    fn acting(&self, user: usize, cred: Cred, org: Org) -> Acting {
        if self.dead(user, cred) {
            return Acting::Unauthorized;
        }
        if let Some(bound) = self.bound(user, cred) {
            let names_bound = match org {
                Org::Malformed => return Acting::BadRequest,
                Org::Implicit => true,
                Org::Named(k) => k == bound,
                Org::Outside | Org::Unknown => false,
            };
            return if names_bound && self.is_member(user, bound) {
                Acting::In(bound)
            } else {
                Acting::NotFound
            };
        }
        let requested = match org {
            Org::Malformed => return Acting::BadRequest,
            Org::Outside | Org::Unknown => return Acting::NotFound,
            Org::Named(k) => Some(k),
            Org::Implicit => match cred {
                Cred::Pat(_) => None,
                Cred::Session | Cred::Cookie => self.users[user].active,
            },
        };
        match requested {
            Some(k) if self.is_member(user, k) => Acting::In(k),
            Some(_) => Acting::NotFound,
            None => self.default_org(user),
        }
    }

    /// A member leaves `org`: their pending invitations there are withdrawn.
    fn leave(&mut self, user: usize, org: usize) {
        self.orgs[org].members.remove(&user);
        self.orgs[org].pending.retain(|_, inviter| *inviter != user);
        for invitation in &mut self.invitations {
            if invitation.org == org
                && invitation.inviter == user
                && invitation.status == InvStatus::Pending
            {
                invitation.status = InvStatus::Canceled;
            }
        }
    }

    /// The invitation `target` names, if it names one of this case's.
    fn invitation(&self, target: InvTarget) -> Option<usize> {
        let pending: Vec<usize> = (0..self.invitations.len())
            .filter(|&i| self.invitations[i].status == InvStatus::Pending)
            .collect();
        match target {
            InvTarget::Pending(i) if !pending.is_empty() => Some(pending[i % pending.len()]),
            InvTarget::Case(i) | InvTarget::Pending(i) if !self.invitations.is_empty() => {
                Some(i % self.invitations.len())
            }
            _ => None,
        }
    }

    fn owner_of(&self, project: &Uuid) -> Option<usize> {
        self.orgs
            .iter()
            .position(|org| org.projects.contains_key(project))
    }
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

/// The server and what every case shares: an organization outside all
/// cases, with projects, that must never change.
struct World {
    app: TestApp,
    origin: String,
    outside_org: String,
    outside_projects: Vec<Value>,
    outside_pat: String,
    http_requests: AtomicU64,
    operations: AtomicU64,
}

type Reply = (u16, Value);

impl World {
    async fn send(&self, request: RequestBuilder) -> Result<Reply, String> {
        self.http_requests.fetch_add(1, Ordering::Relaxed);
        let response = request
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| e.to_string())?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .map_err(|e| format!("status {status}: body is not JSON ({e}): {text}"))?
        };
        Ok((status, body))
    }

    /// A request as `user` with `cred`.
    fn request(&self, method: Method, path: &str, user: &UserState, cred: Cred) -> RequestBuilder {
        let request = self.app.http.request(method, self.app.url(path));
        match cred {
            Cred::Pat(slot) => request.bearer_auth(&user.token(slot).secret),
            Cred::Session => request.bearer_auth(&user.session),
            Cred::Cookie => request
                .header("cookie", &user.cookie)
                .header("origin", &self.origin),
        }
    }

    /// The id `org` names, as a header or body value.
    fn org_id(&self, model: &Model, org: Org) -> Option<String> {
        match org {
            Org::Implicit => None,
            Org::Named(k) => Some(model.orgs[k].id.clone()),
            Org::Outside => Some(self.outside_org.clone()),
            Org::Unknown => Some(Uuid::new_v4().to_string()),
            Org::Malformed => Some("not-a-uuid".to_owned()),
        }
    }

    /// A tenant-route request naming the organization in `X-Organization-Id`.
    fn tenant(&self, model: &Model, op: &Op, method: Method, path: &str) -> RequestBuilder {
        let request = self.request(method, path, &model.users[op.who], op.cred);
        match self.org_id(model, op.org) {
            Some(id) => request.header("x-organization-id", id),
            None => request,
        }
    }

    /// The id `target` names; before the case created anything, `Case`
    /// names no project either.
    fn target_id(&self, model: &Model, target: Target) -> String {
        match target {
            Target::Case(i) => model
                .every_id
                .get(i % model.every_id.len().max(1))
                .map_or_else(|| Uuid::new_v4().to_string(), Uuid::to_string),
            Target::Outside => str_of(&self.outside_projects[0], "id").to_owned(),
            Target::Unknown => Uuid::new_v4().to_string(),
            Target::Malformed => "not-a-uuid".to_owned(),
        }
    }
}

/// A read-only token's write (`error.requiredScope` must say `"write"`).
const SCOPE: &str = "INSUFFICIENT_SCOPE";
/// A bound token's work on the account.
const BOUND: &str = "TOKEN_BOUND_TO_ORGANIZATION";

/// Check a reply's status, and for errors our error format and code.
fn expect(what: &str, reply: &Reply, status: u16, code: Option<&str>) -> Result<(), String> {
    let (got, body) = reply;
    if *got != status {
        return Err(format!("{what}: expected {status}, got {got}: {body}"));
    }
    if status >= 400 {
        let actual = body["error"]["code"].as_str();
        let message = body["error"]["message"].as_str().unwrap_or("");
        if actual.is_none() || message.is_empty() {
            return Err(format!("{what}: error not in our format: {body}"));
        }
        if let Some(code) = code
            && actual != Some(code)
        {
            return Err(format!("{what}: expected code {code}, got {body}"));
        }
        if code == Some(SCOPE) && body["error"]["requiredScope"] != "write" {
            return Err(format!("{what}: the refusal names no write scope: {body}"));
        }
    }
    Ok(())
}

/// The reply every tenant route gives when the organization does not resolve.
fn expect_unresolved(what: &str, reply: &Reply, acting: Acting) -> Result<(), String> {
    match acting {
        Acting::NotFound => expect(what, reply, 404, Some("NOT_FOUND")),
        Acting::BadRequest => expect(what, reply, 400, Some("INVALID_INPUT")),
        Acting::Unauthorized => expect(what, reply, 401, Some("UNAUTHORIZED")),
        Acting::In(_) => unreachable!(),
    }
}

fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field].as_str().unwrap_or_default()
}

/// A project in a reply must be the model's, in the acting organization.
fn check_project(what: &str, model: &Model, org: usize, project: &Value) -> Result<Uuid, String> {
    let id = Uuid::try_parse(str_of(project, "id"))
        .map_err(|_| format!("{what}: no project id in {project}"))?;
    if str_of(project, "organizationId") != model.orgs[org].id {
        return Err(format!(
            "{what}: project {id} of organization {} returned in organization {org} ({})",
            str_of(project, "organizationId"),
            model.orgs[org].id
        ));
    }
    match model.orgs[org].projects.get(&id) {
        Some((name, description))
            if name == str_of(project, "name") && description == str_of(project, "description") => {
        }
        Some(expected) => {
            return Err(format!(
                "{what}: project {id} is {project}, model has {expected:?}"
            ));
        }
        None => {
            let owner = model.owner_of(&id);
            return Err(format!(
                "{what}: organization {org} sees project {id} (model: owned by {owner:?}, deleted or foreign)"
            ));
        }
    }
    Ok(id)
}

/// Page through `/api/projects` in `org` and compare with the model.
async fn check_listing(
    world: &World,
    model: &Model,
    org: usize,
    limit: u8,
    start: impl Fn(&str) -> RequestBuilder,
) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut last_created = None;
    let expected_pages = model.orgs[org].projects.len() / usize::from(limit) + 2;
    for _ in 0..expected_pages {
        let path = match &cursor {
            Some(c) => format!("/api/projects?limit={limit}&cursor={c}"),
            None => format!("/api/projects?limit={limit}"),
        };
        let reply = world.send(start(&path)).await?;
        expect("list", &reply, 200, None)?;
        let items = reply.1["items"].as_array().cloned().unwrap_or_default();
        if items.len() > usize::from(limit) {
            return Err(format!("list: {} items on a page of {limit}", items.len()));
        }
        for item in &items {
            let id = check_project("list", model, org, item)?;
            if !seen.insert(id) {
                return Err(format!("list: project {id} listed twice"));
            }
            // Parsed: chrono writes 0, 3, 6 or 9 fractional digits.
            let created = chrono::DateTime::parse_from_rfc3339(str_of(item, "createdAt"))
                .map_err(|e| format!("list: createdAt of {item}: {e}"))?;
            if last_created.is_some_and(|last| last > created) {
                return Err("list: not in creation order".to_owned());
            }
            last_created = Some(created);
        }
        match reply.1["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                let expected: BTreeSet<Uuid> = model.orgs[org].projects.keys().copied().collect();
                return if seen == expected {
                    Ok(())
                } else {
                    Err(format!(
                        "list: organization {org} lists {} projects, model has {}; missing {:?}",
                        seen.len(),
                        expected.len(),
                        expected.difference(&seen).collect::<Vec<_>>()
                    ))
                };
            }
        }
    }
    Err(format!("list: more pages than {expected_pages}"))
}

// ---------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------

async fn sign_up(world: &World, label: &str) -> Result<UserState, String> {
    let email = format!("{label}-{}@example.com", Uuid::new_v4().simple());
    let request = world
        .app
        .http
        .post(world.app.url("/api/auth/sign-up/email"))
        .json(&json!({ "name": label, "email": email, "password": "correct horse battery" }));
    world.http_requests.fetch_add(1, Ordering::Relaxed);
    let response = request.send().await.map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("sign-up: {}", response.status()));
    }
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("better-auth.session_token="))
        .and_then(|v| v.split(';').next())
        .ok_or("sign-up set no session cookie")?
        .to_owned();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let session = str_of(&body, "token").to_owned();
    let full = mint(world, &session, true, None).await?;
    let read = mint(world, &session, false, None).await?;
    Ok(UserState {
        id: str_of(&body["user"], "id").to_owned(),
        email,
        session,
        cookie,
        minted: vec![full, read],
        tokens: [Some(0), Some(1), None, None],
        active: None,
        verified: false,
    })
}

/// The body of `POST /api/tokens` for a token that may write (or not),
/// bound to the organization `id` (or not).
fn token_body(write: bool, id: Option<&str>) -> Value {
    let mut body = json!({ "name": "model" });
    if !write {
        body["scopes"] = json!(["read"]);
    }
    if let Some(id) = id {
        body["organizationId"] = json!(id);
    }
    body
}

/// The token a 201 from `POST /api/tokens` carries, checked against what
/// was asked for.
fn minted(
    what: &str,
    reply: &Reply,
    write: bool,
    bound: Option<(usize, &str)>,
) -> Result<TokenState, String> {
    expect(what, reply, 201, None)?;
    let scopes = if write {
        json!(["read", "write"])
    } else {
        json!(["read"])
    };
    let organization = bound.map_or(Value::Null, |(_, id)| json!(id));
    if reply.1["scopes"] != scopes || reply.1["organizationId"] != organization {
        return Err(format!("{what}: minted {}", reply.1));
    }
    Ok(TokenState {
        secret: str_of(&reply.1, "token").to_owned(),
        id: str_of(&reply.1, "id").to_owned(),
        write,
        bound: bound.map(|(k, _)| k),
        revoked: false,
    })
}

/// Mint a token with `session`, as the set-up does.
async fn mint(
    world: &World,
    session: &str,
    write: bool,
    bound: Option<(usize, &str)>,
) -> Result<TokenState, String> {
    let body = token_body(write, bound.map(|(_, id)| id));
    let reply = world
        .send(world.app.post("/api/tokens", session, body))
        .await?;
    minted("create PAT", &reply, write, bound)
}

/// Ask for a verification link and follow it, as `user`'s mailbox would.
/// A verified address gets no mail; the request still succeeds.
async fn verify(world: &World, user: &mut UserState) -> Result<(), String> {
    let before = world.app.mails_to(&user.email, "Verify").len();
    let request = world
        .app
        .http
        .post(world.app.url("/api/auth/send-verification-email"))
        .json(&json!({ "email": user.email }));
    expect(
        "send verification email",
        &world.send(request).await?,
        200,
        None,
    )?;
    if user.verified {
        return Ok(());
    }
    let token = world
        .app
        .next_mail_token(&user.email, "Verify", before)
        .await;
    let link = world.app.http.get(
        world
            .app
            .url(&format!("/api/auth/verify-email?token={token}")),
    );
    expect("verify email", &world.send(link).await?, 200, None)?;
    user.verified = true;
    Ok(())
}

/// Invite `invitee` into `org` as `inviter` (session bearer, organization in
/// the body) and, if that worked, accept with the invitee's session: both
/// replies.
async fn invite_and_accept(
    world: &World,
    model: &Model,
    inviter: usize,
    (cred, accept): (Cred, Cred),
    org_field: Option<String>,
    invitee: usize,
    role: &str,
) -> Result<(Reply, Option<Reply>), String> {
    let mut body = json!({ "email": model.users[invitee].email, "role": role });
    if let Some(id) = org_field {
        body["organizationId"] = json!(id);
    }
    let invite = world.request(
        Method::POST,
        "/api/auth/organization/invite-member",
        &model.users[inviter],
        cred,
    );
    let reply = world.send(invite.json(&body)).await?;
    if reply.0 != 200 {
        return Ok((reply, None));
    }
    let accept = world
        .request(
            Method::POST,
            "/api/auth/organization/accept-invitation",
            &model.users[invitee],
            accept,
        )
        .json(&json!({ "invitationId": str_of(&reply.1, "id") }));
    let accepted = world.send(accept).await?;
    Ok((reply, Some(accepted)))
}

async fn set_up(world: &World, memberships: &[u8], bindings: &[(u8, u8)]) -> Result<Model, String> {
    // Concurrently: each sign-up hashes a password, the slow part of a case.
    let users = tokio::join!(
        sign_up(world, "u0"),
        sign_up(world, "u1"),
        sign_up(world, "u2"),
        sign_up(world, "u3"),
    );
    let users = vec![users.0?, users.1?, users.2?, users.3?];
    assert_eq!(users.len(), USERS);
    let mut model = Model {
        users,
        orgs: (0..ORGS).map(|_| OrgState::default()).collect(),
        invitations: Vec::new(),
        every_id: Vec::new(),
        joins: 0,
    };
    for k in 0..ORGS {
        let members: Vec<usize> = (0..USERS)
            .filter(|&u| memberships[u] & (1 << k) != 0)
            .collect();
        let creator = members.first().copied().unwrap_or(k % USERS);
        let create = world.app.post(
            "/api/auth/organization/create",
            &model.users[creator].session,
            json!({ "name": format!("org {k}"), "slug": format!("m-{}", Uuid::new_v4().simple()) }),
        );
        let reply = world.send(create).await?;
        expect("create organization", &reply, 200, None)?;
        model.orgs[k].id = str_of(&reply.1, "id").to_owned();
        model.join(creator, k, Role::Owner);
        model.users[creator].active = Some(k);
        for &u in members.iter().filter(|&&u| u != creator) {
            verify(world, &mut model.users[u]).await?;
            let id = Some(model.orgs[k].id.clone());
            let (reply, accepted) = invite_and_accept(
                world,
                &model,
                creator,
                (Cred::Session, Cred::Session),
                id,
                u,
                "member",
            )
            .await?;
            expect("invite", &reply, 200, None)?;
            expect("accept", &accepted.ok_or("no acceptance")?, 200, None)?;
            model.join(u, k, Role::Member);
            model.users[u].active = Some(k);
        }
    }
    for (user, &(bound, read_bound)) in bindings.iter().enumerate() {
        let orgs: Vec<usize> = (0..ORGS).filter(|&k| model.is_member(user, k)).collect();
        if orgs.is_empty() {
            continue;
        }
        for (slot, pick, write) in [
            (Slot::Bound, bound, true),
            (Slot::ReadBound, read_bound, false),
        ] {
            let k = orgs[usize::from(pick) % orgs.len()];
            let id = model.orgs[k].id.clone();
            let session = model.users[user].session.clone();
            let token = mint(world, &session, write, Some((k, &id))).await?;
            model.users[user].hold(slot, token);
        }
    }
    Ok(model)
}

/// Run one operation and compare its outcome with the model, updating it.
async fn step(world: &World, model: &mut Model, op: &Op, n: usize) -> Result<(), String> {
    let acting = model.acting(op.who, op.cred, op.org);
    let read_only = model.read_only(op.who, op.cred);
    let what = &format!("{op:?}");
    match op.action {
        Action::Create { name } => {
            let name = format!("n{name}");
            let request = world.tenant(model, op, Method::POST, "/api/projects");
            let reply = world.send(request.json(&json!({ "name": name }))).await?;
            let Acting::In(org) = acting else {
                return expect_unresolved(what, &reply, acting);
            };
            // `require(Scope::Write)` comes first in every service write.
            if read_only {
                return expect(what, &reply, 403, Some(SCOPE));
            }
            if model.orgs[org].projects.values().any(|(n, _)| *n == name) {
                return expect(what, &reply, 409, Some("PROJECT_NAME_TAKEN"));
            }
            expect(what, &reply, 201, None)?;
            let id = Uuid::try_parse(str_of(&reply.1, "id")).map_err(|e| format!("{what}: {e}"))?;
            model.orgs[org].projects.insert(id, (name, String::new()));
            model.orgs[org].created.insert(id);
            model.every_id.push(id);
            check_project(what, model, org, &reply.1)?;
            if str_of(&reply.1, "createdBy") != model.users[op.who].id {
                return Err(format!("{what}: createdBy {}", reply.1["createdBy"]));
            }
        }
        Action::Read { target }
        | Action::Rename { target, .. }
        | Action::Delete { target }
        | Action::Move { target, .. } => {
            let id = world.target_id(model, target);
            let path = format!("/api/projects/{id}");
            let request = match op.action {
                Action::Read { .. } => world.tenant(model, op, Method::GET, &path),
                Action::Rename { name, describe, .. } => {
                    let mut body = json!({ "name": format!("n{name}") });
                    if describe {
                        body["description"] = json!(format!("d{n}"));
                    }
                    world.tenant(model, op, Method::PATCH, &path).json(&body)
                }
                Action::Delete { .. } => world.tenant(model, op, Method::DELETE, &path),
                Action::Move { to, how, .. } => {
                    let to = world.org_id(model, to).unwrap_or_default();
                    match how {
                        MoveHow::PatchCamel => world
                            .tenant(model, op, Method::PATCH, &path)
                            .json(&json!({ "organizationId": to })),
                        MoveHow::PatchSnake => world
                            .tenant(model, op, Method::PATCH, &path)
                            .json(&json!({ "name": "moved", "organization_id": to })),
                        MoveHow::CreateInto => world
                            .tenant(model, op, Method::POST, "/api/projects")
                            .json(&json!({ "name": "moved", "organizationId": to })),
                    }
                }
                _ => unreachable!(),
            };
            let reply = world.send(request).await?;
            let Acting::In(org) = acting else {
                return expect_unresolved(what, &reply, acting);
            };
            if let Action::Move { .. } = op.action {
                // Rows have no way to change organization: unknown fields are refused.
                return expect(what, &reply, 400, Some("INVALID_INPUT"));
            }
            if target == Target::Malformed {
                return expect(what, &reply, 400, Some("INVALID_INPUT"));
            }
            // The path is parsed first; then the scope, before the lookup.
            if read_only && !matches!(op.action, Action::Read { .. }) {
                return expect(what, &reply, 403, Some(SCOPE));
            }
            let id = Uuid::try_parse(&id).map_err(|e| e.to_string())?;
            if !model.orgs[org].projects.contains_key(&id) {
                // Foreign, deleted, outside or unknown: all look missing.
                return expect(what, &reply, 404, Some("NOT_FOUND"));
            }
            match op.action {
                Action::Read { .. } => {
                    expect(what, &reply, 200, None)?;
                    check_project(what, model, org, &reply.1)?;
                }
                Action::Rename { name, describe, .. } => {
                    let name = format!("n{name}");
                    let taken = model.orgs[org]
                        .projects
                        .iter()
                        .any(|(other, (n, _))| *other != id && *n == name);
                    if taken {
                        return expect(what, &reply, 409, Some("PROJECT_NAME_TAKEN"));
                    }
                    expect(what, &reply, 200, None)?;
                    let project = model.orgs[org].projects.get_mut(&id).expect("checked");
                    project.0 = name;
                    if describe {
                        project.1 = format!("d{n}");
                    }
                    check_project(what, model, org, &reply.1)?;
                }
                Action::Delete { .. } => {
                    expect(what, &reply, 204, None)?;
                    model.orgs[org].projects.remove(&id);
                    model.orgs[org].deleted += 1;
                }
                _ => unreachable!(),
            }
        }
        Action::List { limit } => {
            let Acting::In(org) = acting else {
                let reply = world
                    .send(world.tenant(model, op, Method::GET, "/api/projects"))
                    .await?;
                return expect_unresolved(what, &reply, acting);
            };
            check_listing(world, model, org, limit, |path| {
                world.tenant(model, op, Method::GET, path)
            })
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        }
        Action::RecordUsage { project, tokens } => {
            let mut body = json!({ "model": "gpt-4o-mini", "inputTokens": tokens,
                                   "outputTokens": 1, "occurredAt": USAGE_AT });
            let project_id = project.map(|target| world.target_id(model, target));
            if let Some(id) = &project_id {
                body["projectId"] = json!(id);
            }
            let request = world.tenant(model, op, Method::POST, "/api/usage");
            let reply = world.send(request.json(&body)).await?;
            let Acting::In(org) = acting else {
                return expect_unresolved(what, &reply, acting);
            };
            if read_only {
                // A malformed project id fails the body's parse, before the scope.
                if project == Some(Target::Malformed) {
                    return expect(what, &reply, 400, Some("INVALID_INPUT"));
                }
                return expect(what, &reply, 403, Some(SCOPE));
            }
            let own = project_id.as_deref().is_none_or(|id| {
                Uuid::try_parse(id).is_ok_and(|id| model.orgs[org].projects.contains_key(&id))
            });
            if !own {
                // Referencing another organization's project looks like a missing one.
                return expect(what, &reply, 400, Some("INVALID_INPUT"));
            }
            expect(what, &reply, 201, None)?;
            model.orgs[org].usage_events += 1;
            model.orgs[org].usage_input_tokens += i64::from(tokens);
        }
        Action::Report => {
            let path = format!("/api/usage/report?{REPORT_QUERY}");
            let reply = world
                .send(world.tenant(model, op, Method::GET, &path))
                .await?;
            let Acting::In(org) = acting else {
                return expect_unresolved(what, &reply, acting);
            };
            expect(what, &reply, 200, None)?;
            let days = reply.1["days"].as_array().cloned().unwrap_or_default();
            let sum = |field: &str| days.iter().filter_map(|d| d[field].as_i64()).sum::<i64>();
            let (events, input) = (sum("events"), sum("inputTokens"));
            let state = &model.orgs[org];
            if (events, input) != (state.usage_events, state.usage_input_tokens) {
                return Err(format!(
                    "{what}: report has {events} events / {input} tokens, model {} / {}",
                    state.usage_events, state.usage_input_tokens
                ));
            }
        }
        Action::Members => {
            let reply = world
                .send(world.tenant(model, op, Method::GET, "/api/members"))
                .await?;
            let Acting::In(org) = acting else {
                return expect_unresolved(what, &reply, acting);
            };
            expect(what, &reply, 200, None)?;
            let listed: BTreeSet<String> = reply
                .1
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|m| {
                    if str_of(m, "organizationId") == model.orgs[org].id {
                        Ok(str_of(m, "userId").to_owned())
                    } else {
                        Err(format!("{what}: a member row of another organization: {m}"))
                    }
                })
                .collect::<Result<_, _>>()?;
            let expected: BTreeSet<String> = model.orgs[org]
                .members
                .keys()
                .map(|&u| model.users[u].id.clone())
                .collect();
            if listed != expected {
                return Err(format!("{what}: members {listed:?}, model {expected:?}"));
            }
        }
        Action::AuditLog => {
            let request = world.tenant(model, op, Method::GET, "/api/audit-log?limit=100");
            let reply = world.send(request).await?;
            let Acting::In(org) = acting else {
                return expect_unresolved(what, &reply, acting);
            };
            if model.orgs[org].members[&op.who].0 == Role::Member {
                return expect(what, &reply, 403, Some("FORBIDDEN"));
            }
            expect(what, &reply, 200, None)?;
            let state = &model.orgs[org];
            let entries = reply.1["items"].as_array().cloned().unwrap_or_default();
            let (mut creates, mut deletes) = (0, 0);
            for entry in &entries {
                let actor = str_of(entry, "actorUserId");
                if !state.ever_members.contains(actor) {
                    return Err(format!("{what}: audit entry by a non-member: {entry}"));
                }
                if str_of(entry, "targetType") == "project" {
                    let target = Uuid::try_parse(str_of(entry, "targetId"));
                    if !target.is_ok_and(|id| state.created.contains(&id)) {
                        return Err(format!(
                            "{what}: audit entry for a foreign project: {entry}"
                        ));
                    }
                }
                match str_of(entry, "action") {
                    "project.create" => creates += 1,
                    "project.delete" => deletes += 1,
                    _ => {}
                }
            }
            if reply.1["nextCursor"].is_null()
                && (creates, deletes) != (state.created.len(), state.deleted)
            {
                return Err(format!(
                    "{what}: audit log has {creates} creates / {deletes} deletes, model {} / {}",
                    state.created.len(),
                    state.deleted
                ));
            }
        }
        Action::SetActive => {
            let user = &model.users[op.who];
            let id = world.org_id(model, op.org);
            let request = world
                .request(
                    Method::POST,
                    "/api/auth/organization/set-active",
                    user,
                    op.cred,
                )
                .json(&json!({ "organizationId": id }));
            let reply = world.send(request).await?;
            if acting == Acting::Unauthorized {
                return expect_unresolved(what, &reply, acting);
            }
            if op.cred.is_pat() {
                return expect(what, &reply, 403, Some("FORBIDDEN"));
            }
            match op.org {
                Org::Implicit => {
                    expect(what, &reply, 200, None)?;
                    model.users[op.who].active = None;
                }
                Org::Malformed => expect(what, &reply, 400, Some("INVALID_INPUT"))?,
                Org::Named(k) if model.is_member(op.who, k) => {
                    expect(what, &reply, 200, None)?;
                    if str_of(&reply.1, "id") != model.orgs[k].id {
                        return Err(format!("{what}: set-active returned {}", reply.1["id"]));
                    }
                    model.users[op.who].active = Some(k);
                }
                _ => expect(what, &reply, 404, Some("NOT_FOUND"))?,
            }
        }
        Action::Verify => verify(world, &mut model.users[op.who]).await?,
        Action::Invite {
            invitee,
            admin,
            accept,
        } => {
            let role = if admin { "admin" } else { "member" };
            let org_field = world.org_id(model, op.org);
            let creds = (op.cred, accept);
            let (reply, accepted) =
                invite_and_accept(world, model, op.who, creds, org_field, invitee, role).await?;
            let Acting::In(org) = acting else {
                return expect_unresolved(what, &reply, acting);
            };
            if read_only {
                return expect(what, &reply, 403, Some(SCOPE));
            }
            let (inviter_role, _) = model.orgs[org].members[&op.who];
            if inviter_role == Role::Member {
                return expect(what, &reply, 403, Some("FORBIDDEN"));
            }
            if model.is_member(invitee, org) {
                let code = "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION";
                return expect(what, &reply, 400, Some(code));
            }
            if model.orgs[org].pending.contains_key(&invitee) {
                return expect(what, &reply, 409, Some("USER_IS_ALREADY_INVITED"));
            }
            expect(what, &reply, 200, None)?;
            if str_of(&reply.1, "organizationId") != model.orgs[org].id {
                return Err(format!(
                    "{what}: invitation into {}",
                    reply.1["organizationId"]
                ));
            }
            model.invitations.push(InvState {
                id: str_of(&reply.1, "id").to_owned(),
                org,
                invitee,
                inviter: op.who,
                status: InvStatus::Pending,
            });
            let accepted = accepted.ok_or_else(|| format!("{what}: no acceptance"))?;
            // Accepting is work on the account (`require_account`): the
            // binding is checked before the scope, both before the email.
            let refused = if model.dead(invitee, accept) {
                Some((401, "UNAUTHORIZED"))
            } else if model.bound(invitee, accept).is_some() {
                Some((403, BOUND))
            } else if model.read_only(invitee, accept) {
                Some((403, SCOPE))
            } else if !model.users[invitee].verified {
                Some((
                    403,
                    "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION",
                ))
            } else {
                None
            };
            if let Some((status, code)) = refused {
                expect(what, &accepted, status, Some(code))?;
                model.orgs[org].pending.insert(invitee, op.who);
                return Ok(());
            }
            expect(what, &accepted, 200, None)?;
            model.invitations.last_mut().expect("pushed").status = InvStatus::Accepted;
            let role = if admin { Role::Admin } else { Role::Member };
            model.join(invitee, org, role);
            // Only a session has an active organization to switch.
            if !accept.is_pat() {
                model.users[invitee].active = Some(org);
            }
        }
        Action::Leave => {
            let user = &model.users[op.who];
            let mut body = json!({ "memberIdOrEmail": user.email });
            if let Some(id) = world.org_id(model, op.org) {
                body["organizationId"] = json!(id);
            }
            let request = world
                .request(
                    Method::POST,
                    "/api/auth/organization/remove-member",
                    user,
                    op.cred,
                )
                .json(&body);
            let reply = world.send(request).await?;
            let Acting::In(org) = acting else {
                return expect_unresolved(what, &reply, acting);
            };
            if read_only {
                return expect(what, &reply, 403, Some(SCOPE));
            }
            let owners = model.orgs[org]
                .members
                .values()
                .filter(|(role, _)| *role == Role::Owner)
                .count();
            if model.orgs[org].members[&op.who].0 == Role::Owner && owners == 1 {
                let code = "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER";
                return expect(what, &reply, 400, Some(code));
            }
            expect(what, &reply, 200, None)?;
            model.leave(op.who, org);
        }
        Action::UpdateOrg { name } => {
            let name = format!("renamed {name}");
            let mut body = json!({ "data": { "name": name } });
            if let Some(id) = world.org_id(model, op.org) {
                body["organizationId"] = json!(id);
            }
            let request = world.request(
                Method::POST,
                "/api/auth/organization/update",
                &model.users[op.who],
                op.cred,
            );
            let reply = world.send(request.json(&body)).await?;
            let Acting::In(org) = acting else {
                return expect_unresolved(what, &reply, acting);
            };
            if read_only {
                return expect(what, &reply, 403, Some(SCOPE));
            }
            if model.orgs[org].members[&op.who].0 == Role::Member {
                let code = "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION";
                return expect(what, &reply, 403, Some(code));
            }
            expect(what, &reply, 200, None)?;
            if str_of(&reply.1, "id") != model.orgs[org].id || str_of(&reply.1, "name") != name {
                return Err(format!("{what}: update answered {}", reply.1));
            }
        }
        Action::DeleteOrg | Action::LeaveOrg => {
            let path = match op.action {
                Action::DeleteOrg => "/api/auth/organization/delete",
                _ => "/api/auth/organization/leave",
            };
            let body = match world.org_id(model, op.org) {
                Some(id) => json!({ "organizationId": id }),
                None => json!({}),
            };
            let request = world.request(Method::POST, path, &model.users[op.who], op.cred);
            let reply = world.send(request.json(&body)).await?;
            if acting == Acting::Unauthorized {
                return expect_unresolved(what, &reply, acting);
            }
            if op.org == Org::Implicit {
                // Both name the organization explicitly, as Better Auth's do.
                return expect(what, &reply, 400, Some("INVALID_INPUT"));
            }
            let Acting::In(org) = acting else {
                return expect_unresolved(what, &reply, acting);
            };
            if read_only {
                return expect(what, &reply, 403, Some(SCOPE));
            }
            let role = model.orgs[org].members[&op.who].0;
            if op.action == Action::DeleteOrg {
                if role != Role::Owner {
                    let code = "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION";
                    return expect(what, &reply, 403, Some(code));
                }
                // Irreversible: a leaked token is not enough.
                if op.cred.is_pat() {
                    return expect(what, &reply, 403, Some("SESSION_REQUIRED"));
                }
                expect(what, &reply, 200, None)?;
                if str_of(&reply.1, "id") != model.orgs[org].id {
                    return Err(format!("{what}: deleted {}", reply.1["id"]));
                }
                let state = &mut model.orgs[org];
                state.gone = true;
                state.members.clear();
                state.pending.clear();
                state.projects.clear();
                state.usage_events = 0;
                state.usage_input_tokens = 0;
                for invitation in &mut model.invitations {
                    if invitation.org == org {
                        invitation.status = InvStatus::Gone;
                    }
                }
                // `session.active_organization_id` is `on delete set null`.
                for user in &mut model.users {
                    if user.active == Some(org) {
                        user.active = None;
                    }
                }
                return Ok(());
            }
            let owners = model.orgs[org]
                .members
                .values()
                .filter(|(role, _)| *role == Role::Owner)
                .count();
            if role == Role::Owner && owners == 1 {
                let code = "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER";
                return expect(what, &reply, 400, Some(code));
            }
            expect(what, &reply, 200, None)?;
            if str_of(&reply.1, "userId") != model.users[op.who].id
                || str_of(&reply.1, "organizationId") != model.orgs[org].id
            {
                return Err(format!("{what}: left as {}", reply.1));
            }
            model.leave(op.who, org);
            // Better Auth's leave also clears the session's active organization.
            if !op.cred.is_pat() && model.users[op.who].active == Some(org) {
                model.users[op.who].active = None;
            }
        }
        Action::CancelInvitation { target } | Action::RejectInvitation { target, .. } => {
            let found = model.invitation(target);
            let who = match (op.action, found) {
                (
                    Action::RejectInvitation {
                        by_invitee: true, ..
                    },
                    Some(i),
                ) => model.invitations[i].invitee,
                _ => op.who,
            };
            let id = match (target, found) {
                (InvTarget::Malformed, _) => "not-a-uuid".to_owned(),
                (_, Some(i)) => model.invitations[i].id.clone(),
                _ => Uuid::new_v4().to_string(),
            };
            let cancel = matches!(op.action, Action::CancelInvitation { .. });
            let path = if cancel {
                "/api/auth/organization/cancel-invitation"
            } else {
                "/api/auth/organization/reject-invitation"
            };
            let request = world.request(Method::POST, path, &model.users[who], op.cred);
            let reply = world
                .send(request.json(&json!({ "invitationId": id })))
                .await?;
            if model.dead(who, op.cred) {
                return expect(what, &reply, 401, Some("UNAUTHORIZED"));
            }
            if target == InvTarget::Malformed {
                return expect(what, &reply, 400, Some("INVALID_INPUT"));
            }
            // Rejecting is work on the account; cancelling, in the
            // invitation's organization, which a bound token must be in.
            if !cancel && model.bound(who, op.cred).is_some() {
                return expect(what, &reply, 403, Some(BOUND));
            }
            if model.read_only(who, op.cred) {
                return expect(what, &reply, 403, Some(SCOPE));
            }
            if !cancel && !model.users[who].verified {
                let code = "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION";
                return expect(what, &reply, 403, Some(code));
            }
            let Some(i) = found.filter(|&i| model.invitations[i].status != InvStatus::Gone) else {
                return expect(what, &reply, 404, Some("NOT_FOUND"));
            };
            let (org, invitee, status) = {
                let invitation = &model.invitations[i];
                (invitation.org, invitation.invitee, invitation.status)
            };
            if cancel {
                if model.bound(who, op.cred).is_some_and(|bound| bound != org) {
                    return expect(what, &reply, 404, Some("NOT_FOUND"));
                }
                let Some(&(role, _)) = model.orgs[org].members.get(&who) else {
                    return expect(what, &reply, 404, Some("NOT_FOUND"));
                };
                if role == Role::Member {
                    let code = "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION";
                    return expect(what, &reply, 403, Some(code));
                }
            } else if invitee != who {
                return expect(what, &reply, 404, Some("NOT_FOUND"));
            }
            if status != InvStatus::Pending {
                return expect(what, &reply, 400, Some("INVITATION_NOT_PENDING"));
            }
            expect(what, &reply, 200, None)?;
            let answered = if cancel {
                &reply.1
            } else {
                &reply.1["invitation"]
            };
            let expected = if cancel { "canceled" } else { "rejected" };
            if str_of(answered, "id") != model.invitations[i].id
                || str_of(answered, "organizationId") != model.orgs[org].id
                || str_of(answered, "status") != expected
            {
                return Err(format!("{what}: answered {}", reply.1));
            }
            model.invitations[i].status = if cancel {
                InvStatus::Canceled
            } else {
                InvStatus::Rejected
            };
            model.orgs[org].pending.remove(&invitee);
            if !cancel {
                let id = model.users[who].id.clone();
                model.orgs[org].ever_members.insert(id);
            }
        }
        Action::ListOrgs => {
            let user = &model.users[op.who];
            let path = "/api/auth/organization/list";
            let reply = world
                .send(world.request(Method::GET, path, user, op.cred))
                .await?;
            if acting == Acting::Unauthorized {
                return expect_unresolved(what, &reply, acting);
            }
            expect(what, &reply, 200, None)?;
            let listed: BTreeSet<&str> = reply
                .1
                .as_array()
                .map(|orgs| orgs.iter().map(|o| str_of(o, "id")).collect())
                .unwrap_or_default();
            // A bound token sees its organization alone, while a member.
            let bound = model.bound(op.who, op.cred);
            let expected: BTreeSet<&str> = (0..ORGS)
                .filter(|&k| model.is_member(op.who, k) && bound.is_none_or(|b| b == k))
                .map(|k| model.orgs[k].id.as_str())
                .collect();
            if listed != expected {
                return Err(format!(
                    "{what}: organizations {listed:?}, model {expected:?}"
                ));
            }
        }
        Action::Mint { read_only: asked } => {
            let id = world.org_id(model, op.org);
            let body = token_body(!asked, id.as_deref());
            let request = world.request(Method::POST, "/api/tokens", &model.users[op.who], op.cred);
            let reply = world.send(request.json(&body)).await?;
            if acting == Acting::Unauthorized {
                return expect_unresolved(what, &reply, acting);
            }
            // The body's fields are checked before who may mint.
            if op.org == Org::Malformed {
                return expect(what, &reply, 400, Some("INVALID_INPUT"));
            }
            if op.cred.is_pat() {
                return expect(what, &reply, 403, Some("SESSION_REQUIRED"));
            }
            let bound = match op.org {
                Org::Implicit => None,
                Org::Named(k) if model.is_member(op.who, k) => Some(k),
                _ => return expect(what, &reply, 404, Some("NOT_FOUND")),
            };
            let id = id.unwrap_or_default();
            let token = minted(what, &reply, !asked, bound.map(|k| (k, id.as_str())))?;
            let slot = if asked { Slot::ReadBound } else { Slot::Bound };
            model.users[op.who].hold(slot, token);
        }
        Action::ListTokens => {
            let user = &model.users[op.who];
            let reply = world
                .send(world.request(Method::GET, "/api/tokens", user, op.cred))
                .await?;
            if acting == Acting::Unauthorized {
                return expect_unresolved(what, &reply, acting);
            }
            if op.cred.is_pat() {
                return expect(what, &reply, 403, Some("SESSION_REQUIRED"));
            }
            expect(what, &reply, 200, None)?;
            let listed: BTreeSet<String> = reply
                .1
                .as_array()
                .map(|tokens| tokens.iter().map(token_line).collect())
                .unwrap_or_default();
            // Not the revoked, nor those bound to a deleted organization.
            let expected: BTreeSet<String> = user
                .minted
                .iter()
                .filter(|t| model.live(t))
                .map(|t| {
                    let scopes = if t.write { "read,write" } else { "read" };
                    let bound = t.bound.map_or("", |k| model.orgs[k].id.as_str());
                    format!("{} {scopes} {bound}", t.id)
                })
                .collect();
            if listed != expected {
                return Err(format!("{what}: tokens {listed:?}, model {expected:?}"));
            }
        }
        Action::Revoke { other } => {
            let user = &model.users[op.who];
            let full = user.token_index(Slot::Full);
            // The index in `minted` of the token the request should revoke.
            let target = match op.cred {
                Cred::Pat(slot) => Some(user.token_index(slot)).filter(|&i| i != full && !other),
                Cred::Session | Cred::Cookie => {
                    user.tokens[Slot::Bound as usize].filter(|_| !other)
                }
            };
            let id = match (target, op.cred) {
                (Some(i), _) => user.minted[i].id.clone(),
                // A token trying another: the full one, or when it is the
                // full one, one that is not there.
                (None, Cred::Pat(slot)) if user.token_index(slot) != full => {
                    user.minted[full].id.clone()
                }
                (None, _) => Uuid::new_v4().to_string(),
            };
            let path = format!("/api/tokens/{id}");
            let reply = world
                .send(world.request(Method::DELETE, &path, user, op.cred))
                .await?;
            if acting == Acting::Unauthorized {
                return expect_unresolved(what, &reply, acting);
            }
            let Some(i) = target else {
                if op.cred.is_pat() {
                    return expect(what, &reply, 403, Some("FORBIDDEN"));
                }
                return expect(what, &reply, 404, Some("NOT_FOUND"));
            };
            // A session's revocation of a token already gone.
            if !model.live(&user.minted[i]) {
                return expect(what, &reply, 404, Some("NOT_FOUND"));
            }
            expect(what, &reply, 204, None)?;
            model.users[op.who].minted[i].revoked = true;
        }
    }
    Ok(())
}

/// A listed token as `id scopes organization`, to compare with the model.
fn token_line(token: &Value) -> String {
    let scopes: Vec<&str> = token["scopes"]
        .as_array()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    format!(
        "{} {} {}",
        str_of(token, "id"),
        scopes.join(","),
        str_of(token, "organizationId")
    )
}

/// After a case: every organization holds exactly what the model says, and
/// the organization outside the case is untouched.
async fn final_check(world: &World, model: &Model) -> Result<(), String> {
    for org in 0..ORGS {
        if model.orgs[org].gone {
            let owner = world.app.test.owner().await;
            let id = Uuid::parse_str(&model.orgs[org].id).map_err(|e| e.to_string())?;
            for table in [
                "member",
                "invitation",
                "project",
                "usage_event",
                "audit_log",
            ] {
                let sql = format!("select count(*) from {table} where organization_id = $1");
                let left: i64 = owner
                    .query_one(&sql, &[&id])
                    .await
                    .map_err(|e| e.to_string())?
                    .get(0);
                if left != 0 {
                    return Err(format!(
                        "deleted organization {org} left {left} {table} rows"
                    ));
                }
            }
            continue;
        }
        let (&owner, _) = model.orgs[org]
            .members
            .iter()
            .find(|(_, (role, _))| *role == Role::Owner)
            .ok_or("an organization without an owner")?;
        let pat = &model.users[owner].token(Slot::Full).secret;
        let id = &model.orgs[org].id;
        check_listing(world, model, org, 100, |path| {
            world.app.get(path, pat).header("x-organization-id", id)
        })
        .await
        .map_err(|e| format!("final check of organization {org}: {e}"))?;
    }
    let reply = world
        .send(world.app.get("/api/projects?limit=100", &world.outside_pat))
        .await?;
    expect("outside organization", &reply, 200, None)?;
    if reply.1["items"].as_array() != Some(&world.outside_projects) {
        return Err(format!(
            "the organization outside the case changed: {}",
            reply.1["items"]
        ));
    }
    Ok(())
}

async fn run_case(world: &World, case: &Case) -> Result<(), String> {
    let mut model = set_up(world, &case.memberships, &case.bindings)
        .await
        .map_err(|e| format!("setting up: {e}"))?;
    for (n, op) in case.steps.iter().enumerate() {
        let Some(op) = op else { continue };
        world.operations.fetch_add(1, Ordering::Relaxed);
        step(world, &mut model, op, n)
            .await
            .map_err(|e| format!("step {n}: {e}"))?;
    }
    final_check(world, &model).await
}

async fn world() -> World {
    let test = tenantry_testkit::TestDb::new().await;
    let owner = test.owner().await;
    owner
        .batch_execute(&format!(
            "alter database \"{}\" set synchronous_commit = off",
            test.name()
        ))
        .await
        .unwrap();
    tenantry_db::seed(&test.db).await.expect("seed");
    let app = common::spawn_app_on(test).await;
    let origin = format!("http://{}", app.addr);
    let (outsider, outside_org) = app
        .owner_of("Olga", "olga-outside@example.com", "outside")
        .await;
    let outside_pat = app.create_pat(&outsider.session, "outside").await;
    let mut outside_projects = Vec::new();
    for name in ["n0", "n1"] {
        outside_projects.push(app.create_project(&outside_pat, name).await);
    }
    World {
        app,
        origin,
        outside_org,
        outside_projects,
        outside_pat,
        http_requests: AtomicU64::new(0),
        operations: AtomicU64::new(0),
    }
}

#[test]
fn no_sequence_of_http_operations_crosses_tenants() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let world = runtime.block_on(world());
    let config = Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(DEFAULT_CASES),
        // Shrinking replays whole cases over HTTP: bound it in time too.
        max_shrink_iters: 4_000,
        max_shrink_time: 300_000,
        source_file: Some(file!()),
        // Next to this file: `tests/` has no lib.rs for `SourceParallel`.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    // A seed of our own (unless PROPTEST_RNG_SEED names one) so that the
    // failure message can say how to replay the whole run.
    let seed = match config.rng_seed {
        RngSeed::Fixed(seed) => seed,
        RngSeed::Random => rand_seed(),
    };
    let cases = config.cases;
    let started = Instant::now();
    // Cases are independent (fresh users and organizations), so RUNNERS
    // runners share the server, each with its share of the cases and a seed
    // of its own (the run's seed + its number): while one waits for
    // PostgreSQL, the other works.
    let results: Vec<_> = std::thread::scope(|scope| {
        let runners: Vec<_> = (0..RUNNERS)
            .map(|i| {
                let mut config = config.clone();
                config.cases = cases / RUNNERS + u32::from(i < cases % RUNNERS);
                config.rng_seed = RngSeed::Fixed(seed.wrapping_add(u64::from(i)));
                let (world, runtime) = (&world, &runtime);
                scope.spawn(move || {
                    TestRunner::new(config).run(&case(), |case| {
                        runtime
                            .block_on(run_case(world, &case))
                            .map_err(TestCaseError::fail)
                    })
                })
            })
            .collect();
        runners.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let summary = format!(
        "{cases} cases, {} operations ({} HTTP requests with set-up and checks) in {:.1} s",
        world.operations.load(Ordering::Relaxed),
        world.http_requests.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    eprintln!("isolation model over HTTP: {summary}");
    let failures: Vec<String> = results
        .into_iter()
        .enumerate()
        .filter_map(|(i, result)| {
            let error = result.err()?;
            Some(format!(
                "runner {i} (seed {}): {error}",
                seed.wrapping_add(i as u64)
            ))
        })
        .collect();
    if !failures.is_empty() {
        panic!(
            "{}\n\n{summary}\nreplay this run with PROPTEST_RNG_SEED={seed} \
             (runner i uses that seed + i); proptest also saved the failing case's \
             seed (the `cc` line above), which the next run replays first",
            failures.join("\n\n")
        );
    }
}

fn rand_seed() -> u64 {
    let uuid = Uuid::new_v4().as_u128();
    (uuid >> 64) as u64 ^ uuid as u64
}
