//! One function per command.

use anyhow::{Context, bail};
use tenantry_app::tokens::MintedToken;
use tenantry_app::{App, AppError, OrganizationId, PatId, Scopes, TokenGrant};
use tenantry_cluster::Status;
use tenantry_db::{AppMigrations, Database, MigrationReport, setup};
use tenantry_server::{
    Application, AuthSettings, Extension, PasswordHashing, SafetyCheck, Settings,
};

use crate::database::Target;

pub fn db_start(target: &Target) -> anyhow::Result<()> {
    let cluster = target.cluster()?;
    cluster
        .start()
        .context("starting the embedded PostgreSQL cluster")?;
    println!(
        "running on port {}, data in {}",
        cluster.port()?,
        cluster.root().display()
    );
    Ok(())
}

pub fn db_stop(target: &Target) -> anyhow::Result<()> {
    target.cluster()?.stop()?;
    println!("stopped");
    Ok(())
}

pub fn db_status(target: &Target) -> anyhow::Result<()> {
    let cluster = target.cluster()?;
    match cluster.status()? {
        Status::NotInitialized => println!("not initialised ({})", cluster.root().display()),
        Status::Stopped => println!("stopped ({})", cluster.root().display()),
        Status::Running { port, pid } => {
            let pid = pid.map(|p| format!(", pid {p}")).unwrap_or_default();
            println!(
                "running on 127.0.0.1:{port}{pid} ({})",
                cluster.root().display()
            );
        }
    }
    Ok(())
}

pub fn db_url(target: &Target) -> anyhow::Result<()> {
    let cluster = target.cluster()?;
    if matches!(cluster.status()?, Status::NotInitialized) {
        bail!("the cluster is not initialised yet: run `tenantry db start`");
    }
    println!("{}", cluster.owner_url(tenantry_cluster::DEFAULT_DATABASE)?);
    Ok(())
}

pub async fn migrate(target: &Target, migrations: &AppMigrations) -> anyhow::Result<()> {
    let db = target.connect().await?;
    migrate_database(target, &db, migrations).await
}

pub async fn seed(target: &Target) -> anyhow::Result<()> {
    let db = target.connect().await?;
    let report = tenantry_db::seed(&db).await.context("seeding")?;
    println!("seeded: {} rows inserted", report.inserted);
    Ok(())
}

/// How `tenantry serve` was asked to run (its flags, parsed).
pub struct ServeOptions {
    pub with_demo_data: bool,
    pub bind: std::net::SocketAddr,
    pub secure_cookies: bool,
    pub trusted_origins: Vec<String>,
    pub password_hashing: PasswordHashing,
    pub allow_unsafe_database: bool,
    pub rate_limits: tenantry_api::RateLimits,
}

/// The run command: database up, migrated, (seeded), proven safe, then the
/// HTTP API and /mcp until Ctrl-C or SIGTERM, finishing in-flight requests.
pub async fn serve(
    target: &Target,
    options: ServeOptions,
    extension: Extension,
) -> anyhow::Result<()> {
    let ServeOptions {
        with_demo_data,
        bind,
        secure_cookies,
        trusted_origins,
        password_hashing,
        allow_unsafe_database,
        rate_limits,
    } = options;
    if !rate_limits.enabled {
        tracing::warn!(
            "abuse limits are off (--rate-limit off): nothing slows password or token guessing"
        );
    }
    let db = target.connect().await?;
    let mut auth = AuthSettings::new(target.auth_secret()?);
    auth.secure_cookies = secure_cookies;
    auth.password_hashing = password_hashing;
    auth.trusted_origins = tenantry_api::origin::TrustedOrigins::parse(&trusted_origins)
        .map_err(anyhow::Error::msg)?;
    let mut settings = Settings::new(db, auth)
        .address(bind)
        .demo_data(with_demo_data)
        .safety_check(if allow_unsafe_database {
            SafetyCheck::Warn
        } else {
            SafetyCheck::Refuse
        })
        .rate_limits(rate_limits)
        .extension(extension)
        .on_migrated(print_migrations);
    if let Some(passwords) = target.role_passwords()? {
        settings = settings.role_passwords(passwords);
    }
    let app = Application::build(settings).await?;
    tracing::info!(address = %app.local_addr(), password_hash = %password_hashing, "serving the HTTP API, and MCP at /mcp");
    app.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// `tenantry mcp --stdio`: one agent, one token, stdin and stdout.
pub async fn mcp_stdio(
    target: &Target,
    token: &str,
    tools: tenantry_mcp::Tools,
) -> anyhow::Result<()> {
    let db = target.connect().await?;
    tenantry_mcp::serve_stdio_with(db, token, tools).await?;
    Ok(())
}

/// What `tenantry pat create` was asked for.
pub struct NewToken<'a> {
    /// The user's email.
    pub email: &'a str,
    /// The token's label.
    pub name: &'a str,
    /// Its lifetime.
    pub expires_in_days: Option<i64>,
    /// `--scope`, as given (none: read and write).
    pub scopes: &'a [String],
    /// `--organization`: an id or a slug.
    pub organization: Option<&'a str>,
}

pub async fn pat_create(target: &Target, new: NewToken<'_>) -> anyhow::Result<()> {
    // Checked before the database is asked, so a typo costs no connection.
    let scopes = if new.scopes.is_empty() {
        Scopes::ALL
    } else {
        Scopes::parse(new.scopes).map_err(|e| anyhow::anyhow!("--scope: {}", e.reason))?
    };
    let app = services(target.connect().await?);
    let user = user_by_email(&app, new.email).await?;
    let organization_id = match new.organization {
        None => None,
        Some(given) => Some(organization_by_id_or_slug(&app, given).await?),
    };
    let grant = TokenGrant {
        scopes,
        organization_id,
    };
    let MintedToken { token, summary } = app
        .mint_token(user.id, new.name, new.expires_in_days, grant)
        .await
        .map_err(|e| match e {
            AppError::NotFound("organization") => anyhow::anyhow!(
                "{} is not a member of organization {}",
                user.email,
                new.organization.unwrap_or_default()
            ),
            other => app_error(other),
        })?;
    eprintln!(
        "created token {} ({}) for {} [{}]; it is shown only once:",
        summary.id,
        summary.token_prefix,
        user.email,
        grant_text(summary.scopes, summary.organization_id)
    );
    println!("{token}");
    Ok(())
}

/// An organization named by id, else by slug.
async fn organization_by_id_or_slug(app: &App, given: &str) -> anyhow::Result<OrganizationId> {
    if let Ok(id) = OrganizationId::parse(given) {
        return Ok(id);
    }
    tenantry_db::organizations::find_organization_by_slug(app.database(), given)
        .await?
        .map(|organization| organization.id)
        .ok_or_else(|| {
            anyhow::anyhow!("--organization: no organization has the id or slug {given:?}")
        })
}

/// `scopes read,write` and, when bound, `organization <id>`.
fn grant_text(scopes: Scopes, organization: Option<uuid::Uuid>) -> String {
    match organization {
        Some(id) => format!("scopes {scopes}, organization {id}"),
        None => format!("scopes {scopes}, every organization"),
    }
}

/// `tenantry pat check`: the token's shape and checksum, offline.
pub fn pat_check(given: &str) -> anyhow::Result<()> {
    let token = if given == "-" {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        given.to_owned()
    };
    match tenantry_auth::parse_pat(&token) {
        Ok(parsed) => {
            println!(
                "well-formed tenantry token {}… (whether it is live only the server knows)",
                parsed.lookup_prefix()
            );
            Ok(())
        }
        Err(tenantry_auth::AuthError::BadChecksum) => {
            println!(
                "not a valid tenantry token: its checksum does not match (a typo, or a truncated or altered copy)"
            );
            std::process::exit(1)
        }
        Err(_) => {
            println!(
                "not a tenantry token: expected tnty_ and 38 letters and digits (docs/tokens.md)"
            );
            std::process::exit(1)
        }
    }
}

pub async fn pat_list(target: &Target, email: &str) -> anyhow::Result<()> {
    let app = services(target.connect().await?);
    let user = user_by_email(&app, email).await?;
    let pats = app.list_user_tokens(user.id).await.map_err(app_error)?;
    for pat in pats {
        let expires = pat
            .expires_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "never".into());
        let used = pat
            .last_used_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "never".into());
        println!(
            "{}  {}  {}  {}  expires {expires}  last used {used}",
            pat.id,
            pat.token_prefix,
            pat.name,
            grant_text(pat.scopes, pat.organization_id)
        );
    }
    Ok(())
}

pub async fn pat_revoke(target: &Target, email: &str, id: &str) -> anyhow::Result<()> {
    let app = services(target.connect().await?);
    let user = user_by_email(&app, email).await?;
    let id = PatId::parse(id).context("--id must be a token id (a UUID)")?;
    match app.revoke_user_token(user.id, id).await {
        Ok(()) => {}
        Err(AppError::NotFound(_)) => bail!("{email} has no live token {id}"),
        Err(e) => return Err(app_error(e)),
    }
    println!("revoked {id}");
    Ok(())
}

/// The operator is told what went wrong: a client error as it reads, an
/// internal one with its cause (the CLI is no public surface).
fn app_error(error: AppError) -> anyhow::Error {
    if error.is_client_error() {
        anyhow::anyhow!("{error}")
    } else {
        anyhow::anyhow!("{error:?}")
    }
}

async fn user_by_email(app: &App, email: &str) -> anyhow::Result<tenantry_db::users::User> {
    let email = tenantry_auth::email::Email::parse(email)?;
    app.find_user_by_email(&email)
        .await
        .map_err(app_error)?
        .with_context(|| format!("no user with email {email}"))
}

async fn migrate_database(
    target: &Target,
    db: &Database,
    migrations: &AppMigrations,
) -> anyhow::Result<()> {
    let report = tenantry_db::migrate_with(db, migrations)
        .await
        .context("migrating")?;
    if let Some(passwords) = target.role_passwords()? {
        setup::set_role_passwords(db, &passwords)
            .await
            .context("setting the login roles' passwords")?;
    }
    print_migrations(&report);
    Ok(())
}

fn print_migrations(report: &MigrationReport) {
    println!(
        "migrations: {} applied, {} already applied",
        report.applied.len(),
        report.already_applied.len()
    );
    let app = report.app_applied.len() + report.app_already_applied.len();
    if app > 0 {
        println!(
            "application migrations: {} applied, {} already applied",
            report.app_applied.len(),
            report.app_already_applied.len()
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// The service layer for the token commands, which need none of the
/// session settings a server has.
fn services(db: Database) -> App {
    App::new(db, tenantry_app::Settings::default())
}
