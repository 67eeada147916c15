//! `check_database`: the seed's `checkDatabase()`.

use std::time::{Duration, Instant};

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::{DbError, Result};
use crate::statements::Query;

/// How long a health check may take before the database counts as down.
pub const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Run `SELECT 1` through the bare client (reason `HealthCheck`) and return
/// how long it took. Never hangs: past [`HEALTH_CHECK_TIMEOUT`] it fails with
/// [`DbError::Timeout`].
///
/// # Examples
///
/// ```no_run
/// # async fn example(db: tenantry_db::Database) {
/// match tenantry_db::check_database(&db).await {
///     Ok(took) => println!("up ({took:?})"),
///     Err(error) => eprintln!("down: {error}"),
/// }
/// # }
/// ```
pub async fn check_database(db: &Database) -> Result<Duration> {
    let started = Instant::now();
    let probe = async {
        let conn = client::bare(db, BypassReason::HealthCheck).await?;
        conn.query_one("select 1", &[]).await?;
        Ok::<_, DbError>(())
    };
    tokio::time::timeout(HEALTH_CHECK_TIMEOUT, probe)
        .await
        .map_err(|_| DbError::Timeout(HEALTH_CHECK_TIMEOUT))??;
    Ok(started.elapsed())
}
