//! A server binary running as a child process, with its output as a stream of lines.
//!
//! The server's stdout and stderr are read by tasks into channels as they arrive, each line
//! time-stamped on arrival, so a test can wait for "the next line that looks like this" the way a
//! person watches a terminal. Lines are consumed in order: [`Server::expect_line`] moves a cursor
//! past the line it matched, so two expectations of the same text match two different lines.
//!
//! Each server runs in its own temporary directory with the settings variables removed from its
//! environment, so neither a `.env` file nor a developer's shell changes what a test sees; a test
//! that wants either says so through [`ServerBuilder`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::{spec, Runtime};

/// How long a server may take to print its start line: it is a prebuilt binary, so this only
/// bounds a machine busy compiling.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A line of output and when the test received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub at: Instant,
}

/// One output stream, consumed in order.
#[derive(Debug)]
struct LineLog {
    rx: mpsc::UnboundedReceiver<Line>,
    seen: Vec<Line>,
    /// Lines before this index were matched (or skipped) by an expectation.
    cursor: usize,
    /// The process closed the stream.
    ended: bool,
}

impl LineLog {
    fn new(rx: mpsc::UnboundedReceiver<Line>) -> LineLog {
        LineLog {
            rx,
            seen: Vec::new(),
            cursor: 0,
            ended: false,
        }
    }

    /// Takes in what has arrived, without waiting.
    fn drain(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(line) => self.seen.push(line),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.ended = true;
                    return;
                }
            }
        }
    }

    /// The next unconsumed line matching `matches`, waiting until `deadline`. `None` when the
    /// deadline passed or the stream ended first.
    async fn next_match(
        &mut self,
        matches: &mut dyn FnMut(&str) -> bool,
        deadline: tokio::time::Instant,
    ) -> Option<Line> {
        loop {
            self.drain();
            if let Some(offset) = self.seen[self.cursor..]
                .iter()
                .position(|line| matches(&line.text))
            {
                let index = self.cursor + offset;
                self.cursor = index + 1;
                return self.seen.get(index).cloned();
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(line)) => self.seen.push(line),
                Ok(None) => self.ended = true,
                Err(_) => return None,
            }
        }
    }

    /// Waits (up to `deadline`) for the stream to end; returns whether it did.
    async fn wait_end(&mut self, deadline: tokio::time::Instant) -> bool {
        while !self.ended {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(line)) => self.seen.push(line),
                Ok(None) => self.ended = true,
                Err(_) => return false,
            }
        }
        true
    }

    fn texts(&self) -> Vec<String> {
        self.seen.iter().map(|line| line.text.clone()).collect()
    }
}

/// How to start a server. [`Server::start`] covers the common case.
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    runtime: Runtime,
    env: Vec<(String, String)>,
    args: Vec<String>,
    dotenv: Option<String>,
    nofile: Option<u64>,
}

impl ServerBuilder {
    pub fn new(runtime: Runtime) -> ServerBuilder {
        ServerBuilder {
            runtime,
            env: Vec::new(),
            args: Vec::new(),
            dotenv: None,
            nofile: None,
        }
    }

    /// Sets an environment variable for the server (after the harness's own defaults).
    pub fn env(mut self, name: &str, value: &str) -> ServerBuilder {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets several environment variables.
    pub fn envs(mut self, vars: &[(&str, &str)]) -> ServerBuilder {
        for (name, value) in vars {
            self = self.env(name, value);
        }
        self
    }

    /// A command-line argument.
    pub fn arg(mut self, arg: &str) -> ServerBuilder {
        self.args.push(arg.to_owned());
        self
    }

    /// Writes a `.env` file with this content into the server's working directory.
    pub fn dotenv(mut self, content: &str) -> ServerBuilder {
        self.dotenv = Some(content.to_owned());
        self
    }

    /// Starts the server with soft and hard `RLIMIT_NOFILE` set to `limit`, through util-linux's
    /// `prlimit`, which sets the limit and then execs the server (same pid, no `pre_exec`).
    pub fn nofile(mut self, limit: u64) -> ServerBuilder {
        self.nofile = Some(limit);
        self
    }

    /// Spawns the server and waits for its start line.
    pub async fn start(self) -> Server {
        let binary = binary_path(self.runtime);
        let dir = tempfile::tempdir().expect("a temporary directory for the server");
        if let Some(content) = &self.dotenv {
            std::fs::write(dir.path().join(".env"), content).expect("writing .env");
        }
        let mut command = match self.nofile {
            None => Command::new(&binary),
            Some(limit) => {
                let prlimit = Path::new("/usr/bin/prlimit");
                assert!(
                    prlimit.exists(),
                    "/usr/bin/prlimit is missing: install util-linux (apt-get install -y util-linux)"
                );
                let mut command = Command::new(prlimit);
                command
                    .arg(format!("--nofile={limit}:{limit}"))
                    .arg(&binary);
                command
            }
        };
        command
            .args(&self.args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for name in spec::SETTINGS_VARIABLES {
            command.env_remove(name);
        }
        command.env("HOST", "127.0.0.1").env("PORT", "0");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let pid = child.id().expect("a running child has a pid");
        let stdout = read_lines(child.stdout.take().expect("stdout is piped"));
        let stderr = read_lines(child.stderr.take().expect("stderr is piped"));
        let mut server = Server {
            runtime: self.runtime,
            child,
            pid,
            port: 0,
            stdout: LineLog::new(stdout),
            stderr: LineLog::new(stderr),
            _dir: dir,
        };
        let pattern = spec::listening_pattern();
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let line = server
            .stdout
            .next_match(&mut |text| pattern.is_match(text), deadline)
            .await;
        let port = line
            .as_ref()
            .and_then(|line| pattern.captures(&line.text))
            .and_then(|captures| captures.get(1))
            .and_then(|port| port.as_str().parse::<u16>().ok());
        match port {
            Some(port) if port != 0 => server.port = port,
            _ => {
                // Give a crashing server a moment to finish its error message.
                server.stderr.wait_end(deadline).await;
                panic!(
                    "{} did not print `<port> 번 포트에서 대기 중` within {START_TIMEOUT:?}\n{}",
                    self.runtime,
                    server.transcript()
                );
            }
        }
        server
    }
}

/// Where the prebuilt binary is: next to this test binary's profile directory (so
/// `CARGO_TARGET_DIR` and `--release` are followed), else `$CARGO_TARGET_DIR/debug` or the
/// workspace's `target/debug`.
fn binary_path(runtime: Runtime) -> PathBuf {
    let name = runtime.binary_name();
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // <target>/<profile>/deps/<test binary>
        if let Some(profile) = exe.parent().and_then(Path::parent) {
            candidates.push(profile.join(name));
        }
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("debug").join(name));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| Path::new(".."));
    candidates.push(workspace.join("target").join("debug").join(name));
    match candidates.iter().find(|path| path.is_file()) {
        Some(path) => path.clone(),
        None => panic!(
            "the {name} binary is not built (looked in {candidates:?}); \
             run `cargo build --workspace --bins` before `cargo test -p gif-chat-tests`"
        ),
    }
}

/// Reads `stream` line by line into a channel until it ends.
fn read_lines(stream: impl AsyncRead + Unpin + Send + 'static) -> mpsc::UnboundedReceiver<Line> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let at = Instant::now();
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                    }
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if tx.send(Line { text, at }).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// A running server. Dropping it kills the process.
#[derive(Debug)]
pub struct Server {
    runtime: Runtime,
    child: Child,
    pid: u32,
    port: u16,
    stdout: LineLog,
    stderr: LineLog,
    /// The working directory; removed when the server is dropped.
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `runtime`'s binary with these environment variables on top of the harness's
    /// defaults (HOST=127.0.0.1, PORT=0) and waits for its start line.
    pub async fn start(runtime: Runtime, env: &[(&str, &str)]) -> Server {
        ServerBuilder::new(runtime).envs(env).start().await
    }

    pub fn builder(runtime: Runtime) -> ServerBuilder {
        ServerBuilder::new(runtime)
    }

    pub fn runtime(&self) -> Runtime {
        self.runtime
    }

    /// The port the server printed (it was started with PORT=0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for the next stdout line matching `matches` and returns it; lines before it are
    /// passed over. Panics with the server's output when none comes within `timeout`.
    #[track_caller]
    pub fn expect_line<'a>(
        &'a mut self,
        matches: impl FnMut(&str) -> bool + 'a,
        timeout: Duration,
    ) -> impl std::future::Future<Output = String> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            self.expect_timed(false, matches, timeout, caller)
                .await
                .text
        }
    }

    /// [`expect_line`](Self::expect_line) with the instant the line arrived.
    #[track_caller]
    pub fn expect_line_timed<'a>(
        &'a mut self,
        matches: impl FnMut(&str) -> bool + 'a,
        timeout: Duration,
    ) -> impl std::future::Future<Output = Line> + 'a {
        let caller = std::panic::Location::caller();
        async move { self.expect_timed(false, matches, timeout, caller).await }
    }

    /// Waits for the next stdout line equal to `text`.
    #[track_caller]
    pub fn expect_exact<'a>(
        &'a mut self,
        text: &'a str,
        timeout: Duration,
    ) -> impl std::future::Future<Output = String> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            self.expect_timed(false, |line| line == text, timeout, caller)
                .await
                .text
        }
    }

    /// Waits for the next access line (S4) of a `method` request for `path` answered with
    /// `status`, and returns its body-length field (a number or `-`).
    #[track_caller]
    pub fn expect_access<'a>(
        &'a mut self,
        method: &str,
        path: &str,
        status: u16,
    ) -> impl std::future::Future<Output = String> + 'a {
        let caller = std::panic::Location::caller();
        let pattern = spec::access_pattern(method, path, status);
        async move {
            let line = self
                .expect_timed(false, |l| pattern.is_match(l), crate::WAIT, caller)
                .await;
            pattern
                .captures(&line.text)
                .and_then(|c| c.get(2))
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default()
        }
    }

    /// Like [`expect_line`](Self::expect_line), on stderr.
    #[track_caller]
    pub fn expect_stderr_line<'a>(
        &'a mut self,
        matches: impl FnMut(&str) -> bool + 'a,
        timeout: Duration,
    ) -> impl std::future::Future<Output = String> + 'a {
        let caller = std::panic::Location::caller();
        async move { self.expect_timed(true, matches, timeout, caller).await.text }
    }

    /// [`expect_stderr_line`](Self::expect_stderr_line) with the instant the line arrived.
    #[track_caller]
    pub fn expect_stderr_line_timed<'a>(
        &'a mut self,
        matches: impl FnMut(&str) -> bool + 'a,
        timeout: Duration,
    ) -> impl std::future::Future<Output = Line> + 'a {
        let caller = std::panic::Location::caller();
        async move { self.expect_timed(true, matches, timeout, caller).await }
    }

    async fn expect_timed(
        &mut self,
        stderr: bool,
        mut matches: impl FnMut(&str) -> bool,
        timeout: Duration,
        caller: &'static std::panic::Location<'static>,
    ) -> Line {
        let deadline = tokio::time::Instant::now() + timeout;
        let log = if stderr {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        let cursor = log.cursor;
        if let Some(line) = log.next_match(&mut matches, deadline).await {
            return line;
        }
        let why = if log.ended {
            "the stream ended"
        } else {
            "timed out"
        };
        let stream = if stderr { "stderr" } else { "stdout" };
        let transcript = self.transcript();
        panic!(
            "{}: no matching {stream} line after line {cursor} within {timeout:?} ({why}); \
             expected at {caller}\n{transcript}",
            self.runtime,
        );
    }

    /// Every stdout line received so far, consumed or not.
    pub fn lines_so_far(&mut self) -> Vec<String> {
        self.stdout.drain();
        self.stdout.texts()
    }

    /// Every stderr line received so far.
    pub fn stderr_so_far(&mut self) -> Vec<String> {
        self.stderr.drain();
        self.stderr.texts()
    }

    /// Sends `signal` to the server process.
    pub fn signal(&self, signal: Signal) {
        let pid = i32::try_from(self.pid).expect("pids fit in i32");
        kill(Pid::from_raw(pid), signal)
            .unwrap_or_else(|e| panic!("{}: sending {signal}: {e}", self.runtime));
    }

    /// Whether the process is still running (not exited, not a zombie waiting to be reaped).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit and returns its status; then every line it printed has
    /// been received. Panics with the output after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let waited = tokio::time::timeout(timeout, self.child.wait()).await;
        let status = match waited {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("{}: waiting for the process: {e}", self.runtime),
            Err(_) => {
                let transcript = self.transcript();
                panic!(
                    "{} did not exit within {timeout:?}\n{transcript}",
                    self.runtime
                )
            }
        };
        // The pipes end with the process (no child of it keeps them); collect the rest.
        let deadline = tokio::time::Instant::now() + crate::WAIT;
        let ended = self.stdout.wait_end(deadline).await && self.stderr.wait_end(deadline).await;
        assert!(ended, "{}: output did not end after exit", self.runtime);
        status
    }

    /// Everything received so far, for failure messages.
    pub fn transcript(&mut self) -> String {
        self.stdout.drain();
        self.stderr.drain();
        let mut out = String::new();
        let _ = writeln!(out, "--- {} stdout ---", self.runtime);
        for line in &self.stdout.seen {
            let _ = writeln!(out, "{}", line.text);
        }
        let _ = writeln!(out, "--- {} stderr ---", self.runtime);
        for line in &self.stderr.seen {
            let _ = writeln!(out, "{}", line.text);
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // kill_on_drop would do it too; being explicit keeps stray servers impossible even if
        // the child handle is ever moved out.
        let _ = self.child.start_kill();
    }
}
