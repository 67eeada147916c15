//! End-to-end test against the machine's real PostgreSQL binaries.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tenantry_cluster::{Cluster, DEFAULT_DATABASE, OWNER_ROLE, Status};

/// Stops the clusters and removes the test directory even when an assertion fails.
struct Cleanup {
    dir: PathBuf,
    clusters: Vec<Cluster>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.clusters {
            let _ = c.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn psql_select_1(cluster: &Cluster) -> String {
    let url = cluster.owner_url(DEFAULT_DATABASE).unwrap();
    let out = Command::new("psql")
        .arg(&url)
        .args(["-X", "-t", "-A", "-c", "select 1"])
        .env_remove("PGPASSWORD")
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn running(cluster: &Cluster) -> (u16, Option<u32>) {
    match cluster.status().unwrap() {
        Status::Running { port, pid } => (port, pid),
        other => panic!("expected Running, got {other:?}"),
    }
}

fn wait_not_running(cluster: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while matches!(cluster.status().unwrap(), Status::Running { .. }) {
        assert!(
            Instant::now() < deadline,
            "server still running after kill -9"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn cluster_lifecycle() {
    // Shown only when the test fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("tenantry_cluster=debug")
        .with_test_writer()
        .try_init();
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cluster-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = Cluster::new(dir.join("a"));
    let b = Cluster::new(dir.join("b"));
    let _cleanup = Cleanup {
        dir: dir.clone(),
        clusters: vec![a.clone(), b.clone()],
    };

    // Fresh root: nothing there yet; stop is a no-op.
    assert_eq!(a.status().unwrap(), Status::NotInitialized);
    assert!(a.port().is_err());
    a.stop().unwrap();

    // First start: initdb + start + createdb.
    a.start().unwrap();
    let (port_a, pid_a) = running(&a);
    assert!(pid_a.is_some());
    assert_eq!(a.port().unwrap(), port_a);
    assert_eq!(psql_select_1(&a), "1");
    let url = a.owner_url(DEFAULT_DATABASE).unwrap();
    assert!(
        url.starts_with(&format!("postgresql://{OWNER_ROLE}:")),
        "{url}"
    );
    assert!(
        url.ends_with(&format!("@127.0.0.1:{port_a}/{DEFAULT_DATABASE}")),
        "{url}"
    );
    assert!(a.owner_password().unwrap().len() >= 32);
    assert_eq!(mode(&a.password_path()), 0o600);
    assert_eq!(mode(&a.data_dir()), 0o700);

    // Idempotent.
    a.start().unwrap();
    assert_eq!(running(&a), (port_a, pid_a));

    // A second root, started from two threads at once: one cluster, its own port.
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let root = b.root().to_path_buf();
            std::thread::spawn(move || Cluster::new(root).start())
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let (port_b, _) = running(&b);
    assert_ne!(port_a, port_b);
    assert_eq!(psql_select_1(&b), "1");
    b.stop().unwrap();
    assert_eq!(b.status().unwrap(), Status::Stopped);

    // Stop, stop again, restart.
    a.stop().unwrap();
    assert_eq!(a.status().unwrap(), Status::Stopped);
    assert_eq!(a.port().unwrap(), port_a);
    a.stop().unwrap();
    a.start().unwrap();
    assert_eq!(running(&a).0, port_a);
    assert_eq!(psql_select_1(&a), "1");

    // kill -9 the postmaster, then start again.
    let pid = running(&a).1.expect("postmaster pid");
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_not_running(&a);
    assert_eq!(a.status().unwrap(), Status::Stopped);
    a.start().unwrap();
    let (port, new_pid) = running(&a);
    assert_eq!(port, port_a);
    assert_ne!(new_pid, Some(pid));
    assert_eq!(psql_select_1(&a), "1");

    // Someone else took our port while we were stopped: start moves to a new one.
    a.stop().unwrap();
    let squatter = TcpListener::bind(("127.0.0.1", port_a)).unwrap();
    a.start().unwrap();
    let (moved, _) = running(&a);
    assert_ne!(moved, port_a);
    assert_eq!(psql_select_1(&a), "1");
    drop(squatter);

    a.stop().unwrap();
    assert_eq!(a.status().unwrap(), Status::Stopped);
}
