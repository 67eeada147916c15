//! # tenantry-cli: the `tenantry` command line, for tenantry and for the products built on it
//!
//! The `tenantry` binary is [`main`] with no [`Extension`]. An application
//! built on tenantry gives its own binary every command (`serve` with the
//! embedded cluster, `migrate`, `audit`, `pat`, `db`, `mcp --stdio`, `new`)
//! by calling [`main`] with its extension: its migrations are then embedded
//! in its binary and applied by `migrate` and `serve`, and its routes and
//! MCP tools are served (docs/building-on-tenantry.md).
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     tenantry_cli::main(tenantry_server::Extension::default())
//! }
//! ```
//!
//! Parsing lives here; each command is a function in `commands`.
#![deny(missing_docs)]

mod audit;
mod commands;
mod database;
mod scaffold;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
pub use tenantry_server::Extension;

/// Multi-tenant SaaS backend on PostgreSQL row-level security.
#[derive(Parser, Debug)]
#[command(name = "tenantry", version, about)]
struct Cli {
    /// Where the embedded PostgreSQL cluster lives when DATABASE_URL is not set.
    #[arg(
        long,
        global = true,
        env = "TENANTRY_DATA_DIR",
        default_value = ".tenantry"
    )]
    data_dir: PathBuf,

    /// Owner (schema-owning) connection URL of an external PostgreSQL. Without
    /// it, tenantry runs its own cluster under --data-dir.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Bring the database up, migrate, seed demo data, check it is safe, and serve the HTTP API and /mcp.
    Serve {
        /// Skip the demo data.
        #[arg(long)]
        no_seed: bool,
        /// Load the demo data into an external database too (by default only
        /// the embedded cluster gets it: demo users have a published password).
        #[arg(long)]
        demo_data: bool,
        /// Address to listen on.
        #[arg(long, env = "TENANTRY_BIND", default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// Mark session cookies Secure (set when served over HTTPS, directly or
        /// behind a proxy); the server's own origin is then https://<Host>.
        #[arg(long, env = "TENANTRY_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Other origins (scheme://host[:port], comma-separated) allowed to send
        /// cookie-authenticated writes and to be where emailed links lead.
        #[arg(long, env = "TENANTRY_TRUSTED_ORIGINS", value_delimiter = ',')]
        trusted_origins: Vec<String>,
        /// The format new password hashes are written in: argon2id, or
        /// scrypt (Better Auth's own format) when a Better Auth app shares
        /// the database, so that users sign in on both (docs/better-auth.md).
        #[arg(long, env = "TENANTRY_PASSWORD_HASH", default_value = "argon2id",
              value_parser = ["argon2id", "scrypt"])]
        password_hash: String,
        /// Start even when security lints fail (logged as a warning on every start).
        #[arg(long)]
        allow_unsafe_database: bool,
        /// Abuse limits (docs/rate-limits.md): `on` (Better Auth's rules) or
        /// `off` (development; Better Auth turns them off there too).
        #[arg(long, env = "TENANTRY_RATE_LIMIT", value_enum, default_value_t = Switch::On)]
        rate_limit: Switch,
        /// A proxy (address or CIDR network; repeatable, or comma-separated in
        /// the variable) whose X-Forwarded-For names the client. Without one,
        /// the client is the socket's peer.
        #[arg(long = "trusted-proxy", env = "TENANTRY_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
        trusted_proxies: Vec<tenantry_api::limits::IpNet>,
        #[command(flatten)]
        migrations: MigrationsArg,
    },
    /// Serve MCP over stdin/stdout for a desktop agent, as the owner of TENANTRY_TOKEN.
    Mcp {
        /// Use the stdio transport (the HTTP transport is part of `serve`, at /mcp).
        #[arg(long, required = true)]
        stdio: bool,
        /// A personal access token (`tenantry pat create`).
        #[arg(long, env = "TENANTRY_TOKEN", hide_env_values = true)]
        token: String,
    },
    /// Personal access tokens, for operators.
    Pat {
        #[command(subcommand)]
        action: PatAction,
    },
    /// Manage the embedded PostgreSQL cluster.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Apply pending migrations: tenantry's, then the application's (--migrations).
    Migrate {
        #[command(flatten)]
        migrations: MigrationsArg,
    },
    /// Load reference and demo data (idempotent).
    Seed,
    /// Check the schema for tenant-isolation, performance and scale-out problems.
    Audit(audit::AuditArgs),
    /// Write the application's next migration for a new table, in the tenancy shape (docs/scaffolding.md).
    New(scaffold::NewArgs),
}

/// Where an application's own migrations are.
#[derive(clap::Args, Debug)]
struct MigrationsArg {
    /// A directory of the application's migrations (NNNN_name.sql), applied
    /// after tenantry's and recorded apart (docs/building-on-tenantry.md).
    #[arg(long = "migrations", env = "TENANTRY_MIGRATIONS_DIR")]
    dir: Option<PathBuf>,
}

impl MigrationsArg {
    /// The application's migrations: those embedded in this binary, or
    /// those of `--migrations`; both at once is an error, since one of them
    /// would be ignored.
    fn load(
        &self,
        embedded: &tenantry_db::AppMigrations,
    ) -> anyhow::Result<tenantry_db::AppMigrations> {
        match &self.dir {
            Some(dir) if !embedded.is_empty() => anyhow::bail!(
                "this binary embeds its application's migrations; --migrations {} (or TENANTRY_MIGRATIONS_DIR) would add a second set",
                dir.display()
            ),
            Some(dir) => Ok(tenantry_db::AppMigrations::from_dir(dir)?),
            None => Ok(embedded.clone()),
        }
    }
}

#[derive(Subcommand, Debug)]
enum DbAction {
    /// Start the cluster (initialising it the first time).
    Start,
    /// Stop the cluster.
    Stop,
    /// Say whether the cluster is running, and where.
    Status,
    /// Print the owner connection URL, for psql and other tools.
    Url,
}

#[derive(Subcommand, Debug)]
enum PatAction {
    /// Create a token for a user and print it (shown once).
    Create {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// A label for the token.
        #[arg(long)]
        name: String,
        /// Lifetime in days (1 to 366); never expires when absent.
        #[arg(long)]
        expires_in_days: Option<i64>,
        /// What the token may do: `read`, or `read` and `write` (repeat the
        /// flag; `write` brings `read`). Both when absent.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// The one organization the token acts in (its id or slug; the user
        /// must be a member). Every organization of the user when absent.
        #[arg(long, value_name = "ID_OR_SLUG")]
        organization: Option<String>,
    },
    /// Say whether TOKEN is a well-formed tenantry token (prefix, length,
    /// alphabet, checksum), offline: no database is asked, so it cannot
    /// tell whether the token is live. `-` reads it from stdin, which keeps
    /// it out of the process list. Exits 0 when well-formed, 1 when not.
    Check {
        /// The candidate, or `-` for one line of stdin.
        token: String,
    },
    /// List a user's live tokens.
    List {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
    /// Revoke one of a user's tokens.
    Revoke {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// The token's id (from `pat list`).
        #[arg(long)]
        id: String,
    },
}

/// The log filter when RUST_LOG is unset. rmcp logs each new MCP session's
/// id in full at INFO, and session ids stay out of the log (they are a
/// second key to a session, after its token), so rmcp logs only warnings
/// and errors.
const DEFAULT_LOG_FILTER: &str = "info,rmcp=warn";

/// Run the command line with `extension` (the `tenantry` binary passes
/// `Extension::default()`): parse the arguments, run the command, and
/// report an error on stderr with exit status 1.
pub fn main(extension: Extension) -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, extension)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A setting that is on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Switch {
    On,
    Off,
}

fn parse_network(text: &str) -> Result<tenantry_api::limits::IpNet, String> {
    tenantry_api::limits::parse_network(text)
}

async fn run(cli: Cli, extension: Extension) -> anyhow::Result<()> {
    let target = database::Target::new(cli.data_dir, cli.database_url);
    match cli.command {
        Command::Mcp { stdio: _, token } => {
            commands::mcp_stdio(&target, &token, extension.mcp_tools).await
        }
        Command::Serve {
            no_seed,
            demo_data,
            bind,
            secure_cookies,
            trusted_origins,
            password_hash,
            allow_unsafe_database,
            rate_limit,
            trusted_proxies,
            migrations,
        } => {
            let rate_limits = tenantry_api::RateLimits {
                enabled: rate_limit == Switch::On,
                trusted_proxies: tenantry_api::TrustedProxies::new(trusted_proxies),
                ..tenantry_api::RateLimits::default()
            };
            let with_demo_data = !no_seed && (target.is_embedded() || demo_data);
            let options = commands::ServeOptions {
                with_demo_data,
                bind,
                secure_cookies,
                trusted_origins,
                password_hashing: password_hash.parse().map_err(anyhow::Error::msg)?,
                allow_unsafe_database,
                rate_limits,
            };
            let extension = Extension {
                migrations: migrations.load(&extension.migrations)?,
                ..extension
            };
            commands::serve(&target, options, extension).await
        }
        Command::Pat { action } => match action {
            PatAction::Create {
                email,
                name,
                expires_in_days,
                scopes,
                organization,
            } => {
                let new = commands::NewToken {
                    email: &email,
                    name: &name,
                    expires_in_days,
                    scopes: &scopes,
                    organization: organization.as_deref(),
                };
                commands::pat_create(&target, new).await
            }
            PatAction::Check { token } => commands::pat_check(&token),
            PatAction::List { email } => commands::pat_list(&target, &email).await,
            PatAction::Revoke { email, id } => commands::pat_revoke(&target, &email, &id).await,
        },
        Command::Db { action } => match action {
            DbAction::Start => commands::db_start(&target),
            DbAction::Stop => commands::db_stop(&target),
            DbAction::Status => commands::db_status(&target),
            DbAction::Url => commands::db_url(&target),
        },
        Command::Migrate { migrations } => {
            commands::migrate(&target, &migrations.load(&extension.migrations)?).await
        }
        Command::Seed => commands::seed(&target).await,
        Command::Audit(args) => audit::audit(&target, args).await,
        Command::New(args) => scaffold::new(args),
    }
}
