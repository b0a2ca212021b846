//! A real Redis server for one test: Debian's `redis-server` (7.x), in a temporary directory,
//! on a free port of 127.0.0.1, without persistence, killed when the [`RedisServer`] is dropped,
//! also when the test fails.
//!
//! Nothing is mocked. A missing `redis-server` fails the test with what to install rather than
//! skipping it. Readiness is read from the server's own log ("Ready to accept connections"),
//! never guessed with a sleep. Redis has no `--port 0`: a free port is found by binding port 0
//! and closing it, so another process may take it first; starting is then tried on another.
//!
//! Shared by `#[path]` with each test that needs it, and with the suite in `tests/` (its
//! fleet and cluster tests).

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const START_ATTEMPTS: usize = 4;
const START_PATIENCE: Duration = Duration::from_secs(20);

/// A running `redis-server`, killed on drop.
pub struct RedisServer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

enum Started {
    Ready(Child),
    PortTaken,
}

impl RedisServer {
    /// Starts a server on a free port. Panics, saying why, if it cannot.
    pub fn start() -> RedisServer {
        let dir = tempfile::Builder::new()
            .prefix("gif-chat-redis.")
            .tempdir()
            .expect("a temporary directory");
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            if let Started::Ready(child) = launch(dir.path(), port) {
                return RedisServer {
                    dir,
                    port,
                    child: Some(child),
                };
            }
        }
        panic!("redis-server: no free port after {START_ATTEMPTS} attempts");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server at once (SIGKILL, as a crash: nothing is flushed, clients see their
    /// connections reset) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a [`pause`](Self::pause)d server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Starts the server again on the same port (clients reconnect to the same URL).
    pub fn restart(&mut self) {
        self.kill();
        match launch(self.dir.path(), self.port) {
            Started::Ready(child) => self.child = Some(child),
            Started::PortTaken => panic!("port {} was taken while Redis was down", self.port),
        }
    }

    /// Runs `redis-cli` against the server and returns its output (for looking inside).
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs (apt-get install -y redis-tools)");
        assert!(output.status.success(), "redis-cli {args:?} failed");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // A paused server would not die of SIGKILL any later, but thaw it all the same so that
        // nothing is left stopped if killing fails.
        if self.child.is_some() {
            self.signal("-CONT");
        }
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("an ephemeral port")
}

fn launch(dir: &std::path::Path, port: u16) -> Started {
    let mut child = match Command::new("redis-server")
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", ""])
        .args(["--appendonly", "no"])
        .args(["--daemonize", "no"])
        .args(["--logfile", ""])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            panic!("cannot run redis-server ({error}): apt-get install -y redis-server (Redis 7)")
        }
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, seen) = mpsc::channel();
    // The log is read to its end on a thread of its own (the server writes it until it exits).
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                // Nobody listens any more: keep draining so the server never blocks on a pipe.
                continue;
            }
        }
    });
    loop {
        match seen.recv_timeout(START_PATIENCE) {
            Ok(line) if line.contains("Ready to accept connections") => {
                return Started::Ready(child)
            }
            Ok(line) if line.contains("Address already in use") => {
                let _ = child.kill();
                let _ = child.wait();
                return Started::PortTaken;
            }
            Ok(_) => {}
            Err(error) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("redis-server on port {port} did not get ready ({error}; {status:?})");
            }
        }
    }
}
