//! PgBouncer in transaction pooling mode in front of the test cluster.
//!
//! With `TENANTRY_TEST_PGBOUNCER=1`, every [`crate::TestDb`] reaches the
//! cluster's application logins (`tenantry_app`, `tenantry_bare`) through one
//! PgBouncer and uses [`StatementMode::Unnamed`](tenantry_db::StatementMode):
//! the deployment where context leaks classically happen, since consecutive
//! transactions of one client land on different server connections and
//! server connections pass between clients (docs/architecture.md invariant 4). The
//! owner connection stays direct: migrations and test fixtures are not what
//! is under test.
//!
//! The pool is deliberately small (4 server connections per database and
//! login) and `server_reset_query` is empty, so nothing but tenantry's own
//! transaction-local settings keeps one client's context from the next.
//!
//! PgBouncer runs as the cluster's OS user (it refuses to run as root),
//! daemonised, with its files under `<cluster root>/pgbouncer/`; a running
//! one is reused by later test processes.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tenantry_db::setup::{self, RolePasswords};

/// The environment variable that routes test databases through PgBouncer.
pub const PGBOUNCER_ENV: &str = "TENANTRY_TEST_PGBOUNCER";

/// Whether this test run goes through PgBouncer.
pub fn enabled() -> bool {
    std::env::var(PGBOUNCER_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Start PgBouncer for the cluster at `cluster_root` (listening on
/// `cluster_port`), or reuse the one already running; its port.
pub(crate) fn ensure_running(
    cluster_root: &Path,
    cluster_port: u16,
    passwords: &RolePasswords,
) -> u16 {
    let dir = cluster_root.join("pgbouncer");
    if let Some(port) = running_port(&dir, cluster_port) {
        return port;
    }
    std::fs::create_dir_all(&dir).expect("pgbouncer directory");
    let port = crate::free_port();
    write_files(&dir, port, cluster_port, passwords);
    start(&dir, cluster_root);
    wait_until_listening(port, &dir);
    std::fs::write(dir.join("ports"), format!("{port} {cluster_port}")).expect("ports file");
    port
}

/// The port of a PgBouncer started earlier for this cluster, if it still answers.
fn running_port(dir: &Path, cluster_port: u16) -> Option<u16> {
    let ports = std::fs::read_to_string(dir.join("ports")).ok()?;
    let (port, for_cluster) = ports.trim().split_once(' ')?;
    let (port, for_cluster): (u16, u16) = (port.parse().ok()?, for_cluster.parse().ok()?);
    let listening = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok();
    (for_cluster == cluster_port && listening).then_some(port)
}

fn write_files(dir: &Path, port: u16, cluster_port: u16, passwords: &RolePasswords) {
    // PgBouncer authenticates clients with SCRAM against these passwords and
    // uses them to log in to PostgreSQL.
    let users = format!(
        "\"{}\" \"{}\"\n\"{}\" \"{}\"\n",
        setup::APP_ROLE,
        passwords.app,
        setup::BARE_ROLE,
        passwords.bare
    );
    let d = dir.display();
    let config = format!(
        "[databases]\n\
         * = host=127.0.0.1 port={cluster_port}\n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         auth_type = md5\n\
         auth_file = {d}/userlist.txt\n\
         pool_mode = transaction\n\
         default_pool_size = 4\n\
         max_client_conn = 2000\n\
         server_reset_query =\n\
         ignore_startup_parameters = extra_float_digits\n\
         logfile = {d}/pgbouncer.log\n\
         pidfile = {d}/pgbouncer.pid\n"
    );
    std::fs::write(dir.join("userlist.txt"), users).expect("pgbouncer userlist");
    std::fs::write(dir.join("pgbouncer.ini"), config).expect("pgbouncer config");
}

/// Launch the daemon as the owner of the cluster's data directory.
fn start(dir: &Path, cluster_root: &Path) {
    let binary = find_pgbouncer().unwrap_or_else(|| {
        panic!("{PGBOUNCER_ENV} is set but pgbouncer is not installed (apt-get install pgbouncer)")
    });
    let owner = std::fs::metadata(cluster_root.join("pgdata"))
        .or_else(|_| std::fs::metadata(cluster_root))
        .expect("cluster directory");
    let mut command = Command::new(binary);
    command.arg("-d").arg(dir.join("pgbouncer.ini"));
    if is_root() {
        // Hand the directory to that user so the daemon can write its log and pid.
        for entry in [
            dir.to_path_buf(),
            dir.join("userlist.txt"),
            dir.join("pgbouncer.ini"),
        ] {
            std::os::unix::fs::chown(&entry, Some(owner.uid()), Some(owner.gid()))
                .expect("chown pgbouncer files");
        }
        command.uid(owner.uid()).gid(owner.gid());
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .expect("pgbouncer directory mode");
    let status = command.status().expect("run pgbouncer");
    assert!(
        status.success(),
        "pgbouncer failed to start: {status}; see {}",
        dir.join("pgbouncer.log").display()
    );
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn find_pgbouncer() -> Option<PathBuf> {
    [
        "/usr/sbin/pgbouncer",
        "/usr/bin/pgbouncer",
        "/usr/local/bin/pgbouncer",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

fn wait_until_listening(port: u16, dir: &Path) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "pgbouncer did not listen on {port}; see {}",
        dir.join("pgbouncer.log").display()
    );
}
