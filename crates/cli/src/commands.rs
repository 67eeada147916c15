//! One function per command.

use anyhow::{Context, bail};
use tenantry_cluster::Status;
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

/// The run command. Until the HTTP API lands it prepares the database, proves
/// it safe to serve, and keeps it up until Ctrl-C or SIGTERM.
pub async fn serve(target: &Target, with_demo_data: bool) -> anyhow::Result<()> {
    let db = target.connect().await?;
    migrate_database(target, &db).await?;
    if with_demo_data {
        let report = tenantry_db::seed(&db).await.context("seeding")?;
        tracing::info!(inserted = report.inserted, "demo data loaded");
    }
    refuse_unsafe_database(&db).await?;
    let latency = tenantry_db::check_database(&db)
        .await
        .context("health check")?;
    tracing::info!(
        latency_ms = latency.as_secs_f64() * 1000.0,
        "database ready; press Ctrl-C to stop"
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    Ok(())
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

async fn refuse_unsafe_database(db: &Database) -> anyhow::Result<()> {
    let problems = tenantry_db::check_safe_to_serve(db)
        .await
        .context("checking the database is safe to serve")?;
    if problems.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    bail!("refusing to serve an unsafe database: {}", list.join(", "))
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
