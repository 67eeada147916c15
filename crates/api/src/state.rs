//! What every handler shares.

use std::sync::Arc;

use tenantry_app::{App, Database};
use tenantry_auth::password::PasswordHashing;

use crate::limits::{RateLimits, RequestLimiter};
use crate::mailer::Mailer;
use crate::origin::TrustedOrigins;

/// Settings that shape authentication.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// HMAC key for session cookies (Better Auth's `BETTER_AUTH_SECRET`).
    pub secret: Vec<u8>,
    /// Mark cookies `Secure` (when served over TLS, directly or behind a
    /// proxy); the server's own origin is then `https://` and its `Host`.
    pub secure_cookies: bool,
    /// Session lifetime (Better Auth's `expiresIn`, 7 days).
    pub session_ttl: chrono::Duration,
    /// Refresh a session when it is older than this (Better Auth's `updateAge`, 1 day).
    pub session_refresh_after: chrono::Duration,
    /// Origins, besides the server's own, allowed to send cookie-authenticated
    /// writes (a front end on another host) and to be the target of emailed
    /// links, e.g. `https://app.example.com`: scheme, host and optional port
    /// ([`TrustedOrigins::parse`]).
    pub trusted_origins: TrustedOrigins,
    /// Accept an invitation only with a verified email (Better Auth's
    /// `requireEmailVerificationOnInvitation`). On by default: otherwise
    /// whoever registers an invited address first takes the invitation, as
    /// the invitation's id is no secret from the organization's managers,
    /// their mail and whatever they paste it into.
    pub require_email_verification_on_invitation: bool,
    /// The format new password hashes are written in. argon2id by default;
    /// [`PasswordHashing::BetterAuthScrypt`] where a Better Auth application
    /// shares the database, so that neither side locks a user out
    /// (docs/better-auth.md).
    pub password_hashing: PasswordHashing,
    /// Most organizations a user may belong to when creating one (Better
    /// Auth's `organizationLimit`; `None`, its default, is no limit).
    pub organization_limit: Option<u32>,
    /// Most members an organization may have (Better Auth's `membershipLimit`, 100).
    pub membership_limit: u32,
    /// Most live pending invitations an organization may have (Better Auth's
    /// `invitationLimit`, 100).
    pub invitation_limit: u32,
    /// Re-inviting a pending address withdraws the old invitation instead of
    /// a 409 (Better Auth's `cancelPendingInvitationsOnReInvite`, off).
    pub cancel_pending_invitations_on_reinvite: bool,
    /// Serve `POST /api/auth/delete-user`. Off in Better Auth
    /// (`user.deleteUser.enabled`); on here, since tenantry always asks for
    /// the password and refuses to orphan an organization.
    pub delete_user_enabled: bool,
}

impl AuthSettings {
    /// Better Auth's defaults with the given secret, except that accepting an
    /// invitation always needs a verified email (Better Auth 1.7 asks for
    /// one only when invitation ids are not its own random ones).
    pub fn new(secret: Vec<u8>) -> Self {
        // The service layer's defaults are the one place Better Auth's are written.
        let rules = tenantry_app::Settings::default();
        AuthSettings {
            secret,
            secure_cookies: false,
            session_ttl: rules.session_ttl,
            session_refresh_after: rules.session_refresh_after,
            trusted_origins: TrustedOrigins::default(),
            require_email_verification_on_invitation: rules
                .require_email_verification_on_invitation,
            password_hashing: PasswordHashing::default(),
            organization_limit: rules.organization_limit,
            membership_limit: rules.membership_limit,
            invitation_limit: rules.invitation_limit,
            cancel_pending_invitations_on_reinvite: rules.cancel_pending_invitations_on_reinvite,
            delete_user_enabled: rules.delete_user_enabled,
        }
    }
}

impl AuthSettings {
    /// What the service layer needs of these settings.
    pub fn app_settings(&self) -> tenantry_app::Settings {
        tenantry_app::Settings {
            session_secret: self.secret.clone(),
            session_ttl: self.session_ttl,
            session_refresh_after: self.session_refresh_after,
            require_email_verification_on_invitation: self.require_email_verification_on_invitation,
            organization_limit: self.organization_limit,
            membership_limit: self.membership_limit,
            invitation_limit: self.invitation_limit,
            cancel_pending_invitations_on_reinvite: self.cancel_pending_invitations_on_reinvite,
            delete_user_enabled: self.delete_user_enabled,
            ..tenantry_app::Settings::default()
        }
    }
}

/// Shared by all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The service layer, which every handler calls.
    pub app: App,
    /// Authentication settings.
    pub auth: Arc<AuthSettings>,
    /// Where verification and reset links go.
    pub mailer: Arc<dyn Mailer>,
    /// Password hashing is deliberately expensive (argon2id: 19 MiB, tens of
    /// milliseconds); at most this many run at once, so a burst of sign-ins
    /// queues instead of exhausting memory.
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// Emailed links are looked up, stored and sent after the response (so
    /// its timing does not say whether the address has an account); at most
    /// [`LINK_MAILS_IN_FLIGHT`] at once.
    pub link_mails: Arc<tokio::sync::Semaphore>,
    /// The abuse limits ([`crate::limits`]).
    pub limits: Arc<RateLimits>,
    /// Their per-route counters.
    pub request_limiter: Arc<RequestLimiter>,
    /// The pace of refused sign-ins ([`crate::pacing`]).
    pub sign_in_pacing: Arc<crate::pacing::SignInPacing>,
}

impl AppState {
    /// State for serving `db` with `auth`, mailing through `mailer`. The
    /// service layer is made here from `auth`, so the cookies the API signs
    /// and the sessions the service layer verifies use the same settings;
    /// a surface that serves beside the API shares [`AppState::app`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use tenantry_api::{AppState, AuthSettings, LogMailer};
    /// # fn example(db: tenantry_app::Database) {
    /// let mut auth = AuthSettings::new(b"a secret of at least 32 characters".to_vec());
    /// auth.secure_cookies = true; // served over TLS
    /// let state = AppState::new(db, auth, Arc::new(LogMailer));
    /// // A surface beside the API (MCP) takes the same service layer.
    /// let _service_layer: tenantry_app::App = state.app.clone();
    /// # }
    /// ```
    pub fn new(db: Database, auth: AuthSettings, mailer: Arc<dyn Mailer>) -> Self {
        AppState::with_limits(db, auth, mailer, RateLimits::default())
    }

    /// [`AppState::new`] under `limits`, which also set the service
    /// layer's failed-credential limit.
    pub fn with_limits(
        db: Database,
        auth: AuthSettings,
        mailer: Arc<dyn Mailer>,
        limits: RateLimits,
    ) -> Self {
        let mut settings = auth.app_settings();
        settings.failed_credentials = limits.failed_credential_rule();
        AppState {
            app: App::new(db, settings),
            auth: Arc::new(auth),
            mailer,
            hashing: Arc::new(tokio::sync::Semaphore::new(hashing_permits())),
            link_mails: Arc::new(tokio::sync::Semaphore::new(LINK_MAILS_IN_FLIGHT)),
            request_limiter: Arc::new(RequestLimiter::new(&limits)),
            sign_in_pacing: Arc::default(),
            limits: Arc::new(limits),
        }
    }
}

/// Link mails being prepared at once. Beyond it a request is answered as
/// always but not mailed (and a warning logged): a flood of requests cannot
/// pile up tasks and connections, and the client cannot tell either way.
pub const LINK_MAILS_IN_FLIGHT: usize = 64;

/// Concurrent password hashes: one per core.
pub fn hashing_permits() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}
