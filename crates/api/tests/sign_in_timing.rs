//! Whether a refused sign-in's time says the email has an account: an
//! unknown email, a wrong password for an argon2id account, and one for an
//! account imported from Better Auth (scrypt), measured from the client, in
//! interleaved rounds. It reports (`--nocapture`) and asserts only the
//! answers, never the timing: a busy machine must not fail it. The figures
//! are in RELIABILITY.md, "Abuse limits".

mod common;

use std::time::{Duration, Instant};

use common::{expect_error, spawn_app_on};
use serde_json::json;
use tenantry_testkit::TestDb;

const ROUNDS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_emails_and_wrong_passwords_cost_alike() {
    let app = spawn_app_on(TestDb::new().await).await;
    app.sign_up("Ann", "ann@example.com").await;
    let scrypt = tenantry_auth::password::hash_password_scrypt_better_auth("imported password");
    common::insert_password_user(&app.test, "Ivy", "ivy@example.com", &scrypt).await;
    let cases = [
        ("unknown email", "nobody@example.com"),
        ("wrong password, argon2id", "ann@example.com"),
        ("wrong password, scrypt (Better Auth)", "ivy@example.com"),
    ];
    let mut samples = vec![Vec::new(); cases.len()];
    // One untimed round first: connections, prepared statements, caches.
    for round in 0..=ROUNDS {
        for (i, (_, email)) in cases.iter().enumerate() {
            let started = Instant::now();
            let response = app
                .http
                .post(app.url("/api/auth/sign-in/email"))
                .json(&json!({ "email": email, "password": "not the password" }))
                .send()
                .await
                .unwrap();
            let elapsed = started.elapsed();
            expect_error(response, 401).await;
            if round > 0 {
                samples[i].push(elapsed);
            }
        }
    }
    let median = |s: &mut Vec<Duration>| {
        s.sort();
        s[s.len() / 2]
    };
    let baseline = median(&mut samples[0]);
    println!("| refused sign-in | min | median | max | median / unknown email |");
    println!("|---|---|---|---|---|");
    for (i, (name, _)) in cases.iter().enumerate() {
        let m = median(&mut samples[i]);
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} |",
            ms(samples[i][0]),
            ms(m),
            ms(*samples[i].last().unwrap()),
            m.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}

/// What each path would cost without the pacing: the password work alone,
/// in this process, interleaved.
#[test]
fn the_password_work_of_each_path() {
    use tenantry_auth::password::{
        hash_password, hash_password_scrypt_better_auth, verify_password,
    };
    let argon2 = hash_password("the password").unwrap();
    let scrypt = hash_password_scrypt_better_auth("the password");
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        let timed = |work: &dyn Fn()| {
            let started = Instant::now();
            work();
            started.elapsed()
        };
        samples[0].push(timed(&|| drop(hash_password("not the password"))));
        samples[1].push(timed(&|| {
            drop(verify_password("not the password", &argon2))
        }));
        samples[2].push(timed(&|| {
            drop(verify_password("not the password", &scrypt))
        }));
    }
    let names = [
        "unknown email: argon2id hash",
        "argon2id account: verify",
        "scrypt account: verify",
    ];
    let baseline = {
        samples[0].sort();
        samples[0][ROUNDS / 2]
    };
    println!("| password work | median | median / unknown email |");
    println!("|---|---|---|");
    for (name, s) in names.iter().zip(samples.iter_mut()) {
        s.sort();
        let m = s[ROUNDS / 2];
        println!(
            "| {name} | {:.1} ms | {:.2} |",
            ms(m),
            m.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
