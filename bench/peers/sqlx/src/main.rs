//! The sqlx peer: N concurrent loops of the hand-written tenant read
//! (`pool.begin()`, one `set_config` query, the read, `commit()`) for T
//! seconds; prints `{"tps":..,"ops":..,"seconds":..}` on stdout.
//!
//! Usage: tenantry-bench-sqlx-peer URL CLIENTS SECONDS ROWS TENANTS

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use sqlx::postgres::PgPoolOptions;

/// The bench's deterministic ids (see bench/src/data.rs): row g belongs to
/// organization 1 + g % tenants.
fn org_uuid(org: u64) -> String {
    format!("00000000-0000-4000-a000-{org:012x}")
}
fn project_uuid(g: u64) -> String {
    format!("00000000-0000-4000-8000-{g:012x}")
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: {} URL CLIENTS SECONDS ROWS TENANTS", args[0]);
        std::process::exit(2);
    }
    let number = |i: usize| -> u64 {
        args[i].parse().unwrap_or_else(|_| {
            eprintln!("argument {i} must be a number, got {:?}", args[i]);
            std::process::exit(2)
        })
    };
    let (clients, seconds, rows, tenants) = (number(2), number(3), number(4), number(5));
    let pool = PgPoolOptions::new()
        .max_connections(clients as u32)
        .min_connections(clients as u32)
        .connect(&args[1])
        .await
        .unwrap_or_else(|e| {
            eprintln!("cannot connect: {e}");
            std::process::exit(1)
        });

    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (pool, stop, counting, ops) = (pool.clone(), stop.clone(), counting.clone(), ops.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let g = rand::thread_rng().gen_range(1..=rows);
                let org = org_uuid(1 + g % tenants);
                let mut tx = pool.begin().await.expect("begin");
                sqlx::query("select set_config('role', 'authenticated', true), set_config('app.tenant_id', $1, true)")
                    .bind(&org)
                    .execute(&mut *tx)
                    .await
                    .expect("set_config");
                let name: Option<String> =
                    sqlx::query_scalar("select name from project where id = $1::uuid")
                        .bind(project_uuid(g))
                        .fetch_optional(&mut *tx)
                        .await
                        .expect("read");
                assert!(name.is_some(), "row {g} not visible to its tenant");
                tx.commit().await.expect("commit");
                if counting.load(Ordering::Relaxed) {
                    ops.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // A short warm-up fills every connection's statement cache first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let done = ops.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    println!(
        "{{\"tps\":{:.1},\"ops\":{done},\"seconds\":{elapsed:.3}}}",
        done as f64 / elapsed
    );
}
