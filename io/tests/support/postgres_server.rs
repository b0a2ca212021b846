//! A real PostgreSQL server for one test: its own cluster in a temporary directory, listening on
//! a free port of 127.0.0.1 (and a socket in that directory), stopped and removed when the
//! [`PostgresServer`] is dropped, also when the test fails.
//!
//! Nothing is mocked: the store talks to the PostgreSQL that `apt-get install postgresql` put in
//! `/usr/lib/postgresql/<version>/bin` (or `$PG_BIN`, or the `PATH`). A missing PostgreSQL fails
//! the test with what to install, rather than skipping it. PostgreSQL refuses to run as root, so
//! when the tests run as root its programs run as the `postgres` user (`runuser`), who owns the
//! temporary directory. A cluster is small and quick to make (`initdb --no-sync`, `fsync=off`:
//! durability across a machine crash is not what a test checks).
//!
//! Shared by `#[path]` with each test that needs it, and with the suite in `tests/` (its
//! fleet test).

use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The superuser the cluster is made with; trusted without a password on 127.0.0.1 only.
const SUPERUSER: &str = "postgres";

/// Free ports are found by binding port 0 and closing it, so another process may take one
/// before the server does: starting is tried again on another port.
const START_ATTEMPTS: usize = 4;

/// A running PostgreSQL cluster, stopped and deleted on drop.
pub struct PostgresServer {
    bin: PathBuf,
    as_postgres_user: bool,
    dir: tempfile::TempDir,
    port: u16,
}

impl PostgresServer {
    /// Makes a cluster and starts it. Panics, saying why, if PostgreSQL is missing or does not
    /// start.
    pub fn start() -> PostgresServer {
        let bin = find_bin();
        let as_postgres_user = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("gif-chat-pg.")
            .tempdir()
            .expect("a temporary directory");
        if as_postgres_user {
            run(Command::new("chown").arg(SUPERUSER).arg(dir.path()));
        }
        let mut server = PostgresServer {
            bin,
            as_postgres_user,
            dir,
            port: 0,
        };
        let data = server.data();
        run(server
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["--auth=trust", "-U", SUPERUSER, "--no-sync", "-E", "UTF8"])
            .arg("--locale=C.UTF-8"));
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            server.port = free_port();
            match server.try_start() {
                Ok(()) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!("PostgreSQL did not start: {failures:#?}");
    }

    /// The URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The temporary directory holding the cluster, its socket and its log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server (fast: connections are closed, nothing is lost), keeping its data.
    pub fn stop(&self) {
        let output = self.pg_ctl_stop();
        assert!(
            output.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts the stopped server again on the same port.
    pub fn start_again(&self) {
        if let Err(why) = self.try_start() {
            panic!("PostgreSQL did not start again: {why}");
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn try_start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .expect("pg_ctl runs");
        if output.status.success() {
            return Ok(());
        }
        // pg_ctl may have left a server starting; make sure none is left behind.
        let _ = self.pg_ctl_stop();
        Err(format!(
            "pg_ctl start on port {}: {}{}\nserver log:\n{}",
            self.port,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        ))
    }

    fn pg_ctl_stop(&self) -> Output {
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .expect("pg_ctl runs")
    }

    /// One of PostgreSQL's programs, as the `postgres` user when the tests run as root, with no
    /// terminal and none of the test's own output streams (a server that kept them open would
    /// hold a pipe the test's caller waits on).
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres_user {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", SUPERUSER, "--"]).arg(program);
            runuser
        } else {
            Command::new(program)
        };
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST");
        command
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // Stopping an already stopped server fails harmlessly; the directory goes after.
        let _ = self.pg_ctl_stop();
    }
}

/// Where `initdb` and `pg_ctl` are: `$PG_BIN`, the newest Debian version, or the `PATH`.
fn find_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PG_BIN") {
        return PathBuf::from(bin);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists());
    on_path.unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed: no initdb in /usr/lib/postgresql/*/bin, $PG_BIN or \
             the PATH; install it (`apt-get install -y postgresql`, as tests/run.sh does)"
        )
    })
}

/// Whether this process is root, whom initdb refuses.
fn running_as_root() -> bool {
    // `/proc/self` belongs to the process's effective user.
    std::fs::metadata(Path::new("/proc/self"))
        .map(|meta| meta.uid() == 0)
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn run(command: &mut Command) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{command:?} does not run: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
