//! What the fleet tests (`tests/tests/fleet.rs`, SPEC §7) run besides the instances: nginx in
//! front of them ([`FleetNginx`], `tests/fleet/nginx.conf.template`) and the room's members as
//! real socket.io-client processes ([`Members`], `tests/fleet/member.js`).
//!
//! Members are Node's own client rather than the suite's Rust one because the fleet tests are
//! about what a browser's client does when an instance dies (it reconnects, through nginx, to
//! another) and how it starts (long-polling, then the upgrade): behaviour of the client, which
//! a test client written here would only imitate. Every member reports into one channel, so a
//! test waits on "every member has seen X" as one condition with one deadline.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use crate::nginx::spawn_nginx;
use crate::WAIT;

/// `tests/fleet/`.
pub fn fleet_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fleet")
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|probe| probe.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("probing for a free port: {e}"))
}

/// nginx in front of the fleet, one foreground process in a scratch directory, with two front
/// doors: pinned (`hash $remote_addr consistent`) and round robin. Killed when dropped.
pub struct FleetNginx {
    _child: Child,
    dir: tempfile::TempDir,
    pinned: u16,
    round_robin: u16,
}

impl FleetNginx {
    /// Starts nginx in front of `upstreams` (instance ports).
    pub async fn start(upstreams: &[u16]) -> FleetNginx {
        // A probed free port may be taken before nginx binds it: try again.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match FleetNginx::try_start(upstreams).await {
                Ok(nginx) => return nginx,
                Err(why) => failures.push(why),
            }
        }
        panic!("nginx did not start:\n{}", failures.join("\n---\n"));
    }

    async fn try_start(upstreams: &[u16]) -> Result<FleetNginx, String> {
        let template = std::fs::read_to_string(fleet_dir().join("nginx.conf.template"))
            .map_err(|e| format!("reading tests/fleet/nginx.conf.template: {e}"))?;
        let dir = tempfile::tempdir().map_err(|e| format!("a scratch directory: {e}"))?;
        let (pinned, round_robin) = (free_port()?, free_port()?);
        let servers: String = upstreams
            .iter()
            .map(|p| format!("        server 127.0.0.1:{p};\n"))
            .collect();
        let config = template
            .replace("{{DIR}}", &dir.path().display().to_string())
            .replace("{{LISTEN_PINNED}}", &format!("127.0.0.1:{pinned}"))
            .replace(
                "{{LISTEN_ROUND_ROBIN}}",
                &format!("127.0.0.1:{round_robin}"),
            )
            .replace("{{UPSTREAM_SERVERS}}", servers.trim_end());
        let child = spawn_nginx(dir.path(), &config, &[pinned, round_robin]).await?;
        Ok(FleetNginx {
            _child: child,
            dir,
            pinned,
            round_robin,
        })
    }

    /// The pinned door's URL.
    pub fn pinned_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.pinned)
    }

    /// The round-robin door's URL.
    pub fn round_robin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.round_robin)
    }

    /// The access log so far: `<client address> <upstream address(es)> <request line>` a line
    /// (the template's `fleet` format).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

/// How a member's client starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// WebSocket only: one connection, no stickiness needed.
    WebSocket,
    /// Long-polling first, then the upgrade to WebSocket, as a browser's client starts.
    Polling,
}

struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
}

/// The members of the fleet tests' rooms, each a `node tests/fleet/member.js` process; all are
/// killed when this is dropped.
pub struct Members {
    processes: Vec<Option<Process>>,
    tx: mpsc::UnboundedSender<(usize, Value)>,
    rx: mpsc::UnboundedReceiver<(usize, Value)>,
    /// Everything each member printed, in order.
    seen: Vec<Vec<Value>>,
}

impl Default for Members {
    fn default() -> Members {
        Members::new()
    }
}

impl Members {
    pub fn new() -> Members {
        let (tx, rx) = mpsc::unbounded_channel();
        Members {
            processes: Vec::new(),
            tx,
            rx,
            seen: Vec::new(),
        }
    }

    /// Starts a member of `room` at `url` (an instance, or one of nginx's doors), from the
    /// source address `local` if given; returns its index once it is connected.
    pub async fn join(
        &mut self,
        url: &str,
        room: &str,
        transport: Transport,
        local: Option<IpAddr>,
    ) -> usize {
        let index = self.start(url, room, transport, local);
        self.wait_until(&format!("member {index} connected to {url}"), |seen| {
            connections(&seen[index]) >= 1
        })
        .await;
        index
    }

    /// Starts a member like [`join`](Self::join) without waiting for it to connect.
    pub fn start(
        &mut self,
        url: &str,
        room: &str,
        transport: Transport,
        local: Option<IpAddr>,
    ) -> usize {
        let peer = fleet_dir().join("../peers/socketio-node/node_modules/socket.io-client");
        assert!(
            peer.is_dir(),
            "{} is missing: `npm ci` in tests/peers/socketio-node (tests/run.sh does it)",
            peer.display()
        );
        let index = self.processes.len();
        let mut command = Command::new("node");
        command
            .arg(fleet_dir().join("member.js"))
            .arg(url)
            .arg(room)
            .arg(match transport {
                Transport::WebSocket => "websocket",
                Transport::Polling => "polling",
            });
        if let Some(local) = local {
            command.arg(local.to_string());
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `node` (Node.js 20 or later): {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                if tx.send((index, value)).is_err() {
                    break;
                }
            }
        });
        self.processes.push(Some(Process { child, stdin }));
        self.seen.push(Vec::new());
        index
    }

    /// Emits `chat` with `args` (a JSON array) from member `index`.
    pub async fn send(&mut self, index: usize, args: &Value) {
        let stdin = self.processes[index]
            .as_mut()
            .and_then(|p| p.stdin.as_mut())
            .unwrap_or_else(|| panic!("member {index} is gone"));
        let line = format!("{args}\n");
        stdin
            .write_all(line.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("writing to member {index}: {e}"));
    }

    /// Ends member `index` (its client closes, as a page closed).
    pub async fn leave(&mut self, index: usize) {
        if let Some(mut process) = self.processes[index].take() {
            drop(process.stdin.take());
            let _ = tokio::time::timeout(WAIT, process.child.wait()).await;
            let _ = process.child.kill().await;
        }
    }

    /// Waits, up to [`WAIT`], until `done` holds for what the members printed so far; panics
    /// with all of it otherwise.
    pub async fn wait_until(&mut self, what: &str, done: impl Fn(&[Vec<Value>]) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(&self.seen) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((index, value))) => self.seen[index].push(value),
                Ok(None) | Err(_) => panic!(
                    "waited {WAIT:?} for {what}; the members printed:\n{}",
                    self.transcript()
                ),
            }
        }
    }

    /// Everything member `index` printed so far.
    pub fn seen(&self, index: usize) -> &[Value] {
        &self.seen[index]
    }

    /// The members still running.
    pub fn live(&self) -> Vec<usize> {
        (0..self.processes.len())
            .filter(|i| self.processes[*i].is_some())
            .collect()
    }

    pub fn transcript(&self) -> String {
        self.seen
            .iter()
            .enumerate()
            .map(|(i, lines)| {
                let lines: Vec<String> = lines.iter().map(Value::to_string).collect();
                format!("member {i}: {}", lines.join(" "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// How many times a member's output says it (re)connected.
pub fn connections(seen: &[Value]) -> usize {
    seen.iter().filter(|v| v.get("connected").is_some()).count()
}

/// The arguments of each `chat` a member received, in order.
pub fn chats(seen: &[Value]) -> Vec<&Value> {
    seen.iter().filter_map(|v| v.get("chat")).collect()
}

/// How many of the `chat`s a member received began with these arguments: with connection state
/// recovery on, the server appends its offset (which the client passes to the handler too).
pub fn chats_equal(seen: &[Value], args: &Value) -> usize {
    let Some(args) = args.as_array() else {
        return 0;
    };
    chats(seen)
        .into_iter()
        .filter_map(Value::as_array)
        .filter(|got| got.len() >= args.len() && got[..args.len()] == args[..])
        .count()
}
