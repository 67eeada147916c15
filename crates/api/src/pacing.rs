//! Refused sign-ins answered at one pace, so their timing does not say
//! whether the email has an account, nor in which format its password is
//! stored.
//!
//! An unknown email costs an argon2id hash; a wrong password costs a verify
//! in the stored format, and Better Auth's scrypt costs several times an
//! argon2id verify (RELIABILITY.md, "Abuse limits"). No dummy work can match
//! a format the server cannot know, so a refusal is held (asleep, no CPU, no
//! hashing permit) until a floor has passed since the password work began:
//! the slowest password work this process does, calibrated on the first
//! refusal by running each stored format once, and raised by any slower
//! work seen since (decaying back towards the calibration).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// Margin over the slowest work seen, for the spread of one kind of work.
const MARGIN_PERCENT: u64 = 25;
/// A refusal is never held longer than this, whatever a stall measured.
const CEILING: Duration = Duration::from_secs(2);

/// Shared by all sign-ins of a server.
#[derive(Default)]
pub struct SignInPacing {
    calibrated_us: OnceCell<u64>,
    /// The slowest recent password work, decaying by 1/32 per observation.
    slowest_us: AtomicU64,
}

impl SignInPacing {
    /// Note that password work (a hash or a verify, any format) took `took`.
    pub fn record(&self, took: Duration) {
        let took = micros(took);
        let _ = self
            .slowest_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(took.max(old - old / 32))
            });
    }

    /// The time a refused sign-in takes at least, from the start of its
    /// password work. The first call calibrates (on the blocking pool).
    pub async fn floor(&self) -> Duration {
        let calibrated = *self
            .calibrated_us
            .get_or_init(|| async {
                tokio::task::spawn_blocking(calibrate)
                    .await
                    .unwrap_or_default()
            })
            .await;
        let slowest = calibrated.max(self.slowest_us.load(Ordering::Relaxed));
        Duration::from_micros(slowest + slowest * MARGIN_PERCENT / 100).min(CEILING)
    }

    /// Wait until the floor has passed since `started`.
    pub async fn hold_refusal(&self, started: Instant) {
        let floor = self.floor().await;
        tokio::time::sleep_until((started + floor).into()).await;
    }
}

/// One verify in each stored format, the slower one's time.
fn calibrate() -> u64 {
    let probe = "a password nobody has";
    let formats = [
        tenantry_auth::password::hash_password(probe).unwrap_or_default(),
        tenantry_auth::password::hash_password_scrypt_better_auth(probe),
    ];
    formats
        .iter()
        .map(|stored| {
            let started = Instant::now();
            let _ = tenantry_auth::password::verify_password("another password", stored);
            micros(started.elapsed())
        })
        .max()
        .unwrap_or(0)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_floor_covers_the_slowest_work_and_decays_back() {
        let pacing = SignInPacing::default();
        let calibrated = pacing.floor().await;
        assert!(calibrated > Duration::ZERO);
        let slower = calibrated.mul_f64(1.5);
        pacing.record(slower);
        assert!(pacing.floor().await >= slower.min(CEILING));
        for _ in 0..400 {
            pacing.record(Duration::from_micros(1));
        }
        assert_eq!(pacing.floor().await, calibrated, "back to the calibration");
        pacing.record(Duration::from_secs(60));
        assert_eq!(pacing.floor().await, CEILING);
    }
}
