//! The runner starts, loads a tiny dataset and prints its tables. No timing
//! is asserted: the figures of a sub-second round on a shared CI machine
//! mean nothing. Uses the test cluster the other crates' tests use.

use std::path::PathBuf;
use std::process::Command;

fn test_cluster() -> PathBuf {
    if let Some(root) = std::env::var_os("TENANTRY_TEST_CLUSTER") {
        return PathBuf::from(root);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("tenantry-test-cluster")
}

/// Run the bench binary with `args` on the test cluster; its stdout, which
/// must contain every one of `expected`.
fn assert_bench_prints(args: &[&str], expected: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(args)
        .arg("--data-dir")
        .arg(test_cluster())
        .output()
        .expect("the bench binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench {args:?} failed:\n{stdout}\n{stderr}"
    );
    for expected in expected {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn smoke_run_prints_tables() {
    assert_bench_prints(
        &["--smoke", "--decompose"],
        &[
            "### Item 1",
            "| tenantry |",
            "| bare |",
            "### Item 5",
            "| rls |",
            "| explicit |",
            "tenantry / bare (medians) = **",
            "| hand-built |",
            "| no-role-switch |",
            "| setup-no-rls |",
            "load generator CPU µs/op",
        ],
    );
}

#[test]
fn soak_smoke_run_passes_its_consistency_check() {
    assert_bench_prints(
        &["soak", "--seconds", "1", "--tenants", "3", "--clients", "8"],
        &[
            "| **all** |",
            "| ForeignRead |",
            "peak RSS (VmHWM)",
            "ok: SQL: 0 projects created by someone not a member",
            "Errors: none.",
            "; passed._",
        ],
    );
}

/// `bench limiter` runs its flood (small here) and holds its own checks: the
/// full table neither grows nor resets the limited address.
#[test]
fn the_limiter_flood_runs_and_stays_bounded() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["limiter", "--keys", "150000", "--rounds", "1"])
        .output()
        .expect("the bench binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench limiter failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "C: flood of new addresses, table full",
        "still limited after it",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}
