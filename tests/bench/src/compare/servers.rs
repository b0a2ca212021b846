//! The servers under comparison: how each is started, how its port is learnt, how it is stopped.
//!
//! Each measurement gets a fresh server process, so a baseline RSS is a clean start and no run
//! inherits another's heap. Every server's stdout and stderr go to files (logging is part of the
//! work being measured, as it is in the seed). A [`Server`] kills its process when dropped, so
//! an error on any path leaves nothing running.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// One server program of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Tokio,
    Smol,
    Mio,
    Node,
    Tungstenite,
    Tungstenite4k,
    /// socket.io 4.8 on Node (`tests/peers/socketio-node`), the `/relay` app.
    SocketioNode,
    /// socketioxide on axum and tokio (`tests/peers/socketioxide-server`), the `/relay` app.
    Socketioxide,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Tokio,
        Kind::Smol,
        Kind::Mio,
        Kind::Node,
        Kind::Tungstenite,
        Kind::Tungstenite4k,
        Kind::SocketioNode,
        Kind::Socketioxide,
    ];

    /// The name used by `--only` and in tables.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Tokio => "tokio",
            Kind::Smol => "smol",
            Kind::Mio => "mio",
            Kind::Node => "node",
            Kind::Tungstenite => "tungstenite",
            Kind::Tungstenite4k => "tungstenite-4k",
            Kind::SocketioNode => "socketio-node",
            Kind::Socketioxide => "socketioxide",
        }
    }

    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key.trim())
    }

    /// A longer label for tables and charts.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Tokio => "runtime-tokio",
            Kind::Smol => "runtime-smol",
            Kind::Mio => "runtime-mio",
            Kind::Node => "node-seed (Express + ws)",
            Kind::Tungstenite => "tokio-tungstenite",
            Kind::Tungstenite4k => "tokio-tungstenite 4 KiB",
            Kind::SocketioNode => "socket.io 4.8 (Node)",
            Kind::Socketioxide => "socketioxide 0.18 (axum)",
        }
    }

    /// One of the gif-chat runtimes (as opposed to a peer).
    pub fn ours(self) -> bool {
        matches!(self, Kind::Tokio | Kind::Smol | Kind::Mio)
    }

    /// Whether it serves the HTTP page (the tokio-tungstenite peer serves only WebSockets).
    pub fn serves_http(self) -> bool {
        self.serves_seed() && !matches!(self, Kind::Tungstenite | Kind::Tungstenite4k)
    }

    /// Whether it runs the seed's WebSocket app (ticks at `/`, `/echo`): all but the Socket.IO
    /// peers.
    pub fn serves_seed(self) -> bool {
        !matches!(self, Kind::SocketioNode | Kind::Socketioxide)
    }

    /// Whether it serves Socket.IO's `/relay` app: ours (in conformance mode) and the Socket.IO
    /// peers.
    pub fn speaks_sio(self) -> bool {
        self.ours() || !self.serves_seed()
    }

    /// The cargo package that builds it, if any.
    pub fn package(self) -> Option<&'static str> {
        match self {
            Kind::Tokio => Some("runtime-tokio"),
            Kind::Smol => Some("runtime-smol"),
            Kind::Mio => Some("runtime-mio"),
            Kind::Tungstenite | Kind::Tungstenite4k => Some("tungstenite-peer"),
            Kind::Socketioxide => Some("socketioxide-peer"),
            Kind::Node | Kind::SocketioNode => None,
        }
    }
}

/// Why a server could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("starting {0}: {1}")]
    Spawn(String, std::io::Error),
    #[error("{0} did not print its port within {1:?} (see {2})")]
    NoPort(&'static str, Duration, PathBuf),
    #[error("{0} exited at start (see {1})")]
    Exited(&'static str, PathBuf),
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    pub kind: Kind,
    pub pid: u32,
    pub port: u16,
    pub stdout_path: PathBuf,
    child: Option<Child>,
}

/// How long a server may take to print its start line.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a graceful stop may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A port that was free a moment ago, for servers that print the configured rather than the
/// bound port (the seed prints `app.get('port')`, so `PORT=0` would print `0`).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(0, |a| a.port())
}

impl Server {
    /// Starts `kind` (binaries in `release`, the Node apps under `root`) with ticks every
    /// `tick_ms`, pinned to `cpu` if given; logs go to `logs`. `sio` starts ours in conformance
    /// mode (`CONFORMANCE=true`, which serves Socket.IO's `/relay` app) and every server with
    /// connection state recovery off, socket.io's and socketioxide's default
    /// (`SIO_RECOVERY_MS=0`: the Node peer turns it on otherwise, for the protocol tests).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        kind: Kind,
        root: &Path,
        release: &Path,
        tick_ms: u64,
        cpu: Option<usize>,
        logs: &Path,
        tag: &str,
        sio: bool,
        env: &[(&str, String)],
    ) -> Result<Server, ServerError> {
        let port = match kind {
            Kind::Node => free_port(),
            _ => 0,
        };
        let (program, args, dir): (PathBuf, Vec<String>, PathBuf) = match kind {
            Kind::Tokio | Kind::Smol | Kind::Mio => (
                release.join(kind.label()),
                Vec::new(),
                logs.to_path_buf(), // no stray .env in the working directory
            ),
            Kind::Node => (
                PathBuf::from("node"),
                vec!["app.js".into()],
                root.join("tests/peers/node-seed"),
            ),
            Kind::SocketioNode => (
                PathBuf::from("node"),
                vec!["server.js".into()],
                root.join("tests/peers/socketio-node"),
            ),
            Kind::Socketioxide => (
                release.join("socketioxide-peer"),
                Vec::new(),
                logs.to_path_buf(),
            ),
            Kind::Tungstenite | Kind::Tungstenite4k => {
                let mut args = Vec::new();
                if kind == Kind::Tungstenite4k {
                    args.extend(["--read-buffer".to_owned(), "4096".to_owned()]);
                }
                (release.join("tungstenite-peer"), args, logs.to_path_buf())
            }
        };
        let stdout_path = logs.join(format!("{}-{tag}.out", kind.key()));
        let stderr_path = logs.join(format!("{}-{tag}.err", kind.key()));
        let spawn_err = |e| ServerError::Spawn(kind.key().to_owned(), e);
        let stdout = File::create(&stdout_path).map_err(spawn_err)?;
        let stderr = File::create(&stderr_path).map_err(spawn_err)?;
        let mut command = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command
            .args(&args)
            .current_dir(dir)
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("TICK_INTERVAL_MS", tick_ms.to_string())
            .env("COOKIE_SECRET", "gifchat")
            .env_remove("NODE_ENV")
            .env_remove("APP_ENV")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        command.envs(env.iter().map(|(name, value)| (name, value)));
        if sio {
            command.env("SIO_RECOVERY_MS", "0");
            if kind.ours() {
                command.env("CONFORMANCE", "true");
            }
        }
        let child = command.spawn().map_err(spawn_err)?;
        let mut server = Server {
            kind,
            pid: child.id(),
            port: 0,
            stdout_path,
            child: Some(child),
        };
        server.port = server.wait_for_port(port)?;
        Ok(server)
    }

    /// Polls the log for its start line (see [`parse_listening`]).
    fn wait_for_port(&mut self, configured: u16) -> Result<u16, ServerError> {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    return Err(ServerError::Exited(
                        self.kind.key(),
                        self.stdout_path.clone(),
                    ));
                }
            }
            let log = std::fs::read_to_string(&self.stdout_path).unwrap_or_default();
            if let Some(port) = log.lines().find_map(parse_listening) {
                return Ok(if port == 0 { configured } else { port });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(ServerError::NoPort(
            self.kind.key(),
            START_TIMEOUT,
            self.stdout_path.clone(),
        ))
    }

    /// SIGTERM, wait for the graceful stop, SIGKILL if it takes too long.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = Pid::from_raw(self.pid as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The port of a start line: the seed's `8005 번 포트에서 대기 중` (ignoring colour codes), or
/// the Socket.IO peers' `… listening on 127.0.0.1:8005`.
pub fn parse_listening(line: &str) -> Option<u16> {
    if let Some((_, address)) = line.split_once("listening on ") {
        let port = address.trim().rsplit(':').next()?;
        return port.parse().ok();
    }
    let (before, _) = line.split_once("번 포트에서 대기 중")?;
    let digits: String = before
        .chars()
        .rev()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_lines_parse() {
        assert_eq!(parse_listening("8005 번 포트에서 대기 중"), Some(8005));
        assert_eq!(parse_listening("41234 번 포트에서 대기 중\n"), Some(41234));
        assert_eq!(parse_listening("GET / 200 1.0 ms - 12"), None);
        assert_eq!(parse_listening("번 포트에서 대기 중"), None);
        assert_eq!(
            parse_listening("socket.io conformance app listening on 127.0.0.1:42271"),
            Some(42271)
        );
        assert_eq!(
            parse_listening("socketioxide relay listening on 127.0.0.1:36179"),
            Some(36179)
        );
    }

    #[test]
    fn keys_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_key(kind.key()), Some(kind));
        }
        assert_eq!(Kind::from_key("apache"), None);
        assert!(Kind::Mio.ours() && !Kind::Node.ours());
        assert!(!Kind::Tungstenite4k.serves_http());
        assert!(!Kind::SocketioNode.serves_http() && Kind::SocketioNode.speaks_sio());
        assert!(Kind::Tokio.speaks_sio() && !Kind::Node.speaks_sio());
    }
}
