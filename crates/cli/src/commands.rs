//! One function per command.

use anyhow::{Context, bail};
use tenantry_api::{Application, AuthSettings};
use tenantry_app::tokens::MintedToken;
use tenantry_app::{App, AppError, PatId, Settings};
use tenantry_cluster::Status;
use tenantry_db::lint::LintConfig;
use tenantry_db::{Database, setup};

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

pub async fn migrate(target: &Target) -> anyhow::Result<()> {
    let db = target.connect().await?;
    migrate_database(target, &db).await
}

pub async fn seed(target: &Target) -> anyhow::Result<()> {
    let db = target.connect().await?;
    let report = tenantry_db::seed(&db).await.context("seeding")?;
    println!("seeded: {} rows inserted", report.inserted);
    Ok(())
}

/// The run command: database up, migrated, (seeded), proven safe, then the
/// HTTP API until Ctrl-C or SIGTERM, finishing in-flight requests.
pub async fn serve(
    target: &Target,
    with_demo_data: bool,
    bind: std::net::SocketAddr,
    secure_cookies: bool,
    trusted_origins: Vec<String>,
    allow_unsafe_database: bool,
) -> anyhow::Result<()> {
    let db = target.connect().await?;
    migrate_database(target, &db).await?;
    if with_demo_data {
        let report = tenantry_db::seed(&db).await.context("seeding")?;
        tracing::info!(inserted = report.inserted, "demo data loaded");
    }
    refuse_unsafe_database(&db, allow_unsafe_database).await?;
    let mut auth = AuthSettings::new(target.auth_secret()?);
    auth.secure_cookies = secure_cookies;
    auth.trusted_origins = tenantry_api::origin::TrustedOrigins::parse(&trusted_origins)
        .map_err(anyhow::Error::msg)?;
    tracing::warn!(
        "reset and verification links go to the log (the default mailer); plug in a Mailer for production"
    );
    let app = Application::bind(bind, db.clone(), auth)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?
        .merge(tenantry_mcp::router(db));
    tracing::info!(address = %app.local_addr(), "serving the HTTP API, and MCP at /mcp");
    app.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// `tenantry mcp --stdio`: one agent, one token, stdin and stdout.
pub async fn mcp_stdio(target: &Target, token: &str) -> anyhow::Result<()> {
    let db = target.connect().await?;
    tenantry_mcp::serve_stdio(db, token).await?;
    Ok(())
}

pub async fn pat_create(
    target: &Target,
    email: &str,
    name: &str,
    expires_in_days: Option<i64>,
) -> anyhow::Result<()> {
    let db = target.connect().await?;
    let user = user_by_email(&db, email).await?;
    let MintedToken { token, summary } = App::new(db, Settings::default())
        .mint_token(user.id, name, expires_in_days)
        .await
        .map_err(app_error)?;
    eprintln!(
        "created token {} ({}) for {}; it is shown only once:",
        summary.id, summary.token_prefix, user.email
    );
    println!("{token}");
    Ok(())
}

pub async fn pat_list(target: &Target, email: &str) -> anyhow::Result<()> {
    let db = target.connect().await?;
    let user = user_by_email(&db, email).await?;
    let pats = App::new(db, Settings::default())
        .list_user_tokens(user.id)
        .await
        .map_err(app_error)?;
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
            "{}  {}  {}  expires {expires}  last used {used}",
            pat.id, pat.token_prefix, pat.name
        );
    }
    Ok(())
}

pub async fn pat_revoke(target: &Target, email: &str, id: &str) -> anyhow::Result<()> {
    let db = target.connect().await?;
    let user = user_by_email(&db, email).await?;
    let id = PatId::parse(id).context("--id must be a token id (a UUID)")?;
    match App::new(db, Settings::default())
        .revoke_user_token(user.id, id)
        .await
    {
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

async fn user_by_email(db: &Database, email: &str) -> anyhow::Result<tenantry_db::users::User> {
    let email = tenantry_auth::email::Email::parse(email)?;
    tenantry_db::users::find_user_by_email(db, email.as_str())
        .await?
        .with_context(|| format!("no user with email {email}"))
}

async fn migrate_database(target: &Target, db: &Database) -> anyhow::Result<()> {
    let report = tenantry_db::migrate(db).await.context("migrating")?;
    if let Some(passwords) = target.role_passwords()? {
        setup::set_role_passwords(db, &passwords)
            .await
            .context("setting the login roles' passwords")?;
    }
    println!(
        "migrations: {} applied, {} already applied",
        report.applied.len(),
        report.already_applied.len()
    );
    Ok(())
}

/// DESIGN.md invariant 9: the security lints of `tenantry audit`, through the
/// tenant pool's own login. With `--allow-unsafe-database` the server starts
/// anyway, and says so on every start.
async fn refuse_unsafe_database(db: &Database, allow_unsafe: bool) -> anyhow::Result<()> {
    let findings = tenantry_db::check_safe_to_serve(db, &LintConfig::default())
        .await
        .context("checking the database is safe to serve")?;
    let list: Vec<String> = findings
        .iter()
        .map(|f| format!("{} ({})", f.lint, f.object))
        .collect();
    if allow_unsafe {
        tracing::warn!(
            findings = %list.join(", "),
            "started with --allow-unsafe-database: tenant isolation is not guaranteed; run `tenantry audit` for fixes"
        );
        return Ok(());
    }
    if findings.is_empty() {
        return Ok(());
    }
    bail!(
        "refusing to serve an unsafe database ({} security lint(s) failed; `tenantry audit` gives the fixes, --allow-unsafe-database overrides): {}",
        findings.len(),
        list.join(", ")
    )
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
