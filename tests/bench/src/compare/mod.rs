//! `compare`: the same loads against every server, repeated, summarised by medians with their
//! spread.
//!
//! The machine is small and shared, so absolute numbers drift from repeat to repeat (another
//! process on a core the pinned load generator uses can cut its share to a third). What holds
//! better is the ratio between two servers measured in the *same* repeat, back to back: every
//! report carries its repeat number, ratios are taken within a repeat and only then summarised,
//! and every median is shown with its min–max so a spread is seen, not hidden.

pub mod chart;
pub mod markdown;
pub mod servers;
pub mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::report::Report;
use servers::{Kind, Server};

/// One load of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Load {
    Ticks,
    TicksBig,
    Echo,
    Churn,
    Http,
    /// Idle Socket.IO sessions over WebSocket in rooms.
    SioIdle,
    /// The same over long-polling.
    SioIdlePolling,
    /// The most idle sessions one process holds (ours).
    SioIdleBig,
    /// Fan-out in many rooms.
    SioFanout,
    /// Fan-out in one big room.
    SioFanoutBig,
    SioChurn,
    /// Long-polling sessions exchanging events.
    SioPolling,
    /// The write floor, measured in the load generator (no server): stored under the
    /// pseudo-server `floor`.
    WriteFloor,
}

impl Load {
    pub const ALL: [Load; 13] = [
        Load::Ticks,
        Load::TicksBig,
        Load::Echo,
        Load::Churn,
        Load::Http,
        Load::WriteFloor,
        Load::SioIdle,
        Load::SioIdlePolling,
        Load::SioIdleBig,
        Load::SioFanout,
        Load::SioFanoutBig,
        Load::SioChurn,
        Load::SioPolling,
    ];

    pub fn applies_to(self, kind: Kind) -> bool {
        match self {
            Load::TicksBig => kind.ours(),
            Load::Http => kind.serves_http(),
            Load::Ticks | Load::Echo | Load::Churn => kind.serves_seed(),
            Load::SioIdleBig => kind.ours(),
            Load::WriteFloor => false,
            Load::SioIdle
            | Load::SioIdlePolling
            | Load::SioFanout
            | Load::SioFanoutBig
            | Load::SioChurn
            | Load::SioPolling => kind.speaks_sio(),
        }
    }

    /// A Socket.IO load (the server is started for Socket.IO, see [`Server::start`]).
    pub fn is_sio(self) -> bool {
        matches!(
            self,
            Load::SioIdle
                | Load::SioIdlePolling
                | Load::SioIdleBig
                | Load::SioFanout
                | Load::SioFanoutBig
                | Load::SioChurn
                | Load::SioPolling
        )
    }
}

/// The key under which the write floor's reports are kept in [`Results::runs`].
pub const FLOOR_KEY: &str = "floor/WriteFloor";

/// Sizes of the Socket.IO loads (issue 12's scales in [`SioPlan::full`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SioPlan {
    /// Idle sessions over WebSocket, and their rooms.
    pub idle_sessions: usize,
    pub idle_rooms: usize,
    /// Idle sessions over polling.
    pub idle_polling_sessions: usize,
    /// The most idle sessions, ours only.
    pub big_sessions: usize,
    /// Fan-out: sessions, rooms, events per second per room.
    pub fanout_sessions: usize,
    pub fanout_rooms: usize,
    pub fanout_rate: f64,
    /// One big room: its members and events per second.
    pub big_room_sessions: usize,
    pub big_room_rate: f64,
    pub fanout_seconds: f64,
    pub churn_concurrency: usize,
    pub polling_sessions: usize,
    /// Write floor: socket pairs and seconds.
    pub floor_pairs: usize,
    pub floor_seconds: f64,
}

impl SioPlan {
    pub fn full() -> SioPlan {
        SioPlan {
            idle_sessions: 10_000,
            idle_rooms: 100,
            idle_polling_sessions: 1000,
            big_sessions: 19_000,
            fanout_sessions: 5000,
            fanout_rooms: 50,
            fanout_rate: 5.0,
            big_room_sessions: 5000,
            big_room_rate: 2.0,
            fanout_seconds: 10.0,
            churn_concurrency: 32,
            polling_sessions: 32,
            floor_pairs: 1000,
            floor_seconds: 5.0,
        }
    }

    pub fn quick() -> SioPlan {
        SioPlan {
            idle_sessions: 50,
            idle_rooms: 5,
            idle_polling_sessions: 20,
            big_sessions: 100,
            fanout_sessions: 50,
            fanout_rooms: 5,
            fanout_rate: 5.0,
            big_room_sessions: 50,
            big_room_rate: 2.0,
            fanout_seconds: 2.0,
            churn_concurrency: 4,
            polling_sessions: 4,
            floor_pairs: 50,
            floor_seconds: 0.5,
        }
    }
}

impl Default for SioPlan {
    fn default() -> Self {
        SioPlan::full()
    }
}

/// Sizes of the loads.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub quick: bool,
    pub repeats: usize,
    pub tick_connections: usize,
    pub big_connections: usize,
    pub tick_seconds: f64,
    pub interval_ms: u64,
    pub echo_connections: usize,
    pub in_flight: usize,
    pub message_size: usize,
    pub seconds: f64,
    pub churn_concurrency: usize,
    pub http_connections: usize,
    /// Loopback source addresses for the tick loads.
    pub sources: Vec<String>,
    /// Pin server and client to different cores for the echo load.
    pub pin: bool,
    pub settle_ms: u64,
    /// Use debug binaries (target/debug) instead of release ones: the smoke test runs on what
    /// the test suite already built.
    #[serde(default)]
    pub debug: bool,
    /// The Socket.IO loads (results saved before them read as the full sizes).
    #[serde(default)]
    pub sio: SioPlan,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            quick: false,
            repeats: 3,
            tick_connections: 10_000,
            big_connections: 19_000,
            tick_seconds: 24.0,
            interval_ms: 3000,
            echo_connections: 64,
            in_flight: 16,
            message_size: 32,
            seconds: 10.0,
            churn_concurrency: 32,
            http_connections: 32,
            sources: (2..=5).map(|i| format!("127.0.0.{i}")).collect(),
            pin: true,
            settle_ms: 1000,
            debug: false,
            sio: SioPlan::full(),
        }
    }

    pub fn quick() -> Plan {
        Plan {
            quick: true,
            repeats: 1,
            tick_connections: 50,
            big_connections: 100,
            tick_seconds: 2.0,
            interval_ms: 200,
            echo_connections: 8,
            in_flight: 4,
            seconds: 1.0,
            churn_concurrency: 4,
            http_connections: 4,
            settle_ms: 200,
            sio: SioPlan::quick(),
            ..Plan::full()
        }
    }

    /// Where the binaries are.
    pub fn bin_dir(&self, root: &Path) -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        target.join(if self.debug { "debug" } else { "release" })
    }

    /// The loadgen arguments for `load` against `port`.
    pub fn loadgen_args(&self, load: Load, port: u16) -> Vec<String> {
        let s = |v: &dyn ToString| v.to_string();
        let mut args: Vec<String> = match load {
            Load::Ticks | Load::TicksBig => {
                let n = if load == Load::Ticks {
                    self.tick_connections
                } else {
                    self.big_connections
                };
                vec![
                    "ticks".into(),
                    "--url".into(),
                    format!("ws://127.0.0.1:{port}/"),
                    "--connections".into(),
                    s(&n),
                    "--seconds".into(),
                    s(&self.tick_seconds),
                    "--interval-ms".into(),
                    s(&self.interval_ms),
                    "--processes".into(),
                    s(&n.div_ceil(7000).max(1)),
                    "--source-addrs".into(),
                    self.sources.join(","),
                ]
            }
            Load::Echo => vec![
                "echo".into(),
                "--url".into(),
                format!("ws://127.0.0.1:{port}/echo"),
                "--connections".into(),
                s(&self.echo_connections),
                "--in-flight".into(),
                s(&self.in_flight),
                "--size".into(),
                s(&self.message_size),
                "--seconds".into(),
                s(&self.seconds),
            ],
            Load::Churn => vec![
                "churn".into(),
                "--url".into(),
                format!("ws://127.0.0.1:{port}/"),
                "--concurrency".into(),
                s(&self.churn_concurrency),
                "--seconds".into(),
                s(&self.seconds),
                "--source-addrs".into(),
                self.sources.join(","),
            ],
            Load::Http => vec![
                "http".into(),
                "--url".into(),
                format!("http://127.0.0.1:{port}/"),
                "--connections".into(),
                s(&self.http_connections),
                "--seconds".into(),
                s(&self.seconds),
            ],
            Load::SioIdle | Load::SioIdleBig | Load::SioIdlePolling => {
                let sio = &self.sio;
                let n = match load {
                    Load::SioIdle => sio.idle_sessions,
                    Load::SioIdleBig => sio.big_sessions,
                    _ => sio.idle_polling_sessions,
                };
                let transport = if load == Load::SioIdlePolling {
                    "polling"
                } else {
                    "websocket"
                };
                vec![
                    "sio-idle".into(),
                    "--url".into(),
                    format!("http://127.0.0.1:{port}/"),
                    "--sessions".into(),
                    s(&n),
                    "--rooms".into(),
                    s(&sio.idle_rooms),
                    "--transport".into(),
                    transport.into(),
                    "--seconds".into(),
                    s(&self.tick_seconds),
                    "--processes".into(),
                    s(&n.div_ceil(7000).max(1)),
                    "--source-addrs".into(),
                    self.sources.join(","),
                ]
            }
            Load::SioFanout | Load::SioFanoutBig => {
                let sio = &self.sio;
                let (n, rooms, rate) = if load == Load::SioFanout {
                    (sio.fanout_sessions, sio.fanout_rooms, sio.fanout_rate)
                } else {
                    (sio.big_room_sessions, 1, sio.big_room_rate)
                };
                vec![
                    "sio-fanout".into(),
                    "--url".into(),
                    format!("http://127.0.0.1:{port}/"),
                    "--sessions".into(),
                    s(&n),
                    "--rooms".into(),
                    s(&rooms),
                    "--rate".into(),
                    s(&rate),
                    "--seconds".into(),
                    s(&sio.fanout_seconds),
                    // Two processes: receiving every delivery is the client's heaviest work.
                    "--processes".into(),
                    s(&n.div_ceil(7000).max(2).min(n.max(1))),
                    "--source-addrs".into(),
                    self.sources.join(","),
                ]
            }
            Load::SioChurn => vec![
                "sio-churn".into(),
                "--url".into(),
                format!("http://127.0.0.1:{port}/"),
                "--concurrency".into(),
                s(&self.sio.churn_concurrency),
                "--seconds".into(),
                s(&self.seconds),
                "--source-addrs".into(),
                self.sources.join(","),
            ],
            Load::SioPolling => vec![
                "sio-polling".into(),
                "--url".into(),
                format!("http://127.0.0.1:{port}/"),
                "--sessions".into(),
                s(&self.sio.polling_sessions),
                "--seconds".into(),
                s(&self.seconds),
            ],
            Load::WriteFloor => vec![
                "write-floor".into(),
                "--pairs".into(),
                s(&self.sio.floor_pairs),
                "--seconds".into(),
                s(&self.sio.floor_seconds),
            ],
        };
        args.extend(["--settle-ms".into(), s(&self.settle_ms)]);
        args
    }
}

/// Everything measured: every report of every (server, load), and what could not be run.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Results {
    pub runs: BTreeMap<String, Vec<Report>>,
    #[serde(default)]
    pub failures: Vec<String>,
}

/// What results.json keeps, enough to render BENCHMARKS.md again (`compare --render`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub plan: Plan,
    pub results: Results,
}

impl Results {
    /// Numbers the reports of results saved before reports carried their repeat: `measure`
    /// pushes one report per repeat in order, so without a failure of that (server, load) the
    /// position is the repeat. A (server, load) with a failure is left unnumbered: its reports
    /// then pair with nothing.
    pub fn number_repeats(&mut self) {
        for (key, reports) in &mut self.runs {
            // `measure` words a failure "<server> <Load>: <error>"; the key is "<server>/<Load>".
            let prefix = format!("{}:", key.replacen('/', " ", 1));
            if self.failures.iter().any(|f| f.starts_with(&prefix)) {
                continue;
            }
            for (position, report) in reports.iter_mut().enumerate() {
                report.repeat.get_or_insert(position);
            }
        }
    }
}

/// The key of a (server, load) pair in [`Results::runs`].
pub fn run_key(kind: Kind, load: Load) -> String {
    format!("{}/{load:?}", kind.key())
}

/// Builds the release binaries `kinds` need (and loadgen). Returns the kinds that built.
pub fn build(root: &Path, kinds: &[Kind], debug: bool, failures: &mut Vec<String>) -> Vec<Kind> {
    let mut packages: Vec<&str> = kinds.iter().filter_map(|k| k.package()).collect();
    packages.sort_unstable();
    packages.dedup();
    packages.push("gif-chat-bench");
    let cargo = |packages: &[&str]| {
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command.current_dir(root).arg("build");
        if !debug {
            command.arg("--release");
        }
        for p in packages {
            command.args(["-p", p]);
        }
        eprintln!("compare: {command:?}");
        command.status().is_ok_and(|s| s.success())
    };
    if cargo(&packages) {
        return kinds.to_vec();
    }
    // One package failing (another engineer's work in progress) must not sink the others.
    let built: Vec<&str> = packages.into_iter().filter(|p| cargo(&[p])).collect();
    kinds
        .iter()
        .copied()
        .filter(|k| match k.package() {
            Some(p) if !built.contains(&p) => {
                failures.push(format!(
                    "{}: `cargo build --release -p {p}` failed",
                    k.key()
                ));
                false
            }
            _ => true,
        })
        .collect()
}

/// Installs a Node peer's packages (`folder` under tests/peers) when missing. Returns whether
/// node can run it.
pub fn prepare_node(root: &Path, folder: &str, failures: &mut Vec<String>) -> bool {
    let dir = root.join("tests/peers").join(folder);
    if !dir.join("node_modules").is_dir() {
        eprintln!("compare: npm ci in {}", dir.display());
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            failures.push(format!("{folder}: `npm ci` failed (is npm installed?)"));
            return false;
        }
    }
    let ok = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        failures.push("node: `node` not found".into());
    }
    ok
}

/// Runs every load against every server `plan.repeats` times.
pub fn measure(root: &Path, kinds: &[Kind], plan: &Plan, logs: &Path) -> Results {
    let mut results = Results::default();
    let bin_dir = plan.bin_dir(root);
    let pin = plan.pin && std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    let sio = kinds.iter().any(|k| k.speaks_sio());
    for repeat in 0..plan.repeats {
        if sio {
            eprintln!("compare: [{}/{}] write floor", repeat + 1, plan.repeats);
            match run_floor(plan, &bin_dir) {
                Ok(mut report) => {
                    report.repeat = Some(repeat);
                    eprintln!(
                        "compare:   {}",
                        summary::one_line(Load::WriteFloor, &report)
                    );
                    results
                        .runs
                        .entry(FLOOR_KEY.to_owned())
                        .or_default()
                        .push(report);
                }
                Err(error) => results.failures.push(format!("floor WriteFloor: {error}")),
            }
        }
        for load in Load::ALL {
            for &kind in kinds.iter().filter(|k| load.applies_to(**k)) {
                let tag = format!("{load:?}-{repeat}");
                eprintln!(
                    "compare: [{}/{}] {load:?} {}",
                    repeat + 1,
                    plan.repeats,
                    kind.key()
                );
                match run_one(kind, load, plan, root, &bin_dir, logs, &tag, pin) {
                    Ok(mut report) => {
                        report.repeat = Some(repeat);
                        eprintln!("compare:   {}", summary::one_line(load, &report));
                        results
                            .runs
                            .entry(run_key(kind, load))
                            .or_default()
                            .push(report);
                    }
                    Err(error) => {
                        eprintln!("compare:   failed: {error}");
                        results
                            .failures
                            .push(format!("{} {load:?}: {error}", kind.key()));
                    }
                }
            }
        }
    }
    results
}

/// The last JSON line of a loadgen run.
fn parse_report(output: &std::process::Output) -> Result<Report, String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("loadgen printed no report ({})", output.status))?;
    serde_json::from_str(line).map_err(|e| format!("loadgen report: {e}"))
}

/// The write floor, in the load generator alone.
fn run_floor(plan: &Plan, bin_dir: &Path) -> Result<Report, String> {
    let output = Command::new(bin_dir.join("loadgen"))
        .args(plan.loadgen_args(Load::WriteFloor, 0))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("loadgen: {e}"))?;
    let report = parse_report(&output)?;
    match report.error_samples.first() {
        Some(error) if report.writes == 0 => Err(error.clone()),
        _ => Ok(report),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    kind: Kind,
    load: Load,
    plan: &Plan,
    root: &Path,
    bin_dir: &Path,
    logs: &Path,
    tag: &str,
    pin: bool,
) -> Result<Report, String> {
    let pinned = pin && load == Load::Echo;
    let loadgen = bin_dir.join("loadgen");
    let server = Server::start(
        kind,
        root,
        bin_dir,
        plan.interval_ms,
        pinned.then_some(0),
        logs,
        tag,
        load.is_sio(),
    )
    .map_err(|e| e.to_string())?;
    let mut command = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(&loadgen);
        c
    } else {
        Command::new(&loadgen)
    };
    let stderr = std::fs::File::create(logs.join(format!("loadgen-{}-{tag}.err", kind.key())))
        .map_err(|e| e.to_string())?;
    let output = command
        .args(plan.loadgen_args(load, server.port))
        .args(["--server-pid", &server.pid.to_string()])
        .stdin(Stdio::null())
        .stderr(stderr)
        .output()
        .map_err(|e| format!("loadgen: {e}"))?;
    server.stop();
    let report = parse_report(&output)?;
    // A server that does not speak the load's protocol fails every connection: say so as a
    // failure rather than a row of zeros.
    if report.connected == 0 && report.connections > 0 {
        let why = report.error_samples.first().cloned().unwrap_or_default();
        return Err(format!("no connection succeeded: {why}"));
    }
    Ok(report)
}
